#pragma once
// The pre-order risk checklist of seed 004 §9 (items 1-12) plus the trading-state gate. Every
// check runs every time and reports passed or failed with its reason code, so the decision
// event records all of them; the order is approved only when none failed.
//
// Entries run every check. Reduce-only orders (exits, partial closes) are always allowed
// (§9 item 3 "If exit order: always allowed"; issue 4: reducing is allowed in every state):
// they run only the order-validity checks that the venue would refuse anyway (quantity, price).
#include "risk/limits.hpp"
#include "risk/reasons.hpp"
#include "risk/sizing.hpp"
#include "risk/types.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::risk {

enum class order_type { market, limit };

struct order_intent {
  std::string symbol;
  side direction = side::buy;
  order_type type = order_type::market;
  decimal quantity;  // venue quantity
  decimal price;     // limit price, or the reference entry price for a market order
  std::optional<decimal> stop;  // the protective stop that goes with an entry
  bool reduce_only = false;
};

// Account figures, marked to market at `now`.
struct account_state {
  decimal equity;            // mark-to-market: wallet + unrealized PnL
  decimal day_open_equity;   // equity at the UTC day's start (equity_tracker)
  decimal peak_equity;       // highest equity seen (equity_tracker)
  decimal maintenance_margin;  // current, quote
  std::vector<open_position> positions;
};

// Loss history (trading_state_machine::stats()).
struct loss_stats {
  int consecutive_losses = 0;
  int losses_24h = 0;
  std::optional<timestamp> last_loss;
  std::optional<timestamp> last_daily_loss_hit;
  std::optional<timestamp> last_stop_out_symbol;  // for this order's symbol
};

struct market_state {
  std::optional<decimal> atr;           // ATR of the strategy's stop timeframe (seed 004 §7: 4h)
  std::optional<decimal> funding_rate;  // current rate as a fraction (0.0001 = 0.01 %)
  news_level news = news_level::absent;
  std::optional<timestamp> last_high_news;  // latest HIGH flag for the symbol
};

struct checklist_input {
  timestamp now;
  bool entries_allowed = false;  // trading_state_machine::allows_entry()
  order_intent order;
  instrument inst;
  account_state account;
  loss_stats losses;
  market_state market;
};

struct check_outcome {
  reason_code code;
  bool passed = false;
  std::string detail;
};

struct checklist_result {
  std::vector<check_outcome> checks;  // every check run, in checklist order

  [[nodiscard]] bool approved() const;
  [[nodiscard]] std::vector<check_outcome> failed() const;
  [[nodiscard]] std::vector<check_outcome> passed() const;
  [[nodiscard]] const check_outcome* find(reason_code c) const;
  // The first failure's code and all failures joined ("A: ...; B: ...") for
  // risk.decision.rejected's reason_code / reason.
  [[nodiscard]] std::optional<reason_code> primary_reason() const;
  [[nodiscard]] std::string reason_text() const;
};

[[nodiscard]] checklist_result evaluate_checklist(const risk_config& cfg, const checklist_input& in);

}  // namespace pt::risk
