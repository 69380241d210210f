#include "core/log.hpp"
#include "ledger/appender.hpp"
#include "testing/log_capture.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace pt::ledger;
using namespace std::chrono_literals;
using ledger_test::make_event;

namespace {

config test_config(std::string url) {
  config c;
  c.url = std::move(url);
  c.batch_size = 100;
  c.flush_interval = 5ms;
  c.queue_capacity = 10000;
  c.unavailable_alert_after = 1s;
  c.retry_backoff_initial = 20ms;
  c.retry_backoff_max = 300ms;
  c.alert_repeat = 1s;
  return c;
}

using captured_log = pt::testing::log_capture;

}  // namespace

TEST_CASE("appender on the shared cluster") {
  SECTION("the appender batches events from many threads into one gap-free sequence") {
    const auto url = ledger_test::fresh_db();
    std::atomic<std::uint64_t> committed{0};
    appender_hooks hooks;
    hooks.on_appended = [&](const append_result& r) { committed += r.appended; };
    appender a(test_config(url), hooks);
    std::vector<std::thread> ts;
    std::mutex mu;
    std::set<std::string> ids;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {
          auto e = make_event(event_type::market_tick, "tick:" + std::to_string(t));
          {
            std::lock_guard lk(mu);
            ids.insert(e.event_id);
          }
          a.append(std::move(e));
        }
      });
    for (auto& t : ts) t.join();
    REQUIRE(a.flush(10s));
    auto st = a.stats();
    CHECK(st.appended == 2000);
    CHECK(st.duplicates == 0);
    CHECK(st.rejected == 0);
    CHECK(st.last_seq == 2000);
    CHECK(st.batches >= 20);  // batch_size 100
    CHECK(st.buffered == 0);
    CHECK(committed == 2000);
    CHECK(a.healthy());
    CHECK(a.stop() == 0);

    store s(url, {.migrate = false});
    std::set<std::string> stored;
    std::int64_t expect = 1;
    s.replay(1, [&](const event& e) {
      CHECK(e.seq == expect++);
      stored.insert(e.event_id);
    });
    CHECK(stored == ids);
  }

  SECTION("re-sending events through the appender stores each event_id once") {
    const auto url = ledger_test::fresh_db();
    appender a(test_config(url));
    std::vector<event> evs;
    for (int i = 0; i < 50; ++i) evs.push_back(make_event(event_type::order_filled, "o"));
    for (const auto& e : evs) a.append(e);
    for (const auto& e : evs) a.append(e);
    REQUIRE(a.flush(5s));
    CHECK(a.stats().appended == 50);
    CHECK(a.stats().duplicates == 50);
    CHECK(a.stats().last_seq == 50);
  }

  SECTION("an event PostgreSQL refuses is rejected loudly without holding up the rest") {
    captured_log log;
    const auto url = ledger_test::fresh_db();
    std::vector<std::string> rejected;
    appender_hooks hooks;
    hooks.on_rejected = [&](const event& e, const std::string&) { rejected.push_back(e.event_id); };
    appender a(test_config(url), hooks);
    std::vector<event> evs;
    for (int i = 0; i < 5; ++i) evs.push_back(make_event(event_type::order_placed, "o"));
    // Valid JSON that PostgreSQL's recursive jsonb parser refuses (stack depth limit exceeded).
    evs[2].payload = R"({"x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    for (const auto& e : evs) a.append(e);
    REQUIRE(a.flush(5s));
    CHECK(rejected == std::vector<std::string>{evs[2].event_id});
    CHECK(a.stats().appended == 4);
    CHECK(a.stats().rejected == 1);
    CHECK(a.healthy());
    CHECK(log.count("NOT stored") == 1);
  }
}

TEST_CASE("a full queue pushes back on the caller instead of dropping") {
  pt::testing::postgres_server pg;
  auto cfg = test_config(pg.create_database("bp"));
  cfg.queue_capacity = 10;
  cfg.batch_size = 5;
  appender a(cfg);
  pg.stop();
  std::size_t accepted = 0;
  bool pushed_back = false;
  for (int i = 0; i < 40 && !pushed_back; ++i) {
    try {
      a.append(make_event(event_type::order_placed, "o"), 50ms);
      ++accepted;
    } catch (const backpressure& e) {
      pushed_back = true;
      CHECK_THAT(e.what(), Catch::Contains("queue full") && Catch::Contains("not queued"));
    }
  }
  CHECK(pushed_back);
  CHECK(accepted <= cfg.queue_capacity + cfg.batch_size);
  CHECK_FALSE(a.try_append(make_event(event_type::order_placed, "o")));
  pg.start();
  REQUIRE(a.flush(10s));
  CHECK(a.stats().appended == accepted);
  CHECK(a.try_append(make_event(event_type::order_placed, "o")));
  CHECK(a.stop() == 0);
}

TEST_CASE("an appender whose database is unreachable at start fails with one clear line") {
  auto cfg = test_config("postgresql://bot:hunter22@127.0.0.1:" + std::to_string(pt::testing::free_port()) + "/pt");
  try {
    appender a(cfg);
    FAIL("started without a database");
  } catch (const unavailable& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("ledger: cannot connect to postgresql://bot:***@127.0.0.1:"));
    CHECK(std::string(e.what()).find("hunter22") == std::string::npos);
  }
}

// The issue's scenario: PostgreSQL stops for 10 s under a steady stream of appends.
TEST_CASE("PostgreSQL stopped for 10 s under a stream of appends: nothing lost, nothing doubled, no gap") {
  captured_log log;
  pt::testing::postgres_server pg;
  const auto url = pg.create_database("outage");
  std::mutex mu;
  std::vector<health_report> reports;
  appender_hooks hooks;
  hooks.on_health = [&](const health_report& r) {
    std::lock_guard lk(mu);
    reports.push_back(r);
  };
  appender a(test_config(url), hooks);

  std::atomic<bool> producing{true};
  std::vector<std::string> produced;
  std::thread producer([&] {
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; producing; ++i) {  // 200 events/s
      auto e = make_event(event_type::market_tick, "tick:" + std::to_string(i % 5), R"({"i": )" + std::to_string(i) + "}");
      produced.push_back(e.event_id);
      a.append(std::move(e), 5s);
      next += 5ms;
      std::this_thread::sleep_until(next);
    }
  });

  std::this_thread::sleep_for(1500ms);
  CHECK(a.healthy());
  pg.stop();
  bool unhealthy_seen = false;
  std::chrono::milliseconds longest{0};
  const auto outage_end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < outage_end) {
    if (!a.healthy()) unhealthy_seen = true;
    longest = std::max(longest, a.unavailable_for());
    std::this_thread::sleep_for(100ms);
  }
  const auto buffered_during = a.stats().buffered;
  pg.start();
  std::this_thread::sleep_for(2s);
  producing = false;
  producer.join();
  REQUIRE(a.flush(20s));
  CHECK(a.healthy());
  CHECK(a.unavailable_for() == 0ms);
  CHECK(a.stop() == 0);

  CHECK(unhealthy_seen);
  CHECK(longest >= 9s);
  CHECK(buffered_during > 1000);  // ~10 s x 200/s were held in memory
  {
    std::lock_guard lk(mu);
    REQUIRE(reports.size() >= 2);
    CHECK_FALSE(reports.front().healthy);
    CHECK(reports.front().unavailable_for >= 1s);
    CHECK(reports.back().healthy);
    CHECK(reports.back().unavailable_for >= 9s);
  }
  CHECK(log.count("UNAVAILABLE") >= 2);  // repeated while it lasted

  // Every produced event exactly once, seq 1..N without a gap.
  store s(url, {.migrate = false});
  std::map<std::string, int> seen;
  std::int64_t expect = 1;
  bool contiguous = true;
  s.replay(1, [&](const event& e) {
    contiguous = contiguous && e.seq == expect++;
    ++seen[e.event_id];
  });
  CHECK(contiguous);
  CHECK(s.head() == static_cast<std::int64_t>(produced.size()));
  CHECK(seen.size() == produced.size());
  std::size_t missing = 0, doubled = 0;
  for (const auto& id : produced) {
    auto it = seen.find(id);
    missing += it == seen.end();
    doubled += it != seen.end() && it->second != 1;
  }
  CHECK(missing == 0);
  CHECK(doubled == 0);
  INFO("produced " << produced.size());
  CHECK(produced.size() > 2500);
}
