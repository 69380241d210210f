#pragma once
// Poloniex Futures v3 wire codec: the one place that knows the venue's JSON (exchanges.md A).
//
// parse_*: raw REST body or WS frame -> venue-neutral types (venue/types.hpp). REST bodies carry
//   the envelope {code,msg,data}; `code` may be 200 or "200"; any other code throws venue_error
//   whose kind comes from retry.hpp's classify() (a plain reject for most codes; 1002/24201/429
//   retry). Malformed, truncated or oversized input (> 16 MiB) throws parse_error naming the field.
//   Every numeric field is read from a JSON string or a JSON number (A10.5); enum spellings are
//   case-insensitive ("BUY"/"buy").
// render_*: the inverse, for venue-sim: the same keys and the same JSON types as the venue
//   (strings for prices and sizes; timestamps strings in REST rows and numbers in tickers, trades
//   and WS pushes, as recorded). Values the neutral types do not hold are derived (amt = px x qty
//   x ctVal) or passed in `extras`; see each function.
//
// Units: qty is in contracts everywhere (instrument::contract_size converts to base).
#include "venue/retry.hpp"
#include "venue/types.hpp"
#include "venue/venue.hpp"  // parse_error, venue_error

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::venue::poloniex {

using json = nlohmann::json;

// REST rows and WS pushes spell timestamps differently (strings vs numbers).
enum class flavor : std::uint8_t { rest, ws };

// ---- envelope ----------------------------------------------------------------------------------
// Checks {code,msg,data} and returns `data` (null when absent). `kind` only changes how a 500/503
// code is classed (ambiguous for order placement).
[[nodiscard]] json unwrap(std::string_view body, request_kind kind = request_kind::query);
[[nodiscard]] json render_envelope(json data, std::int64_t code = 200, std::string msg = "Success");
[[nodiscard]] json render_error(std::int64_t code, std::string msg);  // {"code":…,"data":"","msg":…}

// ---- market data (REST) ---------------------------------------------------------------------------
// /v3/market/allInstruments (array) or /v3/market/instruments (one object). Status: OPEN trading,
// PAUSED paused, CANCEL_ONLY cancel_only, CANCEL_CLOSE_ONLY close_only, CLOSED closed; an unknown
// status is read as paused (not tradable) rather than failing the whole list.
[[nodiscard]] std::vector<instrument> parse_instruments(std::string_view body);
// /v3/market/candles rows [l,h,o,c,amt,qty,tC,sT,cT] (low and high first!).
[[nodiscard]] std::vector<candle> parse_candles(std::string_view body);
// mark/index/premium price candles [l,h,o,c,sT,cT] (no volume).
[[nodiscard]] std::vector<candle> parse_price_candles(std::string_view body);
// /v3/market/orderBook {asks,bids,s (scale),ts}; the body names no symbol.
[[nodiscard]] order_book parse_order_book(std::string_view body, std::string_view symbol);
// /v3/market/trades [{id,side,px,qty,amt,cT}]; the body names no symbol.
[[nodiscard]] std::vector<public_trade> parse_trades(std::string_view body, std::string_view symbol);
// /v3/market/tickers (array or one object). time = cT.
[[nodiscard]] std::vector<ticker> parse_tickers(std::string_view body);
// /v3/market/markPrice {s,mPx} or an array of them (REST carries no time: 0).
[[nodiscard]] std::vector<mark_price> parse_mark_prices(std::string_view body);
// /v3/market/fundingRate {s,fR,fT,nFR,nFT}.
[[nodiscard]] funding_rate parse_funding_rate(std::string_view body);
// /v3/market/fundingRate/history [{s,fR,fT}].
[[nodiscard]] std::vector<funding_rate> parse_funding_history(std::string_view body);

// ---- account and trading (REST) ---------------------------------------------------------------
// /v3/account/balance: one balance per details[] row. Poloniex has no wallet figure:
// wallet = eq - upl.
[[nodiscard]] std::vector<balance> parse_balances(std::string_view body);
// /v3/trade/position/opens. qty is signed: negative when side is SELL or posSide is SHORT.
// liqPx "" or absent is nullopt.
[[nodiscard]] std::vector<position> parse_positions(std::string_view body);
// /v3/trade/order/opens, /history, /details (array or one object). States NEW open,
// PARTIALLY_FILLED, FILLED, PARTIALLY_CANCELED and CANCELED cancelled; type LIMIT_MAKER is a limit
// with time_in_force::post_only. Unknown states or types throw parse_error.
[[nodiscard]] std::vector<order> parse_orders(std::string_view body);
// /v3/trade/order/trades. trade_id = trdId (the key the WS trade channel shares), time = cTime.
[[nodiscard]] std::vector<fill> parse_fills(std::string_view body);
// /v3/account/bills. FUNDING_FEE funding, PNL/ADL_PNL realised_pnl, LIQ_PNL liquidation, FEE fee,
// TRANSFER transfer, anything else other (venue_type keeps the venue's name).
[[nodiscard]] std::vector<bill> parse_bills(std::string_view body);

struct order_ack {
  std::string order_id;   // ordId
  std::string client_id;  // clOrdId
};
// POST/DELETE /v3/trade/order, POST /v3/trade/position: {ordId, clOrdId}.
[[nodiscard]] order_ack parse_order_ack(std::string_view body, request_kind kind = request_kind::place_order);

// Batch endpoints answer 200 at the top and a code per item (A4).
struct batch_item {
  std::int64_t code = 200;
  std::string msg;
  std::string order_id;
  std::string client_id;
  [[nodiscard]] bool ok() const { return code == 200; }
};
// POST /v3/trade/orders, DELETE /v3/trade/batchOrders, /allOrders, POST /v3/trade/positionAll.
[[nodiscard]] std::vector<batch_item> parse_batch(std::string_view body, request_kind kind = request_kind::place_order);

// /v3/position/mode {posMode: ONE_WAY|HEDGE}.
[[nodiscard]] position_mode parse_position_mode(std::string_view body);
// GET /v3/position/leverages [{symbol, mgnMode, posSide, lever}]: one row per margin mode and side
// (one-way: posSide BOTH). `lever` may come as a string or a number.
[[nodiscard]] std::vector<symbol_settings> parse_leverages(std::string_view body);

// ---- WebSocket -----------------------------------------------------------------------------------
enum class ws_kind : std::uint8_t {
  pong,          // {"event":"pong"}
  subscribed,    // {"event":"subscribe","channel":…,"symbols":[…]}
  unsubscribed,  // {"event":"unsubscribe",…}
  error,         // {"event":"error","message":…}
  auth,          // {"channel":"auth","data":{"success":…,"message":…,"ts":…}}
  data,          // {"channel":…,"data":[…],"action"?:…}
  other,         // any other event (list_subscriptions, …)
};

struct ws_message {
  ws_kind kind = ws_kind::other;
  std::string event;    // the "event" member, if any
  std::string channel;  // subscribe ack / data / auth
  std::vector<std::string> symbols;  // subscribe ack
  std::string message;  // error text, auth message
  bool auth_ok = false;
  std::string action;  // data: "snapshot", "update" or ""
  json data;           // data: the raw `data` array
};

// Any frame; plain "pong" text is accepted as a pong.
[[nodiscard]] ws_message parse_ws(std::string_view frame);

// Decoders for ws_kind::data, one per channel family. They read msg.data whatever the channel name
// says; the caller dispatches on msg.channel.
struct ws_candle {
  std::string symbol;
  candle bar;  // closed = false: the push does not say whether the bar is final
  epoch_ms ts = 0;
};
[[nodiscard]] std::vector<ws_candle> ws_candles(const ws_message& msg);  // candles_* [s,l,h,o,c,amt,qty,tC,sT,cT,ts]
// book / book_lv2: update_id = id, prev_update_id = lid, time = ts, snapshot unless action is
// "update" (qty 0 then deletes a level).
[[nodiscard]] std::vector<order_book> ws_books(const ws_message& msg);
[[nodiscard]] std::vector<public_trade> ws_trades(const ws_message& msg);  // trades: time = cT
[[nodiscard]] std::vector<ticker> ws_tickers(const ws_message& msg);
[[nodiscard]] std::vector<mark_price> ws_mark_prices(const ws_message& msg);  // mark_price {ts,s,mPx}
[[nodiscard]] std::vector<funding_rate> ws_funding(const ws_message& msg);    // funding_rate
[[nodiscard]] std::vector<instrument> ws_instruments(const ws_message& msg);  // symbol
[[nodiscard]] std::vector<order> ws_orders(const ws_message& msg);            // orders
// trade (private fills): fpx/fqty, time = uTime.
[[nodiscard]] std::vector<fill> ws_fills(const ws_message& msg);
[[nodiscard]] std::vector<position> ws_positions(const ws_message& msg);  // positions
[[nodiscard]] std::vector<balance> ws_account(const ws_message& msg);     // account (details[])

// ---- renderers ------------------------------------------------------------------------------------
// What the Poloniex rows carry that the neutral types do not hold.
struct row_extras {
  decimal contract_size = decimal::one();  // amt/value/execAmt = px x qty x ctVal
  int leverage = 1;                        // lever
  margin_mode mode = margin_mode::cross;   // mgnMode (orders, fills)
  position_side pos_side = position_side::both;  // posSide (fills)
  order_type type = order_type::limit;     // ordType (fills)
  std::string quote = "USDT";              // qCcy
};

[[nodiscard]] json render_instrument(const instrument& i, flavor f = flavor::rest);
[[nodiscard]] json render_candle(const candle& c);                   // REST row
[[nodiscard]] json render_price_candle(const candle& c);             // [l,h,o,c,sT,cT]
[[nodiscard]] json render_order_book(const order_book& b, decimal scale);  // REST data
[[nodiscard]] json render_trade(const public_trade& t, decimal contract_size, flavor f = flavor::rest);
// sT = cT - 24 h, tC 0 and dC = (c - o) / o: the neutral ticker holds neither count nor window.
[[nodiscard]] json render_ticker(const ticker& t, flavor f = flavor::rest);
[[nodiscard]] json render_mark_price(const mark_price& m, flavor f = flavor::rest);
[[nodiscard]] json render_funding_rate(const funding_rate& r, flavor f = flavor::rest);
[[nodiscard]] json render_funding_history_row(const funding_rate& r);
// The account object: totals over `balances` plus details[]; cTime = uTime = `time`.
[[nodiscard]] json render_balances(const std::vector<balance>& balances, epoch_ms time, flavor f = flavor::rest);
[[nodiscard]] json render_position(const position& p, flavor f = flavor::rest);
// state: expired and rejected are written CANCELED (PARTIALLY_CANCELED when something filled),
// as Poloniex has no such states; pending_new is written NEW.
[[nodiscard]] json render_order(const order& o, const row_extras& x = {}, flavor f = flavor::rest);
[[nodiscard]] json render_fill(const fill& fl, const row_extras& x = {}, flavor f = flavor::rest);
[[nodiscard]] json render_bill(const bill& b);
[[nodiscard]] json render_order_ack(const order_ack& a);
[[nodiscard]] json render_batch_item(const batch_item& b);
[[nodiscard]] json render_position_mode(position_mode m);

// WS frames.
[[nodiscard]] json render_ws_push(std::string channel, json data, std::string action = {});
[[nodiscard]] json render_ws_pong();
[[nodiscard]] json render_ws_subscribed(std::string channel, const std::vector<std::string>& symbols);
[[nodiscard]] json render_ws_error(std::string message);
[[nodiscard]] json render_ws_auth(bool success, std::string message, epoch_ms ts);
[[nodiscard]] json render_ws_candle(const ws_candle& c);
// book or book_lv2 item (lid only when `with_lid`); cT = ts = b.time; s = b.symbol.
[[nodiscard]] json render_ws_book(const order_book& b, bool with_lid);

}  // namespace pt::venue::poloniex
