// VaR against an independent computation: Python 3.11's standard library (statistics), not
// our code. The script, run once (python3 var_ref.py):
//
//   import statistics, math
//   R = [[0.010,-0.020,0.005],[-0.030,0.010,-0.012],[0.004,0.006,0.020],[-0.015,-0.025,0.001],
//        [0.022,0.015,-0.008],[-0.007,0.003,0.013],[0.012,-0.011,-0.021],[-0.041,-0.032,0.017],
//        [0.009,0.021,0.002],[0.000,-0.004,-0.006],[0.018,0.007,0.011],[-0.011,0.019,-0.030]]
//   E = [1000, -500, 250]
//   loss = [-sum(e*r for e,r in zip(E,row)) for row in R]
//   q = statistics.quantiles(loss, n=100, method='inclusive')
//   print("hist99 %.12f" % q[98]); print("hist95 %.12f" % q[94])
//   cols = list(zip(*R))
//   var = sum(E[i]*E[j]*statistics.covariance(cols[i],cols[j]) for i in range(3) for j in range(3))
//   print("param99 %.12f" % (2.326347874*math.sqrt(var)))
//
// Output: hist99 36.900000000000, hist95 32.500000000000, param99 42.836555130693.
// By hand for the historical one: sorted losses -21.25 -17.25 -12.5 -12.25 -6 -0.5 1 2.25 5.25
// 20.75 28 38; h = 11 x 0.99 = 10.89; 28 + 0.89 x (38 - 28) = 36.9.
#include "risk/var.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using pt::core::decimal;
using namespace pt::risk;

namespace {
decimal d(const char* s) { return decimal::parse(s); }

const std::vector<std::vector<double>> R = {
    {0.010, -0.020, 0.005},  {-0.030, 0.010, -0.012}, {0.004, 0.006, 0.020},  {-0.015, -0.025, 0.001},
    {0.022, 0.015, -0.008},  {-0.007, 0.003, 0.013},  {0.012, -0.011, -0.021}, {-0.041, -0.032, 0.017},
    {0.009, 0.021, 0.002},   {0.000, -0.004, -0.006}, {0.018, 0.007, 0.011},  {-0.011, 0.019, -0.030}};
const std::vector<decimal> E = {d("1000"), d("-500"), d("250")};

// Our results round up to 9 digits after double arithmetic: allow 1e-8.
bool near(decimal got, const char* want) {
  return std::abs(got.to_double() - decimal::parse(want).to_double()) <= 1e-8;
}
}  // namespace

TEST_CASE("historical VaR matches Python statistics quantiles inclusive", "[var]") {
  const auto v99 = historical_var(R, E);
  CAPTURE(v99.to_string());
  CHECK(near(v99, "36.9"));
  CHECK(near(historical_var(R, E, 0.95), "32.5"));
}

TEST_CASE("parametric VaR matches Python statistics covariance", "[var]") {
  const auto v = parametric_var(R, E);
  CAPTURE(v.to_string());
  CHECK(near(v, "42.836555131"));
}

TEST_CASE("parametric VaR of one symbol by hand", "[var]") {
  // returns 0.01, -0.01, 0.03, -0.03: mean 0, sample variance (1+1+9+9)e-4 / 3 = 20e-4 / 3;
  // sd = 0.0258198889747; x 1000 x 2.326347874 = 60.066043...
  // (2.326347874 x 1000 x sqrt(0.002 / 3) = 60.066043823 by bc -l.)
  const std::vector<std::vector<double>> r = {{0.01}, {-0.01}, {0.03}, {-0.03}};
  CHECK(near(parametric_var(r, {d("1000")}), "60.066043823"));
  // A short has the same parametric VaR.
  CHECK(near(parametric_var(r, {d("-1000")}), "60.066043823"));
  // Historical, long 1000: losses -30 -10 10 30 sorted; h = 3 x 0.99 = 2.97 -> 10 + 0.97 x 20 = 29.4.
  CHECK(near(historical_var(r, {d("1000")}), "29.4"));
}

TEST_CASE("VaR is floored at zero and bad input throws", "[var]") {
  const std::vector<std::vector<double>> up = {{0.01}, {0.02}, {0.03}};
  CHECK(historical_var(up, {d("100")}) == decimal::zero());
  CHECK_THROWS_AS(historical_var({{0.01}}, {d("1")}), var_error);
  CHECK_THROWS_AS(historical_var({{0.01}, {0.02, 0.03}}, {d("1")}), var_error);
  CHECK_THROWS_AS(historical_var(up, {}), var_error);
  CHECK_THROWS_AS(historical_var(up, {d("1")}, 1.0), var_error);
  CHECK_THROWS_AS(parametric_var({{0.01}, {std::numeric_limits<double>::quiet_NaN()}}, {d("1")}), var_error);
}

TEST_CASE("drawdown by hand", "[var]") {
  CHECK(current_drawdown(d("1000"), d("900")) == d("0.1"));
  CHECK(current_drawdown(d("1000"), d("1100")) == d("0"));
  CHECK(current_drawdown(d("3"), d("2")) == d("0.333333334"));  // 1/3 rounded up
  CHECK_THROWS_AS(current_drawdown(d("0"), d("1")), var_error);
  // Peaks 100 then 120; troughs 90 (10 %) and 96 (20 %).
  CHECK(max_drawdown({d("100"), d("90"), d("120"), d("96"), d("110")}) == d("0.2"));
}
