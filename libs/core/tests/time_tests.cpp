#include "core/time.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>


using pt::core::simulated_clock;
using pt::core::time_error;
using pt::core::timestamp;
using namespace std::chrono_literals;

namespace {
// 2024-01-15T10:30:00Z
constexpr std::int64_t jan15 = 1'705'314'600;

// Independent oracle: the C library's UTC calendar.
std::string gmtime_prefix(std::int64_t secs) {
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// Reads `c` through the interface, as services do.
timestamp read(const pt::core::clock& c) { return c.now(); }
}  // namespace

TEST_CASE("time: ISO-8601 formatting always has nine fractional digits and a Z") {
  CHECK(timestamp::from_nanos(jan15 * 1'000'000'000 + 123'456'789).to_iso8601() == "2024-01-15T10:30:00.123456789Z");
  CHECK(timestamp{}.to_iso8601() == "1970-01-01T00:00:00.000000000Z");
  CHECK(timestamp::from_nanos(-1).to_iso8601() == "1969-12-31T23:59:59.999999999Z");
  CHECK(timestamp::parse_iso8601("2024-02-29T23:59:59Z").to_iso8601() == "2024-02-29T23:59:59.000000000Z");
  CHECK(timestamp::from_nanos(INT64_MAX).to_iso8601() == "2262-04-11T23:47:16.854775807Z");
  CHECK(timestamp::from_nanos(INT64_MIN).to_iso8601() == "1677-09-21T00:12:43.145224192Z");
}

TEST_CASE("time: the calendar agrees with gmtime_r over random instants") {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::int64_t> secs(-9'000'000'000, 9'000'000'000);
  for (int i = 0; i < 20'000; ++i) {
    const std::int64_t s = secs(rng);
    const auto t = timestamp::from_seconds(s);
    REQUIRE(t.to_iso8601().substr(0, 19) == gmtime_prefix(s));
  }
}

TEST_CASE("time: parse accepts seconds, ms, us and ns fractions with Z") {
  const std::int64_t base = jan15 * 1'000'000'000;
  CHECK(timestamp::parse_iso8601("2024-01-15T10:30:00Z").nanos() == base);
  CHECK(timestamp::parse_iso8601("2024-01-15T10:30:00.123Z").nanos() == base + 123'000'000);
  CHECK(timestamp::parse_iso8601("2024-01-15T10:30:00.123456Z").nanos() == base + 123'456'000);
  CHECK(timestamp::parse_iso8601("2024-01-15T10:30:00.123456789Z").nanos() == base + 123'456'789);
  CHECK(timestamp::parse_iso8601("2024-01-15T10:30:00.5Z").nanos() == base + 500'000'000);
  CHECK(timestamp::parse_iso8601("1969-12-31T23:59:59.999999999Z").nanos() == -1);
  CHECK(timestamp::parse_iso8601("1677-09-21T00:12:43.145224192Z").nanos() == INT64_MIN);
  CHECK(timestamp::parse_iso8601("2262-04-11T23:47:16.854775807Z").nanos() == INT64_MAX);

  std::mt19937_64 rng(2);
  std::uniform_int_distribution<std::int64_t> any(INT64_MIN, INT64_MAX);
  for (int i = 0; i < 20'000; ++i) {
    const auto t = timestamp::from_nanos(any(rng));
    REQUIRE(timestamp::parse_iso8601(t.to_iso8601()) == t);
  }
}

TEST_CASE("time: parse rejects anything but UTC ISO-8601 with a reason") {
  struct row {
    const char* text;
    const char* reason;
  };
  const std::vector<row> rows = {
      {"", "empty"},
      {"2024-01-15", "too short"},
      {"2024-01-15T10:30:00", "missing 'Z'"},
      {"2024-01-15T10:30:00+01:00", "offsets are not accepted"},
      {"2024-01-15T10:30:00.123-05:00", "offsets are not accepted"},
      {"2024-01-15 10:30:00Z", "expected 'T' at position 10"},
      {"2024-01-15t10:30:00z", "expected 'T' at position 10"},
      {"2024-01-15T10:30:00z", "unexpected 'z'"},
      {"2024/01/15T10:30:00Z", "expected '-' at position 4"},
      {"2024-1-15T10:30:00Z", "expected a digit at position 6"},
      {"2024-13-01T00:00:00Z", "month 13"},
      {"2024-00-01T00:00:00Z", "month 0"},
      {"2023-02-29T00:00:00Z", "day 29 does not exist in 2023-02"},
      {"2024-04-31T00:00:00Z", "day 31 does not exist"},
      {"2024-01-00T00:00:00Z", "day 0"},
      {"2024-01-15T24:00:00Z", "hour 24"},
      {"2024-01-15T10:60:00Z", "minute 60"},
      {"2024-01-15T10:30:60Z", "leap second"},
      {"2024-01-15T10:30:00.Z", "no digits after '.'"},
      {"2024-01-15T10:30:00.1234567891Z", "more than 9 fractional digits"},
      {"2024-01-15T10:30:00ZZ", "after 'Z'"},
      {"2024-01-15T10:30:00Z ", "after 'Z'"},
      {"2300-01-01T00:00:00Z", "representable range"},
      {"1600-01-01T00:00:00Z", "representable range"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    CHECK_THROWS_AS(timestamp::parse_iso8601(r.text), time_error);
    CHECK_THROWS_WITH(timestamp::parse_iso8601(r.text), Catch::Contains(r.reason));
  }
}

TEST_CASE("time: arithmetic with std::chrono durations, checked at the edges") {
  const auto t = timestamp::from_seconds(jan15);
  CHECK((t + 1500ms).to_iso8601() == "2024-01-15T10:30:01.500000000Z");
  CHECK((t - 1s).to_iso8601() == "2024-01-15T10:29:59.000000000Z");
  CHECK((t + 250us) - t == 250us);
  CHECK(t - (t + 3h) == -3h);
  auto u = t;
  u += 1ns;
  CHECK(u > t);
  u -= 2ns;
  CHECK(u < t);
  CHECK_THROWS_AS(timestamp::from_nanos(INT64_MAX) + 1ns, time_error);
  CHECK_THROWS_AS(timestamp::from_nanos(INT64_MIN) - 1ns, time_error);
  CHECK_THROWS_AS(timestamp::from_nanos(INT64_MAX) - timestamp::from_nanos(-1), time_error);
  CHECK(timestamp::from_millis(1'705'314'600'123).to_iso8601() == "2024-01-15T10:30:00.123000000Z");
  CHECK(timestamp::from_micros(1'705'314'600'123'456).nanos() == 1'705'314'600'123'456'000);
  CHECK_THROWS_AS(timestamp::from_seconds(10'000'000'000), time_error);
  CHECK_THROWS_AS(timestamp::from_millis(INT64_MAX / 1000), time_error);
  CHECK(timestamp::from_nanos(-1).millis() == -1);  // floor, not truncation
  CHECK(timestamp::from_nanos(-1).micros() == -1);
  CHECK(timestamp::from_nanos(1'999'999).millis() == 1);
  const std::chrono::system_clock::time_point tp = t.to_sys_time();
  CHECK(timestamp::from_sys_time(tp) == t);
}

TEST_CASE("time: JSON carries a timestamp as its ISO string") {
  const auto t = timestamp::from_nanos(jan15 * 1'000'000'000 + 7);
  nlohmann::json j = t;
  CHECK(j == "2024-01-15T10:30:00.000000007Z");
  CHECK(j.get<timestamp>() == t);
  CHECK_THROWS_AS(nlohmann::json(12345).get<timestamp>(), time_error);
  CHECK_THROWS_AS(nlohmann::json("yesterday").get<timestamp>(), time_error);
}

TEST_CASE("time: system_clock reads real UTC and steady_now never goes back") {
  const pt::core::system_clock& sys = pt::core::system_clock::instance();
  const timestamp ours = read(sys);
  const auto theirs = std::chrono::system_clock::now();
  const auto gap = std::chrono::abs(theirs - ours.to_sys_time());
  CHECK(gap < 5s);
  CHECK(ours > timestamp::parse_iso8601("2024-01-01T00:00:00Z"));

  auto prev = pt::core::steady_now();
  for (int i = 0; i < 10'000; ++i) {
    const auto now = pt::core::steady_now();
    REQUIRE(now >= prev);
    prev = now;
  }
  const auto before = pt::core::steady_now();
  std::this_thread::sleep_for(2ms);
  CHECK(pt::core::steady_now() - before >= 2ms);
}

TEST_CASE("time: simulated_clock moves only forward, when told") {
  const auto start = timestamp::parse_iso8601("2024-01-15T00:00:00Z");
  simulated_clock sim(start);
  CHECK(read(sim) == start);
  CHECK(read(sim) == start);  // does not move by itself
  CHECK(sim.advance(90s) == start + 90s);
  CHECK(read(sim) == start + 90s);
  sim.set(start + 1h);
  CHECK(read(sim) == start + 1h);
  sim.set(start + 1h);  // same time is fine
  CHECK_THROWS_AS(sim.set(start), time_error);
  CHECK_THROWS_WITH(sim.set(start), Catch::Contains("cannot move back"));
  CHECK(read(sim) == start + 1h);  // unchanged after the rejected set
  CHECK_THROWS_AS(sim.advance(-1ns), time_error);
  CHECK(sim.advance(0ns) == start + 1h);
  simulated_clock edge(timestamp::from_nanos(INT64_MAX - 1));
  CHECK_THROWS_AS(edge.advance(2ns), time_error);
}

TEST_CASE("time: simulated_clock is safe to drive from several threads") {
  simulated_clock sim;
  constexpr int writers = 4, steps = 10'000;
  std::atomic<bool> done{false};
  bool reader_saw_backwards = false;
  std::thread reader([&] {
    timestamp prev = sim.now();
    while (!done.load()) {
      const timestamp now = sim.now();
      if (now < prev) reader_saw_backwards = true;
      prev = now;
    }
  });
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&] {
      for (int i = 0; i < steps; ++i) sim.advance(1ns);
    });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  CHECK_FALSE(reader_saw_backwards);
  CHECK(sim.now().nanos() == writers * steps);
}
