// The Binance USD-M futures REST protocol (fapi) over the simulated exchange (exchanges.md B).
// Errors are {"code":-NNNN,"msg":...} with HTTP 400 (401 for a bad key), as the venue answers.
#include "binance_api.hpp"

#include "core/log.hpp"
#include "venue/binance_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <variant>

namespace pt::venue_sim {

namespace bw = pt::venue::binance;
using core::decimal;

namespace {

using params_t = std::map<std::string, std::string>;

void fail(httplib::Response& res, std::int64_t code, const std::string& msg, int status = 400) {
  reply(res, bw::render_api_error(code, msg), status);
}

std::pair<std::int64_t, std::string> binance_code(const sim::reject& r, bool is_cancel = false) {
  using sim::reject_code;
  switch (r.code) {
    case reject_code::unknown_symbol: return {-1121, "Invalid symbol."};
    case reject_code::symbol_not_trading:
    case reject_code::cancel_only: return {-4140, "Invalid symbol status for opening position."};
    case reject_code::bad_quantity: return {-4023, "Quantity not increased by step size."};
    case reject_code::qty_below_min: return {-4004, "Quantity less than min qty."};
    case reject_code::qty_above_max: return {-4005, "Quantity greater than max quantity."};
    case reject_code::bad_price: return {-4014, "Price not increased by tick size."};
    case reject_code::price_out_of_range: return {-4016, "Limit price can't be higher than the cap."};
    case reject_code::insufficient_margin: return {-2019, "Margin is insufficient."};
    case reject_code::reduce_only_rejected:
    case reject_code::no_position_to_reduce: return {-2022, "ReduceOnly Order is rejected."};
    case reject_code::post_only_would_take:
      return {-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."};
    case reject_code::fok_cannot_fill:
      return {-5021, "Due to the order could not be filled immediately, the FOK order has been rejected."};
    case reject_code::no_liquidity: return {-2020, "Unable to fill."};
    case reject_code::duplicate_client_id: return {-4116, "ClientOrderId is duplicated."};
    case reject_code::unknown_order:
      return is_cancel ? std::pair<std::int64_t, std::string>{-2011, "Unknown order sent."}
                       : std::pair<std::int64_t, std::string>{-2013, "Order does not exist."};
    case reject_code::invalid_leverage: return {-4028, "Leverage is not valid."};
    case reject_code::position_exists: return {-4048, "Margin type cannot be changed if there exists position."};
    case reject_code::position_side_mismatch: return {-4061, "Order's position side does not match user's setting."};
    case reject_code::unknown_account: return {-2015, "Invalid API-key, IP, or permissions for action."};
    case reject_code::would_trigger_immediately: return {-2021, "Order would immediately trigger."};
  }
  return {-1000, r.message};
}

params_t parse_params(std::string_view text) {
  params_t out;
  std::size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    const auto amp = text.find('&', pos);
    const std::string_view item = text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!item.empty()) {
      const auto eq = item.find('=');
      const std::string k(item.substr(0, eq));
      const std::string v = eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
      out[httplib::detail::decode_url(k, true)] = httplib::detail::decode_url(v, true);
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

// The raw query string and form body, with the signature cut out of whichever holds it.
struct signed_request {
  std::string query, body;
  std::string signature;
  params_t params;  // query and body merged (the query wins on duplicates, as on the venue)
};

std::optional<std::string> cut_signature(std::string& text) {
  const auto at = text.rfind("signature=");
  if (at == std::string::npos || (at != 0 && text[at - 1] != '&')) return std::nullopt;
  std::string sig = text.substr(at + 10);
  if (sig.find('&') != std::string::npos) return std::nullopt;  // must be the last parameter
  text.erase(at == 0 ? 0 : at - 1);
  return sig;
}

signed_request read_request(const httplib::Request& req) {
  signed_request s;
  const auto q = req.target.find('?');
  if (q != std::string::npos) s.query = req.target.substr(q + 1);
  const std::string ct = req.get_header_value("Content-Type");
  if (!req.body.empty() && (ct.empty() || ct.find("x-www-form-urlencoded") != std::string::npos)) s.body = req.body;
  if (auto sig = cut_signature(s.body)) s.signature = *sig;
  else if (auto sig2 = cut_signature(s.query)) s.signature = *sig2;
  s.params = parse_params(s.body);
  for (auto& [k, v] : parse_params(s.query)) s.params[k] = v;
  return s;
}

struct ctx_t {
  world& w;
  world::venue_state* vs;
};

std::optional<sim::account_id> api_key_only(ctx_t& c, const httplib::Request& req, httplib::Response& res) {
  const std::string key = req.get_header_value("X-MBX-APIKEY");
  const auto* acct = key.empty() ? nullptr : c.vs->find_key(key);
  if (acct == nullptr) {
    fail(res, -2015, "Invalid API-key, IP, or permissions for action.", 401);
    return std::nullopt;
  }
  return acct->second;
}

std::optional<sim::account_id> authenticate(ctx_t& c, const httplib::Request& req, const signed_request& s,
                                            httplib::Response& res) {
  const std::string key = req.get_header_value("X-MBX-APIKEY");
  const auto* acct = key.empty() ? nullptr : c.vs->find_key(key);
  if (acct == nullptr) {
    fail(res, -2015, "Invalid API-key, IP, or permissions for action.", 401);
    return std::nullopt;
  }
  auto it = s.params.find("timestamp");
  if (it == s.params.end()) {
    fail(res, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    return std::nullopt;
  }
  std::int64_t ts = 0, window = 5000;
  try {
    ts = std::stoll(it->second);
    if (auto rw = s.params.find("recvWindow"); rw != s.params.end()) window = std::stoll(rw->second);
  } catch (const std::exception&) {
    fail(res, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    return std::nullopt;
  }
  if (window <= 0 || window > 60000) {
    fail(res, -1131, "recvWindow must be less than 60000");
    return std::nullopt;
  }
  const std::int64_t now = c.w.server_now();
  if (ts >= now + 1000 || now - ts > window) {
    fail(res, -1021, "Timestamp for this request is outside of the recvWindow.");
    return std::nullopt;
  }
  if (s.signature.empty()) {
    fail(res, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    return std::nullopt;
  }
  std::string expected = venue::binance_sign(s.query + s.body, acct->first.secret);
  std::string got = s.signature;
  std::transform(got.begin(), got.end(), got.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (expected != got) {
    pt::log::warn("venue-sim: binance signature mismatch", {{"path", req.path}, {"key", key}});
    fail(res, -1022, "Signature for this request is not valid.");
    return std::nullopt;
  }
  return acct->second;
}

std::optional<std::int64_t> int_of(const params_t& p, const char* k) {
  auto it = p.find(k);
  if (it == p.end() || it->second.empty()) return std::nullopt;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
std::string str_of(const params_t& p, const char* k) {
  auto it = p.find(k);
  return it == p.end() ? "" : it->second;
}

std::variant<venue::order_request, std::pair<std::int64_t, std::string>> read_order(const params_t& p) {
  using err = std::pair<std::int64_t, std::string>;
  venue::order_request r;
  r.symbol = str_of(p, "symbol");
  if (r.symbol.empty()) return err{-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."};
  const auto side = str_of(p, "side");
  if (side == "BUY") r.s = venue::side::buy;
  else if (side == "SELL") r.s = venue::side::sell;
  else return err{-1117, "Invalid side."};
  const auto type = str_of(p, "type");
  if (type == "MARKET") r.type = venue::order_type::market;
  else if (type == "LIMIT") r.type = venue::order_type::limit;
  else if (type == "STOP" || type == "STOP_MARKET" || type == "TAKE_PROFIT" || type == "TAKE_PROFIT_MARKET" ||
           type == "TRAILING_STOP_MARKET")
    // Since 2025-12 conditional orders go through the Algo Service (/fapi/v1/algoOrder).
    return err{-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."};
  else return err{-1116, "Invalid orderType."};
  const auto qty = decimal::try_parse(str_of(p, "quantity"));
  if (!qty) return err{-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."};
  if (!qty->is_positive()) return err{-4003, "Quantity less than or equal to zero."};
  r.qty = *qty;
  if (r.type == venue::order_type::limit) {
    const auto px = decimal::try_parse(str_of(p, "price"));
    if (!px) return err{-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."};
    if (!px->is_positive()) return err{-4001, "Price less than 0."};
    r.price = *px;
    const auto tif = str_of(p, "timeInForce");
    if (tif == "GTC") r.tif = venue::time_in_force::gtc;
    else if (tif == "IOC") r.tif = venue::time_in_force::ioc;
    else if (tif == "FOK") r.tif = venue::time_in_force::fok;
    else if (tif == "GTX") r.tif = venue::time_in_force::post_only;
    else return err{-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."};
  }
  const auto ps = str_of(p, "positionSide");
  if (ps.empty() || ps == "BOTH") r.pos_side = venue::position_side::both;
  else if (ps == "LONG") r.pos_side = venue::position_side::long_side;
  else if (ps == "SHORT") r.pos_side = venue::position_side::short_side;
  else return err{-4006, "Invalid position side."};
  const auto ro = str_of(p, "reduceOnly");
  if (!ro.empty() && ro != "true" && ro != "false") return err{-1102, "Parameter 'reduceOnly' malformed."};
  r.reduce_only = ro == "true";
  r.client_id = str_of(p, "newClientOrderId");
  if (r.client_id.size() > 36) return err{-4015, "Client order id length should not be more than 36 chars"};
  for (char ch : r.client_id)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == ':' || ch == '/' || ch == '_' || ch == '-'))
      return err{-1100, "Illegal characters found in parameter 'newClientOrderId'."};
  return r;
}

// An algo (conditional) order as /fapi/v1/algoOrder answers it (field names as the Algo Service's).
json render_algo(const sim::conditional_order& c) {
  const auto& r = c.req;
  const char* ps = r.pos_side == venue::position_side::long_side    ? "LONG"
                   : r.pos_side == venue::position_side::short_side ? "SHORT"
                                                                     : "BOTH";
  const char* tif = r.tif == venue::time_in_force::ioc ? "IOC" : r.tif == venue::time_in_force::fok ? "FOK" : "GTC";
  return json{{"algoId", std::stoll(c.id)},
              {"clientAlgoId", r.client_id},
              {"algoType", "CONDITIONAL"},
              {"orderType", sim::to_string(r.type)},
              {"symbol", r.symbol},
              {"side", r.s == venue::side::buy ? "BUY" : "SELL"},
              {"positionSide", ps},
              {"timeInForce", tif},
              {"quantity", r.close_position ? "0" : r.qty.to_string()},
              {"algoStatus", sim::to_string(c.status)},
              {"triggerPrice", r.trigger_price.to_string()},
              {"price", r.price ? r.price->to_string() : "0"},
              {"icebergQuantity", nullptr},
              {"selfTradePreventionMode", "EXPIRE_MAKER"},
              {"workingType", r.on_mark ? "MARK_PRICE" : "CONTRACT_PRICE"},
              {"priceMatch", "NONE"},
              {"closePosition", r.close_position},
              {"priceProtect", false},
              {"reduceOnly", r.reduce_only},
              {"activatePrice", ""},
              {"callbackRate", ""},
              {"createTime", c.create_time},
              {"updateTime", c.update_time},
              {"triggerTime", c.trigger_time},
              {"goodTillDate", 0},
              {"actualOrderId", c.order_id},
              {"executedQty", c.executed_qty.to_string()},
              {"avgPrice", c.avg_price.to_string()}};
}

std::variant<sim::conditional_request, std::pair<std::int64_t, std::string>> read_algo(const params_t& p) {
  using err = std::pair<std::int64_t, std::string>;
  if (str_of(p, "algoType") != "CONDITIONAL") return err{-1102, "Parameter 'algoType' must be CONDITIONAL."};
  sim::conditional_request r;
  r.symbol = str_of(p, "symbol");
  if (r.symbol.empty()) return err{-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."};
  const auto side = str_of(p, "side");
  if (side != "BUY" && side != "SELL") return err{-1117, "Invalid side."};
  r.s = side == "BUY" ? venue::side::buy : venue::side::sell;
  const auto type = str_of(p, "type");
  if (type == "STOP_MARKET") r.type = sim::trigger_type::stop_market;
  else if (type == "TAKE_PROFIT_MARKET") r.type = sim::trigger_type::take_profit_market;
  else if (type == "STOP") r.type = sim::trigger_type::stop_limit;
  else if (type == "TAKE_PROFIT") r.type = sim::trigger_type::take_profit_limit;
  else return err{-1116, "Invalid orderType."};  // TRAILING_STOP_MARKET: not simulated (README)
  const auto trig = decimal::try_parse(str_of(p, "triggerPrice"));
  if (!trig) return err{-1102, "Mandatory parameter 'triggerPrice' was not sent, was empty/null, or malformed."};
  r.trigger_price = *trig;
  if (!str_of(p, "price").empty()) {
    const auto px = decimal::try_parse(str_of(p, "price"));
    if (!px) return err{-1102, "Parameter 'price' malformed."};
    r.price = *px;
  }
  r.close_position = str_of(p, "closePosition") == "true";
  if (r.close_position && !str_of(p, "quantity").empty()) return err{-1106, "Parameter 'quantity' sent when not required."};
  if (!r.close_position) {
    const auto q = decimal::try_parse(str_of(p, "quantity"));
    if (!q) return err{-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."};
    r.qty = *q;
  }
  r.reduce_only = str_of(p, "reduceOnly") == "true";
  const auto wt = str_of(p, "workingType");
  if (!wt.empty() && wt != "MARK_PRICE" && wt != "CONTRACT_PRICE") return err{-1102, "Parameter 'workingType' malformed."};
  r.on_mark = wt == "MARK_PRICE";
  const auto ps = str_of(p, "positionSide");
  if (ps == "LONG") r.pos_side = venue::position_side::long_side;
  else if (ps == "SHORT") r.pos_side = venue::position_side::short_side;
  else if (!ps.empty() && ps != "BOTH") return err{-4006, "Invalid position side."};
  r.client_id = str_of(p, "clientAlgoId");
  if (r.client_id.size() > 36) return err{-4015, "Client order id length should not be more than 36 chars"};
  return r;
}

}  // namespace

void mount_binance(httplib::Server& server, world& w) {
  auto ctx = std::make_shared<ctx_t>(ctx_t{w, w.venue(protocol::binance)});
  if (ctx->vs == nullptr) return;
  protocol_errors errors;
  errors.rate_limited = [] {
    return bw::render_api_error(-1003, "Too many requests; current limit is 2400 requests per minute.");
  };
  errors.server_error = [] { return bw::render_api_error(-1001, "Service Unavailable."); };
  errors.server_error_status = 503;
  errors.maintenance = [] { return bw::render_api_error(-1001, "System is under maintenance."); };
  errors.maintenance_status = 503;
  errors.is_order = [](const httplib::Request& r) {
    return r.method == "POST" && (r.path == "/fapi/v1/order" || r.path == "/fapi/v1/batchOrders");
  };
  install_fault_hooks(server, w, protocol::binance, errors);

  auto pub = [ctx](auto&& fn) {
    return [ctx, fn](const httplib::Request& req, httplib::Response& res) {
      const auto s = read_request(req);
      std::lock_guard lock(ctx->w.mutex());
      fn(*ctx, s.params, res);
    };
  };
  auto priv = [ctx](auto&& fn) {
    return [ctx, fn](const httplib::Request& req, httplib::Response& res) {
      const auto s = read_request(req);
      std::unique_lock lock(ctx->w.mutex());
      const auto acct = authenticate(*ctx, req, s, res);
      if (!acct) return;
      fn(*ctx, *acct, s.params, res, lock);
    };
  };
  auto symbol_of = [](ctx_t& c, const params_t& p, httplib::Response& res) -> const venue::instrument* {
    const auto* i = c.vs->exchange->find_instrument(str_of(p, "symbol"));
    if (!i) fail(res, -1121, "Invalid symbol.");
    return i;
  };

  // ---- public --------------------------------------------------------------------------------
  server.Get("/fapi/v1/ping", [](const httplib::Request&, httplib::Response& res) { reply(res, json::object()); });
  server.Get("/fapi/v1/time", [&w](const httplib::Request&, httplib::Response& res) {
    reply(res, bw::render_server_time(w.server_now()));
  });
  server.Get("/fapi/v1/exchangeInfo", pub([](ctx_t& c, const params_t&, httplib::Response& res) {
    bw::exchange_info info;
    info.instruments = c.vs->exchange->instruments();
    const auto k = c.w.options().rate_limit_scale;  // 1 unless a lockstep replay asked for more
    info.rate_limits = {{"REQUEST_WEIGHT", "MINUTE", 1, 2400 * k}, {"ORDERS", "MINUTE", 1, 1200 * k}, {"ORDERS", "SECOND", 10, 300 * k}};
    info.server_time = c.w.server_now();
    reply(res, bw::render_exchange_info(info));
  }));
  server.Get("/fapi/v1/depth", pub([symbol_of](ctx_t& c, const params_t& p, httplib::Response& res) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    const auto limit = int_of(p, "limit").value_or(500);
    static const std::int64_t allowed[] = {5, 10, 20, 50, 100, 500, 1000};
    if (std::find(std::begin(allowed), std::end(allowed), limit) == std::end(allowed))
      return fail(res, -1130, "Invalid data sent for a parameter.");
    auto book = c.vs->exchange->book(i->symbol, static_cast<std::size_t>(limit), c.w.market_now());
    book.update_id = c.w.replay_events();
    reply(res, bw::render_depth(book, c.w.market_now()));
  }));
  auto klines = [symbol_of](ctx_t& c, const params_t& p, httplib::Response& res) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    venue::timeframe tf;
    try {
      tf = venue::from_binance_interval(str_of(p, "interval"));
    } catch (const std::exception&) {
      return fail(res, -1120, "Invalid interval.");
    }
    const auto limit = int_of(p, "limit").value_or(500);
    if (limit < 1 || limit > 1500) return fail(res, -1130, "Invalid data sent for a parameter.");
    json rows = json::array();
    for (const auto& k : c.vs->replayer->candles(i->symbol, venue::duration_of(tf).count(), int_of(p, "startTime"),
                                                 int_of(p, "endTime"), static_cast<std::size_t>(limit)))
      rows.push_back(bw::render_kline(k));
    reply(res, rows);
  };
  server.Get("/fapi/v1/klines", pub(klines));
  server.Get("/fapi/v1/markPriceKlines", pub(klines));
  server.Get("/fapi/v1/trades", pub([symbol_of](ctx_t& c, const params_t& p, httplib::Response& res) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    auto rows = c.vs->exchange->recent_trades(i->symbol, static_cast<std::size_t>(std::clamp<std::int64_t>(int_of(p, "limit").value_or(500), 1, 1000)));
    std::reverse(rows.begin(), rows.end());  // oldest first
    json out = json::array();
    for (const auto& t : rows) out.push_back(bw::render_trade(t));
    reply(res, out);
  }));
  server.Get("/fapi/v1/aggTrades", pub([symbol_of](ctx_t& c, const params_t& p, httplib::Response& res) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    auto rows = c.vs->exchange->recent_trades(i->symbol, static_cast<std::size_t>(std::clamp<std::int64_t>(int_of(p, "limit").value_or(500), 1, 1000)));
    std::reverse(rows.begin(), rows.end());
    json out = json::array();
    for (const auto& t : rows) out.push_back(bw::render_agg_trade(t));
    reply(res, out);
  }));
  auto each_symbol = [](ctx_t& c, const params_t& p, httplib::Response& res, auto&& one) {
    const std::string only = str_of(p, "symbol");
    json out = json::array();
    for (const auto& i : c.vs->exchange->instruments())
      if (only.empty() || only == i.symbol)
        if (auto j = one(i); !j.is_null()) out.push_back(j);
    if (!only.empty()) {
      if (out.empty()) return fail(res, -1121, "Invalid symbol.");
      return reply(res, out[0]);
    }
    reply(res, out);
  };
  server.Get("/fapi/v1/ticker/24hr", pub([each_symbol](ctx_t& c, const params_t& p, httplib::Response& res) {
    each_symbol(c, p, res, [&](const venue::instrument& i) -> json {
      const auto t = c.vs->replayer->ticker(i.symbol);
      return t ? bw::render_ticker(*t) : json();
    });
  }));
  server.Get("/fapi/v1/premiumIndex", pub([each_symbol](ctx_t& c, const params_t& p, httplib::Response& res) {
    each_symbol(c, p, res, [&](const venue::instrument& i) -> json {
      venue::mark_price m;
      m.symbol = i.symbol;
      m.mark = c.vs->exchange->mark(i.symbol).value_or(decimal::zero());
      m.index = m.mark;
      if (const auto f = c.vs->replayer->current_funding(i.symbol)) {
        m.funding_rate = f->next_rate.value_or(f->rate);
        m.next_funding_time = f->next_time;
      }
      m.time = c.w.market_now();
      return bw::render_premium_index(m);
    });
  }));
  server.Get("/fapi/v1/fundingRate", pub([symbol_of](ctx_t& c, const params_t& p, httplib::Response& res) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    json out = json::array();
    for (const auto& r : c.vs->replayer->funding_history(i->symbol, int_of(p, "startTime"), int_of(p, "endTime"),
                                                         static_cast<std::size_t>(std::clamp<std::int64_t>(int_of(p, "limit").value_or(100), 1, 1000))))
      out.push_back(bw::render_funding_row(r));
    reply(res, out);
  }));

  // ---- private -------------------------------------------------------------------------------
  auto account = [](ctx_t& c, sim::account_id a, const params_t&, httplib::Response& res, auto&) {
    reply(res, bw::render_account({c.vs->exchange->balance(a)}, c.vs->exchange->positions(a), c.w.market_now()));
  };
  server.Get("/fapi/v2/account", priv(account));
  server.Get("/fapi/v3/account", priv(account));
  auto position_risk = [](bw::api_version v) {
    return [v](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
      const std::string only = str_of(p, "symbol");
      json out = json::array();
      for (const auto& pos : c.vs->exchange->positions(a))
        if (only.empty() || pos.symbol == only) out.push_back(bw::render_position_risk(pos, v));
      reply(res, out);
    };
  };
  server.Get("/fapi/v2/positionRisk", priv(position_risk(bw::api_version::v2)));
  server.Get("/fapi/v3/positionRisk", priv(position_risk(bw::api_version::v3)));
  server.Get("/fapi/v1/openOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    json out = json::array();
    for (const auto& o : c.vs->exchange->open_orders(a, str_of(p, "symbol"))) out.push_back(bw::render_order(o));
    reply(res, out);
  }));
  auto query_order = [](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto id = str_of(p, "orderId"), cl = str_of(p, "origClientOrderId");
    if (id.empty() && cl.empty()) return fail(res, -1102, "Either orderId or origClientOrderId must be sent.");
    if (const auto o = c.vs->exchange->query(a, str_of(p, "symbol"), id, cl)) return reply(res, bw::render_order(*o));
    fail(res, -2013, "Order does not exist.");
  };
  server.Get("/fapi/v1/order", priv(query_order));
  server.Get("/fapi/v1/openOrder", priv(query_order));
  server.Get("/fapi/v1/allOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    json out = json::array();
    for (const auto& o : c.vs->exchange->order_history(a, str_of(p, "symbol"))) out.push_back(bw::render_order(o));
    for (const auto& o : c.vs->exchange->open_orders(a, str_of(p, "symbol"))) out.push_back(bw::render_order(o));
    reply(res, out);
  }));
  auto place = [](ctx_t& c, sim::account_id a, const params_t& p) -> std::pair<json, int> {
    auto parsed = read_order(p);
    if (auto* e = std::get_if<std::pair<std::int64_t, std::string>>(&parsed))
      return {bw::render_api_error(e->first, e->second), 400};
    auto r = std::get<venue::order_request>(parsed);
    if (c.vs->exchange->position_mode_of(a) == venue::position_mode::hedge && r.reduce_only)
      return {bw::render_api_error(-1106, "Parameter 'reduceOnly' sent when not required."), 400};
    const auto* inst = c.vs->exchange->find_instrument(r.symbol);
    if (inst && inst->min_notional && !r.reduce_only) {
      const decimal px = r.price.value_or(c.vs->exchange->mark(r.symbol).value_or(decimal::zero()));
      if (r.qty * px < *inst->min_notional)
        return {bw::render_api_error(-4164, "Order's notional must be no smaller than " + inst->min_notional->to_string() +
                                                " (unless you choose reduce only)."),
                400};
    }
    const auto placed = c.vs->exchange->place(a, r, c.w.market_now());
    if (!placed.ok()) {
      const auto [code, msg] = binance_code(*placed.error);
      return {bw::render_api_error(code, msg), 400};
    }
    return {bw::render_order(*placed.value), 200};
  };
  server.Post("/fapi/v1/order", priv([place](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto& lock) {
    auto [body, status] = place(c, a, p);
    lock.unlock();
    if (status == 200 && apply_order_faults(c.w, res, bw::render_api_error(-1000, "Unknown error, please check your request or try again later.")))
      return;
    reply(res, body, status);
  }));
  server.Post("/fapi/v1/batchOrders", priv([place](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto& lock) {
    const json list = json::parse(str_of(p, "batchOrders"), nullptr, false);
    if (list.is_discarded() || !list.is_array() || list.empty() || list.size() > 5)
      return fail(res, -1102, "Parameter 'batchOrders' malformed (a JSON array of at most 5 orders).");
    json out = json::array();
    for (const auto& o : list) {
      params_t one;
      if (o.is_object())
        for (auto it = o.begin(); it != o.end(); ++it) one[it.key()] = field(o, it.key().c_str()).value_or("");
      out.push_back(place(c, a, one).first);
    }
    lock.unlock();
    if (apply_order_faults(c.w, res, bw::render_api_error(-1000, "Unknown error, please check your request or try again later.")))
      return;
    reply(res, out);
  }));
  server.Delete("/fapi/v1/order", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto id = str_of(p, "orderId"), cl = str_of(p, "origClientOrderId");
    if (id.empty() && cl.empty()) return fail(res, -1102, "Either orderId or origClientOrderId must be sent.");
    const auto r = c.vs->exchange->cancel(a, str_of(p, "symbol"), id, cl, c.w.market_now());
    if (!r.ok()) {
      const auto [code, msg] = binance_code(*r.error, true);
      return fail(res, code, msg);
    }
    reply(res, bw::render_order(*r.value));
  }));
  server.Delete("/fapi/v1/allOpenOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    if (str_of(p, "symbol").empty()) return fail(res, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    c.vs->exchange->cancel_all(a, str_of(p, "symbol"), c.w.market_now());
    reply(res, json{{"code", 200}, {"msg", "The operation of cancel all open order is done."}});
  }));
  // The dead-man switch (exchanges.md B5; BDOC "Auto-Cancel All Open Orders (TRADE)",
  // developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Auto-Cancel-All-Open-Orders):
  // symbol + countdownTime in ms, 0 stops the timer; each call replaces the running countdown;
  // when it runs out, all open orders of the symbol are cancelled (world::set_countdown: regular
  // orders, on the wall clock). Answer {"symbol":"BTCUSDT","countdownTime":"100000"} (a string).
  // The page names no minimum, maximum or error for a bad countdownTime: a missing, non-integer or
  // negative one is -1102 here (simulator assumption, README).
  server.Post("/fapi/v1/countdownCancelAll", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto sym = str_of(p, "symbol");
    if (sym.empty()) return fail(res, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    const auto text = str_of(p, "countdownTime");
    std::int64_t ms = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || ms < 0)
      return fail(res, -1102, "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.");
    const auto* i = c.vs->exchange->find_instrument(sym);
    if (!i) return fail(res, -1121, "Invalid symbol.");
    c.w.set_countdown(protocol::binance, a, i->symbol, ms);
    reply(res, json{{"symbol", i->symbol}, {"countdownTime", std::to_string(ms)}});
  }));
  server.Post("/fapi/v1/leverage", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto lev = int_of(p, "leverage");
    if (!lev) return fail(res, -1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.");
    const auto r = c.vs->exchange->set_leverage(a, str_of(p, "symbol"), static_cast<int>(std::clamp<std::int64_t>(*lev, -1, 100000)), c.w.market_now());
    if (!r.ok()) {
      const auto [code, msg] = binance_code(*r.error);
      return fail(res, code, msg);
    }
    const auto* i = c.vs->exchange->find_instrument(str_of(p, "symbol"));
    reply(res, json{{"leverage", *r.value}, {"maxNotionalValue", "1000000"}, {"symbol", i ? i->symbol : ""}});
  }));
  server.Post("/fapi/v1/marginType", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto t = str_of(p, "marginType");
    if (t != "ISOLATED" && t != "CROSSED") return fail(res, -1102, "Parameter 'marginType' malformed.");
    const auto mode = t == "ISOLATED" ? venue::margin_mode::isolated : venue::margin_mode::cross;
    const auto sym = str_of(p, "symbol");
    if (!c.vs->exchange->find_instrument(sym)) return fail(res, -1121, "Invalid symbol.");
    if (c.vs->exchange->margin_mode_of(a, sym) == mode) return fail(res, -4046, "No need to change margin type.");
    const auto r = c.vs->exchange->set_margin_mode(a, sym, mode);
    if (!r.ok()) {
      const auto [code, msg] = binance_code(*r.error);
      return fail(res, code, msg);
    }
    reply(res, json{{"code", 200}, {"msg", "success"}});
  }));
  server.Get("/fapi/v1/symbolConfig", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const std::string only = str_of(p, "symbol");
    if (!only.empty() && !c.vs->exchange->find_instrument(only)) return fail(res, -1121, "Invalid symbol.");
    json out = json::array();
    for (const auto& i : c.vs->exchange->instruments())
      if (only.empty() || only == i.symbol)
        out.push_back(bw::render_symbol_config({i.symbol, c.vs->exchange->leverage(a, i.symbol), c.vs->exchange->margin_mode_of(a, i.symbol)}));
    reply(res, out);
  }));
  // A wallet endpoint of the spot host (api.binance.com); venue-sim serves it on the same port.
  server.Get("/sapi/v1/account/apiRestrictions", priv([](ctx_t& c, sim::account_id a, const params_t&, httplib::Response& res, auto&) {
    for (const auto& [acct, id] : c.vs->keys)
      if (id == a) return reply(res, bw::render_api_restrictions(acct.permissions, 1700000000000));
    fail(res, -2015, "Invalid API-key, IP, or permissions for action.");
  }));
  server.Get("/fapi/v1/positionSide/dual", priv([](ctx_t& c, sim::account_id a, const params_t&, httplib::Response& res, auto&) {
    reply(res, json{{"dualSidePosition", c.vs->exchange->position_mode_of(a) == venue::position_mode::hedge}});
  }));
  server.Post("/fapi/v1/positionSide/dual", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto v = str_of(p, "dualSidePosition");
    if (v != "true" && v != "false") return fail(res, -1102, "Parameter 'dualSidePosition' malformed.");
    const auto mode = v == "true" ? venue::position_mode::hedge : venue::position_mode::one_way;
    if (c.vs->exchange->position_mode_of(a) == mode) return fail(res, -4059, "No need to change position side.");
    const auto r = c.vs->exchange->set_position_mode(a, mode);
    if (!r.ok()) return fail(res, -4068, "Position side cannot be changed if there exists position.");
    reply(res, json{{"code", 200}, {"msg", "success"}});
  }));
  server.Get("/fapi/v1/userTrades", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    json out = json::array();
    for (const auto& f : c.vs->exchange->fills(a, str_of(p, "symbol"), int_of(p, "startTime").value_or(0)))
      out.push_back(bw::render_user_trade(f));
    reply(res, out);
  }));
  server.Get("/fapi/v1/income", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto type = str_of(p, "incomeType");
    json out = json::array();
    for (const auto& b : c.vs->exchange->bills(a, int_of(p, "startTime").value_or(0)))
      if (json row = bw::render_income(b); type.empty() || row.value("incomeType", "") == type) out.push_back(row);
    reply(res, out);
  }));
  // One bracket per symbol: the simulator has a single maintenance rate (README: assumptions).
  // A list, or the one object the venue sends when `symbol` is given (BDOC leverageBracket).
  server.Get("/fapi/v1/leverageBracket", priv([](ctx_t& c, sim::account_id, const params_t& p, httplib::Response& res, auto&) {
    const std::string only = str_of(p, "symbol");
    json out = json::array();
    for (const auto& i : c.vs->exchange->instruments()) {
      if (!only.empty() && only != i.symbol) continue;
      bw::symbol_brackets s;
      s.symbol = i.symbol;
      bw::leverage_bracket b;
      b.bracket = 1;
      b.initial_leverage = i.max_leverage;
      b.notional_cap = decimal::from_integer(1000000000);
      b.maint_margin_ratio = i.maintenance_margin_rate.value_or(decimal::zero());
      s.brackets.push_back(b);
      out.push_back(bw::render_leverage_brackets(s));
    }
    if (!only.empty() && out.empty()) return fail(res, -1121, "Invalid symbol.");
    reply(res, only.empty() ? out : out[0]);
  }));
  server.Get("/fapi/v1/commissionRate", priv([symbol_of](ctx_t& c, sim::account_id, const params_t& p, httplib::Response& res, auto&) {
    const auto* i = symbol_of(c, p, res);
    if (!i) return;
    reply(res, json{{"symbol", i->symbol},
                    {"makerCommissionRate", i->maker_fee.value_or(decimal::zero()).to_string()},
                    {"takerCommissionRate", i->taker_fee.value_or(decimal::zero()).to_string()}});
  }));
  // ---- conditional orders: the Algo Service (since 2025-12) ----------------------------------
  server.Post("/fapi/v1/algoOrder", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    auto parsed = read_algo(p);
    if (auto* e = std::get_if<std::pair<std::int64_t, std::string>>(&parsed)) return fail(res, e->first, e->second);
    const auto r = c.vs->exchange->place_conditional(a, std::get<sim::conditional_request>(parsed), c.w.market_now());
    if (!r.ok()) {
      const auto [code, msg] = binance_code(*r.error);
      return fail(res, code, msg);
    }
    reply(res, render_algo(*r.value));
  }));
  server.Delete("/fapi/v1/algoOrder", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto id = str_of(p, "algoId"), cl = str_of(p, "clientAlgoId");
    if (id.empty() && cl.empty()) return fail(res, -1102, "Either algoId or clientAlgoId must be sent.");
    const auto r = c.vs->exchange->cancel_conditional(a, "", id, cl, c.w.market_now());
    if (!r.ok()) return fail(res, -2011, "Unknown order sent.");
    reply(res, json{{"algoId", std::stoll(r.value->id)}, {"clientAlgoId", r.value->req.client_id}, {"code", "200"}, {"msg", "success"}});
  }));
  server.Delete("/fapi/v1/algoOpenOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    if (str_of(p, "symbol").empty()) return fail(res, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    c.vs->exchange->cancel_all_conditionals(a, str_of(p, "symbol"), c.w.market_now());
    reply(res, json{{"code", 200}, {"msg", "The operation of cancel all open order is done."}});
  }));
  server.Get("/fapi/v1/algoOrder", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    const auto id = str_of(p, "algoId"), cl = str_of(p, "clientAlgoId");
    if (id.empty() && cl.empty()) return fail(res, -1102, "Either algoId or clientAlgoId must be sent.");
    if (const auto o = c.vs->exchange->query_conditional(a, id, cl)) return reply(res, render_algo(*o));
    fail(res, -2013, "Order does not exist.");
  }));
  server.Get("/fapi/v1/openAlgoOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    json out = json::array();
    for (const auto& o : c.vs->exchange->open_conditionals(a, str_of(p, "symbol"))) out.push_back(render_algo(o));
    reply(res, out);
  }));
  server.Get("/fapi/v1/allAlgoOrders", priv([](ctx_t& c, sim::account_id a, const params_t& p, httplib::Response& res, auto&) {
    json out = json::array();
    for (const auto& o : c.vs->exchange->conditional_history(a, str_of(p, "symbol"))) out.push_back(render_algo(o));
    reply(res, out);
  }));

  // The user data stream's key (API key only, no signature). One key per account; POST returns
  // the active one, as the venue does.
  auto listen_key = [ctx](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(ctx->w.mutex());
    const auto a = api_key_only(*ctx, req, res);
    if (!a) return;
    if (req.method == "DELETE") return reply(res, json::object());
    reply(res, bw::render_listen_key("sim-listen-key-" + std::to_string(*a)));
  };
  server.Post("/fapi/v1/listenKey", listen_key);
  server.Put("/fapi/v1/listenKey", listen_key);
  server.Delete("/fapi/v1/listenKey", listen_key);
}

}  // namespace pt::venue_sim
