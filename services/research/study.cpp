#include "study.hpp"

#include "backtest/metrics.hpp"
#include "replay/data_files.hpp"
#include "strategy/params.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace pt::research {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void only_keys(const json& obj, const std::string& where, const std::set<std::string>& allowed) {
  if (!obj.is_object()) throw study_error("study: '" + where + "' must be an object");
  for (const auto& [k, v] : obj.items())
    if (!allowed.count(k)) throw study_error("study: unknown key '" + (where.empty() ? k : where + "." + k) + "'");
}

template <class T>
T get_or(const json& obj, const std::string& key, const std::string& where, T fallback) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const std::exception& e) {
    throw study_error("study: '" + where + key + "' has the wrong type: " + e.what());
  }
}

double number_in(const json& obj, const std::string& key, const std::string& where, double fallback, double lo,
                 double hi) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw study_error("study: '" + where + key + "' must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw study_error("study: '" + where + key + "' = " + it->dump() + " is outside [" + json(lo).dump() + ", " +
                      json(hi).dump() + "]");
  return v;
}

core::decimal decimal_of(const json& obj, const std::string& key, const std::string& where, core::decimal fallback) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  const std::string text = it->is_string() ? it->get<std::string>() : it->is_number() ? it->dump() : std::string{};
  const auto d = core::decimal::try_parse(text);
  if (!d) throw study_error("study: '" + where + key + "' must be a decimal (string or number), got " + it->dump());
  return *d;
}

std::string resolve_path(const std::string& name, const std::string& base_dir) {
  if (name.empty()) return name;
  const fs::path p(name);
  if (p.is_absolute()) return p.lexically_normal().string();
  if (!base_dir.empty() && fs::exists(fs::path(base_dir) / p)) return fs::absolute(fs::path(base_dir) / p).lexically_normal().string();
  return fs::absolute(p).lexically_normal().string();
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw study_error("study: cannot read " + what + " " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

study parse_study(const json& doc, const std::string& base_dir) {
  only_keys(doc, "", {"name", "strategy_params", "params_file", "data", "symbols", "timeframe", "start", "end",
                      "costs", "account", "seed", "book", "run_checklist", "space", "search", "constraints",
                      "walkforward", "montecarlo", "stability", "promotion"});
  study s;
  s.source_doc = doc;
  s.name = get_or<std::string>(doc, "name", "", s.name);
  if (s.name.empty() || s.name.size() > 64 ||
      s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != std::string::npos)
    throw study_error("study: 'name' must be 1-64 characters of A-Z a-z 0-9 _ . -");

  // Strategy parameters: inline document or a file, exactly one.
  if (doc.contains("strategy_params") == doc.contains("params_file"))
    throw study_error("study: give exactly one of 'strategy_params' (inline) and 'params_file'");
  if (doc.contains("strategy_params")) {
    s.params_doc = doc.at("strategy_params");
  } else {
    const auto path = resolve_path(get_or<std::string>(doc, "params_file", "", ""), base_dir);
    try {
      s.params_doc = json::parse(read_file(path, "params_file"));
    } catch (const json::parse_error& e) {
      throw study_error("study: params_file " + path + " is not JSON: " + e.what());
    }
  }
  try {
    s.engine.params = strategy::parse_params(s.params_doc);
  } catch (const std::exception& e) {
    throw study_error(std::string("study: strategy parameters: ") + e.what());
  }

  const json data = doc.value("data", json::object());
  only_keys(data, "data", {"dir", "source", "catalog"});
  s.data_dir = resolve_path(get_or<std::string>(data, "dir", "data.", ""), base_dir);
  s.source = get_or<std::string>(data, "source", "data.", "");
  s.catalog = resolve_path(get_or<std::string>(data, "catalog", "data.", "docs/markets/binance-usdm.json"), base_dir);

  s.engine.symbols = get_or<std::vector<std::string>>(doc, "symbols", "", {"BTCUSDT"});
  if (s.engine.symbols.empty()) throw study_error("study: 'symbols' must not be empty");
  for (const auto& sym : s.engine.symbols)
    if (sym.empty() || sym.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
      throw study_error("study: symbol '" + sym + "' is not an upper-case venue symbol like BTCUSDT");
  s.engine.base_timeframe = get_or<std::string>(doc, "timeframe", "", "1h");
  if (!strategy::parse_timeframe(s.engine.base_timeframe))
    throw study_error("study: 'timeframe' " + s.engine.base_timeframe + " is not one of 1m 5m 15m 1h 4h 1d");
  for (const char* key : {"start", "end"}) {
    if (!doc.contains(key) || doc.at(key).is_null()) continue;
    try {
      const auto t = core::timestamp::parse_iso8601(doc.at(key).get<std::string>());
      (std::string(key) == "start" ? s.engine.start : s.engine.end) = t;
    } catch (const std::exception& e) {
      throw study_error(std::string("study: '") + key + "' must be an ISO-8601 UTC time: " + e.what());
    }
  }
  if (s.engine.start && s.engine.end && !(*s.engine.start < *s.engine.end))
    throw study_error("study: 'start' must be before 'end'");

  const json costs = doc.value("costs", json::object());
  only_keys(costs, "costs", {"taker_fee", "maker_fee", "slippage_bps", "latency_ms"});
  if (costs.contains("taker_fee") && !costs.at("taker_fee").is_null())
    s.engine.taker_fee = decimal_of(costs, "taker_fee", "costs.", core::decimal::zero());
  if (costs.contains("maker_fee") && !costs.at("maker_fee").is_null())
    s.engine.maker_fee = decimal_of(costs, "maker_fee", "costs.", core::decimal::zero());
  s.engine.slippage_bps = decimal_of(costs, "slippage_bps", "costs.", s.engine.slippage_bps);
  s.engine.latency_ms = static_cast<std::int64_t>(number_in(costs, "latency_ms", "costs.", 0, 0, 3600000));
  for (const auto* fee : {&s.engine.taker_fee, &s.engine.maker_fee})
    if (*fee && (**fee < core::decimal::zero() || core::decimal::parse("0.01") < **fee))
      throw study_error("study: a fee rate is a fraction in [0, 0.01] (0.0005 = 0.05 %)");
  if (s.engine.slippage_bps < core::decimal::zero()) throw study_error("study: 'costs.slippage_bps' must be >= 0");

  const json account = doc.value("account", json::object());
  only_keys(account, "account", {"starting_equity", "risk_percent", "leverage_cap"});
  s.engine.starting_equity = decimal_of(account, "starting_equity", "account.", s.engine.starting_equity);
  s.engine.risk_percent = decimal_of(account, "risk_percent", "account.", s.engine.risk_percent);
  s.engine.leverage_cap = decimal_of(account, "leverage_cap", "account.", s.engine.leverage_cap);
  if (!(core::decimal::zero() < s.engine.starting_equity)) throw study_error("study: 'account.starting_equity' must be > 0");
  // The hard caps (1 % risk, 5x) are enforced again by libs/risk; saying so here is clearer.
  if (!(core::decimal::zero() < s.engine.risk_percent) || core::decimal::one() < s.engine.risk_percent)
    throw study_error("study: 'account.risk_percent' must be in (0, 1] (the hard cap is 1 %)");
  if (!(core::decimal::zero() < s.engine.leverage_cap) || core::decimal::from_integer(5) < s.engine.leverage_cap)
    throw study_error("study: 'account.leverage_cap' must be in (0, 5] (the hard cap is 5x)");

  s.engine.seed = get_or<std::uint64_t>(doc, "seed", "", 1);
  const auto book = get_or<std::string>(doc, "book", "", "synthetic");
  if (book == "synthetic") s.engine.book = backtest::book_model::synthetic;
  else if (book == "tick_spread") s.engine.book = backtest::book_model::tick_spread;
  else throw study_error("study: 'book' must be synthetic or tick_spread, got " + book);
  s.engine.run_checklist = get_or<bool>(doc, "run_checklist", "", true);

  // The space: numeric fields of the parameter document only.
  const json space = doc.value("space", json::array());
  if (!space.is_array()) throw study_error("study: 'space' must be an array");
  std::set<std::string> seen;
  for (const auto& d : space) {
    only_keys(d, "space[]", {"name", "low", "high", "integer"});
    backtest::dimension dim;
    dim.name = get_or<std::string>(d, "name", "space[].", "");
    if (!s.params_doc.contains(dim.name) || !s.params_doc.at(dim.name).is_number() || dim.name == "version")
      throw study_error("study: space dimension '" + dim.name + "' is not a numeric field of the " +
                        std::string(strategy::strategy_name(s.engine.params)) +
                        " parameters (only strategy parameters are tunable, never the risk caps)");
    if (!seen.insert(dim.name).second) throw study_error("study: space dimension '" + dim.name + "' is given twice");
    dim.low = number_in(d, "low", "space[].", 0, -1e9, 1e9);
    dim.high = number_in(d, "high", "space[].", 0, -1e9, 1e9);
    dim.integer = get_or<bool>(d, "integer", "space[].", s.params_doc.at(dim.name).is_number_integer());
    if (!(dim.low < dim.high)) throw study_error("study: space dimension '" + dim.name + "' needs low < high");
    s.space.push_back(dim);
  }

  const json search = doc.value("search", json::object());
  only_keys(search, "search", {"method", "budget", "seed"});
  const auto method = get_or<std::string>(search, "method", "search.", "tpe");
  if (method == "grid") s.method = backtest::search_method::grid;
  else if (method == "random") s.method = backtest::search_method::random;
  else if (method == "tpe") s.method = backtest::search_method::tpe;
  else throw study_error("study: 'search.method' must be grid, random or tpe, got " + method);
  s.budget = static_cast<int>(number_in(search, "budget", "search.", s.budget, 1, 100000));
  s.search_seed = get_or<std::uint64_t>(search, "seed", "search.", 1);

  const json cons = doc.value("constraints", json::object());
  only_keys(cons, "constraints", {"max_drawdown", "min_win_rate", "min_trades"});
  s.max_drawdown = number_in(cons, "max_drawdown", "constraints.", s.max_drawdown, 0, 1);
  s.min_win_rate = number_in(cons, "min_win_rate", "constraints.", s.min_win_rate, 0, 1);
  s.min_trades = static_cast<int>(number_in(cons, "min_trades", "constraints.", s.min_trades, 0, 1e6));

  const json wf = doc.value("walkforward", json::object());
  only_keys(wf, "walkforward", {"train_days", "test_days", "warmup_days"});
  s.train_days = number_in(wf, "train_days", "walkforward.", s.train_days, 0.01, 3650);
  s.test_days = number_in(wf, "test_days", "walkforward.", s.test_days, 0.01, 3650);
  s.warmup_days = number_in(wf, "warmup_days", "walkforward.", s.warmup_days, 0, 3650);

  const json mc = doc.value("montecarlo", json::object());
  only_keys(mc, "montecarlo", {"paths", "seed", "noise"});
  s.mc_paths = static_cast<int>(number_in(mc, "paths", "montecarlo.", s.mc_paths, 1, 1e6));
  s.mc_seed = get_or<std::uint64_t>(mc, "seed", "montecarlo.", 1);
  s.mc_noise = number_in(mc, "noise", "montecarlo.", s.mc_noise, 0, 10);

  if (doc.contains("stability")) {
    const json st = doc.at("stability");
    only_keys(st, "stability", {"x", "y", "steps"});
    s.stability_x = get_or<std::string>(st, "x", "stability.", "");
    s.stability_y = get_or<std::string>(st, "y", "stability.", "");
    s.stability_steps = static_cast<int>(number_in(st, "steps", "stability.", s.stability_steps, 2, 50));
    for (const auto* n : {&*s.stability_x, &*s.stability_y}) {
      bool found = false;
      for (const auto& d : s.space) found |= d.name == *n;
      if (!found) throw study_error("study: stability dimension '" + *n + "' is not in 'space'");
    }
    if (*s.stability_x == *s.stability_y) throw study_error("study: stability x and y must differ");
  }

  const json promo = doc.value("promotion", json::object());
  only_keys(promo, "promotion", {"min_profit_factor", "min_sharpe", "max_drawdown", "min_trades"});
  s.promo_min_pf = number_in(promo, "min_profit_factor", "promotion.", s.promo_min_pf, 0, 100);
  s.promo_min_sharpe = number_in(promo, "min_sharpe", "promotion.", s.promo_min_sharpe, -100, 100);
  s.promo_max_drawdown = number_in(promo, "max_drawdown", "promotion.", s.promo_max_drawdown, 0, 1);
  s.promo_min_trades = static_cast<int>(number_in(promo, "min_trades", "promotion.", s.promo_min_trades, 0, 1e6));
  return s;
}

void apply_override(json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw study_error("study: --set wants key=value, got '" + assignment + "'");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  json* at = &doc;
  std::size_t from = 0;
  for (;;) {
    const auto dot = path.find('.', from);
    const std::string key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (key.empty()) throw study_error("study: --set key '" + path + "' has an empty part");
    if (!at->is_object()) throw study_error("study: --set " + path + ": '" + key + "' is not inside an object");
    if (dot == std::string::npos) {
      (*at)[key] = value;
      return;
    }
    if (!at->contains(key)) (*at)[key] = json::object();
    at = &(*at)[key];
    from = dot + 1;
  }
}

study load_study_file(const std::string& path, const std::vector<std::string>& overrides) {
  json doc;
  try {
    doc = json::parse(read_file(path, "study file"));
  } catch (const json::parse_error& e) {
    throw study_error("study: " + path + " is not JSON: " + e.what());
  }
  for (const auto& o : overrides) apply_override(doc, o);
  return parse_study(doc, fs::path(path).parent_path().string());
}

json resolved_json(const study& s) {
  json doc = s.source_doc;
  doc.erase("params_file");
  doc["strategy_params"] = s.params_doc;
  json data = doc.value("data", json::object());
  data["dir"] = s.data_dir;
  data["catalog"] = s.catalog;
  if (!s.source.empty()) data["source"] = s.source;
  doc["data"] = data;
  return doc;
}

json params_doc_at(const study& s, const backtest::point& x) {
  if (x.size() != s.space.size())
    throw study_error("study: a point has " + std::to_string(x.size()) + " values, the space " +
                      std::to_string(s.space.size()) + " dimensions");
  json doc = s.params_doc;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (s.space[i].integer) doc[s.space[i].name] = static_cast<std::int64_t>(std::llround(x[i]));
    else doc[s.space[i].name] = x[i];
  }
  return doc;
}

strategy::any_params params_at(const study& s, const backtest::point& x) {
  return strategy::parse_params(params_doc_at(s, x));
}

backtest::engine_config engine_at(const study& s, const backtest::point& x) {
  backtest::engine_config c = s.engine;
  c.params = params_at(s, x);
  return c;
}

backtest::walkforward_config walkforward_of(const study& s) {
  backtest::walkforward_config w;
  w.base = s.engine;
  w.space = s.space;
  w.params_of = [&s](const backtest::point& x) { return params_at(s, x); };
  const auto hours = [](double days) { return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(days * 86400000.0))); };
  w.train = hours(s.train_days);
  w.test = hours(s.test_days);
  w.warmup = hours(s.warmup_days);
  w.first_start = s.engine.start;
  w.method = s.method;
  w.budget = s.budget;
  w.seed = s.search_seed;
  w.max_drawdown = s.max_drawdown;
  w.min_win_rate = s.min_win_rate;
  w.min_trades = s.min_trades;
  return w;
}

const std::vector<backtest::symbol_data>& data_cache::get(const study& s) {
  std::string key = s.data_dir + "|" + s.source + "|" + s.catalog + "|" + s.engine.base_timeframe;
  for (const auto& sym : s.engine.symbols) key += "|" + sym;
  std::lock_guard lock(mu_);
  auto& slot = cache_[key];
  if (!slot) {
    std::string dir = s.data_dir;
    if (dir.empty()) {
      const auto found = replay::find_data_dir(fs::path("..") / "shared" / "data");
      if (!found) throw study_error("study: no data folder: set data.dir or $POLYTRADE_DATA");
      dir = found->string();
    }
    slot = std::make_shared<const std::vector<backtest::symbol_data>>(backtest::load_recorded(s.engine, dir, s.catalog, s.source));
  }
  return *slot;
}

std::vector<backtest::point> sweep_points(const study& s) {
  if (s.space.empty()) return {backtest::point{}};
  std::vector<backtest::point> out;
  const auto collect = [&out](const backtest::point& x) -> std::optional<double> {
    out.push_back(x);
    return 0.0;
  };
  switch (s.method) {
    case backtest::search_method::grid: (void)backtest::grid_search(s.space, s.budget, collect); break;
    case backtest::search_method::random: (void)backtest::random_search(s.space, s.budget, s.search_seed, collect); break;
    case backtest::search_method::tpe:
      throw study_error("study: a distributed sweep needs search.method grid or random (TPE is sequential)");
  }
  return out;
}

json evaluate_point(const study& s, const std::vector<backtest::symbol_data>& data, const backtest::point& x) {
  backtest::engine_config c;
  try {
    c = engine_at(s, x);
  } catch (const strategy::params_error& e) {  // infeasible, not a failure: the sweep goes on
    return {{"point", x}, {"objective", nullptr}, {"metrics", nullptr}, {"trades", 0}, {"hash", ""},
            {"end_equity", nullptr}, {"refused", e.what()}};
  }
  const auto r = backtest::run_backtest(c, data);
  const auto w = walkforward_of(s);
  const auto objective = backtest::constrained_sharpe(r, w);
  json out;
  out["point"] = x;
  out["objective"] = objective ? json(*objective) : json(nullptr);
  out["metrics"] = r.stats ? backtest::to_json(*r.stats) : json(nullptr);
  out["trades"] = r.trades.size();
  out["hash"] = r.hash;
  out["end_equity"] = r.end_equity.to_string();
  return out;
}

}  // namespace pt::research
