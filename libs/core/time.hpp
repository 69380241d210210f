#pragma once
// UTC time in nanoseconds, and the one clock abstraction. Code that needs "now" takes a
// `const clock&`: live services pass system_clock, backtests pass simulated_clock, so the same
// logic runs on both. Durations are std::chrono::nanoseconds.
//
// timestamp is int64 nanoseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds), which
// covers 1677-09-21 .. 2262-04-11.
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::core {

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, days since 1970-01-01); shared
// by every parser of calendar text (ISO-8601 here, PostgreSQL timestamps in the ledger).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t year;
  unsigned month, day;
};

constexpr civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}


// Bad time text, arithmetic outside the representable range, or a clock moved backwards.
class time_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class timestamp {
 public:
  using sys_time = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

  constexpr timestamp() = default;  // the epoch

  [[nodiscard]] static constexpr timestamp from_nanos(std::int64_t ns) { return timestamp(ns); }
  // Venue APIs often send epoch milliseconds / microseconds. Throw time_error when out of range.
  [[nodiscard]] static timestamp from_micros(std::int64_t us);
  [[nodiscard]] static timestamp from_millis(std::int64_t ms);
  [[nodiscard]] static timestamp from_seconds(std::int64_t s);
  [[nodiscard]] static constexpr timestamp from_sys_time(sys_time t) {
    return timestamp(t.time_since_epoch().count());
  }

  // "2024-01-15T10:30:00Z", "...00.123Z", "...00.123456Z", "...00.123456789Z" (1 to 9
  // fractional digits). Only UTC with a 'Z' is accepted; offsets, lower-case 't'/'z', leap
  // second 60 and dates outside the range above throw time_error naming the reason.
  [[nodiscard]] static timestamp parse_iso8601(std::string_view text);

  [[nodiscard]] constexpr std::int64_t nanos() const { return ns_; }
  // Floor division, so times before 1970 round toward the past like the clock did.
  [[nodiscard]] std::int64_t micros() const;
  [[nodiscard]] std::int64_t millis() const;
  [[nodiscard]] constexpr std::chrono::nanoseconds since_epoch() const { return std::chrono::nanoseconds(ns_); }
  [[nodiscard]] constexpr sys_time to_sys_time() const { return sys_time(since_epoch()); }

  // Always 9 fractional digits, so strings sort like the times they name:
  // "2024-01-15T10:30:00.123456789Z".
  [[nodiscard]] std::string to_iso8601() const;

  // Checked: leaving the int64 range throws time_error.
  timestamp& operator+=(std::chrono::nanoseconds d);
  timestamp& operator-=(std::chrono::nanoseconds d);

  friend constexpr bool operator==(timestamp, timestamp) = default;
  friend constexpr std::strong_ordering operator<=>(timestamp, timestamp) = default;

 private:
  constexpr explicit timestamp(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

[[nodiscard]] timestamp operator+(timestamp t, std::chrono::nanoseconds d);
[[nodiscard]] timestamp operator-(timestamp t, std::chrono::nanoseconds d);
[[nodiscard]] std::chrono::nanoseconds operator-(timestamp a, timestamp b);

std::ostream& operator<<(std::ostream& os, timestamp t);

// JSON carries a timestamp as its ISO-8601 string.
void to_json(nlohmann::json& j, const timestamp& t);
void from_json(const nlohmann::json& j, timestamp& t);

class clock {
 public:
  virtual ~clock() = default;
  [[nodiscard]] virtual timestamp now() const = 0;
};

// Wall-clock UTC (CLOCK_REALTIME). It can jump when the host's time is corrected: measure
// intervals with steady_now() instead.
class system_clock final : public clock {
 public:
  [[nodiscard]] timestamp now() const override;
  // One shared instance for code that has no clock injected (e.g. main()).
  [[nodiscard]] static const system_clock& instance();
};

// Time that moves only when told to, for backtests and deterministic tests. Thread-safe:
// readers may call now() while one thread drives the clock. Never goes backwards: set() to an
// earlier time and advance() by a negative duration throw time_error.
class simulated_clock final : public clock {
 public:
  explicit simulated_clock(timestamp start = timestamp{}) : now_(start.nanos()) {}

  [[nodiscard]] timestamp now() const override;
  void set(timestamp t);
  timestamp advance(std::chrono::nanoseconds d);  // returns the new time

 private:
  std::atomic<std::int64_t> now_;
};

// Monotonic nanoseconds (CLOCK_MONOTONIC) since an arbitrary origin; only differences mean
// anything. Use it for timeouts and latency, never as a time of day.
[[nodiscard]] std::chrono::nanoseconds steady_now() noexcept;

}  // namespace pt::core

template <>
struct std::hash<pt::core::timestamp> {
  std::size_t operator()(pt::core::timestamp t) const noexcept { return std::hash<std::int64_t>{}(t.nanos()); }
};
