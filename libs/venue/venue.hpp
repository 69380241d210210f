#pragma once
// The one interface every venue implementation offers: Poloniex Futures v3, Binance USD-M and the
// in-process simulator. Calls are blocking (a connector runs on its own thread or actor); streams
// deliver on the connector's I/O thread through the callbacks given to subscribe_*.
//
// Errors: every call either returns or throws venue_error, whose `kind` says what the caller may do
// (retry.hpp's classes). A place_order that ends `ambiguous` must not be re-sent: the caller keeps
// the order in flight until the private stream, query_order(client_id) or reconciliation settles it.
#include "venue/retry.hpp"
#include "venue/types.hpp"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt::venue {

class venue_error : public std::runtime_error {
 public:
  venue_error(outcome_class kind, std::string message, std::optional<std::int64_t> code = {},
              int http_status = 0)
      : std::runtime_error(std::move(message)), kind_(kind), code_(code), http_status_(http_status) {}
  [[nodiscard]] outcome_class kind() const { return kind_; }
  [[nodiscard]] std::optional<std::int64_t> code() const { return code_; }
  [[nodiscard]] int http_status() const { return http_status_; }

 private:
  outcome_class kind_;
  std::optional<std::int64_t> code_;
  int http_status_;
};

// A payload that does not parse: the venue (or venue-sim under fault injection) sent something we
// cannot trust. Never retried blindly for orders; queries may retry.
class parse_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct kline_query {
  std::string symbol;
  std::string interval;  // our timeframe name, "1m".."1d" (symbols.hpp)
  std::optional<epoch_ms> start, end;
  int limit = 500;
};

// Stream callbacks. Unset ones are not subscribed.
struct public_handlers {
  std::function<void(const candle&, const std::string& symbol)> on_candle;
  std::function<void(const order_book&)> on_book;
  std::function<void(const public_trade&)> on_trade;
  std::function<void(const ticker&)> on_ticker;
  std::function<void(const mark_price&)> on_mark_price;
  std::function<void(const funding_rate&)> on_funding;
};
struct private_handlers {
  std::function<void(const order&)> on_order;
  std::function<void(const fill&)> on_fill;
  std::function<void(const position&)> on_position;
  std::function<void(const balance&)> on_balance;
};
// Connection-level events shared by every stream.
struct stream_events {
  std::function<void(const std::string& stream, bool connected)> on_connection;
  // A book sequence gap was found and the book was resynced over REST.
  std::function<void(const std::string& symbol)> on_book_resync;
  std::function<void(const venue_status&)> on_status;
  std::function<void(const std::string& what)> on_error;  // malformed frame etc.; the stream goes on
};

struct public_subscription {
  std::vector<std::string> symbols;
  std::vector<std::string> candle_intervals;  // "1m"...
  bool book = false;
  bool trades = false;
  bool ticker = false;
  bool mark_price = false;
  bool funding = false;
};

class venue {
 public:
  virtual ~venue() = default;

  [[nodiscard]] virtual std::string name() const = 0;  // catalog venue name
  [[nodiscard]] virtual const capabilities& caps() const = 0;

  // ---- market data ----
  virtual std::vector<instrument> instruments() = 0;
  virtual std::vector<candle> klines(const kline_query& q) = 0;
  virtual order_book book(const std::string& symbol, int depth) = 0;
  virtual std::vector<public_trade> trades(const std::string& symbol, int limit) = 0;
  virtual ticker get_ticker(const std::string& symbol) = 0;
  virtual mark_price get_mark_price(const std::string& symbol) = 0;
  virtual funding_rate get_funding_rate(const std::string& symbol) = 0;
  virtual std::vector<funding_rate> funding_history(const std::string& symbol, std::optional<epoch_ms> start,
                                                    std::optional<epoch_ms> end, int limit) = 0;
  virtual epoch_ms server_time() = 0;

  // ---- trading ----
  virtual std::vector<balance> balances() = 0;
  virtual std::vector<position> positions() = 0;
  virtual std::vector<order> open_orders(const std::string& symbol) = 0;
  // The venue's acknowledgement (state open/filled/... as far as the ack tells).
  virtual order place_order(const order_request& r) = 0;
  virtual order cancel_order(const std::string& symbol, const std::string& client_id) = 0;
  // nullopt: the venue does not know this client id (never placed, or aged out).
  virtual std::optional<order> query_order(const std::string& symbol, const std::string& client_id) = 0;
  virtual void set_leverage(const std::string& symbol, int leverage, margin_mode mode) = 0;
  virtual void set_margin_mode(const std::string& symbol, margin_mode mode) = 0;
  virtual void set_position_mode(position_mode mode) = 0;
  // Read-backs of the settings above (the live self-check verifies them).
  virtual position_mode get_position_mode() = 0;
  // `mode`: the margin mode asked about (Poloniex keeps one leverage per symbol and margin mode,
  // its orders carry the mode); Binance answers the symbol's one mode whatever is asked.
  virtual symbol_settings get_symbol_settings(const std::string& symbol, margin_mode mode) = 0;
  // nullopt: the venue offers no way to read a key's permissions (Poloniex: set in the web UI only).
  virtual std::optional<key_permissions> get_key_permissions() = 0;
  virtual std::vector<fill> fills(const std::string& symbol, std::optional<epoch_ms> start) = 0;
  virtual std::vector<bill> bills(std::optional<epoch_ms> start) = 0;

  // ---- streams ----
  virtual void subscribe_public(const public_subscription& sub, public_handlers handlers) = 0;
  virtual void subscribe_private(private_handlers handlers) = 0;
  virtual void set_stream_events(stream_events events) = 0;
  virtual void close_streams() = 0;
};

// Rounds price to the tick (buy: down, sell: up, so a limit never becomes more aggressive) and qty
// down to the lot; throws std::invalid_argument when the rounded qty is below min_qty or zero.
[[nodiscard]] order_request round_to_instrument(order_request r, const instrument& inst);

}  // namespace pt::venue
