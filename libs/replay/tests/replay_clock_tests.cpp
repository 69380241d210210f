// replay_clock modes. Wall-time bounds are loose on purpose (shared 2-core VM, sanitizer build):
// lower bounds are what pacing guarantees, upper bounds only catch "never woke up".
#include "replay/replay_clock.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <thread>

namespace {

using namespace std::chrono_literals;
using pt::replay::pace;
using pt::replay::pace_mode;
using pt::replay::replay_clock;
using steady = std::chrono::steady_clock;

long long ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

// Polls until `pred` holds (true) or 5 s pass (false).
template <class P>
bool eventually(P pred) {
  const auto until = steady::now() + 5s;
  while (steady::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("pace values", "[clock]") {
  CHECK(pace::multiple(10).factor == 10.0);
  CHECK(pace::multiple(0.25).mode == pace_mode::multiple);
  CHECK_THROWS_AS(pace::multiple(0), std::invalid_argument);
  CHECK_THROWS_AS(pace::multiple(-2), std::invalid_argument);
  CHECK_THROWS_AS(pace::multiple(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  CHECK_THROWS_AS(pace::multiple(std::numeric_limits<double>::infinity()), std::invalid_argument);
  CHECK(to_string(pace::realtime()) == "realtime");
  CHECK(to_string(pace::multiple(10)) == "multiple(10)");
  CHECK(to_string(pace::unthrottled()) == "unthrottled");
  CHECK(to_string(pace::lockstep()) == "lockstep");
  // A hand-built pace is checked too.
  CHECK_THROWS_AS(replay_clock(0, pace{pace_mode::multiple, -1.0}), std::invalid_argument);
}

TEST_CASE("unthrottled: wait_until returns at once and jumps the time", "[clock]") {
  replay_clock c(1'000, pace::unthrottled());
  CHECK(c.now_ms() == 1'000);
  const auto t0 = steady::now();
  for (std::int64_t t = 1'000; t <= 100'000'000; t += 10'000) REQUIRE(c.wait_until(t));
  CHECK(ms_since(t0) < 2'000);  // 10,000 waits without any pacing
  CHECK(c.now_ms() == 99'991'000);
  CHECK(c.wait_until(5));  // a past target: true, time unchanged
  CHECK(c.now_ms() == 99'991'000);
  std::this_thread::sleep_for(20ms);
  CHECK(c.now_ms() == 99'991'000);  // does not flow by itself
}

TEST_CASE("lockstep: time moves only when the controller advances it", "[clock]") {
  replay_clock c(0, pace::lockstep());
  std::atomic<bool> done{false};
  auto waiter = std::async(std::launch::async, [&] {
    const bool ok = c.wait_until(1'000);
    done = true;
    return ok;
  });
  REQUIRE(eventually([&] { return c.next_wait() == 1'000; }));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(done.load());
  CHECK(c.now_ms() == 0);

  CHECK(c.advance_to(500) == 500);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(done.load());
  CHECK(c.now_ms() == 500);

  c.advance_to(1'000);
  REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
  CHECK(waiter.get());
  CHECK(c.now_ms() == 1'000);
  CHECK(c.advance_to(200) == 1'000);  // never backwards
  CHECK(c.now() == pt::core::timestamp::from_millis(1'000));  // also a core::clock
}

TEST_CASE("lockstep: step releases the next waited-for time, banked when nobody waits", "[clock]") {
  SECTION("step while the replay thread waits") {
    replay_clock c(0, pace::lockstep());
    std::vector<std::int64_t> seen;
    auto replay = std::async(std::launch::async, [&] {
      for (std::int64_t t : {100, 250, 300}) {
        if (!c.wait_until(t)) return false;
        seen.push_back(c.now_ms());
      }
      return true;
    });
    for (std::int64_t t : {100, 250, 300}) {
      REQUIRE(eventually([&] { return c.next_wait() == t; }));
      c.step();
    }
    REQUIRE(replay.wait_for(5s) == std::future_status::ready);
    CHECK(replay.get());
    CHECK(seen == std::vector<std::int64_t>{100, 250, 300});
  }
  SECTION("steps given before the waits are used by them") {
    replay_clock c(0, pace::lockstep());
    c.step();
    c.step();
    CHECK(c.now_ms() == 0);  // banked, not spent
    CHECK(c.wait_until(40));
    CHECK(c.now_ms() == 40);
    CHECK(c.wait_until(70));
    CHECK(c.now_ms() == 70);
    // No step left: the next wait blocks until stopped.
    std::stop_source stop;
    auto blocked = std::async(std::launch::async, [&] { return c.wait_until(90, stop.get_token()); });
    CHECK(blocked.wait_for(100ms) == std::future_status::timeout);
    stop.request_stop();
    REQUIRE(blocked.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(blocked.get());
    CHECK(c.now_ms() == 70);
  }
  SECTION("step does nothing outside lockstep, and a mode switch drops banked steps") {
    replay_clock c(0, pace::lockstep());
    c.step();
    c.set_mode(pace::unthrottled());
    c.set_mode(pace::lockstep());
    std::stop_source stop;
    auto blocked = std::async(std::launch::async, [&] { return c.wait_until(10, stop.get_token()); });
    CHECK(blocked.wait_for(100ms) == std::future_status::timeout);
    stop.request_stop();
    CHECK_FALSE(blocked.get());
  }
}

TEST_CASE("multiple(k) paces k simulated ms per wall ms", "[clock]") {
  replay_clock c(0, pace::multiple(20));
  const auto t0 = steady::now();
  REQUIRE(c.wait_until(4'000));  // 4 s simulated = 200 ms wall at 20x
  const auto took = ms_since(t0);
  CHECK(took >= 195);
  CHECK(took < 3'000);
  CHECK(c.now_ms() >= 4'000);
  // Time flows between calls at ~20x.
  const auto a = c.now_ms();
  std::this_thread::sleep_for(100ms);
  const auto flowed = c.now_ms() - a;
  CHECK(flowed >= 1'900);
  CHECK(flowed < 60'000);
}

TEST_CASE("realtime paces 1:1 and seeks with advance_to", "[clock]") {
  replay_clock c(1'700'000'000'000, pace::realtime());
  const auto t0 = steady::now();
  REQUIRE(c.wait_until(1'700'000'000'060));
  CHECK(ms_since(t0) >= 59);
  // A seek skips an idle gap without waiting for it.
  c.advance_to(1'700'000'360'000);
  const auto t1 = steady::now();
  REQUIRE(c.wait_until(1'700'000'360'010));
  CHECK(ms_since(t1) < 3'000);
}

TEST_CASE("stop and close end waits with false", "[clock]") {
  SECTION("stop token in lockstep") {
    replay_clock c(0, pace::lockstep());
    std::atomic<int> result{-1};
    std::jthread replay([&](std::stop_token st) { result = c.wait_until(1'000'000, st) ? 1 : 0; });
    REQUIRE(eventually([&] { return c.next_wait().has_value(); }));
    replay.request_stop();
    replay.join();
    CHECK(result == 0);
    CHECK_FALSE(c.next_wait().has_value());
  }
  SECTION("stop token in realtime with a target an hour away") {
    replay_clock c(0, pace::realtime());
    std::stop_source stop;
    auto w = std::async(std::launch::async, [&] { return c.wait_until(3'600'000, stop.get_token()); });
    REQUIRE(eventually([&] { return c.next_wait().has_value(); }));
    const auto t0 = steady::now();
    stop.request_stop();
    REQUIRE(w.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(w.get());
    CHECK(ms_since(t0) < 3'000);
  }
  SECTION("an already requested stop returns false even for a past target") {
    replay_clock c(100, pace::unthrottled());
    std::stop_source stop;
    stop.request_stop();
    CHECK_FALSE(c.wait_until(50, stop.get_token()));
  }
  SECTION("close wakes every waiter and refuses later waits") {
    replay_clock c(0, pace::multiple(0.001));
    auto a = std::async(std::launch::async, [&] { return c.wait_until(1'000'000); });
    auto b = std::async(std::launch::async, [&] { return c.wait_until(2'000'000); });
    REQUIRE(eventually([&] { return c.next_wait() == 1'000'000; }));
    c.close();
    REQUIRE(a.wait_for(5s) == std::future_status::ready);
    REQUIRE(b.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(a.get());
    CHECK_FALSE(b.get());
    CHECK(c.closed());
    CHECK_FALSE(c.wait_until(0));
  }
}

TEST_CASE("set_mode takes effect for a thread already waiting", "[clock]") {
  SECTION("lockstep to unthrottled releases the waiter at its target") {
    replay_clock c(0, pace::lockstep());
    auto w = std::async(std::launch::async, [&] { return c.wait_until(5'000'000); });
    REQUIRE(eventually([&] { return c.next_wait().has_value(); }));
    c.set_mode(pace::unthrottled());
    REQUIRE(w.wait_for(5s) == std::future_status::ready);
    CHECK(w.get());
    CHECK(c.now_ms() == 5'000'000);
    CHECK(c.mode() == pace::unthrottled());
  }
  SECTION("realtime to a huge multiple speeds up a long wait") {
    replay_clock c(0, pace::realtime());
    auto w = std::async(std::launch::async, [&] { return c.wait_until(36'000'000); });  // 10 h at 1x
    REQUIRE(eventually([&] { return c.next_wait().has_value(); }));
    c.set_mode(pace::multiple(1e9));
    REQUIRE(w.wait_for(5s) == std::future_status::ready);
    CHECK(w.get());
  }
  SECTION("paced to lockstep freezes the time") {
    replay_clock c(0, pace::multiple(1000));
    std::this_thread::sleep_for(20ms);
    c.set_mode(pace::lockstep());
    const auto frozen = c.now_ms();
    CHECK(frozen >= 19'000);
    std::this_thread::sleep_for(30ms);
    CHECK(c.now_ms() == frozen);
  }
}
