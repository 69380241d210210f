#include "risk/var.hpp"

#include "risk/types.hpp"

#include <algorithm>
#include <cmath>

namespace pt::risk {

namespace {

void check_shape(const std::vector<std::vector<double>>& r, const std::vector<decimal>& e) {
  if (r.size() < 2) throw var_error("VaR needs at least 2 days of returns");
  if (e.empty()) throw var_error("VaR needs at least one exposure");
  for (const auto& row : r) {
    if (row.size() != e.size()) throw var_error("every day needs one return per exposure");
    for (double x : row)
      if (!std::isfinite(x)) throw var_error("non-finite return");
  }
}

decimal money_up(double x) { return to_decimal(std::max(0.0, x), core::rounding::ceil); }

}  // namespace

decimal historical_var(const std::vector<std::vector<double>>& r, const std::vector<decimal>& e, double q) {
  check_shape(r, e);
  if (!(q > 0 && q < 1)) throw var_error("confidence must be in (0, 1)");
  std::vector<double> loss;
  loss.reserve(r.size());
  for (const auto& row : r) {
    double pnl = 0;
    for (std::size_t i = 0; i < e.size(); ++i) pnl += e[i].to_double() * row[i];
    loss.push_back(-pnl);
  }
  std::sort(loss.begin(), loss.end());
  const double h = static_cast<double>(loss.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, loss.size() - 1);
  return money_up(loss[lo] + (h - static_cast<double>(lo)) * (loss[hi] - loss[lo]));
}

decimal parametric_var(const std::vector<std::vector<double>>& r, const std::vector<decimal>& e, double z) {
  check_shape(r, e);
  if (!std::isfinite(z) || z <= 0) throw var_error("z must be > 0");
  const std::size_t n = e.size(), t = r.size();
  std::vector<double> mean(n, 0.0);
  for (const auto& row : r)
    for (std::size_t i = 0; i < n; ++i) mean[i] += row[i];
  for (auto& m : mean) m /= static_cast<double>(t);
  double variance = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double c = 0;
      for (const auto& row : r) c += (row[i] - mean[i]) * (row[j] - mean[j]);
      c /= static_cast<double>(t - 1);
      variance += e[i].to_double() * e[j].to_double() * c;
    }
  return money_up(z * std::sqrt(std::max(0.0, variance)));
}

decimal current_drawdown(decimal peak, decimal equity) {
  if (!peak.is_positive()) throw var_error("peak equity must be > 0");
  if (equity >= peak) return decimal::zero();
  return core::div(peak - equity, peak, core::rounding::ceil);
}

decimal max_drawdown(const std::vector<decimal>& curve) {
  decimal worst, peak;
  for (decimal x : curve) {
    peak = std::max(peak, x);
    if (peak.is_positive()) worst = std::max(worst, current_drawdown(peak, x));
  }
  return worst;
}

}  // namespace pt::risk
