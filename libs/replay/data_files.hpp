#pragma once
// Recorded market data on disk (../shared/data, see its README.md): finding the folder, listing
// what it holds, and loading candles, funding, mark prices and the hftbacktest tick capture into
// plain structs for venue-sim and the backtester.
//
// Every loader reads `.csv` and `.csv.gz` alike (zlib's gz* API detects compression by content),
// checks the header names, the column count of every row, every number (prices and sizes with
// decimal::parse_rounded half_even, times as int64) and the row order, and throws data_error
// naming "<file>:<line>" for the first thing wrong. A file with no data rows is an error too: a
// replay of nothing is always a mistake upstream.
#include "core/decimal.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pt::replay {

// A file that cannot be read or holds a bad row. what() is "<file>:<line>: <reason>" (line 0:
// the file as a whole, e.g. it cannot be opened).
class data_error : public std::runtime_error {
 public:
  data_error(std::filesystem::path file, std::size_t line, const std::string& reason);
  [[nodiscard]] const std::filesystem::path& file() const { return file_; }
  [[nodiscard]] std::size_t line() const { return line_; }

 private:
  std::filesystem::path file_;
  std::size_t line_;
};

// One candle, keyed by its open time. Volume is in the base asset (BTC for BTCUSDT). Mark-price
// candles have no volume column: volume is zero there.
struct bar {
  std::int64_t open_time_ms = 0;
  core::decimal open, high, low, close, volume;
  std::optional<core::decimal> quote_volume;  // quote asset (USDT/USD), when the file has it
  std::optional<std::int64_t> trades;         // number of trades, when the file has it
  friend bool operator==(const bar&, const bar&) = default;
};

// One funding settlement: `rate` is the fraction paid per interval (0.0001 = 0.01 %), positive
// means longs pay shorts.
struct funding_point {
  std::int64_t time_ms = 0;
  core::decimal rate;
  std::optional<core::decimal> mark_price;  // when the file has a mark_price column
  friend bool operator==(const funding_point&, const funding_point&) = default;
};

// --- hftbacktest capture (Binance USD-M WebSocket/REST, split into CSVs) -----------------------

enum class book_side : std::uint8_t { bid, ask };

// One level of the REST depth snapshot (bids best-first, then asks best-first).
struct depth_snapshot_row {
  std::int64_t local_recv_ns = 0;  // recording machine's clock: ordering/latency only
  std::int64_t event_time_ms = 0;
  std::int64_t transaction_time_ms = 0;
  std::uint64_t last_update_id = 0;
  book_side side = book_side::bid;
  core::decimal price, qty;
  friend bool operator==(const depth_snapshot_row&, const depth_snapshot_row&) = default;
};

// One price level inside a depth diff message; all rows of one message share the ids.
// qty == 0 removes the level.
struct depth_update_row {
  std::int64_t local_recv_ns = 0;
  std::int64_t event_time_ms = 0;
  std::int64_t transaction_time_ms = 0;
  std::uint64_t first_update_id = 0;       // U
  std::uint64_t final_update_id = 0;       // u
  std::uint64_t prev_final_update_id = 0;  // pu
  book_side side = book_side::bid;
  core::decimal price, qty;
  friend bool operator==(const depth_update_row&, const depth_update_row&) = default;
};

struct trade_row {
  std::int64_t local_recv_ns = 0;
  std::int64_t event_time_ms = 0;
  std::int64_t trade_time_ms = 0;
  std::uint64_t trade_id = 0;
  core::decimal price, qty;  // qty in base asset
  bool buyer_is_maker = false;  // true: the seller was the aggressor
  std::string trade_kind;       // Binance "X": "MARKET" for normal trades
  friend bool operator==(const trade_row&, const trade_row&) = default;
};

struct book_ticker_row {
  std::int64_t local_recv_ns = 0;
  std::int64_t event_time_ms = 0;
  std::int64_t transaction_time_ms = 0;
  std::uint64_t update_id = 0;
  core::decimal bid_price, bid_qty, ask_price, ask_qty;
  friend bool operator==(const book_ticker_row&, const book_ticker_row&) = default;
};

// --- locating and listing -------------------------------------------------------------------

// $POLYTRADE_DATA when set and not empty (it must then be a directory, else data_error: a
// configured path that is wrong is not silently replaced), otherwise `fallback` when it is a
// directory (callers pass <repo>/../shared/data), otherwise nullopt.
[[nodiscard]] std::optional<std::filesystem::path> find_data_dir(const std::filesystem::path& fallback = {});

// Length of a timeframe string: "1m" -> 60000, "5m", "15m", "1h", "4h", "8h", "1d", "1w" (any
// positive count with s/m/h/d/w). nullopt for anything else (months have no fixed length).
[[nodiscard]] std::optional<std::int64_t> timeframe_ms(std::string_view tf);

enum class series_kind { candles, funding, mark, trades, depth_snapshot, depth_updates, book_ticker };
[[nodiscard]] std::string_view to_string(series_kind k);

struct series_info {
  std::string source;     // sub-folder relative to the listed dir ("freqtrade_marketlab"), "" at top
  std::string qualifier;  // name tokens besides symbol/kind: "spot", "coinbase", "" for perpetuals
  std::string symbol;     // "BTCUSDT", "BTCUSD", "BTC-PERP"
  series_kind kind = series_kind::candles;
  std::string timeframe;  // "5m", "1h", ... for candles and mark; "" otherwise
  std::filesystem::path path;
};

// Every loadable series under `dir` (recursively), sorted by path. Classified by file name
// (<qualifier>_<SYMBOL>_<tf>, <SYMBOL>_mark_price_<tf>, <SYMBOL>_funding_rate, <SYMBOL>_trades,
// _depth_snapshot, _depth_updates, _book_ticker; trailing _YYYY-MM-DD tokens ignored), then the
// header line is read: a file whose columns its loader would reject (e.g. nautilus's depth CSVs,
// which have another layout) or that cannot be read is left out. Throws data_error only when
// `dir` itself cannot be listed.
[[nodiscard]] std::vector<series_info> list_series(const std::filesystem::path& dir);

// --- loaders ----------------------------------------------------------------------------------

// Candles (and mark-price candles). Columns by header name: open_time_ms, open, high, low,
// close required; open_time_utc (checked against open_time_ms), volume or volume_btc (base),
// quote_volume or volume_usd (quote), trades optional; any other column is an error. Rows:
// open_time_ms strictly increasing, 0 < low <= open, close <= high, volumes >= 0.
[[nodiscard]] std::vector<bar> load_candles(const std::filesystem::path& file);
// Mark-price candles: the same parser (those files have no volume column, so volume is zero).
[[nodiscard]] std::vector<bar> load_mark_prices(const std::filesystem::path& file);
// funding_time_ms, funding_rate required; funding_time_utc, mark_price optional. Strictly
// increasing time.
[[nodiscard]] std::vector<funding_point> load_funding(const std::filesystem::path& file);

// hftbacktest files, exact column layouts as in the data README. Order checks: snapshot: one
// last_update_id, bids strictly falling then asks strictly rising; updates: final_update_id
// never falls and rows of one message (same u) agree on U, pu and times, messages strictly
// increasing; trades: trade_id strictly increasing, trade_time_ms never falls; book ticker:
// update_id strictly increasing. Prices > 0, quantities >= 0 everywhere.
[[nodiscard]] std::vector<depth_snapshot_row> load_depth_snapshot(const std::filesystem::path& file);
[[nodiscard]] std::vector<depth_update_row> load_depth_updates(const std::filesystem::path& file);
[[nodiscard]] std::vector<trade_row> load_trades(const std::filesystem::path& file);
[[nodiscard]] std::vector<book_ticker_row> load_book_ticker(const std::filesystem::path& file);

}  // namespace pt::replay
