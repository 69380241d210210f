#include "control_api.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <cmath>

namespace pt::venue_sim {

namespace {

json status_json(world& w, bool detail) {
  json j{{"status", "ok"},
         {"market_time_ms", w.market_now()},
         {"server_time_ms", w.server_now()},
         {"replay_events", w.replay_events()},
         {"last_event_ms", w.last_event_time()},
         {"replay_exhausted", w.replay_exhausted()},
         {"pace", replay::to_string(w.clock().mode())}};
  if (!detail) return j;
  json faults = json::array();
  for (const auto& f : w.faults().active()) {
    json one{{"kind", to_string(f.kind)}, {"value", f.value}, {"orders_only", f.orders_only}};
    if (f.remaining) one["remaining"] = *f.remaining;
    faults.push_back(one);
  }
  j["faults"] = faults;
  json fired = json::object();
  for (auto k : all_fault_kinds()) fired[to_string(k)] = w.faults().fired(k);
  j["fired"] = fired;
  return j;
}

void bad(httplib::Response& res, const std::string& msg) {
  pt::log::warn("venue-sim: bad control request", {{"error", msg}});
  reply(res, json{{"error", msg}}, 400);
}

}  // namespace

void mount_control(httplib::Server& server, world& w, std::function<void()> drop_websockets) {
  server.Get("/health", [&w](const httplib::Request&, httplib::Response& res) { reply(res, status_json(w, false)); });
  server.Get("/sim/status", [&w](const httplib::Request&, httplib::Response& res) { reply(res, status_json(w, true)); });

  server.Post("/sim/faults", [&w, drop_websockets](const httplib::Request& req, httplib::Response& res) {
    const json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(res, "body must be a JSON object");
    const auto kind_name = field(j, "kind");
    const auto kind = kind_name ? parse_fault_kind(*kind_name) : std::nullopt;
    if (!kind) return bad(res, "unknown fault kind (see /sim/status for the list)");
    fault f;
    f.kind = *kind;
    try {
      if (j.contains("value")) f.value = j.at("value").get<std::int64_t>();
      if (j.contains("count")) f.remaining = j.at("count").get<std::int64_t>();
      if (j.contains("duration_ms"))
        f.until = std::chrono::steady_clock::now() + std::chrono::milliseconds(j.at("duration_ms").get<std::int64_t>());
      if (j.contains("orders_only")) f.orders_only = j.at("orders_only").get<bool>();
    } catch (const std::exception&) {
      return bad(res, "value, count and duration_ms must be integers, orders_only a boolean");
    }
    if ((f.remaining && *f.remaining <= 0) || f.value < 0) return bad(res, "count and value must be positive");
    if (!f.remaining && !f.until && *kind != fault_kind::clock_skew && *kind != fault_kind::latency)
      return bad(res, "give count or duration_ms (only clock_skew and latency may stay armed)");
    w.faults().arm(f);
    pt::log::info("venue-sim: fault armed", {{"kind", to_string(*kind)}, {"value", f.value}});
    if (*kind == fault_kind::drop_websockets && drop_websockets) drop_websockets();
    reply(res, status_json(w, true));
  });
  server.Delete("/sim/faults", [&w](const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("kind")) {
      const auto kind = parse_fault_kind(req.get_param_value("kind"));
      if (!kind) return bad(res, "unknown fault kind");
      w.faults().clear(*kind);
    } else {
      w.faults().clear();
    }
    reply(res, status_json(w, true));
  });

  server.Post("/sim/clock", [&w](const httplib::Request& req, httplib::Response& res) {
    const json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(res, "body must be a JSON object");
    try {
      if (j.contains("pace")) {
        const std::string p = j.at("pace").get<std::string>();
        if (p == "lockstep") w.clock().set_mode(replay::pace::lockstep());
        else if (p == "realtime") w.clock().set_mode(replay::pace::realtime());
        else if (p == "unthrottled") w.clock().set_mode(replay::pace::unthrottled());
        else if (p.size() > 1 && p.back() == 'x') {
          const double k = std::stod(p.substr(0, p.size() - 1));
          if (!std::isfinite(k) || k <= 0) return bad(res, "speed must be > 0");
          w.clock().set_mode(replay::pace::multiple(k));
        } else {
          return bad(res, "pace is lockstep, realtime, unthrottled or <k>x");
        }
      }
      if (j.contains("advance_to")) w.advance_to(j.at("advance_to").get<std::int64_t>());
      if (j.contains("step_ms")) {
        const auto step = j.at("step_ms").get<std::int64_t>();
        if (step <= 0) return bad(res, "step_ms must be > 0");
        w.advance_to(w.market_now() + step);
      }
    } catch (const std::exception& e) {
      return bad(res, std::string("bad clock request: ") + e.what());
    }
    reply(res, status_json(w, false));
  });

  // A key's permissions as Binance's apiRestrictions reports them: {"key": K, "withdrawals": true,
  // "futures_trading": false, "reading": true, "ip_restricted": false}; absent flags stay as they are.
  server.Post("/sim/keys", [&w](const httplib::Request& req, httplib::Response& res) {
    const json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(res, "body must be a JSON object");
    const auto key = field(j, "key");
    if (!key) return bad(res, "key is required");
    int found = 0;
    try {
      std::lock_guard lock(w.mutex());
      for (protocol p : {protocol::poloniex, protocol::binance}) {
        auto* vs = w.venue(p);
        if (vs == nullptr) continue;
        for (auto& [acct, id] : vs->keys) {
          if (acct.key != *key) continue;
          ++found;
          auto& k = acct.permissions;
          if (j.contains("reading")) k.reading = j.at("reading").get<bool>();
          if (j.contains("futures_trading")) k.futures_trading = j.at("futures_trading").get<bool>();
          if (j.contains("withdrawals")) k.withdrawals = j.at("withdrawals").get<bool>();
          if (j.contains("ip_restricted")) k.ip_restricted = j.at("ip_restricted").get<bool>();
        }
      }
    } catch (const std::exception&) {
      return bad(res, "reading, futures_trading, withdrawals and ip_restricted must be booleans");
    }
    if (found == 0) return bad(res, "no account has that key");
    pt::log::info("venue-sim: key permissions changed", {{"changes", j.size() - 1}});
    reply(res, json{{"updated", found}});
  });

  server.Get("/sim/accounts", [&w](const httplib::Request& req, httplib::Response& res) {
    const std::string proto = req.get_param_value("protocol");
    json out = json::array();
    std::lock_guard lock(w.mutex());
    for (protocol p : {protocol::poloniex, protocol::binance}) {
      if (!proto.empty() && proto != to_string(p)) continue;
      auto* vs = w.venue(p);
      if (vs == nullptr) continue;
      for (const auto& [acct, id] : vs->keys) {
        const auto b = vs->exchange->balance(id);
        json positions = json::array();
        for (const auto& pos : vs->exchange->positions(id))
          positions.push_back({{"symbol", pos.symbol}, {"qty", pos.qty}, {"entry", pos.entry_price}});
        json orders = json::array();
        for (const auto& o : vs->exchange->open_orders(id, ""))
          orders.push_back({{"symbol", o.symbol}, {"orderId", o.order_id}, {"clientId", o.client_id},
                            {"qty", o.qty}, {"filled", o.filled_qty}, {"price", o.price}});
        // Every client id the venue holds an order for (open and closed): a session can check
        // that it never got two venue orders for one intent.
        json client_ids = json::array();
        for (const auto& o : vs->exchange->order_history(id, "")) client_ids.push_back(o.client_id);
        for (const auto& o : vs->exchange->open_orders(id, "")) client_ids.push_back(o.client_id);
        // Binance countdownCancelAll: the running timers and the ones that ran out.
        json countdowns = json::array();
        for (const auto& t : vs->countdowns.armed(id))
          countdowns.push_back({{"symbol", t.symbol},
                                {"countdown_ms", t.countdown_ms},
                                {"remaining_ms", std::max<std::int64_t>(0, t.deadline - world::countdown_now())}});
        json fired = json::array();
        for (const auto& f : vs->countdowns_fired)
          if (f.account == id)
            fired.push_back({{"symbol", f.symbol}, {"cancelled", f.cancelled}, {"server_time_ms", f.server_time_ms},
                             {"market_time_ms", f.market_time_ms}});
        out.push_back({{"protocol", to_string(p)},
                       {"countdowns", countdowns},
                       {"countdowns_fired", fired},
                       {"client_ids", client_ids},
                       {"key", acct.key},
                       {"wallet", b.wallet},
                       {"equity", b.equity},
                       {"available", b.available},
                       {"positions", positions},
                       {"open_orders", orders}});
      }
    }
    reply(res, out);
  });
}

}  // namespace pt::venue_sim
