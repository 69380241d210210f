#pragma once
// Every reason code the risk engine gives, as an enum and as the stable upper-case string that
// goes into risk.decision.rejected's reason_code (pattern ^[A-Z][A-Z0-9_]{1,63}$). The strings
// are part of the contract: never rename one, only add.
#include <optional>
#include <string_view>

namespace pt::risk {

enum class reason_code {
  // pre-order checklist (checklist.hpp), seed 004 §9 item numbers in README.md
  trading_state,          // the trading state is not "running" (entries only)
  equity_floor,           // 1: equity below the operational minimum
  daily_loss_limit,       // 1: loss since the UTC day's opening equity at/over the limit
  drawdown_limit,         // 2: drawdown from peak at/over the limit
  position_limit,         // 3: no room for another position
  leverage_limit,         // 4: (open + proposed notional) / equity over the leverage cap
  consecutive_losses,     // 5: consecutive losses at the limit
  losses_24h,             // 5 / breaker table: losses in the last 24h at the limit
  cooldown_after_loss,    // 6: too soon after the last loss
  cooldown_after_daily_loss,  // 6: too soon after the max daily loss was hit
  cooldown_after_stop_out,    // 6 (per symbol, ours): too soon after a stop-out on this symbol
  symbol_exposure,        // 7: already exposed to the symbol, or over the per-symbol cap
  stop_missing,           // 8: entry without a stop
  stop_wrong_side,        // 8: stop not beyond the entry on the losing side
  stop_too_far,           // 8: stop distance over k x ATR (or ATR unknown)
  funding_rate,           // 9: |funding| over the block threshold (or unknown)
  news_risk,              // 10: HIGH news risk within the block window
  margin_ratio,           // 11: projected margin ratio at/over the limit
  order_quantity,         // 12: quantity <= 0, below min qty or not a multiple of the lot
  order_price,            // 12: price <= 0 or (limit) not a multiple of the tick
  order_notional,         // 12: notional below the venue's min notional
  // sizing (sizing.hpp)
  invalid_input,          // equity/entry/stop not usable (<= 0, stop == entry, wrong side)
  no_edge,                // Kelly: p - (1-p)/b <= 0
  size_below_min_qty,     // rounded-down size below the venue's min qty
  size_below_min_notional,  // rounded-down size below the venue's min notional
  no_capacity,            // leverage / exposure / liquidity caps leave no room
};

[[nodiscard]] std::string_view to_string(reason_code r);
[[nodiscard]] std::optional<reason_code> reason_from_string(std::string_view s);

}  // namespace pt::risk
