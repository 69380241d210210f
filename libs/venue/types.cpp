#include "venue/types.hpp"

#include "venue/venue.hpp"

#include <stdexcept>

namespace pt::venue {

const char* to_string(side s) { return s == side::buy ? "buy" : "sell"; }

const char* to_string(order_state s) {
  switch (s) {
    case order_state::pending_new: return "pending_new";
    case order_state::open: return "open";
    case order_state::partially_filled: return "partially_filled";
    case order_state::filled: return "filled";
    case order_state::cancelled: return "cancelled";
    case order_state::expired: return "expired";
    case order_state::rejected: return "rejected";
  }
  return "?";
}

bool is_final(order_state s) {
  return s == order_state::filled || s == order_state::cancelled || s == order_state::expired ||
         s == order_state::rejected;
}

order_request round_to_instrument(order_request r, const instrument& inst) {
  if (r.price) {
    if (inst.tick.is_zero() || inst.tick.is_negative())
      throw std::invalid_argument(r.symbol + ": instrument has no tick");
    // A buy rounds down and a sell up: rounding never makes a limit more aggressive.
    r.price = core::round_price_to_tick(*r.price, inst.tick,
                                        r.s == side::buy ? core::rounding::floor : core::rounding::ceil);
    if (r.price->is_zero() || r.price->is_negative())
      throw std::invalid_argument(r.symbol + ": price rounds to zero");
  }
  if (inst.lot.is_zero() || inst.lot.is_negative()) throw std::invalid_argument(r.symbol + ": instrument has no lot");
  r.qty = core::round_qty_to_lot(r.qty, inst.lot);
  if (r.qty.is_zero() || r.qty < inst.min_qty)
    throw std::invalid_argument(r.symbol + ": quantity " + r.qty.to_string() + " is below the minimum " +
                                inst.min_qty.to_string());
  return r;
}

}  // namespace pt::venue
