#pragma once
// Helpers shared by poloniex_wire_tests.cpp and binance_wire_tests.cpp: golden file loading, the
// key/JSON-type comparison of rendered payloads against recorded ones, and field-wise equality of
// the venue-neutral types (types.hpp declares no operator==).
#include "venue/types.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace wire_test {

using nlohmann::json;
using namespace pt::venue;

inline std::filesystem::path golden_dir() {
  return std::filesystem::path(POLYTRADE_PROTO_DIR) / ".." / "libs" / "venue" / "tests" / "golden";
}

inline std::string golden_text(const std::string& rel) {
  std::ifstream in(golden_dir() / rel, std::ios::binary);
  if (!in) throw std::runtime_error("golden file missing: " + rel);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Parsed with plain nlohmann (numbers as numbers): this is the venue's own typing.
inline json golden_json(const std::string& rel) { return json::parse(golden_text(rel)); }

inline const char* type_name(const json& j) {
  if (j.is_string()) return "string";
  if (j.is_boolean()) return "bool";
  if (j.is_number()) return "number";
  if (j.is_array()) return "array";
  if (j.is_object()) return "object";
  return "null";
}

// One object compared key by key: every key in both must have the same JSON type; a key only in
// the golden must be listed in `omitted` (we deliberately do not write it), a key only in ours must
// be listed in `extra` (written on purpose, e.g. documented but absent from this recording).
// `stringified` lists keys the source stored as strings although the venue sends numbers (the ccxt
// Binance fixtures); for them string-vs-number is accepted. Returns the problems, empty when equal.
struct shape_rules {
  std::set<std::string> omitted;
  std::set<std::string> extra;
  std::set<std::string> stringified;
};

inline std::vector<std::string> compare_shape(const json& ours, const json& golden, const shape_rules& rules,
                                              const std::string& path = "$") {
  std::vector<std::string> problems;
  if (golden.is_object() && ours.is_object()) {
    for (auto it = golden.begin(); it != golden.end(); ++it) {
      const std::string p = path + "." + it.key();
      if (!ours.contains(it.key())) {
        if (!rules.omitted.count(it.key())) problems.push_back(p + ": in the golden payload, not rendered");
        continue;
      }
      auto sub = compare_shape(ours[it.key()], it.value(), rules, p);
      if (!sub.empty() && rules.stringified.count(it.key()) && it.value().is_string() && ours[it.key()].is_number()) {
        sub.clear();
      }
      problems.insert(problems.end(), sub.begin(), sub.end());
    }
    for (auto it = ours.begin(); it != ours.end(); ++it) {
      if (!golden.contains(it.key()) && !rules.extra.count(it.key())) {
        problems.push_back(path + "." + it.key() + ": rendered, not in the golden payload");
      }
    }
    return problems;
  }
  if (golden.is_array() && ours.is_array()) {
    // Element-wise over the common length: rows of one kind have one shape.
    for (std::size_t i = 0; i < std::min(golden.size(), ours.size()); ++i) {
      auto sub = compare_shape(ours[i], golden[i], rules, path + "[" + std::to_string(i) + "]");
      problems.insert(problems.end(), sub.begin(), sub.end());
    }
    return problems;
  }
  if (std::string(type_name(ours)) != type_name(golden)) {
    problems.push_back(path + ": rendered " + type_name(ours) + ", golden " + type_name(golden));
  }
  return problems;
}

// ---- field-wise equality ----------------------------------------------------------------------------
inline auto tie(const instrument& i) {
  return std::tie(i.symbol, i.base, i.quote, i.settle, i.contract_size, i.tick, i.lot, i.min_qty, i.max_market_qty,
                  i.max_limit_qty, i.min_notional, i.min_price, i.max_price, i.max_leverage, i.initial_margin_rate,
                  i.maintenance_margin_rate, i.maker_fee, i.taker_fee, i.status);
}
inline auto tie(const candle& c) {
  return std::tie(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades, c.close_time,
                  c.closed);
}
inline bool same(const std::vector<book_level>& a, const std::vector<book_level>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].price != b[i].price || a[i].qty != b[i].qty) return false;
  }
  return true;
}
inline auto tie(const public_trade& t) { return std::tie(t.symbol, t.id, t.taker_side, t.price, t.qty, t.time); }
inline auto tie(const ticker& t) {
  return std::tie(t.symbol, t.last, t.open, t.high, t.low, t.volume, t.quote_volume, t.bid, t.bid_qty, t.ask, t.ask_qty,
                  t.mark, t.index, t.time);
}
inline auto tie(const mark_price& m) {
  return std::tie(m.symbol, m.mark, m.index, m.funding_rate, m.next_funding_time, m.time);
}
inline auto tie(const funding_rate& r) { return std::tie(r.symbol, r.rate, r.time, r.next_rate, r.next_time, r.mark); }
inline auto tie(const balance& b) {
  return std::tie(b.asset, b.wallet, b.equity, b.available, b.unrealised_pnl, b.initial_margin, b.maintenance_margin);
}
inline auto tie(const position& p) {
  return std::tie(p.symbol, p.pos_side, p.mode, p.qty, p.entry_price, p.mark_price, p.unrealised_pnl,
                  p.liquidation_price, p.leverage, p.margin, p.update_time);
}
inline auto tie(const order& o) {
  return std::tie(o.symbol, o.order_id, o.client_id, o.s, o.type, o.tif, o.state, o.price, o.qty, o.filled_qty,
                  o.avg_price, o.fee, o.fee_asset, o.reduce_only, o.pos_side, o.reject_or_cancel_reason, o.create_time,
                  o.update_time);
}
inline auto tie(const fill& f) {
  return std::tie(f.symbol, f.trade_id, f.order_id, f.client_id, f.s, f.price, f.qty, f.fee, f.fee_asset, f.role,
                  f.realised_pnl, f.time);
}
inline auto tie(const bill& b) {
  return std::tie(b.id, b.symbol, b.type, b.venue_type, b.amount, b.asset, b.time);
}
template <class T>
bool same(const T& a, const T& b) {
  return tie(a) == tie(b);
}
inline bool same(const order_book& a, const order_book& b) {
  return a.symbol == b.symbol && same(a.bids, b.bids) && same(a.asks, b.asks) && a.time == b.time &&
         a.update_id == b.update_id && a.prev_update_id == b.prev_update_id &&
         a.first_update_id == b.first_update_id && a.snapshot == b.snapshot;
}

inline std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

}  // namespace wire_test
