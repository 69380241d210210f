// Validation functions against hand computation (written out below), closed forms, published
// values (normal quantiles, the deflated Sharpe example of Bailey & Lopez de Prado 2014) and the
// behaviour PBO must have on noise and on a real edge.
#include "backtest/validation.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

namespace bt = pt::backtest;
using Catch::Detail::Approx;
using pt::core::decimal;

const double ln2 = std::log(2.0);

std::vector<decimal> pnls(const std::vector<const char*>& text) {
  std::vector<decimal> v;
  for (const char* t : text) v.push_back(decimal::parse(t));
  return v;
}

bool same(const bt::mc_result& a, const bt::mc_result& b) { return a.p05 == b.p05 && a.p50 == b.p50 && a.p95 == b.p95; }
bool same(const bt::mc_summary& a, const bt::mc_summary& b) {
  return same(a.total_return, b.total_return) && same(a.max_drawdown, b.max_drawdown) && same(a.sharpe, b.sharpe) &&
         a.ruin_probability == b.ruin_probability;
}

}  // namespace

TEST_CASE("percentile interpolates linearly between closest ranks", "[percentile]") {
  // Sorted 1 2 3 4, h = (n - 1) p = 3 p.
  const std::vector<double> v{4, 1, 3, 2};
  CHECK(bt::percentile(v, 0.05) == Approx(1.15).epsilon(1e-12));  // h 0.15: 1 + 0.15 (2 - 1)
  CHECK(bt::percentile(v, 0.50) == Approx(2.5).epsilon(1e-12));   // h 1.5: 2 + 0.5 (3 - 2)
  CHECK(bt::percentile(v, 0.95) == Approx(3.85).epsilon(1e-12));  // h 2.85: 3 + 0.85 (4 - 3)
  CHECK(bt::percentile(v, 0.0) == 1.0);
  CHECK(bt::percentile(v, 1.0) == 4.0);
  // 10 20 30 40 50 at p 0.3: h = 1.2 -> 20 + 0.2 * 10 = 22.
  CHECK(bt::percentile({50, 40, 30, 20, 10}, 0.3) == Approx(22.0).epsilon(1e-12));
  CHECK(bt::percentile({7}, 0.95) == 7.0);
  CHECK_THROWS_AS(bt::percentile({}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(bt::percentile({1, 2}, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(bt::percentile({1, std::numeric_limits<double>::quiet_NaN()}, 0.5), std::invalid_argument);
}

TEST_CASE("trade bootstrap of equal trades gives one path", "[montecarlo]") {
  // Every draw is +10: 100 -> 110 -> 120 -> 130 -> 140 whatever the order.
  // total return 0.4, no drawdown; returns 10/100 10/110 10/120 10/130 = 0.1 0.0909091
  // 0.0833333 0.0769231: mean 0.0877914, sample sd 0.0099459, sharpe 8.8268622.
  const auto s = bt::monte_carlo_trades(pnls({"10", "10", "10", "10"}), decimal::parse("100"), 200, 1);
  CHECK(s.paths == 200);
  CHECK(s.total_return.p05 == Approx(0.4).epsilon(1e-12));
  CHECK(s.total_return.p50 == Approx(0.4).epsilon(1e-12));
  CHECK(s.total_return.p95 == Approx(0.4).epsilon(1e-12));
  CHECK(s.max_drawdown.p95 == 0.0);
  CHECK(s.sharpe.p05 == Approx(8.82686223177866).epsilon(1e-9));
  CHECK(s.sharpe.p95 == Approx(8.82686223177866).epsilon(1e-9));
  CHECK(s.ruin_probability == 0.0);
}

TEST_CASE("trade bootstrap of plus and minus ten has the four closed form paths", "[montecarlo]") {
  // Trades +10 and -10 from 100, two per path: four equally likely paths.
  //   ++ : 100 110 120, return +0.2, drawdown 0,             returns 0.1  0.0909: sharpe 14.8492424
  //   +- : 100 110 100, return  0,   drawdown 10/110=0.0909, returns 0.1 -0.0909: sharpe  0.0336718
  //   -+ : 100  90 100, return  0,   drawdown 10/100=0.1,    returns -0.1 0.1111: sharpe  0.0372161
  //   -- : 100  90  80, return -0.2, drawdown 20/100=0.2,    returns -0.1 -0.1111: sharpe -13.4350288
  // With 10000 paths each holds ~25% of the mass, so the 5th percentile sits inside the lowest
  // quarter and the 95th inside the highest: exact values. The median of the total return lies
  // in the middle 50% (both 0).
  const auto s = bt::monte_carlo_trades(pnls({"10", "-10"}), decimal::parse("100"), 10000, 7);
  CHECK(s.total_return.p05 == Approx(-0.2).epsilon(1e-12));
  CHECK(s.total_return.p50 == Approx(0.0).margin(1e-12));
  CHECK(s.total_return.p95 == Approx(0.2).epsilon(1e-12));
  CHECK(s.max_drawdown.p05 == 0.0);
  CHECK(s.max_drawdown.p50 >= 10.0 / 110.0 - 1e-12);
  CHECK(s.max_drawdown.p50 <= 0.1 + 1e-12);
  CHECK(s.max_drawdown.p95 == Approx(0.2).epsilon(1e-12));
  CHECK(s.sharpe.p05 == Approx(-13.4350288425444).epsilon(1e-9));
  CHECK(s.sharpe.p95 == Approx(14.8492424049175).epsilon(1e-9));
  CHECK(s.sharpe.p50 >= 0.0336717514850737 - 1e-9);
  CHECK(s.sharpe.p50 <= 0.0372161463782393 + 1e-9);
}

TEST_CASE("trade bootstrap floors a ruined path at zero", "[montecarlo]") {
  // Both trades are -60: 100 -> 40 -> -20, floored at 0: ruin on every path.
  // Returns -60/100 = -0.6 and -1 (the ruin): mean -0.8, sd 0.4 / sqrt(2) = 0.2828427,
  // sharpe -2.8284271.
  const auto s = bt::monte_carlo_trades(pnls({"-60", "-60"}), decimal::parse("100"), 50, 3);
  CHECK(s.ruin_probability == 1.0);
  CHECK(s.total_return.p50 == -1.0);
  CHECK(s.max_drawdown.p05 == Approx(1.0).epsilon(1e-12));
  CHECK(s.sharpe.p50 == Approx(-2.82842712474619).epsilon(1e-9));
}

TEST_CASE("monte carlo is deterministic per seed", "[montecarlo]") {
  const auto p = pnls({"12", "-7", "30", "-15", "5", "-22", "18", "9"});
  const auto a = bt::monte_carlo_trades(p, decimal::parse("1000"), 500, 11);
  const auto b = bt::monte_carlo_trades(p, decimal::parse("1000"), 500, 11);
  const auto c = bt::monte_carlo_trades(p, decimal::parse("1000"), 500, 12);
  CHECK(same(a, b));
  CHECK_FALSE(same(a, c));
  const std::vector<double> r{0.01, -0.02, 0.015, 0.003, -0.007, 0.02};
  const auto x = bt::monte_carlo_returns(r, 500, 0.5, 11);
  const auto y = bt::monte_carlo_returns(r, 500, 0.5, 11);
  const auto z = bt::monte_carlo_returns(r, 500, 0.5, 12);
  CHECK(same(x, y));
  CHECK_FALSE(same(x, z));
}

TEST_CASE("return perturbation with zero noise reproduces the input", "[montecarlo]") {
  // The daily curve of the metrics tests: 0.1 -0.1 0.25 -0.2 0.1 0.05 compounds to 1.14345
  // (+0.14345), the deepest fall is 1.2375 -> 0.99 = 0.2, per-period sharpe
  // 0.0333333 / 0.1602082 = 0.2080626.
  const auto s = bt::monte_carlo_returns({0.1, -0.1, 0.25, -0.2, 0.1, 0.05}, 20, 0.0, 5);
  for (const auto& r : {s.total_return.p05, s.total_return.p50, s.total_return.p95})
    CHECK(r == Approx(0.14345).epsilon(1e-12));
  for (const auto& r : {s.max_drawdown.p05, s.max_drawdown.p95}) CHECK(r == Approx(0.2).epsilon(1e-12));
  for (const auto& r : {s.sharpe.p05, s.sharpe.p95}) CHECK(r == Approx(0.208062594644120).epsilon(1e-9));
}

TEST_CASE("constant returns get no noise and a zero path sharpe", "[montecarlo]") {
  // 0.1 three times: stdev 0, so noise 0.5 * 0 = 0 and every path is the input; its stdev is 0
  // too, which path Sharpe reports as 0. Total return 1.1^3 - 1 = 0.331. (In doubles
  // 0.1 + 0.1 + 0.1 = 0.30000000000000004, so the mean is an ulp off and a naive stdev is
  // ~1e-17: that noise must not leak into the paths or their Sharpe.)
  const auto s = bt::monte_carlo_returns({0.1, 0.1, 0.1}, 100, 0.5, 9);
  CHECK(s.sharpe.p05 == 0.0);
  CHECK(s.sharpe.p95 == 0.0);
  CHECK(s.total_return.p05 == Approx(0.331).epsilon(1e-12));
  CHECK(s.total_return.p95 == Approx(0.331).epsilon(1e-12));
}

TEST_CASE("return perturbation noise has the closed form spread", "[montecarlo]") {
  // Returns 0.001 and -0.001: sample sd s = sqrt((0.001^2 + 0.001^2) / 1) = 0.00141421.
  // With noise_sd_fraction 1 each return gets N(0, s); total return = (1 + r1')(1 + r2') - 1
  // ~ e1 + e2 (the product terms are ~1e-6), normal with sd sqrt(2) s = 0.002. So
  // p95 = 1.6448536 * 0.002 = 0.0032897 and p05 = -0.0032897 (a population sd would give
  // 0.0023262 instead). 20000 paths: the percentile's sampling error is ~1%, tolerance 5%.
  const auto s = bt::monte_carlo_returns({0.001, -0.001}, 20000, 1.0, 2024);
  CHECK(s.total_return.p95 == Approx(0.0032897).epsilon(0.05));
  CHECK(s.total_return.p05 == Approx(-0.0032897).epsilon(0.05));
  CHECK(s.total_return.p50 == Approx(0.0).margin(1e-4));
  CHECK(s.ruin_probability == 0.0);
}

TEST_CASE("monte carlo rejects bad input", "[montecarlo]") {
  const auto one = decimal::parse("1");
  CHECK_THROWS_AS(bt::monte_carlo_trades(pnls({"1"}), one, 10, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_trades(pnls({"1", "2"}), decimal::zero(), 10, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_trades(pnls({"1", "2"}), one, 0, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_returns({0.1}, 10, 0.5, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_returns({0.1, std::numeric_limits<double>::quiet_NaN()}, 10, 0.5, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_returns({0.1, 0.2}, 10, -0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_returns({0.1, 0.2}, 10, std::numeric_limits<double>::quiet_NaN(), 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(bt::monte_carlo_returns({0.1, 0.2}, 0, 0.5, 1), std::invalid_argument);
}

TEST_CASE("normal cdf and quantile match tabulated values", "[dsr]") {
  // Standard normal tables (Abramowitz & Stegun 26.2).
  CHECK(bt::normal_cdf(1.0) == Approx(0.8413447461).epsilon(1e-10));
  CHECK(bt::normal_cdf(0.0) == 0.5);
  CHECK(bt::normal_cdf(-1.959963984540054) == Approx(0.025).epsilon(1e-12));
  CHECK(bt::normal_quantile(0.975) == Approx(1.959963985).epsilon(1e-9));
  CHECK(bt::normal_quantile(0.5) == Approx(0.0).margin(1e-15));
  CHECK(bt::normal_quantile(0.9) == Approx(1.2815515655).epsilon(1e-9));
  // Tails (Acklam's outer region): 0.02 and 1e-10.
  CHECK(bt::normal_quantile(0.02) == Approx(-2.0537489106).epsilon(1e-9));
  CHECK(bt::normal_quantile(0.001) == Approx(-3.0902323062).epsilon(1e-9));
  CHECK(bt::normal_quantile(1e-10) == Approx(-6.3613409024).epsilon(1e-9));
  CHECK(bt::normal_quantile(0.999) == Approx(3.0902323062).epsilon(1e-9));
  for (double p : {1e-6, 0.01, 0.3, 0.7, 0.99}) CHECK(bt::normal_cdf(bt::normal_quantile(p)) == Approx(p).epsilon(1e-12));
  CHECK_THROWS_AS(bt::normal_quantile(0.0), std::invalid_argument);
  CHECK_THROWS_AS(bt::normal_quantile(1.0), std::invalid_argument);
}

TEST_CASE("probabilistic sharpe by hand", "[dsr]") {
  // sr 0.1 vs 0, 101 returns, normal (skew 0, kurtosis 3):
  //   z = 0.1 * sqrt(100) / sqrt(1 - 0 + (3 - 1) / 4 * 0.01) = 1 / sqrt(1.005) = 0.9975093
  //   Phi(0.9975093) = 0.8407413
  CHECK(bt::probabilistic_sharpe(0.1, 0.0, 101, 0.0, 3.0) == Approx(0.840741327801352).epsilon(1e-9));
  // sr 0.1 vs 0.05, 101 returns, skew -1, kurtosis 6:
  //   1 - (-1)(0.1) + (6 - 1) / 4 * 0.01 = 1 + 0.1 + 0.0125 = 1.1125
  //   z = 0.05 * 10 / sqrt(1.1125) = 0.5 / 1.0547512 = 0.4740455; Phi(z) = 0.6822663
  CHECK(bt::probabilistic_sharpe(0.1, 0.05, 101, -1.0, 6.0) == Approx(0.682266256164425).epsilon(1e-9));
  // At the benchmark the probability is exactly one half.
  CHECK(bt::probabilistic_sharpe(0.2, 0.2, 50, 0.3, 4.0) == Approx(0.5).epsilon(1e-15));
  CHECK_THROWS_AS(bt::probabilistic_sharpe(0.1, 0.0, 1, 0.0, 3.0), std::invalid_argument);
  CHECK_THROWS_AS(bt::probabilistic_sharpe(std::numeric_limits<double>::quiet_NaN(), 0.0, 10, 0.0, 3.0),
                  std::invalid_argument);
  // 1 - 5 * 1 + (3 - 1) / 4 * 1 = -3.5 < 0: no such distribution.
  CHECK_THROWS_AS(bt::probabilistic_sharpe(1.0, 0.0, 10, 5.0, 3.0), std::invalid_argument);
}

TEST_CASE("deflated sharpe reproduces the example of Bailey and Lopez de Prado", "[dsr]") {
  // The paper's numerical example: annualised SR 2.5 over T = 1250 daily returns, N = 100 trials
  // whose annualised Sharpe ratios have variance 0.5, skew -3, kurtosis 10; published DSR 0.9004.
  // Per period (250 days a year):
  //   sr = 2.5 / sqrt(250) = 0.1581139,  V = 0.5 / 250 = 0.002,  sqrt(V) = 0.0447214
  //   Phi^-1(1 - 1/100) = Phi^-1(0.99) = 2.3263479
  //   Phi^-1(1 - 1/(100 e)) = Phi^-1(0.9963212) = 2.6802104
  //   sr* = 0.0447214 * ((1 - 0.5772157) * 2.3263479 + 0.5772157 * 2.6802104)
  //       = 0.0447214 * (0.9835434 + 1.5470594) = 0.0447214 * 2.5306028 = 0.1131720
  //   1 - skew sr + (kurt - 1)/4 sr^2 = 1 + 3 * 0.1581139 + 9/4 * 0.025 = 1.5305916
  //   z = (0.1581139 - 0.1131720) * sqrt(1249) / sqrt(1.5305916)
  //     = 0.0449419 * 35.3411941 / 1.2371708 = 1.2838160
  //   DSR = Phi(1.2838160) = 0.9003968
  const double sr = 2.5 / std::sqrt(250.0), v = 0.5 / 250.0;
  CHECK(bt::expected_max_sharpe(v, 100) == Approx(0.113172001865132).epsilon(1e-9));
  CHECK(bt::deflated_sharpe(sr, 1250, -3.0, 10.0, v, 100) == Approx(0.900396834449391).epsilon(1e-9));
  // No dispersion among trials: nothing to deflate, DSR = PSR against 0.
  CHECK(bt::expected_max_sharpe(0.0, 10) == 0.0);
  CHECK(bt::deflated_sharpe(0.1, 101, 0.0, 3.0, 0.0, 10) == Approx(0.840741327801352).epsilon(1e-9));
  CHECK_THROWS_AS(bt::expected_max_sharpe(0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(bt::expected_max_sharpe(-0.1, 10), std::invalid_argument);
}

TEST_CASE("pbo of two crossing configs is one by hand", "[pbo]") {
  // T = 4, S = 2: block 0 = periods 0 1, block 1 = periods 2 3; C(2, 1) = 2 combinations.
  //   A: 0.02 0.04 | -0.02 0.00   block sharpe: mean 0.03 / sd 0.0141421 = 2.1213 | -0.7071
  //   B: 0.01 0.03 |  0.00 0.02                 0.02 / 0.0141421 = 1.4142 |  0.7071
  // IS = block 0: best A (2.12); OOS block 1: A -0.71 < B 0.71 -> rank 1 of 2, w = 1/3,
  //   logit = ln(0.5) = -ln 2.
  // IS = block 1: best B (0.71); OOS block 0: B 1.41 < A 2.12 -> rank 1, logit -ln 2.
  // Both <= 0: PBO = 1.
  const auto r = bt::probability_of_overfitting({{0.02, 0.04, -0.02, 0.00}, {0.01, 0.03, 0.00, 0.02}}, 2);
  CHECK(r.combinations == 2);
  REQUIRE(r.logits.size() == 2);
  CHECK(r.logits[0] == Approx(-ln2).epsilon(1e-12));
  CHECK(r.logits[1] == Approx(-ln2).epsilon(1e-12));
  CHECK(r.pbo == 1.0);
}

TEST_CASE("pbo of a dominating config is zero by hand", "[pbo]") {
  //   A: 0.02 0.04 | -0.02  0.00   sharpe 2.1213 | -0.7071
  //   C: 0.00 0.02 | -0.03 -0.01          0.7071 | -1.4142
  // A is best in both blocks: chosen in-sample and best out-of-sample every time: rank 2 of 2,
  // w = 2/3, logit = ln 2 > 0 twice, PBO = 0.
  const auto r = bt::probability_of_overfitting({{0.02, 0.04, -0.02, 0.00}, {0.00, 0.02, -0.03, -0.01}}, 2);
  REQUIRE(r.logits.size() == 2);
  CHECK(r.logits[0] == Approx(ln2).epsilon(1e-12));
  CHECK(r.logits[1] == Approx(ln2).epsilon(1e-12));
  CHECK(r.pbo == 0.0);
}

TEST_CASE("pbo ties take the first config and the mid rank", "[pbo]") {
  // Two identical configs: in-sample tie -> config 0; out-of-sample tie -> mid-rank 1.5 of 2,
  // w = 1.5 / 3 = 0.5, logit 0, which counts as overfit (<= 0): PBO = 1.
  const std::vector<double> a{0.01, -0.02, 0.03, 0.0, 0.02, -0.01};
  const auto r = bt::probability_of_overfitting({a, a}, 2);
  REQUIRE(r.logits.size() == 2);
  CHECK(r.logits[0] == Approx(0.0).margin(1e-15));
  CHECK(r.pbo == 1.0);
}

TEST_CASE("pbo of pure noise configs is near one half", "[pbo]") {
  // 20 configs of iid N(0, 0.01) returns, T = 1000, S = 8: no config has skill, so the in-sample
  // winner is a random draw out-of-sample and PBO should be about 0.5.
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<std::vector<double>> configs(20, std::vector<double>(1000));
  for (auto& c : configs)
    for (auto& x : c) x = noise(rng);
  const auto r = bt::probability_of_overfitting(configs, 8);
  CHECK(r.combinations == 70);  // C(8, 4)
  CHECK(r.logits.size() == 70);
  CHECK(r.pbo >= 0.25);
  CHECK(r.pbo <= 0.75);
}

TEST_CASE("pbo of one config with a real edge is near zero", "[pbo]") {
  // Config 0 earns 0.05 + N(0, 0.01) every period (per-period sharpe ~5), the other 19 are
  // N(0, 0.01) noise: config 0 wins in-sample and out-of-sample in every combination, so
  // rank 20 of 20, w = 20/21, logit = ln 20 each time and PBO = 0.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<std::vector<double>> configs(20, std::vector<double>(1000));
  for (std::size_t c = 0; c < configs.size(); ++c)
    for (auto& x : configs[c]) x = (c == 0 ? 0.05 : 0.0) + noise(rng);
  const auto r = bt::probability_of_overfitting(configs, 8);
  CHECK(r.pbo < 0.1);
  for (double l : r.logits) CHECK(l == Approx(std::log(20.0)).epsilon(1e-12));
}

TEST_CASE("pbo rejects bad input", "[pbo]") {
  const std::vector<double> a(16, 0.01), b(16, 0.02), short_one(15, 0.0);
  CHECK_THROWS_AS(bt::probability_of_overfitting({a}, 2), std::invalid_argument);          // 1 config
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, b}, 3), std::invalid_argument);       // S odd
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, b}, 0), std::invalid_argument);       // S < 2
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, b}, 26), std::invalid_argument);      // S > 24
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, short_one}, 2), std::invalid_argument);  // lengths
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, b}, 10), std::invalid_argument);      // T < 2 S
  auto bad = b;
  bad[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(bt::probability_of_overfitting({a, bad}, 2), std::invalid_argument);
}
