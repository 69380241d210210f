// The Poloniex Futures v3 REST protocol over the simulated exchange (exchanges.md A). Business
// rejects answer HTTP 200 with a non-200 `code`, as the live venue does (A F-lessons); signature
// and timestamp failures answer 401 / 400 / 408 like its docs say.
#include "poloniex_api.hpp"

#include "core/log.hpp"
#include "venue/poloniex_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <algorithm>
#include <variant>

namespace pt::venue_sim {

namespace pw = pt::venue::poloniex;
using core::decimal;

namespace {

json error_body(std::int64_t code, const std::string& msg) { return pw::render_error(code, msg); }

void fail(httplib::Response& res, std::int64_t code, const std::string& msg, int status = 200) {
  reply(res, error_body(code, msg), status);
}

void ok(httplib::Response& res, json data) { reply(res, pw::render_envelope(std::move(data))); }

// Reject reasons -> Poloniex codes (exchanges.md A4 and F; documented guesses marked in README).
std::pair<std::int64_t, std::string> poloniex_code(const sim::reject& r) {
  using sim::reject_code;
  switch (r.code) {
    case reject_code::unknown_symbol: return {10001, "SYMBOL_NOT_EXISTS"};
    case reject_code::symbol_not_trading: return {10000, "SYMBOL_NOT_IN_TRADING_STATUS"};
    case reject_code::cancel_only: return {10006, "SYMBOL_STATUS_CANCEL_ONLY"};
    case reject_code::bad_quantity:
    case reject_code::qty_below_min: return {400, "Param error sz"};
    case reject_code::qty_above_max: return {21010, r.message};
    case reject_code::bad_price: return {400, "Param error px"};
    case reject_code::price_out_of_range: return {10002, "PRICE_LIMIT"};
    case reject_code::insufficient_margin: return {21005, "Insufficient margin"};
    case reject_code::reduce_only_rejected: return {21002, "Position not enough"};
    case reject_code::no_position_to_reduce: return {10018, "NO_POSITION_TO_CLOSE_ORDER"};
    case reject_code::post_only_would_take: return {400, "Post only order would take liquidity"};
    case reject_code::fok_cannot_fill: return {400, "FOK order cannot be filled"};
    case reject_code::no_liquidity: return {10003, "NO_BID"};
    case reject_code::duplicate_client_id: return {250, "DUPLICATE"};
    case reject_code::unknown_order: return {11008, "ORDER_NOT_EXISTS"};
    case reject_code::invalid_leverage: return {400, "Param error lever"};
    case reject_code::position_exists: return {400, r.message};
    case reject_code::position_side_mismatch: return {11011, "Param error posSide"};
    case reject_code::unknown_account: return {1000, "USER_NOT_EXITS"};
    case reject_code::would_trigger_immediately: return {400, r.message};  // no conditionals on Poloniex
  }
  return {400, r.message};
}

struct handler_ctx {
  world& w;
  world::venue_state* vs;
};

// Verifies key / signTimestamp / signature; on failure writes the answer and returns nullopt.
std::optional<sim::account_id> authenticate(handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
  const std::string key = req.get_header_value("key");
  const std::string ts_text = req.get_header_value("signTimestamp");
  const std::string signature = req.get_header_value("signature");
  if (key.empty() || ts_text.empty() || signature.empty()) {
    fail(res, 401, "Missing authentication headers", 401);
    return std::nullopt;
  }
  const auto* acct = c.vs->find_key(key);
  if (acct == nullptr) {
    fail(res, 403, "ACCESS_DENY: invalid API key", 401);
    return std::nullopt;
  }
  std::int64_t ts = 0;
  try {
    std::size_t used = 0;
    ts = std::stoll(ts_text, &used);
    if (used != ts_text.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    fail(res, 400, "Invalid signTimestamp", 400);
    return std::nullopt;
  }
  const std::int64_t now = c.w.server_now();
  std::int64_t window = 60000;  // "the timestamp is valid for 1 minute"
  if (const auto rw = req.get_header_value("recvWindow"); !rw.empty()) {
    try {
      window = std::stoll(rw);
    } catch (const std::exception&) {
      fail(res, 400, "Invalid recvWindow", 400);
      return std::nullopt;
    }
  }
  if (ts > now + 1000) {
    fail(res, 400, "signTimestamp is ahead of server time", 400);
    return std::nullopt;
  }
  if (now - ts > window) {
    fail(res, 408, "Request expired: signTimestamp outside recvWindow", 408);
    return std::nullopt;
  }
  venue::query_params params;
  if (req.body.empty())
    for (const auto& [k, v] : req.params) params.emplace_back(k, v);
  std::string expected;
  try {
    expected = venue::poloniex_sign(req.method, req.path, params, req.body, ts, acct->first.secret);
  } catch (const std::exception&) {
    fail(res, 400, "Param error", 400);
    return std::nullopt;
  }
  if (expected != signature) {
    pt::log::warn("venue-sim: poloniex signature mismatch", {{"path", req.path}, {"key", key}});
    fail(res, 401, "Signature verification failed", 401);
    return std::nullopt;
  }
  return acct->second;
}

std::optional<json> body_json(const httplib::Request& req, httplib::Response& res) {
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    fail(res, 400, "Param error: body is not valid JSON", 400);
    return std::nullopt;
  }
  return j;
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  try {
    return std::stoll(req.get_param_value(name));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

pw::row_extras extras_for(const sim::exchange& ex, sim::account_id a, const venue::order& o) {
  pw::row_extras x;
  if (const auto* i = ex.find_instrument(o.symbol)) x.contract_size = i->contract_size;
  x.leverage = ex.leverage(a, o.symbol);
  x.mode = ex.margin_mode_of(a, o.symbol);
  x.pos_side = o.pos_side;
  x.type = o.type;
  return x;
}

std::optional<venue::side> parse_side(const std::string& s) {
  if (s == "BUY" || s == "buy") return venue::side::buy;
  if (s == "SELL" || s == "sell") return venue::side::sell;
  return std::nullopt;
}

std::optional<venue::position_side> parse_pos_side(const std::optional<std::string>& s) {
  if (!s || *s == "BOTH") return venue::position_side::both;
  if (*s == "LONG") return venue::position_side::long_side;
  if (*s == "SHORT") return venue::position_side::short_side;
  return std::nullopt;
}

std::optional<venue::margin_mode> parse_mgn(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  if (*s == "CROSS") return venue::margin_mode::cross;
  if (*s == "ISOLATED") return venue::margin_mode::isolated;
  return std::nullopt;
}

// One order from a JSON object (single or batch); on a bad field returns {code,msg}.
std::variant<venue::order_request, std::pair<std::int64_t, std::string>> read_order(const json& o) {
  using err = std::pair<std::int64_t, std::string>;
  venue::order_request r;
  const auto symbol = field(o, "symbol");
  if (!symbol) return err{400, "Param error symbol"};
  r.symbol = *symbol;
  const auto side = field(o, "side");
  if (!side || !parse_side(*side)) return err{400, "Param error side"};
  r.s = *parse_side(*side);
  const auto type = field(o, "type").value_or("LIMIT");
  if (type == "MARKET") r.type = venue::order_type::market;
  else if (type == "LIMIT") r.type = venue::order_type::limit;
  else if (type == "LIMIT_MAKER") {
    r.type = venue::order_type::limit;
    r.tif = venue::time_in_force::post_only;
  } else {
    // Poloniex v3 has no stop or trigger order types (exchanges.md A6); nor does venue-sim.
    return err{400, "Param error type"};
  }
  const auto sz = field(o, "sz");
  const auto sz_val = sz ? decimal::try_parse(*sz) : std::nullopt;
  if (!sz_val || !sz_val->is_positive()) return err{400, "Param error sz"};
  r.qty = *sz_val;
  if (r.type == venue::order_type::limit) {
    const auto px = field(o, "px");
    const auto px_val = px ? decimal::try_parse(*px) : std::nullopt;
    if (!px_val || !px_val->is_positive()) return err{400, "Param error px"};
    r.price = *px_val;
  }
  if (const auto tif = field(o, "timeInForce")) {
    if (*tif == "GTC") {
    } else if (*tif == "IOC") r.tif = venue::time_in_force::ioc;
    else if (*tif == "FOK") r.tif = venue::time_in_force::fok;
    else return err{400, "Param error timeInForce"};
  }
  // Poloniex's own endpoint list (polo-skills-hub polo-futures) calls mgnMode and posSide
  // required, but ccxt sends neither for a one-way order: venue-sim defaults them (CROSS, BOTH)
  // and our connector always sends both, so it is right either way.
  const auto ps = parse_pos_side(field(o, "posSide"));
  if (!ps) return err{400, "Param error posSide"};
  r.pos_side = *ps;
  if (const auto m = field(o, "mgnMode")) {
    const auto mm = parse_mgn(m);
    if (!mm) return err{400, "Param error mgnMode"};
    r.mode = *mm;
  }
  if (const auto ro = field(o, "reduceOnly")) r.reduce_only = *ro == "true";
  r.client_id = field(o, "clOrdId").value_or("");
  if (r.client_id.size() > 64) return err{400, "Param error clOrdId"};
  return r;
}

// Places one order; answers the item as {code,msg,ordId,clOrdId} pieces.
json place_one(handler_ctx& c, sim::account_id acct, venue::order_request r, std::int64_t now) {
  auto& ex = *c.vs->exchange;
  if (ex.margin_mode_of(acct, r.symbol) != r.mode && ex.find_instrument(r.symbol)) {
    const auto m = ex.set_margin_mode(acct, r.symbol, r.mode);
    if (!m.ok()) return {{"code", 400}, {"msg", m.error->message}};
  }
  const auto placed = ex.place(acct, r, now);
  if (!placed.ok()) {
    const auto [code, msg] = poloniex_code(*placed.error);
    return {{"code", code}, {"msg", msg}, {"clOrdId", r.client_id}};
  }
  return {{"code", 200}, {"msg", "Success"}, {"ordId", placed.value->order_id}, {"clOrdId", placed.value->client_id}};
}

}  // namespace

void mount_poloniex(httplib::Server& server, world& w) {
  auto ctx = std::make_shared<handler_ctx>(handler_ctx{w, w.venue(protocol::poloniex)});
  if (ctx->vs == nullptr) return;

  protocol_errors errors;
  errors.rate_limited = [] { return error_body(429, "TOO_MANY_REQUEST"); };
  errors.server_error = [] { return error_body(500, "SYSTEM_EXCEPTION"); };
  errors.maintenance = [] { return error_body(1002, "SYSTEM_MAINTENANCE"); };
  errors.maintenance_status = 200;
  errors.is_order = [](const httplib::Request& r) {
    return r.method == "POST" && (r.path == "/v3/trade/order" || r.path == "/v3/trade/orders");
  };
  install_fault_hooks(server, w, protocol::poloniex, errors);

  auto lock_market = [ctx](auto&& fn) {
    return [ctx, fn](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(ctx->w.mutex());
      fn(*ctx, req, res);
    };
  };
  auto lock_private = [ctx](auto&& fn) {
    return [ctx, fn](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(ctx->w.mutex());
      const auto acct = authenticate(*ctx, req, res);
      if (!acct) return;
      fn(*ctx, *acct, req, res, lock);
    };
  };
  auto known_symbol = [](handler_ctx& c, const httplib::Request& req, httplib::Response& res) -> const venue::instrument* {
    const std::string s = req.get_param_value("symbol");
    const auto* inst = s.empty() ? nullptr : c.vs->exchange->find_instrument(s);
    if (inst == nullptr) fail(res, 24101, "Invalid symbol!");
    return inst;
  };

  // ---- public --------------------------------------------------------------------------------
  server.Get("/timestamp", [&w](const httplib::Request&, httplib::Response& res) {
    reply(res, json{{"serverTime", w.server_now()}});
  });
  // ccxt's poloniex class loads spot markets and currencies too; venue-sim lists no spot markets.
  server.Get("/markets", [](const httplib::Request&, httplib::Response& res) { reply(res, json::array()); });
  server.Get("/v2/currencies", [](const httplib::Request&, httplib::Response& res) { reply(res, json::array()); });
  server.Get("/currencies", [](const httplib::Request&, httplib::Response& res) { reply(res, json::array()); });

  server.Get("/v3/market/allInstruments", lock_market([](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    json data = json::array();
    const std::string only = req.get_param_value("symbol");
    for (const auto& i : c.vs->exchange->instruments())
      if (only.empty() || only == i.symbol) data.push_back(pw::render_instrument(i));
    ok(res, data);
  }));
  server.Get("/v3/market/instruments", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("symbol")) {
      if (const auto* i = known_symbol(c, req, res)) ok(res, json::array({pw::render_instrument(*i)}));
      return;
    }
    json data = json::array();
    for (const auto& i : c.vs->exchange->instruments()) data.push_back(pw::render_instrument(i));
    ok(res, data);
  }));
  server.Get("/v3/market/orderBook", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    const auto limit = int_param(req, "limit").value_or(5);
    if (limit != 5 && limit != 10 && limit != 20 && limit != 100 && limit != 150) {
      fail(res, 24106, "Invalid market depth");
      return;
    }
    const auto book = c.vs->exchange->book(inst->symbol, static_cast<std::size_t>(limit), c.w.market_now());
    ok(res, pw::render_order_book(book, inst->tick));
  }));
  auto candles_handler = [known_symbol](bool price_only) {
    return [known_symbol, price_only](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
      const auto* inst = known_symbol(c, req, res);
      if (!inst) return;
      venue::timeframe tf;
      try {
        tf = venue::from_poloniex_interval(req.get_param_value("interval"));
        if (!venue::poloniex_supports(tf, price_only ? venue::poloniex_candles::price : venue::poloniex_candles::trade))
          throw std::invalid_argument("unsupported");
      } catch (const std::exception&) {
        fail(res, 24102, "Invalid K-line type!");
        return;
      }
      const auto limit = int_param(req, "limit").value_or(100);
      if (limit < 1 || limit > 500) {
        fail(res, 24104, "Invalid limit");
        return;
      }
      const auto rows = c.vs->replayer->candles(inst->symbol, venue::duration_of(tf).count(), int_param(req, "sTime"),
                                                int_param(req, "eTime"), static_cast<std::size_t>(limit));
      json data = json::array();
      for (const auto& row : rows) data.push_back(price_only ? pw::render_price_candle(row) : pw::render_candle(row));
      ok(res, data);
    };
  };
  server.Get("/v3/market/candles", lock_market(candles_handler(false)));
  server.Get("/v3/market/markPriceCandlesticks", lock_market(candles_handler(true)));
  server.Get("/v3/market/indexPriceCandlesticks", lock_market(candles_handler(true)));
  server.Get("/v3/market/trades", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    const auto limit = std::clamp<std::int64_t>(int_param(req, "limit").value_or(500), 1, 1000);
    json data = json::array();
    for (const auto& t : c.vs->exchange->recent_trades(inst->symbol, static_cast<std::size_t>(limit)))
      data.push_back(pw::render_trade(t, inst->contract_size));
    ok(res, data);
  }));
  server.Get("/v3/market/tickers", lock_market([](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const std::string only = req.get_param_value("symbol");
    json data = json::array();
    for (const auto& i : c.vs->exchange->instruments()) {
      if (!only.empty() && only != i.symbol) continue;
      if (auto t = c.vs->replayer->ticker(i.symbol)) data.push_back(pw::render_ticker(*t));
    }
    if (!only.empty() && data.empty()) {
      fail(res, 24101, "Invalid symbol!");
      return;
    }
    ok(res, data);
  }));
  auto mark_handler = [](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const std::string only = req.get_param_value("symbol");
    json data = json::array();
    for (const auto& i : c.vs->exchange->instruments()) {
      if (!only.empty() && only != i.symbol) continue;
      venue::mark_price m;
      m.symbol = i.symbol;
      m.mark = c.vs->exchange->mark(i.symbol).value_or(decimal::zero());
      m.time = c.w.market_now();
      data.push_back(pw::render_mark_price(m));
    }
    if (!only.empty()) {
      if (data.empty()) fail(res, 24101, "Invalid symbol!");
      else ok(res, data[0]);
      return;
    }
    ok(res, data);
  };
  server.Get("/v3/market/markPrice", lock_market(mark_handler));
  server.Get("/v3/market/fundingRate", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    const auto f = c.vs->replayer->current_funding(inst->symbol);
    if (!f) {
      fail(res, 24201, "Please try again later");
      return;
    }
    ok(res, pw::render_funding_rate(*f));
  }));
  server.Get("/v3/market/fundingRate/history", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    const auto limit = std::clamp<std::int64_t>(int_param(req, "limit").value_or(100), 1, 1000);
    json data = json::array();
    // Newest first, as the venue lists history.
    auto rows = c.vs->replayer->funding_history(inst->symbol, int_param(req, "sT"), int_param(req, "eT"),
                                                static_cast<std::size_t>(limit));
    std::reverse(rows.begin(), rows.end());
    for (const auto& r : rows) data.push_back(pw::render_funding_history_row(r));
    ok(res, data);
  }));
  server.Get("/v3/market/openInterest", lock_market([known_symbol](handler_ctx& c, const httplib::Request& req, httplib::Response& res) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    decimal oi;
    for (const auto& k : c.vs->keys)
      for (const auto& p : c.vs->exchange->positions(k.second))
        if (p.symbol == inst->symbol && p.qty.is_positive()) oi += p.qty;
    ok(res, json{{"s", inst->symbol}, {"oInterest", oi.to_string()}});
  }));

  // ---- private -------------------------------------------------------------------------------
  server.Get("/v3/account/balance", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request&, httplib::Response& res, auto&) {
    ok(res, pw::render_balances({c.vs->exchange->balance(a)}, c.w.market_now()));
  }));
  server.Get("/v3/account/bills", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    json data = json::array();
    const auto limit = std::clamp<std::int64_t>(int_param(req, "limit").value_or(100), 1, 100);
    auto rows = c.vs->exchange->bills(a, int_param(req, "sTime").value_or(0));
    std::reverse(rows.begin(), rows.end());
    for (const auto& b : rows) {
      if (static_cast<std::int64_t>(data.size()) >= limit) break;
      data.push_back(pw::render_bill(b));
    }
    ok(res, data);
  }));
  server.Post("/v3/trade/order", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto& lock) {
    const auto body = body_json(req, res);
    if (!body) return;
    auto parsed = read_order(*body);
    if (auto* e = std::get_if<std::pair<std::int64_t, std::string>>(&parsed)) {
      fail(res, e->first, e->second);
      return;
    }
    const json item = place_one(c, a, std::get<venue::order_request>(parsed), c.w.market_now());
    lock.unlock();  // faults that hold the answer must not hold the market
    if (item.value("code", 0) != 200) {
      fail(res, item["code"].get<std::int64_t>(), item["msg"].get<std::string>());
      return;
    }
    if (apply_order_faults(c.w, res, error_body(503, "DEGRADE_ERROR"))) return;
    ok(res, json{{"ordId", item["ordId"]}, {"clOrdId", item["clOrdId"]}});
  }));
  server.Post("/v3/trade/orders", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto& lock) {
    const auto body = body_json(req, res);
    if (!body) return;
    if (!body->is_array() || body->empty() || body->size() > 10) {
      fail(res, 10016, "BATCH_PLACE_ORDER_SIZE_OVER_LIMIT");
      return;
    }
    json data = json::array();
    for (const auto& o : *body) {
      auto parsed = read_order(o);
      if (auto* e = std::get_if<std::pair<std::int64_t, std::string>>(&parsed))
        data.push_back({{"code", e->first}, {"msg", e->second}, {"ordId", ""}, {"clOrdId", field(o, "clOrdId").value_or("")}});
      else
        data.push_back(place_one(c, a, std::get<venue::order_request>(parsed), c.w.market_now()));
    }
    lock.unlock();
    if (apply_order_faults(c.w, res, error_body(503, "DEGRADE_ERROR"))) return;
    ok(res, data);
  }));
  auto cancel_one = [](handler_ctx& c, sim::account_id a, const json& o) -> json {
    const auto symbol = field(o, "symbol");
    const auto ord = field(o, "ordId").value_or("");
    const auto cl = field(o, "clOrdId").value_or("");
    if (!symbol) return {{"code", 400}, {"msg", "Param error symbol"}};
    if (ord.empty() && cl.empty()) return {{"code", 400}, {"msg", "Param error ordId"}};
    const auto r = c.vs->exchange->cancel(a, *symbol, ord, cl, c.w.market_now());
    if (!r.ok()) {
      const auto [code, msg] = poloniex_code(*r.error);
      return {{"code", code}, {"msg", msg}, {"ordId", ord}, {"clOrdId", cl}};
    }
    return {{"code", 200}, {"msg", "Success"}, {"ordId", r.value->order_id}, {"clOrdId", r.value->client_id}};
  };
  // Cancels take their parameters from a JSON body (ccxt, GCT) or the query (PSDK-PY).
  auto cancel_params = [](const httplib::Request& req, const json& body) {
    json o = body.is_object() ? body : json::object();
    for (const auto& [k, v] : req.params) o[k] = v;
    return o;
  };
  server.Delete("/v3/trade/order", lock_private([cancel_one, cancel_params](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const json item = cancel_one(c, a, cancel_params(req, *body));
    if (item.value("code", 0) != 200) {
      fail(res, item["code"].get<std::int64_t>(), item["msg"].get<std::string>());
      return;
    }
    ok(res, json{{"ordId", item["ordId"]}, {"clOrdId", item["clOrdId"]}});
  }));
  server.Delete("/v3/trade/batchOrders", lock_private([cancel_one, cancel_params](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const json p = cancel_params(req, *body);
    const auto symbol = field(p, "symbol");
    json data = json::array();
    for (const char* key : {"ordIds", "clOrdIds"}) {
      if (!p.contains(key) || !p[key].is_array()) continue;
      if (p[key].size() > 10) {
        fail(res, 10017, "BATCH_CANCEL_ORDER_SIZE_OVER_LIMIT");
        return;
      }
      for (const auto& id : p[key]) {
        json one{{"symbol", symbol.value_or("")}};
        one[std::string(key) == "ordIds" ? "ordId" : "clOrdId"] = id.is_string() ? id.get<std::string>() : id.dump();
        data.push_back(cancel_one(c, a, one));
      }
    }
    ok(res, data);
  }));
  server.Delete("/v3/trade/allOrders", lock_private([cancel_params](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const json p = cancel_params(req, *body);
    std::vector<std::string> symbols;
    if (auto s = field(p, "symbol")) symbols.push_back(*s);
    if (p.contains("symbols") && p["symbols"].is_array())
      for (const auto& s : p["symbols"])
        if (s.is_string()) symbols.push_back(s.get<std::string>());
    if (symbols.empty()) symbols.push_back("");
    json data = json::array();
    for (const auto& s : symbols)
      for (const auto& o : c.vs->exchange->cancel_all(a, s, c.w.market_now()))
        data.push_back({{"code", 200}, {"msg", "Success"}, {"ordId", o.order_id}, {"clOrdId", o.client_id}});
    ok(res, data);
  }));
  // Close a position (or all) at market: a reduce-only market order for the whole quantity.
  auto close_position = [](handler_ctx& c, sim::account_id a, const venue::position& p, const std::string& cl) -> json {
    venue::order_request r;
    r.symbol = p.symbol;
    r.client_id = cl;
    r.s = p.qty.is_positive() ? venue::side::sell : venue::side::buy;
    r.type = venue::order_type::market;
    r.qty = core::abs(p.qty);
    r.reduce_only = p.pos_side == venue::position_side::both;
    r.pos_side = p.pos_side;
    r.mode = p.mode;
    const auto placed = c.vs->exchange->place(a, r, c.w.market_now());
    if (!placed.ok()) {
      const auto [code, msg] = poloniex_code(*placed.error);
      return {{"code", code}, {"msg", msg}};
    }
    return {{"code", 200}, {"msg", "Success"}, {"ordId", placed.value->order_id}, {"clOrdId", placed.value->client_id}};
  };
  server.Post("/v3/trade/position", lock_private([close_position](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const auto symbol = field(*body, "symbol");
    if (!symbol) {
      fail(res, 400, "Param error symbol");
      return;
    }
    const auto ps = parse_pos_side(field(*body, "posSide"));
    for (const auto& p : c.vs->exchange->positions(a)) {
      if (p.symbol != *symbol || (ps && *ps != venue::position_side::both && p.pos_side != *ps)) continue;
      const json item = close_position(c, a, p, field(*body, "clOrdId").value_or(""));
      if (item["code"] != 200) fail(res, item["code"].get<std::int64_t>(), item["msg"].get<std::string>());
      else ok(res, json{{"ordId", item["ordId"]}, {"clOrdId", item["clOrdId"]}});
      return;
    }
    fail(res, 21001, "POSITION_NOT_EXIST");
  }));
  server.Post("/v3/trade/positionAll", lock_private([close_position](handler_ctx& c, sim::account_id a, const httplib::Request&, httplib::Response& res, auto&) {
    json data = json::array();
    for (const auto& p : c.vs->exchange->positions(a)) data.push_back(close_position(c, a, p, ""));
    ok(res, data);
  }));
  auto order_rows = [](handler_ctx& c, sim::account_id a, const std::vector<venue::order>& orders,
                       const httplib::Request& req, std::size_t max_limit) {
    const std::string side = req.get_param_value("side");
    const std::string ord = req.get_param_value("ordId");
    const std::string cl = req.get_param_value("clOrdId");
    const auto limit = static_cast<std::size_t>(std::clamp<std::int64_t>(
        int_param(req, "limit").value_or(static_cast<std::int64_t>(max_limit)), 1, static_cast<std::int64_t>(max_limit)));
    // Pages: rows are newest first; `from` (an ordId) with direct=NEXT (default) continues after
    // that row, direct=PREV returns the rows just before it.
    const std::string from = req.get_param_value("from");
    const bool prev = req.get_param_value("direct") == "PREV";
    std::vector<const venue::order*> rows;
    for (const auto& o : orders) {
      if (!side.empty() && side != (o.s == venue::side::buy ? "BUY" : "SELL")) continue;
      if (!ord.empty() && o.order_id != ord) continue;
      if (!cl.empty() && o.client_id != cl) continue;
      rows.push_back(&o);
    }
    std::size_t begin = 0, end = rows.size();
    if (!from.empty()) {
      const auto at = std::find_if(rows.begin(), rows.end(), [&](const venue::order* o) { return o->order_id == from; });
      const auto i = static_cast<std::size_t>(at - rows.begin());
      if (prev) {
        end = std::min(i, rows.size());
        begin = end > limit ? end - limit : 0;
      } else {
        begin = at == rows.end() ? rows.size() : i + 1;
      }
    }
    json data = json::array();
    for (std::size_t i = begin; i < end && data.size() < limit; ++i)
      data.push_back(pw::render_order(*rows[i], extras_for(*c.vs->exchange, a, *rows[i])));
    return data;
  };
  server.Get("/v3/trade/order/opens", lock_private([order_rows](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    auto orders = c.vs->exchange->open_orders(a, req.get_param_value("symbol"));
    std::reverse(orders.begin(), orders.end());  // newest first
    ok(res, order_rows(c, a, orders, req, 100));
  }));
  server.Get("/v3/trade/order/history", lock_private([order_rows](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    auto orders = c.vs->exchange->order_history(a, req.get_param_value("symbol"));
    std::reverse(orders.begin(), orders.end());
    ok(res, order_rows(c, a, orders, req, 200));
  }));
  server.Get("/v3/trade/order/details", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const std::string ord = req.get_param_value("ordId"), cl = req.get_param_value("clOrdId");
    if (ord.empty() && cl.empty()) {
      fail(res, 400, "Param error ordId");
      return;
    }
    for (const auto& i : c.vs->exchange->instruments()) {
      if (const auto o = c.vs->exchange->query(a, i.symbol, ord, cl)) {
        ok(res, pw::render_order(*o, extras_for(*c.vs->exchange, a, *o)));
        return;
      }
    }
    fail(res, 11008, "ORDER_NOT_EXISTS");
  }));
  server.Get("/v3/trade/order/trades", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const std::string ord = req.get_param_value("ordId"), cl = req.get_param_value("clOrdId");
    const auto limit = static_cast<std::size_t>(std::clamp<std::int64_t>(int_param(req, "limit").value_or(100), 1, 100));
    auto rows = c.vs->exchange->fills(a, req.get_param_value("symbol"), int_param(req, "sTime").value_or(0));
    std::reverse(rows.begin(), rows.end());
    json data = json::array();
    for (const auto& f : rows) {
      if ((!ord.empty() && f.order_id != ord) || (!cl.empty() && f.client_id != cl)) continue;
      if (data.size() >= limit) break;
      pw::row_extras x;
      if (const auto* i = c.vs->exchange->find_instrument(f.symbol)) x.contract_size = i->contract_size;
      x.mode = c.vs->exchange->margin_mode_of(a, f.symbol);
      data.push_back(pw::render_fill(f, x));
    }
    ok(res, data);
  }));
  server.Get("/v3/trade/position/opens", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const std::string only = req.get_param_value("symbol");
    json data = json::array();
    for (const auto& p : c.vs->exchange->positions(a))
      if (only.empty() || p.symbol == only) data.push_back(pw::render_position(p));
    ok(res, data);
  }));
  server.Get("/v3/trade/position/history", lock_private([](handler_ctx&, sim::account_id, const httplib::Request&, httplib::Response& res, auto&) {
    ok(res, json::array());  // not kept by the simulator (see README)
  }));
  server.Get("/v3/position/leverages", lock_private([known_symbol](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto* inst = known_symbol(c, req, res);
    if (!inst) return;
    const auto mode = c.vs->exchange->margin_mode_of(a, inst->symbol);
    ok(res, json::array({{{"symbol", inst->symbol},
                          {"mgnMode", mode == venue::margin_mode::cross ? "CROSS" : "ISOLATED"},
                          {"posSide", "BOTH"},
                          {"lever", std::to_string(c.vs->exchange->leverage(a, inst->symbol))}}}));
  }));
  server.Post("/v3/position/leverage", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const auto symbol = field(*body, "symbol");
    const auto lever = field(*body, "lever");
    const auto mode = parse_mgn(field(*body, "mgnMode"));
    if (!symbol) return fail(res, 400, "Param error symbol");
    if (!lever) return fail(res, 400, "Param error lever");
    if (!mode) return fail(res, 400, "Param error mgnMode");
    std::int64_t lev = 0;
    try {
      lev = std::stoll(*lever);
    } catch (const std::exception&) {
      return fail(res, 400, "Param error lever");
    }
    auto& ex = *c.vs->exchange;
    if (!ex.find_instrument(*symbol)) return fail(res, 10001, "SYMBOL_NOT_EXISTS");
    if (const auto m = ex.set_margin_mode(a, *symbol, *mode); !m.ok()) {
      const auto [code, msg] = poloniex_code(*m.error);
      return fail(res, code, msg);
    }
    const auto r = ex.set_leverage(a, *symbol, static_cast<int>(std::clamp<std::int64_t>(lev, -1, 100000)), c.w.market_now());
    if (!r.ok()) {
      const auto [code, msg] = poloniex_code(*r.error);
      return fail(res, code, msg);
    }
    ok(res, json{{"symbol", *symbol}, {"lever", std::to_string(*r.value)}, {"mgnMode", *field(*body, "mgnMode")},
                 {"posSide", field(*body, "posSide").value_or("BOTH")}});
  }));
  server.Get("/v3/position/mode", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request&, httplib::Response& res, auto&) {
    ok(res, pw::render_position_mode(c.vs->exchange->position_mode_of(a)));
  }));
  server.Post("/v3/position/mode", lock_private([](handler_ctx& c, sim::account_id a, const httplib::Request& req, httplib::Response& res, auto&) {
    const auto body = body_json(req, res);
    if (!body) return;
    const auto m = field(*body, "posMode");
    if (!m || (*m != "HEDGE" && *m != "ONE_WAY")) return fail(res, 400, "Param error posMode");
    const auto r = c.vs->exchange->set_position_mode(a, *m == "HEDGE" ? venue::position_mode::hedge : venue::position_mode::one_way);
    if (!r.ok()) return fail(res, 400, r.error->message);
    ok(res, json::object());
  }));
}

}  // namespace pt::venue_sim
