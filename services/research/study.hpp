#pragma once
// A research study: one JSON file saying what to test (strategy parameters, symbols, window,
// costs, account), what may be tuned (the search space) and how (search, constraints,
// walk-forward windows, Monte Carlo, stability map, promotion rule). The `polytrade` CLI and
// the `research` workers both run studies through this file's functions, so a sweep split
// over NATS computes exactly what the CLI computes on one core.
//
// Parsing is strict: an unknown key, a wrong type or an out-of-range value is a study_error
// naming the key. The search space may only name numeric fields of the strategy's parameter
// document (libs/strategy/params/*.v1.json): the risk caps are not in that document, so no
// search can ever tune them.
#include "backtest/engine.hpp"
#include "backtest/optimize.hpp"
#include "backtest/walkforward.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt::research {

class study_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct study {
  std::string name = "study";
  nlohmann::json params_doc;  // the strategy parameter document (inline after resolve)
  std::string data_dir;       // "" = $POLYTRADE_DATA, else ../shared/data
  std::string source;         // data source sub-folder ("" = venue-sim's pick)
  std::string catalog;        // market catalog file
  backtest::engine_config engine;  // symbols, timeframe, window, costs, account, seed, book
  std::vector<backtest::dimension> space;
  backtest::search_method method = backtest::search_method::tpe;
  int budget = 30;
  std::uint64_t search_seed = 1;
  double max_drawdown = 0.25, min_win_rate = 0.0;
  int min_trades = 3;
  double train_days = 90, test_days = 30, warmup_days = 60;
  int mc_paths = 1000;
  std::uint64_t mc_seed = 1;
  double mc_noise = 0.5;  // return perturbation: noise sd as a fraction of the returns' sd
  std::optional<std::string> stability_x, stability_y;
  int stability_steps = 7;
  double promo_min_pf = 1.2, promo_min_sharpe = 1.0, promo_max_drawdown = 0.25;
  int promo_min_trades = 20;
  nlohmann::json source_doc;  // the study as given (echoed in reports)
};

// Parses a study document. `base_dir` resolves relative file names (params_file, catalog,
// data.dir): absolute names are kept, relative ones are tried against base_dir, then the
// current directory. The parameter document is read here, so a study is self-contained after
// parsing (resolved_json() is what a worker receives).
[[nodiscard]] study parse_study(const nlohmann::json& doc, const std::string& base_dir);
[[nodiscard]] study load_study_file(const std::string& path, const std::vector<std::string>& overrides = {});
// One `--set key.sub=value` override: value is JSON when it parses ("[\"ETHUSDT\"]", "0.5",
// "{...}"), else a string ("freqtrade_cyft_trader"). Objects on the path are created. The study
// is validated after all overrides, so a bad key still fails parse_study.
void apply_override(nlohmann::json& doc, const std::string& assignment);
// The study as a self-contained document: params inline, paths absolute. parse_study of it
// gives the same study anywhere on this machine.
[[nodiscard]] nlohmann::json resolved_json(const study& s);

// A point of the space as strategy parameters: the document with each dimension's field set
// (integers rounded) and parsed strictly (libs/strategy rejects out-of-range values).
[[nodiscard]] strategy::any_params params_at(const study& s, const backtest::point& x);
// The parameter document at a point (what a parameter set stores).
[[nodiscard]] nlohmann::json params_doc_at(const study& s, const backtest::point& x);
// The engine configuration at a point (window from the study).
[[nodiscard]] backtest::engine_config engine_at(const study& s, const backtest::point& x);
[[nodiscard]] backtest::walkforward_config walkforward_of(const study& s);

// Recorded data for a study, cached per (dir, source, catalog, symbols, timeframe): a worker
// loads each data set once. Thread-safe.
class data_cache {
 public:
  const std::vector<backtest::symbol_data>& get(const study& s);
 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::vector<backtest::symbol_data>>> cache_;
};

// The points of a distributed sweep, fixed before any job runs: grid (budget steps per
// dimension) or random (budget points, search seed). TPE is sequential and is not split.
[[nodiscard]] std::vector<backtest::point> sweep_points(const study& s);

// One evaluation: the backtest at x over the study's window. The result document holds the
// point, the objective (constrained Sharpe, null when infeasible), the metrics, trade count
// and the trade-list hash; it is what a worker stores and what the CLI prints.
[[nodiscard]] nlohmann::json evaluate_point(const study& s, const std::vector<backtest::symbol_data>& data,
                                            const backtest::point& x);

// Progress of a long command: done out of total (total may grow when unknown in advance).
using progress_fn = std::function<void(std::size_t done, std::size_t total)>;

}  // namespace pt::research
