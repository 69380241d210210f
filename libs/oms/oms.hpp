#pragma once
// pt::oms — the order manager's pure core (no CAF, no I/O, time passed in):
//   * order_machine: one order's life, legal transitions only, idempotent event application;
//   * protection_plan: one position's entry -> protective stop -> take-profit, and whether it is
//     protected right now;
//   * client_order_id: the deterministic venue client id of a decision's leg (contracts).
// services/execution drives these from the venue's answers, private stream and REST queries.
#include "core/decimal.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::oms {

using core::decimal;

// ---- order state machine --------------------------------------------------------------------
//   created --send--> in_flight --ack--> acked --fill(part)--> partial --fill(rest)--> filled
//   in_flight / acked / partial --cancel--> cancelled, --expire--> expired
//   in_flight --reject--> rejected; in_flight --fill--> partial/filled (a market order's ack can
//   already carry the fill, or the stream reports the fill before the REST answer).
// Final: filled, cancelled, rejected, expired. Nothing leaves a final state.
enum class order_status : std::uint8_t { created, in_flight, acked, partial, filled, cancelled, rejected, expired };
enum class order_event_kind : std::uint8_t { send, ack, fill, cancel, reject, expire };

[[nodiscard]] const char* to_string(order_status s);
[[nodiscard]] bool is_final(order_status s);

struct order_event {
  order_event_kind kind = order_event_kind::ack;
  decimal cum_filled;  // fill (and cancel/expire of a partially filled order): cumulative filled qty
  std::optional<decimal> avg_price;
};

enum class apply_result : std::uint8_t {
  applied,    // the state changed
  duplicate,  // already known (same state / same or smaller cumulative fill): no effect
  illegal,    // not a legal transition: no effect; the caller logs it and asks the venue
};
[[nodiscard]] const char* to_string(apply_result r);

class order_machine {
 public:
  // qty in the venue's order unit; throws std::invalid_argument when qty <= 0.
  explicit order_machine(decimal qty);

  apply_result apply(const order_event& e);

  [[nodiscard]] order_status status() const { return status_; }
  [[nodiscard]] decimal qty() const { return qty_; }
  [[nodiscard]] decimal filled() const { return filled_; }
  [[nodiscard]] std::optional<decimal> avg_price() const { return avg_; }
  [[nodiscard]] bool final() const { return is_final(status_); }

 private:
  apply_result apply_fill(const order_event& e);
  decimal qty_;
  decimal filled_;
  std::optional<decimal> avg_;
  order_status status_ = order_status::created;
};

// ---- protection plan ------------------------------------------------------------------------
// One position: entry -> protective stop (venue-native or the guardian) -> take-profit. The
// position is protected only while it is open AND the stop is confirmed in force.
enum class plan_phase : std::uint8_t {
  awaiting_entry,  // entry sent, not filled
  unprotected,     // entry filled, stop not (yet) confirmed
  protected_,      // entry filled, stop confirmed
  closing,         // a close was sent (exit, kill switch, protection timeout)
  closed,          // flat
};
[[nodiscard]] const char* to_string(plan_phase p);

class protection_plan {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  // stop_price: where the protective stop goes; take_profit optional.
  protection_plan(decimal stop_price, std::optional<decimal> take_profit);

  // Throws std::logic_error on a call out of order (a bug in the caller).
  void entry_filled(decimal qty, decimal price, time_point at);
  void stop_requested(time_point at);  // the stop order / guardian arm was sent
  void stop_confirmed(std::string by);  // "native" | "guardian"
  void stop_moved(decimal new_stop);    // needs a new confirmation
  void take_profit_placed();
  void closing();
  void closed();

  [[nodiscard]] bool is_protected() const { return phase_ == plan_phase::protected_; }
  [[nodiscard]] plan_phase phase() const { return phase_; }
  // True when the entry is filled, the stop is unconfirmed, and `timeout` has passed since the fill.
  [[nodiscard]] bool protection_overdue(time_point now, std::chrono::milliseconds timeout) const;

  [[nodiscard]] decimal stop_price() const { return stop_; }
  [[nodiscard]] std::optional<decimal> take_profit() const { return tp_; }
  [[nodiscard]] bool take_profit_in_place() const { return tp_placed_; }
  [[nodiscard]] const std::string& confirmed_by() const { return by_; }
  [[nodiscard]] decimal entry_qty() const { return qty_; }
  [[nodiscard]] decimal entry_price() const { return price_; }
  [[nodiscard]] bool stop_sent() const { return stop_sent_; }

 private:
  decimal stop_;
  std::optional<decimal> tp_;
  decimal qty_, price_;
  time_point filled_at_{};
  bool stop_sent_ = false;
  bool tp_placed_ = false;
  std::string by_;
  plan_phase phase_ = plan_phase::awaiting_entry;
};

// ---- client order ids -----------------------------------------------------------------------
// "pt" + first 30 hex chars of sha256(decision_id + ":" + leg): 32 chars of [0-9a-f] after "pt".
// leg: entry | stop | tp | exit-N | flat-N (N >= 1), and stop-N for a moved stop (Binance
// refuses a reused clientAlgoId; an extension of the contract), entry-N for the children of a
// sliced entry after the first and tp-N for its resized take-profit. Throws std::invalid_argument for an empty
// decision_id or an unknown leg.
[[nodiscard]] std::string client_order_id(std::string_view decision_id, std::string_view leg);
[[nodiscard]] bool valid_leg(std::string_view leg);

}  // namespace pt::oms
