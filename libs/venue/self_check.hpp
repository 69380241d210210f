#pragma once
// The start-up self-check before trading (issue 4 §7): clock skew against the venue, the venue's
// catalog for every traded symbol, the API key's permissions (withdrawals must be refused), the
// position mode and each symbol's leverage and margin mode, and a readable balance.
//
// Two halves so the rules are testable without a venue: gather() asks the venue and records every
// answer or error (it never throws), evaluate() turns those facts into one result per check.
// A `fail` blocks trading; `unverifiable` (the venue cannot tell, e.g. Poloniex has no
// key-permission endpoint) blocks live trading unless the operator accepts it explicitly; `warn`
// (a key without an IP allow-list) is reported and does not block.
#include "core/decimal.hpp"
#include "core/time.hpp"
#include "venue/clock_skew.hpp"
#include "venue/venue.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pt::venue {

enum class check_status : std::uint8_t { pass, warn, unverifiable, fail };
[[nodiscard]] const char* to_string(check_status s);

struct check_result {
  std::string code;  // CLOCK_SKEW, CATALOG, KEY_PERMISSIONS, POSITION_MODE, SYMBOL_SETTINGS, BALANCE
  check_status status = check_status::fail;
  std::string detail;
};

struct self_check_expectations {
  std::vector<std::string> symbols;
  int leverage = 1;
  int hard_cap_leverage = 5;
  margin_mode margin = margin_mode::cross;
  position_mode pos_mode = position_mode::one_way;
  clock_skew_config skew;  // the venue's tolerance (clock_skew_config::for_binance / for_poloniex)
  std::string settle_asset = "USDT";
  core::decimal min_equity;  // the account must hold more than this (and more than zero)
};

// One venue answer: the value, or why there is none.
template <class T>
struct fact {
  std::optional<T> value;
  std::string error;
};

struct self_check_facts {
  std::vector<time_sample> time_samples;
  std::string time_error;
  fact<std::vector<instrument>> instruments;
  bool instruments_from_offline_catalog = false;  // the venue did not answer; the checked-in catalog stood in
  fact<std::optional<key_permissions>> permissions;  // value nullopt: the venue has no way to tell
  fact<position_mode> pos_mode;
  std::map<std::string, fact<symbol_settings>> settings;  // by symbol
  fact<std::vector<balance>> balances;
};

struct self_check_report {
  std::vector<check_result> checks;
  // No fail, and no unverifiable unless accepted.
  [[nodiscard]] bool passed(bool accept_unverifiable) const;
  // "CODE: detail" of every check that blocks (same rule as passed()).
  [[nodiscard]] std::vector<std::string> blocking(bool accept_unverifiable) const;
  [[nodiscard]] nlohmann::json to_json() const;
};

[[nodiscard]] self_check_report evaluate(const self_check_facts& facts, const self_check_expectations& expect);

// Asks `v` for every fact: `time_samples` server-time round trips timed with `local_now`, the
// instruments, key permissions, position mode, each symbol's settings and the balances. A failed
// call is recorded in its fact; nothing throws. `from_offline_catalog` says (after instruments())
// whether the connector fell back to its checked-in catalog.
[[nodiscard]] self_check_facts gather(venue& v, const self_check_expectations& expect,
                                      const std::function<core::timestamp()>& local_now,
                                      const std::function<bool()>& from_offline_catalog = {}, int time_samples = 5);

}  // namespace pt::venue
