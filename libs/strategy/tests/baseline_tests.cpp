// Baselines: mean reversion, breakout, funding bias on constructed series.
#include "helpers.hpp"

#include <catch2/catch.hpp>

namespace pt::strategy::test {

namespace {

// Closes alternating 100 / 101 (i even: 100), range +-0.5 around open/close.
std::vector<bar> alternating(int n, timeframe tf) {
  std::vector<bar> out;
  double prev = 101;
  for (int i = 0; i < n; ++i) {
    const double c = i % 2 == 0 ? 100 : 101;
    out.push_back(make_bar(t0() + i * duration(tf), prev, std::max(prev, c) + 0.5, std::min(prev, c) - 0.5, c));
    prev = c;
  }
  return out;
}

std::vector<output> feed(strategy& st, const std::vector<bar>& bars, timeframe tf) {
  std::vector<output> last;
  for (const auto& b : bars) last = st.on_bar(b, tf, close_time(b, tf));
  return last;
}

}  // namespace

TEST_CASE("mean_reversion buys a 2.4 sigma drop with the mean as target", "[baseline]") {
  auto st = make("mean_reversion");
  auto bars = alternating(39, timeframe::h1);  // last close (i=38) is 100
  CHECK(feed(*st, bars, timeframe::h1).at(0).signal.dir == direction::flat);
  bars.push_back(make_bar(bars.back().open_time + 1h, 100, 100.5, 98.5, 99));
  const auto out = feed(*st, {bars.back()}, timeframe::h1);
  REQUIRE(out.size() == 1);
  // Window: ten 100s, nine 101s, 99: mean 100.4, population variance 6.8/20 = 0.34 (by hand).
  const double mean = 100.4, sd = std::sqrt(0.34), z = (99 - mean) / sd;
  CHECK(out[0].signal.features["z"].get<double>() == Approx(z));
  CHECK(out[0].signal.dir == direction::long_);
  REQUIRE(out[0].proposal);
  CHECK(out[0].proposal->take_profit->to_double() == Approx(mean).epsilon(1e-9));
  CHECK(out[0].proposal->stop_loss.to_double() == Approx(mean - 3 * sd).epsilon(1e-9));

  // In the position, a close back at the mean exits.
  const timestamp et = close_time(bars.back(), timeframe::h1);
  st->on_position(position{direction::long_, dec(99), dec(1), et, dec(99), out[0].proposal->stop_loss}, et);
  const auto back = feed(*st, {make_bar(et, 99, 101.5, 99, 101)}, timeframe::h1);
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].exit);
  CHECK(back[0].exit->kind == exit_kind::close);
  CHECK(back[0].exit->reason == exit_reason::signal_exit);
}

TEST_CASE("mean_reversion shorts a spike", "[baseline]") {
  auto st = make("mean_reversion");
  auto bars = alternating(40, timeframe::h1);  // last close (i=39) is 101
  (void)feed(*st, bars, timeframe::h1);
  const auto out = feed(*st, {make_bar(bars.back().open_time + 1h, 101, 102.5, 100.5, 102)}, timeframe::h1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].signal.dir == direction::short_);
  REQUIRE(out[0].proposal);
  CHECK(out[0].proposal->s == side::sell);
}

TEST_CASE("breakout buys above the 20-bar high with a 2 ATR stop", "[baseline]") {
  auto st = make("breakout");
  auto bars = alternating(30, timeframe::h4);  // highs at most 101.5
  CHECK(feed(*st, bars, timeframe::h4).at(0).signal.dir == direction::flat);
  bars.push_back(make_bar(bars.back().open_time + 4h, 101, 103.5, 100.5, 103));
  const auto out = feed(*st, {bars.back()}, timeframe::h4);
  REQUIRE(out.size() == 1);
  CHECK(out[0].signal.dir == direction::long_);
  REQUIRE(out[0].proposal);
  CHECK(out[0].proposal->stop_loss.to_double() == Approx(103 - 2 * naive_atr(bars, 14)).epsilon(1e-9));
  CHECK_FALSE(out[0].proposal->take_profit);  // take_profit_atr 0: none
}

TEST_CASE("breakout sells below the 20-bar low and exits on the 10-bar channel", "[baseline]") {
  auto st = make("breakout");
  auto bars = alternating(30, timeframe::h4);  // lows at least 99.5
  (void)feed(*st, bars, timeframe::h4);
  bars.push_back(make_bar(bars.back().open_time + 4h, 100, 100.5, 97.5, 98));
  auto out = feed(*st, {bars.back()}, timeframe::h4);
  REQUIRE(out.size() == 1);
  CHECK(out[0].signal.dir == direction::short_);
  REQUIRE(out[0].proposal);
  const timestamp et = close_time(bars.back(), timeframe::h4);
  st->on_position(position{direction::short_, dec(98), dec(1), et, dec(98), out[0].proposal->stop_loss}, et);
  // Close above the previous 10 bars' high (101.5) exits the short.
  out = feed(*st, {make_bar(et, 98, 102.5, 98, 102)}, timeframe::h4);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].exit);
  CHECK(out[0].exit->reason == exit_reason::signal_exit);
}

TEST_CASE("funding_bias leans against extreme funding once per print", "[baseline]") {
  auto st = make("funding_bias");
  auto bars = alternating(20, timeframe::h1);
  (void)feed(*st, bars, timeframe::h1);
  timestamp next = bars.back().open_time + 1h;
  SECTION("positive extreme: short") {
    st->on_funding(0.001, next);  // at the coming bar's open, before its close
    auto out = feed(*st, {make_bar(next, 100, 101, 99.5, 100.5)}, timeframe::h1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].signal.dir == direction::short_);
    REQUIRE(out[0].proposal);
    CHECK(out[0].proposal->s == side::sell);
    CHECK(out[0].signal.reason.find("funding: +0.001000") != std::string::npos);
    // Same print next bar: still short, no second proposal.
    out = feed(*st, {make_bar(next + 1h, 100.5, 101, 100, 100.5)}, timeframe::h1);
    CHECK(out.at(0).signal.dir == direction::short_);
    CHECK_FALSE(out.at(0).proposal);
  }
  SECTION("negative extreme: long, and a normal print exits") {
    st->on_funding(-0.0008, next);
    auto out = feed(*st, {make_bar(next, 100, 101, 99.5, 100.5)}, timeframe::h1);
    REQUIRE(out.at(0).proposal);
    CHECK(out.at(0).proposal->s == side::buy);
    const timestamp et = close_time(make_bar(next, 100, 101, 99.5, 100.5), timeframe::h1);
    st->on_position(position{direction::long_, dec(100.5), dec(1), et, dec(100.5), std::nullopt}, et);
    st->on_funding(0.0001, et);
    out = feed(*st, {make_bar(et, 100.5, 101, 100, 100.5)}, timeframe::h1);
    REQUIRE(out.at(0).exit);
    CHECK(out.at(0).exit->kind == exit_kind::close);
  }
  SECTION("a print stamped after the bar's close is not used (no look-ahead)") {
    st->on_funding(0.001, next + 2h);
    const auto out = feed(*st, {make_bar(next, 100, 101, 99.5, 100.5)}, timeframe::h1);
    CHECK(out.at(0).signal.dir == direction::flat);
    CHECK(out.at(0).signal.reason.find("funding: absent (neutral)") != std::string::npos);
  }
}

TEST_CASE("news HIGH blocks entries and absent news does not", "[baseline]") {
  auto st = make("breakout");
  auto bars = alternating(30, timeframe::h4);
  (void)feed(*st, bars, timeframe::h4);
  const bar b = make_bar(bars.back().open_time + 4h, 101, 103.5, 100.5, 103);
  st->on_news(news_risk{news_level::high, close_time(b, timeframe::h4) - 1h});
  const auto out = feed(*st, {b}, timeframe::h4);
  CHECK(out.at(0).signal.dir == direction::flat);
  CHECK_FALSE(out.at(0).proposal);
  CHECK(out.at(0).signal.reason.find("news: HIGH") != std::string::npos);
  // Decay: HIGH -> MEDIUM after 12 h -> LOW 6 h later (seed 004 section 8).
  const news_risk n{news_level::high, t0()};
  CHECK(effective_level(n, t0() + 11h) == news_level::high);
  CHECK(effective_level(n, t0() + 12h) == news_level::medium);
  CHECK(effective_level(n, t0() + 18h) == news_level::low);
}

}  // namespace pt::strategy::test
