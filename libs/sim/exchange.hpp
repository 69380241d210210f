#pragma once
// The simulated exchange: one price-time-priority book per symbol (libs/matching) plus the
// accounts around it — orders, fees, positions with leverage, cross and isolated margin, mark
// price, funding and liquidation. venue-sim serves it over the Poloniex and Binance protocols; the
// in-process simulator venue and the backtester call it directly. Nothing here does I/O or reads a
// clock: every call carries the simulated time, so the same inputs give the same result.
//
// Units: quantities are in each instrument's order unit (Poloniex contracts, Binance base);
// notional = qty x contract_size x price. Prices must sit on the tick grid and quantities on the
// lot grid: the protocol layers check and reject like the venues do, and this class checks again.
//
// Market liquidity comes from the replayer: set_market() moves the price, fills every resting
// account order the price passed through (at the order's own limit, as a maker), and replaces the
// synthetic book (owner 0) with the levels given.
#include "matching/order_book.hpp"
#include "venue/types.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pt::sim {

using core::decimal;
using venue::epoch_ms;
using account_id = matching::owner_id;

// Why the exchange refused; each protocol maps these to its venue's own codes and messages.
enum class reject_code : std::uint8_t {
  unknown_symbol,
  symbol_not_trading,  // maintenance, paused, closed
  cancel_only,         // the symbol only takes cancels (and reduce-only on close_only)
  bad_quantity,        // <= 0 or off the lot grid
  qty_below_min,
  qty_above_max,
  bad_price,  // <= 0 or off the tick grid
  price_out_of_range,
  insufficient_margin,
  reduce_only_rejected,   // would increase the position
  no_position_to_reduce,  // reduce-only with no position
  post_only_would_take,
  fok_cannot_fill,
  no_liquidity,
  duplicate_client_id,
  unknown_order,
  invalid_leverage,
  position_exists,  // margin-mode or position-mode change with an open position/order
  position_side_mismatch,
  unknown_account,
  would_trigger_immediately,  // a conditional whose trigger is already reached
};
[[nodiscard]] const char* to_string(reject_code c);

struct reject {
  reject_code code;
  std::string message;
};

template <class T>
struct result {
  std::optional<T> value;
  std::optional<reject> error;
  [[nodiscard]] bool ok() const { return value.has_value(); }
  static result success(T v) { return result{std::move(v), std::nullopt}; }
  static result fail(reject_code c, std::string m) { return result{std::nullopt, reject{c, std::move(m)}}; }
};

// Conditional (trigger) orders, as Binance's Algo Service holds them (exchanges.md B7). Poloniex v3
// has none, so only the Binance protocol exposes these; the exchange keeps them per account and
// checks them at every price (CONTRACT_PRICE) or mark (MARK_PRICE) move.
enum class trigger_type : std::uint8_t { stop_market, take_profit_market, stop_limit, take_profit_limit };
enum class conditional_status : std::uint8_t { open, triggered, finished, cancelled, rejected, expired };
[[nodiscard]] const char* to_string(trigger_type t);
[[nodiscard]] const char* to_string(conditional_status s);

struct conditional_request {
  std::string symbol;
  std::string client_id;
  venue::side s = venue::side::sell;
  trigger_type type = trigger_type::stop_market;
  decimal trigger_price;
  std::optional<decimal> price;  // the limit of stop_limit / take_profit_limit
  decimal qty;                   // ignored with close_position
  bool close_position = false;   // close whatever position there is when it triggers
  bool reduce_only = false;
  bool on_mark = false;  // MARK_PRICE, else CONTRACT_PRICE (last trade)
  venue::position_side pos_side = venue::position_side::both;
  venue::time_in_force tif = venue::time_in_force::gtc;
};

// Whether a conditional fires at `price`: a stop fires when the price moves against the side that
// closes (a sell stop at or below the trigger), a take-profit when it moves in favour.
[[nodiscard]] bool fires(const conditional_request& r, decimal price);

struct conditional_order {
  std::string id;
  conditional_request req;
  conditional_status status = conditional_status::open;
  std::string order_id;  // the order it placed when triggered
  std::string reason;    // why it was rejected / expired
  decimal executed_qty, avg_price;
  epoch_ms create_time = 0, update_time = 0, trigger_time = 0;
};

// Events for the private and public streams. Called synchronously inside the exchange call that
// caused them, in causal order (order update, then fill, then position, then balance).
struct listener {
  virtual ~listener() = default;
  virtual void on_order(account_id, const venue::order&) {}
  virtual void on_fill(account_id, const venue::fill&) {}
  virtual void on_position(account_id, const venue::position&) {}
  virtual void on_balance(account_id, const venue::balance&) {}
  virtual void on_bill(account_id, const venue::bill&) {}
  virtual void on_public_trade(const venue::public_trade&) {}
  virtual void on_liquidation(account_id, const std::string& /*symbol*/) {}
  virtual void on_conditional(account_id, const conditional_order&) {}
};

struct exchange_config {
  std::string settle_asset = "USDT";
  // How many closed orders and fills per account are kept for queries (oldest dropped first).
  std::size_t history_limit = 10000;
  // Liquidations close at mark; this extra fee goes to the (simulated) insurance fund.
  decimal liquidation_fee_rate = decimal::parse("0.005");
  int default_leverage = 5;
};

class exchange {
 public:
  exchange(std::vector<venue::instrument> instruments, exchange_config config = {});
  ~exchange();
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  void set_listener(listener* l) { listener_ = l; }

  // ---- accounts ----
  account_id add_account(decimal initial_wallet);
  [[nodiscard]] bool has_account(account_id id) const;

  // ---- instruments and market ----
  [[nodiscard]] const std::vector<venue::instrument>& instruments() const { return instruments_; }
  [[nodiscard]] const venue::instrument* find_instrument(const std::string& symbol) const;
  void set_status(const std::string& symbol, venue::instrument_status status);

  // Moves the market: crosses resting account orders with the new price, then replaces the
  // synthetic book. Levels must not cross `price` (bids < price < asks).
  void set_market(const std::string& symbol, decimal price, const std::vector<venue::book_level>& bids,
                  const std::vector<venue::book_level>& asks, epoch_ms now);
  // Mark price drives unrealised PnL and liquidation.
  void set_mark(const std::string& symbol, decimal mark, epoch_ms now);
  // Settles funding at `now` for every open position: longs pay rate x notional at mark when the
  // rate is positive, shorts receive it (and the reverse for a negative rate).
  void apply_funding(const std::string& symbol, decimal rate, epoch_ms now);

  [[nodiscard]] std::optional<decimal> last_price(const std::string& symbol) const;
  [[nodiscard]] std::optional<decimal> mark(const std::string& symbol) const;
  [[nodiscard]] venue::order_book book(const std::string& symbol, std::size_t depth, epoch_ms now) const;
  [[nodiscard]] std::vector<venue::public_trade> recent_trades(const std::string& symbol, std::size_t limit) const;

  // ---- trading ----
  result<venue::order> place(account_id, const venue::order_request& r, epoch_ms now);
  // By venue order id or client id (one of them non-empty).
  result<venue::order> cancel(account_id, const std::string& symbol, const std::string& order_id,
                              const std::string& client_id, epoch_ms now);
  std::vector<venue::order> cancel_all(account_id, const std::string& symbol, epoch_ms now);
  [[nodiscard]] std::optional<venue::order> query(account_id, const std::string& symbol, const std::string& order_id,
                                                  const std::string& client_id) const;
  [[nodiscard]] std::vector<venue::order> open_orders(account_id, const std::string& symbol) const;
  [[nodiscard]] std::vector<venue::order> order_history(account_id, const std::string& symbol) const;

  result<int> set_leverage(account_id, const std::string& symbol, int leverage, epoch_ms now);
  result<venue::margin_mode> set_margin_mode(account_id, const std::string& symbol, venue::margin_mode mode);
  result<venue::position_mode> set_position_mode(account_id, venue::position_mode mode);
  [[nodiscard]] int leverage(account_id, const std::string& symbol) const;
  [[nodiscard]] venue::margin_mode margin_mode_of(account_id, const std::string& symbol) const;
  [[nodiscard]] venue::position_mode position_mode_of(account_id) const;

  [[nodiscard]] venue::balance balance(account_id) const;
  [[nodiscard]] std::vector<venue::position> positions(account_id) const;  // open ones only
  [[nodiscard]] std::vector<venue::fill> fills(account_id, const std::string& symbol, epoch_ms since) const;
  [[nodiscard]] std::vector<venue::bill> bills(account_id, epoch_ms since) const;

  // ---- conditional orders ----
  // Refused like the venue: unknown symbol, off-grid trigger/qty, a trigger that would fire at
  // once (Binance -2021), a duplicate client id among open conditionals.
  result<conditional_order> place_conditional(account_id, const conditional_request& r, epoch_ms now);
  result<conditional_order> cancel_conditional(account_id, const std::string& symbol, const std::string& id,
                                               const std::string& client_id, epoch_ms now);
  std::vector<conditional_order> cancel_all_conditionals(account_id, const std::string& symbol, epoch_ms now);
  [[nodiscard]] std::optional<conditional_order> query_conditional(account_id, const std::string& id,
                                                                   const std::string& client_id) const;
  [[nodiscard]] std::vector<conditional_order> open_conditionals(account_id, const std::string& symbol) const;
  [[nodiscard]] std::vector<conditional_order> conditional_history(account_id, const std::string& symbol) const;

  // Net signed position of all accounts in a symbol (order units): the replayer walks each bar
  // adverse-first for it.
  [[nodiscard]] decimal net_position(const std::string& symbol) const;

 private:
  // Fires the conditionals of `symbol` that the last price (or the mark, when `mark_move`) reached.
  void trigger_conditionals(const std::string& symbol, bool mark_move, epoch_ms now);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::vector<venue::instrument> instruments_;
  listener* listener_ = nullptr;
};

}  // namespace pt::sim
