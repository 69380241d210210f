#pragma once
// Plumbing shared by the strategies: bar checks (closed, in order, sane), the external inputs
// with their neutral "absent" treatment, the open position with its best price since entry, the
// trailing-stop memory, and signal/proposal construction with deterministic ids.
#include "strategy/strategy.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <string>

namespace pt::strategy::detail {

class strategy_base : public strategy {
 public:
  strategy_base(std::string name, context ctx);

  std::string_view name() const override { return name_; }
  void on_position(const std::optional<position>& p, timestamp now) override;
  void on_funding(double rate, timestamp at) override;
  void on_model(const std::optional<model_prediction>& m) override { model_ = m; }
  void on_news(const std::optional<news_risk>& n) override { news_ = n; }

 protected:
  // Throws strategy_error unless b is closed at `now`, newer than the last bar of tf, and sane.
  void accept_bar(const bar& b, timeframe tf, timestamp now);
  // Raises (long) / lowers (short) the best price with a bar that opened at or after the entry.
  void track_best(const bar& b);

  std::optional<double> funding_at(timestamp now, std::chrono::nanoseconds max_age) const;
  std::optional<double> model_at(timestamp now, std::chrono::nanoseconds max_age) const;
  std::optional<news_level> news_at(timestamp now) const;
  // "model: ... | news: ... | funding: ..." as every reason ends.
  std::string inputs_text(timestamp now, std::optional<double> model, std::optional<double> funding) const;

  trading_signal make_signal(const bar& b, timeframe tf, timestamp now) const;
  // A market-order proposal for dir at price with stop and optional take-profit; nullopt (with
  // the why appended to the signal's reason) when a price would not be positive.
  std::optional<trade_proposal> make_proposal(trading_signal& sig, direction dir, decimal price,
                                              decimal stop, std::optional<decimal> take_profit) const;
  // A move_stop request when `candidate` is tighter than the stop in force (position's or the
  // last one we asked for); remembers it.
  std::optional<exit_request> tighten_stop(decimal candidate, exit_reason why, std::string text);

  const std::string name_;
  const context ctx_;
  std::optional<position> pos_;
  std::optional<decimal> sent_stop_;  // last move_stop asked for the current position

 private:
  std::array<std::optional<timestamp>, 6> last_open_{};
  std::optional<std::pair<double, timestamp>> funding_;
  std::optional<model_prediction> model_;
  std::optional<news_risk> news_;
};

double clamp01(double x);
int sign_of(direction d);  // +1 long, -1 short, 0 flat

}  // namespace pt::strategy::detail
