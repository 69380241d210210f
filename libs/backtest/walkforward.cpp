#include "backtest/walkforward.hpp"

#include <algorithm>
#include <stdexcept>

namespace pt::backtest {

namespace {

core::timestamp plus(core::timestamp t, std::chrono::milliseconds d) {
  return core::timestamp::from_nanos(t.nanos() + std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

engine_config window(const walkforward_config& cfg, const point& x, core::timestamp start, core::timestamp end) {
  engine_config c = cfg.base;
  c.params = cfg.params_of(x);
  c.start = start;
  c.end = end;
  return c;
}

}  // namespace

std::vector<fold> plan_folds(const walkforward_config& cfg, core::timestamp data_start, core::timestamp data_end) {
  if (cfg.train.count() <= 0 || cfg.test.count() <= 0) throw std::invalid_argument("walk-forward: train and test must be > 0");
  std::vector<fold> out;
  auto s = cfg.first_start.value_or(plus(data_start, cfg.warmup));
  for (;;) {
    fold f;
    f.train_start = s;
    f.train_end = plus(s, cfg.train);
    f.test_start = f.train_end;
    f.test_end = plus(f.test_start, cfg.test);
    if (f.test_end > data_end) break;
    out.push_back(f);
    s = plus(s, cfg.test);
  }
  if (out.empty()) throw std::invalid_argument("walk-forward: the data holds no whole train + test window");
  return out;
}

std::optional<double> constrained_sharpe(const engine_result& r, const walkforward_config& cfg) {
  if (!r.stats || !r.stats->sharpe) return std::nullopt;
  const auto& m = *r.stats;
  if (m.trades < cfg.min_trades) return std::nullopt;
  if (m.max_drawdown > cfg.max_drawdown) return std::nullopt;
  if (m.win_rate.value_or(0.0) < cfg.min_win_rate) return std::nullopt;
  return m.sharpe;
}

std::vector<fold> plan_folds(const walkforward_config& cfg, const std::vector<symbol_data>& data) {
  if (data.empty() || data.front().bars.empty()) throw std::invalid_argument("walk-forward: no data");
  const auto tf = strategy::parse_timeframe(cfg.base.base_timeframe);
  if (!tf) throw std::invalid_argument("walk-forward: unknown base timeframe " + cfg.base.base_timeframe);
  const auto base_ms = std::chrono::duration_cast<std::chrono::milliseconds>(strategy::duration(*tf)).count();
  std::int64_t first = data.front().bars.front().open_time_ms, last = data.front().bars.back().open_time_ms;
  for (const auto& d : data)
    if (!d.bars.empty()) {
      first = std::min(first, d.bars.front().open_time_ms);
      last = std::max(last, d.bars.back().open_time_ms);
    }
  return plan_folds(cfg, core::timestamp::from_millis(first), core::timestamp::from_millis(last + base_ms));
}

walkforward_result run_walkforward(const walkforward_config& cfg, const std::vector<symbol_data>& data) {
  if (!cfg.params_of) throw std::invalid_argument("walk-forward: params_of is required");
  walkforward_result out;
  out.folds = plan_folds(cfg, data);
  core::decimal equity = cfg.base.starting_equity;
  for (std::size_t k = 0; k < out.folds.size(); ++k) {
    auto& f = out.folds[k];
    const objective train_objective = [&](const point& x) -> std::optional<double> {
      try {
        return constrained_sharpe(run_backtest(window(cfg, x, f.train_start, f.train_end), data), cfg);
      } catch (const strategy::params_error&) {
        return std::nullopt;  // a point the strategy refuses (e.g. fast period >= slow) is infeasible
      }
    };
    const auto seed = cfg.seed + k;
    const search_result s = cfg.method == search_method::grid     ? grid_search(cfg.space, cfg.budget, train_objective)
                            : cfg.method == search_method::random ? random_search(cfg.space, cfg.budget, seed, train_objective)
                                                                  : tpe_search(cfg.space, cfg.budget, seed, train_objective);
    f.trials = s.trials.size();
    if (!s.best) continue;  // nothing feasible: the fold stays flat (no trade, equity carried)
    f.best = s.trials[*s.best].x;
    f.train_objective = s.trials[*s.best].value;
    auto c = window(cfg, f.best, f.test_start, f.test_end);
    c.starting_equity = equity;
    const auto r = run_backtest(c, data);
    f.test_stats = r.stats;
    f.test_trades = r.trades.size();
    out.oos_trades.insert(out.oos_trades.end(), r.trades.begin(), r.trades.end());
    out.oos_equity.insert(out.oos_equity.end(), r.equity.begin(), r.equity.end());
    equity = r.end_equity;
  }
  if (out.oos_equity.size() >= 1) {
    try {
      out.oos_stats = compute_metrics(out.oos_equity, out.oos_trades);
    } catch (const std::invalid_argument&) {
      // A curve that ends at or below zero mid-way: the trades stand, the statistics do not.
    }
  }
  out.oos_hash = trade_list_hash(out.oos_trades);
  return out;
}

}  // namespace pt::backtest
