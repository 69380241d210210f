#include "commands.hpp"

#include "backtest/metrics.hpp"
#include "backtest/paramset.hpp"
#include "backtest/report.hpp"
#include "backtest/stability.hpp"
#include "backtest/validation.hpp"
#include "strategy/params.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace pt::research {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::ofstream open_out(const std::string& dir, const std::string& name) {
  fs::create_directories(dir);
  std::ofstream out(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
  if (!out) throw study_error("cannot write " + (fs::path(dir) / name).string());
  return out;
}

void write_text(const std::string& dir, const std::string& name, const std::string& text) {
  auto out = open_out(dir, name);
  out << text;
  if (!out) throw study_error("cannot write " + (fs::path(dir) / name).string());
}

json point_json(const study& s, const backtest::point& x) {
  json out = json::object();
  for (std::size_t i = 0; i < x.size() && i < s.space.size(); ++i) {
    if (s.space[i].integer) out[s.space[i].name] = static_cast<std::int64_t>(std::llround(x[i]));
    else out[s.space[i].name] = x[i];
  }
  return out;
}

// Close prices per symbol for the report's "trades on price" chart, inside [from, to].
std::vector<std::pair<std::string, std::vector<std::pair<core::timestamp, double>>>> prices_of(
    const std::vector<backtest::symbol_data>& data, const std::vector<backtest::equity_point>& equity) {
  std::vector<std::pair<std::string, std::vector<std::pair<core::timestamp, double>>>> out;
  if (equity.empty()) return out;
  const auto from = equity.front().at.nanos() / 1000000, to = equity.back().at.nanos() / 1000000;
  for (const auto& d : data) {
    std::vector<std::pair<core::timestamp, double>> series;
    for (const auto& b : d.bars)
      if (b.open_time_ms >= from && b.open_time_ms <= to)
        series.emplace_back(core::timestamp::from_millis(b.open_time_ms), b.close.to_double());
    out.emplace_back(d.symbol, std::move(series));
  }
  return out;
}

void write_report(const command_options& opt, const std::string& title, const study& s,
                  const std::optional<backtest::metrics>& stats, const std::vector<backtest::equity_point>& equity,
                  const std::vector<backtest::trade_record>& trades, const std::string& hash,
                  const std::vector<backtest::symbol_data>& data, const std::optional<backtest::stability_map>& stab,
                  std::vector<std::pair<std::string, std::string>> notes) {
  backtest::report_input in;
  in.title = title;
  in.config = s.source_doc;
  in.stats = stats;
  in.equity = equity;
  in.trades = trades;
  in.prices = prices_of(data, equity);
  in.hash = hash;
  if (stab) {
    backtest::report_input::heatmap h;
    h.x_name = stab->x_name;
    h.y_name = stab->y_name;
    h.xs = stab->xs;
    h.ys = stab->ys;
    h.values = stab->values;
    in.stability = h;
  }
  in.notes = std::move(notes);
  write_text(opt.out_dir, "report.html", backtest::render_html_report(in));
}

void write_curves(const command_options& opt, const std::vector<backtest::trade_record>& trades,
                  const std::vector<backtest::equity_point>& equity) {
  {
    auto out = open_out(opt.out_dir, "trades.csv");
    backtest::write_trades_csv(out, trades);
  }
  auto out = open_out(opt.out_dir, "equity.csv");
  backtest::write_equity_csv(out, equity);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Per-period Sharpe, skewness and kurtosis (not excess) of a return series.
struct moments {
  double sharpe = 0, skew = 0, kurt = 3;
  bool ok = false;
};
moments moments_of(const std::vector<double>& r) {
  moments m;
  if (r.size() < 3) return m;
  const double mu = mean_of(r);
  double m2 = 0, m3 = 0, m4 = 0;
  for (double x : r) {
    const double d = x - mu;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const double n = static_cast<double>(r.size());
  const double var_pop = m2 / n;
  if (var_pop <= 0) return m;
  const double sd = std::sqrt(m2 / (n - 1));
  m.sharpe = mu / sd;
  m.skew = (m3 / n) / std::pow(var_pop, 1.5);
  m.kurt = (m4 / n) / (var_pop * var_pop);
  m.ok = std::isfinite(m.sharpe) && std::isfinite(m.skew) && std::isfinite(m.kurt);
  return m;
}

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

backtest::promotion_rule rule_of(const study& s) {
  backtest::promotion_rule r;
  r.min_profit_factor = s.promo_min_pf;
  r.min_sharpe = s.promo_min_sharpe;
  r.max_drawdown = s.promo_max_drawdown;
  r.min_trades = s.promo_min_trades;
  return r;
}

json verdict_json(const backtest::promotion_verdict& v) { return {{"promotable", v.promotable}, {"reasons", v.reasons}}; }

json mc_json(const backtest::mc_summary& m) {
  const auto r = [](const backtest::mc_result& x) { return json{{"p05", x.p05}, {"p50", x.p50}, {"p95", x.p95}}; };
  return {{"paths", m.paths},
          {"total_return", r(m.total_return)},
          {"max_drawdown", r(m.max_drawdown)},
          {"sharpe", r(m.sharpe)},
          {"ruin_probability", m.ruin_probability}};
}

std::string method_name(backtest::search_method m) {
  return m == backtest::search_method::grid ? "grid" : m == backtest::search_method::random ? "random" : "tpe";
}

}  // namespace

backtest::point default_point(const study& s) {
  backtest::point x;
  for (const auto& d : s.space) x.push_back(s.params_doc.at(d.name).get<double>());
  return x;
}

json run_backtest_command(const study& s, const std::vector<backtest::symbol_data>& data, const command_options& opt) {
  if (opt.progress) opt.progress(0, 1);
  const auto x = default_point(s);
  const auto r = backtest::run_backtest(engine_at(s, x), data);
  if (opt.progress) opt.progress(1, 1);
  json out{{"command", "backtest"},
           {"study", s.name},
           {"strategy", std::string(strategy::strategy_name(s.engine.params))},
           {"symbols", s.engine.symbols},
           {"timeframe", s.engine.base_timeframe},
           {"bars", r.bars},
           {"trades", r.trades.size()},
           {"hash", r.hash},
           {"data_hash", backtest::data_hash(data)},
           {"end_equity", r.end_equity.to_string()},
           {"metrics", r.stats ? backtest::to_json(*r.stats) : json(nullptr)}};
  write_curves(opt, r.trades, r.equity);
  {
    // Every decision, rejection and execution: why a run traded (or did not).
    auto csv = open_out(opt.out_dir, "decisions.csv");
    csv << "at,kind,symbol,side,qty,price,text\n";
    for (const auto& d : r.decisions)
      csv << d.at.to_iso8601() << "," << d.kind << "," << backtest::csv_field(d.symbol) << "," << d.side << ","
          << d.qty.to_string() << "," << d.price.to_string() << "," << backtest::csv_field(d.text) << "\n";
  }
  write_text(opt.out_dir, "metrics.json", out.dump(2) + "\n");
  write_report(opt, "backtest " + s.name, s, r.stats, r.equity, r.trades, r.hash, data, std::nullopt,
               {{"kind", "in-sample backtest: not evidence of an edge"}});
  return out;
}

json run_optimize_command(const study& s, const std::vector<backtest::symbol_data>& data, const command_options& opt) {
  if (s.space.empty()) throw study_error("optimize: the study has no 'space' to search");
  const auto w = walkforward_of(s);
  std::size_t done = 0;
  const std::size_t planned = s.method == backtest::search_method::grid ? sweep_points(s).size() : static_cast<std::size_t>(s.budget);
  std::vector<std::vector<double>> returns;  // per trial, for PBO and the deflated Sharpe
  std::vector<json> rows;
  // The best trial's run, kept as the searchers pick it (the first of the largest finite
  // objectives), so its curves and report need no second backtest.
  std::optional<double> best_value;
  std::optional<backtest::engine_result> best_run;
  const backtest::objective f = [&](const backtest::point& x) -> std::optional<double> {
    backtest::engine_config c;
    try {
      c = engine_at(s, x);
    } catch (const strategy::params_error& e) {  // a point the strategy refuses is infeasible
      returns.emplace_back();
      rows.push_back({{"point", point_json(s, x)}, {"objective", nullptr}, {"trades", 0}, {"hash", ""},
                      {"metrics", nullptr}, {"refused", e.what()}});
      if (opt.progress) opt.progress(++done, std::max(planned, done));
      return std::nullopt;
    }
    const auto r = backtest::run_backtest(c, data);
    returns.push_back(backtest::period_returns(r.equity));
    const auto v = backtest::constrained_sharpe(r, w);
    rows.push_back({{"point", point_json(s, x)}, {"objective", opt_json(v)}, {"trades", r.trades.size()}, {"hash", r.hash},
                    {"metrics", r.stats ? backtest::to_json(*r.stats) : json(nullptr)}});
    if (opt.progress) opt.progress(++done, std::max(planned, done));
    if (v && std::isfinite(*v) && (!best_value || *v > *best_value)) {
      best_value = v;
      best_run = r;
    }
    return v;
  };
  const auto res = s.method == backtest::search_method::grid     ? backtest::grid_search(s.space, s.budget, f)
                   : s.method == backtest::search_method::random ? backtest::random_search(s.space, s.budget, s.search_seed, f)
                                                                 : backtest::tpe_search(s.space, s.budget, s.search_seed, f);
  json out{{"command", "optimize"}, {"study", s.name}, {"method", method_name(s.method)}, {"trials", res.trials.size()},
           {"data_hash", backtest::data_hash(data)}};
  {
    auto csv = open_out(opt.out_dir, "trials.csv");
    csv << "trial";
    for (const auto& d : s.space) csv << "," << d.name;
    csv << ",objective,trades,hash\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      csv << i;
      for (const auto& d : s.space) csv << "," << rows[i]["point"][d.name].dump();
      csv << "," << (rows[i]["objective"].is_null() ? std::string{} : rows[i]["objective"].dump()) << ","
          << rows[i]["trades"].dump() << "," << rows[i]["hash"].get<std::string>() << "\n";
    }
  }
  // Overfitting: deflated Sharpe of the best over the feasible trials, PBO by CSCV over all.
  std::vector<double> feasible_sr;
  for (std::size_t i = 0; i < res.trials.size(); ++i)
    if (res.trials[i].value) {
      const auto m = moments_of(returns[i]);
      if (m.ok) feasible_sr.push_back(m.sharpe);
    }
  json overfit = json::object();
  if (res.best) {
    const auto i = *res.best;
    out["best"] = rows[i];
    const auto m = moments_of(returns[i]);
    if (m.ok && feasible_sr.size() >= 2) {
      const double mu = mean_of(feasible_sr);
      double v = 0;
      for (double x : feasible_sr) v += (x - mu) * (x - mu);
      v /= static_cast<double>(feasible_sr.size() - 1);
      overfit["deflated_sharpe"] = backtest::deflated_sharpe(m.sharpe, static_cast<int>(returns[i].size()), m.skew, m.kurt,
                                                             v, static_cast<int>(feasible_sr.size()));
      overfit["probabilistic_sharpe"] =
          backtest::probabilistic_sharpe(m.sharpe, 0.0, static_cast<int>(returns[i].size()), m.skew, m.kurt);
    }
  } else {
    out["best"] = nullptr;
  }
  std::size_t len = returns.empty() ? 0 : returns.front().size();
  bool same = returns.size() >= 2;
  for (const auto& r : returns) same &= r.size() == len;
  if (same && len >= 32) {
    const auto p = backtest::probability_of_overfitting(returns, 16);
    overfit["pbo"] = p.pbo;
    overfit["pbo_combinations"] = p.combinations;
  }
  out["overfitting"] = overfit;
  out["all_trials"] = rows;

  std::optional<backtest::stability_map> stab;
  if (s.stability_x && res.best) {
    std::size_t ix = 0, iy = 0;
    for (std::size_t k = 0; k < s.space.size(); ++k) {
      if (s.space[k].name == *s.stability_x) ix = k;
      if (s.space[k].name == *s.stability_y) iy = k;
    }
    const backtest::objective g = [&](const backtest::point& x) -> std::optional<double> {
      try {
        return backtest::constrained_sharpe(backtest::run_backtest(engine_at(s, x), data), w);
      } catch (const strategy::params_error&) {
        return std::nullopt;
      }
    };
    stab = backtest::parameter_stability(s.space, res.trials[*res.best].x, ix, iy, s.stability_steps, s.stability_steps,
                                         g, 0.25);
    auto csv = open_out(opt.out_dir, "stability.csv");
    backtest::write_stability_csv(csv, *stab);
    out["stability"] = backtest::to_json(*stab);
  }
  write_text(opt.out_dir, "metrics.json", out.dump(2) + "\n");
  if (res.best && best_run) {
    const auto& r = *best_run;
    write_curves(opt, r.trades, r.equity);
    write_report(opt, "optimize " + s.name + " (best trial, in sample)", s, r.stats, r.equity, r.trades, r.hash, data, stab,
                 {{"best point", point_json(s, res.trials[*res.best].x).dump()},
                  {"kind", "in-sample optimum: only walk-forward says what it earns"}});
  } else {
    write_report(opt, "optimize " + s.name + " (no feasible trial)", s, std::nullopt, {}, {}, "", data, stab, {});
  }
  return out;
}

json run_walkforward_command(const study& s, const std::vector<backtest::symbol_data>& data, const command_options& opt) {
  if (s.space.empty()) throw study_error("walkforward: the study has no 'space' to search in each train window");
  auto w = walkforward_of(s);
  std::size_t done = 0, total = 0;
  {
    const std::size_t per = s.method == backtest::search_method::grid ? sweep_points(s).size() : static_cast<std::size_t>(s.budget);
    total = backtest::plan_folds(w, data).size() * (per + 1);
  }
  const auto inner = w.params_of;
  w.params_of = [&](const backtest::point& x) {
    if (opt.progress) opt.progress(++done, std::max(total, done));
    return inner(x);
  };
  const auto r = backtest::run_walkforward(w, data);
  const auto verdict = backtest::evaluate_promotion(r.oos_stats, rule_of(s));
  json folds = json::array();
  {
    auto csv = open_out(opt.out_dir, "folds.csv");
    csv << "fold,train_start,train_end,test_start,test_end,train_objective,test_trades,test_return,test_sharpe";
    for (const auto& d : s.space) csv << "," << d.name;
    csv << "\n";
    for (std::size_t k = 0; k < r.folds.size(); ++k) {
      const auto& f = r.folds[k];
      folds.push_back({{"train_start", f.train_start.to_iso8601()}, {"train_end", f.train_end.to_iso8601()},
                       {"test_start", f.test_start.to_iso8601()}, {"test_end", f.test_end.to_iso8601()},
                       {"best", f.best.empty() ? json(nullptr) : point_json(s, f.best)},
                       {"train_objective", opt_json(f.train_objective)}, {"trials", f.trials},
                       {"test_trades", f.test_trades},
                       {"test_metrics", f.test_stats ? backtest::to_json(*f.test_stats) : json(nullptr)}});
      csv << k << "," << f.train_start.to_iso8601() << "," << f.train_end.to_iso8601() << "," << f.test_start.to_iso8601()
          << "," << f.test_end.to_iso8601() << "," << (f.train_objective ? json(*f.train_objective).dump() : "") << ","
          << f.test_trades << "," << (f.test_stats ? json(f.test_stats->total_return).dump() : "") << ","
          << (f.test_stats && f.test_stats->sharpe ? json(*f.test_stats->sharpe).dump() : "");
      for (std::size_t i = 0; i < s.space.size(); ++i) csv << "," << (f.best.empty() ? "" : json(f.best[i]).dump());
      csv << "\n";
    }
  }
  json out{{"command", "walkforward"},
           {"study", s.name},
           {"strategy", std::string(strategy::strategy_name(s.engine.params))},
           {"symbols", s.engine.symbols},
           {"timeframe", s.engine.base_timeframe},
           {"method", method_name(s.method)},
           {"budget", s.budget},
           {"folds", folds},
           {"oos_trades", r.oos_trades.size()},
           {"oos_hash", r.oos_hash},
           {"data_hash", backtest::data_hash(data)},
           {"oos_metrics", r.oos_stats ? backtest::to_json(*r.oos_stats) : json(nullptr)},
           {"promotion", verdict_json(verdict)}};
  // The parameter set: the last fold's choice (the one that would trade next), judged by the
  // stitched out-of-sample record.
  const backtest::fold* last = nullptr;
  for (const auto& f : r.folds)
    if (!f.best.empty()) last = &f;
  if (last && !opt.models_dir.empty()) {
    backtest::parameter_set ps;
    ps.strategy = std::string(strategy::strategy_name(s.engine.params));
    ps.created = opt.today;
    ps.params = params_doc_at(s, last->best);
    ps.data_hash = backtest::data_hash(data);
    ps.metrics = {{"oos", out["oos_metrics"]}, {"oos_hash", r.oos_hash}, {"study", s.name}, {"symbols", s.engine.symbols},
                  {"timeframe", s.engine.base_timeframe}, {"folds", r.folds.size()}};
    ps.verdict = verdict;
    out["parameter_set"] = backtest::save_parameter_set(opt.models_dir, ps);
  }
  write_curves(opt, r.oos_trades, r.oos_equity);
  write_text(opt.out_dir, "metrics.json", out.dump(2) + "\n");
  std::vector<std::pair<std::string, std::string>> notes{
      {"kind", "walk-forward: out-of-sample test windows stitched"},
      {"promotable", verdict.promotable ? "yes" : "no"}};
  for (const auto& line : verdict.reasons) notes.emplace_back("gate", line);
  write_report(opt, "walk-forward " + s.name + " (out of sample)", s, r.oos_stats, r.oos_equity, r.oos_trades, r.oos_hash,
               data, std::nullopt, notes);
  return out;
}

json run_montecarlo_command(const study& s, const std::vector<backtest::symbol_data>& data, const command_options& opt,
                            bool of_walkforward) {
  std::vector<backtest::trade_record> trades;
  std::vector<backtest::equity_point> equity;
  std::string hash;
  if (of_walkforward) {
    const auto r = backtest::run_walkforward(walkforward_of(s), data);
    trades = r.oos_trades;
    equity = r.oos_equity;
    hash = r.oos_hash;
  } else {
    const auto r = backtest::run_backtest(engine_at(s, default_point(s)), data);
    trades = r.trades;
    equity = r.equity;
    hash = r.hash;
  }
  if (opt.progress) opt.progress(1, 3);
  std::vector<core::decimal> pnls;
  for (const auto& t : trades) pnls.push_back(t.pnl);
  json out{{"command", "montecarlo"}, {"study", s.name}, {"of", of_walkforward ? "walkforward_oos" : "backtest"},
           {"trades", trades.size()}, {"hash", hash}, {"paths", s.mc_paths}, {"seed", s.mc_seed}};
  if (pnls.size() >= 2) {
    out["trade_bootstrap"] = mc_json(backtest::monte_carlo_trades(pnls, s.engine.starting_equity, s.mc_paths, s.mc_seed));
  } else {
    out["trade_bootstrap"] = nullptr;
    out["trade_bootstrap_skipped"] = "fewer than 2 trades";
  }
  if (opt.progress) opt.progress(2, 3);
  const auto rets = backtest::period_returns(equity);
  if (rets.size() >= 2) {
    out["return_perturbation"] = mc_json(backtest::monte_carlo_returns(rets, s.mc_paths, s.mc_noise, s.mc_seed));
    out["return_perturbation"]["noise_sd_fraction"] = s.mc_noise;
  } else {
    out["return_perturbation"] = nullptr;
  }
  if (opt.progress) opt.progress(3, 3);
  write_text(opt.out_dir, "metrics.json", out.dump(2) + "\n");
  return out;
}

}  // namespace pt::research
