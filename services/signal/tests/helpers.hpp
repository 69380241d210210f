#pragma once
// Test helpers: md.bar.json payloads built by hand, the recorded BTCUSDT bars (Binance USD-M,
// ../shared/data/freqtrade_marketlab: 1h grouped into 4h here, and 1d) in the order marketdata
// would publish them, and a JSON-Schema check against proto/schemas (libs/bus catalog).
#include "bus/catalog.hpp"
#include "core/time.hpp"
#include "replay/data_files.hpp"
#include "strategy/types.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pt::signal_service::test {

using pt::core::decimal;
using pt::core::timestamp;

constexpr std::int64_t H = 3'600'000;  // ms

struct rec_bar {
  std::string tf;  // "4h" / "1d"
  std::int64_t open_ms = 0, close_ms = 0;
  decimal open, high, low, close, volume;
};

inline nlohmann::json bar_json(const std::string& venue, const std::string& symbol, const rec_bar& b,
                               bool backfilled = false) {
  nlohmann::json j{{"venue", venue},
                   {"symbol", symbol},
                   {"tf", b.tf},
                   {"open_ts", timestamp::from_millis(b.open_ms).to_iso8601()},
                   {"close_ts", timestamp::from_millis(b.close_ms).to_iso8601()},
                   {"open", b.open.to_string()},
                   {"high", b.high.to_string()},
                   {"low", b.low.to_string()},
                   {"close", b.close.to_string()},
                   {"volume", b.volume.to_string()},
                   {"closed", true}};
  if (backfilled) j["backfilled"] = true;
  return j;
}

inline rec_bar make_rec(const std::string& tf, std::int64_t open_ms, double o, double h, double l, double c,
                        double v = 100) {
  const std::int64_t period = tf == "1d" ? 24 * H : tf == "4h" ? 4 * H : tf == "1h" ? H : 0;
  return {tf, open_ms, open_ms + period, strategy::to_decimal(o), strategy::to_decimal(h), strategy::to_decimal(l),
          strategy::to_decimal(c), strategy::to_decimal(v)};
}

inline std::string data_dir() {
  const char* env = std::getenv("POLYTRADE_DATA");
  return (env && *env ? std::string(env) : std::string(POLYTRADE_SOURCE_DIR) + "/../shared/data") +
         "/freqtrade_marketlab";
}

inline bool have_btc_data() {
  return std::filesystem::exists(data_dir() + "/BTCUSDT_1h.csv") && std::filesystem::exists(data_dir() + "/BTCUSDT_1d.csv");
}

// The 1d bars and the 1h bars grouped into 4h (aligned to 00:00 UTC, whole groups of four: first
// open, max high, min low, last close, summed volume), sorted by close time; at the same close the
// 1d bar comes first (the daily trend is updated before the 4h decision, as libs/strategy's test).
inline std::vector<rec_bar> recorded_btc() {
  const auto h1 = replay::load_candles(data_dir() + "/BTCUSDT_1h.csv");
  const auto d1 = replay::load_candles(data_dir() + "/BTCUSDT_1d.csv");
  std::vector<rec_bar> out;
  for (const auto& b : d1) out.push_back({"1d", b.open_time_ms, b.open_time_ms + 24 * H, b.open, b.high, b.low, b.close, b.volume});
  for (std::size_t i = 0; i + 3 < h1.size();) {
    const auto t = h1[i].open_time_ms;
    if (t % (4 * H) != 0 || h1[i + 3].open_time_ms != t + 3 * H) {
      ++i;
      continue;
    }
    rec_bar b{"4h", t, t + 4 * H, h1[i].open, h1[i].high, h1[i].low, h1[i + 3].close, h1[i].volume};
    for (std::size_t k = 1; k < 4; ++k) {
      b.high = std::max(b.high, h1[i + k].high);
      b.low = std::min(b.low, h1[i + k].low);
      b.volume += h1[i + k].volume;
    }
    out.push_back(b);
    i += 4;
  }
  std::stable_sort(out.begin(), out.end(), [](const rec_bar& a, const rec_bar& b) {
    return a.close_ms != b.close_ms ? a.close_ms < b.close_ms : (a.tf == "1d") > (b.tf == "1d");
  });
  return out;
}

// "" when `doc` validates against proto/schemas/<schema_file>, else the reason: the bus's own
// validator (libs/bus catalog), loaded once (the recorded-data case validates thousands of payloads).
inline std::string validate(const std::string& schema_file, const nlohmann::json& doc) {
  static const auto cat = pt::bus::catalog::load(POLYTRADE_PROTO_DIR);
  return cat->validate_file(schema_file, doc).value_or("");
}

}  // namespace pt::signal_service::test
