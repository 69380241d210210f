// trend_following (seed 004 section 7) on hand-built series. The 4h series rises 10 per bar with
// a +-50 range (ATR 100, 4h EMA21 lagging ~100 below the close, so no bar touches it) until a
// constructed pullback or breakout bar; the daily series rises 100 per day (UPTREND). The short
// cases are the same series mirrored around 40000.
#include "helpers.hpp"

#include <catch2/catch.hpp>

namespace pt::strategy::test {

namespace {

constexpr double mirror_k = 40000;

struct scenario {
  std::vector<bar> daily, h4;
  timestamp h4_start;
};

// 30 rising days, then 30 steady 4h bars, then `last` (the constructed entry bar) at index 30.
scenario rising(bool breakout_bar) {
  scenario s;
  s.daily = daily_series(t0(), 30, 17000, 100);
  s.h4_start = t0() + 30 * 24h;
  double prev = 19990;
  for (int i = 0; i < 30; ++i) {
    const double c = 20000 + 10 * i;
    s.h4.push_back(make_bar(s.h4_start + i * 4h, prev, c + 50, c - 50, c));
    prev = c;
  }
  const timestamp t = s.h4_start + 30 * 4h;
  if (breakout_bar)  // closes 100 above the last close, 50 above the previous 20 bars' high
    s.h4.push_back(make_bar(t, prev, prev + 110, prev - 10, prev + 100));
  else  // dips 250 (through the 4h EMA21), closes 10 down, still above the 4h EMA8
    s.h4.push_back(make_bar(t, prev, prev + 10, prev - 250, prev - 10));
  return s;
}

scenario mirrored(scenario s) {
  for (auto& b : s.daily) b = mirror(b, mirror_k);
  for (auto& b : s.h4) b = mirror(b, mirror_k);
  return s;
}

// Feeds the daily bars (each at its close), then the 4h bars; returns the outputs per 4h bar.
std::vector<std::vector<output>> run(strategy& st, const scenario& s) {
  for (const auto& d : s.daily) REQUIRE(st.on_bar(d, timeframe::d1, close_time(d, timeframe::d1)).empty());
  std::vector<std::vector<output>> outs;
  for (const auto& b : s.h4) outs.push_back(st.on_bar(b, timeframe::h4, close_time(b, timeframe::h4)));
  return outs;
}

void check_entry(const std::vector<std::vector<output>>& outs, const scenario& s, direction want) {
  // Nothing before the entry bar wants a position.
  for (std::size_t i = 0; i + 1 < outs.size(); ++i)
    for (const auto& o : outs[i]) {
      CHECK(o.signal.dir == direction::flat);
      CHECK_FALSE(o.proposal);
    }
  REQUIRE(outs.back().size() == 1);
  const output& o = outs.back()[0];
  CHECK(o.signal.dir == want);
  REQUIRE(o.proposal);
  const auto& p = *o.proposal;
  const double close = s.h4.back().close.to_double();
  const double atr = naive_atr(s.h4, 14);
  const double sg = want == direction::long_ ? 1 : -1;
  CHECK(p.s == (want == direction::long_ ? side::buy : side::sell));
  CHECK(p.entry_price == s.h4.back().close);
  // Initial stop 2.0 x ATR(14, 4h), take-profit 3.0 x ATR.
  CHECK(p.stop_loss.to_double() == Approx(close - sg * 2.0 * atr).epsilon(1e-9));
  REQUIRE(p.take_profit);
  CHECK(p.take_profit->to_double() == Approx(close + sg * 3.0 * atr).epsilon(1e-9));
  CHECK(p.signal_id == o.signal.signal_id);
  CHECK(o.signal.reason.find("model: absent (neutral 0)") != std::string::npos);
  CHECK(o.signal.reason.find("news: absent (neutral LOW)") != std::string::npos);
}

}  // namespace

TEST_CASE("trend_following goes long on a pullback", "[trend]") {
  auto st = make("trend_following");
  const auto s = rising(false);
  const auto outs = run(*st, s);
  check_entry(outs, s, direction::long_);
  CHECK(outs.back()[0].signal.reason.find("pullback long") != std::string::npos);
}

TEST_CASE("trend_following goes short on a pullback", "[trend]") {
  auto st = make("trend_following");
  const auto s = mirrored(rising(false));
  const auto outs = run(*st, s);
  check_entry(outs, s, direction::short_);
  CHECK(outs.back()[0].signal.reason.find("pullback short") != std::string::npos);
}

TEST_CASE("trend_following goes long on a breakout", "[trend]") {
  auto st = make("trend_following", {{"entry_style", "breakout"}});
  const auto s = rising(true);
  const auto outs = run(*st, s);
  check_entry(outs, s, direction::long_);
  CHECK(outs.back()[0].signal.reason.find("breakout long") != std::string::npos);
}

TEST_CASE("trend_following goes short on a breakout", "[trend]") {
  auto st = make("trend_following", {{"entry_style", "breakout"}});
  const auto s = mirrored(rising(true));
  const auto outs = run(*st, s);
  check_entry(outs, s, direction::short_);
}

TEST_CASE("trend_following pullback bar is not a breakout and vice versa", "[trend]") {
  auto a = make("trend_following", {{"entry_style", "breakout"}});
  auto outs = run(*a, rising(false));
  CHECK_FALSE(outs.back()[0].proposal);
  auto b = make("trend_following");
  outs = run(*b, rising(true));  // no touch of the 4h EMA21
  CHECK_FALSE(outs.back()[0].proposal);
}

TEST_CASE("trend_following gives no signal during warm-up", "[trend]") {
  const auto s = rising(false);
  SECTION("4h: nothing before the 4h EMA21 exists (TA-Lib lookback 20)") {
    auto st = make("trend_following");
    for (const auto& d : s.daily) (void)st->on_bar(d, timeframe::d1, close_time(d, timeframe::d1));
    for (int i = 0; i < 21; ++i) {
      const auto& b = s.h4[static_cast<std::size_t>(i)];
      const auto out = st->on_bar(b, timeframe::h4, close_time(b, timeframe::h4));
      if (i < 20) CHECK(out.empty());
      else CHECK(out.size() == 1);
    }
  }
  SECTION("1d: nothing with only 20 daily bars (EMA21 not ready), even on the entry bar") {
    auto st = make("trend_following");
    for (int i = 10; i < 30; ++i) {
      const auto& d = s.daily[static_cast<std::size_t>(i)];
      (void)st->on_bar(d, timeframe::d1, close_time(d, timeframe::d1));
    }
    for (const auto& b : s.h4) CHECK(st->on_bar(b, timeframe::h4, close_time(b, timeframe::h4)).empty());
  }
}

TEST_CASE("trend_following score threshold is inclusive", "[trend]") {
  // Take the composite of the pullback entry and move the threshold just around it.
  auto probe = make("trend_following");
  const auto s = rising(false);
  const double score = run(*probe, s).back()[0].signal.features["score"]["composite"].get<double>();
  auto at = make("trend_following", {{"score_threshold", score}});
  CHECK(run(*at, s).back()[0].proposal);
  auto above = make("trend_following", {{"score_threshold", score + 1e-6}});
  const auto o = run(*above, s).back()[0];
  CHECK_FALSE(o.proposal);
  CHECK(o.signal.dir == direction::flat);
  CHECK(o.signal.reason.find("< threshold") != std::string::npos);
}

TEST_CASE("trend_following composite score by hand", "[trend]") {
  trend_following_params p;  // the seed's defaults
  trend_score_inputs in;
  in.is_long = true;
  in.price = 100;
  in.daily_ema_fast = 95;      // aligned: 0.5
  in.daily_ema_fast_ago = 95;  // flat slope: 0
  in.daily_ema_slow = 90;      // price above: 0.2 -> TREND 0.7
  in.atr = 2;                  // 2 % -> VOLATILITY 1
  in.entry_ema_slow = 99.98;   // depth 0.01 ATR -> ENTRY 0.02
  // 0.7*0.35 + 1*0.15 + 0.02*0.25 + 1*0.10 + 1*0.15 = 0.65 exactly (by hand)
  auto sc = score_trend(in, p);
  CHECK(sc.trend == Approx(0.7));
  CHECK(sc.volatility == Approx(1.0));
  CHECK(sc.entry_quality == Approx(0.02));
  CHECK(sc.funding == 1.0);
  CHECK(sc.news == 1.0);
  CHECK(sc.composite == Approx(0.65));
  CHECK(passes_threshold(sc.composite, 0.65));
  in.entry_ema_slow = 100;  // depth 0 -> 0.645
  CHECK(score_trend(in, p).composite == Approx(0.645));
  CHECK_FALSE(passes_threshold(score_trend(in, p).composite, 0.65));

  // Other branches: slope 0.25 ATR/0.5 -> 0.5; ATR 6 % -> 1-(6-5)/5 = 0.8; depth 1.5 -> 0.5;
  // funding 0.0005 against a long -> 1-0.5 = 0.5; news MEDIUM 0.5.
  in.daily_ema_fast_ago = 95 - 1.5;  // |95-93.5|/6 = 0.25
  in.atr = 6;
  in.entry_ema_slow = 91;  // |100-91|/6 = 1.5
  in.funding_rate = 0.0005;
  in.news = news_level::medium;
  sc = score_trend(in, p);
  CHECK(sc.trend == Approx(0.5 + 0.15 + 0.2));
  CHECK(sc.volatility == Approx(0.8));
  CHECK(sc.entry_quality == Approx(0.5));
  CHECK(sc.funding == Approx(0.5));
  CHECK(sc.news == Approx(0.5));
  CHECK(sc.composite == Approx(0.85 * 0.35 + 0.8 * 0.15 + 0.5 * 0.25 + 0.5 * 0.10 + 0.5 * 0.15));
  // The same funding helps a short: no penalty; a short is not aligned with fast > slow.
  in.is_long = false;
  sc = score_trend(in, p);
  CHECK(sc.funding == 1.0);
  CHECK(sc.trend == Approx(0.0 + 0.15 + 0.5 * 0.2));
  in.news = news_level::high;
  CHECK(score_trend(in, p).news == 0.0);
}

namespace {

// The long pullback entry, then the position reported by execution.
struct in_position {
  std::unique_ptr<strategy> st;
  scenario s;
  decimal entry;
  timestamp entry_time;
};

in_position enter_long(const nlohmann::json& overrides = nlohmann::json::object()) {
  in_position r{make("trend_following", overrides), rising(false), {}, {}};
  const auto outs = run(*r.st, r.s);
  REQUIRE(outs.back().size() == 1);
  REQUIRE(outs.back()[0].proposal);
  r.entry = *outs.back()[0].proposal->entry_price;
  r.entry_time = close_time(r.s.h4.back(), timeframe::h4);
  r.st->on_position(position{direction::long_, r.entry, dec(0.01), r.entry_time, r.entry, outs.back()[0].proposal->stop_loss},
                    r.entry_time);
  return r;
}

}  // namespace

TEST_CASE("trend_following trails 1.5 ATR after 1.5 ATR of profit", "[trend][exit]") {
  auto r = enter_long();
  auto bars = r.s.h4;
  double prev = r.entry.to_double();
  std::optional<exit_request> first;
  double best = prev;
  for (int i = 0; i < 10 && !first; ++i) {
    const double c = prev + 40;
    bars.push_back(make_bar(r.entry_time + i * 4h, prev, c + 50, c - 50, c));
    best = c + 50;
    const auto out = r.st->on_bar(bars.back(), timeframe::h4, close_time(bars.back(), timeframe::h4));
    REQUIRE(out.size() == 1);
    const double atr = naive_atr(bars, 14);
    if (best - r.entry.to_double() < 1.5 * atr) CHECK_FALSE(out[0].exit);
    if (out[0].exit) {
      first = out[0].exit;
      CHECK(first->kind == exit_kind::move_stop);
      CHECK(first->reason == exit_reason::trailing_stop);
      REQUIRE(first->new_stop);
      CHECK(first->new_stop->to_double() == Approx(best - 1.5 * atr).epsilon(1e-9));
    }
    prev = c;
  }
  REQUIRE(first);
  // A bar that sets no new best and raises the ATR would put the trail lower: no request.
  bars.push_back(make_bar(bars.back().open_time + 4h, prev, prev + 1, prev - 150, prev - 100));
  const auto out = r.st->on_bar(bars.back(), timeframe::h4, close_time(bars.back(), timeframe::h4));
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].exit);
}

TEST_CASE("trend_following time stop after 7 days with under 0.5 ATR profit", "[trend][exit]") {
  auto r = enter_long();
  const double e = r.entry.to_double();
  // Flat bars at the entry price: 42 bars = exactly 7 days held, no exit yet; the 43rd exits.
  for (int i = 0; i < 43; ++i) {
    const bar b = make_bar(r.entry_time + i * 4h, e, e + 50, e - 50, e);
    const timestamp now = close_time(b, timeframe::h4);
    const auto out = r.st->on_bar(b, timeframe::h4, now);
    REQUIRE(out.size() == 1);
    if (i < 41) {
      CHECK_FALSE(out[0].exit);
    } else if (i == 41) {
      CHECK(now - r.entry_time == 7 * 24h);
      CHECK_FALSE(out[0].exit);
    } else {
      REQUIRE(out[0].exit);
      CHECK(out[0].exit->kind == exit_kind::close);
      CHECK(out[0].exit->reason == exit_reason::time_stop);
    }
  }
}

TEST_CASE("trend_following time stop spares a position with 0.5 ATR profit", "[trend][exit]") {
  auto r = enter_long();
  const double e = r.entry.to_double() + 60;  // 60 over entry, ATR falls toward 100: > 0.5 ATR
  for (int i = 0; i < 50; ++i) {
    const bar b = make_bar(r.entry_time + i * 4h, e, e + 50, e - 50, e);
    const auto out = r.st->on_bar(b, timeframe::h4, close_time(b, timeframe::h4));
    REQUIRE(out.size() == 1);
    CHECK_FALSE((out[0].exit && out[0].exit->reason == exit_reason::time_stop));
  }
}

TEST_CASE("trend_following exits at the next 4h close when the daily trend flips", "[trend][exit]") {
  auto r = enter_long();
  const double e = r.entry.to_double();
  timestamp day = t0() + 30 * 24h;  // the first daily bar after the scenario's
  double prev = r.s.daily.back().close.to_double();
  bool exited = false;
  for (int k = 0; k < 15 && !exited; ++k) {
    const double c = prev - 800;  // a daily crash
    const bar d = make_bar(day, prev, prev + 10, c - 10, c);
    CHECK(r.st->on_bar(d, timeframe::d1, close_time(d, timeframe::d1)).empty());
    const timestamp h4_open = std::max(close_time(d, timeframe::d1), r.entry_time) + 4h * k;
    const bar b = make_bar(h4_open, e, e + 50, e - 50, e);
    const auto out = r.st->on_bar(b, timeframe::h4, close_time(b, timeframe::h4));
    REQUIRE(out.size() == 1);
    const auto trend = out[0].signal.features["trend_1d"].get<std::string>();
    if (trend == "DOWNTREND") {
      REQUIRE(out[0].exit);
      CHECK(out[0].exit->kind == exit_kind::close);
      CHECK(out[0].exit->reason == exit_reason::trend_flip);
      exited = true;
    } else {
      CHECK_FALSE(out[0].exit);
    }
    prev = c;
    day += 24h;
  }
  CHECK(exited);
}

TEST_CASE("trend_following refuses bars that have not closed or come out of order", "[trend]") {
  auto st = make("trend_following");
  const bar d = make_bar(t0(), 100, 101, 99, 100);
  CHECK_THROWS_AS(st->on_bar(d, timeframe::d1, t0() + 23h), strategy_error);
  CHECK(st->on_bar(d, timeframe::d1, t0() + 24h).empty());
  CHECK_THROWS_AS(st->on_bar(d, timeframe::d1, t0() + 48h), strategy_error);  // same bar again
  CHECK_THROWS_AS(st->on_bar(make_bar(t0() + 24h, 100, 99, 101, 100), timeframe::d1, t0() + 48h), strategy_error);
}

TEST_CASE("trend_following is deterministic", "[trend]") {
  const auto s = rising(false);
  auto a = make("trend_following");
  auto b = make("trend_following");
  const auto oa = run(*a, s);
  const auto ob = run(*b, s);
  REQUIRE(oa.size() == ob.size());
  for (std::size_t i = 0; i < oa.size(); ++i) {
    REQUIRE(oa[i].size() == ob[i].size());
    for (std::size_t j = 0; j < oa[i].size(); ++j) CHECK(dump(oa[i][j]) == dump(ob[i][j]));
  }
}

}  // namespace pt::strategy::test
