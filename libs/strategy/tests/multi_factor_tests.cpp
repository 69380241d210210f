// multi_factor (seed 003 "Multi-Factor Analysis", "Stop Loss & Take Profit").
#include "helpers.hpp"

#include <catch2/catch.hpp>

namespace pt::strategy::test {

TEST_CASE("multi_factor factor arithmetic by hand", "[multi]") {
  multi_factor_params p;  // seed 003 values
  SECTION("bullish trend, RSI 69, medium volatility, model absent: 30 + 7.6 + 0 + 10 = 47.6 is HOLD") {
    const auto s = score_multi_factor({105, 103, 100, 69, 1.05, std::nullopt}, p);
    CHECK(s.trend == trend_state::bullish);
    CHECK(s.trend_factor == 30);
    CHECK(s.momentum_factor == Approx(7.6));  // (69-50)/50*20
    CHECK(s.model_factor == 0);
    CHECK(s.volatility_factor == 10);  // ATR 1 % of price: medium
    CHECK(s.total == Approx(47.6));
    CHECK_FALSE(s.total > p.buy_threshold);
  }
  SECTION("the same with a model of +0.5: ML 15, total 62.6 is BUY") {
    const auto s = score_multi_factor({105, 103, 100, 69, 1.05, 0.5}, p);
    CHECK(s.model_factor == Approx(15));
    CHECK(s.total == Approx(62.6));
    CHECK(s.total > p.buy_threshold);
  }
  SECTION("bearish, RSI 20, model -0.1, low volatility: -30 - 12 - 3 - 5 = -50 is not below -50") {
    const auto s = score_multi_factor({95, 97, 100, 20, 0.1, -0.1}, p);
    CHECK(s.trend == trend_state::bearish);
    CHECK(s.momentum_factor == Approx(-12));
    CHECK(s.model_factor == Approx(-3));
    CHECK(s.volatility_factor == -5);  // ATR 0.105 % < 0.3 %: low, counted toward the short side
    CHECK(s.total == Approx(-50));
    CHECK_FALSE(s.total < -p.sell_threshold);
  }
  SECTION("high volatility scores 0, a neutral trend 0") {
    const auto s = score_multi_factor({100, 101, 99, 50, 2.0, std::nullopt}, p);
    CHECK(s.trend == trend_state::neutral);
    CHECK(s.trend_factor == 0);
    CHECK(s.momentum_factor == 0);
    CHECK(s.volatility_factor == 0);
    CHECK(s.total == 0);
  }
}

namespace {

// 60 rising 1h bars (close +20 per bar, range 100 at ~20000: ATR 0.5 %, medium): bullish trend,
// RSI 100 -> momentum 20; 30 + 20 + 0 + 10 = 60 > 50.
std::vector<bar> rising_1h(int n) {
  std::vector<bar> out;
  double prev = 19980;
  for (int i = 0; i < n; ++i) {
    const double c = 20000 + 20 * i;
    out.push_back(make_bar(t0() + i * 1h, prev, c + 50, c - 50, c));
    prev = c;
  }
  return out;
}

}  // namespace

TEST_CASE("multi_factor buys with a 2 pct stop and 4 pct take-profit", "[multi]") {
  auto st = make("multi_factor");
  const auto bars = rising_1h(60);
  std::vector<output> last;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    last = st->on_bar(bars[i], timeframe::h1, close_time(bars[i], timeframe::h1));
    if (i < 49) CHECK(last.empty());  // SMA(50) warm-up
  }
  REQUIRE(last.size() == 1);
  const auto& o = last[0];
  CHECK(o.signal.dir == direction::long_);
  CHECK(o.signal.features["factors"]["total"].get<double>() == Approx(60));
  CHECK(o.signal.strength == Approx(0.60));
  CHECK(o.signal.reason.find("Trend=30.0, Momentum=20.0, ML=0.0, Volatility=10.0") != std::string::npos);
  CHECK(o.signal.reason.find("model: absent (neutral 0)") != std::string::npos);
  REQUIRE(o.proposal);
  // close 21180: stop 21180 * 0.98 = 20756.4, take-profit 21180 * 1.04 = 22027.2 (by hand)
  CHECK(o.proposal->entry_price == decimal::parse("21180"));
  CHECK(o.proposal->stop_loss == decimal::parse("20756.4"));
  CHECK(o.proposal->take_profit == decimal::parse("22027.2"));
}

TEST_CASE("multi_factor trails 1 pct once 2 pct in profit", "[multi][exit]") {
  auto st = make("multi_factor");
  const auto bars = rising_1h(60);
  for (const auto& b : bars) (void)st->on_bar(b, timeframe::h1, close_time(b, timeframe::h1));
  const timestamp entry_time = close_time(bars.back(), timeframe::h1);
  st->on_position(position{direction::long_, decimal::parse("20000"), dec(1), entry_time, decimal::parse("20000"), decimal::parse("19600")},
                  entry_time);
  // best 20350 (+1.75 %): nothing; best 20450 (+2.25 %): stop 20450 * 0.99 = 20245.5
  auto b1 = make_bar(entry_time, 20300, 20350, 20250, 20300);
  auto out = st->on_bar(b1, timeframe::h1, close_time(b1, timeframe::h1));
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].exit);
  auto b2 = make_bar(entry_time + 1h, 20300, 20450, 20250, 20400);
  out = st->on_bar(b2, timeframe::h1, close_time(b2, timeframe::h1));
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].exit);
  CHECK(out[0].exit->kind == exit_kind::move_stop);
  CHECK(out[0].exit->new_stop == decimal::parse("20245.5"));
}

TEST_CASE("multi_factor uses a present model and says so", "[multi]") {
  auto st = make("multi_factor");
  const auto bars = rising_1h(60);
  for (std::size_t i = 0; i + 1 < bars.size(); ++i) (void)st->on_bar(bars[i], timeframe::h1, close_time(bars[i], timeframe::h1));
  const timestamp now = close_time(bars.back(), timeframe::h1);
  st->on_model(model_prediction{-1.0, now - 1h});
  auto out = st->on_bar(bars.back(), timeframe::h1, now);
  REQUIRE(out.size() == 1);
  CHECK(out[0].signal.features["factors"]["model"].get<double>() == Approx(-30));
  CHECK(out[0].signal.dir == direction::flat);  // 30 + 20 - 30 + 10 = 30
  CHECK(out[0].signal.reason.find("model: -1.000") != std::string::npos);
}

}  // namespace pt::strategy::test
