#pragma once
// Performance metrics of one backtest: an equity curve plus the list of closed trades in,
// one `metrics` record out. Pure functions, no I/O (the CSV writers take any std::ostream).
// Exact definitions, annualisation and the convention for every undefined value are in
// libs/backtest/README.md.
//
// Money stays pt::core::decimal (sums of PnL, fees, funding, averages of PnL); ratios and
// statistics are double and are for reporting only: never feed them back into an order.
// An undefined value (a ratio over zero, a statistic over too few points) is std::nullopt and
// null in JSON, never NaN or infinity.
#include "core/decimal.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pt::backtest {

// One closed round trip.
struct trade_record {
  std::string symbol;
  int direction = 1;  // +1 long, -1 short
  core::timestamp entry_time, exit_time;
  core::decimal entry_price, exit_price, qty;
  core::decimal pnl;      // net of fees and funding
  core::decimal fees;     // as recorded by the backtester (positive = paid)
  core::decimal funding;  // idem
  std::string exit_reason;
};

// Account equity at one instant (the backtester samples it, e.g. once per bar).
struct equity_point {
  core::timestamp at;
  core::decimal equity;
};

struct metrics {
  // --- equity curve ---
  core::timestamp start_time, end_time;
  core::decimal start_equity, end_equity;
  double total_return = 0.0;              // end / start - 1
  std::optional<double> cagr;             // null when the curve spans no time
  std::optional<double> periods_per_year; // 365.25 d / median spacing; null with < 2 points
  std::optional<double> sharpe;           // annualised; null with < 2 returns
  std::optional<double> sortino;          // annualised; null with no return
  std::optional<double> calmar;           // cagr / max_drawdown; null when either is 0/null
  double max_drawdown = 0.0;              // fraction of the peak, >= 0
  std::chrono::nanoseconds max_drawdown_duration{0};  // peak -> recovery (or end of curve)
  double average_drawdown = 0.0;          // mean depth of the episodes; 0 when none
  int drawdown_episodes = 0;
  // --- trades ---
  int trades = 0;
  int wins = 0;    // pnl > 0
  int losses = 0;  // pnl < 0 (pnl == 0 is neither)
  std::optional<double> win_rate;       // wins / trades; null with no trade
  core::decimal net_pnl;                // sum of pnl
  core::decimal gross_profit;           // sum of positive pnl
  core::decimal gross_loss;             // -(sum of negative pnl), >= 0
  std::optional<double> profit_factor;  // gross_profit / gross_loss; null when gross_loss == 0
  std::optional<core::decimal> average_win;   // mean pnl of the wins (> 0)
  std::optional<core::decimal> average_loss;  // mean pnl of the losses (< 0: sign kept)
  std::optional<core::decimal> expectancy;    // net_pnl / trades
  std::optional<std::chrono::seconds> average_holding;  // mean exit - entry, truncated
  std::optional<double> exposure;  // share of the curve's span with >= 1 open trade
  core::decimal fees_paid;         // sum of fees
  core::decimal funding_paid;      // sum of funding
};

// Throws std::invalid_argument for an empty curve, times not strictly increasing, equity <= 0
// at any point but the last (a return is taken from it), a trade whose direction is not +1/-1
// or whose exit precedes its entry.
[[nodiscard]] metrics compute_metrics(const std::vector<equity_point>& curve,
                                      const std::vector<trade_record>& trades);

// Decimals as strings, doubles as numbers, durations as seconds (numbers), times as ISO-8601,
// undefined values as null.
[[nodiscard]] nlohmann::json to_json(const metrics& m);

// FNV-1a 64 of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
[[nodiscard]] std::uint64_t fnv1a_64(std::string_view bytes) noexcept;
// A 64-bit hash as 16 lower-case hex digits (every hash the research side prints).
[[nodiscard]] std::string hex16(std::uint64_t h);
// One RFC 4180 field: quoted (quotes doubled) when it holds , " CR or LF, else as is.
[[nodiscard]] std::string csv_field(std::string_view s);
// Per-period simple returns of an equity curve, (e[i] - e[i-1]) / e[i-1] from exact decimal
// differences; a step from an equity <= 0 has no return and is skipped. compute_metrics' Sharpe
// and Sortino are taken over these.
[[nodiscard]] std::vector<double> period_returns(const std::vector<equity_point>& curve);

// The canonical text of a trade list that trade_list_hash hashes (format in README.md).
[[nodiscard]] std::string canonical_trade_text(const std::vector<trade_record>& trades);

// fnv1a_64(canonical_trade_text(trades)) as 16 lower-case hex digits. For bit-for-bit
// reproducibility checks of backtests (same input, same trades), not for security: FNV is
// trivially forgeable.
[[nodiscard]] std::string trade_list_hash(const std::vector<trade_record>& trades);

// CSV (RFC 4180: fields with , " CR or LF are quoted, quotes doubled), "\n" line ends, header
// line first. Times as ISO-8601, decimals in canonical form.
void write_trades_csv(std::ostream& out, const std::vector<trade_record>& trades);
void write_equity_csv(std::ostream& out, const std::vector<equity_point>& curve);

}  // namespace pt::backtest
