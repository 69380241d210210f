#include "risk/types.hpp"

#include <cmath>

namespace pt::risk {

decimal to_decimal(double x, core::rounding mode) {
  if (!std::isfinite(x)) throw core::decimal_error("to_decimal: not a finite number");
  const double u = x * static_cast<double>(decimal::scale);
  double r = 0;
  switch (mode) {
    case core::rounding::down: r = std::trunc(u); break;
    case core::rounding::floor: r = std::floor(u); break;
    case core::rounding::ceil: r = std::ceil(u); break;
    case core::rounding::half_up: r = std::round(u); break;
    case core::rounding::half_even: r = std::nearbyint(u); break;  // default FE_TONEAREST
  }
  // 2^63 is exactly representable; anything at or beyond it does not fit an int64.
  if (!(r > -9223372036854775808.0 && r < 9223372036854775808.0))
    throw core::decimal_overflow("to_decimal: out of range");
  return decimal::from_units(static_cast<std::int64_t>(r));
}

}  // namespace pt::risk
