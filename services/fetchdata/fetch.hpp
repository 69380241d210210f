#pragma once
// Public market data from a venue's REST API, written in the recorded-data layout of
// ../shared/data (its README: "<SYM>_<tf>.csv" with open_time_ms, open_time_utc, open, high, low,
// close, volume in base; "<SYM>_funding_rate.csv" with funding_time_ms, funding_time_utc,
// funding_rate), so venue-sim and the backtester replay it like the recording. Only public
// endpoints: no key is used or needed.
#include "venue/venue.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace pt::fetchdata {

struct fetch_request {
  std::string venue_symbol;  // the venue's spelling: BTCUSDT, BTC_USDT_PERP
  std::string timeframe = "1h";
  std::int64_t start_ms = 0;  // first bar open time wanted (inclusive)
  std::int64_t end_ms = 0;    // bars opening before this; only closed bars (close <= now_ms) are kept
  std::int64_t now_ms = 0;    // the venue's clock: a bar still open at this time is left out
  int page = 1000;            // rows per request (Binance klines allow 1500, funding 1000)
  // Order unit -> base asset (Poloniex counts contracts; Binance's volume is already in base).
  core::decimal volume_scale = core::decimal::one();
};

using progress_fn = std::function<void(std::size_t rows)>;

// Every closed bar in [start_ms, end_ms), oldest first, strictly increasing open times, paged by
// open time. A page that does not move forward ends the loop, so a venue that ignores startTime
// cannot make it spin. Throws what the venue throws.
[[nodiscard]] std::vector<venue::candle> fetch_candles(venue::venue& v, const fetch_request& r, const progress_fn& progress = {});

// Every funding settlement in [start_ms, end_ms), oldest first, paged the same way.
[[nodiscard]] std::vector<venue::funding_rate> fetch_funding(venue::venue& v, const fetch_request& r,
                                                             const progress_fn& progress = {});

// The files, written to a temporary name and renamed, so a reader never sees half a file. Throws
// std::runtime_error naming the file when it cannot be written, std::invalid_argument for no rows.
void write_candles_csv(const std::filesystem::path& file, const std::vector<venue::candle>& rows,
                       core::decimal volume_scale = core::decimal::one());
void write_funding_csv(const std::filesystem::path& file, const std::vector<venue::funding_rate>& rows);

// "2024-12-31T00:00:00Z", milliseconds shown only when not zero (the recording's spelling).
[[nodiscard]] std::string utc_text(std::int64_t ms);

}  // namespace pt::fetchdata
