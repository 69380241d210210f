#pragma once
// The market catalog: a checked-in, dated snapshot of a venue's instruments
// (docs/markets/<venue>.json). Connectors load instruments from the venue at start-up; the
// catalog is the offline fallback and venue-sim's source. load_catalog validates everything and
// reports errors that name the file, the market and the field. Fields the sources do not give are
// absent (std::nullopt), never invented.
#include "core/decimal.hpp"
#include "core/time.hpp"
#include "venue/symbols.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pt::venue {

// Venue names as written in a catalog's top-level "venue".
inline constexpr const char* poloniex_futures_v3 = "poloniex-futures-v3";
inline constexpr const char* binance_usdm = "binance-usdm";

struct risk_tier {
  int tier = 0;
  std::optional<int> max_leverage;
  std::optional<core::decimal> maintenance_margin_rate;
};

struct market_spec {
  std::string symbol;  // the venue's own spelling
  pair_symbol pair;
  std::optional<core::decimal> contract_size;  // base per contract (Poloniex ctVal)
  std::optional<core::decimal> tick;
  std::optional<core::decimal> lot;       // Poloniex: contracts; Binance: base
  std::optional<core::decimal> min_size;  // same unit as lot
  std::optional<int> max_leverage;
  std::vector<risk_tier> risk_tiers;
  std::optional<core::decimal> maker_fee;  // fraction, 0.0002 = 0.02 %
  std::optional<core::decimal> taker_fee;
  std::optional<std::chrono::hours> funding_interval;
};

struct market_catalog {
  std::string venue;
  int schema_version = 0;
  std::optional<core::timestamp> last_synced;  // null: never synced
  std::string compiled_at;
  std::vector<market_spec> markets;
};

// paper: staleness is a warning; live: an error.
enum class catalog_mode { paper, live };

struct catalog_options {
  catalog_mode mode = catalog_mode::paper;
  std::chrono::hours max_age{24 * 7};
  core::timestamp now;  // the caller's clock (live or simulated)
};

struct catalog_result {
  std::optional<market_catalog> catalog;  // set when there are no errors
  std::vector<std::string> errors;        // each names file, market and field
  std::vector<std::string> warnings;
  [[nodiscard]] bool ok() const { return errors.empty(); }
};

// Never throws for bad input: every problem found is in errors.
[[nodiscard]] catalog_result load_catalog(const std::filesystem::path& file, const catalog_options& options);

// Validation limits.
inline constexpr int catalog_min_leverage = 1;
inline constexpr int catalog_max_leverage = 200;
[[nodiscard]] core::decimal catalog_fee_bound();  // |fee| <= 0.01

}  // namespace pt::venue
