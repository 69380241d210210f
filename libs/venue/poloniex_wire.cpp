#include "venue/poloniex_wire.hpp"

#include "venue/wire_json.hpp"

#include <stdexcept>

namespace pt::venue::poloniex {

namespace {

using core::decimal;
using wire::as_array;
using wire::as_object;
using wire::at;
using wire::bool_or;
using wire::dec;
using wire::decimal_or;
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
using wire::to_int;
using wire::to_text;
using wire::to_small_int;

constexpr epoch_ms day_ms = 86'400'000;

// A window start a day before `t`, clamped: a hostile time must not overflow.
epoch_ms day_before(epoch_ms t) {
  epoch_ms out = 0;
  return __builtin_sub_overflow(t, day_ms, &out) ? t : out;
}

// Echoed venue text is clipped: a hostile payload must not make a log line huge.
std::string clip(std::string_view s) { return std::string(s.substr(0, 40)); }

json time_value(epoch_ms t, flavor f) { return f == flavor::rest ? json(std::to_string(t)) : json(t); }

// A data member that is an array of rows, or one object standing for a one-row array.
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

// ---- enums ----------------------------------------------------------------------------------------

side side_of(const json& obj, std::string_view key) {
  const auto s = get_text(obj, key);
  if (iequals(s, "buy")) return side::buy;
  if (iequals(s, "sell")) return side::sell;
  throw parse_error("field '" + std::string(key) + "': unknown side '" + clip(s) + "'");
}

position_side pos_side_of(std::string_view s) {
  if (s.empty() || iequals(s, "BOTH")) return position_side::both;
  if (iequals(s, "LONG")) return position_side::long_side;
  if (iequals(s, "SHORT")) return position_side::short_side;
  throw parse_error("field 'posSide': unknown '" + clip(s) + "'");
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
  if (s.empty() || iequals(s, "CROSS")) return margin_mode::cross;
  if (iequals(s, "ISOLATED")) return margin_mode::isolated;
  throw parse_error("field 'mgnMode': unknown '" + clip(s) + "'");
}

const char* mode_name(margin_mode m) { return m == margin_mode::isolated ? "ISOLATED" : "CROSS"; }

instrument_status status_of(std::string_view s) {
  if (iequals(s, "OPEN")) return instrument_status::trading;
  if (iequals(s, "CANCEL_ONLY")) return instrument_status::cancel_only;
  if (iequals(s, "CANCEL_CLOSE_ONLY")) return instrument_status::close_only;
  if (iequals(s, "CLOSED")) return instrument_status::closed;
  return instrument_status::paused;  // PAUSED, and anything unknown: not tradable
}

const char* status_name(instrument_status s) {
  switch (s) {
    case instrument_status::trading: return "OPEN";
    case instrument_status::cancel_only: return "CANCEL_ONLY";
    case instrument_status::close_only: return "CANCEL_CLOSE_ONLY";
    case instrument_status::closed: return "CLOSED";
    case instrument_status::paused: break;
  }
  return "PAUSED";
}

order_state state_of(std::string_view s) {
  if (iequals(s, "NEW")) return order_state::open;
  if (iequals(s, "PARTIALLY_FILLED")) return order_state::partially_filled;
  if (iequals(s, "FILLED")) return order_state::filled;
  if (iequals(s, "CANCELED") || iequals(s, "PARTIALLY_CANCELED")) return order_state::cancelled;
  throw parse_error("field 'state': unknown '" + clip(s) + "'");
}

const char* state_name(const order& o) {
  switch (o.state) {
    case order_state::pending_new:
    case order_state::open: return "NEW";
    case order_state::partially_filled: return "PARTIALLY_FILLED";
    case order_state::filled: return "FILLED";
    case order_state::cancelled:
    case order_state::expired:
    case order_state::rejected: break;
  }
  return o.filled_qty.is_zero() ? "CANCELED" : "PARTIALLY_CANCELED";
}

liquidity role_of(std::string_view s) {
  if (iequals(s, "TAKER")) return liquidity::taker;
  if (iequals(s, "MAKER")) return liquidity::maker;
  throw parse_error("field 'role': unknown '" + clip(s) + "'");
}

bill_type bill_type_of(std::string_view s) {
  if (s == "FUNDING_FEE") return bill_type::funding;
  if (s == "PNL" || s == "ADL_PNL") return bill_type::realised_pnl;
  if (s == "LIQ_PNL") return bill_type::liquidation;
  if (s == "FEE") return bill_type::fee;
  if (s == "TRANSFER") return bill_type::transfer;
  return bill_type::other;
}

const char* bill_type_name(bill_type t) {
  switch (t) {
    case bill_type::funding: return "FUNDING_FEE";
    case bill_type::realised_pnl: return "PNL";
    case bill_type::fee: return "FEE";
    case bill_type::transfer: return "TRANSFER";
    case bill_type::liquidation: return "LIQ_PNL";
    case bill_type::other: break;
  }
  return "MANUAL_MARGIN";
}

int leverage_of(const json& obj) {
  const json* v = wire::find(obj, "lever");
  if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) return 1;
  return wire::to_small_int(*v, "lever", 0, 1000);
}

// ---- rows -> types ----------------------------------------------------------------------------------

std::vector<book_level> levels_of(const json& obj, std::string_view key) {
  const json& arr = as_array(require(obj, key), key);
  std::vector<book_level> out;
  out.reserve(arr.size());
  for (const auto& l : arr) out.push_back({to_decimal(at(l, 0, key), "px"), to_decimal(at(l, 1, key), "qty")});
  return out;
}

instrument instrument_of(const json& j) {
  as_object(j, "instrument");
  instrument i;
  i.symbol = get_text(j, "symbol");
  i.base = text_or(j, "bCcy");
  i.quote = text_or(j, "qCcy");
  i.settle = text_or(j, "sCcy", i.quote);
  i.contract_size = get_decimal(j, "ctVal");
  i.tick = get_decimal(j, "tSz");
  i.lot = get_decimal(j, "lotSz");
  i.min_qty = get_decimal(j, "minSz");
  i.max_market_qty = opt_decimal(j, "marketMaxQty");
  i.max_limit_qty = opt_decimal(j, "limitMaxQty");
  i.min_price = opt_decimal(j, "minPx");
  i.max_price = opt_decimal(j, "maxPx");
  if (const json* v = wire::find(j, "maxLever"); v != nullptr && !(v->is_string() && v->get_ref<const std::string&>().empty())) {
    i.max_leverage = wire::to_small_int(*v, "maxLever", 1, 1000);
  }
  i.initial_margin_rate = opt_decimal(j, "iM");
  i.maintenance_margin_rate = opt_decimal(j, "mM");
  i.status = status_of(text_or(j, "status", "OPEN"));
  return i;
}

candle candle_of(const json& row) {
  as_array(row, "candle");
  candle c;
  c.low = to_decimal(at(row, 0, "candle"), "l");
  c.high = to_decimal(at(row, 1, "candle"), "h");
  c.open = to_decimal(at(row, 2, "candle"), "o");
  c.close = to_decimal(at(row, 3, "candle"), "c");
  c.quote_volume = to_decimal(at(row, 4, "candle"), "amt");
  c.volume = to_decimal(at(row, 5, "candle"), "qty");
  c.trades = to_int(at(row, 6, "candle"), "tC");
  c.open_time = to_int(at(row, 7, "candle"), "sT");
  c.close_time = to_int(at(row, 8, "candle"), "cT");
  c.closed = true;
  return c;
}

candle price_candle_of(const json& row) {
  as_array(row, "candle");
  candle c;
  c.low = to_decimal(at(row, 0, "candle"), "l");
  c.high = to_decimal(at(row, 1, "candle"), "h");
  c.open = to_decimal(at(row, 2, "candle"), "o");
  c.close = to_decimal(at(row, 3, "candle"), "c");
  c.open_time = to_int(at(row, 4, "candle"), "sT");
  c.close_time = to_int(at(row, 5, "candle"), "cT");
  c.closed = true;
  return c;
}

ticker ticker_of(const json& j) {
  as_object(j, "ticker");
  ticker t;
  t.symbol = get_text(j, "s");
  t.last = get_decimal(j, "c");
  t.open = opt_decimal(j, "o");
  t.high = opt_decimal(j, "h");
  t.low = opt_decimal(j, "l");
  t.volume = opt_decimal(j, "qty");
  t.quote_volume = opt_decimal(j, "amt");
  t.bid = opt_decimal(j, "bPx");
  t.bid_qty = opt_decimal(j, "bSz");
  t.ask = opt_decimal(j, "aPx");
  t.ask_qty = opt_decimal(j, "aSz");
  t.mark = opt_decimal(j, "mPx");
  t.index = opt_decimal(j, "iPx");
  t.time = opt_int(j, "cT").value_or(0);
  return t;
}

mark_price mark_of(const json& j) {
  as_object(j, "markPrice");
  mark_price m;
  m.symbol = get_text(j, "s");
  m.mark = get_decimal(j, "mPx");
  m.index = opt_decimal(j, "iPx");
  m.time = opt_int(j, "ts").value_or(0);
  return m;
}

funding_rate funding_of(const json& j) {
  as_object(j, "fundingRate");
  funding_rate r;
  r.symbol = get_text(j, "s");
  r.rate = get_decimal(j, "fR");
  r.time = get_int(j, "fT");
  r.next_rate = opt_decimal(j, "nFR");
  r.next_time = opt_int(j, "nFT");
  return r;
}

std::vector<balance> balances_of(const json& account) {
  as_object(account, "account");
  const json& details = as_array(require(account, "details"), "details");
  std::vector<balance> out;
  out.reserve(details.size());
  for (const auto& d : details) {
    as_object(d, "details[]");
    balance b;
    b.asset = get_text(d, "ccy");
    b.equity = get_decimal(d, "eq");
    b.unrealised_pnl = decimal_or(d, "upl", decimal::zero());
    // `avail` is the cash figure (eq - upl in every recording); equity less initial margin is
    // what new orders may use (= the account's availMgn).
    b.wallet = decimal_or(d, "avail", b.equity - b.unrealised_pnl);
    b.initial_margin = decimal_or(d, "im", decimal::zero());
    b.maintenance_margin = decimal_or(d, "mm", decimal::zero());
    b.available = b.equity - b.initial_margin;
    out.push_back(std::move(b));
  }
  if (out.size() == 1) {
    if (auto avail = opt_decimal(account, "availMgn")) out.front().available = *avail;
  }
  return out;
}

position position_of(const json& j) {
  as_object(j, "position");
  position p;
  p.symbol = get_text(j, "symbol");
  p.pos_side = pos_side_of(text_or(j, "posSide"));
  p.mode = mode_of(text_or(j, "mgnMode"));
  const decimal q = get_decimal(j, "qty");
  const std::string s = text_or(j, "side");
  const bool short_side = iequals(s, "sell") || p.pos_side == position_side::short_side;
  const bool long_side = iequals(s, "buy") || p.pos_side == position_side::long_side;
  if (!s.empty() && !short_side && !long_side) throw parse_error("field 'side': unknown '" + clip(s) + "'");
  p.qty = short_side ? -core::abs(q) : (long_side ? core::abs(q) : q);
  p.entry_price = decimal_or(j, "openAvgPx", decimal::zero());
  p.mark_price = decimal_or(j, "markPx", decimal::zero());
  p.unrealised_pnl = decimal_or(j, "upl", decimal::zero());
  p.liquidation_price = opt_decimal(j, "liqPx");
  p.leverage = leverage_of(j);
  p.margin = opt_decimal(j, "mgn").value_or(decimal_or(j, "im", decimal::zero()));
  p.update_time = opt_int(j, "uTime").value_or(opt_int(j, "ts").value_or(0));
  return p;
}

order order_of(const json& j) {
  as_object(j, "order");
  order o;
  o.symbol = get_text(j, "symbol");
  o.order_id = get_id(j, "ordId");
  o.client_id = id_or(j, "clOrdId");
  o.s = side_of(j, "side");
  const std::string type = get_text(j, "type");
  const std::string tif = text_or(j, "timeInForce", "GTC");
  if (iequals(tif, "GTC") || tif.empty()) {
    o.tif = time_in_force::gtc;
  } else if (iequals(tif, "IOC")) {
    o.tif = time_in_force::ioc;
  } else if (iequals(tif, "FOK")) {
    o.tif = time_in_force::fok;
  } else {
    throw parse_error("field 'timeInForce': unknown '" + clip(tif) + "'");
  }
  if (iequals(type, "MARKET")) {
    o.type = order_type::market;
  } else if (iequals(type, "LIMIT")) {
    o.type = order_type::limit;
  } else if (iequals(type, "LIMIT_MAKER")) {
    o.type = order_type::limit;
    o.tif = time_in_force::post_only;
  } else {
    throw parse_error("field 'type': unknown '" + clip(type) + "'");
  }
  o.state = state_of(get_text(j, "state"));
  o.price = decimal_or(j, "px", decimal::zero());
  o.qty = get_decimal(j, "sz");
  o.filled_qty = decimal_or(j, "execQty", decimal::zero());
  o.avg_price = decimal_or(j, "avgPx", decimal::zero());
  o.fee = decimal_or(j, "feeAmt", decimal::zero());
  o.fee_asset = text_or(j, "feeCcy");
  o.reduce_only = bool_or(j, "reduceOnly", false);
  o.pos_side = pos_side_of(text_or(j, "posSide"));
  o.reject_or_cancel_reason = text_or(j, "cancelReason");
  o.create_time = opt_int(j, "cTime").value_or(0);
  o.update_time = opt_int(j, "uTime").value_or(o.create_time);
  return o;
}

fill fill_of(const json& j, flavor f) {
  as_object(j, "fill");
  fill x;
  x.symbol = get_text(j, "symbol");
  x.trade_id = get_id(j, "trdId");
  x.order_id = id_or(j, "ordId");
  x.client_id = id_or(j, "clOrdId");
  x.s = side_of(j, "side");
  x.price = get_decimal(j, f == flavor::rest ? "px" : "fpx");
  x.qty = get_decimal(j, f == flavor::rest ? "qty" : "fqty");
  x.fee = decimal_or(j, "feeAmt", decimal::zero());
  x.fee_asset = text_or(j, "feeCcy");
  x.role = role_of(text_or(j, "role", "TAKER"));
  if (f == flavor::rest) {
    x.time = opt_int(j, "cTime").value_or(opt_int(j, "uTime").value_or(0));
  } else {
    x.time = opt_int(j, "uTime").value_or(opt_int(j, "ts").value_or(0));
  }
  return x;
}

bill bill_of(const json& j) {
  as_object(j, "bill");
  bill b;
  b.id = get_id(j, "id");
  b.symbol = text_or(j, "symbol");
  b.venue_type = get_text(j, "type");
  b.type = bill_type_of(b.venue_type);
  b.amount = get_decimal(j, "sz");
  b.asset = get_text(j, "ccy");
  b.time = get_int(j, "cTime");
  return b;
}

public_trade trade_of(const json& j, std::string symbol) {
  as_object(j, "trade");
  public_trade t;
  t.symbol = std::move(symbol);
  t.id = get_id(j, "id");
  t.taker_side = side_of(j, "side");
  t.price = get_decimal(j, "px");
  t.qty = get_decimal(j, "qty");
  t.time = get_int(j, "cT");
  return t;
}

order_book ws_book_of(const json& j, const std::string& action) {
  as_object(j, "book");
  order_book b;
  b.symbol = get_text(j, "s");
  b.asks = levels_of(j, "asks");
  b.bids = levels_of(j, "bids");
  b.time = opt_int(j, "ts").value_or(opt_int(j, "cT").value_or(0));
  b.update_id = opt_int(j, "id").value_or(0);
  b.prev_update_id = opt_int(j, "lid").value_or(0);
  b.snapshot = !iequals(action, "update");
  return b;
}

template <class T, class F>
std::vector<T> map_rows(const json& data, std::string_view what, F&& f) {
  std::vector<T> out;
  for (const json* row : items(data, what)) out.push_back(f(*row));
  return out;
}

json whole_number(decimal d, const char* what) {
  if (d.units() % decimal::scale != 0) throw std::invalid_argument(std::string("poloniex render: ") + what + " must be whole");
  return d.units() / decimal::scale;
}

decimal ratio(decimal a, decimal b) { return b.is_zero() ? decimal::zero() : core::div(a, b, core::rounding::half_even); }

// "0.01,0.1,1,10,100" from the tick, as pxScale lists the book aggregation steps.
std::string px_scale(decimal tick) {
  std::string out;
  decimal step = tick;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) out += ',';
    out += step.to_string();
    if (step > decimal::from_integer(100'000'000)) break;
    step = step * 10;
  }
  return out;
}

}  // namespace

// ---- envelope ---------------------------------------------------------------------------------------

json unwrap(std::string_view body, request_kind kind) {
  return guarded("poloniex envelope", [&]() -> json {
    json doc = wire::parse_document(body);
    as_object(doc, "envelope");
    const std::int64_t code = to_int(require(doc, "code"), "code");
    if (code != 200) {
      const json* m = wire::find(doc, "msg");
      std::string msg = (m != nullptr && m->is_string()) ? m->get<std::string>() : std::string();
      if (msg.empty()) msg = "code " + std::to_string(code);
      outcome o;
      o.http_status = 200;
      o.venue_code = code;
      auto cls = classify(venue_id::poloniex_futures, kind, o).kind;
      if (cls == outcome_class::success) cls = outcome_class::reject;
      throw venue_error(cls, "poloniex: " + clip(msg), code);
    }
    const auto it = doc.find("data");
    if (it == doc.end()) return json();
    return std::move(*it);
  });
}

json render_envelope(json data, std::int64_t code, std::string msg) {
  return json{{"code", code}, {"msg", std::move(msg)}, {"data", std::move(data)}};
}

json render_error(std::int64_t code, std::string msg) {
  return json{{"code", code}, {"msg", std::move(msg)}, {"data", ""}};
}

// ---- REST parsers -------------------------------------------------------------------------------------

std::vector<instrument> parse_instruments(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex instruments", [&] { return map_rows<instrument>(data, "instruments", instrument_of); });
}

std::vector<candle> parse_candles(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex candles", [&] {
    std::vector<candle> out;
    for (const auto& row : as_array(data, "candles")) out.push_back(candle_of(row));
    return out;
  });
}

std::vector<candle> parse_price_candles(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex price candles", [&] {
    std::vector<candle> out;
    for (const auto& row : as_array(data, "candles")) out.push_back(price_candle_of(row));
    return out;
  });
}

order_book parse_order_book(std::string_view body, std::string_view symbol) {
  const json data = unwrap(body);
  return guarded("poloniex orderBook", [&] {
    as_object(data, "orderBook");
    order_book b;
    b.symbol = std::string(symbol);
    b.asks = levels_of(data, "asks");
    b.bids = levels_of(data, "bids");
    b.time = opt_int(data, "ts").value_or(0);
    b.snapshot = true;
    return b;
  });
}

std::vector<public_trade> parse_trades(std::string_view body, std::string_view symbol) {
  const json data = unwrap(body);
  return guarded("poloniex trades", [&] {
    std::vector<public_trade> out;
    for (const auto& row : as_array(data, "trades")) out.push_back(trade_of(row, std::string(symbol)));
    return out;
  });
}

std::vector<ticker> parse_tickers(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex tickers", [&] { return map_rows<ticker>(data, "tickers", ticker_of); });
}

std::vector<mark_price> parse_mark_prices(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex markPrice", [&] { return map_rows<mark_price>(data, "markPrice", mark_of); });
}

funding_rate parse_funding_rate(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex fundingRate", [&] { return funding_of(data); });
}

std::vector<funding_rate> parse_funding_history(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex fundingRate/history", [&] {
    std::vector<funding_rate> out;
    for (const auto& row : as_array(data, "history")) out.push_back(funding_of(row));
    return out;
  });
}

std::vector<balance> parse_balances(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex balance", [&] { return balances_of(data); });
}

std::vector<position> parse_positions(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex positions", [&] { return map_rows<position>(data, "positions", position_of); });
}

std::vector<order> parse_orders(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex orders", [&] { return map_rows<order>(data, "orders", order_of); });
}

std::vector<fill> parse_fills(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex fills", [&] {
    std::vector<fill> out;
    for (const auto& row : as_array(data, "fills")) out.push_back(fill_of(row, flavor::rest));
    return out;
  });
}

std::vector<bill> parse_bills(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex bills", [&] {
    std::vector<bill> out;
    for (const auto& row : as_array(data, "bills")) out.push_back(bill_of(row));
    return out;
  });
}

order_ack parse_order_ack(std::string_view body, request_kind kind) {
  const json data = unwrap(body, kind);
  return guarded("poloniex order ack", [&] {
    as_object(data, "ack");
    return order_ack{get_id(data, "ordId"), id_or(data, "clOrdId")};
  });
}

std::vector<batch_item> parse_batch(std::string_view body, request_kind kind) {
  const json data = unwrap(body, kind);
  return guarded("poloniex batch", [&] {
    std::vector<batch_item> out;
    for (const auto& row : as_array(data, "batch")) {
      as_object(row, "batch item");
      batch_item b;
      b.code = opt_int(row, "code").value_or(200);
      const json* m = wire::find(row, "msg");
      b.msg = (m != nullptr && m->is_string()) ? m->get<std::string>() : std::string();
      b.order_id = id_or(row, "ordId");
      b.client_id = id_or(row, "clOrdId");
      out.push_back(std::move(b));
    }
    return out;
  });
}

position_mode parse_position_mode(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex position mode", [&] {
    const std::string m = get_text(as_object(data, "mode"), "posMode");
    if (iequals(m, "ONE_WAY")) return position_mode::one_way;
    if (iequals(m, "HEDGE")) return position_mode::hedge;
    throw parse_error("field 'posMode': unknown '" + clip(m) + "'");
  });
}

std::vector<symbol_settings> parse_leverages(std::string_view body) {
  const json data = unwrap(body);
  return guarded("poloniex leverages", [&] {
    std::vector<symbol_settings> out;
    for (const auto& row : as_array(data, "leverages")) {
      as_object(row, "leverage");
      symbol_settings s;
      s.symbol = get_text(row, "symbol");
      const std::string m = get_text(row, "mgnMode");
      if (iequals(m, "CROSS")) s.mode = margin_mode::cross;
      else if (iequals(m, "ISOLATED")) s.mode = margin_mode::isolated;
      else throw parse_error("field 'mgnMode': unknown '" + clip(m) + "'");
      s.leverage = to_small_int(require(row, "lever"), "lever", 1, 1000);
      out.push_back(std::move(s));
    }
    return out;
  });
}

// ---- WebSocket --------------------------------------------------------------------------------------

ws_message parse_ws(std::string_view frame) {
  return guarded("poloniex ws", [&] {
    ws_message m;
    if (frame == "pong") {
      m.kind = ws_kind::pong;
      m.event = "pong";
      return m;
    }
    json doc = wire::parse_document(frame);
    as_object(doc, "frame");
    if (const json* ev = wire::find(doc, "event")) {
      m.event = to_text(*ev, "event");
      if (m.event == "pong") {
        m.kind = ws_kind::pong;
      } else if (m.event == "subscribe" || m.event == "unsubscribe") {
        m.kind = m.event == "subscribe" ? ws_kind::subscribed : ws_kind::unsubscribed;
        if (const json* ch = wire::find(doc, "channel")) {
          if (ch->is_array()) {
            for (const auto& c : *ch) m.channel += (m.channel.empty() ? "" : ",") + to_text(c, "channel");
          } else {
            m.channel = to_text(*ch, "channel");
          }
        }
        if (const json* syms = wire::find(doc, "symbols")) {
          for (const auto& s : as_array(*syms, "symbols")) m.symbols.push_back(to_text(s, "symbols"));
        }
      } else if (m.event == "error") {
        m.kind = ws_kind::error;
        const json* msg = wire::find(doc, "message");
        m.message = (msg != nullptr && msg->is_string()) ? msg->get<std::string>() : std::string();
      } else {
        m.kind = ws_kind::other;
      }
      return m;
    }
    m.channel = get_text(doc, "channel");
    if (m.channel == "auth") {
      m.kind = ws_kind::auth;
      const json& d = as_object(require(doc, "data"), "auth data");
      m.auth_ok = bool_or(d, "success", false);
      const json* msg = wire::find(d, "message");
      m.message = (msg != nullptr && msg->is_string()) ? msg->get<std::string>() : std::string();
      return m;
    }
    m.kind = ws_kind::data;
    m.action = text_or(doc, "action");
    m.data = std::move(doc["data"]);
    as_array(m.data, "data");
    return m;
  });
}

std::vector<ws_candle> ws_candles(const ws_message& msg) {
  return guarded("poloniex ws candles", [&] {
    std::vector<ws_candle> out;
    for (const auto& row : as_array(msg.data, "data")) {
      ws_candle c;
      c.symbol = to_text(at(row, 0, "candle"), "s");
      c.bar.low = to_decimal(at(row, 1, "candle"), "l");
      c.bar.high = to_decimal(at(row, 2, "candle"), "h");
      c.bar.open = to_decimal(at(row, 3, "candle"), "o");
      c.bar.close = to_decimal(at(row, 4, "candle"), "c");
      c.bar.quote_volume = to_decimal(at(row, 5, "candle"), "amt");
      c.bar.volume = to_decimal(at(row, 6, "candle"), "qty");
      c.bar.trades = to_int(at(row, 7, "candle"), "tC");
      c.bar.open_time = to_int(at(row, 8, "candle"), "sT");
      c.bar.close_time = to_int(at(row, 9, "candle"), "cT");
      c.bar.closed = false;
      c.ts = to_int(at(row, 10, "candle"), "ts");
      out.push_back(std::move(c));
    }
    return out;
  });
}

std::vector<order_book> ws_books(const ws_message& msg) {
  return guarded("poloniex ws book", [&] {
    std::vector<order_book> out;
    for (const auto& row : as_array(msg.data, "data")) out.push_back(ws_book_of(row, msg.action));
    return out;
  });
}

std::vector<public_trade> ws_trades(const ws_message& msg) {
  return guarded("poloniex ws trades", [&] {
    std::vector<public_trade> out;
    for (const auto& row : as_array(msg.data, "data")) out.push_back(trade_of(row, get_text(row, "s")));
    return out;
  });
}

std::vector<ticker> ws_tickers(const ws_message& msg) {
  return guarded("poloniex ws tickers", [&] { return map_rows<ticker>(as_array(msg.data, "data"), "data", ticker_of); });
}

std::vector<mark_price> ws_mark_prices(const ws_message& msg) {
  return guarded("poloniex ws mark_price", [&] { return map_rows<mark_price>(as_array(msg.data, "data"), "data", mark_of); });
}

std::vector<funding_rate> ws_funding(const ws_message& msg) {
  return guarded("poloniex ws funding_rate", [&] { return map_rows<funding_rate>(as_array(msg.data, "data"), "data", funding_of); });
}

std::vector<instrument> ws_instruments(const ws_message& msg) {
  return guarded("poloniex ws symbol", [&] { return map_rows<instrument>(as_array(msg.data, "data"), "data", instrument_of); });
}

std::vector<order> ws_orders(const ws_message& msg) {
  return guarded("poloniex ws orders", [&] { return map_rows<order>(as_array(msg.data, "data"), "data", order_of); });
}

std::vector<fill> ws_fills(const ws_message& msg) {
  return guarded("poloniex ws trade", [&] {
    std::vector<fill> out;
    for (const auto& row : as_array(msg.data, "data")) out.push_back(fill_of(row, flavor::ws));
    return out;
  });
}

std::vector<position> ws_positions(const ws_message& msg) {
  return guarded("poloniex ws positions", [&] { return map_rows<position>(as_array(msg.data, "data"), "data", position_of); });
}

std::vector<balance> ws_account(const ws_message& msg) {
  return guarded("poloniex ws account", [&] {
    std::vector<balance> out;
    for (const auto& row : as_array(msg.data, "data")) {
      auto b = balances_of(row);
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  });
}

// ---- renderers --------------------------------------------------------------------------------------

json render_instrument(const instrument& i, flavor f) {
  json j{{"symbol", i.symbol},
         {"bCcy", i.base},
         {"qCcy", i.quote},
         {"sCcy", i.settle},
         {"bAsset", ".P" + i.base + i.quote},
         {"alias", ""},
         {"ctType", "LINEAR"},
         {"ctVal", dec(i.contract_size)},
         {"tSz", dec(i.tick)},
         {"pxScale", px_scale(i.tick)},
         {"lotSz", whole_number(i.lot, "lotSz")},
         {"minSz", whole_number(i.min_qty, "minSz")},
         {"minQty", dec(i.min_qty)},
         {"status", status_name(i.status)},
         {"maxLever", std::to_string(i.max_leverage)}};
  // The WS symbol channel sends the max quantities as numbers, REST as strings (A7.1).
  if (i.max_market_qty) j["marketMaxQty"] = f == flavor::ws ? whole_number(*i.max_market_qty, "marketMaxQty") : dec(*i.max_market_qty);
  if (i.max_limit_qty) j["limitMaxQty"] = f == flavor::ws ? whole_number(*i.max_limit_qty, "limitMaxQty") : dec(*i.max_limit_qty);
  if (i.min_price) j["minPx"] = dec(*i.min_price);
  if (i.max_price) j["maxPx"] = dec(*i.max_price);
  if (i.initial_margin_rate) j["iM"] = dec(*i.initial_margin_rate);
  if (i.maintenance_margin_rate) j["mM"] = dec(*i.maintenance_margin_rate);
  return j;
}

json render_candle(const candle& c) {
  if (!c.close_time) throw std::invalid_argument("poloniex render: candle needs close_time");
  return json::array({dec(c.low), dec(c.high), dec(c.open), dec(c.close), dec(c.quote_volume.value_or(decimal::zero())),
                      dec(c.volume), std::to_string(c.trades.value_or(0)), std::to_string(c.open_time),
                      std::to_string(*c.close_time)});
}

json render_price_candle(const candle& c) {
  if (!c.close_time) throw std::invalid_argument("poloniex render: candle needs close_time");
  return json::array({dec(c.low), dec(c.high), dec(c.open), dec(c.close), std::to_string(c.open_time),
                      std::to_string(*c.close_time)});
}

namespace {
json render_levels(const std::vector<book_level>& levels) {
  json out = json::array();
  for (const auto& l : levels) out.push_back(json::array({dec(l.price), dec(l.qty)}));
  return out;
}
}  // namespace

json render_order_book(const order_book& b, decimal scale) {
  return json{{"asks", render_levels(b.asks)}, {"bids", render_levels(b.bids)}, {"s", dec(scale)}, {"ts", b.time}};
}

json render_trade(const public_trade& t, decimal contract_size, flavor f) {
  json j{{"id", wire::id_value(t.id)},
         {"side", t.taker_side == side::buy ? "buy" : "sell"},
         {"px", dec(t.price)},
         {"qty", dec(t.qty)},
         {"amt", dec(core::mul(core::mul(t.price, t.qty, core::rounding::half_even), contract_size, core::rounding::half_even))},
         {"cT", t.time}};
  if (f == flavor::ws) {
    j["s"] = t.symbol;
    j["ts"] = t.time;
  }
  return j;
}

json render_ticker(const ticker& t, flavor f) {
  std::string display = t.symbol;
  for (auto& ch : display) {
    if (ch == '_') ch = '/';
  }
  json j{{"s", t.symbol},
         {"c", dec(t.last)},
         {"tC", 0},
         {"sT", day_before(t.time)},
         {"cT", t.time},
         {"dN", display},
         {"dC", dec(t.open ? core::round_to_step(ratio(t.last - *t.open, *t.open), decimal::parse("0.0001"), core::rounding::half_even)
                           : decimal::zero())}};
  auto put = [&j](const char* key, const std::optional<decimal>& v) {
    if (v) j[key] = dec(*v);
  };
  put("o", t.open);
  put("h", t.high);
  put("l", t.low);
  put("qty", t.volume);
  put("amt", t.quote_volume);
  put("bPx", t.bid);
  put("bSz", t.bid_qty);
  put("aPx", t.ask);
  put("aSz", t.ask_qty);
  put("mPx", t.mark);
  put("iPx", t.index);
  if (f == flavor::ws) j["ts"] = t.time;
  return j;
}

json render_mark_price(const mark_price& m, flavor f) {
  json j{{"s", m.symbol}, {"mPx", dec(m.mark)}};
  if (f == flavor::ws) j["ts"] = m.time;
  return j;
}

json render_funding_rate(const funding_rate& r, flavor f) {
  json j{{"s", r.symbol}, {"fR", dec(r.rate)}, {"fT", time_value(r.time, f)}};
  if (r.next_rate) j["nFR"] = dec(*r.next_rate);
  if (r.next_time) j["nFT"] = time_value(*r.next_time, f);
  if (f == flavor::ws) j["ts"] = r.time;
  return j;
}

json render_funding_history_row(const funding_rate& r) {
  return json{{"s", r.symbol}, {"fR", dec(r.rate)}, {"fT", std::to_string(r.time)}};
}

json render_balances(const std::vector<balance>& balances, epoch_ms time, flavor f) {
  decimal eq, im, mm, upl, avail;
  json details = json::array();
  for (const auto& b : balances) {
    eq += b.equity;
    im += b.initial_margin;
    mm += b.maintenance_margin;
    upl += b.unrealised_pnl;
    avail += b.available;
    json d{{"ccy", b.asset},
           {"eq", dec(b.equity)},
           {"isoEq", "0"},
           {"avail", dec(b.wallet)},
           {"upl", dec(b.unrealised_pnl)},
           {"isoAvail", "0"},
           {"isoHold", "0"},
           {"isoUpl", "0"},
           {"im", dec(b.initial_margin)},
           {"mm", dec(b.maintenance_margin)},
           {"mmr", dec(ratio(b.maintenance_margin, b.equity))},
           {"imr", dec(ratio(b.initial_margin, b.equity))},
           {"cTime", time_value(time, f)},
           {"uTime", time_value(time, f)}};
    if (f == flavor::rest) d["trdHold"] = "0";
    details.push_back(std::move(d));
  }
  json j{{"state", "NORMAL"},
         {"eq", dec(eq)},
         {"isoEq", "0"},
         {"im", dec(im)},
         {"mm", dec(mm)},
         {"mmr", dec(ratio(mm, eq))},
         {"upl", dec(upl)},
         {"availMgn", dec(avail)},
         {"cTime", time_value(time, f)},
         {"uTime", time_value(time, f)},
         {"details", std::move(details)}};
  if (f == flavor::ws) j["ts"] = time;
  return j;
}

json render_position(const position& p, flavor f) {
  const decimal q = core::abs(p.qty);
  json j{{"symbol", p.symbol},
         {"posSide", pos_side_name(p.pos_side)},
         {"side", p.qty.is_negative() ? "sell" : "buy"},
         {"mgnMode", mode_name(p.mode)},
         {"openAvgPx", dec(p.entry_price)},
         {"qty", dec(q)},
         {"availQty", dec(q)},
         {"lever", f == flavor::ws ? json(p.leverage) : json(std::to_string(p.leverage))},
         {"liqPx", p.liquidation_price ? dec(*p.liquidation_price) : json("")},
         {"mgn", dec(p.margin)},
         {"im", dec(p.margin)},
         {"upl", dec(p.unrealised_pnl)},
         {"markPx", dec(p.mark_price)},
         {"state", "NORMAL"},
         {"uTime", time_value(p.update_time, f)}};
  if (f == flavor::ws) j["ts"] = p.update_time;
  return j;
}

json render_order(const order& o, const row_extras& x, flavor f) {
  const char* type = o.type == order_type::market ? "MARKET" : (o.tif == time_in_force::post_only ? "LIMIT_MAKER" : "LIMIT");
  const char* tif = o.tif == time_in_force::ioc ? "IOC" : (o.tif == time_in_force::fok ? "FOK" : "GTC");
  json j{{"symbol", o.symbol},
         {"side", o.s == side::buy ? "BUY" : "SELL"},
         {"type", type},
         {"ordId", o.order_id},
         {"clOrdId", o.client_id},
         {"mgnMode", mode_name(x.mode)},
         {"px", dec(o.price)},
         {"sz", dec(o.qty)},
         {"state", state_name(o)},
         {"source", "API"},
         {"reduceOnly", o.reduce_only},
         {"timeInForce", tif},
         {"avgPx", dec(o.avg_price)},
         {"execQty", dec(o.filled_qty)},
         {"execAmt", dec(core::mul(core::mul(o.avg_price, o.filled_qty, core::rounding::half_even), x.contract_size,
                                   core::rounding::half_even))},
         {"feeCcy", o.fee_asset},
         {"feeAmt", dec(o.fee)},
         {"deductCcy", ""},
         {"deductAmt", "0"},
         {"cTime", time_value(o.create_time, f)},
         {"uTime", time_value(o.update_time, f)},
         {"posSide", pos_side_name(o.pos_side)},
         {"qCcy", x.quote}};
  if (f == flavor::rest) {
    j["lever"] = std::to_string(x.leverage);
    j["cancelReason"] = o.reject_or_cancel_reason;
    j["stpMode"] = "NONE";
    for (const char* k : {"tpTrgPx", "tpPx", "tpTrgPxType", "slTrgPx", "slPx", "slTrgPxType"}) j[k] = "";
  } else {
    j["actType"] = "TRADING";
    j["ts"] = o.update_time;
    if (!o.reject_or_cancel_reason.empty()) j["cancelReason"] = o.reject_or_cancel_reason;
  }
  return j;
}

json render_fill(const fill& fl, const row_extras& x, flavor f) {
  json j{{"symbol", fl.symbol},
         {"trdId", fl.trade_id},
         {"side", fl.s == side::buy ? "BUY" : "SELL"},
         {"ordId", fl.order_id},
         {"clOrdId", fl.client_id},
         {"role", fl.role == liquidity::maker ? "MAKER" : "TAKER"},
         {"feeCcy", fl.fee_asset},
         {"feeAmt", dec(fl.fee)},
         {"deductCcy", ""},
         {"deductAmt", "0"}};
  if (f == flavor::ws) {
    j["fpx"] = dec(fl.price);
    j["fqty"] = dec(fl.qty);
    j["uTime"] = fl.time;
    j["ts"] = fl.time;
    return j;
  }
  const decimal value =
      core::mul(core::mul(fl.price, fl.qty, core::rounding::half_even), x.contract_size, core::rounding::half_even);
  j["px"] = dec(fl.price);
  j["qty"] = dec(fl.qty);
  j["value"] = dec(value);
  j["feeRate"] = dec(ratio(fl.fee, value));
  j["type"] = "TRADE";
  j["mgnMode"] = mode_name(x.mode);
  j["ordType"] = x.type == order_type::market ? "MARKET" : "LIMIT";
  j["posSide"] = pos_side_name(x.pos_side);
  j["qCcy"] = x.quote;
  j["id"] = fl.trade_id;
  j["actType"] = "TRADING";
  j["cTime"] = std::to_string(fl.time);
  j["uTime"] = std::to_string(fl.time);
  return j;
}

json render_bill(const bill& b) {
  const bool has_symbol = !b.symbol.empty();
  return json{{"id", b.id},
              {"actType", "TRADING"},
              {"type", b.venue_type.empty() ? std::string(bill_type_name(b.type)) : b.venue_type},
              {"ccy", b.asset},
              {"cTime", std::to_string(b.time)},
              {"sz", dec(b.amount)},
              {"symbol", b.symbol},
              {"mgnMode", has_symbol ? "CROSS" : ""},
              {"posSide", has_symbol ? "BOTH" : ""}};
}

json render_order_ack(const order_ack& a) { return json{{"ordId", a.order_id}, {"clOrdId", a.client_id}}; }

json render_batch_item(const batch_item& b) {
  return json{{"code", b.code}, {"msg", b.msg}, {"ordId", b.order_id}, {"clOrdId", b.client_id}};
}

json render_position_mode(position_mode m) { return json{{"posMode", m == position_mode::hedge ? "HEDGE" : "ONE_WAY"}}; }

json render_ws_push(std::string channel, json data, std::string action) {
  json j{{"channel", std::move(channel)}, {"data", std::move(data)}};
  if (!action.empty()) j["action"] = std::move(action);
  return j;
}

json render_ws_pong() { return json{{"event", "pong"}}; }

json render_ws_subscribed(std::string channel, const std::vector<std::string>& symbols) {
  return json{{"event", "subscribe"}, {"channel", std::move(channel)}, {"symbols", symbols}};
}

json render_ws_error(std::string message) { return json{{"event", "error"}, {"message", std::move(message)}}; }

json render_ws_auth(bool success, std::string message, epoch_ms ts) {
  return json{{"channel", "auth"}, {"data", {{"success", success}, {"message", std::move(message)}, {"ts", ts}}}};
}

json render_ws_candle(const ws_candle& c) {
  if (!c.bar.close_time) throw std::invalid_argument("poloniex render: candle needs close_time");
  return json::array({c.symbol, dec(c.bar.low), dec(c.bar.high), dec(c.bar.open), dec(c.bar.close),
                      dec(c.bar.quote_volume.value_or(decimal::zero())), dec(c.bar.volume), c.bar.trades.value_or(0),
                      c.bar.open_time, *c.bar.close_time, c.ts});
}

json render_ws_book(const order_book& b, bool with_lid) {
  json j{{"asks", render_levels(b.asks)}, {"bids", render_levels(b.bids)}, {"id", b.update_id},
         {"ts", b.time},                  {"s", b.symbol},                 {"cT", b.time}};
  if (with_lid) j["lid"] = b.prev_update_id;
  return j;
}

}  // namespace pt::venue::poloniex
