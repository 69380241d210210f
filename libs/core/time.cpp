#include "core/time.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <ostream>

namespace pt::core {

namespace {

constexpr std::int64_t ns_per_second = 1'000'000'000;
constexpr std::int64_t seconds_per_day = 86'400;

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(19737).year == 2024 && civil_from_days(19737).month == 1 &&
              civil_from_days(19737).day == 15);

constexpr bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

timestamp scaled(std::int64_t value, std::int64_t factor, const char* unit) {
  std::int64_t ns;
  if (__builtin_mul_overflow(value, factor, &ns))
    throw time_error(fmt::format("timestamp: {} {} is outside the representable range (1677..2262)", value, unit));
  return timestamp::from_nanos(ns);
}

std::int64_t now_ns(clockid_t id) noexcept {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * ns_per_second + ts.tv_nsec;
}

[[noreturn]] void parse_fail(std::string_view text, std::string_view reason) {
  const std::string shown = text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text);
  throw time_error(fmt::format("timestamp: cannot parse \"{}\": {} (expected YYYY-MM-DDTHH:MM:SS[.f...]Z, UTC)",
                               shown, reason));
}

}  // namespace

timestamp timestamp::from_micros(std::int64_t us) { return scaled(us, 1'000, "microseconds"); }
timestamp timestamp::from_millis(std::int64_t ms) { return scaled(ms, 1'000'000, "milliseconds"); }
timestamp timestamp::from_seconds(std::int64_t s) { return scaled(s, ns_per_second, "seconds"); }

std::int64_t timestamp::micros() const { return floor_div(ns_, 1'000); }
std::int64_t timestamp::millis() const { return floor_div(ns_, 1'000'000); }

std::string timestamp::to_iso8601() const {
  const std::int64_t secs = floor_div(ns_, ns_per_second);
  const std::int64_t frac = ns_ % ns_per_second + (ns_ % ns_per_second < 0 ? ns_per_second : 0);
  const std::int64_t days = floor_div(secs, seconds_per_day);
  const std::int64_t sod = secs - days * seconds_per_day;
  const civil c = civil_from_days(days);
  // Hand-written rather than fmt::format: this runs for every message and log line (~10x faster).
  std::string out = "0000-00-00T00:00:00.000000000Z";
  auto put = [&out](std::size_t end, std::int64_t v, int width) {
    for (int k = 0; k < width; ++k, v /= 10) out[end - static_cast<std::size_t>(k)] = static_cast<char>('0' + v % 10);
  };
  put(3, c.year, 4);  // 1677..2262: always four digits
  put(6, c.month, 2);
  put(9, c.day, 2);
  put(12, sod / 3600, 2);
  put(15, (sod / 60) % 60, 2);
  put(18, sod % 60, 2);
  put(28, frac, 9);
  return out;
}

timestamp timestamp::parse_iso8601(std::string_view s) {
  if (s.empty()) parse_fail(s, "empty string");
  // Fixed layout up to the seconds: digits and separators at known positions.
  static constexpr std::string_view layout = "dddd-dd-ddTdd:dd:dd";
  for (std::size_t i = 0; i < layout.size(); ++i) {
    if (i >= s.size()) parse_fail(s, "too short");
    const char want = layout[i];
    const char got = s[i];
    if (want == 'd') {
      if (got < '0' || got > '9') parse_fail(s, fmt::format("expected a digit at position {}", i));
    } else if (got != want) {
      parse_fail(s, fmt::format("expected '{}' at position {}", want, i));
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
    return v;
  };
  const std::int64_t year = num(0, 4);
  const unsigned month = num(5, 2), day = num(8, 2), hour = num(11, 2), minute = num(14, 2), second = num(17, 2);

  std::size_t i = layout.size();
  std::int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    const std::size_t len = i - start;
    if (len == 0) parse_fail(s, "no digits after '.'");
    if (len > 9) parse_fail(s, "more than 9 fractional digits (nanoseconds are the finest unit)");
    for (std::size_t k = start; k < i; ++k) frac = frac * 10 + (s[k] - '0');
    for (std::size_t k = len; k < 9; ++k) frac *= 10;
  }
  if (i >= s.size()) parse_fail(s, "missing 'Z' (only UTC is accepted)");
  if (s[i] == '+' || s[i] == '-') parse_fail(s, "UTC offsets are not accepted; convert to UTC and use 'Z'");
  if (s[i] != 'Z') parse_fail(s, fmt::format("unexpected '{}' at position {}", s[i], i));
  if (i + 1 != s.size()) parse_fail(s, "unexpected characters after 'Z'");

  if (month < 1 || month > 12) parse_fail(s, fmt::format("month {} is not 1..12", month));
  if (day < 1 || day > days_in_month(year, month))
    parse_fail(s, fmt::format("day {} does not exist in {:04}-{:02}", day, year, month));
  if (hour > 23) parse_fail(s, fmt::format("hour {} is not 0..23", hour));
  if (minute > 59) parse_fail(s, fmt::format("minute {} is not 0..59", minute));
  if (second == 60) parse_fail(s, "leap second 60 is not supported");
  if (second > 59) parse_fail(s, fmt::format("second {} is not 0..59", second));

  const std::int64_t secs =
      days_from_civil(year, month, day) * seconds_per_day + hour * 3600 + minute * 60 + second;
  // 128-bit so that the earliest second (whose whole-second part alone is out of range) works.
  const __int128 ns = static_cast<__int128>(secs) * ns_per_second + frac;
  if (ns < INT64_MIN || ns > INT64_MAX) parse_fail(s, "outside the representable range 1677-09-21..2262-04-11");
  return timestamp(static_cast<std::int64_t>(ns));
}

timestamp& timestamp::operator+=(std::chrono::nanoseconds d) {
  if (__builtin_add_overflow(ns_, d.count(), &ns_))
    throw time_error(fmt::format("timestamp: {} + {}ns leaves the representable range", to_iso8601(), d.count()));
  return *this;
}

timestamp& timestamp::operator-=(std::chrono::nanoseconds d) {
  std::int64_t r;
  if (__builtin_sub_overflow(ns_, d.count(), &r))
    throw time_error(fmt::format("timestamp: {} - {}ns leaves the representable range", to_iso8601(), d.count()));
  ns_ = r;
  return *this;
}

timestamp operator+(timestamp t, std::chrono::nanoseconds d) { return t += d; }
timestamp operator-(timestamp t, std::chrono::nanoseconds d) { return t -= d; }

std::chrono::nanoseconds operator-(timestamp a, timestamp b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a.nanos(), b.nanos(), &r))
    throw time_error("timestamp: difference does not fit in int64 nanoseconds");
  return std::chrono::nanoseconds(r);
}

std::ostream& operator<<(std::ostream& os, timestamp t) { return os << t.to_iso8601(); }

void to_json(nlohmann::json& j, const timestamp& t) { j = t.to_iso8601(); }

void from_json(const nlohmann::json& j, timestamp& t) {
  if (!j.is_string())
    throw time_error(fmt::format("timestamp: expected an ISO-8601 JSON string, got a JSON {}", j.type_name()));
  t = timestamp::parse_iso8601(j.get_ref<const std::string&>());
}

timestamp system_clock::now() const { return timestamp::from_nanos(now_ns(CLOCK_REALTIME)); }

const system_clock& system_clock::instance() {
  static const system_clock c;
  return c;
}

timestamp simulated_clock::now() const { return timestamp::from_nanos(now_.load(std::memory_order_acquire)); }

void simulated_clock::set(timestamp t) {
  std::int64_t current = now_.load(std::memory_order_acquire);
  do {
    if (t.nanos() < current)
      throw time_error(fmt::format("simulated_clock: cannot move back from {} to {}",
                                   timestamp::from_nanos(current).to_iso8601(), t.to_iso8601()));
  } while (!now_.compare_exchange_weak(current, t.nanos(), std::memory_order_acq_rel, std::memory_order_acquire));
}

timestamp simulated_clock::advance(std::chrono::nanoseconds d) {
  if (d.count() < 0)
    throw time_error(fmt::format("simulated_clock: cannot advance by a negative duration ({}ns)", d.count()));
  std::int64_t current = now_.load(std::memory_order_acquire);
  std::int64_t next;
  do {
    if (__builtin_add_overflow(current, d.count(), &next))
      throw time_error("simulated_clock: advance leaves the representable range");
  } while (!now_.compare_exchange_weak(current, next, std::memory_order_acq_rel, std::memory_order_acquire));
  return timestamp::from_nanos(next);
}

std::chrono::nanoseconds steady_now() noexcept { return std::chrono::nanoseconds(now_ns(CLOCK_MONOTONIC)); }

}  // namespace pt::core
