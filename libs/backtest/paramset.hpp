#pragma once
// Versioned parameter sets and the promotion gate. A parameter set is one strategy parameter
// document (libs/strategy format) together with what it was fitted / tested on (a hash of the
// data), its out-of-sample metrics and the gate's verdict, saved as
// <dir>/model_v{N}_{YYYYMMDD}_{hash}.json. Files are written once and never overwritten: a new
// fit is a new version. No clock inside (the caller passes the date), so the same inputs give the
// same file, byte for byte.
//
// The gate is seed 002's: a set may trade only when its OUT-OF-SAMPLE metrics, after costs
// (walk-forward's oos_stats), show profit factor > 1.2, Sharpe > 1.0, max drawdown <= 25 % and at
// least 20 trades. Undefined profit factor or Sharpe (nullopt) fails.
#include "backtest/engine.hpp"
#include "backtest/metrics.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace pt::backtest {

struct promotion_rule {
  double min_profit_factor = 1.2;  // PF must be > this
  double min_sharpe = 1.0;         // annualised Sharpe must be > this
  double max_drawdown = 0.25;      // max drawdown (fraction of the peak) must be <= this
  int min_trades = 20;             // trades must be >= this
};

struct promotion_verdict {
  bool promotable = false;
  // One line per check, in the order profit factor, Sharpe, max drawdown, trades, each starting
  // "pass: " or "fail: " (e.g. "fail: profit factor 0.91 <= 1.2"); with no metrics at all the
  // single line "fail: no out-of-sample metrics".
  std::vector<std::string> reasons;
  friend bool operator==(const promotion_verdict&, const promotion_verdict&) = default;
};

// Seed 002's gate on out-of-sample metrics after costs: PF > min_profit_factor AND Sharpe >
// min_sharpe AND max_drawdown <= max_drawdown AND trades >= min_trades. nullopt metrics, an
// undefined PF or Sharpe, or a non-finite figure fails.
[[nodiscard]] promotion_verdict evaluate_promotion(const std::optional<metrics>& oos, const promotion_rule& rule = {});

struct parameter_set {
  int version = 0;          // N in model_v{N}; 0 until save_parameter_set numbers it
  std::string strategy;     // e.g. "trend_following"
  std::string created;      // YYYY-MM-DD, passed by the caller (no clock in the library)
  nlohmann::json params = nlohmann::json::object();   // the strategy parameter document
  std::string data_hash;    // data_hash() of the data it was fitted / tested on
  nlohmann::json metrics = nlohmann::json::object();  // OOS to_json(metrics) plus anything the caller adds
  promotion_verdict verdict;
  std::string hash;         // parameter_set_hash(*this); set by save_parameter_set
  friend bool operator==(const parameter_set&, const parameter_set&) = default;
};

// fnv1a_64 over a canonical text of every symbol (in order), its bars (open time ms, open, high,
// low, close, volume as canonical decimal strings) and its funding points (time ms, rate, mark
// price or empty), as 16 lower-case hex digits. quote_volume / trade counts are not hashed (the
// engine does not read them), nor is the instrument (it comes from the market catalog).
[[nodiscard]] std::string data_hash(const std::vector<symbol_data>& data);

// The content hash: 16 lower-case hex digits of fnv1a_64 over
// json{{"strategy", s.strategy}, {"params", s.params}, {"data_hash", s.data_hash}}.dump()
// (nlohmann sorts object keys, so the text is canonical). Version, date, metrics and verdict are
// not part of it: the same parameters fitted on the same data hash the same.
[[nodiscard]] std::string parameter_set_hash(const parameter_set& s);

// "model_v{N}_{YYYYMMDD}_{hash}.json" with hash = parameter_set_hash(s) (equal to s.hash for any
// saved or loaded set). Throws std::invalid_argument when version < 1 or created is not a
// YYYY-MM-DD date.
[[nodiscard]] std::string parameter_set_filename(const parameter_set& s);

// {"version", "strategy", "created", "params", "data_hash", "metrics",
//  "verdict": {"promotable", "reasons"}, "hash"}.
[[nodiscard]] nlohmann::json to_json(const parameter_set& s);

// Strict inverse of to_json: throws std::invalid_argument naming the field for a missing,
// unknown or wrongly typed field, a version < 0, a created that is not YYYY-MM-DD, a strategy
// that is empty or differs from params["strategy"] (when the document has one), and a hash that
// is not parameter_set_hash of the content (a hand-edited file).
[[nodiscard]] parameter_set parameter_set_from_json(const nlohmann::json& j);

// Writes s into dir (created when missing) as parameter_set_filename, with s.version = 1 + the
// highest N of any model_v{N}_*.json already in dir, WHATEVER ITS STRATEGY (so a version number
// names one file in a directory), and s.hash = parameter_set_hash(s). Returns the path. Never
// overwrites: the file is written under a temporary name and hard-linked into place, which fails
// (std::runtime_error) when the name exists. One writer per directory: two concurrent savers
// may both pick the same N (their files then differ by hash, or the second one throws).
// Throws std::invalid_argument for an empty strategy, a bad created date or params that is not
// an object.
std::string save_parameter_set(const std::string& dir, parameter_set s);

// The highest-version set in dir whose strategy field equals `strategy` (empty: any strategy)
// and, when promotable_only, whose stored verdict is promotable. nullopt when dir is absent or
// nothing matches. Only files named model_v{N}_{YYYYMMDD}_{16 hex}.json are considered, highest N
// first (ties by name, descending); each one read must parse strictly and agree with its name
// (version, date, hash), else std::invalid_argument naming the file.
[[nodiscard]] std::optional<parameter_set> load_latest_parameter_set(const std::string& dir, const std::string& strategy,
                                                                     bool promotable_only);

}  // namespace pt::backtest
