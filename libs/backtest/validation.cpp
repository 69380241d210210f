#include "backtest/validation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>

namespace pt::backtest {

namespace {

using core::decimal;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

struct mean_sd {
  double mean, sd;
};

// A stdev at or below 1e-10 |mean| is rounding noise (a constant series whose mean or values
// are an ulp off) and counts as 0: otherwise mean / 1e-17 gives a Sharpe of ~1e16.
double denoised(double sd, double mean) { return sd <= 1e-10 * std::abs(mean) ? 0.0 : sd; }

// Mean and sample stdev (n - 1) of r, r.size() >= 2.
mean_sd describe(const std::vector<double>& r) {
  double mean = 0.0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());
  double ss = 0.0;
  for (double x : r) ss += (x - mean) * (x - mean);
  return {mean, denoised(std::sqrt(ss / static_cast<double>(r.size() - 1)), mean)};
}

// Per-period Sharpe of a finished path; zero stdev counts as 0 so every path has a number to
// rank (a flat path has no measurable risk-adjusted return).
double path_sharpe(const std::vector<double>& r) {
  const auto [mean, sd] = describe(r);
  return sd == 0.0 ? 0.0 : mean / sd;
}

mc_result summarise(const std::vector<double>& v) {
  return {percentile(v, 0.05), percentile(v, 0.50), percentile(v, 0.95)};
}

// Uniform integer in [0, n) without modulo bias: drop the lowest (2^64 mod n) raw values.
std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) {
  const std::uint64_t m = n;
  const std::uint64_t threshold = (0 - m) % m;  // 2^64 mod n
  std::uint64_t x;
  do x = rng();
  while (x < threshold);
  return static_cast<std::size_t>(x % m);
}

// Standard normal by Box-Muller on 53-bit uniforms; both outputs of a pair are used.
class normal_source {
 public:
  explicit normal_source(std::mt19937_64& rng) : rng_(rng) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    constexpr double unit = 1.0 / 9007199254740992.0;  // 2^-53
    const double u1 = static_cast<double>((rng_() >> 11) + 1) * unit;  // (0, 1]: log(u1) finite
    const double u2 = static_cast<double>(rng_() >> 11) * unit;        // [0, 1)
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64& rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

struct moments {
  double n = 0.0, mean = 0.0, m2 = 0.0;  // m2: sum of squared deviations
};

moments block_moments(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  moments m;
  for (std::size_t i = begin; i < end; ++i) {  // Welford
    m.n += 1.0;
    const double d = v[i] - m.mean;
    m.mean += d / m.n;
    m.m2 += d * (v[i] - m.mean);
  }
  return m;
}

// Chan et al.'s pairwise combination: stable, so blocks can be merged per combination.
moments merge(const moments& a, const moments& b) {
  if (a.n == 0.0) return b;
  moments m;
  m.n = a.n + b.n;
  const double d = b.mean - a.mean;
  m.mean = a.mean + d * b.n / m.n;
  m.m2 = a.m2 + b.m2 + d * d * a.n * b.n / m.n;
  return m;
}

double sharpe_of(const moments& m) {
  const double sd = denoised(std::sqrt(m.m2 / (m.n - 1.0)), m.mean);
  if (sd == 0.0) {
    if (m.mean > 0.0) return std::numeric_limits<double>::infinity();
    if (m.mean < 0.0) return -std::numeric_limits<double>::infinity();
    return 0.0;
  }
  return m.mean / sd;
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  require(!values.empty(), "percentile: no values");
  require(p >= 0.0 && p <= 1.0, "percentile: p must be in [0, 1], got " + std::to_string(p));
  for (double v : values) require(std::isfinite(v), "percentile: non-finite value");
  std::sort(values.begin(), values.end());
  const double h = static_cast<double>(values.size() - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= values.size()) return values.back();
  return values[lo] + (h - static_cast<double>(lo)) * (values[lo + 1] - values[lo]);
}

mc_summary monte_carlo_trades(const std::vector<decimal>& trade_pnls, decimal start_equity, int paths,
                              std::uint64_t seed) {
  require(trade_pnls.size() >= 2, "monte_carlo_trades: needs at least 2 trades, got " +
                                      std::to_string(trade_pnls.size()));
  require(start_equity.is_positive(), "monte_carlo_trades: start_equity must be > 0, got " + start_equity.to_string());
  require(paths >= 1, "monte_carlo_trades: paths must be >= 1, got " + std::to_string(paths));

  std::mt19937_64 rng(seed);
  const std::size_t n = trade_pnls.size();
  const auto n_paths = static_cast<std::size_t>(paths);
  std::vector<double> total(n_paths), drawdown(n_paths), sharpe(n_paths), returns(n);
  int ruined = 0;
  for (std::size_t p = 0; p < n_paths; ++p) {
    decimal equity = start_equity, peak = start_equity;
    double max_dd = 0.0;
    bool ruin = false;
    for (std::size_t k = 0; k < n; ++k) {
      // Draw even after ruin so path p + 1 sees the same numbers whatever happened to path p.
      const decimal pnl = trade_pnls[uniform_index(rng, n)];
      if (ruin) {
        returns[k] = 0.0;
        continue;
      }
      const decimal next = equity + pnl;
      if (!next.is_positive()) {
        ruin = true;
        returns[k] = -1.0;
        equity = decimal::zero();
      } else {
        returns[k] = pnl.to_double() / equity.to_double();
        equity = next;
      }
      peak = std::max(peak, equity);
      max_dd = std::max(max_dd, (peak - equity).to_double() / peak.to_double());
    }
    ruined += ruin;
    total[p] = (equity - start_equity).to_double() / start_equity.to_double();
    drawdown[p] = max_dd;
    sharpe[p] = path_sharpe(returns);
  }
  return {summarise(total), summarise(drawdown), summarise(sharpe), static_cast<double>(ruined) / paths, paths};
}

mc_summary monte_carlo_returns(const std::vector<double>& period_returns, int paths, double noise_sd_fraction,
                               std::uint64_t seed) {
  require(period_returns.size() >= 2, "monte_carlo_returns: needs at least 2 returns, got " +
                                          std::to_string(period_returns.size()));
  for (double r : period_returns) require(std::isfinite(r), "monte_carlo_returns: non-finite return");
  require(std::isfinite(noise_sd_fraction) && noise_sd_fraction >= 0.0,
          "monte_carlo_returns: noise_sd_fraction must be finite and >= 0");
  require(paths >= 1, "monte_carlo_returns: paths must be >= 1, got " + std::to_string(paths));

  const std::size_t n = period_returns.size();
  const double noise_sd = noise_sd_fraction * describe(period_returns).sd;

  std::mt19937_64 rng(seed);
  normal_source normal(rng);
  const auto n_paths = static_cast<std::size_t>(paths);
  std::vector<double> total(n_paths), drawdown(n_paths), sharpe(n_paths), returns(n);
  int ruined = 0;
  for (std::size_t p = 0; p < n_paths; ++p) {
    double equity = 1.0, peak = 1.0, max_dd = 0.0;
    bool ruin = false;
    for (std::size_t k = 0; k < n; ++k) {
      // Draw even after ruin so path p + 1 sees the same numbers whatever happened to path p.
      const double r = period_returns[k] + noise_sd * normal.next();
      if (ruin) {
        returns[k] = 0.0;
        continue;
      }
      if (r <= -1.0) {
        ruin = true;
        returns[k] = -1.0;
        equity = 0.0;
      } else {
        returns[k] = r;
        equity *= 1.0 + r;
      }
      peak = std::max(peak, equity);
      max_dd = std::max(max_dd, (peak - equity) / peak);
    }
    ruined += ruin;
    total[p] = equity - 1.0;
    drawdown[p] = max_dd;
    sharpe[p] = path_sharpe(returns);
  }
  return {summarise(total), summarise(drawdown), summarise(sharpe), static_cast<double>(ruined) / paths, paths};
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double normal_quantile(double p) {
  require(p > 0.0 && p < 1.0, "normal_quantile: p must be in (0, 1), got " + std::to_string(p));
  // Peter J. Acklam's rational approximation (relative error < 1.15e-9), central region
  // [0.02425, 0.97575] and the two tails.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  double x;
  if (p < p_low || p > 1.0 - p_low) {
    const double q = std::sqrt(-2.0 * std::log(p < p_low ? p : 1.0 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    if (p > 1.0 - p_low) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  // One Halley step on Phi(x) - p brings it to full double precision.
  const double e = normal_cdf(x) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  return x - u / (1.0 + x * u / 2.0);
}

double probabilistic_sharpe(double sr, double sr_benchmark, int n_obs, double skew, double kurtosis) {
  require(std::isfinite(sr) && std::isfinite(sr_benchmark) && std::isfinite(skew) && std::isfinite(kurtosis),
          "probabilistic_sharpe: non-finite input");
  require(n_obs >= 2, "probabilistic_sharpe: n_obs must be >= 2, got " + std::to_string(n_obs));
  const double var_term = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr;
  require(var_term > 0.0, "probabilistic_sharpe: 1 - skew sr + (kurtosis - 1)/4 sr^2 must be > 0 (got " +
                              std::to_string(var_term) + "): inconsistent skew/kurtosis");
  return normal_cdf((sr - sr_benchmark) * std::sqrt(static_cast<double>(n_obs - 1)) / std::sqrt(var_term));
}

double expected_max_sharpe(double var_of_trial_sharpes, int n_trials) {
  require(std::isfinite(var_of_trial_sharpes) && var_of_trial_sharpes >= 0.0,
          "expected_max_sharpe: variance must be finite and >= 0");
  require(n_trials >= 2, "expected_max_sharpe: n_trials must be >= 2, got " + std::to_string(n_trials));
  constexpr double gamma = 0.5772156649015329;  // Euler-Mascheroni
  const double n = n_trials;
  return std::sqrt(var_of_trial_sharpes) *
         ((1.0 - gamma) * normal_quantile(1.0 - 1.0 / n) + gamma * normal_quantile(1.0 - 1.0 / (n * std::numbers::e)));
}

double deflated_sharpe(double sr, int n_obs, double skew, double kurtosis, double var_of_trial_sharpes, int n_trials) {
  return probabilistic_sharpe(sr, expected_max_sharpe(var_of_trial_sharpes, n_trials), n_obs, skew, kurtosis);
}

pbo_result probability_of_overfitting(const std::vector<std::vector<double>>& returns_by_config, int n_splits) {
  const std::size_t n_configs = returns_by_config.size();
  require(n_configs >= 2, "probability_of_overfitting: needs at least 2 configs, got " + std::to_string(n_configs));
  require(n_splits >= 2 && n_splits % 2 == 0 && n_splits <= 24,
          "probability_of_overfitting: n_splits must be even and in 2..24, got " + std::to_string(n_splits));
  const std::size_t periods = returns_by_config.front().size();
  const auto splits = static_cast<std::size_t>(n_splits);
  for (std::size_t c = 0; c < n_configs; ++c) {
    require(returns_by_config[c].size() == periods,
            "probability_of_overfitting: config " + std::to_string(c) + " has " +
                std::to_string(returns_by_config[c].size()) + " periods, config 0 has " + std::to_string(periods));
    for (double r : returns_by_config[c])
      require(std::isfinite(r), "probability_of_overfitting: non-finite return in config " + std::to_string(c));
  }
  require(periods >= 2 * splits, "probability_of_overfitting: needs at least 2 periods per block (T >= 2 S), got T = " +
                                     std::to_string(periods));

  // stats[c][b]: moments of config c over block b, merged per combination below.
  std::vector<std::vector<moments>> stats(n_configs, std::vector<moments>(splits));
  for (std::size_t c = 0; c < n_configs; ++c)
    for (std::size_t b = 0; b < splits; ++b)
      stats[c][b] = block_moments(returns_by_config[c], b * periods / splits, (b + 1) * periods / splits);

  pbo_result out;
  const std::size_t half = splits / 2;
  std::vector<std::size_t> pick(half);  // in-sample blocks, ascending
  for (std::size_t i = 0; i < half; ++i) pick[i] = i;
  std::vector<bool> in_sample(splits);
  std::vector<double> is_sharpe(n_configs), oos_sharpe(n_configs);
  int overfit = 0;
  while (true) {
    std::fill(in_sample.begin(), in_sample.end(), false);
    for (std::size_t b : pick) in_sample[b] = true;
    for (std::size_t c = 0; c < n_configs; ++c) {
      moments is, oos;
      for (std::size_t b = 0; b < splits; ++b) {
        moments& side = in_sample[b] ? is : oos;
        side = merge(side, stats[c][b]);
      }
      is_sharpe[c] = sharpe_of(is);
      oos_sharpe[c] = sharpe_of(oos);
    }
    const std::size_t best = static_cast<std::size_t>(
        std::max_element(is_sharpe.begin(), is_sharpe.end()) - is_sharpe.begin());  // first of ties
    double rank = 1.0;  // 1 = worst out of sample
    for (std::size_t c = 0; c < n_configs; ++c) {
      if (c == best) continue;
      if (oos_sharpe[c] < oos_sharpe[best]) rank += 1.0;
      else if (oos_sharpe[c] == oos_sharpe[best]) rank += 0.5;  // mid-rank
    }
    const double w = rank / static_cast<double>(n_configs + 1);
    const double logit = std::log(w / (1.0 - w));
    out.logits.push_back(logit);
    overfit += logit <= 0.0;

    // Next combination in lexicographic order.
    std::size_t i = half;
    while (i > 0 && pick[i - 1] == splits - half + (i - 1)) --i;
    if (i == 0) break;
    ++pick[i - 1];
    for (std::size_t j = i; j < half; ++j) pick[j] = pick[j - 1] + 1;
  }
  out.combinations = static_cast<int>(out.logits.size());
  out.pbo = static_cast<double>(overfit) / out.combinations;
  return out;
}

}  // namespace pt::backtest
