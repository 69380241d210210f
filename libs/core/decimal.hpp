#pragma once
// The one fixed-point decimal for prices, quantities and money.
//
// Value = units / 10^9, units held in an int64: 9 fractional digits, range about
// +-9.2e9 (exactly -9223372036.854775808 .. 9223372036.854775807). Addition and subtraction
// are exact. Multiplication and division go through __int128 intermediates (a product of two
// int64 unit counts always fits), so only the final result can overflow, and that is
// detected. Every failure throws: decimal_overflow when a result leaves the range,
// decimal_parse_error for bad text, decimal_error for the rest (division by zero, step <= 0).
// try_parse is the one non-throwing door, for hot paths that reject bad input often.
//
// Results with more than 9 fractional digits are rounded by an explicit `rounding` mode; the
// operators * and / use half_even (banker's rounding: no drift up or down over many fills).
#include <nlohmann/json_fwd.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::core {

class decimal_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A result (or a parsed value) outside the int64 unit range.
class decimal_overflow : public decimal_error {
 public:
  using decimal_error::decimal_error;
};
class decimal_parse_error : public decimal_error {
 public:
  using decimal_error::decimal_error;
};

enum class rounding {
  half_even,  // ties to the even neighbour (default)
  half_up,    // ties away from zero
  down,       // toward zero (truncate)
  floor,      // toward -infinity
  ceil,       // toward +infinity
};

std::string_view to_string(rounding r);

class decimal {
 public:
  static constexpr int digits = 9;
  static constexpr std::int64_t scale = 1'000'000'000;

  constexpr decimal() = default;

  // Raw units (value * 10^9), e.g. from storage.
  [[nodiscard]] static constexpr decimal from_units(std::int64_t units) { return decimal(units); }
  [[nodiscard]] static decimal from_integer(std::int64_t value);  // throws decimal_overflow

  // Strict: at most 9 fractional digits, otherwise decimal_parse_error. Accepts an optional
  // sign, digits with an optional '.', and an optional exponent ("1e-3"). Nothing else:
  // no spaces, no "inf"/"nan", no hex, no thousands separators.
  [[nodiscard]] static decimal parse(std::string_view text);
  // Same grammar, but digits beyond the 9th fractional one are rounded with `mode`
  // (venue feeds sometimes send more digits than we keep).
  [[nodiscard]] static decimal parse_rounded(std::string_view text, rounding mode);
  // Strict parse without exceptions.
  [[nodiscard]] static std::optional<decimal> try_parse(std::string_view text) noexcept;

  [[nodiscard]] static constexpr decimal zero() { return decimal(0); }
  [[nodiscard]] static constexpr decimal one() { return decimal(scale); }
  [[nodiscard]] static constexpr decimal max() { return decimal(INT64_MAX); }
  [[nodiscard]] static constexpr decimal min() { return decimal(INT64_MIN); }

  [[nodiscard]] constexpr std::int64_t units() const { return units_; }
  [[nodiscard]] constexpr bool is_zero() const { return units_ == 0; }
  [[nodiscard]] constexpr bool is_negative() const { return units_ < 0; }
  [[nodiscard]] constexpr bool is_positive() const { return units_ > 0; }
  [[nodiscard]] constexpr int sign() const { return (units_ > 0) - (units_ < 0); }

  // Canonical form: no trailing fractional zeros, no '.' for integers, "-" for negatives
  // ("42000.5", "-0.00012345", "3"). parse(to_string(x)) == x for every x.
  [[nodiscard]] std::string to_string() const;
  // Exactly `fraction_digits` (0..9) fractional digits, rounding with `mode` when needed
  // ("42000.50" for 2). Throws decimal_error for digits outside 0..9.
  [[nodiscard]] std::string to_string(int fraction_digits, rounding mode = rounding::half_even) const;

  // For analytics and display only (ratios, statistics, model features): never feed the
  // result back into prices, quantities or money.
  [[nodiscard]] double to_double() const { return static_cast<double>(units_) / scale; }

  friend constexpr bool operator==(decimal a, decimal b) = default;
  friend constexpr std::strong_ordering operator<=>(decimal a, decimal b) = default;

 private:
  constexpr explicit decimal(std::int64_t units) : units_(units) {}
  std::int64_t units_ = 0;
};

[[noreturn]] void throw_decimal_overflow(const char* operation);

// Exact; throw decimal_overflow.
[[nodiscard]] inline decimal operator+(decimal a, decimal b) {
  std::int64_t r;
  if (__builtin_add_overflow(a.units(), b.units(), &r)) throw_decimal_overflow("+");
  return decimal::from_units(r);
}
[[nodiscard]] inline decimal operator-(decimal a, decimal b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a.units(), b.units(), &r)) throw_decimal_overflow("-");
  return decimal::from_units(r);
}
[[nodiscard]] decimal neg(decimal a);  // throws only for decimal::min()
[[nodiscard]] decimal abs(decimal a);  // idem
[[nodiscard]] inline decimal operator-(decimal a) { return neg(a); }
inline decimal& operator+=(decimal& a, decimal b) { return a = a + b; }
inline decimal& operator-=(decimal& a, decimal b) { return a = a - b; }

// a * b and a / b rounded to 9 fractional digits with `mode`. div throws decimal_error on b == 0.
[[nodiscard]] decimal mul(decimal a, decimal b, rounding mode);
[[nodiscard]] decimal div(decimal a, decimal b, rounding mode);
[[nodiscard]] inline decimal operator*(decimal a, decimal b) { return mul(a, b, rounding::half_even); }
[[nodiscard]] inline decimal operator/(decimal a, decimal b) { return div(a, b, rounding::half_even); }
// Exact scaling by an integer count (e.g. contracts x contract size).
[[nodiscard]] decimal operator*(decimal a, std::int64_t n);
[[nodiscard]] inline decimal operator*(std::int64_t n, decimal a) { return a * n; }

// price x quantity. Exact whenever the true product has at most 9 fractional digits; only
// then is the last digit rounded, with `mode`.
[[nodiscard]] inline decimal notional(decimal price, decimal qty, rounding mode = rounding::half_even) {
  return mul(price, qty, mode);
}

// The multiple of `step` nearest to `value` under `mode`. step <= 0 throws decimal_error.
[[nodiscard]] decimal round_to_step(decimal value, decimal step, rounding mode);
[[nodiscard]] inline decimal round_price_to_tick(decimal price, decimal tick, rounding mode) {
  return round_to_step(price, tick, mode);
}
// Quantities always round toward zero: we never send more than risk approved.
[[nodiscard]] inline decimal round_qty_to_lot(decimal qty, decimal lot) {
  return round_to_step(qty, lot, rounding::down);
}

std::ostream& operator<<(std::ostream& os, decimal d);

// JSON carries decimals as strings ("42000.5"), never numbers: a JSON number goes through a
// double in most parsers. from_json rejects anything but a string with strict parse rules.
void to_json(nlohmann::json& j, const decimal& d);
void from_json(const nlohmann::json& j, decimal& d);

namespace literals {
// 42000.5_dec / "0.001"_dec: parsed strictly from the spelled digits (never via a double).
[[nodiscard]] decimal operator""_dec(const char* text, std::size_t len);
[[nodiscard]] decimal operator""_dec(const char* text);
}  // namespace literals

}  // namespace pt::core

template <>
struct std::hash<pt::core::decimal> {
  std::size_t operator()(pt::core::decimal d) const noexcept {
    return std::hash<std::int64_t>{}(d.units());
  }
};
