// Baselines (issue 4, item 3): mean reversion (Bollinger / z-score), breakout (Donchian) and
// funding bias (contrarian to extreme funding). README "Baselines" documents the rules.
#include "indicators/indicators.hpp"
#include "strategy/base.hpp"

#include <cmath>
#include <cstdio>

namespace pt::strategy {

namespace ind = pt::indicators;

namespace {

std::string num(double x, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::chrono::nanoseconds hours(double h) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double, std::ratio<3600>>(h));
}

// Seed 004 section 8: news HIGH blocks new entries (absent news: no block).
void finish_entry(trading_signal& sig, std::optional<news_level> news) {
  if (news == news_level::high) {
    sig.dir = direction::flat;
    sig.reason += " | entry blocked: news HIGH";
  }
}

class mean_reversion final : public detail::strategy_base {
 public:
  mean_reversion(const mean_reversion_params& p, const context& ctx)
      : strategy_base("mean_reversion", ctx), p_(p), bands_(p.period, p.band_k), z_(p.period) {}

  std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) override {
    accept_bar(b, tf, now);
    if (tf != p_.tf) return {};
    track_best(b);
    const double close = b.close.to_double();
    const auto bb = bands_.update(close);
    const auto z = z_.update(close);
    if (!bb || !z) return {};
    const auto news = news_at(now);
    output out{make_signal(b, tf, now), std::nullopt, std::nullopt};
    auto& sig = out.signal;
    const double sigma = (bb->upper - bb->middle) / p_.band_k;
    sig.features["z"] = *z;
    sig.features["bands"] = {{"upper", bb->upper}, {"middle", bb->middle}, {"lower", bb->lower}};
    sig.reason = "z " + num(*z, 3);
    sig.strength = detail::clamp01(std::fabs(*z) / p_.stop_z);
    direction want = direction::flat;
    // Enter on a stretch of at least entry_z but not past stop_z (the stop would be behind us).
    if (*z <= -p_.entry_z && *z > -p_.stop_z) want = direction::long_;
    else if (*z >= p_.entry_z && *z < p_.stop_z) want = direction::short_;
    if (want != direction::flat) {
      sig.dir = want;
      sig.reason += want == direction::long_ ? " <= -" + num(p_.entry_z, 2) + ": long to the mean"
                                             : " >= " + num(p_.entry_z, 2) + ": short to the mean";
      finish_entry(sig, news);
      if (sig.dir != direction::flat) {
        if (pos_) {
          sig.reason += " | no proposal: a position is open";
        } else {
          const int sg = detail::sign_of(want);
          const decimal stop = to_decimal(bb->middle - sg * p_.stop_z * sigma);
          out.proposal = make_proposal(sig, want, b.close, stop, to_decimal(bb->middle));
        }
      }
    } else {
      sig.reason += ": inside the bands";
    }
    if (pos_) {
      const bool is_long = pos_->dir == direction::long_;
      if (is_long ? *z >= -p_.exit_z : *z <= p_.exit_z)
        out.exit = exit_request{exit_kind::close, exit_reason::signal_exit, std::nullopt, "back at the mean (z " + num(*z, 3) + ")"};
      else if (now - pos_->entry_time >= p_.max_hold_bars * duration(p_.tf))
        out.exit = exit_request{exit_kind::close, exit_reason::time_stop, std::nullopt,
                                "time stop: held " + std::to_string(p_.max_hold_bars) + " bars"};
    }
    if (out.exit) sig.reason += " | exit: " + out.exit->text;
    sig.reason += " | " + inputs_text(now, std::nullopt, std::nullopt);
    return {std::move(out)};
  }

 private:
  mean_reversion_params p_;
  ind::bollinger bands_;
  ind::zscore z_;
};

class breakout final : public detail::strategy_base {
 public:
  breakout(const breakout_params& p, const context& ctx)
      : strategy_base("breakout", ctx), p_(p), entry_(p.entry_period), exit_(p.exit_period), atr_(p.atr_period) {}

  std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) override {
    accept_bar(b, tf, now);
    if (tf != p_.tf) return {};
    track_best(b);
    const double high = b.high.to_double(), low = b.low.to_double(), close = b.close.to_double();
    // The previous N bars' channels, read before this bar enters them.
    const auto in = entry_.value();
    const auto ex = exit_.value();
    entry_.update(high, low);
    exit_.update(high, low);
    const auto a = atr_.update(high, low, close);
    if (!in || !ex || !a) return {};
    const auto news = news_at(now);
    output out{make_signal(b, tf, now), std::nullopt, std::nullopt};
    auto& sig = out.signal;
    sig.features["channel"] = {{"upper", in->upper}, {"lower", in->lower}};
    sig.features["atr"] = *a;
    direction want = direction::flat;
    if (close > in->upper) want = direction::long_;
    else if (close < in->lower) want = direction::short_;
    if (want != direction::flat) {
      const double level = want == direction::long_ ? in->upper : in->lower;
      sig.dir = want;
      sig.strength = detail::clamp01(std::fabs(close - level) / *a);
      sig.reason = std::string("close ") + (want == direction::long_ ? "above the " : "below the ") +
                   std::to_string(p_.entry_period) + "-bar " + (want == direction::long_ ? "high " : "low ") + num(level);
      finish_entry(sig, news);
      if (sig.dir != direction::flat) {
        if (pos_) {
          sig.reason += " | no proposal: a position is open";
        } else {
          const int sg = detail::sign_of(want);
          std::optional<decimal> tp;
          if (p_.take_profit_atr > 0) tp = b.close + to_decimal(sg * p_.take_profit_atr * *a);
          out.proposal = make_proposal(sig, want, b.close, b.close - to_decimal(sg * p_.stop_atr * *a), tp);
        }
      }
    } else {
      sig.reason = "inside the " + std::to_string(p_.entry_period) + "-bar channel";
    }
    if (pos_) {
      const bool is_long = pos_->dir == direction::long_;
      if (is_long ? close < ex->lower : close > ex->upper)
        out.exit = exit_request{exit_kind::close, exit_reason::signal_exit, std::nullopt,
                                "close beyond the " + std::to_string(p_.exit_period) + "-bar exit channel"};
    }
    if (out.exit) sig.reason += " | exit: " + out.exit->text;
    sig.reason += " | " + inputs_text(now, std::nullopt, std::nullopt);
    return {std::move(out)};
  }

 private:
  breakout_params p_;
  ind::donchian entry_, exit_;
  ind::atr atr_;
};

class funding_bias final : public detail::strategy_base {
 public:
  funding_bias(const funding_bias_params& p, const context& ctx)
      : strategy_base("funding_bias", ctx), p_(p), atr_(p.atr_period) {}

  void on_funding(double rate, timestamp at) override {
    strategy_base::on_funding(rate, at);
    funding_time_ = at;
  }

  std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) override {
    accept_bar(b, tf, now);
    if (tf != p_.tf) return {};
    track_best(b);
    const auto a = atr_.update(b.high.to_double(), b.low.to_double(), b.close.to_double());
    if (!a) return {};
    const auto f = funding_at(now, hours(p_.funding_max_age_hours));
    const auto news = news_at(now);
    output out{make_signal(b, tf, now), std::nullopt, std::nullopt};
    auto& sig = out.signal;
    sig.features["atr"] = *a;
    direction want = direction::flat;
    if (f && *f >= p_.extreme_rate) want = direction::short_;  // longs crowded: lean short
    else if (f && *f <= -p_.extreme_rate) want = direction::long_;
    if (want != direction::flat) {
      sig.dir = want;
      sig.strength = detail::clamp01(std::fabs(*f) / (2.0 * p_.extreme_rate));
      sig.reason = "funding " + num(*f, 6) + (want == direction::short_ ? " >= " : " <= -") + num(p_.extreme_rate, 6) + ": contrarian " +
                   std::string(to_string(want));
      finish_entry(sig, news);
      if (sig.dir != direction::flat) {
        if (pos_) {
          sig.reason += " | no proposal: a position is open";
        } else if (used_ && *used_ == funding_time_) {
          sig.reason += " | no proposal: this funding print was already traded";
        } else {
          const int sg = detail::sign_of(want);
          std::optional<decimal> tp;
          if (p_.take_profit_atr > 0) tp = b.close + to_decimal(sg * p_.take_profit_atr * *a);
          out.proposal = make_proposal(sig, want, b.close, b.close - to_decimal(sg * p_.stop_atr * *a), tp);
          if (out.proposal) used_ = funding_time_;
        }
      }
    } else {
      sig.reason = f ? "funding " + num(*f, 6) + " not extreme" : "no recent funding";
    }
    if (pos_ && f) {
      const bool is_long = pos_->dir == direction::long_;
      if (is_long ? *f >= -p_.exit_rate : *f <= p_.exit_rate)
        out.exit = exit_request{exit_kind::close, exit_reason::signal_exit, std::nullopt, "funding normalised (" + num(*f, 6) + ")"};
    }
    if (out.exit) sig.reason += " | exit: " + out.exit->text;
    sig.reason += " | " + inputs_text(now, std::nullopt, f);
    return {std::move(out)};
  }

 private:
  funding_bias_params p_;
  ind::atr atr_;
  timestamp funding_time_;
  std::optional<timestamp> used_;
};

}  // namespace

std::unique_ptr<strategy> make_trend_following(const trend_following_params& p, const context& ctx);
std::unique_ptr<strategy> make_multi_factor(const multi_factor_params& p, const context& ctx);

std::unique_ptr<strategy> make_strategy(const any_params& params, const context& ctx) {
  switch (params.index()) {
    case 0: return make_trend_following(std::get<0>(params), ctx);
    case 1: return make_multi_factor(std::get<1>(params), ctx);
    case 2: return std::make_unique<mean_reversion>(std::get<2>(params), ctx);
    case 3: return std::make_unique<breakout>(std::get<3>(params), ctx);
    default: return std::make_unique<funding_bias>(std::get<4>(params), ctx);
  }
}

}  // namespace pt::strategy
