#include "core/decimal.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ostream>

namespace pt::core {

namespace {

using i128 = __int128;
using u128 = unsigned __int128;

// Where the discarded part of a division lies relative to half a unit of the last kept digit.
enum class remainder_kind { exact, below_half, half, above_half };

// q is the quotient truncated toward zero; `negative` is the sign of the true result.
i128 apply_rounding(i128 q, bool negative, remainder_kind rk, rounding mode) {
  if (rk == remainder_kind::exact) return q;
  bool away = false;
  switch (mode) {
    case rounding::down: away = false; break;
    case rounding::floor: away = negative; break;
    case rounding::ceil: away = !negative; break;
    case rounding::half_up: away = rk != remainder_kind::below_half; break;
    case rounding::half_even:
      away = rk == remainder_kind::above_half || (rk == remainder_kind::half && (q & 1) != 0);
      break;
  }
  if (!away) return q;
  return negative ? q - 1 : q + 1;
}

// n / d rounded with `mode`; d != 0. Callers keep |n| and |d| below 2^126.
i128 div_round(i128 n, i128 d, rounding mode) {
  const i128 q = n / d;
  const i128 r = n % d;
  if (r == 0) return q;
  const bool negative = (n < 0) != (d < 0);
  const i128 twice_r = (r < 0 ? -r : r) * 2;
  const i128 abs_d = d < 0 ? -d : d;
  const auto rk = twice_r < abs_d    ? remainder_kind::below_half
                  : twice_r == abs_d ? remainder_kind::half
                                     : remainder_kind::above_half;
  return apply_rounding(q, negative, rk, mode);
}

decimal checked(i128 units, const char* operation) {
  if (units > INT64_MAX || units < INT64_MIN) throw_decimal_overflow(operation);
  return decimal::from_units(static_cast<std::int64_t>(units));
}

constexpr std::int64_t pow10(int n) {
  std::int64_t r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

enum class parse_status { ok, empty, syntax, too_precise, out_of_range };

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One parser for parse, parse_rounded and try_parse. `mode` empty = strict.
parse_status parse_impl(std::string_view s, std::optional<rounding> mode, decimal& out,
                        std::size_t& error_pos) {
  const std::size_t n = s.size();
  if (n == 0) return parse_status::empty;
  std::size_t i = 0;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  const std::size_t int_start = i;
  while (i < n && is_digit(s[i])) ++i;
  const std::size_t int_len = i - int_start;
  std::size_t frac_start = i, frac_len = 0;
  if (i < n && s[i] == '.') {
    frac_start = ++i;
    while (i < n && is_digit(s[i])) ++i;
    frac_len = i - frac_start;
  }
  if (int_len + frac_len == 0) {
    error_pos = i;
    return parse_status::syntax;
  }
  std::int64_t exponent = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    const std::size_t exp_start = i;
    while (i < n && is_digit(s[i])) {
      // Capped: anything this large is out of range or rounds to zero either way.
      if (exponent < 1'000'000) exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_start) {
      error_pos = i;
      return parse_status::syntax;
    }
    if (exp_negative) exponent = -exponent;
  }
  if (i != n) {
    error_pos = i;
    return parse_status::syntax;
  }

  // The digits int||frac as one sequence D, value = D * 10^(exponent - frac_len).
  const std::size_t total = int_len + frac_len;
  auto digit = [&](std::size_t j) -> int {
    return j < int_len ? s[int_start + j] - '0' : s[frac_start + (j - int_len)] - '0';
  };
  std::size_t first = 0;
  while (first < total && digit(first) == 0) ++first;
  if (first == total) {
    out = decimal::zero();
    return parse_status::ok;
  }
  const auto m = static_cast<std::int64_t>(total - first);  // significant digits
  const std::int64_t shift = exponent - static_cast<std::int64_t>(frac_len) + decimal::digits;
  const u128 limit = negative ? u128(INT64_MAX) + 1 : u128(INT64_MAX);

  u128 magnitude = 0;
  remainder_kind rk = remainder_kind::exact;
  if (shift >= 0) {
    if (m + shift > 19) return parse_status::out_of_range;
    for (std::int64_t j = 0; j < m; ++j) magnitude = magnitude * 10 + digit(first + j);
    for (std::int64_t j = 0; j < shift; ++j) magnitude *= 10;
  } else {
    const std::int64_t keep = m + shift;  // digits kept; may be <= 0
    if (keep > 19) return parse_status::out_of_range;
    for (std::int64_t j = 0; j < keep; ++j) magnitude = magnitude * 10 + digit(first + j);
    if (keep < 0) {
      rk = remainder_kind::below_half;  // implicit leading zeros, then a non-zero digit
    } else {
      const std::int64_t start = keep;
      const int d0 = digit(first + start);
      bool rest_nonzero = false;
      for (std::int64_t j = start + 1; j < m && !rest_nonzero; ++j) rest_nonzero = digit(first + j) != 0;
      if (d0 > 5 || (d0 == 5 && rest_nonzero)) rk = remainder_kind::above_half;
      else if (d0 == 5) rk = remainder_kind::half;
      else if (d0 > 0 || rest_nonzero) rk = remainder_kind::below_half;
    }
    if (rk != remainder_kind::exact) {
      if (!mode) return parse_status::too_precise;
      const i128 signed_q = negative ? -i128(magnitude) : i128(magnitude);
      const i128 rounded = apply_rounding(signed_q, negative, rk, *mode);
      magnitude = u128(rounded < 0 ? -rounded : rounded);
    }
  }
  if (magnitude > limit) return parse_status::out_of_range;
  const i128 units = negative ? -i128(magnitude) : i128(magnitude);
  out = decimal::from_units(static_cast<std::int64_t>(units));
  return parse_status::ok;
}

decimal parse_or_throw(std::string_view text, std::optional<rounding> mode) {
  decimal out;
  std::size_t pos = 0;
  const auto status = parse_impl(text, mode, out, pos);
  if (status == parse_status::ok) return out;
  const std::string shown =
      text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text);
  switch (status) {
    case parse_status::empty: throw decimal_parse_error("decimal: empty string");
    case parse_status::syntax:
      if (pos < text.size())
        throw decimal_parse_error(
            fmt::format("decimal: cannot parse \"{}\": unexpected '{}' at position {}", shown,
                        text[pos], pos));
      throw decimal_parse_error(
          fmt::format("decimal: cannot parse \"{}\": missing digits at the end", shown));
    case parse_status::too_precise:
      throw decimal_parse_error(fmt::format(
          "decimal: \"{}\" has more than {} fractional digits (use parse_rounded to round)", shown,
          decimal::digits));
    case parse_status::out_of_range:
      throw decimal_parse_error(fmt::format(
          "decimal: \"{}\" is out of range (limit +-9223372036.854775807)", shown));
    case parse_status::ok: break;
  }
  throw decimal_parse_error("decimal: parse failed");
}

// "123" / "123.45" (canonical) or exactly `fixed` fractional digits.
std::string format_units(std::int64_t units, int fixed) {
  const bool negative = units < 0;
  const std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  const std::uint64_t int_part = mag / decimal::scale;
  std::uint64_t frac = mag % decimal::scale;
  std::string out = negative ? "-" : "";
  out += std::to_string(int_part);
  char buf[decimal::digits];
  for (int k = decimal::digits - 1; k >= 0; --k) {
    buf[k] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int len = decimal::digits;
  if (fixed < 0) {
    while (len > 0 && buf[len - 1] == '0') --len;
  } else {
    len = fixed;
  }
  if (len > 0) {
    out += '.';
    out.append(buf, static_cast<std::size_t>(len));
  }
  return out;
}

}  // namespace

std::string_view to_string(rounding r) {
  switch (r) {
    case rounding::half_even: return "half_even";
    case rounding::half_up: return "half_up";
    case rounding::down: return "down";
    case rounding::floor: return "floor";
    case rounding::ceil: return "ceil";
  }
  return "unknown";
}

void throw_decimal_overflow(const char* operation) {
  throw decimal_overflow(fmt::format("decimal overflow in '{}' (range is +-9223372036.854775807)", operation));
}

decimal decimal::from_integer(std::int64_t value) {
  std::int64_t units;
  if (__builtin_mul_overflow(value, scale, &units)) throw_decimal_overflow("from_integer");
  return decimal(units);
}

decimal decimal::parse(std::string_view text) { return parse_or_throw(text, std::nullopt); }

decimal decimal::parse_rounded(std::string_view text, rounding mode) { return parse_or_throw(text, mode); }

std::optional<decimal> decimal::try_parse(std::string_view text) noexcept {
  decimal out;
  std::size_t pos = 0;
  if (parse_impl(text, std::nullopt, out, pos) != parse_status::ok) return std::nullopt;
  return out;
}

std::string decimal::to_string() const { return format_units(units_, -1); }

std::string decimal::to_string(int fraction_digits, rounding mode) const {
  if (fraction_digits < 0 || fraction_digits > digits)
    throw decimal_error(fmt::format("decimal::to_string: fraction digits must be 0..9, got {}", fraction_digits));
  const decimal step = from_units(pow10(digits - fraction_digits));
  return format_units(round_to_step(*this, step, mode).units(), fraction_digits);
}

decimal neg(decimal a) {
  if (a == decimal::min()) throw_decimal_overflow("neg");
  return decimal::from_units(-a.units());
}

decimal abs(decimal a) { return a.is_negative() ? neg(a) : a; }

decimal mul(decimal a, decimal b, rounding mode) {
  // |a*b| < 2^126, so the 128-bit product is exact; only the rounded result can overflow.
  const i128 product = i128(a.units()) * b.units();
  return checked(div_round(product, decimal::scale, mode), "*");
}

decimal div(decimal a, decimal b, rounding mode) {
  if (b.is_zero()) throw decimal_error(fmt::format("decimal: division of {} by zero", a.to_string()));
  const i128 numerator = i128(a.units()) * decimal::scale;
  return checked(div_round(numerator, b.units(), mode), "/");
}

decimal operator*(decimal a, std::int64_t n) {
  std::int64_t r;
  if (__builtin_mul_overflow(a.units(), n, &r)) throw_decimal_overflow("* integer");
  return decimal::from_units(r);
}

decimal round_to_step(decimal value, decimal step, rounding mode) {
  if (!step.is_positive())
    throw decimal_error(fmt::format("decimal: rounding step must be > 0, got {}", step.to_string()));
  const i128 steps = div_round(value.units(), step.units(), mode);
  return checked(steps * step.units(), "round_to_step");
}

std::ostream& operator<<(std::ostream& os, decimal d) { return os << d.to_string(); }

void to_json(nlohmann::json& j, const decimal& d) { j = d.to_string(); }

void from_json(const nlohmann::json& j, decimal& d) {
  if (!j.is_string())
    throw decimal_parse_error(fmt::format(
        "decimal: expected a JSON string such as \"42000.5\", got a JSON {} ({})", j.type_name(),
        j.dump().substr(0, 64)));
  d = decimal::parse(j.get_ref<const std::string&>());
}

namespace literals {
decimal operator""_dec(const char* text, std::size_t len) { return decimal::parse({text, len}); }
decimal operator""_dec(const char* text) { return decimal::parse(text); }
}  // namespace literals

}  // namespace pt::core
