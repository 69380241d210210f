#include "binance_connector.hpp"

#include "core/log.hpp"
#include "venue/binance_wire.hpp"
#include "venue/catalog.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <stdexcept>

namespace pt::connectors {

namespace bw = pt::venue::binance;
namespace g = pt::venue::binance_group;
using pv::request_kind;

namespace {

const char* side_text(pv::side s) { return s == pv::side::buy ? "BUY" : "SELL"; }
const char* pos_side_text(pv::position_side p) {
  switch (p) {
    case pv::position_side::long_side: return "LONG";
    case pv::position_side::short_side: return "SHORT";
    default: return "BOTH";
  }
}

// Depths the venue accepts and their IP weight (exchanges.md B5).
std::pair<int, std::int64_t> depth_limit(int depth) {
  for (auto [l, w] : {std::pair{5, 2}, {10, 2}, {20, 2}, {50, 2}, {100, 5}, {500, 10}, {1000, 20}})
    if (depth <= l) return {l, w};
  return {1000, 20};
}
std::int64_t kline_weight(int limit) { return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10; }

}  // namespace

binance_connector::binance_connector(binance_config config)
    : config_(std::move(config)),
      session_(rest_config{config_.rest_url, pv::venue_id::binance_usdm, config_.retry, config_.timeout, config_.seed},
               pv::rate_limiter::binance_usdm_defaults(),
               pv::clock_skew_config::for_binance(std::chrono::milliseconds(config_.recv_window_ms))) {
  session_.on_resync([this] { sync_clock(); });
  stream_ = std::make_unique<binance_stream>(*this, config_.ws_base_url, config_.api_key, config_.stream);
}

std::string binance_connector::name() const { return pt::venue::binance_usdm; }

const pv::capabilities& binance_connector::caps() const {
  // Conditional orders exist through the Algo Service (exchanges.md B7); a dead-man switch too.
  static const pv::capabilities c = [] {
    pv::capabilities x;
    x.native_stop_orders = true;
    x.native_take_profit = true;
    x.trailing_stop = true;
    x.cancel_all_countdown = true;
    x.qty_in_contracts = false;
    return x;
  }();
  return c;
}

http_response binance_connector::get_public(const std::string& path, const pv::query_params& q, std::int64_t weight) {
  const pv::charge ch{g::request_weight, weight};
  return session_.call(
      [&](std::int64_t) {
        http_request r;
        r.method = "GET";
        r.url = path + (q.empty() ? "" : "?" + query_string(q));
        return r;
      },
      request_kind::query, std::span(&ch, 1));
}

http_response binance_connector::signed_call(const std::string& method, const std::string& path,
                                             const pv::query_params& q, request_kind kind, std::int64_t weight,
                                             bool counts_as_order) {
  if (config_.api_key.empty() || config_.api_secret.empty())
    throw pv::venue_error(pv::outcome_class::reject, "binance: no API key configured for a private call");
  if (!clock_synced_) sync_clock();
  std::vector<pv::charge> charges;
  if (weight > 0) charges.push_back({g::request_weight, weight});
  if (counts_as_order) charges.push_back({g::orders, 1});
  return session_.call(
      [&](std::int64_t now_ms) {
        http_request r;
        r.method = method;
        // Sign exactly the bytes sent: the query for GET/DELETE, the form body for POST/PUT.
        const std::string signed_params = pv::binance_signed_query(q, now_ms, config_.recv_window_ms, config_.api_secret);
        if (method == "GET" || method == "DELETE") {
          r.url = path + "?" + signed_params;
        } else {
          r.url = path;
          r.body = signed_params;
          r.content_type = "application/x-www-form-urlencoded";
        }
        r.headers = {{"X-MBX-APIKEY", config_.api_key}};
        return r;
      },
      kind, charges);
}

nlohmann::json binance_connector::algo_call(const std::string& method, const std::string& path,
                                            const pv::query_params& q, request_kind kind) {
  return nlohmann::json::parse(signed_call(method, path, q, kind, 1, method == "POST").body, nullptr, false);
}

std::chrono::milliseconds binance_connector::countdown_cancel_all(const std::string& symbol,
                                                                 std::chrono::milliseconds countdown) {
  if (countdown.count() < 0) throw std::invalid_argument("binance: countdownCancelAll needs a countdown >= 0");
  const auto body = signed_call("POST", "/fapi/v1/countdownCancelAll",
                                {{"symbol", symbol}, {"countdownTime", std::to_string(countdown.count())}},
                                request_kind::idempotent_write, 10)
                        .body;
  // {"symbol":"BTCUSDT","countdownTime":"100000"}: the time comes as a string; a number is taken too.
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || j.value("symbol", "") != symbol || !j.contains("countdownTime"))
    throw pv::parse_error("binance: countdownCancelAll answer is not {symbol, countdownTime}");
  const auto& t = j.at("countdownTime");
  try {
    if (t.is_number_integer()) return std::chrono::milliseconds(t.get<std::int64_t>());
    if (t.is_string()) {
      std::size_t used = 0;
      const std::string s = t.get<std::string>();
      const auto ms = std::stoll(s, &used);
      if (used == s.size()) return std::chrono::milliseconds(ms);
    }
  } catch (const std::exception&) {
  }
  throw pv::parse_error("binance: countdownCancelAll answer has a malformed countdownTime");
}

void binance_connector::sync_clock() {
  clock_synced_ = true;
  session_.sync_clock([this] { return server_time(); });
}

pv::instrument binance_connector::instrument_of(const std::string& symbol) {
  {
    std::lock_guard lock(instruments_mutex_);
    if (auto it = instruments_.find(symbol); it != instruments_.end()) return it->second;
  }
  instruments();
  std::lock_guard lock(instruments_mutex_);
  if (auto it = instruments_.find(symbol); it != instruments_.end()) return it->second;
  throw pv::venue_error(pv::outcome_class::reject, "binance: unknown symbol " + symbol);
}

// exchangeInfo carries no leverage: it is per account on /fapi/v1/leverageBracket (signed). Without
// keys, or when the call fails, max_leverage stays 1 — never more than the venue is known to allow.
void binance_connector::apply_leverage_brackets(std::vector<pv::instrument>& list) {
  if (config_.api_key.empty()) return;
  try {
    std::map<std::string, bw::symbol_brackets> by;
    for (auto& s : bw::parse_leverage_brackets(signed_call("GET", "/fapi/v1/leverageBracket", {}, request_kind::query, 1).body))
      by[s.symbol] = std::move(s);
    for (auto& i : list) {
      const auto it = by.find(i.symbol);
      if (it == by.end() || it->second.brackets.empty()) continue;
      i.max_leverage = it->second.max_leverage();
      for (const auto& b : it->second.brackets)
        if (b.bracket == 1) i.maintenance_margin_rate = b.maint_margin_ratio;
    }
  } catch (const std::exception& e) {
    pt::log::warn("binance: leverage brackets not read; max leverage stays 1", {{"error", e.what()}});
  }
}

std::vector<pv::instrument> binance_connector::instruments() {
  bool from_catalog = false;
  auto list = instruments_or_catalog(
      [&] {
        auto info = bw::parse_exchange_info(get_public("/fapi/v1/exchangeInfo", {}, 1).body);
        // The venue publishes its limits: use them from now on (exchanges.md B4).
        if (!info.rate_limits.empty())
          session_.set_limits(pv::rate_limiter::limits_from_binance(bw::render_rate_limits(info.rate_limits)));
        apply_leverage_brackets(info.instruments);
        return std::move(info.instruments);
      },
      config_.catalog, pv::binance_usdm, from_catalog);
  from_catalog_ = from_catalog;
  std::lock_guard lock(instruments_mutex_);
  for (const auto& i : list) instruments_[i.symbol] = i;
  return list;
}

std::vector<pv::candle> binance_connector::klines(const pv::kline_query& q) {
  const int limit = std::clamp(q.limit, 1, 1500);
  pv::query_params p{{"symbol", q.symbol}, {"interval", pv::to_binance_interval(pv::parse_timeframe(q.interval))},
                     {"limit", std::to_string(limit)}};
  if (q.start) p.emplace_back("startTime", std::to_string(*q.start));
  if (q.end) p.emplace_back("endTime", std::to_string(*q.end));
  return bw::parse_klines(get_public("/fapi/v1/klines", p, kline_weight(limit)).body);
}

pv::order_book binance_connector::book(const std::string& symbol, int depth) {
  const auto [limit, weight] = depth_limit(depth);
  auto b = bw::parse_depth(get_public("/fapi/v1/depth", {{"symbol", symbol}, {"limit", std::to_string(limit)}}, weight).body,
                           symbol);
  if (static_cast<int>(b.bids.size()) > depth) b.bids.resize(static_cast<std::size_t>(depth));
  if (static_cast<int>(b.asks.size()) > depth) b.asks.resize(static_cast<std::size_t>(depth));
  return b;
}

std::vector<pv::public_trade> binance_connector::trades(const std::string& symbol, int limit) {
  return bw::parse_trades(
      get_public("/fapi/v1/trades", {{"symbol", symbol}, {"limit", std::to_string(std::clamp(limit, 1, 1000))}}, 5).body,
      symbol);
}

pv::ticker binance_connector::get_ticker(const std::string& symbol) {
  for (const auto& t : bw::parse_tickers(get_public("/fapi/v1/ticker/24hr", {{"symbol", symbol}}, 1).body))
    if (t.symbol == symbol) return t;
  throw pv::parse_error("binance: no ticker for " + symbol);
}

pv::mark_price binance_connector::get_mark_price(const std::string& symbol) {
  for (const auto& m : bw::parse_premium_index(get_public("/fapi/v1/premiumIndex", {{"symbol", symbol}}, 1).body))
    if (m.symbol == symbol) return m;
  throw pv::parse_error("binance: no mark price for " + symbol);
}

pv::funding_rate binance_connector::get_funding_rate(const std::string& symbol) {
  const auto m = get_mark_price(symbol);
  pv::funding_rate f;
  f.symbol = symbol;
  f.rate = m.funding_rate.value_or(pv::decimal::zero());
  f.time = m.time;
  f.next_time = m.next_funding_time;
  f.mark = m.mark;
  return f;
}

std::vector<pv::funding_rate> binance_connector::funding_history(const std::string& symbol,
                                                                 std::optional<pv::epoch_ms> start,
                                                                 std::optional<pv::epoch_ms> end, int limit) {
  pv::query_params p{{"symbol", symbol}, {"limit", std::to_string(std::clamp(limit, 1, 1000))}};
  if (start) p.emplace_back("startTime", std::to_string(*start));
  if (end) p.emplace_back("endTime", std::to_string(*end));
  return bw::parse_funding_history(get_public("/fapi/v1/fundingRate", p, 1).body);
}

pv::epoch_ms binance_connector::server_time() {
  return bw::parse_server_time(get_public("/fapi/v1/time", {}, 1).body);
}

std::vector<pv::balance> binance_connector::balances() {
  return bw::parse_account_balances(signed_call("GET", "/fapi/v3/account", {}, request_kind::query, 5).body);
}

std::vector<pv::position> binance_connector::positions() {
  auto all = bw::parse_position_risk(signed_call("GET", "/fapi/v3/positionRisk", {}, request_kind::query, 5).body);
  std::erase_if(all, [](const pv::position& p) { return p.qty.is_zero(); });
  return all;
}

std::vector<pv::order> binance_connector::open_orders(const std::string& symbol) {
  pv::query_params p;
  if (!symbol.empty()) p.emplace_back("symbol", symbol);
  return bw::parse_orders(signed_call("GET", "/fapi/v1/openOrders", p, request_kind::query, symbol.empty() ? 40 : 1).body);
}

pv::order binance_connector::place_order(const pv::order_request& req) {
  if (req.client_id.empty())
    throw std::invalid_argument("binance: every order needs a deterministic client id (client_order_id.hpp)");
  const pv::order_request r = pv::round_to_instrument(req, instrument_of(req.symbol));
  pv::query_params p{{"symbol", r.symbol}, {"side", side_text(r.s)}, {"newClientOrderId", r.client_id}};
  if (r.pos_side != pv::position_side::both) p.emplace_back("positionSide", pos_side_text(r.pos_side));
  if (r.type == pv::order_type::market) {
    p.emplace_back("type", "MARKET");
    p.emplace_back("quantity", r.qty.to_string());
  } else {
    p.emplace_back("type", "LIMIT");
    p.emplace_back("quantity", r.qty.to_string());
    p.emplace_back("price", r.price->to_string());
    const char* tif = r.tif == pv::time_in_force::ioc         ? "IOC"
                      : r.tif == pv::time_in_force::fok       ? "FOK"
                      : r.tif == pv::time_in_force::post_only ? "GTX"
                                                              : "GTC";
    p.emplace_back("timeInForce", tif);
  }
  if (r.reduce_only) p.emplace_back("reduceOnly", "true");
  p.emplace_back("newOrderRespType", "RESULT");
  const auto rows = bw::parse_orders(signed_call("POST", "/fapi/v1/order", p, request_kind::place_order, 0, true).body);
  if (rows.empty()) throw pv::parse_error("binance: order answer carries no order");
  return rows.front();
}

pv::order binance_connector::cancel_order(const std::string& symbol, const std::string& client_id) {
  const auto rows = bw::parse_orders(signed_call("DELETE", "/fapi/v1/order", {{"symbol", symbol}, {"origClientOrderId", client_id}},
                                                 request_kind::idempotent_write, 1)
                                         .body);
  if (rows.empty()) throw pv::parse_error("binance: cancel answer carries no order");
  return rows.front();
}

std::optional<pv::order> binance_connector::query_order(const std::string& symbol, const std::string& client_id) {
  try {
    const auto rows = bw::parse_orders(
        signed_call("GET", "/fapi/v1/order", {{"symbol", symbol}, {"origClientOrderId", client_id}}, request_kind::query, 1).body);
    if (rows.empty()) return std::nullopt;
    return rows.front();
  } catch (const pv::venue_error& e) {
    if (e.code() == -2013) return std::nullopt;  // NO_SUCH_ORDER
    throw;
  }
}

void binance_connector::set_leverage(const std::string& symbol, int leverage, pv::margin_mode mode) {
  set_margin_mode(symbol, mode);
  signed_call("POST", "/fapi/v1/leverage", {{"symbol", symbol}, {"leverage", std::to_string(leverage)}},
              request_kind::idempotent_write, 1);
}

void binance_connector::set_margin_mode(const std::string& symbol, pv::margin_mode mode) {
  try {
    signed_call("POST", "/fapi/v1/marginType",
                {{"symbol", symbol}, {"marginType", mode == pv::margin_mode::cross ? "CROSSED" : "ISOLATED"}},
                request_kind::idempotent_write, 1);
  } catch (const pv::venue_error& e) {
    if (e.code() != -4046) throw;  // "no need to change" is the state we want
  }
}

void binance_connector::set_position_mode(pv::position_mode mode) {
  try {
    signed_call("POST", "/fapi/v1/positionSide/dual",
                {{"dualSidePosition", mode == pv::position_mode::hedge ? "true" : "false"}}, request_kind::idempotent_write, 1);
  } catch (const pv::venue_error& e) {
    if (e.code() != -4059) throw;
  }
}

pv::position_mode binance_connector::get_position_mode() {
  return bw::parse_position_side_dual(signed_call("GET", "/fapi/v1/positionSide/dual", {}, request_kind::query, 30).body);
}

pv::symbol_settings binance_connector::get_symbol_settings(const std::string& symbol, pv::margin_mode) {
  for (const auto& r : bw::parse_symbol_config(signed_call("GET", "/fapi/v1/symbolConfig", {{"symbol", symbol}}, request_kind::query, 5).body))
    if (r.symbol == symbol) return r;
  throw pv::parse_error("binance: /fapi/v1/symbolConfig has no row for " + symbol);
}

std::optional<pv::key_permissions> binance_connector::get_key_permissions() {
  // A wallet (sapi) endpoint: it lives on the spot host, not fapi; the spot host has its own
  // request-weight budget, so no fapi weight is charged.
  return bw::parse_api_restrictions(signed_call("GET", config_.sapi_url + "/sapi/v1/account/apiRestrictions", {}, request_kind::query, 0).body);
}

std::vector<pv::fill> binance_connector::fills(const std::string& symbol, std::optional<pv::epoch_ms> start) {
  pv::query_params p{{"symbol", symbol}};
  if (start) p.emplace_back("startTime", std::to_string(*start));
  return bw::parse_user_trades(signed_call("GET", "/fapi/v1/userTrades", p, request_kind::query, 5).body);
}

std::vector<pv::bill> binance_connector::bills(std::optional<pv::epoch_ms> start) {
  pv::query_params p;
  if (start) p.emplace_back("startTime", std::to_string(*start));
  return bw::parse_income(signed_call("GET", "/fapi/v1/income", p, request_kind::query, 30).body);
}

std::string binance_connector::listen_key(bool keep_alive) {
  const pv::charge ch{g::request_weight, 1};
  const auto r = session_.call(
      [&](std::int64_t) {
        http_request req;
        req.method = keep_alive ? "PUT" : "POST";
        req.url = "/fapi/v1/listenKey";
        req.headers = {{"X-MBX-APIKEY", config_.api_key}};
        return req;
      },
      request_kind::idempotent_write, std::span(&ch, 1));
  return bw::parse_listen_key(r.body);
}

void binance_connector::subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) {
  stream_->subscribe_public(sub, std::move(handlers));
}
void binance_connector::subscribe_private(pv::private_handlers handlers) { stream_->subscribe_private(std::move(handlers)); }
void binance_connector::set_stream_events(pv::stream_events events) { stream_->set_events(std::move(events)); }
void binance_connector::close_streams() { stream_->close(); }

}  // namespace pt::connectors
