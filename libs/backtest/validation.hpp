#pragma once
// Statistical validation of a backtest: is the result robust to the order of its trades and to
// noise in its returns (Monte Carlo), is its Sharpe ratio still significant once the number of
// configurations tried is accounted for (deflated Sharpe ratio), and how likely is it that the
// configuration picked in-sample is below median out-of-sample (PBO by CSCV).
// Definitions and references: libs/backtest/README.md.
//
// Every Sharpe ratio here is per period (per trade, per bar: whatever the input holds), NOT
// annualised; risk-free rate 0, sample standard deviation (n - 1).
// Random draws use std::mt19937_64 with our own uniform-index and normal transforms (not the
// std distributions, whose output differs between standard libraries): same seed, same result,
// on every platform. Bad input throws std::invalid_argument.
#include "core/decimal.hpp"

#include <cstdint>
#include <vector>

namespace pt::backtest {

// Percentile p in [0, 1] by linear interpolation between closest ranks (numpy's default
// "linear" method): sort x ascending, h = (n - 1) p, result = x[floor h] + (h - floor h)
// (x[floor h + 1] - x[floor h]). Throws on an empty or non-finite input or p outside [0, 1].
[[nodiscard]] double percentile(std::vector<double> values, double p);

struct mc_result {
  double p05 = 0.0, p50 = 0.0, p95 = 0.0;
};

struct mc_summary {
  mc_result total_return;  // final / start - 1
  mc_result max_drawdown;  // fraction of the peak, >= 0
  mc_result sharpe;        // per period (per trade for monte_carlo_trades), not annualised
  double ruin_probability = 0.0;  // share of paths whose equity reached zero or below
  int paths = 0;
};

// Trade-order bootstrap: each path draws trade_pnls.size() trades uniformly with replacement;
// equity = start + cumulative pnl (exact decimal sums); per-trade return = pnl / equity before
// the trade. A path whose equity reaches <= 0 is ruined: equity is floored at 0, that trade's
// return is -1 and every later return 0 (a wiped-out account does not trade).
// Needs >= 2 trades, start_equity > 0, paths >= 1.
[[nodiscard]] mc_summary monte_carlo_trades(const std::vector<core::decimal>& trade_pnls,
                                            core::decimal start_equity, int paths, std::uint64_t seed);

// Return perturbation: each path replaces every r_i by r_i + N(0, noise_sd_fraction * s), s the
// sample stdev of period_returns, and compounds from 1 (a return <= -1 ruins the path as
// above). Sharpe is that of the perturbed returns. noise_sd_fraction 0 reproduces the input.
// Needs >= 2 finite returns, noise_sd_fraction finite and >= 0, paths >= 1.
[[nodiscard]] mc_summary monte_carlo_returns(const std::vector<double>& period_returns, int paths,
                                             double noise_sd_fraction, std::uint64_t seed);

// Standard normal CDF Phi (via std::erfc: accurate in both tails).
[[nodiscard]] double normal_cdf(double x);
// Phi^-1 for p in (0, 1): Acklam's rational approximation refined by one Halley step
// (about 1e-15 relative). Throws outside (0, 1).
[[nodiscard]] double normal_quantile(double p);

// Probabilistic Sharpe ratio (Bailey & Lopez de Prado): the probability that the true
// per-period Sharpe exceeds sr_benchmark given an observed per-period sr over n_obs returns
// with the given skewness and kurtosis (NOT excess: 3 for a normal distribution):
//   Phi( (sr - sr*) sqrt(n - 1) / sqrt(1 - skew sr + (kurt - 1) / 4 sr^2) ).
[[nodiscard]] double probabilistic_sharpe(double sr, double sr_benchmark, int n_obs, double skew,
                                          double kurtosis);

// Expected maximum per-period Sharpe of n_trials unskilled trials whose Sharpe ratios have
// variance var_of_trial_sharpes:
//   sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e))),  g = Euler-Mascheroni.
// Needs n_trials >= 2 and V >= 0.
[[nodiscard]] double expected_max_sharpe(double var_of_trial_sharpes, int n_trials);

// Deflated Sharpe ratio: probabilistic_sharpe with sr* = expected_max_sharpe(V, N).
[[nodiscard]] double deflated_sharpe(double sr, int n_obs, double skew, double kurtosis,
                                     double var_of_trial_sharpes, int n_trials);

struct pbo_result {
  double pbo = 0.0;            // share of logits <= 0
  std::vector<double> logits;  // one per combination, combinations in lexicographic order
  int combinations = 0;        // C(S, S/2)
};

// Probability of backtest overfitting by combinatorially symmetric cross-validation.
// returns_by_config[config][period]: >= 2 configs, all the same length T >= 2 S; n_splits S even,
// 2..24 (C(24, 12) = 2.7 million combinations is the ceiling). Blocks are contiguous, block b =
// periods [b T / S, (b + 1) T / S) (sizes differ by at most 1 when S does not divide T).
// Sharpe = mean / sample stdev per period; a zero stdev gives +inf/0/-inf by the sign of the mean.
// Ties: the best in-sample config is the lowest index; out-of-sample ranks are mid-ranks.
[[nodiscard]] pbo_result probability_of_overfitting(const std::vector<std::vector<double>>& returns_by_config,
                                                    int n_splits);

}  // namespace pt::backtest
