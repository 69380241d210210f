#include "strategy/base.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pt::strategy::detail {

double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

int sign_of(direction d) { return d == direction::long_ ? 1 : d == direction::short_ ? -1 : 0; }

namespace {

// Ids must match ^[A-Za-z0-9_.:\-]+$ (proto): other characters of a symbol ("BTC/USDT") become '-'.
std::string id_safe(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) c = '-';
  }
  return out;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", digits, x);
  return buf;
}

}  // namespace

strategy_base::strategy_base(std::string name, context ctx) : name_(std::move(name)), ctx_(std::move(ctx)) {}

void strategy_base::on_position(const std::optional<position>& p, timestamp) {
  if (p && p->dir == direction::flat) throw strategy_error("position direction must be long or short");
  const bool same = p && pos_ && p->dir == pos_->dir && p->entry_time == pos_->entry_time;
  if (!same) sent_stop_.reset();
  decimal best = p ? p->best_price : decimal::zero();
  // Keep the best price we saw ourselves when the report is about the same position.
  if (same) best = p->dir == direction::long_ ? std::max(best, pos_->best_price) : std::min(best, pos_->best_price);
  pos_ = p;
  if (pos_) pos_->best_price = best;
}

void strategy_base::on_funding(double rate, timestamp at) {
  if (!std::isfinite(rate)) throw strategy_error("funding rate is not finite");
  funding_ = std::make_pair(rate, at);
}

void strategy_base::accept_bar(const bar& b, timeframe tf, timestamp now) {
  if (close_time(b, tf) > now)
    throw strategy_error("bar " + std::string(to_string(tf)) + " at " + b.open_time.to_iso8601() +
                         " has not closed at " + now.to_iso8601());
  auto& last = last_open_[static_cast<std::size_t>(tf)];
  if (last && b.open_time <= *last)
    throw strategy_error("bar " + std::string(to_string(tf)) + " at " + b.open_time.to_iso8601() +
                         " is not after the previous one");
  const decimal z = decimal::zero();
  if (b.low <= z || b.high < b.low || b.open < b.low || b.open > b.high || b.close < b.low ||
      b.close > b.high || b.volume < z)
    throw strategy_error("bar at " + b.open_time.to_iso8601() + " has inconsistent prices");
  last = b.open_time;
}

void strategy_base::track_best(const bar& b) {
  if (!pos_ || b.open_time < pos_->entry_time) return;
  if (pos_->dir == direction::long_) pos_->best_price = std::max(pos_->best_price, b.high);
  else pos_->best_price = pos_->best_price == decimal::zero() ? b.low : std::min(pos_->best_price, b.low);
}

std::optional<double> strategy_base::funding_at(timestamp now, std::chrono::nanoseconds max_age) const {
  if (!funding_ || funding_->second > now || now - funding_->second > max_age) return std::nullopt;
  return funding_->first;
}

std::optional<double> strategy_base::model_at(timestamp now, std::chrono::nanoseconds max_age) const {
  if (!model_ || model_->at > now || now - model_->at > max_age || !std::isfinite(model_->score))
    return std::nullopt;
  return std::clamp(model_->score, -1.0, 1.0);
}

std::optional<news_level> strategy_base::news_at(timestamp now) const {
  if (!news_ || news_->at > now) return std::nullopt;
  return effective_level(*news_, now);
}

std::string strategy_base::inputs_text(timestamp now, std::optional<double> model,
                                       std::optional<double> funding) const {
  std::string s = model ? "model: " + fixed(*model, 3) : "model: absent (neutral 0)";
  if (auto n = news_at(now)) s += " | news: " + std::string(to_string(*n));
  else s += " | news: absent (neutral LOW)";
  if (funding) s += " | funding: " + fixed(*funding, 6);
  else s += " | funding: absent (neutral)";
  return s;
}

trading_signal strategy_base::make_signal(const bar& b, timeframe tf, timestamp now) const {
  trading_signal s;
  const timestamp closed = close_time(b, tf);
  s.signal_id = id_safe(name_ + ":" + ctx_.symbol + ":" + std::string(to_string(tf)) + ":" +
                        std::to_string(closed.millis()));
  s.strategy = name_;
  s.venue = ctx_.venue;
  s.symbol = ctx_.symbol;
  s.ts = now;
  s.dir = direction::flat;
  s.strength = 0.0;
  s.price = b.close;
  s.timeframe = std::string(to_string(tf));
  s.features = nlohmann::json::object();
  s.features["bar_open_time"] = b.open_time.to_iso8601();
  return s;
}

std::optional<trade_proposal> strategy_base::make_proposal(trading_signal& sig, direction dir, decimal price,
                                                           decimal stop, std::optional<decimal> take_profit) const {
  const decimal z = decimal::zero();
  const bool ok = stop > z && (!take_profit || *take_profit > z) &&
                  (dir == direction::long_ ? stop < price : stop > price);
  if (!ok) {
    sig.reason += " | no proposal: stop/take-profit not on the right side of the price or not positive";
    return std::nullopt;
  }
  trade_proposal p;
  p.proposal_id = sig.signal_id + ":p";
  p.signal_id = sig.signal_id;
  p.correlation_id = sig.signal_id;  // the signal starts the chain: risk and execution carry it on
  p.strategy = name_;
  p.venue = ctx_.venue;
  p.symbol = ctx_.symbol;
  p.s = dir == direction::long_ ? side::buy : side::sell;
  p.type = order_type::market;
  p.entry_price = price;
  p.stop_loss = stop;
  p.take_profit = take_profit;
  p.ts = sig.ts;
  return p;
}

std::optional<exit_request> strategy_base::tighten_stop(decimal candidate, exit_reason why, std::string text) {
  if (!pos_ || candidate <= decimal::zero()) return std::nullopt;
  const bool is_long = pos_->dir == direction::long_;
  std::optional<decimal> current = sent_stop_ ? sent_stop_ : pos_->stop;
  if (sent_stop_ && pos_->stop)
    current = is_long ? std::max(*sent_stop_, *pos_->stop) : std::min(*sent_stop_, *pos_->stop);
  if (current && (is_long ? candidate <= *current : candidate >= *current)) return std::nullopt;
  sent_stop_ = candidate;
  exit_request e;
  e.kind = exit_kind::move_stop;
  e.reason = why;
  e.new_stop = candidate;
  e.text = std::move(text);
  return e;
}

}  // namespace pt::strategy::detail
