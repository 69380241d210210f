#include "risk/reasons.hpp"

#include <array>
#include <utility>

namespace pt::risk {

namespace {
using R = reason_code;
constexpr std::array<std::pair<R, std::string_view>, 26> names{{
    {R::trading_state, "TRADING_STATE"},
    {R::equity_floor, "EQUITY_FLOOR"},
    {R::daily_loss_limit, "DAILY_LOSS_LIMIT"},
    {R::drawdown_limit, "DRAWDOWN_LIMIT"},
    {R::position_limit, "POSITION_LIMIT"},
    {R::leverage_limit, "LEVERAGE_LIMIT"},
    {R::consecutive_losses, "CONSECUTIVE_LOSSES"},
    {R::losses_24h, "LOSSES_24H"},
    {R::cooldown_after_loss, "COOLDOWN_AFTER_LOSS"},
    {R::cooldown_after_daily_loss, "COOLDOWN_AFTER_DAILY_LOSS"},
    {R::cooldown_after_stop_out, "COOLDOWN_AFTER_STOP_OUT"},
    {R::symbol_exposure, "SYMBOL_EXPOSURE"},
    {R::stop_missing, "STOP_MISSING"},
    {R::stop_wrong_side, "STOP_WRONG_SIDE"},
    {R::stop_too_far, "STOP_TOO_FAR"},
    {R::funding_rate, "FUNDING_RATE"},
    {R::news_risk, "NEWS_RISK"},
    {R::margin_ratio, "MARGIN_RATIO"},
    {R::order_quantity, "ORDER_QUANTITY"},
    {R::order_price, "ORDER_PRICE"},
    {R::order_notional, "ORDER_NOTIONAL"},
    {R::invalid_input, "INVALID_INPUT"},
    {R::no_edge, "NO_EDGE"},
    {R::size_below_min_qty, "SIZE_BELOW_MIN_QTY"},
    {R::size_below_min_notional, "SIZE_BELOW_MIN_NOTIONAL"},
    {R::no_capacity, "NO_CAPACITY"},
}};
}  // namespace

std::string_view to_string(reason_code r) {
  for (const auto& [k, v] : names)
    if (k == r) return v;
  return "UNKNOWN";
}

std::optional<reason_code> reason_from_string(std::string_view s) {
  for (const auto& [k, v] : names)
    if (v == s) return k;
  return std::nullopt;
}

}  // namespace pt::risk
