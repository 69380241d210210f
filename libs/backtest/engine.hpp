#pragma once
// The event-driven backtester (issue 5): recorded (or in-memory) bars are walked bar by bar
// through the same code the services wrap:
//
//   market   sim::exchange (the matching core venue-sim uses), moved along each bar's sub-bar
//            path from replay::bar_path, adverse extreme first for the position held, with a
//            book around every path point (replay::synthesize_book, seeded, as venue-sim's
//            replayer builds it, or a one-tick book for hand-checkable tests);
//   funding  exchange::apply_funding at every recorded funding time (longs pay a positive rate,
//            on the mark at that instant; a settlement at a bar's open time is applied before
//            the bar's open price, as venue-sim's replayer does);
//   strategy strategy::make_strategy(params) fed closed bars only (base timeframe plus 1h/4h/1d
//            aggregated here), with now = the bar's close time;
//   risk     risk::size_position (risk-based size from the stop distance, leverage caps) and
//            risk::evaluate_checklist (optional) on every proposal.
//
// Timing: a decision made at a bar's close reaches the matching core at the first path point at
// or after close + latency_ms (latency 0: the next bar's open point). Protective stop and
// take-profit are native conditional orders placed right after the entry fills, so they can
// trigger from the next path point on, never on the price that filled the entry.
//
// Determinism: no clock, no unordered container, the only randomness is the seeded synthetic
// book. Same data + config + seed => the same trade list, bit for bit (trade_list_hash).
// Money is core::decimal everywhere; doubles appear only inside the strategies' indicators.
// Modelled / not modelled: libs/backtest/README.md, "Engine".
#include "backtest/metrics.hpp"
#include "core/decimal.hpp"
#include "core/time.hpp"
#include "replay/data_files.hpp"
#include "strategy/params.hpp"
#include "strategy/strategy.hpp"
#include "venue/types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pt::backtest {

// One symbol's inputs: base-timeframe bars (strictly increasing open times, all symbols on the
// same grid), funding settlements, and the instrument the exchange lists it as.
struct symbol_data {
  std::string symbol;  // data and exchange symbol (Binance spelling: BTCUSDT)
  std::vector<replay::bar> bars;
  std::vector<replay::funding_point> funding;
  venue::instrument instrument;
};

// How the book around each path point is built.
enum class book_model {
  synthetic,    // replay::synthesize_book, seeded per symbol/bar/point like venue-sim's replayer
  tick_spread,  // one level each side, one tick from the price, 1e6 lots deep (hand-checkable)
};

class engine_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds a strategy for one symbol. `data` is everything the engine replays: a real strategy
// must never read it (the look-ahead test's deliberately peeking strategy does, as a back door).
using strategy_factory = std::function<std::unique_ptr<strategy::strategy>(
    const strategy::context& ctx, const std::vector<symbol_data>& data)>;

struct engine_config {
  std::vector<std::string> symbols{"BTCUSDT"};
  std::string base_timeframe = "1h";
  // Trading window: bars opening before `start` only warm the strategy up (no orders, no
  // equity points); bars closing after `end` are not replayed. Absent: the whole data.
  std::optional<core::timestamp> start, end;
  core::decimal starting_equity = core::decimal::from_integer(10000);
  strategy::any_params params = strategy::trend_following_params{};
  strategy_factory factory;  // set: used instead of make_strategy(params)
  std::string venue = "sim";
  // Percent of equity risked per trade (1 = 1 %; the hard cap is 1 %).
  core::decimal risk_percent = core::decimal::one();
  // Leverage cap; the engine uses min(this, 5 (hard cap), the instrument's max).
  core::decimal leverage_cap = core::decimal::from_integer(3);
  // Fee rates (fractions); absent: the instrument's (catalog, else venue-sim's assumptions).
  std::optional<core::decimal> taker_fee, maker_fee;
  // Extra slippage in basis points against the trader on every taker fill (entries, market
  // exits, triggered stops/take-profits), on top of what the book walk costs. Booked outside the
  // matching core: added to the trade's fees and subtracted from equity.
  core::decimal slippage_bps = core::decimal::one();
  // Delay between a decision (bar close) and its order reaching the matching core.
  std::int64_t latency_ms = 0;
  std::uint64_t seed = 1;
  book_model book = book_model::synthetic;
  // Run the risk service's gate on every entry: risk::evaluate_checklist (ATR from the last 14
  // closed 4h bars, or base bars when the base is >= 4h; funding = last settled rate; news
  // absent) fed by risk::trading_state_machine (loss history, day-open and peak equity, circuit
  // breakers with their cooldowns; its drawdown kill switch flattens everything and halts).
  bool run_checklist = true;
  // Close what is still open at the last bar's close (exit_reason "end_of_data").
  bool close_at_end = true;
};

// One line of the decisions log. kind: "entry" (proposal sized and queued), "reject" (sizing
// or checklist refused; text says why), "exit" (close requested), "move_stop", "fill" (an
// execution in the matching core; text = client id), "liquidation", "order_reject".
struct decision_record {
  core::timestamp at;
  std::string kind;
  std::string symbol;
  std::string side;  // "buy" / "sell" / ""
  core::decimal qty, price;
  std::string text;
  friend bool operator==(const decision_record&, const decision_record&) = default;
};

struct engine_result {
  std::vector<trade_record> trades;
  std::vector<equity_point> equity;  // one point per base bar close in the trading window
  std::vector<decision_record> decisions;
  std::optional<metrics> stats;  // compute_metrics; absent when the curve is empty or invalid
  std::string hash;              // trade_list_hash(trades)
  core::decimal end_equity;
  std::size_t bars = 0;  // base bars replayed (all symbols)
};

// Runs one backtest over in-memory data (no I/O). Throws engine_error for inconsistent input
// (no bars, symbols on different grids, an unknown timeframe) and std::invalid_argument from the
// libraries it drives (e.g. a risk config above the hard caps).
[[nodiscard]] engine_result run_backtest(const engine_config& cfg, const std::vector<symbol_data>& data);

// The exchange instrument for a symbol from a market catalog (docs/markets/binance-usdm.json),
// completed like venue-sim does (max leverage 20, maintenance 0.5 %, maker 0.02 %, taker 0.05 %,
// min notional 5 where the catalog says nothing). Throws engine_error when absent.
[[nodiscard]] venue::instrument catalog_instrument(const std::string& catalog_file, const std::string& symbol);

// Loads base bars and funding for cfg.symbols from a data folder (../shared/data): per symbol
// one source sub-folder (`source`, else the one with a funding file and the largest base file,
// as venue-sim picks), instrument from `catalog_file`. A source without a funding file takes the
// same symbol's funding from the source covering most of its bars' span. Throws replay::data_error / engine_error.
[[nodiscard]] std::vector<symbol_data> load_recorded(const engine_config& cfg, const std::string& data_dir,
                                                     const std::string& catalog_file,
                                                     const std::string& source = {});

// Look-ahead check: runs `cfg` on `data` and on `altered` (the same data with every point after
// `t` changed) and compares everything decided up to t. Equal must be: strategy decisions
// (entry, exit, move_stop, reject) at or before t, executions (fills, liquidations) and closed
// trades strictly before t (an execution at t itself happens at the next bar's open, which is
// data after t), and equity points at or before t.
struct lookahead_report {
  bool identical = true;
  std::size_t compared_decisions = 0, compared_trades = 0;
  std::string first_difference;  // empty when identical
};
[[nodiscard]] lookahead_report check_lookahead(const engine_config& cfg, const std::vector<symbol_data>& data,
                                               const std::vector<symbol_data>& altered, core::timestamp t);

// `data` with every bar opening at or after t (its prices are not known at t) scaled by `factor`
// (prices rounded to the instrument tick, kept consistent) and every funding rate after t
// replaced by -rate * 3.
[[nodiscard]] std::vector<symbol_data> alter_after(const std::vector<symbol_data>& data, core::timestamp t,
                                                   core::decimal factor);

}  // namespace pt::backtest
