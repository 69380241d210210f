#include "poloniex_connector.hpp"

#include "venue/catalog.hpp"
#include "venue/poloniex_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace pt::connectors {

namespace pw = pt::venue::poloniex;
namespace g = pt::venue::poloniex_group;
using pv::request_kind;

namespace {

const char* side_text(pv::side s) { return s == pv::side::buy ? "BUY" : "SELL"; }
const char* mode_text(pv::margin_mode m) { return m == pv::margin_mode::cross ? "CROSS" : "ISOLATED"; }
const char* pos_side_text(pv::position_side p) {
  switch (p) {
    case pv::position_side::long_side: return "LONG";
    case pv::position_side::short_side: return "SHORT";
    default: return "BOTH";
  }
}

// The venue accepts these depths only (exchanges.md A5): the smallest that holds `depth`.
int book_limit(int depth) {
  for (int l : {5, 10, 20, 100, 150})
    if (depth <= l) return l;
  return 150;
}

}  // namespace

poloniex_connector::poloniex_connector(poloniex_config config)
    : config_(std::move(config)),
      session_(rest_config{config_.rest_url, pv::venue_id::poloniex_futures, config_.retry, config_.timeout, config_.seed},
               pv::rate_limiter::poloniex_futures_defaults(), pv::clock_skew_config::for_poloniex()) {
  session_.on_resync([this] { sync_clock(); });
  stream_ = std::make_unique<poloniex_stream>(*this, config_.ws_public_url, config_.ws_private_url, config_.api_key,
                                              config_.api_secret, config_.stream);
}

std::string poloniex_connector::name() const { return pt::venue::poloniex_futures_v3; }

const pv::capabilities& poloniex_connector::caps() const {
  // exchanges.md A6: v3 has no stop, trigger or TP/SL orders over the API; sizes are contracts.
  static const pv::capabilities c = [] {
    pv::capabilities x;
    x.native_stop_orders = false;
    x.native_take_profit = false;
    x.trailing_stop = false;
    x.cancel_all_countdown = false;
    x.qty_in_contracts = true;
    return x;
  }();
  return c;
}

http_response poloniex_connector::get_public(const std::string& path, const pv::query_params& q,
                                             std::string_view group) {
  const pv::charge ch{group, 1};
  return session_.call(
      [&](std::int64_t) {
        http_request r;
        r.method = "GET";
        r.url = path + (q.empty() ? "" : "?" + query_string(q));
        return r;
      },
      request_kind::query, std::span(&ch, 1));
}

http_response poloniex_connector::signed_call(const std::string& method, const std::string& path,
                                              const pv::query_params& q, const std::string& body,
                                              request_kind kind, std::string_view group) {
  if (config_.api_key.empty() || config_.api_secret.empty())
    throw pv::venue_error(pv::outcome_class::reject, "poloniex: no API key configured for a private call");
  if (!clock_synced_) sync_clock();
  const pv::charge ch{group, 1};
  auto send = [&] {
    return session_.call(
      [&](std::int64_t now_ms) {
        http_request r;
        r.method = method;
        r.url = path + (q.empty() ? "" : "?" + query_string(q));
        r.body = body;
        if (!body.empty()) r.content_type = "application/json";
        // The signer and the sender share one serialisation: the same params, the same body bytes.
        const auto auth = pv::poloniex_auth(config_.api_key, method, path, q, body, now_ms, config_.api_secret);
        r.headers = auth.as_list();
        r.headers.emplace_back("recvWindow", std::to_string(config_.recv_window_ms));
        return r;
      },
      kind, std::span(&ch, 1));
  };
  try {
    return send();
  } catch (const pv::venue_error& e) {
    // Poloniex answers a signTimestamp ahead of its clock with a plain HTTP 400 (exchanges.md A2),
    // which looks like any other reject: resync once and try again. A 400 never executed an order.
    if (e.http_status() != 400 || e.kind() != pv::outcome_class::reject) throw;
    sync_clock();
    return send();
  }
}

void poloniex_connector::sync_clock() {
  clock_synced_ = true;
  session_.sync_clock([this] { return server_time(); });
}

pv::instrument poloniex_connector::instrument_of(const std::string& symbol) {
  {
    std::lock_guard lock(instruments_mutex_);
    if (auto it = instruments_.find(symbol); it != instruments_.end()) return it->second;
  }
  instruments();
  std::lock_guard lock(instruments_mutex_);
  if (auto it = instruments_.find(symbol); it != instruments_.end()) return it->second;
  throw pv::venue_error(pv::outcome_class::reject, "poloniex: unknown symbol " + symbol);
}

std::vector<pv::instrument> poloniex_connector::instruments() {
  bool from_catalog = false;
  auto list = instruments_or_catalog(
      [&] { return pw::parse_instruments(get_public("/v3/market/allInstruments", {}, g::market).body); },
      config_.catalog, pv::poloniex_futures_v3, from_catalog);
  from_catalog_ = from_catalog;
  std::lock_guard lock(instruments_mutex_);
  for (const auto& i : list) instruments_[i.symbol] = i;
  return list;
}

std::vector<pv::candle> poloniex_connector::klines(const pv::kline_query& q) {
  const auto tf = pv::parse_timeframe(q.interval);
  pv::query_params p{{"symbol", q.symbol}, {"interval", pv::to_poloniex_interval(tf)},
                        {"limit", std::to_string(std::clamp(q.limit, 1, 500))}};
  if (q.start) p.emplace_back("sTime", std::to_string(*q.start));
  if (q.end) p.emplace_back("eTime", std::to_string(*q.end));
  return pw::parse_candles(get_public("/v3/market/candles", p, g::market_heavy).body);
}

pv::order_book poloniex_connector::book(const std::string& symbol, int depth) {
  auto b = pw::parse_order_book(
      get_public("/v3/market/orderBook", {{"symbol", symbol}, {"limit", std::to_string(book_limit(depth))}}, g::market).body,
      symbol);
  if (static_cast<int>(b.bids.size()) > depth) b.bids.resize(static_cast<std::size_t>(depth));
  if (static_cast<int>(b.asks.size()) > depth) b.asks.resize(static_cast<std::size_t>(depth));
  return b;
}

std::vector<pv::public_trade> poloniex_connector::trades(const std::string& symbol, int limit) {
  return pw::parse_trades(
      get_public("/v3/market/trades", {{"symbol", symbol}, {"limit", std::to_string(std::clamp(limit, 1, 1000))}}, g::market)
          .body,
      symbol);
}

pv::ticker poloniex_connector::get_ticker(const std::string& symbol) {
  const auto all = pw::parse_tickers(get_public("/v3/market/tickers", {{"symbol", symbol}}, g::market).body);
  for (const auto& t : all)
    if (t.symbol == symbol) return t;
  throw pv::parse_error("poloniex: no ticker for " + symbol);
}

pv::mark_price poloniex_connector::get_mark_price(const std::string& symbol) {
  const auto all = pw::parse_mark_prices(get_public("/v3/market/markPrice", {{"symbol", symbol}}, g::market).body);
  for (const auto& m : all)
    if (m.symbol == symbol) return m;
  throw pv::parse_error("poloniex: no mark price for " + symbol);
}

pv::funding_rate poloniex_connector::get_funding_rate(const std::string& symbol) {
  return pw::parse_funding_rate(get_public("/v3/market/fundingRate", {{"symbol", symbol}}, g::market).body);
}

std::vector<pv::funding_rate> poloniex_connector::funding_history(const std::string& symbol,
                                                                     std::optional<pv::epoch_ms> start,
                                                                     std::optional<pv::epoch_ms> end, int limit) {
  pv::query_params p{{"symbol", symbol}, {"limit", std::to_string(std::clamp(limit, 1, 1000))}};
  if (start) p.emplace_back("sT", std::to_string(*start));
  if (end) p.emplace_back("eT", std::to_string(*end));
  return pw::parse_funding_history(get_public("/v3/market/fundingRate/history", p, g::market_heavy).body);
}

pv::epoch_ms poloniex_connector::server_time() {
  const auto r = get_public("/timestamp", {}, g::market);
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("serverTime") || !j["serverTime"].is_number_integer())
    throw pv::parse_error("poloniex: /timestamp has no integer serverTime");
  return j["serverTime"].get<std::int64_t>();
}

std::vector<pv::balance> poloniex_connector::balances() {
  return pw::parse_balances(signed_call("GET", "/v3/account/balance", {}, "", request_kind::query, g::balance).body);
}

std::vector<pv::position> poloniex_connector::positions() {
  return pw::parse_positions(signed_call("GET", "/v3/trade/position/opens", {}, "", request_kind::query, g::trade_query).body);
}

std::vector<pv::order> poloniex_connector::open_orders(const std::string& symbol) {
  // The venue pages at 100 rows (exchanges.md A6): follow `from` = the last ordId until a short page.
  std::vector<pv::order> all;
  std::string from;
  for (int page = 0; page < 100; ++page) {
    pv::query_params p;
    if (!symbol.empty()) p.emplace_back("symbol", symbol);
    if (!from.empty()) {
      p.emplace_back("from", from);
      p.emplace_back("direct", "NEXT");
    }
    p.emplace_back("limit", "100");
    auto rows = pw::parse_orders(signed_call("GET", "/v3/trade/order/opens", p, "", request_kind::query, g::trade_query).body);
    const bool more = rows.size() == 100;
    if (!rows.empty()) from = rows.back().order_id;
    all.insert(all.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
    if (!more) break;
  }
  return all;
}

pv::order poloniex_connector::place_order(const pv::order_request& req) {
  if (req.client_id.empty())
    throw std::invalid_argument("poloniex: every order needs a deterministic client id (client_order_id.hpp)");
  const pv::order_request r = pv::round_to_instrument(req, instrument_of(req.symbol));
  nlohmann::json body{{"symbol", r.symbol},
                      {"side", side_text(r.s)},
                      {"sz", r.qty.to_string()},
                      {"mgnMode", mode_text(r.mode)},
                      {"posSide", pos_side_text(r.pos_side)},
                      {"clOrdId", r.client_id}};
  if (r.type == pv::order_type::market) {
    body["type"] = "MARKET";
  } else if (r.tif == pv::time_in_force::post_only) {
    body["type"] = "LIMIT_MAKER";
    body["px"] = r.price->to_string();
  } else {
    body["type"] = "LIMIT";
    body["px"] = r.price->to_string();
    if (r.tif == pv::time_in_force::ioc) body["timeInForce"] = "IOC";
    if (r.tif == pv::time_in_force::fok) body["timeInForce"] = "FOK";
  }
  if (r.reduce_only) body["reduceOnly"] = true;
  const auto ack = pw::parse_order_ack(
      signed_call("POST", "/v3/trade/order", {}, body.dump(), request_kind::place_order, g::place_order).body);
  pv::order o;
  o.symbol = r.symbol;
  o.order_id = ack.order_id;
  o.client_id = ack.client_id.empty() ? r.client_id : ack.client_id;
  o.s = r.s;
  o.type = r.type;
  o.tif = r.tif;
  o.state = pv::order_state::open;  // acknowledged; fills arrive by stream or query
  o.price = r.price.value_or(pv::decimal::zero());
  o.qty = r.qty;
  o.reduce_only = r.reduce_only;
  o.pos_side = r.pos_side;
  return o;
}

pv::order poloniex_connector::cancel_order(const std::string& symbol, const std::string& client_id) {
  const nlohmann::json body{{"symbol", symbol}, {"clOrdId", client_id}};
  const auto ack = pw::parse_order_ack(
      signed_call("DELETE", "/v3/trade/order", {}, body.dump(), request_kind::idempotent_write, g::cancel_order).body,
      request_kind::idempotent_write);
  if (auto o = query_order(symbol, client_id)) return *o;
  pv::order o;
  o.symbol = symbol;
  o.order_id = ack.order_id;
  o.client_id = client_id;
  o.state = pv::order_state::cancelled;
  return o;
}

std::optional<pv::order> poloniex_connector::query_order(const std::string& symbol, const std::string& client_id) {
  try {
    const auto rows = pw::parse_orders(
        signed_call("GET", "/v3/trade/order/details", {{"clOrdId", client_id}}, "", request_kind::query, g::trade_query).body);
    for (const auto& o : rows)
      if (o.client_id == client_id && (symbol.empty() || o.symbol == symbol)) return o;
    return std::nullopt;
  } catch (const pv::venue_error& e) {
    if (e.code() == 11008) return std::nullopt;  // ORDER_NOT_EXISTS
    throw;
  }
}

void poloniex_connector::set_leverage(const std::string& symbol, int leverage, pv::margin_mode mode) {
  // Leverage and margin mode go together on Poloniex (exchanges.md A6): `lever` plus `mgnMode`.
  const nlohmann::json body{{"symbol", symbol}, {"lever", std::to_string(leverage)}, {"mgnMode", mode_text(mode)}};
  (void)pw::unwrap(signed_call("POST", "/v3/position/leverage", {}, body.dump(), request_kind::idempotent_write, g::trade_query).body,
             request_kind::idempotent_write);
}

void poloniex_connector::set_margin_mode(const std::string& symbol, pv::margin_mode mode) {
  // No separate call: re-send the current leverage with the new mode.
  const auto j = pw::unwrap(signed_call("GET", "/v3/position/leverages", {{"symbol", symbol}, {"mgnMode", mode_text(mode)}},
                                        "", request_kind::query, g::trade_query)
                                .body);
  int lever = 1;
  if (j.is_array() && !j.empty() && j[0].contains("lever")) {
    const auto& l = j[0]["lever"];
    lever = l.is_string() ? std::stoi(l.get<std::string>()) : l.get<int>();
  }
  set_leverage(symbol, lever, mode);
}

void poloniex_connector::set_position_mode(pv::position_mode mode) {
  const nlohmann::json body{{"posMode", mode == pv::position_mode::hedge ? "HEDGE" : "ONE_WAY"}};
  (void)pw::unwrap(signed_call("POST", "/v3/position/mode", {}, body.dump(), request_kind::idempotent_write, g::trade_query).body,
             request_kind::idempotent_write);
}

pv::position_mode poloniex_connector::get_position_mode() {
  return pw::parse_position_mode(signed_call("GET", "/v3/position/mode", {}, "", request_kind::query, g::trade_query).body);
}

pv::symbol_settings poloniex_connector::get_symbol_settings(const std::string& symbol, pv::margin_mode mode) {
  const auto rows = pw::parse_leverages(signed_call("GET", "/v3/position/leverages", {{"symbol", symbol}, {"mgnMode", mode_text(mode)}},
                                                    "", request_kind::query, g::trade_query)
                                            .body);
  for (const auto& r : rows)
    if (r.symbol == symbol) return r;
  throw pv::parse_error("poloniex: /v3/position/leverages has no row for " + symbol);
}

// Poloniex has no endpoint that tells a key's permissions (exchanges.md A: set in the web UI).
std::optional<pv::key_permissions> poloniex_connector::get_key_permissions() { return std::nullopt; }

std::vector<pv::fill> poloniex_connector::fills(const std::string& symbol, std::optional<pv::epoch_ms> start) {
  pv::query_params p;
  if (!symbol.empty()) p.emplace_back("symbol", symbol);
  if (start) p.emplace_back("sTime", std::to_string(*start));
  p.emplace_back("limit", "100");
  return pw::parse_fills(signed_call("GET", "/v3/trade/order/trades", p, "", request_kind::query, g::trade_query).body);
}

std::vector<pv::bill> poloniex_connector::bills(std::optional<pv::epoch_ms> start) {
  pv::query_params p;
  if (start) p.emplace_back("sTime", std::to_string(*start));
  p.emplace_back("limit", "100");
  return pw::parse_bills(signed_call("GET", "/v3/account/bills", p, "", request_kind::query, g::bills).body);
}

void poloniex_connector::subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) {
  stream_->subscribe_public(sub, std::move(handlers));
}
void poloniex_connector::subscribe_private(pv::private_handlers handlers) { stream_->subscribe_private(std::move(handlers)); }
void poloniex_connector::set_stream_events(pv::stream_events events) { stream_->set_events(std::move(events)); }
void poloniex_connector::close_streams() { stream_->close(); }

}  // namespace pt::connectors
