#pragma once
// Inputs shared by sizing and the checklist: what the risk service knows about the instrument,
// the account and the open positions. All money and quantities are decimals.
#include "core/decimal.hpp"
#include "core/time.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pt::risk {

using core::decimal;
using core::timestamp;

enum class side { buy, sell };  // buy opens / adds to a long, sell a short

// The venue's filters for one symbol (market catalog / exchangeInfo).
struct instrument {
  std::string symbol;
  decimal contract_size = decimal::one();  // base units per venue quantity unit (1 on Binance)
  decimal lot_size;                        // venue quantity step
  decimal min_qty;                         // venue quantity
  decimal min_notional;                    // quote
  decimal tick_size;                       // price step
  decimal max_leverage;                    // the venue's max for this symbol (<= 0: unknown)
  decimal maintenance_margin_rate;         // fraction of notional, for the projected margin ratio
};

struct open_position {
  std::string symbol;
  side direction = side::buy;
  decimal notional;  // quote, absolute value, marked to market
};

// Double -> decimal with an explicit rounding direction (ratios such as Kelly fractions and
// correlations are doubles; money never is). Throws core::decimal_error for NaN, infinities and
// values outside the decimal range.
[[nodiscard]] decimal to_decimal(double x, core::rounding mode);

}  // namespace pt::risk
