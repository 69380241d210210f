#pragma once
// The offline fallback for a connector's instrument list: when the venue cannot be asked at
// start-up (network down, venue in maintenance), the checked-in market catalog
// (docs/markets/*.json) stands in, validated as `catalog validate` does. Only markets whose tick
// and lot the catalog states are used: a connector rounds every order to them, so a guessed one
// could put a wrong price on the wire. A missing max leverage becomes 1 (never more than known).
#include "venue/catalog.hpp"
#include "venue/types.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::connectors {

struct catalog_fallback_config {
  std::optional<std::filesystem::path> file;  // none: no fallback, the venue's error stands
  venue::catalog_mode mode = venue::catalog_mode::paper;  // live: a stale catalog is refused
};

// Instruments from a validated catalog. Throws std::runtime_error naming the file and every
// problem when it does not load; `skipped` (optional) receives the symbols left out and why.
[[nodiscard]] std::vector<venue::instrument> instruments_from_catalog(const catalog_fallback_config& config,
                                                                      const std::string& expected_venue,
                                                                      std::vector<std::string>* skipped = nullptr);

// `fetch` asks the venue. A retryable or ambiguous failure (unreachable, 5xx, 429, maintenance)
// falls back to the catalog when one is configured, with a warning in the log; a reject (a bad
// key, a wrong path) does not, since the catalog would only hide it. Sets `from_catalog`.
[[nodiscard]] std::vector<venue::instrument> instruments_or_catalog(
    const std::function<std::vector<venue::instrument>()>& fetch, const catalog_fallback_config& config,
    const std::string& expected_venue, bool& from_catalog);

}  // namespace pt::connectors
