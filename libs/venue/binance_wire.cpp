#include "venue/binance_wire.hpp"

#include "venue/wire_json.hpp"

#include <stdexcept>

namespace pt::venue::binance {

namespace {

using core::decimal;
using wire::as_array;
using wire::as_object;
using wire::at;
using wire::bool_or;
using wire::dec;
using wire::decimal_or;
using wire::get_bool;
using wire::get_decimal;
using wire::get_id;
using wire::get_int;
using wire::get_text;
using wire::guarded;
using wire::id_or;
using wire::iequals;
using wire::opt_decimal;
using wire::opt_int;
using wire::require;
using wire::text_or;
using wire::to_decimal;
using wire::to_id;
using wire::to_int;
using wire::to_text;
using wire::to_small_int;

constexpr epoch_ms day_ms = 86'400'000;

// A window start a day before `t`, clamped: a hostile time must not overflow.
epoch_ms day_before(epoch_ms t) {
  epoch_ms out = 0;
  return __builtin_sub_overflow(t, day_ms, &out) ? t : out;
}
constexpr epoch_ms perpetual_delivery = 4133404800000;  // 2100-12-25, Binance's "never"

std::string clip(std::string_view s) { return std::string(s.substr(0, 40)); }

// An error body {code<0,msg} where data was expected is the venue refusing, not a bad payload.
void throw_if_error_body(const json& doc) {
  if (!doc.is_object()) return;
  const auto c = doc.find("code");
  const auto m = doc.find("msg");
  if (c == doc.end() || m == doc.end() || !c->is_number_integer() || !m->is_string()) return;
  const std::int64_t code = c->get<std::int64_t>();
  if (code >= 0) return;
  outcome o;
  o.http_status = 400;
  o.venue_code = code;
  auto kind = classify(venue_id::binance_usdm, request_kind::query, o).kind;
  if (kind == outcome_class::success) return;
  throw venue_error(kind, "binance: " + clip(m->get<std::string>()), code);
}

json document(std::string_view body) {
  json doc = wire::parse_document(body);
  throw_if_error_body(doc);
  return doc;
}

std::vector<const json*> items(const json& data, std::string_view what) {
  std::vector<const json*> out;
  if (data.is_array()) {
    out.reserve(data.size());
    for (const auto& e : data) out.push_back(&e);
  } else if (data.is_object()) {
    out.push_back(&data);
  } else {
    throw parse_error(std::string(what) + ": expected an array or an object");
  }
  return out;
}

// ---- enums --------------------------------------------------------------------------------------------

side side_of(std::string_view s, std::string_view key) {
  if (iequals(s, "BUY")) return side::buy;
  if (iequals(s, "SELL")) return side::sell;
  throw parse_error("field '" + std::string(key) + "': unknown side '" + clip(s) + "'");
}

const char* side_name(side s) { return s == side::buy ? "BUY" : "SELL"; }

position_side pos_side_of(std::string_view s) {
  if (s.empty() || iequals(s, "BOTH")) return position_side::both;
  if (iequals(s, "LONG")) return position_side::long_side;
  if (iequals(s, "SHORT")) return position_side::short_side;
  throw parse_error("field 'positionSide': unknown '" + clip(s) + "'");
}

const char* pos_side_name(position_side s) {
  switch (s) {
    case position_side::long_side: return "LONG";
    case position_side::short_side: return "SHORT";
    case position_side::both: break;
  }
  return "BOTH";
}

margin_mode mode_of(std::string_view s) {
  if (iequals(s, "cross") || iequals(s, "crossed")) return margin_mode::cross;
  if (iequals(s, "isolated")) return margin_mode::isolated;
  throw parse_error("field 'marginType': unknown '" + clip(s) + "'");
}

instrument_status status_of(std::string_view s) {
  if (s == "TRADING") return instrument_status::trading;
  if (s == "SETTLING" || s == "CLOSE" || s == "DELIVERING" || s == "DELIVERED" || s == "PRE_DELIVERING" ||
      s == "PRE_SETTLE") {
    return instrument_status::closed;
  }
  return instrument_status::paused;  // PENDING_TRADING, and anything unknown: not tradable
}

const char* status_name(instrument_status s) {
  switch (s) {
    case instrument_status::trading: return "TRADING";
    case instrument_status::closed: return "CLOSE";
    case instrument_status::paused:
    case instrument_status::cancel_only:
    case instrument_status::close_only: break;
  }
  return "PENDING_TRADING";
}

order_type type_of(std::string_view t) {
  if (t == "LIMIT" || t == "STOP" || t == "TAKE_PROFIT") return order_type::limit;
  if (t == "MARKET" || t == "STOP_MARKET" || t == "TAKE_PROFIT_MARKET" || t == "TRAILING_STOP_MARKET" ||
      t == "LIQUIDATION") {
    return order_type::market;
  }
  throw parse_error("field 'type': unknown '" + clip(t) + "'");
}

time_in_force tif_of(std::string_view t) {
  if (t.empty() || t == "GTC" || t == "GTD") return time_in_force::gtc;
  if (t == "IOC") return time_in_force::ioc;
  if (t == "FOK") return time_in_force::fok;
  if (t == "GTX" || t == "RPI") return time_in_force::post_only;
  throw parse_error("field 'timeInForce': unknown '" + clip(t) + "'");
}

const char* tif_name(time_in_force t) {
  switch (t) {
    case time_in_force::ioc: return "IOC";
    case time_in_force::fok: return "FOK";
    case time_in_force::post_only: return "GTX";
    case time_in_force::gtc: break;
  }
  return "GTC";
}

order_state state_of(std::string_view s) {
  if (s == "NEW" || s == "NEW_INSURANCE" || s == "NEW_ADL") return order_state::open;
  if (s == "PARTIALLY_FILLED") return order_state::partially_filled;
  if (s == "FILLED") return order_state::filled;
  if (s == "CANCELED") return order_state::cancelled;
  if (s == "EXPIRED" || s == "EXPIRED_IN_MATCH") return order_state::expired;
  if (s == "REJECTED") return order_state::rejected;
  throw parse_error("field 'status': unknown '" + clip(s) + "'");
}

const char* state_name(order_state s) {
  switch (s) {
    case order_state::pending_new:
    case order_state::open: return "NEW";
    case order_state::partially_filled: return "PARTIALLY_FILLED";
    case order_state::filled: return "FILLED";
    case order_state::cancelled: return "CANCELED";
    case order_state::expired:
    case order_state::rejected: break;
  }
  return "EXPIRED";
}

bill_type bill_type_of(std::string_view s) {
  if (s == "FUNDING_FEE") return bill_type::funding;
  if (s == "REALIZED_PNL") return bill_type::realised_pnl;
  if (s == "COMMISSION") return bill_type::fee;
  if (s == "TRANSFER" || s == "INTERNAL_TRANSFER" || s == "CROSS_COLLATERAL_TRANSFER") return bill_type::transfer;
  if (s == "INSURANCE_CLEAR") return bill_type::liquidation;
  return bill_type::other;
}

const char* bill_type_name(bill_type t) {
  switch (t) {
    case bill_type::funding: return "FUNDING_FEE";
    case bill_type::realised_pnl: return "REALIZED_PNL";
    case bill_type::fee: return "COMMISSION";
    case bill_type::transfer: return "TRANSFER";
    case bill_type::liquidation: return "INSURANCE_CLEAR";
    case bill_type::other: break;
  }
  return "OTHER";
}

// ---- rows -> types -----------------------------------------------------------------------------------

std::vector<book_level> levels_of(const json& obj, std::string_view key) {
  const json& arr = as_array(require(obj, key), key);
  std::vector<book_level> out;
  out.reserve(arr.size());
  for (const auto& l : arr) out.push_back({to_decimal(at(l, 0, key), "price"), to_decimal(at(l, 1, key), "qty")});
  return out;
}

std::optional<instrument> instrument_of(const json& j) {
  as_object(j, "symbol");
  if (text_or(j, "contractType", "PERPETUAL") != "PERPETUAL") return std::nullopt;
  instrument i;
  i.symbol = get_text(j, "symbol");
  i.base = get_text(j, "baseAsset");
  i.quote = get_text(j, "quoteAsset");
  i.settle = text_or(j, "marginAsset", i.quote);
  i.contract_size = decimal::one();
  i.status = status_of(text_or(j, "status"));
  bool tick = false;
  bool lot = false;
  for (const auto& f : as_array(require(j, "filters"), "filters")) {
    const std::string type = get_text(f, "filterType");
    if (type == "PRICE_FILTER") {
      i.tick = get_decimal(f, "tickSize");
      i.min_price = opt_decimal(f, "minPrice");
      i.max_price = opt_decimal(f, "maxPrice");
      tick = true;
    } else if (type == "LOT_SIZE") {
      i.lot = get_decimal(f, "stepSize");
      i.min_qty = get_decimal(f, "minQty");
      i.max_limit_qty = opt_decimal(f, "maxQty");
      lot = true;
    } else if (type == "MARKET_LOT_SIZE") {
      i.max_market_qty = opt_decimal(f, "maxQty");
    } else if (type == "MIN_NOTIONAL") {
      i.min_notional = opt_decimal(f, "notional");
    }
  }
  if (!tick) throw parse_error(i.symbol.substr(0, 40) + ": no PRICE_FILTER");
  if (!lot) throw parse_error(i.symbol.substr(0, 40) + ": no LOT_SIZE");
  return i;
}

public_trade agg_trade_of(const json& j, std::string symbol) {
  as_object(j, "aggTrade");
  public_trade t;
  t.symbol = std::move(symbol);
  t.id = get_id(j, "a");
  t.price = get_decimal(j, "p");
  t.qty = get_decimal(j, "q");
  t.time = get_int(j, "T");
  t.taker_side = get_bool(j, "m") ? side::sell : side::buy;
  return t;
}

balance balance_of(const json& a) {
  as_object(a, "asset");
  balance b;
  b.asset = get_text(a, "asset");
  b.wallet = get_decimal(a, "walletBalance");
  b.unrealised_pnl = decimal_or(a, "unrealizedProfit", decimal::zero());
  b.equity = opt_decimal(a, "marginBalance").value_or(b.wallet + b.unrealised_pnl);
  b.available = get_decimal(a, "availableBalance");
  b.initial_margin = decimal_or(a, "initialMargin", decimal::zero());
  b.maintenance_margin = decimal_or(a, "maintMargin", decimal::zero());
  return b;
}

position position_risk_of(const json& j) {
  as_object(j, "position");
  position p;
  p.symbol = get_text(j, "symbol");
  p.pos_side = pos_side_of(text_or(j, "positionSide"));
  p.qty = get_decimal(j, "positionAmt");
  p.entry_price = decimal_or(j, "entryPrice", decimal::zero());
  p.mark_price = decimal_or(j, "markPrice", decimal::zero());
  p.unrealised_pnl = decimal_or(j, "unRealizedProfit", decimal::zero());
  if (auto liq = opt_decimal(j, "liquidationPrice"); liq && !liq->is_zero()) p.liquidation_price = liq;
  const decimal iso_wallet = decimal_or(j, "isolatedWallet", decimal::zero());
  const std::string margin_type = text_or(j, "marginType");
  p.mode = margin_type.empty() ? (iso_wallet.is_zero() ? margin_mode::cross : margin_mode::isolated) : mode_of(margin_type);
  if (const json* lev = wire::find(j, "leverage")) p.leverage = wire::to_small_int(*lev, "leverage", 0, 1000);
  p.margin = p.mode == margin_mode::isolated ? opt_decimal(j, "isolatedMargin").value_or(iso_wallet)
                                             : decimal_or(j, "initialMargin", decimal::zero());
  p.update_time = opt_int(j, "updateTime").value_or(0);
  return p;
}

order order_of(const json& j) {
  as_object(j, "order");
  order o;
  o.symbol = get_text(j, "symbol");
  o.order_id = get_id(j, "orderId");
  o.client_id = id_or(j, "clientOrderId");
  o.s = side_of(get_text(j, "side"), "side");
  o.type = type_of(get_text(j, "type"));
  o.tif = tif_of(text_or(j, "timeInForce"));
  o.state = state_of(get_text(j, "status"));
  o.price = decimal_or(j, "price", decimal::zero());
  o.qty = get_decimal(j, "origQty");
  o.filled_qty = decimal_or(j, "executedQty", decimal::zero());
  o.avg_price = decimal_or(j, "avgPrice", decimal::zero());
  o.reduce_only = bool_or(j, "reduceOnly", false);
  o.pos_side = pos_side_of(text_or(j, "positionSide"));
  o.update_time = opt_int(j, "updateTime").value_or(0);
  o.create_time = opt_int(j, "time").value_or(o.update_time);
  return o;
}

fill user_trade_of(const json& j) {
  as_object(j, "userTrade");
  fill f;
  f.symbol = get_text(j, "symbol");
  f.trade_id = get_id(j, "id");
  f.order_id = get_id(j, "orderId");
  f.s = side_of(get_text(j, "side"), "side");
  f.price = get_decimal(j, "price");
  f.qty = get_decimal(j, "qty");
  f.fee = decimal_or(j, "commission", decimal::zero());
  f.fee_asset = text_or(j, "commissionAsset");
  f.role = bool_or(j, "maker", false) ? liquidity::maker : liquidity::taker;
  f.realised_pnl = opt_decimal(j, "realizedPnl");
  f.time = get_int(j, "time");
  return f;
}

bill income_of(const json& j) {
  as_object(j, "income");
  bill b;
  b.id = get_id(j, "tranId");
  b.symbol = text_or(j, "symbol");
  b.venue_type = get_text(j, "incomeType");
  b.type = bill_type_of(b.venue_type);
  b.amount = get_decimal(j, "income");
  b.asset = get_text(j, "asset");
  b.time = get_int(j, "time");
  return b;
}

mark_price mark_update_of(const json& j, epoch_ms event_time) {
  as_object(j, "markPriceUpdate");
  mark_price m;
  m.symbol = get_text(j, "s");
  m.mark = get_decimal(j, "p");
  m.index = opt_decimal(j, "i");
  m.funding_rate = opt_decimal(j, "r");
  if (auto t = opt_int(j, "T"); t && *t != 0) m.next_funding_time = t;
  m.time = opt_int(j, "E").value_or(event_time);
  return m;
}

// The payload of a combined-stream frame, or the frame itself.
const json& payload_of(const json& doc, std::string& stream) {
  if (doc.is_object() && doc.contains("stream") && doc.contains("data")) {
    stream = to_text(doc["stream"], "stream");
    return doc["data"];
  }
  return doc;
}

decimal mul9(decimal a, decimal b) { return core::mul(a, b, core::rounding::half_even); }
decimal ratio(decimal a, decimal b) { return b.is_zero() ? decimal::zero() : core::div(a, b, core::rounding::half_even); }

int fraction_digits(decimal d) {
  const std::string s = d.to_string();
  const auto dot = s.find('.');
  return dot == std::string::npos ? 0 : int(s.size() - dot - 1);
}

json render_levels(const std::vector<book_level>& levels) {
  json out = json::array();
  for (const auto& l : levels) out.push_back(json::array({dec(l.price), dec(l.qty)}));
  return out;
}

}  // namespace

// ---- errors ------------------------------------------------------------------------------------------

std::optional<api_error> parse_api_error(std::string_view body) {
  try {
    const json doc = wire::parse_document(body);
    if (!doc.is_object()) return std::nullopt;
    const auto c = doc.find("code");
    const auto m = doc.find("msg");
    if (c == doc.end() || m == doc.end() || !m->is_string()) return std::nullopt;
    return api_error{to_int(*c, "code"), m->get<std::string>()};
  } catch (const parse_error&) {
    return std::nullopt;
  }
}

void check_response(std::string_view body, int http_status, request_kind kind) {
  const auto err = parse_api_error(body);
  const bool http_ok = http_status >= 200 && http_status < 300;
  if (http_ok && !(err && err->code < 0)) return;
  outcome o;
  o.http_status = http_status;
  o.body = body;
  if (err) o.venue_code = err->code;
  const auto c = classify(venue_id::binance_usdm, kind, o);
  if (c.kind == outcome_class::success) return;
  throw venue_error(c.kind, "binance: " + (err ? clip(err->msg) : c.reason), c.code, http_status);
}

json render_api_error(std::int64_t code, std::string msg) { return json{{"code", code}, {"msg", std::move(msg)}}; }

// ---- REST parsers ------------------------------------------------------------------------------------

exchange_info parse_exchange_info(std::string_view body) {
  return guarded("binance exchangeInfo", [&] {
    const json doc = document(body);
    as_object(doc, "exchangeInfo");
    exchange_info info;
    info.server_time = opt_int(doc, "serverTime").value_or(0);
    if (const json* limits = wire::find(doc, "rateLimits")) {
      for (const auto& l : as_array(*limits, "rateLimits")) {
        as_object(l, "rateLimits[]");
        info.rate_limits.push_back(
            {get_text(l, "rateLimitType"), get_text(l, "interval"), get_int(l, "intervalNum"), get_int(l, "limit")});
      }
    }
    for (const auto& s : as_array(require(doc, "symbols"), "symbols")) {
      if (auto i = instrument_of(s)) info.instruments.push_back(std::move(*i));
    }
    return info;
  });
}

epoch_ms parse_server_time(std::string_view body) {
  return guarded("binance time", [&] { return get_int(as_object(document(body), "time"), "serverTime"); });
}

std::vector<symbol_settings> parse_symbol_config(std::string_view body) {
  return guarded("binance symbolConfig", [&] {
    const json doc = document(body);
    std::vector<symbol_settings> out;
    for (const auto& row : as_array(doc, "symbolConfig")) {
      as_object(row, "symbolConfig row");
      symbol_settings s;
      s.symbol = get_text(row, "symbol");
      s.mode = mode_of(get_text(row, "marginType"));
      s.leverage = to_small_int(require(row, "leverage"), "leverage", 1, 1000);
      out.push_back(std::move(s));
    }
    return out;
  });
}

position_mode parse_position_side_dual(std::string_view body) {
  return guarded("binance positionSide/dual", [&] {
    return get_bool(as_object(document(body), "positionSide/dual"), "dualSidePosition") ? position_mode::hedge
                                                                                         : position_mode::one_way;
  });
}

key_permissions parse_api_restrictions(std::string_view body) {
  return guarded("binance apiRestrictions", [&] {
    const json doc = document(body);  // kept: as_object returns a reference into it
    const json& j = as_object(doc, "apiRestrictions");
    key_permissions k;
    k.reading = get_bool(j, "enableReading");
    k.futures_trading = get_bool(j, "enableFutures");
    k.withdrawals = get_bool(j, "enableWithdrawals");
    k.ip_restricted = get_bool(j, "ipRestrict");
    return k;
  });
}

std::vector<candle> parse_klines(std::string_view body) {
  return guarded("binance klines", [&] {
    const json doc = document(body);
    std::vector<candle> out;
    for (const auto& row : as_array(doc, "klines")) {
      candle c;
      c.open_time = to_int(at(row, 0, "kline"), "openTime");
      c.open = to_decimal(at(row, 1, "kline"), "open");
      c.high = to_decimal(at(row, 2, "kline"), "high");
      c.low = to_decimal(at(row, 3, "kline"), "low");
      c.close = to_decimal(at(row, 4, "kline"), "close");
      c.volume = to_decimal(at(row, 5, "kline"), "volume");
      c.close_time = to_int(at(row, 6, "kline"), "closeTime");
      c.quote_volume = to_decimal(at(row, 7, "kline"), "quoteVolume");
      c.trades = to_int(at(row, 8, "kline"), "trades");
      c.closed = true;
      out.push_back(std::move(c));
    }
    return out;
  });
}

order_book parse_depth(std::string_view body, std::string_view symbol) {
  return guarded("binance depth", [&] {
    const json doc = document(body);
    as_object(doc, "depth");
    order_book b;
    b.symbol = std::string(symbol);
    b.update_id = get_int(doc, "lastUpdateId");
    b.bids = levels_of(doc, "bids");
    b.asks = levels_of(doc, "asks");
    b.time = opt_int(doc, "T").value_or(opt_int(doc, "E").value_or(0));
    b.snapshot = true;
    return b;
  });
}

std::vector<public_trade> parse_agg_trades(std::string_view body, std::string_view symbol) {
  return guarded("binance aggTrades", [&] {
    const json doc = document(body);
    std::vector<public_trade> out;
    for (const auto& row : as_array(doc, "aggTrades")) out.push_back(agg_trade_of(row, std::string(symbol)));
    return out;
  });
}

std::vector<public_trade> parse_trades(std::string_view body, std::string_view symbol) {
  return guarded("binance trades", [&] {
    const json doc = document(body);
    std::vector<public_trade> out;
    for (const auto& row : as_array(doc, "trades")) {
      as_object(row, "trade");
      public_trade t;
      t.symbol = std::string(symbol);
      t.id = get_id(row, "id");
      t.price = get_decimal(row, "price");
      t.qty = get_decimal(row, "qty");
      t.time = get_int(row, "time");
      t.taker_side = get_bool(row, "isBuyerMaker") ? side::sell : side::buy;
      out.push_back(std::move(t));
    }
    return out;
  });
}

std::vector<ticker> parse_tickers(std::string_view body) {
  return guarded("binance ticker/24hr", [&] {
    const json doc = document(body);
    std::vector<ticker> out;
    for (const json* row : items(doc, "ticker")) {
      const json& j = *row;
      as_object(j, "ticker");
      ticker t;
      t.symbol = get_text(j, "symbol");
      t.last = get_decimal(j, "lastPrice");
      t.open = opt_decimal(j, "openPrice");
      t.high = opt_decimal(j, "highPrice");
      t.low = opt_decimal(j, "lowPrice");
      t.volume = opt_decimal(j, "volume");
      t.quote_volume = opt_decimal(j, "quoteVolume");
      t.time = opt_int(j, "closeTime").value_or(0);
      out.push_back(std::move(t));
    }
    return out;
  });
}

std::vector<mark_price> parse_premium_index(std::string_view body) {
  return guarded("binance premiumIndex", [&] {
    const json doc = document(body);
    std::vector<mark_price> out;
    for (const json* row : items(doc, "premiumIndex")) {
      const json& j = *row;
      as_object(j, "premiumIndex");
      mark_price m;
      m.symbol = get_text(j, "symbol");
      m.mark = get_decimal(j, "markPrice");
      m.index = opt_decimal(j, "indexPrice");
      m.funding_rate = opt_decimal(j, "lastFundingRate");
      if (auto t = opt_int(j, "nextFundingTime"); t && *t != 0) m.next_funding_time = t;
      m.time = opt_int(j, "time").value_or(0);
      out.push_back(std::move(m));
    }
    return out;
  });
}

std::vector<funding_rate> parse_funding_history(std::string_view body) {
  return guarded("binance fundingRate", [&] {
    const json doc = document(body);
    std::vector<funding_rate> out;
    for (const auto& row : as_array(doc, "fundingRate")) {
      as_object(row, "fundingRate[]");
      funding_rate r;
      r.symbol = get_text(row, "symbol");
      r.rate = get_decimal(row, "fundingRate");
      r.time = get_int(row, "fundingTime");
      r.mark = opt_decimal(row, "markPrice");
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<balance> parse_account_balances(std::string_view body) {
  return guarded("binance account", [&] {
    const json doc = document(body);
    std::vector<balance> out;
    for (const auto& a : as_array(require(as_object(doc, "account"), "assets"), "assets")) out.push_back(balance_of(a));
    return out;
  });
}

std::vector<position> parse_position_risk(std::string_view body) {
  return guarded("binance positionRisk", [&] {
    const json doc = document(body);
    std::vector<position> out;
    for (const auto& row : as_array(doc, "positionRisk")) out.push_back(position_risk_of(row));
    return out;
  });
}

std::vector<order> parse_orders(std::string_view body) {
  return guarded("binance orders", [&] {
    const json doc = document(body);
    std::vector<order> out;
    for (const json* row : items(doc, "orders")) out.push_back(order_of(*row));
    return out;
  });
}

std::vector<fill> parse_user_trades(std::string_view body) {
  return guarded("binance userTrades", [&] {
    const json doc = document(body);
    std::vector<fill> out;
    for (const auto& row : as_array(doc, "userTrades")) out.push_back(user_trade_of(row));
    return out;
  });
}

std::vector<bill> parse_income(std::string_view body) {
  return guarded("binance income", [&] {
    const json doc = document(body);
    std::vector<bill> out;
    for (const auto& row : as_array(doc, "income")) out.push_back(income_of(row));
    return out;
  });
}

int symbol_brackets::max_leverage() const {
  int best = 0;
  for (const auto& b : brackets) best = std::max(best, b.initial_leverage);
  return best;
}

std::vector<symbol_brackets> parse_leverage_brackets(std::string_view body) {
  return guarded("binance leverageBracket", [&] {
    const json doc = document(body);
    auto one = [](const json& row) {
      as_object(row, "leverageBracket");
      symbol_brackets s;
      s.symbol = get_text(row, "symbol");
      for (const auto& b : as_array(require(row, "brackets"), "brackets")) {
        as_object(b, "brackets");
        leverage_bracket x;
        x.bracket = wire::to_small_int(require(b, "bracket"), "bracket", 1, 1000);
        x.initial_leverage = wire::to_small_int(require(b, "initialLeverage"), "initialLeverage", 1, 1000);
        x.notional_floor = get_decimal(b, "notionalFloor");
        x.notional_cap = get_decimal(b, "notionalCap");
        x.maint_margin_ratio = get_decimal(b, "maintMarginRatio");
        x.cum = decimal_or(b, "cum", decimal::zero());
        s.brackets.push_back(x);
      }
      return s;
    };
    std::vector<symbol_brackets> out;
    if (doc.is_object()) out.push_back(one(doc));
    else
      for (const auto& row : as_array(doc, "leverageBracket")) out.push_back(one(row));
    return out;
  });
}

json render_leverage_brackets(const symbol_brackets& s) {
  // The venue writes these as JSON numbers; the decimal's own text parses to the same number.
  auto number = [](decimal d) { return json::parse(d.to_string()); };
  json brackets = json::array();
  for (const auto& b : s.brackets)
    brackets.push_back({{"bracket", b.bracket},
                        {"initialLeverage", b.initial_leverage},
                        {"notionalCap", number(b.notional_cap)},
                        {"notionalFloor", number(b.notional_floor)},
                        {"maintMarginRatio", number(b.maint_margin_ratio)},
                        {"cum", number(b.cum)}});
  return {{"symbol", s.symbol}, {"notionalCoef", 1.0}, {"brackets", brackets}};
}

std::string parse_listen_key(std::string_view body) {
  return guarded("binance listenKey", [&] {
    std::string key = get_text(as_object(document(body), "listenKey"), "listenKey");
    if (key.empty()) throw parse_error("field 'listenKey': empty");
    return key;
  });
}

// ---- streams -----------------------------------------------------------------------------------------

market_event parse_market_event(std::string_view frame) {
  return guarded("binance market stream", [&] {
    const json doc = wire::parse_document(frame);
    market_event ev;
    const json& p = payload_of(doc, ev.stream);
    if (p.is_array()) {  // !markPrice@arr
      ev.kind = market_event_kind::mark_price;
      ev.event_type = "markPriceUpdate";
      for (const auto& m : p) ev.marks.push_back(mark_update_of(m, 0));
      if (!ev.marks.empty()) ev.event_time = ev.marks.front().time;
      return ev;
    }
    as_object(p, "event");
    if (!p.contains("e") && p.contains("id") && (p.contains("result") || p.contains("error"))) {
      ev.kind = market_event_kind::reply;
      ev.request_id = opt_int(p, "id");
      if (const json* err = wire::find(p, "error")) {
        const json* m = err->is_object() ? wire::find(*err, "msg") : nullptr;
        ev.error = (m != nullptr && m->is_string()) ? clip(m->get<std::string>()) : std::string("error");
      }
      return ev;
    }
    ev.event_type = get_text(p, "e");
    ev.event_time = opt_int(p, "E").value_or(0);
    const std::string& e = ev.event_type;
    if (e == "kline") {
      ev.kind = market_event_kind::kline;
      const json& k = as_object(require(p, "k"), "k");
      ev.symbol = text_or(p, "s", text_or(k, "s"));
      ev.interval = get_text(k, "i");
      ev.bar.open_time = get_int(k, "t");
      ev.bar.close_time = get_int(k, "T");
      ev.bar.open = get_decimal(k, "o");
      ev.bar.high = get_decimal(k, "h");
      ev.bar.low = get_decimal(k, "l");
      ev.bar.close = get_decimal(k, "c");
      ev.bar.volume = get_decimal(k, "v");
      ev.bar.quote_volume = opt_decimal(k, "q");
      ev.bar.trades = opt_int(k, "n");
      ev.bar.closed = get_bool(k, "x");
    } else if (e == "markPriceUpdate") {
      ev.kind = market_event_kind::mark_price;
      ev.marks.push_back(mark_update_of(p, ev.event_time));
      ev.symbol = ev.marks.front().symbol;
    } else if (e == "depthUpdate") {
      ev.kind = market_event_kind::depth;
      ev.symbol = get_text(p, "s");
      ev.book.symbol = ev.symbol;
      ev.book.first_update_id = get_int(p, "U");
      ev.book.update_id = get_int(p, "u");
      ev.book.prev_update_id = opt_int(p, "pu").value_or(0);
      ev.book.bids = levels_of(p, "b");
      ev.book.asks = levels_of(p, "a");
      ev.book.time = opt_int(p, "T").value_or(ev.event_time);
      ev.book.snapshot = false;
    } else if (e == "aggTrade") {
      ev.kind = market_event_kind::agg_trade;
      ev.symbol = get_text(p, "s");
      ev.trade = agg_trade_of(p, ev.symbol);
    } else if (e == "trade") {
      ev.kind = market_event_kind::trade;
      ev.symbol = get_text(p, "s");
      ev.trade.symbol = ev.symbol;
      ev.trade.id = get_id(p, "t");
      ev.trade.price = get_decimal(p, "p");
      ev.trade.qty = get_decimal(p, "q");
      ev.trade.time = get_int(p, "T");
      ev.trade.taker_side = get_bool(p, "m") ? side::sell : side::buy;
    } else {
      ev.kind = market_event_kind::other;
      ev.symbol = text_or(p, "s");
    }
    return ev;
  });
}

user_event parse_user_event(std::string_view frame) {
  return guarded("binance user stream", [&] {
    const json doc = wire::parse_document(frame);
    user_event ev;
    const json& p = as_object(payload_of(doc, ev.stream), "event");
    ev.event_type = get_text(p, "e");
    ev.event_time = opt_int(p, "E").value_or(0);
    ev.transaction_time = opt_int(p, "T").value_or(ev.event_time);
    const std::string& e = ev.event_type;
    if (e == "ORDER_TRADE_UPDATE") {
      ev.kind = user_event_kind::order_update;
      const json& o = as_object(require(p, "o"), "o");
      order& ord = ev.ord;
      ord.symbol = get_text(o, "s");
      ord.client_id = id_or(o, "c");
      ord.s = side_of(get_text(o, "S"), "S");
      ord.type = type_of(get_text(o, "o"));
      ord.tif = tif_of(text_or(o, "f"));
      ord.qty = get_decimal(o, "q");
      ord.price = decimal_or(o, "p", decimal::zero());
      ord.avg_price = decimal_or(o, "ap", decimal::zero());
      ord.state = state_of(get_text(o, "X"));
      ord.order_id = get_id(o, "i");
      ord.filled_qty = decimal_or(o, "z", decimal::zero());
      ord.fee_asset = text_or(o, "N");
      ord.reduce_only = bool_or(o, "R", false);
      ord.pos_side = pos_side_of(text_or(o, "ps"));
      ord.update_time = opt_int(o, "T").value_or(ev.transaction_time);
      ord.create_time = ord.update_time;
      ev.execution_type = get_text(o, "x");
      if (ev.execution_type == "TRADE") {
        fill f;
        f.symbol = ord.symbol;
        f.trade_id = get_id(o, "t");
        f.order_id = ord.order_id;
        f.client_id = ord.client_id;
        f.s = ord.s;
        f.price = get_decimal(o, "L");
        f.qty = get_decimal(o, "l");
        f.fee = decimal_or(o, "n", decimal::zero());
        f.fee_asset = ord.fee_asset;
        f.role = bool_or(o, "m", false) ? liquidity::maker : liquidity::taker;
        f.realised_pnl = opt_decimal(o, "rp");
        f.time = ord.update_time;
        ev.trade = std::move(f);
      }
    } else if (e == "ACCOUNT_UPDATE") {
      ev.kind = user_event_kind::account_update;
      const json& a = as_object(require(p, "a"), "a");
      ev.reason = text_or(a, "m");
      if (const json* bs = wire::find(a, "B")) {
        for (const auto& b : as_array(*bs, "B")) {
          as_object(b, "B[]");
          ev.wallets.push_back({get_text(b, "a"), get_decimal(b, "wb"), decimal_or(b, "cw", decimal::zero()),
                                decimal_or(b, "bc", decimal::zero())});
        }
      }
      if (const json* ps = wire::find(a, "P")) {
        for (const auto& r : as_array(*ps, "P")) {
          as_object(r, "P[]");
          position pos;
          pos.symbol = get_text(r, "s");
          pos.qty = get_decimal(r, "pa");
          pos.entry_price = decimal_or(r, "ep", decimal::zero());
          pos.unrealised_pnl = decimal_or(r, "up", decimal::zero());
          pos.mode = mode_of(text_or(r, "mt", "cross"));
          pos.margin = decimal_or(r, "iw", decimal::zero());
          pos.pos_side = pos_side_of(text_or(r, "ps"));
          pos.update_time = ev.transaction_time;
          ev.positions.push_back(std::move(pos));
        }
      }
    } else if (e == "listenKeyExpired") {
      ev.kind = user_event_kind::listen_key_expired;
      ev.listen_key = text_or(p, "listenKey");
    } else if (e == "ALGO_UPDATE") {
      ev.kind = user_event_kind::algo_update;
      const json& o = as_object(require(p, "o"), "o");
      algo_update& a = ev.algo;
      a.client_algo_id = id_or(o, "caid");
      a.algo_id = get_id(o, "aid");
      a.symbol = get_text(o, "s");
      a.status = get_text(o, "X");
      a.order_type = get_text(o, "o");
      a.s = side_of(get_text(o, "S"), "S");
      a.pos_side = pos_side_of(text_or(o, "ps"));
      a.qty = decimal_or(o, "q", decimal::zero());
      a.trigger_price = decimal_or(o, "tp", decimal::zero());
      a.price = opt_decimal(o, "p");
      a.reduce_only = bool_or(o, "R", false);
      a.reason = text_or(o, "rm");
    } else {
      ev.kind = user_event_kind::other;
    }
    return ev;
  });
}

// ---- renderers ---------------------------------------------------------------------------------------

json render_rate_limits(const std::vector<rate_limit_info>& limits) {
  json out = json::array();
  for (const auto& l : limits) {
    out.push_back(json{{"rateLimitType", l.type}, {"interval", l.interval}, {"intervalNum", l.interval_num}, {"limit", l.limit}});
  }
  return out;
}

json render_exchange_info(const exchange_info& info) {
  json symbols = json::array();
  for (const auto& i : info.instruments) {
    json filters = json::array();
    filters.push_back(json{{"filterType", "PRICE_FILTER"},
                           {"minPrice", dec(i.min_price.value_or(i.tick))},
                           {"maxPrice", dec(i.max_price.value_or(decimal::from_integer(1'000'000)))},
                           {"tickSize", dec(i.tick)}});
    filters.push_back(json{{"filterType", "LOT_SIZE"},
                           {"minQty", dec(i.min_qty)},
                           {"maxQty", dec(i.max_limit_qty.value_or(decimal::from_integer(1'000'000)))},
                           {"stepSize", dec(i.lot)}});
    if (i.max_market_qty) {
      filters.push_back(json{{"filterType", "MARKET_LOT_SIZE"},
                             {"minQty", dec(i.min_qty)},
                             {"maxQty", dec(*i.max_market_qty)},
                             {"stepSize", dec(i.lot)}});
    }
    if (i.min_notional) filters.push_back(json{{"filterType", "MIN_NOTIONAL"}, {"notional", dec(*i.min_notional)}});
    symbols.push_back(json{{"symbol", i.symbol},
                           {"pair", i.symbol},
                           {"contractType", "PERPETUAL"},
                           {"deliveryDate", perpetual_delivery},
                           {"onboardDate", 0},
                           {"status", status_name(i.status)},
                           {"maintMarginPercent", "2.5000"},
                           {"requiredMarginPercent", "5.0000"},
                           {"baseAsset", i.base},
                           {"quoteAsset", i.quote},
                           {"marginAsset", i.settle},
                           {"pricePrecision", fraction_digits(i.tick)},
                           {"quantityPrecision", fraction_digits(i.lot)},
                           {"baseAssetPrecision", 8},
                           {"quotePrecision", 8},
                           {"underlyingType", "COIN"},
                           {"underlyingSubType", json::array()},
                           {"settlePlan", 0},
                           {"triggerProtect", "0.0500"},
                           {"liquidationFee", "0.010000"},
                           {"marketTakeBound", "0.30"},
                           {"filters", std::move(filters)},
                           {"orderTypes", {"LIMIT", "MARKET"}},
                           {"timeInForce", {"GTC", "IOC", "FOK", "GTX"}}});
  }
  return json{{"timezone", "UTC"},
              {"serverTime", info.server_time},
              {"rateLimits", render_rate_limits(info.rate_limits)},
              {"exchangeFilters", json::array()},
              {"assets", json::array()},
              {"symbols", std::move(symbols)}};
}

json render_server_time(epoch_ms t) { return json{{"serverTime", t}}; }

json render_symbol_config(const symbol_settings& s) {
  return json{{"symbol", s.symbol},
              {"marginType", s.mode == margin_mode::isolated ? "ISOLATED" : "CROSSED"},
              {"isAutoAddMargin", false},
              {"leverage", s.leverage},
              {"maxNotionalValue", "INF"}};
}

json render_api_restrictions(const key_permissions& k, epoch_ms create_time) {
  return json{{"ipRestrict", k.ip_restricted},
              {"createTime", create_time},
              {"enableReading", k.reading},
              {"enableWithdrawals", k.withdrawals},
              {"enableInternalTransfer", false},
              {"enableMargin", false},
              {"enableFutures", k.futures_trading},
              {"permitsUniversalTransfer", false},
              {"enableVanillaOptions", false},
              {"enableSpotAndMarginTrading", false}};
}

json render_kline(const candle& c) {
  if (!c.close_time) throw std::invalid_argument("binance render: kline needs close_time");
  return json::array({c.open_time, dec(c.open), dec(c.high), dec(c.low), dec(c.close), dec(c.volume), *c.close_time,
                      dec(c.quote_volume.value_or(decimal::zero())), c.trades.value_or(0), "0", "0", "0"});
}

json render_depth(const order_book& b, epoch_ms event_time) {
  return json{{"lastUpdateId", b.update_id},
              {"E", event_time},
              {"T", b.time},
              {"bids", render_levels(b.bids)},
              {"asks", render_levels(b.asks)}};
}

json render_agg_trade(const public_trade& t) {
  const json id = wire::id_value(t.id);
  return json{{"a", id},       {"p", dec(t.price)}, {"q", dec(t.qty)},
              {"f", id},       {"l", id},           {"T", t.time},
              {"m", t.taker_side == side::sell}};
}

json render_trade(const public_trade& t) {
  return json{{"id", wire::id_value(t.id)},
              {"price", dec(t.price)},
              {"qty", dec(t.qty)},
              {"quoteQty", dec(mul9(t.price, t.qty))},
              {"time", t.time},
              {"isBuyerMaker", t.taker_side == side::sell}};
}

json render_ticker(const ticker& t) {
  const decimal open = t.open.value_or(t.last);
  const decimal change = t.last - open;
  const decimal volume = t.volume.value_or(decimal::zero());
  const decimal quote = t.quote_volume.value_or(decimal::zero());
  return json{{"symbol", t.symbol},
              {"priceChange", dec(change)},
              {"priceChangePercent",
               dec(core::round_to_step(ratio(change * 100, open), decimal::parse("0.001"), core::rounding::half_even))},
              {"weightedAvgPrice", dec(ratio(quote, volume))},
              {"lastPrice", dec(t.last)},
              {"lastQty", "0"},
              {"openPrice", dec(open)},
              {"highPrice", dec(t.high.value_or(t.last))},
              {"lowPrice", dec(t.low.value_or(t.last))},
              {"volume", dec(volume)},
              {"quoteVolume", dec(quote)},
              {"openTime", day_before(t.time)},
              {"closeTime", t.time},
              {"firstId", 0},
              {"lastId", 0},
              {"count", 0}};
}

json render_premium_index(const mark_price& m) {
  const decimal index = m.index.value_or(m.mark);
  return json{{"symbol", m.symbol},
              {"markPrice", dec(m.mark)},
              {"indexPrice", dec(index)},
              {"estimatedSettlePrice", dec(index)},
              {"lastFundingRate", dec(m.funding_rate.value_or(decimal::zero()))},
              {"interestRate", "0.0001"},
              {"nextFundingTime", m.next_funding_time.value_or(0)},
              {"time", m.time}};
}

json render_funding_row(const funding_rate& r) {
  return json{{"symbol", r.symbol},
              {"fundingRate", dec(r.rate)},
              {"fundingTime", r.time},
              {"markPrice", r.mark ? dec(*r.mark) : json("")}};
}

json render_account(const std::vector<balance>& balances, const std::vector<position>& positions, epoch_ms time,
                    const row_extras& /*x*/) {
  decimal im, mm, wallet, upl, equity, avail;
  json assets = json::array();
  for (const auto& b : balances) {
    im += b.initial_margin;
    mm += b.maintenance_margin;
    wallet += b.wallet;
    upl += b.unrealised_pnl;
    equity += b.equity;
    avail += b.available;
    assets.push_back(json{{"asset", b.asset},
                          {"walletBalance", dec(b.wallet)},
                          {"unrealizedProfit", dec(b.unrealised_pnl)},
                          {"marginBalance", dec(b.equity)},
                          {"maintMargin", dec(b.maintenance_margin)},
                          {"initialMargin", dec(b.initial_margin)},
                          {"positionInitialMargin", dec(b.initial_margin)},
                          {"openOrderInitialMargin", "0"},
                          {"crossWalletBalance", dec(b.wallet)},
                          {"crossUnPnl", dec(b.unrealised_pnl)},
                          {"availableBalance", dec(b.available)},
                          {"maxWithdrawAmount", dec(b.available)},
                          {"updateTime", time}});
  }
  json rows = json::array();
  for (const auto& p : positions) {
    const bool iso = p.mode == margin_mode::isolated;
    rows.push_back(json{{"symbol", p.symbol},
                        {"positionSide", pos_side_name(p.pos_side)},
                        {"positionAmt", dec(p.qty)},
                        {"unrealizedProfit", dec(p.unrealised_pnl)},
                        {"isolatedMargin", iso ? dec(p.margin) : json("0")},
                        {"notional", dec(mul9(p.qty, p.mark_price))},
                        {"isolatedWallet", iso ? dec(p.margin) : json("0")},
                        {"initialMargin", dec(p.margin)},
                        {"maintMargin", "0"},
                        {"updateTime", p.update_time}});
  }
  return json{{"totalInitialMargin", dec(im)},
              {"totalMaintMargin", dec(mm)},
              {"totalWalletBalance", dec(wallet)},
              {"totalUnrealizedProfit", dec(upl)},
              {"totalMarginBalance", dec(equity)},
              {"totalPositionInitialMargin", dec(im)},
              {"totalOpenOrderInitialMargin", "0"},
              {"totalCrossWalletBalance", dec(wallet)},
              {"totalCrossUnPnl", dec(upl)},
              {"availableBalance", dec(avail)},
              {"maxWithdrawAmount", dec(avail)},
              {"assets", std::move(assets)},
              {"positions", std::move(rows)}};
}

json render_position_risk(const position& p, api_version v, const row_extras& x) {
  const bool iso = p.mode == margin_mode::isolated;
  json j{{"symbol", p.symbol},
         {"positionSide", pos_side_name(p.pos_side)},
         {"positionAmt", dec(p.qty)},
         {"entryPrice", dec(p.entry_price)},
         {"breakEvenPrice", dec(p.entry_price)},
         {"markPrice", dec(p.mark_price)},
         {"unRealizedProfit", dec(p.unrealised_pnl)},
         {"liquidationPrice", dec(p.liquidation_price.value_or(decimal::zero()))},
         {"isolatedMargin", iso ? dec(p.margin) : json("0")},
         {"notional", dec(mul9(p.qty, p.mark_price))},
         {"isolatedWallet", iso ? dec(p.margin) : json("0")},
         {"updateTime", p.update_time}};
  if (v == api_version::v3) {
    j["marginAsset"] = x.margin_asset;
    j["initialMargin"] = dec(p.margin);
    j["maintMargin"] = "0";
    j["positionInitialMargin"] = dec(p.margin);
    j["openOrderInitialMargin"] = "0";
    j["adl"] = 0;
    j["bidNotional"] = "0";
    j["askNotional"] = "0";
  } else {
    j["leverage"] = std::to_string(p.leverage);
    j["marginType"] = iso ? "isolated" : "cross";
    j["isAutoAddMargin"] = "false";
    j["maxNotionalValue"] = "0";
  }
  return j;
}

json render_order(const order& o) {
  const char* type = o.type == order_type::market ? "MARKET" : "LIMIT";
  return json{{"orderId", wire::id_value(o.order_id)},
              {"symbol", o.symbol},
              {"status", state_name(o.state)},
              {"clientOrderId", o.client_id},
              {"price", dec(o.price)},
              {"avgPrice", dec(o.avg_price)},
              {"origQty", dec(o.qty)},
              {"executedQty", dec(o.filled_qty)},
              {"cumQty", dec(o.filled_qty)},
              {"cumQuote", dec(mul9(o.avg_price, o.filled_qty))},
              {"timeInForce", tif_name(o.tif)},
              {"type", type},
              {"reduceOnly", o.reduce_only},
              {"closePosition", false},
              {"side", side_name(o.s)},
              {"positionSide", pos_side_name(o.pos_side)},
              {"stopPrice", "0"},
              {"workingType", "CONTRACT_PRICE"},
              {"priceProtect", false},
              {"origType", type},
              {"priceMatch", "NONE"},
              {"selfTradePreventionMode", "NONE"},
              {"goodTillDate", 0},
              {"time", o.create_time},
              {"updateTime", o.update_time}};
}

json render_user_trade(const fill& f, const row_extras& x) {
  json j{{"symbol", f.symbol},
         {"id", wire::id_value(f.trade_id)},
         {"orderId", wire::id_value(f.order_id)},
         {"side", side_name(f.s)},
         {"price", dec(f.price)},
         {"qty", dec(f.qty)},
         {"realizedPnl", dec(f.realised_pnl.value_or(decimal::zero()))},
         {"marginAsset", x.margin_asset},
         {"quoteQty", dec(mul9(f.price, f.qty))},
         {"commission", dec(f.fee)},
         {"commissionAsset", f.fee_asset},
         {"time", f.time},
         {"positionSide", pos_side_name(x.pos_side)},
         {"maker", f.role == liquidity::maker},
         {"buyer", f.s == side::buy}};
  return j;
}

json render_income(const bill& b) {
  const std::string type = b.venue_type.empty() ? std::string(bill_type_name(b.type)) : b.venue_type;
  return json{{"symbol", b.symbol},       {"incomeType", type}, {"income", dec(b.amount)},
              {"asset", b.asset},         {"info", type},       {"time", b.time},
              {"tranId", wire::id_value(b.id)}, {"tradeId", ""}};
}

json render_listen_key(const std::string& key) { return json{{"listenKey", key}}; }

json render_combined(const std::string& stream, json data) { return json{{"stream", stream}, {"data", std::move(data)}}; }

json render_ws_reply(std::int64_t id) { return json{{"result", nullptr}, {"id", id}}; }

json render_kline_event(const std::string& symbol, const std::string& interval, const candle& c, epoch_ms event_time) {
  if (!c.close_time) throw std::invalid_argument("binance render: kline needs close_time");
  return json{{"e", "kline"},
              {"E", event_time},
              {"s", symbol},
              {"k",
               {{"t", c.open_time},
                {"T", *c.close_time},
                {"s", symbol},
                {"i", interval},
                {"f", 0},
                {"L", 0},
                {"o", dec(c.open)},
                {"c", dec(c.close)},
                {"h", dec(c.high)},
                {"l", dec(c.low)},
                {"v", dec(c.volume)},
                {"n", c.trades.value_or(0)},
                {"x", c.closed},
                {"q", dec(c.quote_volume.value_or(decimal::zero()))},
                {"V", "0"},
                {"Q", "0"},
                {"B", "0"}}}};
}

json render_mark_price_update(const mark_price& m) {
  const decimal index = m.index.value_or(m.mark);
  return json{{"e", "markPriceUpdate"},
              {"E", m.time},
              {"s", m.symbol},
              {"p", dec(m.mark)},
              {"i", dec(index)},
              {"P", dec(index)},
              {"r", dec(m.funding_rate.value_or(decimal::zero()))},
              {"T", m.next_funding_time.value_or(0)}};
}

json render_depth_update(const order_book& b, epoch_ms event_time) {
  return json{{"e", "depthUpdate"},         {"E", event_time},         {"T", b.time},
              {"s", b.symbol},              {"U", b.first_update_id},  {"u", b.update_id},
              {"pu", b.prev_update_id},     {"b", render_levels(b.bids)}, {"a", render_levels(b.asks)}};
}

json render_agg_trade_event(const public_trade& t, epoch_ms event_time) {
  json j = render_agg_trade(t);
  j["e"] = "aggTrade";
  j["E"] = event_time;
  j["s"] = t.symbol;
  return j;
}

json render_trade_event(const public_trade& t, epoch_ms event_time) {
  return json{{"e", "trade"},         {"E", event_time},    {"T", t.time},
              {"s", t.symbol},        {"t", wire::id_value(t.id)}, {"p", dec(t.price)},
              {"q", dec(t.qty)},      {"X", "MARKET"},      {"m", t.taker_side == side::sell}};
}

json render_order_trade_update(const order& o, const std::optional<fill>& trade, const std::string& execution_type,
                               epoch_ms event_time) {
  const char* type = o.type == order_type::market ? "MARKET" : "LIMIT";
  json body{{"s", o.symbol},
            {"c", o.client_id},
            {"S", side_name(o.s)},
            {"o", type},
            {"f", tif_name(o.tif)},
            {"q", dec(o.qty)},
            {"p", dec(o.price)},
            {"ap", dec(o.avg_price)},
            {"sp", "0"},
            {"x", trade ? std::string("TRADE") : execution_type},
            {"X", state_name(o.state)},
            {"i", wire::id_value(o.order_id)},
            {"l", trade ? dec(trade->qty) : json("0")},
            {"z", dec(o.filled_qty)},
            {"L", trade ? dec(trade->price) : json("0")},
            {"N", trade ? trade->fee_asset : o.fee_asset},
            {"n", trade ? dec(trade->fee) : json("0")},
            {"T", o.update_time},
            {"t", trade ? wire::id_value(trade->trade_id) : json(0)},
            {"b", "0"},
            {"a", "0"},
            {"m", trade ? trade->role == liquidity::maker : false},
            {"R", o.reduce_only},
            {"wt", "CONTRACT_PRICE"},
            {"ot", type},
            {"ps", pos_side_name(o.pos_side)},
            {"cp", false},
            {"AP", "0"},
            {"cr", "0"},
            {"pP", false},
            {"si", 0},
            {"ss", 0},
            {"rp", trade ? dec(trade->realised_pnl.value_or(decimal::zero())) : json("0")},
            {"V", "NONE"}};
  return json{{"e", "ORDER_TRADE_UPDATE"}, {"E", event_time}, {"T", o.update_time}, {"o", std::move(body)}};
}

json render_account_update(const std::string& reason, const std::vector<wallet_update>& wallets,
                           const std::vector<position>& positions, epoch_ms event_time, const row_extras& x) {
  json b = json::array();
  for (const auto& w : wallets) {
    b.push_back(json{{"a", w.asset}, {"wb", dec(w.wallet)}, {"cw", dec(w.cross_wallet)}, {"bc", dec(w.change)}});
  }
  json p = json::array();
  for (const auto& pos : positions) {
    const bool iso = pos.mode == margin_mode::isolated;
    p.push_back(json{{"s", pos.symbol},
                     {"pa", dec(pos.qty)},
                     {"ep", dec(pos.entry_price)},
                     {"bep", dec(pos.entry_price)},
                     {"cr", "0"},
                     {"up", dec(pos.unrealised_pnl)},
                     {"mt", iso ? "isolated" : "cross"},
                     {"iw", iso ? dec(pos.margin) : json("0")},
                     {"ps", pos_side_name(pos.pos_side)},
                     {"ma", x.margin_asset}});
  }
  return json{{"e", "ACCOUNT_UPDATE"},
              {"E", event_time},
              {"T", event_time},
              {"a", {{"m", reason}, {"B", std::move(b)}, {"P", std::move(p)}}}};
}

json render_listen_key_expired(const std::string& key, epoch_ms event_time) {
  return json{{"e", "listenKeyExpired"}, {"E", event_time}, {"listenKey", key}};
}

json render_algo_update(const algo_update& a, epoch_ms event_time) {
  return json{{"e", "ALGO_UPDATE"},
              {"T", event_time},
              {"E", event_time},
              {"o",
               {{"caid", a.client_algo_id},
                {"aid", wire::id_value(a.algo_id)},
                {"at", "CONDITIONAL"},
                {"o", a.order_type},
                {"s", a.symbol},
                {"S", side_name(a.s)},
                {"ps", pos_side_name(a.pos_side)},
                {"f", "GTC"},
                {"q", dec(a.qty)},
                {"X", a.status},
                {"ai", ""},
                {"ap", "0"},
                {"aq", "0"},
                {"act", "0"},
                {"tp", dec(a.trigger_price)},
                {"p", dec(a.price.value_or(decimal::zero()))},
                {"V", "NONE"},
                {"wt", "CONTRACT_PRICE"},
                {"pm", "NONE"},
                {"cp", false},
                {"pP", false},
                {"R", a.reduce_only},
                {"tt", 0},
                {"gtd", 0},
                {"rm", a.reason}}}};
}

}  // namespace pt::venue::binance
