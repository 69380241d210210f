#include "ledger/migrations.hpp"
#include "ledger/store.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <map>
#include <set>
#include <thread>

using namespace pt::ledger;
using ledger_test::make_event;

namespace {

std::vector<event> make_batch(int n, const std::string& stream_prefix = "s", int streams = 3) {
  std::vector<event> v;
  for (int i = 0; i < n; ++i)
    v.push_back(make_event(event_type::order_placed, stream_prefix + std::to_string(i % streams),
                           R"({"i": )" + std::to_string(i) + "}", 1'700'000'000'000'000'000 + i));
  return v;
}

std::vector<event> replay_all(store& s, std::int64_t from = 1, replay_options o = {}) {
  std::vector<event> out;
  s.replay(from, [&](const event& e) { out.push_back(e); }, o);
  return out;
}

std::int64_t scalar(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

}  // namespace

// Cases that share the binary's PostgreSQL cluster are grouped as sections: under ctest
// each TEST_CASE is its own process and pays for its own cluster (initdb ~2 s).
TEST_CASE("schema migrations") {
  SECTION("migrations apply once, are recorded, and re-running is a no-op") {
    auto url = ledger_test::fresh_db();
    pqxx::connection c(url);
    CHECK(migrate(c) == static_cast<int>(migrations().size()));
    CHECK(migrate(c) == 0);
    store s(url);  // migrates again on connect: still a no-op
    CHECK(scalar(c, "SELECT count(*) FROM schema_migrations") == static_cast<std::int64_t>(migrations().size()));
    pqxx::nontransaction tx(c);
    auto r = tx.exec("SELECT version, name, checksum, applied_at IS NOT NULL FROM schema_migrations ORDER BY version");
    for (std::size_t i = 0; i < migrations().size(); ++i) {
      CHECK(r[i][0].as<int>() == migrations()[i].version);
      CHECK(r[i][1].as<std::string>() == migrations()[i].name);
      CHECK(r[i][2].as<std::string>() == checksum(migrations()[i].sql));
      CHECK(r[i][3].as<bool>());
    }
  }

  SECTION("two processes migrating at once apply each version exactly once") {
    auto url = ledger_test::fresh_db();
    std::atomic<int> ran{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
      ts.emplace_back([&] {
        pqxx::connection c(url);
        ran += migrate(c);
      });
    for (auto& t : ts) t.join();
    CHECK(ran == static_cast<int>(migrations().size()));
  }

  SECTION("a changed checksum for an applied migration is a clear error") {
    auto url = ledger_test::fresh_db();
    pqxx::connection c(url);
    std::vector<migration> list{{1, "one", "CREATE TABLE t1 (x int)"}};
    CHECK(migrate(c, list) == 1);
    list.push_back({2, "two", "CREATE TABLE t2 (x int)"});
    CHECK(migrate(c, list) == 1);
    list[0].sql = "CREATE TABLE t1 (x bigint)";
    CHECK_THROWS_WITH(migrate(c, list), Catch::Contains("migration 1 (one)") && Catch::Contains("must not change"));
  }
}

TEST_CASE("append") {
  SECTION("append assigns 1..N with no gaps, in batch order, and reports the range") {
    store s(ledger_test::fresh_db());
    CHECK(s.head() == 0);
    auto a = make_batch(5);
    auto r1 = s.append(a);
    CHECK(r1.appended == 5);
    CHECK(r1.duplicates == 0);
    CHECK(r1.first_seq == 1);
    CHECK(r1.last_seq == 5);
    auto r2 = s.append(make_event(event_type::system_started, "system"));
    CHECK(r2.first_seq == 6);
    CHECK(r2.last_seq == 6);
    CHECK(s.head() == 6);
    auto all = replay_all(s);
    REQUIRE(all.size() == 6);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].seq == static_cast<std::int64_t>(i + 1));
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(all[i].event_id == a[i].event_id);
      CHECK(all[i].type == a[i].type);
      CHECK(all[i].stream_id == a[i].stream_id);
      CHECK(all[i].occurred_at_ns == a[i].occurred_at_ns);
      CHECK(all[i].payload == a[i].payload);
      CHECK(all[i].recorded_at_ns > 1'700'000'000'000'000'000);
    }
  }

  SECTION("re-appending an event_id is a no-op that consumes no sequence number") {
    store s(ledger_test::fresh_db());
    auto a = make_batch(3);
    s.append(a);
    auto again = s.append(a);
    CHECK(again.appended == 0);
    CHECK(again.duplicates == 3);
    CHECK(again.first_seq == 0);
    CHECK(s.head() == 3);
    // a batch mixing old, new and a repeat within itself
    auto fresh = make_event(event_type::order_filled, "s0");
    std::vector<event> mixed{a[1], fresh, fresh, a[2]};
    auto r = s.append(mixed);
    CHECK(r.appended == 1);
    CHECK(r.duplicates == 3);
    CHECK(r.first_seq == 4);
    CHECK(r.last_seq == 4);
    auto all = replay_all(s);
    REQUIRE(all.size() == 4);
    CHECK(all[3].event_id == fresh.event_id);
    CHECK(s.state_of("s0")->event_count == 2);
  }

  SECTION("ids, correlation and causation round-trip, NULLs stay empty and payload escapes survive") {
    store s(ledger_test::fresh_db());
    auto e = make_event(event_type::risk_rejected, "order:\tweird\\stream\n",
                        R"({"reason": "tab\there, quote \" and backslash \\ and é and 😀", "n": 1.50})");
    e.correlation_id = "signal-uuid-xyz";
    e.causation_id = ledger_test::new_uuid();
    auto plain = make_event(event_type::system_stopped, "system");
    s.append(std::vector<event>{e, plain});
    for (auto method : {replay_method::copy, replay_method::cursor}) {
      replay_options o;
      o.method = method;
      auto all = replay_all(s, 1, o);
      REQUIRE(all.size() == 2);
      CHECK(all[0].stream_id == e.stream_id);
      CHECK(all[0].correlation_id == e.correlation_id);
      CHECK(all[0].causation_id == e.causation_id);
      CHECK(nlohmann::json::parse(all[0].payload) == nlohmann::json::parse(e.payload));
      CHECK(all[1].correlation_id.empty());
      CHECK(all[1].causation_id.empty());
    }
    pqxx::nontransaction tx(s.connection());
    CHECK(tx.exec1("SELECT count(*) FROM events WHERE correlation_id IS NULL")[0].as<int>() == 1);
  }
}

TEST_CASE("replay, projection and append-only integrity") {
  SECTION("replay from N returns exactly the events >= N in order, by every method") {
    store s(ledger_test::fresh_db());
    for (int i = 0; i < 4; ++i) s.append(make_batch(250, "st", 7));
    REQUIRE(s.head() == 1000);
    // copy, cursor, and copy split over 3 connections in small chunks
    for (int variant = 0; variant < 3; ++variant) {
      replay_options o;
      o.method = variant == 1 ? replay_method::cursor : replay_method::copy;
      o.fetch_size = 64;
      o.connections = variant == 2 ? 3 : 1;
      o.chunk_size = 97;
      INFO("variant " << variant);
      for (std::int64_t from : {1, 2, 500, 999, 1000, 1001, 5000}) {
        auto got = replay_all(s, from, o);
        CHECK(got.size() == static_cast<std::size_t>(std::max<std::int64_t>(0, 1001 - from)));
        for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].seq == from + static_cast<std::int64_t>(i));
      }
      o.to_seq = 20;
      CHECK(replay_all(s, 11, o).size() == 10);
      o.to_seq = 0;
      o.stream_id = "st3";
      auto one = replay_all(s, 1, o);
      CHECK(static_cast<std::int64_t>(one.size()) == s.state_of("st3")->event_count);
      for (const auto& e : one) CHECK(e.stream_id == "st3");
    }
  }

  SECTION("the stream_state projection matches the events and rebuilds to the identical table") {
    store s(ledger_test::fresh_db());
    for (int i = 0; i < 5; ++i) s.append(make_batch(40, "pos:", 6));
    s.append(make_event(event_type::position_closed, "pos:2", R"({"closed": true, "pnl": "12.50"})", 42));
    auto st = s.state_of("pos:2");
    REQUIRE(st);
    CHECK(st->last_type == event_type::position_closed);
    CHECK(st->last_seq == 201);
    CHECK(st->last_occurred_at_ns == 42);
    CHECK(nlohmann::json::parse(st->last_payload)["pnl"] == "12.50");
    CHECK_FALSE(s.state_of("nope"));

    // Consistent with the events table, computed independently in SQL.
    auto before = s.stream_states();
    REQUIRE(before.size() == 6);
    std::int64_t sum = 0;
    for (const auto& x : before) {
      sum += x.event_count;
      std::vector<event> mine;
      replay_options o;
      o.stream_id = x.stream_id;
      s.replay(1, [&](const event& e) { mine.push_back(e); }, o);
      REQUIRE(!mine.empty());
      CHECK(x.event_count == static_cast<std::int64_t>(mine.size()));
      CHECK(x.first_seq == mine.front().seq);
      CHECK(x.last_seq == mine.back().seq);
      CHECK(x.last_type == mine.back().type);
      CHECK(x.last_payload == mine.back().payload);
    }
    CHECK(sum == s.head());

    // Corrupt the projection, rebuild from replay, get the identical table back.
    {
      pqxx::work tx(s.connection());
      tx.exec("UPDATE stream_state SET event_count = 0, last_payload = '{}' WHERE stream_id = 'pos:1'");
      tx.exec("INSERT INTO stream_state VALUES ('ghost', 1, 1, 'OrderPlaced', 1, 0, '{}')");
      tx.commit();
    }
    CHECK(s.stream_states() != before);
    CHECK(s.rebuild_projection() == 201);
    CHECK(s.stream_states() == before);
  }

  SECTION("UPDATE, DELETE and TRUNCATE on events are rejected by the database") {
    store s(ledger_test::fresh_db());
    s.append(make_batch(3));
    auto& c = s.connection();
    for (const char* sql : {"UPDATE events SET payload = '{}' WHERE seq = 1", "DELETE FROM events WHERE seq = 2",
                            "TRUNCATE events CASCADE", "UPDATE ledger_head SET seq = 0", "DELETE FROM ledger_head"}) {
      INFO(sql);
      pqxx::work tx(c);
      CHECK_THROWS_WITH(tx.exec(sql), Catch::Contains("not allowed") || Catch::Contains("only move forward"));
    }
    CHECK(s.head() == 3);
    CHECK(replay_all(s).size() == 3);
  }

  SECTION("an unknown event type is rejected on append and named on replay") {
    store s(ledger_test::fresh_db());
    auto e = make_event(event_type::order_placed, "x");
    e.type = static_cast<event_type>(99);
    CHECK_THROWS_WITH(s.append(e), Catch::Contains("not in the catalog"));
    CHECK(s.head() == 0);
    // One invalid event refuses the whole batch before anything is sent.
    auto ok = make_event(event_type::order_placed, "x");
    auto bad_id = make_event(event_type::order_placed, "x");
    bad_id.event_id = "123";
    CHECK_THROWS_WITH(s.append(std::vector<event>{ok, bad_id}), Catch::Contains("event_id must be a UUID"));
    CHECK(s.head() == 0);
    // A row written behind the ledger's back with a type this binary does not know.
    {
      pqxx::work tx(s.connection());
      tx.exec("INSERT INTO events (seq, event_id, type, stream_id, payload, occurred_at_ns) VALUES (1, '" +
              ledger_test::new_uuid() + "', 'Teleported', 'x', '{}', 0)");
      tx.commit();
    }
    CHECK_THROWS_WITH(replay_all(s), Catch::Contains("unknown event type \"Teleported\""));
  }
}

TEST_CASE("concurrent appenders on several connections give a gap-free sequence in commit order") {
  auto url = ledger_test::fresh_db();
  store setup(url);
  constexpr int writers = 4, batches = 40, per_batch = 25;
  std::atomic<bool> done{false};
  std::atomic<int> ready{0};
  // A live reader that only ever asks for "after the last seq I saw": with a sequence that
  // commits out of order it would see N+1 before N and skip N for good.
  std::int64_t reader_seen = 0;
  bool reader_contiguous = true;
  std::thread reader([&] {
    store r(url, {.migrate = false});
    ++ready;
    while (!done) {
      r.replay(reader_seen + 1, [&](const event& e) {
        if (e.seq != reader_seen + 1) reader_contiguous = false;
        reader_seen = e.seq;
      });
    }
    r.replay(reader_seen + 1, [&](const event& e) {
      if (e.seq != reader_seen + 1) reader_contiguous = false;
      reader_seen = e.seq;
    });
  });
  std::vector<std::vector<append_result>> results(writers);
  std::vector<std::vector<std::string>> ids(writers);
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      store s(url, {.migrate = false});
      ++ready;
      while (ready < writers + 1) std::this_thread::yield();
      for (int b = 0; b < batches; ++b) {
        auto batch = make_batch(per_batch, "w" + std::to_string(w) + "-", 3);
        for (auto& e : batch) ids[w].push_back(e.event_id);
        results[w].push_back(s.append(batch));
      }
    });
  for (auto& t : ts) t.join();
  done = true;
  reader.join();

  constexpr std::int64_t total = writers * batches * per_batch;
  CHECK(setup.head() == total);
  CHECK(reader_contiguous);
  CHECK(reader_seen == total);
  std::map<std::int64_t, std::string> by_seq;
  setup.replay(1, [&](const event& e) { by_seq[e.seq] = e.event_id; });
  REQUIRE(by_seq.size() == static_cast<std::size_t>(total));
  CHECK(by_seq.begin()->first == 1);
  CHECK(by_seq.rbegin()->first == total);
  // Each batch got one contiguous range, and a writer's batches are in its own order.
  for (int w = 0; w < writers; ++w) {
    std::int64_t prev = 0;
    for (std::size_t b = 0; b < results[w].size(); ++b) {
      const auto& r = results[w][b];
      CHECK(r.appended == per_batch);
      CHECK(r.last_seq - r.first_seq + 1 == per_batch);
      CHECK(r.first_seq > prev);
      prev = r.last_seq;
      for (int i = 0; i < per_batch; ++i) CHECK(by_seq[r.first_seq + i] == ids[w][b * per_batch + i]);
    }
  }
}

TEST_CASE("connecting to nothing is one clear line with the password redacted") {
  const int port = pt::testing::free_port();
  const std::string url = "postgresql://bot:hunter22@127.0.0.1:" + std::to_string(port) + "/pt";
  try {
    store s(url);
    FAIL("connected to nothing");
  } catch (const unavailable& e) {
    std::string m = e.what();
    CHECK_THAT(m, Catch::StartsWith("ledger: cannot connect to postgresql://bot:***@127.0.0.1:" + std::to_string(port) +
                                    "/pt: "));
    CHECK_THAT(m, Catch::Contains("refused"));
    CHECK(m.find("hunter22") == std::string::npos);
    CHECK(m.find('\n') == std::string::npos);
  }
}

TEST_CASE("the store reconnects after the server restarts") {
  pt::testing::postgres_server pg;
  store s(pg.create_database("reconnect"));
  s.append(make_batch(2));
  pg.stop();
  CHECK_THROWS_AS(s.append(make_batch(1)), unavailable);
  CHECK_THROWS_AS(s.head(), unavailable);
  pg.start();
  auto r = s.append(make_batch(2));
  CHECK(r.first_seq == 3);
  CHECK(s.head() == 4);
}

// The single-event path (one statement) must keep every guarantee of the batch path: gap-free
// numbering in commit order across connections, one row per event_id even when two connections
// race with the same id, and a projection equal to what the events say.
TEST_CASE("single-event appends from several connections race safely on new and repeated ids") {
  auto url = ledger_test::fresh_db();
  store setup(url);
  constexpr int writers = 4, per_writer = 60;
  // Every writer appends the same shared ids (a redelivered decision handled twice) and its own.
  std::vector<event> shared;
  for (int i = 0; i < per_writer; ++i) shared.push_back(make_event(event_type::risk_approved, "risk", R"({"i": )" + std::to_string(i) + "}"));
  std::atomic<int> ready{0};
  std::vector<std::vector<append_result>> results(writers);
  std::vector<std::vector<std::string>> own_ids(writers);
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      store s(url, {.migrate = false, .synchronous_commit = (w % 2 == 0)});
      ++ready;
      while (ready < writers) std::this_thread::yield();
      for (int i = 0; i < per_writer; ++i) {
        auto own = make_event(event_type::order_placed, "pos-" + std::to_string(w), R"({"w": )" + std::to_string(w) + "}");
        own_ids[w].push_back(own.event_id);
        results[w].push_back(s.append(own));
        results[w].push_back(s.append(shared[static_cast<std::size_t>(i)]));
      }
    });
  for (auto& t : ts) t.join();

  constexpr std::int64_t expected = writers * per_writer + per_writer;  // own ones + each shared id once
  CHECK(setup.head() == expected);
  std::map<std::int64_t, std::string> by_seq;
  std::map<std::string, int> copies;
  setup.replay(1, [&](const event& e) {
    by_seq[e.seq] = e.event_id;
    ++copies[e.event_id];
  });
  REQUIRE(by_seq.size() == static_cast<std::size_t>(expected));
  CHECK(by_seq.rbegin()->first == expected);  // 1..N, no gap
  for (const auto& [id, n] : copies) CHECK(n == 1);
  std::int64_t appended = 0, duplicates = 0;
  for (int w = 0; w < writers; ++w)
    for (std::size_t k = 0; k < results[w].size(); ++k) {
      const auto& r = results[w][k];
      appended += static_cast<std::int64_t>(r.appended);
      duplicates += static_cast<std::int64_t>(r.duplicates);
      if (r.appended == 1) CHECK(r.first_seq == r.last_seq);
      if (k % 2 == 0) {  // an own event: always new, numbered where the ledger says
        CHECK(r.appended == 1);
        CHECK(by_seq[r.first_seq] == own_ids[w][k / 2]);
      }
    }
  CHECK(appended == expected);
  CHECK(duplicates == writers * per_writer - per_writer);
  // The projection counted each stored event once.
  std::int64_t sum = 0;
  for (const auto& st : setup.stream_states()) sum += st.event_count;
  CHECK(sum == expected);
  CHECK(setup.state_of("risk")->event_count == per_writer);
  CHECK(setup.state_of("pos-3")->event_count == per_writer);
}

TEST_CASE("synchronous_commit off is set on the store's own connection only") {
  auto url = ledger_test::fresh_db();
  store fast(url, {.migrate = true, .synchronous_commit = false});
  store durable(url, {.migrate = false});
  auto show = [](store& s) {
    pqxx::nontransaction tx(s.connection());
    return tx.exec1("SHOW synchronous_commit")[0].as<std::string>();
  };
  CHECK(show(fast) == "off");
  CHECK(show(durable) == "on");
  // Appends through it land like any other.
  auto r = fast.append(make_event(event_type::order_placed, "x"));
  CHECK(r.appended == 1);
  CHECK(durable.head() == 1);
}
