#pragma once
// Venue-neutral market and trading data. Every connector (Poloniex v3, Binance USD-M, the in-process
// simulator) parses its venue's payloads into these, and venue-sim renders them back into each
// venue's wire format. Money is core::decimal; times are epoch milliseconds as the venues use them.
//
// Quantities: `qty` is always in the venue's order unit as it appears on the wire (Poloniex:
// contracts, Binance: base asset). instrument::contract_size converts (base = qty x contract_size;
// 1 on Binance), so the caller never guesses.
#include "core/decimal.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::venue {

using core::decimal;
using epoch_ms = std::int64_t;

enum class side : std::uint8_t { buy, sell };
enum class order_type : std::uint8_t { market, limit };
// post_only: Poloniex LIMIT_MAKER / Binance GTX.
enum class time_in_force : std::uint8_t { gtc, ioc, fok, post_only };
enum class margin_mode : std::uint8_t { cross, isolated };
enum class position_mode : std::uint8_t { one_way, hedge };
// one_way accounts use `both`.
enum class position_side : std::uint8_t { both, long_side, short_side };
enum class order_state : std::uint8_t {
  pending_new,  // ours only: sent, outcome unknown (never a venue state)
  open,         // NEW on the venue
  partially_filled,
  filled,
  cancelled,  // Poloniex CANCELED / PARTIALLY_CANCELED, Binance CANCELED
  expired,    // IOC/FOK remainder, Binance EXPIRED / EXPIRED_IN_MATCH
  rejected,
};
enum class instrument_status : std::uint8_t { trading, paused, cancel_only, close_only, closed };
enum class liquidity : std::uint8_t { maker, taker };

[[nodiscard]] const char* to_string(side);
[[nodiscard]] const char* to_string(order_state);
[[nodiscard]] bool is_final(order_state);

struct instrument {
  std::string symbol;  // venue spelling
  std::string base, quote, settle;
  decimal contract_size = decimal::one();  // base per order unit
  decimal tick;                            // price step
  decimal lot;                             // qty step (order unit)
  decimal min_qty;                         // order unit
  std::optional<decimal> max_market_qty, max_limit_qty;
  std::optional<decimal> min_notional;  // quote
  std::optional<decimal> min_price, max_price;
  int max_leverage = 1;
  std::optional<decimal> initial_margin_rate, maintenance_margin_rate;  // first tier
  std::optional<decimal> maker_fee, taker_fee;
  instrument_status status = instrument_status::trading;
};

struct candle {
  epoch_ms open_time = 0;
  decimal open, high, low, close;
  decimal volume;  // base for Binance; contracts for Poloniex (`qty`)
  std::optional<decimal> quote_volume;
  std::optional<std::int64_t> trades;
  std::optional<epoch_ms> close_time;
  bool closed = true;  // a stream's running bar is false
  std::int64_t received_ns = 0;  // steady clock when a stream frame carrying it arrived (0: REST)
};

struct book_level {
  decimal price, qty;
};
struct order_book {
  std::string symbol;
  std::vector<book_level> bids, asks;  // best first
  epoch_ms time = 0;
  std::int64_t update_id = 0;       // Binance lastUpdateId / `u`; Poloniex `id`
  std::int64_t prev_update_id = 0;  // Binance `pu`; Poloniex book_lv2 `lid`
  std::int64_t first_update_id = 0;  // Binance `U`
  bool snapshot = true;              // false: an incremental update (qty 0 deletes a level)
};

struct public_trade {
  std::string symbol;
  std::string id;
  side taker_side = side::buy;
  decimal price, qty;
  epoch_ms time = 0;
};

struct ticker {
  std::string symbol;
  decimal last;
  std::optional<decimal> open, high, low, volume, quote_volume;
  std::optional<decimal> bid, bid_qty, ask, ask_qty, mark, index;
  epoch_ms time = 0;
};

struct mark_price {
  std::string symbol;
  decimal mark;
  std::optional<decimal> index;
  std::optional<decimal> funding_rate;
  std::optional<epoch_ms> next_funding_time;
  epoch_ms time = 0;
};

struct funding_rate {
  std::string symbol;
  decimal rate;
  epoch_ms time = 0;  // the funding time this rate applies (or applied) to
  std::optional<decimal> next_rate;
  std::optional<epoch_ms> next_time;
  std::optional<decimal> mark;
};

struct balance {
  std::string asset;
  decimal wallet;     // cash: deposits + realised PnL - fees +- funding
  decimal equity;     // wallet + unrealised PnL
  decimal available;  // what new orders may use
  decimal unrealised_pnl;
  decimal initial_margin, maintenance_margin;
};

struct position {
  std::string symbol;
  position_side pos_side = position_side::both;
  margin_mode mode = margin_mode::cross;
  decimal qty;  // signed, order unit: > 0 long, < 0 short
  decimal entry_price;
  decimal mark_price;
  decimal unrealised_pnl;
  std::optional<decimal> liquidation_price;
  int leverage = 1;
  decimal margin;  // isolated margin or the position's initial margin in cross
  epoch_ms update_time = 0;
};

// One symbol's account settings as the venue holds them (read back to verify what was set).
struct symbol_settings {
  std::string symbol;
  int leverage = 1;
  margin_mode mode = margin_mode::cross;
};

// What an API key may do, as the venue reports it (Binance GET /sapi/v1/account/apiRestrictions).
struct key_permissions {
  bool reading = false;
  bool futures_trading = false;
  bool withdrawals = false;
  bool ip_restricted = false;
};

// What a strategy asks for; rounded to tick/lot by round_to_instrument before it leaves.
struct order_request {
  std::string symbol;
  std::string client_id;  // deterministic (client_order_id.hpp)
  side s = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  decimal qty;                   // order unit
  std::optional<decimal> price;  // limit only
  bool reduce_only = false;
  margin_mode mode = margin_mode::cross;
  position_side pos_side = position_side::both;
};

struct order {
  std::string symbol;
  std::string order_id;  // the venue's
  std::string client_id;
  side s = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  order_state state = order_state::open;
  decimal price;  // 0 for market
  decimal qty;
  decimal filled_qty;
  decimal avg_price;
  decimal fee;  // accumulated, in fee_asset
  std::string fee_asset;
  bool reduce_only = false;
  position_side pos_side = position_side::both;
  std::string reject_or_cancel_reason;
  epoch_ms create_time = 0, update_time = 0;
};

struct fill {
  std::string symbol;
  std::string trade_id;
  std::string order_id;
  std::string client_id;
  side s = side::buy;
  decimal price, qty;  // qty in order unit
  decimal fee;         // positive = paid
  std::string fee_asset;
  liquidity role = liquidity::taker;
  std::optional<decimal> realised_pnl;
  epoch_ms time = 0;
};

// Account ledger rows: Poloniex /v3/account/bills, Binance /fapi/v1/income.
enum class bill_type : std::uint8_t { funding, realised_pnl, fee, transfer, liquidation, other };
struct bill {
  std::string id;
  std::string symbol;  // may be empty (transfers)
  bill_type type = bill_type::other;
  std::string venue_type;  // the venue's own name, e.g. FUNDING_FEE
  decimal amount;          // signed, + credits the account
  std::string asset;
  epoch_ms time = 0;
};

// Maintenance, cancel-only, delisting: connectors raise these from status fields and error codes.
enum class venue_status_kind : std::uint8_t { normal, maintenance, cancel_only, close_only, delisting };
struct venue_status {
  venue_status_kind kind = venue_status_kind::normal;
  std::string symbol;  // empty: the whole venue
  std::string detail;
  epoch_ms time = 0;
};

// What a venue really offers; callers check before relying on a feature.
struct capabilities {
  bool market_orders = true;
  bool limit_orders = true;
  bool post_only = true;
  bool ioc = true;
  bool fok = true;
  bool reduce_only = true;
  bool native_stop_orders = false;  // venue-held stop/trigger orders
  bool native_take_profit = false;
  bool trailing_stop = false;
  bool hedge_mode = true;
  bool isolated_margin = true;
  bool cancel_all_countdown = false;  // dead-man switch
  bool batch_orders = true;
  bool private_stream_fills = true;
  bool order_query_by_client_id = true;
  bool qty_in_contracts = false;  // Poloniex sz
};

}  // namespace pt::venue
