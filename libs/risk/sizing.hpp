#pragma once
// Position sizing (seed 004 §9 "Position Sizing Formula", issue 4 item 4):
//
//   risk amount  = equity x risk_per_trade                         (rounded down)
//   [Kelly]      = min(risk amount, equity x kelly_fraction x f*),  f* = p - (1-p)/b
//   base qty     = risk amount / |entry - stop|                     (rounded down)
//   x (1 - funding_size_cut)      when |funding| > funding_reduce_above   (§9 item 9)
//   x (1 - news_medium_size_cut)  when the news risk is MEDIUM           (§8, §9 item 10)
//   x (1 - max(0, rho_eff))       rho_eff = rho for an open position in the same direction,
//                                 -rho for one in the opposite direction (ours)
//   notional     <= min(equity x leverage - open notional,          (§9 leverage cap)
//                       max_symbol_exposure x equity x leverage,    (§9 symbol exposure)
//                       max_volume_participation x 24h quote volume,  (ours, thin liquidity)
//                       max_depth_participation x book depth)         (ours, thin liquidity)
//   venue qty    = base qty / contract size, rounded DOWN to the lot; below min qty or min
//                  notional: rejected with a reason.
//
// Every step only ever makes the size smaller; each one applied is recorded in `steps`.
#include "risk/limits.hpp"
#include "risk/reasons.hpp"
#include "risk/types.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::risk {

// The strategy's measured record: win rate p in [0, 1], payoff b = average win / average loss
// (> 0), over `trades` closed trades.
struct kelly_stats {
  double win_rate = 0;
  double payoff = 0;
  int trades = 0;
};

// Full Kelly fraction f* = p - (1 - p) / b. NaN for p outside [0, 1] or b <= 0 / not finite.
[[nodiscard]] double kelly_fraction(double win_rate, double payoff);

// News risk for the symbol as the news service publishes it (already decayed, seed 004 §8).
// `absent` (no news input yet) is treated like LOW: no size change, no block; the decision
// record says "absent".
enum class news_level { absent, low, medium, high };
[[nodiscard]] std::string_view to_string(news_level n);

struct liquidity {
  std::optional<decimal> quote_volume_24h;  // recent 24h quote volume of the symbol
  std::optional<decimal> book_depth_quote;  // quote depth on the side the order takes
};

// Correlation of daily returns between the proposed symbol and one open position.
struct position_correlation {
  std::string symbol;
  side direction = side::buy;  // of the open position
  double rho = 0;              // in [-1, 1]
};

struct sizing_request {
  decimal equity;  // mark-to-market, quote
  side direction = side::buy;
  decimal entry;  // expected entry price (limit price or reference for market)
  decimal stop;
  instrument inst;
  std::vector<open_position> open;  // for the leverage room
  std::vector<position_correlation> correlations;
  std::optional<kelly_stats> kelly;  // used only when config.kelly_enabled
  liquidity liq;                     // an absent figure applies no cap (recorded in steps)
  std::optional<decimal> funding_rate;  // absent: no reduction here (the checklist fails closed)
  news_level news = news_level::absent;
};

struct sizing_result {
  std::optional<reason_code> reject;  // empty: sized
  std::string detail;                 // why rejected
  decimal quantity;                   // venue quantity (contracts or base), multiple of the lot
  decimal base_quantity;              // quantity x contract size
  decimal notional;                   // base_quantity x entry
  decimal risk_amount;                // base_quantity x |entry - stop|, rounded up
  decimal leverage;                   // to set on the account: applied_leverage()
  std::vector<std::string> steps;     // each rule applied, in order

  [[nodiscard]] bool ok() const { return !reject.has_value(); }
};

[[nodiscard]] sizing_result size_position(const risk_config& cfg, const sizing_request& req);

}  // namespace pt::risk
