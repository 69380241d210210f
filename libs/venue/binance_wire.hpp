#pragma once
// Binance USD-M futures wire codec: the one place that knows the venue's JSON (exchanges.md B).
//
// parse_*: raw REST body or WS frame -> venue-neutral types (venue/types.hpp). Malformed,
//   truncated or oversized input (> 16 MiB) throws parse_error naming the field; every decimal or
//   integer field is read from a JSON string or a JSON number; no value passes through a double.
//   A REST error body {code,msg} seen by a parser throws venue_error (kind from retry.hpp).
// render_*: the inverse, for venue-sim: the venue's keys and JSON types (decimals as strings,
//   times and ids as integers, flags as booleans). Values the neutral types do not hold are
//   derived or written as the venue's neutral value ("0"); see each function.
//
// Units: qty is base asset (instrument::contract_size is 1).
#include "venue/retry.hpp"
#include "venue/types.hpp"
#include "venue/venue.hpp"  // parse_error, venue_error

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::venue::binance {

using json = nlohmann::json;

// ---- errors ----------------------------------------------------------------------------------------
struct api_error {
  std::int64_t code = 0;
  std::string msg;
};
// {"code":-1121,"msg":"Invalid symbol."}; nullopt when the body is anything else.
[[nodiscard]] std::optional<api_error> parse_api_error(std::string_view body);
// Throws venue_error (kind and code from retry.hpp's classify) when the response is not a success:
// HTTP status outside 2xx, or an error body. -4046/-4059 ("no need to change") pass.
void check_response(std::string_view body, int http_status, request_kind kind = request_kind::query);
[[nodiscard]] json render_api_error(std::int64_t code, std::string msg);

// ---- market data (REST) -------------------------------------------------------------------------------
struct rate_limit_info {
  std::string type;      // rateLimitType: REQUEST_WEIGHT, ORDERS
  std::string interval;  // SECOND, MINUTE, DAY
  std::int64_t interval_num = 1;
  std::int64_t limit = 0;
};
struct exchange_info {
  std::vector<instrument> instruments;  // PERPETUAL contracts only (quarterlies are skipped)
  std::vector<rate_limit_info> rate_limits;
  epoch_ms server_time = 0;
};
// /fapi/v1/exchangeInfo. Filters: PRICE_FILTER tick/min/max price, LOT_SIZE lot/min qty/max limit
// qty, MARKET_LOT_SIZE max market qty, MIN_NOTIONAL notional. Status TRADING trading,
// PENDING_TRADING paused, SETTLING/CLOSE/DELIVERING/DELIVERED/PRE_DELIVERING closed, anything else
// paused. max_leverage stays 1: leverage comes from /fapi/v1/leverageBracket.
[[nodiscard]] exchange_info parse_exchange_info(std::string_view body);
// /fapi/v1/time {"serverTime":…}.
[[nodiscard]] epoch_ms parse_server_time(std::string_view body);
// GET /fapi/v1/symbolConfig (USER_DATA): [{symbol, marginType CROSSED|ISOLATED, isAutoAddMargin,
// leverage, maxNotionalValue}]. positionRisk v3 no longer carries leverage or margin type.
[[nodiscard]] std::vector<symbol_settings> parse_symbol_config(std::string_view body);
// GET /fapi/v1/positionSide/dual {dualSidePosition: true = hedge}.
[[nodiscard]] position_mode parse_position_side_dual(std::string_view body);
// GET /sapi/v1/account/apiRestrictions (the spot host api.binance.com): enableReading,
// enableFutures, enableWithdrawals, ipRestrict (BDOC "Get API Key Permission"). A missing flag is a
// parse error: a permission nobody stated must not read as "off".
[[nodiscard]] key_permissions parse_api_restrictions(std::string_view body);
// /fapi/v1/klines rows [openTime,o,h,l,c,v,closeTime,quoteVolume,trades,takerBase,takerQuote,"0"].
[[nodiscard]] std::vector<candle> parse_klines(std::string_view body);
// /fapi/v1/depth {lastUpdateId,E,T,bids,asks}; time = T (E when T is absent).
[[nodiscard]] order_book parse_depth(std::string_view body, std::string_view symbol);
// /fapi/v1/aggTrades [{a,p,q,f,l,T,m}]: id = a; m (buyer is maker) means the taker sold.
[[nodiscard]] std::vector<public_trade> parse_agg_trades(std::string_view body, std::string_view symbol);
// /fapi/v1/trades [{id,price,qty,quoteQty,time,isBuyerMaker}].
[[nodiscard]] std::vector<public_trade> parse_trades(std::string_view body, std::string_view symbol);
// /fapi/v1/ticker/24hr (object or array); time = closeTime. No bid/ask on this endpoint.
[[nodiscard]] std::vector<ticker> parse_tickers(std::string_view body);
// /fapi/v1/premiumIndex (object or array): mark, index, lastFundingRate, nextFundingTime, time.
[[nodiscard]] std::vector<mark_price> parse_premium_index(std::string_view body);
// /fapi/v1/fundingRate [{symbol,fundingRate,fundingTime,markPrice}].
[[nodiscard]] std::vector<funding_rate> parse_funding_history(std::string_view body);

// ---- account and trading (REST) --------------------------------------------------------------
// /fapi/v2/account or /fapi/v3/account: assets[] -> balance (wallet walletBalance, equity
// marginBalance, available availableBalance, unrealised unrealizedProfit, initialMargin,
// maintMargin).
[[nodiscard]] std::vector<balance> parse_account_balances(std::string_view body);
// /fapi/v2/positionRisk or /fapi/v3/positionRisk. liquidationPrice "0" is nullopt. Margin mode
// from marginType (v2) or, in v3, isolated when isolatedWallet is not 0; leverage from v2's
// `leverage` (v3 has none: 1).
[[nodiscard]] std::vector<position> parse_position_risk(std::string_view body);
// Order rows (object or array): POST/DELETE/GET /fapi/v1/order, openOrders, allOrders. Status NEW
// (and NEW_INSURANCE/NEW_ADL) open, PARTIALLY_FILLED, FILLED, CANCELED cancelled, EXPIRED and
// EXPIRED_IN_MATCH expired. timeInForce GTX is post_only. Conditional types (STOP, TAKE_PROFIT)
// read as limit, the *_MARKET ones as market. Unknown status/type/tif throws parse_error.
[[nodiscard]] std::vector<order> parse_orders(std::string_view body);
// /fapi/v1/userTrades: trade_id = id, fee = commission, realised_pnl = realizedPnl.
[[nodiscard]] std::vector<fill> parse_user_trades(std::string_view body);
// /fapi/v1/income: id = tranId; FUNDING_FEE funding, REALIZED_PNL realised_pnl, COMMISSION fee,
// TRANSFER/INTERNAL_TRANSFER/CROSS_COLLATERAL_TRANSFER transfer, INSURANCE_CLEAR liquidation.
[[nodiscard]] std::vector<bill> parse_income(std::string_view body);
// /fapi/v1/leverageBracket: a list of symbols, or one object when `symbol` was sent. Each bracket
// caps the initial leverage for notional in [notionalFloor, notionalCap).
struct leverage_bracket {
  int bracket = 0;
  int initial_leverage = 0;
  decimal notional_floor, notional_cap;
  decimal maint_margin_ratio;
  decimal cum;
};
struct symbol_brackets {
  std::string symbol;
  std::vector<leverage_bracket> brackets;  // as sent (bracket 1 first)
  [[nodiscard]] int max_leverage() const;  // the highest initialLeverage of any bracket; 0 if none
};
[[nodiscard]] std::vector<symbol_brackets> parse_leverage_brackets(std::string_view body);
[[nodiscard]] json render_leverage_brackets(const symbol_brackets& s);  // one object
// POST/PUT /fapi/v1/listenKey {"listenKey":…}.
[[nodiscard]] std::string parse_listen_key(std::string_view body);

// ---- market streams -------------------------------------------------------------------------------
enum class market_event_kind : std::uint8_t {
  kline,       // <symbol>@kline_<interval>
  mark_price,  // <symbol>@markPrice[@1s] or !markPrice@arr (then several)
  depth,       // <symbol>@depth…: depthUpdate with U/u/pu
  agg_trade,   // <symbol>@aggTrade
  trade,       // <symbol>@trade
  reply,       // {"result":…,"id":…} or {"error":{…},"id":…} to a subscribe request
  other,       // an event type we do not decode (event_type says which)
};
struct market_event {
  market_event_kind kind = market_event_kind::other;
  std::string stream;      // combined streams: the "stream" member
  std::string event_type;  // "e"
  epoch_ms event_time = 0;  // "E"
  std::string symbol;
  std::string interval;  // kline
  candle bar;            // kline: closed = x
  std::vector<mark_price> marks;
  order_book book;  // depth: snapshot = false, update_id u, prev_update_id pu, first_update_id U
  public_trade trade;
  std::optional<std::int64_t> request_id;  // reply
  std::string error;                        // reply with an error
};
// Accepts the raw event and the combined-stream wrapper {"stream":…,"data":…}.
[[nodiscard]] market_event parse_market_event(std::string_view frame);

// ---- user data stream -------------------------------------------------------------------------------
enum class user_event_kind : std::uint8_t { order_update, account_update, listen_key_expired, algo_update, other };

// ACCOUNT_UPDATE B[]: only wallet figures, which no neutral type holds alone.
struct wallet_update {
  std::string asset;
  decimal wallet;        // wb
  decimal cross_wallet;  // cw
  decimal change;        // bc: balance change except PnL and commission
};

// ALGO_UPDATE, kept minimal: enough to see a conditional order's life.
struct algo_update {
  std::string client_algo_id;  // caid
  std::string algo_id;         // aid
  std::string symbol;
  std::string status;      // X: NEW, CANCELED, TRIGGERING, TRIGGERED, FINISHED, REJECTED, EXPIRED
  std::string order_type;  // o: STOP_MARKET, TAKE_PROFIT, …
  side s = side::buy;
  position_side pos_side = position_side::both;
  decimal qty;
  decimal trigger_price;           // tp
  std::optional<decimal> price;    // p ("0" for market types)
  bool reduce_only = false;
  std::string reason;  // rm
};

struct user_event {
  user_event_kind kind = user_event_kind::other;
  std::string stream;      // combined streams
  std::string event_type;  // "e"
  epoch_ms event_time = 0;        // "E"
  epoch_ms transaction_time = 0;  // "T"
  // ORDER_TRADE_UPDATE: the order as it now stands (fee 0: `n` is this trade's commission, which
  // goes to the fill), and a fill when execution_type is TRADE.
  order ord;
  std::optional<fill> trade;
  std::string execution_type;  // x: NEW, CANCELED, CALCULATED, EXPIRED, TRADE, AMENDMENT
  // ACCOUNT_UPDATE
  std::string reason;  // m
  std::vector<wallet_update> wallets;
  std::vector<position> positions;  // mark 0 and leverage 1: the event carries neither
  // listenKeyExpired
  std::string listen_key;
  // ALGO_UPDATE
  algo_update algo;
};
[[nodiscard]] user_event parse_user_event(std::string_view frame);

// ---- renderers ---------------------------------------------------------------------------------------
enum class api_version : std::uint8_t { v2, v3 };

// What Binance rows carry that the neutral types do not hold.
struct row_extras {
  std::string margin_asset = "USDT";
  position_side pos_side = position_side::both;  // user trades
};

[[nodiscard]] json render_rate_limits(const std::vector<rate_limit_info>& limits);  // the rateLimits array
[[nodiscard]] json render_exchange_info(const exchange_info& info);
[[nodiscard]] json render_server_time(epoch_ms t);
[[nodiscard]] json render_symbol_config(const symbol_settings& s);  // one row
[[nodiscard]] json render_api_restrictions(const key_permissions& k, epoch_ms create_time);
[[nodiscard]] json render_kline(const candle& c);  // taker-buy volumes are written "0"
[[nodiscard]] json render_depth(const order_book& b, epoch_ms event_time);
[[nodiscard]] json render_agg_trade(const public_trade& t);  // f = l = a
[[nodiscard]] json render_trade(const public_trade& t);
// priceChange = last - open, priceChangePercent over open (3 places), weightedAvgPrice =
// quoteVolume / volume, openTime = closeTime - 24 h; firstId, lastId, count 0.
[[nodiscard]] json render_ticker(const ticker& t);
[[nodiscard]] json render_premium_index(const mark_price& m);  // interestRate "0.0001"
[[nodiscard]] json render_funding_row(const funding_rate& r);
// v3 account: totals over `balances`, assets[], positions[] (the account endpoint's short rows).
[[nodiscard]] json render_account(const std::vector<balance>& balances, const std::vector<position>& positions,
                                  epoch_ms time, const row_extras& x = {});
[[nodiscard]] json render_position_risk(const position& p, api_version v = api_version::v3, const row_extras& x = {});
[[nodiscard]] json render_order(const order& o);
[[nodiscard]] json render_user_trade(const fill& f, const row_extras& x = {});
[[nodiscard]] json render_income(const bill& b);
[[nodiscard]] json render_listen_key(const std::string& key);

// Streams.
[[nodiscard]] json render_combined(const std::string& stream, json data);  // {"stream":…,"data":…}
[[nodiscard]] json render_ws_reply(std::int64_t id);                         // {"result":null,"id":…}
[[nodiscard]] json render_kline_event(const std::string& symbol, const std::string& interval, const candle& c,
                                      epoch_ms event_time);
[[nodiscard]] json render_mark_price_update(const mark_price& m);  // P (estimated settle) = index
[[nodiscard]] json render_depth_update(const order_book& b, epoch_ms event_time);
[[nodiscard]] json render_agg_trade_event(const public_trade& t, epoch_ms event_time);
[[nodiscard]] json render_trade_event(const public_trade& t, epoch_ms event_time);  // <symbol>@trade
// x = "TRADE" with the fill's l/L/n/N/t/m/rp, else `execution_type` with zeros.
[[nodiscard]] json render_order_trade_update(const order& o, const std::optional<fill>& trade,
                                             const std::string& execution_type, epoch_ms event_time);
[[nodiscard]] json render_account_update(const std::string& reason, const std::vector<wallet_update>& wallets,
                                         const std::vector<position>& positions, epoch_ms event_time,
                                         const row_extras& x = {});
[[nodiscard]] json render_listen_key_expired(const std::string& key, epoch_ms event_time);
[[nodiscard]] json render_algo_update(const algo_update& a, epoch_ms event_time);

}  // namespace pt::venue::binance
