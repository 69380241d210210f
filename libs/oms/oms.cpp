#include "oms/oms.hpp"

#include <openssl/sha.h>

#include <cctype>

namespace pt::oms {

const char* to_string(order_status s) {
  switch (s) {
    case order_status::created: return "created";
    case order_status::in_flight: return "in_flight";
    case order_status::acked: return "acked";
    case order_status::partial: return "partial";
    case order_status::filled: return "filled";
    case order_status::cancelled: return "cancelled";
    case order_status::rejected: return "rejected";
    case order_status::expired: return "expired";
  }
  return "?";
}

bool is_final(order_status s) {
  return s == order_status::filled || s == order_status::cancelled || s == order_status::rejected ||
         s == order_status::expired;
}

const char* to_string(apply_result r) {
  switch (r) {
    case apply_result::applied: return "applied";
    case apply_result::duplicate: return "duplicate";
    case apply_result::illegal: return "illegal";
  }
  return "?";
}

const char* to_string(plan_phase p) {
  switch (p) {
    case plan_phase::awaiting_entry: return "awaiting_entry";
    case plan_phase::unprotected: return "unprotected";
    case plan_phase::protected_: return "protected";
    case plan_phase::closing: return "closing";
    case plan_phase::closed: return "closed";
  }
  return "?";
}

order_machine::order_machine(decimal qty) : qty_(qty) {
  if (!qty.is_positive()) throw std::invalid_argument("oms: order qty must be > 0");
}

apply_result order_machine::apply_fill(const order_event& e) {
  if (e.cum_filled.is_negative() || e.cum_filled > qty_) return apply_result::illegal;
  if (e.cum_filled <= filled_) {
    // An older or repeated report (stream and REST both tell the same fill).
    return e.cum_filled.is_zero() && status_ == order_status::in_flight ? apply_result::illegal : apply_result::duplicate;
  }
  filled_ = e.cum_filled;
  if (e.avg_price) avg_ = e.avg_price;
  status_ = filled_ == qty_ ? order_status::filled : order_status::partial;
  return apply_result::applied;
}

apply_result order_machine::apply(const order_event& e) {
  using S = order_status;
  using K = order_event_kind;
  const S s = status_;
  switch (e.kind) {
    case K::send:
      if (s == S::created) {
        status_ = S::in_flight;
        return apply_result::applied;
      }
      return s == S::in_flight ? apply_result::duplicate : apply_result::illegal;
    case K::ack:
      if (s == S::in_flight) {
        status_ = S::acked;
        return apply_result::applied;
      }
      // A late ack after the fill or the cancel was seen: nothing new.
      if (s == S::acked || s == S::partial || s == S::filled || s == S::cancelled || s == S::expired)
        return apply_result::duplicate;
      return apply_result::illegal;  // created (never sent) or rejected
    case K::fill:
      if (s == S::in_flight || s == S::acked || s == S::partial) return apply_fill(e);
      if (s == S::filled) return e.cum_filled == qty_ ? apply_result::duplicate : apply_result::illegal;
      // Fills reported late for an order cancelled after a partial fill: only the known amount.
      if ((s == S::cancelled || s == S::expired) && e.cum_filled <= filled_) return apply_result::duplicate;
      return apply_result::illegal;
    case K::cancel:
    case K::expire: {
      const S to = e.kind == K::cancel ? S::cancelled : S::expired;
      if (s == S::in_flight || s == S::acked || s == S::partial) {
        if (e.cum_filled > filled_ && e.cum_filled <= qty_) filled_ = e.cum_filled;  // the final report's fill
        status_ = to;
        return apply_result::applied;
      }
      return s == to ? apply_result::duplicate : apply_result::illegal;
    }
    case K::reject:
      if (s == S::in_flight) {
        status_ = S::rejected;
        return apply_result::applied;
      }
      return s == S::rejected ? apply_result::duplicate : apply_result::illegal;
  }
  return apply_result::illegal;
}

protection_plan::protection_plan(decimal stop_price, std::optional<decimal> take_profit)
    : stop_(stop_price), tp_(take_profit) {
  if (!stop_price.is_positive()) throw std::invalid_argument("oms: stop price must be > 0");
}

void protection_plan::entry_filled(decimal qty, decimal price, time_point at) {
  if (phase_ != plan_phase::awaiting_entry) throw std::logic_error("oms: entry filled twice");
  qty_ = qty;
  price_ = price;
  filled_at_ = at;
  phase_ = plan_phase::unprotected;
}

void protection_plan::stop_requested(time_point) {
  if (phase_ == plan_phase::awaiting_entry) throw std::logic_error("oms: stop before the entry fill");
  stop_sent_ = true;
}

void protection_plan::stop_confirmed(std::string by) {
  if (phase_ != plan_phase::unprotected && phase_ != plan_phase::protected_)
    throw std::logic_error(std::string("oms: stop confirmed in phase ") + to_string(phase_));
  if (!stop_sent_) throw std::logic_error("oms: stop confirmed but never sent");
  by_ = std::move(by);
  phase_ = plan_phase::protected_;
}

void protection_plan::stop_moved(decimal new_stop) {
  if (!new_stop.is_positive()) throw std::invalid_argument("oms: stop price must be > 0");
  stop_ = new_stop;
  // The old stop stays in force until the new one is confirmed (the venue or guardian replaces it),
  // so the phase does not drop to unprotected.
}

void protection_plan::take_profit_placed() {
  if (!tp_) throw std::logic_error("oms: no take-profit in this plan");
  tp_placed_ = true;
}

void protection_plan::closing() {
  if (phase_ == plan_phase::closed) return;
  phase_ = plan_phase::closing;
}

void protection_plan::closed() { phase_ = plan_phase::closed; }

bool protection_plan::protection_overdue(time_point now, std::chrono::milliseconds timeout) const {
  return phase_ == plan_phase::unprotected && now - filled_at_ >= timeout;
}

bool valid_leg(std::string_view leg) {
  if (leg == "entry" || leg == "stop" || leg == "tp") return true;
  for (std::string_view p : {"exit-", "flat-", "stop-", "entry-", "tp-"}) {
    if (leg.substr(0, p.size()) != p) continue;
    const auto n = leg.substr(p.size());
    if (n.empty() || n.size() > 9 || n[0] == '0') return false;
    for (char c : n)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  }
  return false;
}

std::string client_order_id(std::string_view decision_id, std::string_view leg) {
  if (decision_id.empty()) throw std::invalid_argument("oms: client_order_id: empty decision_id");
  if (!valid_leg(leg)) throw std::invalid_argument("oms: client_order_id: unknown leg '" + std::string(leg) + "'");
  std::string in(decision_id);
  in += ':';
  in += leg;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "pt";
  for (int i = 0; out.size() < 32; ++i) {
    out += hex[md[i / 2] >> (i % 2 == 0 ? 4 : 0) & 0xF];
  }
  return out;
}

}  // namespace pt::oms
