// Trend following, seed 004 section 7 (news effects from section 8). README "trend_following"
// documents each rule and every choice made where the seed is vague.
#include "indicators/indicators.hpp"
#include "strategy/base.hpp"

#include <cmath>
#include <cstdio>
#include <deque>

namespace pt::strategy {

namespace ind = pt::indicators;
using namespace std::chrono_literals;

bool passes_threshold(double composite, double threshold) { return composite >= threshold - 1e-9; }

trend_score score_trend(const trend_score_inputs& in, const trend_following_params& p) {
  trend_score s;
  // TREND_SCORE: alignment 0.5, slope 0.3, price position 0.2 (mirrored for shorts).
  const bool aligned = in.is_long ? in.daily_ema_fast > in.daily_ema_slow : in.daily_ema_fast < in.daily_ema_slow;
  const double slope = in.atr > 0 ? std::fabs(in.daily_ema_fast - in.daily_ema_fast_ago) / in.atr : 0.0;
  const double slope_strength = detail::clamp01(slope / p.slope_norm_max);  // normalize(x, 0, 0.5)
  const bool beyond = in.is_long ? in.price > in.daily_ema_slow : in.price < in.daily_ema_slow;
  s.trend = (aligned ? 1.0 : 0.0) * 0.5 + slope_strength * 0.3 + (beyond ? 1.0 : 0.5) * 0.2;

  // VOLATILITY_SCORE: ATR% sweet spot 2..5 %.
  const double atr_pct = in.price > 0 ? in.atr / in.price * 100.0 : 0.0;
  if (atr_pct >= p.vol_sweet_low_pct && atr_pct <= p.vol_sweet_high_pct) s.volatility = 1.0;
  else if (atr_pct < p.vol_sweet_low_pct) s.volatility = atr_pct / p.vol_sweet_low_pct;
  else s.volatility = std::max(0.0, 1.0 - (atr_pct - p.vol_sweet_high_pct) / p.vol_sweet_high_pct);

  // ENTRY_QUALITY: distance from the 4h EMA(21) in ATRs, best at 0.5..1.0.
  const double depth = in.atr > 0 ? std::fabs(in.price - in.entry_ema_slow) / in.atr : 0.0;
  const double lo = p.entry_opt_low_atr, hi = p.entry_opt_high_atr;
  if (depth >= lo && depth <= hi) s.entry_quality = 1.0;
  else if (depth < lo) s.entry_quality = depth / lo;
  else s.entry_quality = std::max(0.0, 1.0 - (depth - hi) / hi);

  // FUNDING_PENALTY: 1 unless funding works against the side beyond 0.03 %; absent = 1.
  s.funding = 1.0;
  if (in.funding_rate) {
    const double f = *in.funding_rate;
    if ((in.is_long && f > p.funding_penalty_rate) || (!in.is_long && f < -p.funding_penalty_rate))
      s.funding = 1.0 - std::min(std::fabs(f) / p.funding_penalty_scale, 1.0);
  }

  // NEWS_MODIFIER: HIGH 0, MEDIUM 0.5, LOW or absent 1.
  s.news = 1.0;
  if (in.news == news_level::high) s.news = 0.0;
  else if (in.news == news_level::medium) s.news = 0.5;

  s.composite = s.trend * p.w_trend + s.volatility * p.w_volatility + s.entry_quality * p.w_entry +
                s.funding * p.w_funding + s.news * p.w_news;
  return s;
}

namespace {

enum class trend_dir { up, down, none };

const char* trend_text(trend_dir t) { return t == trend_dir::up ? "UPTREND" : t == trend_dir::down ? "DOWNTREND" : "NO_TREND"; }

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

class trend_following final : public detail::strategy_base {
 public:
  trend_following(const trend_following_params& p, const context& ctx)
      : strategy_base("trend_following", ctx), p_(p),
        d_fast_(p.daily_ema_fast), d_slow_(p.daily_ema_slow),
        fast_(p.ema_fast), slow_(p.ema_slow), atr_(p.atr_period), rsi_(p.rsi_period),
        channel_(p.breakout_period), volume_(p.breakout_period) {}

  std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) override {
    accept_bar(b, tf, now);
    if (tf == timeframe::d1) {
      on_daily(b);
      return {};
    }
    if (tf != timeframe::h4) return {};
    return on_4h(b, tf, now);
  }

 private:
  void on_daily(const bar& b) {
    const double c = b.close.to_double();
    auto f = d_fast_.update(c);
    auto s = d_slow_.update(c);
    if (f) {
      fast_hist_.push_back(*f);
      if (fast_hist_.size() > static_cast<std::size_t>(p_.daily_slope_bars) + 1) fast_hist_.pop_front();
    }
    if (!f || !s || fast_hist_.size() <= static_cast<std::size_t>(p_.daily_slope_bars)) return;
    const double ago = fast_hist_.front();
    daily_ = daily_state{*f, *s, ago, c};
    // Seed 004 section 7 "Trend Direction Rules" on the daily close.
    if (*f > *s && c > *s && *f > ago) trend_ = trend_dir::up;
    else if (*f < *s && c < *s && *f < ago) trend_ = trend_dir::down;
    else trend_ = trend_dir::none;
  }

  std::vector<output> on_4h(const bar& b, timeframe tf, timestamp now) {
    track_best(b);
    const double high = b.high.to_double(), low = b.low.to_double(), close = b.close.to_double();
    const double vol = b.volume.to_double();
    // Breakout levels are the previous N bars' (read before this bar enters the channel).
    const auto prior_channel = channel_.value();
    const auto prior_volume = volume_.value();
    channel_.update(high, low);
    volume_.update(vol);
    const auto ef = fast_.update(close);
    const auto es = slow_.update(close);
    const auto a = atr_.update(high, low, close);
    const auto r = rsi_.update(close);

    // Pullback arming: a touch of the 4h EMA(21) keeps the setup open for pullback_window_bars.
    if (armed_long_ > 0) --armed_long_;
    if (armed_short_ > 0) --armed_short_;
    if (es) {
      if (low <= *es) armed_long_ = p_.pullback_window_bars;
      if (high >= *es) armed_short_ = p_.pullback_window_bars;
    }

    const bool warm = ef && es && a && r && daily_ &&
                      (p_.entry != entry_style::breakout || (prior_channel && prior_volume));
    if (!warm) return {};  // no signal during warm-up

    output out{make_signal(b, tf, now), std::nullopt, std::nullopt};
    trading_signal& sig = out.signal;
    const auto funding = funding_at(now, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::duration<double, std::ratio<3600>>(p_.funding_max_age_hours)));
    const auto news = news_at(now);

    // Setup (seed 004 section 7 "Entry Style").
    direction setup = direction::flat;
    std::string setup_text;
    if (p_.entry == entry_style::pullback) {
      if (trend_ == trend_dir::up && armed_long_ > 0 && close > *ef && *r > p_.pullback_rsi_long_min) {
        setup = direction::long_;
        setup_text = "pullback long: touched 4h EMA21, closed above 4h EMA8, RSI " + num(*r);
      } else if (trend_ == trend_dir::down && armed_short_ > 0 && close < *ef && *r < p_.pullback_rsi_short_max) {
        setup = direction::short_;
        setup_text = "pullback short: touched 4h EMA21, closed below 4h EMA8, RSI " + num(*r);
      }
    } else {
      const bool vol_ok_raw = !p_.breakout_volume_filter || vol > p_.breakout_volume_mult * *prior_volume;
      if (trend_ == trend_dir::up && close > prior_channel->upper && vol_ok_raw) {
        setup = direction::long_;
        setup_text = "breakout long: close above the " + std::to_string(p_.breakout_period) + "-bar high " + num(prior_channel->upper);
      } else if (trend_ == trend_dir::down && close < prior_channel->lower) {
        setup = direction::short_;
        setup_text = "breakout short: close below the " + std::to_string(p_.breakout_period) + "-bar low " + num(prior_channel->lower);
      }
    }
    // Consumed: a fired pullback needs a new touch before it fires again.
    if (setup == direction::long_) armed_long_ = 0;
    if (setup == direction::short_) armed_short_ = 0;

    sig.features["trend_1d"] = trend_text(trend_);
    sig.features["atr_4h"] = *a;
    sig.features["ema_fast_4h"] = *ef;
    sig.features["ema_slow_4h"] = *es;
    sig.features["rsi_4h"] = *r;
    sig.features["ema_fast_1d"] = daily_->fast;
    sig.features["ema_slow_1d"] = daily_->slow;
    sig.reason = std::string("1d ") + trend_text(trend_);

    if (setup != direction::flat) {
      trend_score_inputs in;
      in.is_long = setup == direction::long_;
      in.price = close;
      in.daily_ema_fast = daily_->fast;
      in.daily_ema_slow = daily_->slow;
      in.daily_ema_fast_ago = daily_->fast_ago;
      in.atr = *a;
      in.entry_ema_slow = *es;
      in.funding_rate = funding;
      in.news = news;
      const auto sc = score_trend(in, p_);
      const double threshold = news == news_level::medium ? p_.score_threshold_news_medium : p_.score_threshold;
      sig.strength = detail::clamp01(sc.composite);
      sig.features["score"] = {{"trend", sc.trend}, {"volatility", sc.volatility}, {"entry_quality", sc.entry_quality},
                               {"funding", sc.funding}, {"news", sc.news}, {"composite", sc.composite},
                               {"threshold", threshold}};
      sig.reason += ", " + setup_text + ", score " + num(sc.composite);
      const bool blocked = news == news_level::high;
      if (blocked) {
        sig.reason += " | entry blocked: news HIGH";
      } else if (!passes_threshold(sc.composite, threshold)) {
        sig.reason += " < threshold " + num(threshold);
      } else {
        sig.dir = setup;
        sig.reason += " >= threshold " + num(threshold);
        if (pos_) {
          sig.reason += " | no proposal: a position is open";
        } else {
          const decimal price = b.close;
          const int sg = detail::sign_of(setup);
          const decimal stop = price - to_decimal(sg * p_.initial_stop_atr * *a);
          std::optional<decimal> tp;
          if (p_.take_profit_atr > 0) tp = price + to_decimal(sg * p_.take_profit_atr * *a);
          out.proposal = make_proposal(sig, setup, price, stop, tp);
        }
      }
    } else {
      sig.reason += ", no entry setup";
    }

    if (pos_) out.exit = manage(b, now, *a, news);
    if (out.exit) sig.reason += " | exit: " + out.exit->text;
    sig.reason += " | " + inputs_text(now, std::nullopt, funding);
    return {std::move(out)};
  }

  // Seed 004 section 7 "Exit Rules" (and section 8's stop tightening on news).
  std::optional<exit_request> manage(const bar& b, timestamp now, double atr, std::optional<news_level> news) {
    const bool is_long = pos_->dir == direction::long_;
    const double sg = is_long ? 1.0 : -1.0;
    const double close = b.close.to_double();
    const double entry = pos_->entry_price.to_double();
    const double profit = (close - entry) * sg;

    const bool flipped = is_long ? trend_ == trend_dir::down : trend_ == trend_dir::up;
    const bool lost = is_long ? trend_ != trend_dir::up : trend_ != trend_dir::down;
    if (flipped || (p_.exit_on_no_trend && lost)) {
      return exit_request{exit_kind::close, exit_reason::trend_flip, std::nullopt,
                          std::string("trend flip: 1d ") + trend_text(trend_)};
    }
    const auto held = now - pos_->entry_time;
    const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::ratio<86400>>(p_.time_stop_days));
    if (held > limit && profit < p_.time_stop_min_profit_atr * atr) {
      return exit_request{exit_kind::close, exit_reason::time_stop, std::nullopt,
                          "time stop: held > " + num(p_.time_stop_days) + " days with profit " + num(profit / atr) + " ATR"};
    }
    std::optional<exit_request> move;
    const double best = pos_->best_price.to_double();
    if ((best - entry) * sg >= p_.trail_trigger_atr * atr) {
      const decimal stop = to_decimal(best - sg * p_.trail_atr * atr);
      move = tighten_stop(stop, exit_reason::trailing_stop,
                          "trailing stop " + stop.to_string() + " (" + num(p_.trail_atr) + " ATR from best " + pos_->best_price.to_string() + ")");
    }
    if (!move && (news == news_level::high || news == news_level::medium)) {
      const double k = news == news_level::high ? p_.news_stop_high_atr : p_.news_stop_medium_atr;
      const decimal stop = to_decimal(close - sg * k * atr);
      move = tighten_stop(stop, exit_reason::news, "news " + std::string(to_string(*news)) + ": stop tightened to " + num(k) + " ATR");
    }
    return move;
  }

  struct daily_state {
    double fast, slow, fast_ago, close;
  };

  trend_following_params p_;
  ind::ema d_fast_, d_slow_;
  std::deque<double> fast_hist_;
  std::optional<daily_state> daily_;
  trend_dir trend_ = trend_dir::none;
  ind::ema fast_, slow_;
  ind::atr atr_;
  ind::rsi rsi_;
  ind::donchian channel_;
  ind::sma volume_;
  int armed_long_ = 0, armed_short_ = 0;
};

}  // namespace

std::unique_ptr<strategy> make_trend_following(const trend_following_params& p, const context& ctx) {
  return std::make_unique<trend_following>(p, ctx);
}

}  // namespace pt::strategy
