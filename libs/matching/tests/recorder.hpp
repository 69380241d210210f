#pragma once
// A sink that keeps every event in order, so tests can compare whole event streams.
#include "matching/order_book.hpp"

#include <ostream>
#include <vector>

namespace pt::matching::test {

struct event {
  bool is_fill = false;
  fill f{};
  order_done d{};

  friend bool operator==(const event& a, const event& b) {
    if (a.is_fill != b.is_fill) return false;
    if (a.is_fill)
      return a.f.taker == b.f.taker && a.f.maker == b.f.maker && a.f.taker_owner == b.f.taker_owner &&
             a.f.maker_owner == b.f.maker_owner && a.f.taker_side == b.f.taker_side && a.f.price == b.f.price &&
             a.f.qty == b.f.qty && a.f.taker_remaining == b.f.taker_remaining &&
             a.f.maker_remaining == b.f.maker_remaining;
    return a.d.id == b.d.id && a.d.owner == b.d.owner && a.d.reason == b.d.reason && a.d.remaining == b.d.remaining;
  }
  friend std::ostream& operator<<(std::ostream& os, const event& e) {
    if (e.is_fill)
      return os << "fill{taker=" << e.f.taker << " maker=" << e.f.maker << " towner=" << e.f.taker_owner
                << " mowner=" << e.f.maker_owner << " side=" << int(e.f.taker_side) << " px=" << e.f.price
                << " qty=" << e.f.qty << " trem=" << e.f.taker_remaining << " mrem=" << e.f.maker_remaining << "}";
    return os << "done{id=" << e.d.id << " owner=" << e.d.owner << " reason=" << int(e.d.reason)
              << " rem=" << e.d.remaining << "}";
  }
};

inline event fill_ev(order_id taker, order_id maker, owner_id towner, owner_id mowner, side s, price_t px, qty_t q,
                     qty_t trem, qty_t mrem) {
  event e;
  e.is_fill = true;
  e.f = fill{taker, maker, towner, mowner, s, px, q, trem, mrem};
  return e;
}

inline event done_ev(order_id id, owner_id owner, done_reason r, qty_t rem) {
  event e;
  e.d = order_done{id, owner, r, rem};
  return e;
}

struct recorder final : event_sink {
  std::vector<event> events;
  void on_fill(const fill& f) override {
    event e;
    e.is_fill = true;
    e.f = f;
    events.push_back(e);
  }
  void on_done(const order_done& d) override {
    event e;
    e.d = d;
    events.push_back(e);
  }
  std::vector<event> take() {
    std::vector<event> out;
    out.swap(events);
    return out;
  }
};

}  // namespace pt::matching::test
