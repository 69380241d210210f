#pragma once
// An exchange has one listener slot (and no getter). Installing a fan-out there lets several
// parties hear every event: a backtester's recorder and one in-process venue per account, say.
// Targets are called in the order they were added, each event to all of them before the next.
//
// Targets may be added or removed from inside a callback: iteration goes by index over the live
// list, so a removed target is never called afterwards (the one after it may miss that event).
#include "sim/exchange.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace pt::sim {

class listener_fanout final : public listener {
 public:
  // Null and already-present targets are ignored.
  void add(listener* l) {
    if (l != nullptr && std::find(targets_.begin(), targets_.end(), l) == targets_.end()) targets_.push_back(l);
  }
  void remove(listener* l) {
    auto it = std::find(targets_.begin(), targets_.end(), l);
    if (it != targets_.end()) targets_.erase(it);
  }
  [[nodiscard]] std::size_t size() const { return targets_.size(); }

  void on_order(account_id a, const venue::order& o) override {
    each([&](listener& l) { l.on_order(a, o); });
  }
  void on_fill(account_id a, const venue::fill& f) override {
    each([&](listener& l) { l.on_fill(a, f); });
  }
  void on_position(account_id a, const venue::position& p) override {
    each([&](listener& l) { l.on_position(a, p); });
  }
  void on_balance(account_id a, const venue::balance& b) override {
    each([&](listener& l) { l.on_balance(a, b); });
  }
  void on_bill(account_id a, const venue::bill& b) override {
    each([&](listener& l) { l.on_bill(a, b); });
  }
  void on_public_trade(const venue::public_trade& t) override {
    each([&](listener& l) { l.on_public_trade(t); });
  }
  void on_liquidation(account_id a, const std::string& symbol) override {
    each([&](listener& l) { l.on_liquidation(a, symbol); });
  }
  void on_conditional(account_id a, const conditional_order& c) override {
    each([&](listener& l) { l.on_conditional(a, c); });
  }

 private:
  template <class F>
  void each(F&& f) {
    for (std::size_t i = 0; i < targets_.size(); ++i) f(*targets_[i]);
  }
  std::vector<listener*> targets_;
};

}  // namespace pt::sim
