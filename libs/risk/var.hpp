#pragma once
// Portfolio value at risk, 1 day, 99 %, and drawdown (issue 4 item 4: published on risk.*).
//
// Inputs: returns[t][i] = simple daily return of symbol i on day t (close-to-close, oldest
// first, same days for every symbol), exposures[i] = signed position notional in quote (long
// +, short -). Day t's portfolio P&L is sum_i exposures[i] x returns[t][i], its loss the
// negative of that.
//
// historical_var: the `confidence` quantile of the T daily losses, interpolated linearly
//   between order statistics (Hyndman-Fan type 7, as numpy.quantile's default and Python's
//   statistics.quantiles(method="inclusive")): sorted ascending L(0..T-1), h = (T-1) x q,
//   VaR = L(floor h) + (h - floor h) x (L(floor h + 1) - L(floor h)).
// parametric_var: variance-covariance with the sample covariance (divisor T-1) and zero mean
//   (one day's drift is noise next to its volatility): VaR = z x sqrt(e' S e), z = 2.326347874
//   (the 99 % one-sided normal quantile).
// Both return quote money rounded UP to the decimal's 9 digits, floored at zero (a history in
// which the portfolio never loses has no loss to report). Bad shapes, fewer than 2 days, a
// non-finite return or confidence outside (0, 1) throw var_error.
#include "core/decimal.hpp"

#include <stdexcept>
#include <vector>

namespace pt::risk {

using core::decimal;

class var_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

inline constexpr double z_99 = 2.326347874;

[[nodiscard]] decimal historical_var(const std::vector<std::vector<double>>& returns,
                                     const std::vector<decimal>& exposures, double confidence = 0.99);
[[nodiscard]] decimal parametric_var(const std::vector<std::vector<double>>& returns,
                                     const std::vector<decimal>& exposures, double z = z_99);

// (peak - equity) / peak as a fraction rounded UP; zero when equity >= peak. peak <= 0 throws
// var_error.
[[nodiscard]] decimal current_drawdown(decimal peak, decimal equity);
// The largest peak-to-trough fall of an equity curve, as a fraction rounded UP.
[[nodiscard]] decimal max_drawdown(const std::vector<decimal>& equity_curve);

}  // namespace pt::risk
