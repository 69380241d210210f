#pragma once
// Test helpers: bar construction, parameter files with overrides, and small independent
// reference computations (naive loops, not the indicators library) for expected values.
#include "strategy/strategy.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pt::strategy::test {

using namespace std::chrono_literals;

inline decimal dec(double x) { return to_decimal(x); }

// 2025-01-01T00:00:00Z
inline timestamp t0() { return timestamp::from_seconds(1735689600); }

inline bar make_bar(timestamp open_time, double o, double h, double l, double c, double v = 100) {
  return bar{open_time, dec(o), dec(h), dec(l), dec(c), dec(v)};
}

inline nlohmann::json params_json(const std::string& name) {
  std::ifstream in(std::string(STRATEGY_PARAMS_DIR) + "/" + name + ".v1.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

inline std::unique_ptr<strategy> make(const std::string& name, const nlohmann::json& overrides = nlohmann::json::object()) {
  auto doc = params_json(name);
  for (auto& [k, v] : overrides.items()) doc[k] = v;
  return make_strategy(parse_params(doc), context{"sim", "BTCUSDT"});
}

inline std::string dump(const output& o) {
  nlohmann::json j;
  j["signal"] = o.signal;
  if (o.proposal) j["proposal"] = *o.proposal;
  if (o.exit) j["exit"] = *o.exit;
  return j.dump();
}

// Naive Wilder ATR over a whole series (TA-Lib seeding: mean of the first n true ranges from the
// second bar, then Wilder smoothing). Returns the ATR after the last bar.
inline double naive_atr(const std::vector<bar>& bars, int n) {
  std::vector<double> tr;
  for (std::size_t i = 1; i < bars.size(); ++i) {
    const double h = bars[i].high.to_double(), l = bars[i].low.to_double(), pc = bars[i - 1].close.to_double();
    tr.push_back(std::max({h - l, std::fabs(h - pc), std::fabs(l - pc)}));
  }
  double atr = 0;
  for (int i = 0; i < n; ++i) atr += tr[static_cast<std::size_t>(i)];
  atr /= n;
  for (std::size_t i = static_cast<std::size_t>(n); i < tr.size(); ++i) atr = (atr * (n - 1) + tr[i]) / n;
  return atr;
}

// Daily bars d_i = start + step*i for `count` days before `first_open`+count days, fed with now =
// each bar's close. Returns the bars.
inline std::vector<bar> daily_series(timestamp first_open, int count, double start, double step) {
  std::vector<bar> out;
  double prev = start - step;
  for (int i = 0; i < count; ++i) {
    const double c = start + step * i;
    out.push_back(make_bar(first_open + i * 24h, prev, std::max(prev, c) + 50, std::min(prev, c) - 50, c));
    prev = c;
  }
  return out;
}

// Mirror a bar around k (a rising series becomes a falling one with the same shape).
inline bar mirror(const bar& b, double k) {
  return make_bar(b.open_time, k - b.open.to_double(), k - b.low.to_double(), k - b.high.to_double(),
                  k - b.close.to_double(), b.volume.to_double());
}

}  // namespace pt::strategy::test
