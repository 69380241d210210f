// Tiny cases computed by hand (the arithmetic is in the comments), the documented edge cases
// (flat input, zero range) and bad input.
#include "indicators/indicators.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace {

namespace ind = pt::indicators;
using Catch::Detail::Approx;

template <class Ind>
std::vector<std::optional<double>> feed(Ind& x, const std::vector<double>& v) {
  std::vector<std::optional<double>> out;
  for (double d : v) out.push_back(x.update(d));
  return out;
}

const double not_a_number = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("sma(3) of 1..5 is empty, empty, 2, 3, 4", "[hand]") {
  ind::sma x(3);
  const auto o = feed(x, {1, 2, 3, 4, 5});
  CHECK_FALSE(o[0]);
  CHECK_FALSE(o[1]);
  CHECK(*o[2] == 2.0);
  CHECK(*o[3] == 3.0);
  CHECK(*o[4] == 4.0);
  CHECK(x.ready());
  CHECK(x.period() == 3);
  CHECK(x.lookback() == 2);
}

TEST_CASE("ema(3) is seeded with the SMA of the first 3 values, k = 0.5", "[hand]") {
  ind::ema x(3);
  CHECK(x.k() == 0.5);
  const auto o = feed(x, {2, 4, 6, 20, 0});
  CHECK_FALSE(o[0]);
  CHECK_FALSE(o[1]);
  CHECK(*o[2] == 4.0);   // (2+4+6)/3; seeding with the first value would give 4.5
  CHECK(*o[3] == 12.0);  // 4 + 0.5*(20-4)
  CHECK(*o[4] == 6.0);   // 12 + 0.5*(0-12)
}

TEST_CASE("rsi: all gains 100, all losses 0, flat 0 (TA-Lib), mixed by hand", "[hand]") {
  ind::rsi up(3), down(3), flat(3), mixed(3);
  const auto u = feed(up, {1, 2, 3, 4, 5});
  CHECK_FALSE(u[2]);
  CHECK(*u[3] == 100.0);
  CHECK(*u[4] == 100.0);
  CHECK(*feed(down, {5, 4, 3, 2}).back() == 0.0);
  CHECK(*feed(flat, {7, 7, 7, 7, 7}).back() == 0.0);  // TA-Lib gives 0 when gain+loss == 0
  // changes +1 -1 +2: gain 3/3 = 1, loss 1/3 -> 100 * 1/(4/3) = 75
  // then -1: gain (1*2+0)/3 = 2/3, loss (1/3*2+1)/3 = 5/9 -> 100 * (2/3)/(11/9) = 600/11
  const auto m = feed(mixed, {10, 11, 10, 12, 11});
  CHECK(*m[3] == Approx(75.0).epsilon(1e-12));
  CHECK(*m[4] == Approx(600.0 / 11.0).epsilon(1e-12));
}

TEST_CASE("atr: constant bars give the range, Wilder smoothing by hand", "[hand]") {
  ind::atr c(3);
  std::optional<double> last;
  for (int i = 0; i < 6; ++i) {
    last = c.update(11, 9, 10);
    if (i < 3) CHECK_FALSE(last);
  }
  CHECK(*last == 2.0);

  ind::atr x(2);
  CHECK_FALSE(x.update(10, 8, 9));        // no previous close: no true range yet
  CHECK_FALSE(x.update(12, 9, 11));       // TR = max(3, |12-9|, |9-9|) = 3
  CHECK(*x.update(11, 10, 10.5) == 2.0);  // TR = max(1, 0, |10-11|) = 1; (3+1)/2
  CHECK(*x.update(15, 12, 14) == 3.25);   // TR = max(3, |15-10.5|, 1.5) = 4.5; (2*1+4.5)/2
}

TEST_CASE("macd(2,3,2): fast EMA aligned to the slow one, by hand", "[hand]") {
  ind::macd x(2, 3, 2);
  CHECK(x.lookback() == 3);
  const std::vector<double> in{1, 2, 4, 8, 16};
  std::vector<std::optional<ind::macd_value>> o;
  for (double d : in) o.push_back(x.update(d));
  CHECK_FALSE(o[2]);
  // slow(3), k 1/2: seed (1+2+4)/3 = 7/3; 31/6; 127/12
  // fast(2), k 2/3: seed (2+4)/2 = 3 at bar 2 (not (1+2)/2 at bar 1); 19/3; 115/9
  // macd: 2/3, 7/6, 79/36; signal(2): seed (2/3+7/6)/2 = 11/12, then 191/108
  REQUIRE(o[3]);
  CHECK(o[3]->macd == Approx(7.0 / 6.0).epsilon(1e-12));
  CHECK(o[3]->signal == Approx(11.0 / 12.0).epsilon(1e-12));
  CHECK(o[3]->hist == Approx(0.25).epsilon(1e-12));
  REQUIRE(o[4]);
  CHECK(o[4]->macd == Approx(79.0 / 36.0).epsilon(1e-12));
  CHECK(o[4]->signal == Approx(191.0 / 108.0).epsilon(1e-12));
  CHECK(o[4]->hist == Approx(23.0 / 54.0).epsilon(1e-12));
  CHECK(x.fast_period() == 2);
  CHECK(x.slow_period() == 3);
  CHECK(x.signal_period() == 2);
}

TEST_CASE("bollinger(3, 2) uses the population stddev", "[hand]") {
  ind::bollinger x(3, 2.0);
  x.update(1);
  x.update(2);
  const auto v = x.update(3);
  REQUIRE(v);
  const double sd = std::sqrt(2.0 / 3.0);  // ((1-2)^2 + 0 + (3-2)^2) / 3
  CHECK(v->middle == Approx(2.0));
  CHECK(v->upper == Approx(2.0 + 2.0 * sd).epsilon(1e-12));
  CHECK(v->lower == Approx(2.0 - 2.0 * sd).epsilon(1e-12));
  ind::bollinger flat(3, 2.0);
  std::optional<ind::bands_value> f;
  for (int i = 0; i < 5; ++i) f = flat.update(50000.25);
  CHECK(f->upper == 50000.25);
  CHECK(f->lower == 50000.25);
}

TEST_CASE("adx(2) by hand: DIs from bar 2, ADX from bar 3", "[hand]") {
  ind::adx x(2);
  CHECK(x.lookback() == 3);
  CHECK(x.di_lookback() == 2);
  CHECK_FALSE(x.update(10, 8, 9));
  CHECK_FALSE(x.update(12, 9, 11));  // +DM 2, TR 3 (plain sums)
  CHECK_FALSE(x.plus_di());
  CHECK_FALSE(x.update(13, 10, 12));  // +DM 2-1+1 = 2, TR 3-1.5+3 = 4.5: +DI 44.4, -DI 0, DX 100
  CHECK(*x.plus_di() == Approx(200.0 / 4.5).epsilon(1e-12));
  CHECK(*x.minus_di() == 0.0);
  // -DM 3; +DM 1; TR 4.5-2.25+5 = 7.25: DX = 100*(2/7.25)/(4/7.25) = 50; ADX (100+50)/2
  auto v = x.update(12, 7, 8);
  REQUIRE(v);
  CHECK(v->adx == Approx(75.0).epsilon(1e-12));
  CHECK(v->plus_di == Approx(100.0 / 7.25).epsilon(1e-12));
  CHECK(v->minus_di == Approx(300.0 / 7.25).epsilon(1e-12));
  // -DM 3-1.5+1 = 2.5; +DM 0.5; TR 7.25-3.625+3 = 6.625: DX = 100*2/3; ADX (75 + 66.67)/2
  v = x.update(9, 6, 7);
  REQUIRE(v);
  CHECK(v->adx == Approx((75.0 + 200.0 / 3.0) / 2.0).epsilon(1e-12));
}

TEST_CASE("donchian(3) includes the current bar and the deque evicts old extremes", "[hand]") {
  ind::donchian x(3);
  const std::vector<double> hi{1, 5, 2, 3, 4}, lo{0, 4, 1, 2, 3};
  std::vector<std::optional<ind::bands_value>> o;
  for (std::size_t i = 0; i < hi.size(); ++i) o.push_back(x.update(hi[i], lo[i]));
  CHECK_FALSE(o[1]);
  CHECK(o[2]->upper == 5.0);
  CHECK(o[2]->lower == 0.0);
  CHECK(o[3]->upper == 5.0);
  CHECK(o[3]->lower == 1.0);
  CHECK(o[4]->upper == 4.0);  // the 5 left the window
  CHECK(o[4]->lower == 1.0);
  CHECK(o[4]->middle == 2.5);
  ind::donchian d(3);
  std::optional<ind::bands_value> v;
  for (double h : {9.0, 8.0, 7.0, 6.0, 5.0}) v = d.update(h, h - 1);
  CHECK(v->upper == 7.0);
  CHECK(v->lower == 4.0);
}

TEST_CASE("realized vol: two returns by hand, sample vs population, annualised", "[hand]") {
  const double r1 = std::log(1.1), r2 = std::log(0.9);
  ind::realized_vol pop(2, 1.0, ind::stddev_kind::population);
  ind::realized_vol smp(2, 4.0, ind::stddev_kind::sample);
  CHECK(pop.lookback() == 2);
  CHECK_FALSE(pop.update(100));
  CHECK_FALSE(pop.update(110));
  CHECK(*pop.update(99) == Approx(std::fabs(r1 - r2) / 2.0).epsilon(1e-12));
  smp.update(100);
  smp.update(110);
  // sample sd of two values = |a-b|/sqrt(2); times sqrt(4)
  CHECK(*smp.update(99) == Approx(2.0 * std::fabs(r1 - r2) / std::sqrt(2.0)).epsilon(1e-12));
  ind::realized_vol flat(3);
  std::optional<double> f;
  for (double c : {100.0, 100.0, 100.0, 100.0, 100.0}) f = flat.update(c);
  CHECK(*f == 0.0);
}

TEST_CASE("zscore(3) of 1, 2, 6 by hand and a flat window gives 0", "[hand]") {
  ind::zscore x(3);
  x.update(1);
  x.update(2);
  // mean 3, population variance (4+1+9)/3
  CHECK(*x.update(6) == Approx(3.0 / std::sqrt(14.0 / 3.0)).epsilon(1e-12));
  ind::zscore flat(3);
  std::optional<double> f;
  for (int i = 0; i < 4; ++i) f = flat.update(3.5);
  CHECK(*f == 0.0);
}

TEST_CASE("bad parameters and inputs throw indicator_error and leave the state as it was",
          "[bad]") {
  CHECK_THROWS_AS(ind::sma(0), ind::indicator_error);
  CHECK_THROWS_AS(ind::ema(0), ind::indicator_error);
  CHECK_THROWS_AS(ind::rsi(1), ind::indicator_error);
  CHECK_THROWS_AS(ind::atr(0), ind::indicator_error);
  CHECK_THROWS_AS(ind::macd(26, 12, 9), ind::indicator_error);
  CHECK_THROWS_AS(ind::macd(12, 26, 0), ind::indicator_error);
  CHECK_THROWS_AS(ind::bollinger(20, -1.0), ind::indicator_error);
  CHECK_THROWS_AS(ind::adx(1), ind::indicator_error);
  CHECK_THROWS_AS(ind::donchian(0), ind::indicator_error);
  CHECK_THROWS_AS(ind::realized_vol(1), ind::indicator_error);
  CHECK_THROWS_AS(ind::realized_vol(10, 0.0), ind::indicator_error);
  CHECK_THROWS_AS(ind::zscore(1), ind::indicator_error);

  ind::sma s(2);
  s.update(1);
  CHECK_THROWS_AS(s.update(not_a_number), ind::indicator_error);
  CHECK(*s.update(3) == 2.0);  // the NaN did not enter the window
  ind::atr a(2);
  CHECK_THROWS_AS(a.update(1, not_a_number, 1), ind::indicator_error);
  ind::realized_vol rv(2);
  CHECK_THROWS_AS(rv.update(0.0), ind::indicator_error);
  CHECK_THROWS_AS(rv.update(-5.0), ind::indicator_error);
  CHECK_THROWS_AS(ind::ema(3).update(std::numeric_limits<double>::infinity()),
                  ind::indicator_error);
}
