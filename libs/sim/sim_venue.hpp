#pragma once
// The in-process simulator venue: the Venue interface (venue/venue.hpp) served straight from a
// sim::exchange and its market_replayer, without sockets. Backtests and paper trading use it
// where the live connectors talk to Poloniex or Binance (or to venue-sim over their protocols).
//
// Time is market time: server_time() and every timestamp are the replayer's now(). Nothing here
// reads a clock or starts a thread; the driver moves time:
//
//   rp.advance_to(t);      // fills resting orders, settles funding: private events fire here
//   venue.on_advanced();   // public streams: closed candles, book, trades, ticker, mark, funding
//
// (or venue.advance_to(t), which does both). A venue built by create() owns its exchange and
// replayer; one built over a driver's exchange and replayer does not.
//
// Errors are venue_error. Rejects carry outcome_class::reject and a stable numeric code: one per
// sim::reject_code (venue_error_code) plus the few below for requests the venue itself refuses.
//
// Private events (order, fill, position, balance of this venue's account) come from the
// exchange's listener, in the exchange's causal order: the NEW ack, then per execution the order
// update, the fill, the position, the balance. With private_delivery::immediate they are handed
// over synchronously inside the exchange call that caused them (so before place_order returns,
// and during the driver's advance_to). The exchange is mid-call then: a handler may read
// (positions(), query_order(), ...) but a trading call from it is refused with code
// reentrant_call. private_delivery::deferred queues them instead and hands them over when the
// venue call returns (place_order, cancel_order, ...) or at on_advanced(); handlers may then
// trade. Public trades are collected as they happen and handed over at on_advanced() with the
// rest of the public streams. A handler's exception (any stream, either delivery) is caught and
// passed to stream_events.on_error, as on a connector's I/O thread: it never unwinds through the
// exchange or turns an accepted order into a failed place_order.
//
// Not thread-safe: one driver thread calls everything (the exchange and replayer are not either).
#include "sim/exchange.hpp"
#include "sim/listener_fanout.hpp"
#include "sim/replayer.hpp"
#include "venue/venue.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pt::sim {

// Which venue the simulator poses as. Only the name and the order unit differ: the simulator
// offers the same order types everywhere and holds no stop orders (the caller's risk layer does).
enum class venue_flavour : std::uint8_t {
  native,    // "sim"
  poloniex,  // "poloniex-futures-v3": quantities in contracts
  binance,   // "binance-usdm": quantities in the base asset
};

enum class private_delivery : std::uint8_t { immediate, deferred };

struct sim_venue_options {
  venue_flavour flavour = venue_flavour::native;
  std::string name;  // empty: the flavour's catalog name
  private_delivery delivery = private_delivery::immediate;
  // Candle streams always deliver each bar once, closed, after its end; with this also the
  // running bar (closed = false) whenever it changed at on_advanced().
  bool running_candles = false;
  int stream_book_depth = 20;  // levels per side in book stream snapshots
  // Public trades waiting for on_advanced(); beyond this the oldest are dropped (and reported
  // to stream_events.on_error), so a driver that never calls on_advanced() cannot grow memory.
  std::size_t max_pending_trades = 100000;
  // What get_key_permissions() reports (tests set withdrawals to see a self-check refuse).
  pt::venue::key_permissions permissions{.reading = true, .futures_trading = true, .withdrawals = false, .ip_restricted = true};
};

// What the owning factory builds around the data.
struct sim_world_config {
  core::decimal initial_wallet = core::decimal::from_units(10000LL * core::decimal::scale);
  exchange_config exchange;
  replay_config replay;
  std::optional<epoch_ms> start;  // seek here first (default: the first bar's open)
};

// venue_error codes. One per reject_code, fixed here so that reordering the enum never renumbers
// them: unknown_symbol 1001, symbol_not_trading 1002, cancel_only 1003, bad_quantity 1004,
// qty_below_min 1005, qty_above_max 1006, bad_price 1007, price_out_of_range 1008,
// insufficient_margin 1009, reduce_only_rejected 1010, no_position_to_reduce 1011,
// post_only_would_take 1012, fok_cannot_fill 1013, no_liquidity 1014, duplicate_client_id 1015,
// unknown_order 1016, invalid_leverage 1017, position_exists 1018, position_side_mismatch 1019,
// unknown_account 1020, would_trigger_immediately 1021.
[[nodiscard]] std::int64_t venue_error_code(reject_code c);
// The reject_code of a code from venue_error_code; nullopt for any other number.
[[nodiscard]] std::optional<reject_code> reject_code_of(std::int64_t code);
namespace sim_venue_code {
inline constexpr std::int64_t missing_client_id = 1101;  // place/cancel without a client id
inline constexpr std::int64_t bad_request = 1102;        // bad interval, limit, depth, ...
inline constexpr std::int64_t no_market_data = 1103;     // no price or no recorded series yet
inline constexpr std::int64_t reentrant_call = 1104;     // trading from inside an immediate handler
}  // namespace sim_venue_code

// Poloniex: quantities in contracts. Binance: in the base asset, so every instrument must have
// contract_size 1 (the venue refuses others at construction). Native: in contracts exactly when
// some instrument's contract_size is not 1.
[[nodiscard]] pt::venue::capabilities sim_capabilities(venue_flavour f,
                                                       const std::vector<pt::venue::instrument>& instruments = {});

class sim_venue final : public pt::venue::venue {
 public:
  // Over a driver's exchange and replayer (not owned; they must outlive the venue). The venue
  // takes the exchange's listener slot: pass the listener that was there as `previous` and it
  // keeps hearing every event (first), and gets the slot back when the venue is destroyed.
  sim_venue(exchange& ex, market_replayer& rp, account_id account, sim_venue_options options = {},
            listener* previous = nullptr);
  // Same, but joins a fan-out the driver installed on the exchange itself (several venues, one
  // exchange); it leaves the fan-out when destroyed.
  sim_venue(exchange& ex, market_replayer& rp, account_id account, listener_fanout& fanout,
            sim_venue_options options = {});
  // Builds and owns an exchange over `instruments` and a replayer over `data`, with one account
  // funded with world.initial_wallet. Throws std::invalid_argument for inconsistent data.
  // Every constructor throws std::invalid_argument for an unknown account, a stream_book_depth
  // below 1, or the binance flavour over an instrument whose contract_size is not 1.
  [[nodiscard]] static std::unique_ptr<sim_venue> create(std::vector<pt::venue::instrument> instruments,
                                                         std::vector<series> data, sim_world_config world = {},
                                                         sim_venue_options options = {});
  ~sim_venue() override;
  sim_venue(const sim_venue&) = delete;
  sim_venue& operator=(const sim_venue&) = delete;

  // ---- driver side ----
  [[nodiscard]] epoch_ms now() const { return rp_.now(); }
  // Compares the market with what the streams last delivered and emits the differences (and
  // hands over deferred private events first). Call after every advance of the replayer.
  void on_advanced();
  // rp.advance_to(t), then on_advanced(). Returns the replayer's event count.
  std::size_t advance_to(epoch_ms t);
  [[nodiscard]] exchange& sim_exchange() { return ex_; }
  [[nodiscard]] market_replayer& replayer() { return rp_; }
  [[nodiscard]] account_id account() const { return account_; }

  // ---- Venue ----
  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] const pt::venue::capabilities& caps() const override { return caps_; }

  std::vector<pt::venue::instrument> instruments() override;
  std::vector<pt::venue::candle> klines(const pt::venue::kline_query& q) override;
  pt::venue::order_book book(const std::string& symbol, int depth) override;
  // Oldest first, like klines and funding_history.
  std::vector<pt::venue::public_trade> trades(const std::string& symbol, int limit) override;
  pt::venue::ticker get_ticker(const std::string& symbol) override;
  pt::venue::mark_price get_mark_price(const std::string& symbol) override;
  pt::venue::funding_rate get_funding_rate(const std::string& symbol) override;
  std::vector<pt::venue::funding_rate> funding_history(const std::string& symbol,
                                                       std::optional<pt::venue::epoch_ms> start,
                                                       std::optional<pt::venue::epoch_ms> end, int limit) override;
  pt::venue::epoch_ms server_time() override { return now(); }

  std::vector<pt::venue::balance> balances() override;
  std::vector<pt::venue::position> positions() override;
  std::vector<pt::venue::order> open_orders(const std::string& symbol) override;  // "" = all
  pt::venue::order place_order(const pt::venue::order_request& r) override;
  pt::venue::order cancel_order(const std::string& symbol, const std::string& client_id) override;
  std::optional<pt::venue::order> query_order(const std::string& symbol, const std::string& client_id) override;
  void set_leverage(const std::string& symbol, int leverage, pt::venue::margin_mode mode) override;
  void set_margin_mode(const std::string& symbol, pt::venue::margin_mode mode) override;
  void set_position_mode(pt::venue::position_mode mode) override;
  pt::venue::position_mode get_position_mode() override;
  pt::venue::symbol_settings get_symbol_settings(const std::string& symbol, pt::venue::margin_mode) override;
  std::optional<pt::venue::key_permissions> get_key_permissions() override;
  std::vector<pt::venue::fill> fills(const std::string& symbol, std::optional<pt::venue::epoch_ms> start) override;
  std::vector<pt::venue::bill> bills(std::optional<pt::venue::epoch_ms> start) override;

  // Subscriptions add up; each call's handlers get what that call asked for. Unknown symbols
  // and intervals are refused (venue_error, reject). Nothing is delivered before on_advanced(),
  // and then the book, ticker, mark price and funding first as they stand; candles only as bars
  // close after the subscription.
  void subscribe_public(const pt::venue::public_subscription& sub, pt::venue::public_handlers handlers) override;
  void subscribe_private(pt::venue::private_handlers handlers) override;
  void set_stream_events(pt::venue::stream_events events) override;
  void close_streams() override;

 private:
  struct tap;
  struct public_entry;
  struct private_entry;
  using private_event =
      std::variant<pt::venue::order, pt::venue::fill, pt::venue::position, pt::venue::balance>;
  struct book_state {
    std::int64_t seq = 0;
    std::optional<pt::venue::order_book> last;  // at stream_book_depth
  };

  sim_venue(std::unique_ptr<exchange> ex, std::unique_ptr<market_replayer> rp, account_id account,
            sim_venue_options options);
  void init();

  const pt::venue::instrument& instrument_of(const std::string& symbol) const;  // or throws
  const series& series_of(const std::string& symbol) const;                      // or throws
  std::int64_t interval_ms(const std::string& symbol, const std::string& interval) const;  // or throws
  void guard_trading(const char* what) const;
  void after_call();  // deferred delivery point
  pt::venue::order_book current_book(const std::string& symbol);  // at stream_book_depth, with ids
  std::optional<pt::venue::mark_price> mark_of(const std::string& symbol) const;

  void private_arrived(private_event e);
  void dispatch_private(const private_event& e);
  void flush_private();
  void public_trade_arrived(const pt::venue::public_trade& t);
  void report_error(const std::string& what);

  std::unique_ptr<exchange> owned_ex_;
  std::unique_ptr<market_replayer> owned_rp_;
  exchange& ex_;
  market_replayer& rp_;
  account_id account_;
  sim_venue_options options_;
  std::string name_;
  pt::venue::capabilities caps_;

  std::unique_ptr<tap> tap_;
  listener_fanout own_fanout_;            // installed on the exchange by the first constructor
  listener_fanout* joined_ = nullptr;     // the driver's fan-out (second constructor)
  listener* previous_ = nullptr;
  bool installed_ = false;

  std::vector<std::shared_ptr<public_entry>> public_;
  std::vector<std::shared_ptr<private_entry>> private_;
  pt::venue::stream_events events_;
  std::deque<private_event> pending_private_;
  bool flushing_ = false;
  int in_exchange_callback_ = 0;
  std::deque<pt::venue::public_trade> pending_trades_;
  std::size_t dropped_trades_ = 0;
  std::map<std::string, book_state> books_;
};

}  // namespace pt::sim
