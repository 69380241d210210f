// Multi-factor scoring, seed 003 "Signal Generation Algorithm" and "Stop Loss & Take Profit".
// README "multi_factor" documents each rule and the choices made where the seed is vague.
#include "indicators/indicators.hpp"
#include "strategy/base.hpp"

#include <cmath>
#include <cstdio>

namespace pt::strategy {

namespace ind = pt::indicators;

multi_factor_score score_multi_factor(const multi_factor_inputs& in, const multi_factor_params& p) {
  multi_factor_score s;
  // Trend: bullish when close > SMA fast > SMA slow, bearish when the reverse; +-trend_points.
  if (in.close > in.sma_fast && in.sma_fast > in.sma_slow) s.trend = trend_state::bullish;
  else if (in.close < in.sma_fast && in.sma_fast < in.sma_slow) s.trend = trend_state::bearish;
  s.trend_factor = s.trend == trend_state::bullish ? p.trend_points : s.trend == trend_state::bearish ? -p.trend_points : 0.0;
  // Momentum, "RSI-like": linear in RSI, 0 -> -20, 50 -> 0, 100 -> +20.
  s.momentum_factor = (in.rsi - 50.0) / 50.0 * p.momentum_points;
  // Model: prediction in [-1, 1] scaled to +-30; absent = 0 (neutral).
  s.model_factor = in.model ? *in.model * p.model_points : 0.0;
  // Volatility: medium +10, low +5, high 0, counted toward the side the other factors point to
  // (the seed's unsigned 0..10 would make a SELL below -50 unreachable without the model).
  const double atr_pct = in.close > 0 ? in.atr / in.close * 100.0 : 0.0;
  double vol = p.vol_points_medium;
  if (atr_pct < p.vol_low_pct) vol = p.vol_points_low;
  else if (atr_pct > p.vol_high_pct) vol = 0.0;
  const double directional = s.trend_factor + s.momentum_factor + s.model_factor;
  s.volatility_factor = directional > 0 ? vol : directional < 0 ? -vol : 0.0;
  s.total = directional + s.volatility_factor;
  return s;
}

namespace {

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

class multi_factor final : public detail::strategy_base {
 public:
  multi_factor(const multi_factor_params& p, const context& ctx)
      : strategy_base("multi_factor", ctx), p_(p), fast_(p.sma_fast), slow_(p.sma_slow), rsi_(p.rsi_period), atr_(p.atr_period) {}

  std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) override {
    accept_bar(b, tf, now);
    if (tf != p_.tf) return {};
    track_best(b);
    const double high = b.high.to_double(), low = b.low.to_double(), close = b.close.to_double();
    const auto f = fast_.update(close);
    const auto s = slow_.update(close);
    const auto r = rsi_.update(close);
    const auto a = atr_.update(high, low, close);
    if (!f || !s || !r || !a) return {};  // warm-up

    const auto model = model_at(now, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::duration<double, std::ratio<3600>>(p_.model_max_age_hours)));
    const auto news = news_at(now);
    const auto sc = score_multi_factor({close, *f, *s, *r, *a, model}, p_);

    output out{make_signal(b, tf, now), std::nullopt, std::nullopt};
    trading_signal& sig = out.signal;
    sig.strength = detail::clamp01(std::fabs(sc.total) / 100.0);  // the seed's 0..100 confidence
    sig.features["factors"] = {{"trend", sc.trend_factor}, {"momentum", sc.momentum_factor},
                               {"model", sc.model_factor}, {"volatility", sc.volatility_factor},
                               {"total", sc.total}};
    sig.reason = "Trend=" + num(sc.trend_factor) + ", Momentum=" + num(sc.momentum_factor) + ", ML=" +
                 num(sc.model_factor) + ", Volatility=" + num(sc.volatility_factor) + ", total " + num(sc.total);
    direction want = direction::flat;
    if (sc.total > p_.buy_threshold) want = direction::long_;
    else if (sc.total < -p_.sell_threshold) want = direction::short_;

    if (want != direction::flat) {
      if (news == news_level::high) {
        sig.reason += " | entry blocked: news HIGH";
      } else {
        sig.dir = want;
        sig.reason += want == direction::long_ ? " > " + num(p_.buy_threshold) + ": BUY" : " < -" + num(p_.sell_threshold) + ": SELL";
        if (pos_) {
          sig.reason += " | no proposal: a position is open";
        } else {
          const int sg = detail::sign_of(want);
          const decimal price = b.close;
          const decimal stop = price * to_decimal(1.0 - sg * p_.stop_pct / 100.0);
          std::optional<decimal> tp;
          if (p_.take_profit_pct > 0) tp = price * to_decimal(1.0 + sg * p_.take_profit_pct / 100.0);
          out.proposal = make_proposal(sig, want, price, stop, tp);
        }
      }
    } else {
      sig.reason += ": HOLD";
    }

    if (pos_) out.exit = manage(b, sc);
    if (out.exit) sig.reason += " | exit: " + out.exit->text;
    sig.reason += " | " + inputs_text(now, model, std::nullopt);
    return {std::move(out)};
  }

 private:
  std::optional<exit_request> manage(const bar& b, const multi_factor_score& sc) {
    const bool is_long = pos_->dir == direction::long_;
    const double sg = is_long ? 1.0 : -1.0;
    const double entry = pos_->entry_price.to_double();
    const double close = b.close.to_double();
    // "Trend Reversal: Close if trend reverses while in profit."
    const bool reversed = is_long ? sc.trend == trend_state::bearish : sc.trend == trend_state::bullish;
    if (p_.exit_on_trend_reversal && reversed && (close - entry) * sg > 0)
      return exit_request{exit_kind::close, exit_reason::trend_flip, std::nullopt, "trend reversed while in profit"};
    // "Trailing Stop: If profit > 2%, trail at 1%" (of the best price since entry).
    const decimal best = pos_->best_price;
    if ((best.to_double() - entry) * sg > entry * p_.trail_trigger_pct / 100.0) {
      const decimal stop = best * to_decimal(1.0 - sg * p_.trail_pct / 100.0);
      return tighten_stop(stop, exit_reason::trailing_stop, "trailing stop " + stop.to_string() + " (" + num(p_.trail_pct) + " % from best " + best.to_string() + ")");
    }
    return std::nullopt;
  }

  multi_factor_params p_;
  ind::sma fast_, slow_;
  ind::rsi rsi_;
  ind::atr atr_;
};

}  // namespace

std::unique_ptr<strategy> make_multi_factor(const multi_factor_params& p, const context& ctx) {
  return std::make_unique<multi_factor>(p, ctx);
}

}  // namespace pt::strategy
