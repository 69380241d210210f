// Every indicator against the real TA-Lib C library on 600 real BTCUSDT 1h bars. The expected
// values were produced once by fixtures/generate.js (npm talib, TA-Lib 0.6.0-dev) and committed;
// index i is the value after bar i, null where TA-Lib gives none, so the warm-up is checked too.
#include "indicators/indicators.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace ind = pt::indicators;
using nlohmann::json;
using series = std::vector<std::optional<double>>;

const json& fixture() {
  static const json j = [] {
    std::ifstream in(std::string(INDICATORS_FIXTURE_DIR) + "/talib_btcusdt_1h.json");
    if (!in) throw std::runtime_error("missing fixtures/talib_btcusdt_1h.json");
    return json::parse(in);
  }();
  return j;
}

std::vector<double> input(const char* name) {
  return fixture().at("input").at(name).get<std::vector<double>>();
}

const json& indicator(const std::string& key) { return fixture().at("indicators").at(key); }

// Empty string when `ours` matches TA-Lib at every index (presence and value, relative
// tolerance 1e-9 with a floor of 1 for values near zero); otherwise the first mismatches.
std::string compare(const series& ours, const json& expected) {
  std::ostringstream err;
  int bad = 0;
  if (ours.size() != expected.size()) {
    err << "size " << ours.size() << " != " << expected.size();
    return err.str();
  }
  for (std::size_t i = 0; i < ours.size() && bad < 5; ++i) {
    const auto& e = expected[i];
    if (e.is_null()) {
      if (ours[i]) {
        err << "[" << i << "] talib none, ours " << *ours[i] << "; ";
        ++bad;
      }
      continue;
    }
    const double want = e.get<double>();
    if (!ours[i]) {
      err << "[" << i << "] talib " << want << ", ours none; ";
      ++bad;
      continue;
    }
    const double tol = 1e-9 * std::max(std::fabs(want), 1.0);
    if (!(std::fabs(*ours[i] - want) <= tol)) {
      err.precision(17);
      err << "[" << i << "] talib " << want << ", ours " << *ours[i] << "; ";
      ++bad;
    }
  }
  return err.str();
}

std::size_t first_value(const json& expected) {
  std::size_t i = 0;
  while (i < expected.size() && expected[i].is_null()) ++i;
  return i;
}

// reset() must give back the freshly constructed state: two runs after reset() are
// bit-identical to each other and to the first run (which was checked against TA-Lib).
template <class Ind, class Fn, class Out>
void check_reset_repeats(Ind& x, Fn run, const Out& original) {
  x.reset();
  CHECK_FALSE(x.ready());
  CHECK_FALSE(x.value().has_value());
  const bool first_same = run() == original;
  CHECK(first_same);
  x.reset();
  const bool second_same = run() == original;
  CHECK(second_same);
}

}  // namespace

TEST_CASE("sma matches TA-Lib SMA", "[talib]") {
  for (int p : {3, 20}) {
    const auto& f = indicator("sma_" + std::to_string(p));
    ind::sma x(p);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    auto run = [&] {
      series s;
      for (double c : input("close")) s.push_back(x.update(c));
      return s;
    };
    const auto s = run();
    CHECK(compare(s, f.at("outputs").at("outReal")) == "");
    CHECK(first_value(f.at("outputs").at("outReal")) == static_cast<std::size_t>(x.lookback()));
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("ema matches TA-Lib EMA", "[talib]") {
  for (int p : {8, 21}) {
    const auto& f = indicator("ema_" + std::to_string(p));
    ind::ema x(p);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    auto run = [&] {
      series s;
      for (double c : input("close")) s.push_back(x.update(c));
      return s;
    };
    const auto s = run();
    CHECK(compare(s, f.at("outputs").at("outReal")) == "");
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("rsi matches TA-Lib RSI", "[talib]") {
  for (int p : {2, 14}) {
    const auto& f = indicator("rsi_" + std::to_string(p));
    ind::rsi x(p);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    auto run = [&] {
      series s;
      for (double c : input("close")) s.push_back(x.update(c));
      return s;
    };
    const auto s = run();
    CHECK(compare(s, f.at("outputs").at("outReal")) == "");
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("atr matches TA-Lib ATR", "[talib]") {
  const auto h = input("high"), l = input("low"), c = input("close");
  for (int p : {1, 14}) {
    const auto& f = indicator("atr_" + std::to_string(p));
    ind::atr x(p);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    auto run = [&] {
      series s;
      for (std::size_t i = 0; i < c.size(); ++i) s.push_back(x.update(h[i], l[i], c[i]));
      return s;
    };
    const auto s = run();
    CHECK(compare(s, f.at("outputs").at("outReal")) == "");
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("macd matches TA-Lib MACD", "[talib]") {
  struct cfg {
    const char* key;
    int fast, slow, signal;
  };
  for (const cfg& g : {cfg{"macd_12_26_9", 12, 26, 9}, cfg{"macd_5_13_4", 5, 13, 4}}) {
    const auto& f = indicator(g.key);
    ind::macd x(g.fast, g.slow, g.signal);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    auto run = [&] {
      std::vector<series> s(3);
      for (double c : input("close")) {
        const auto v = x.update(c);
        s[0].push_back(v ? std::optional(v->macd) : std::nullopt);
        s[1].push_back(v ? std::optional(v->signal) : std::nullopt);
        s[2].push_back(v ? std::optional(v->hist) : std::nullopt);
      }
      return s;
    };
    const auto s = run();
    INFO(g.key);
    CHECK(compare(s[0], f.at("outputs").at("outMACD")) == "");
    CHECK(compare(s[1], f.at("outputs").at("outMACDSignal")) == "");
    CHECK(compare(s[2], f.at("outputs").at("outMACDHist")) == "");
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("bollinger matches TA-Lib BBANDS (SMA, population stddev)", "[talib]") {
  const auto& f = indicator("bbands_20_2");
  ind::bollinger x(20, 2.0);
  REQUIRE(x.lookback() == f.at("lookback").get<int>());
  auto run = [&] {
    std::vector<series> s(3);
    for (double c : input("close")) {
      const auto v = x.update(c);
      s[0].push_back(v ? std::optional(v->upper) : std::nullopt);
      s[1].push_back(v ? std::optional(v->middle) : std::nullopt);
      s[2].push_back(v ? std::optional(v->lower) : std::nullopt);
    }
    return s;
  };
  const auto s = run();
  CHECK(compare(s[0], f.at("outputs").at("outRealUpperBand")) == "");
  CHECK(compare(s[1], f.at("outputs").at("outRealMiddleBand")) == "");
  CHECK(compare(s[2], f.at("outputs").at("outRealLowerBand")) == "");
  check_reset_repeats(x, run, s);
}

TEST_CASE("adx matches TA-Lib ADX, PLUS_DI and MINUS_DI", "[talib]") {
  const auto h = input("high"), l = input("low"), c = input("close");
  for (int p : {5, 14}) {
    const auto& f = indicator("adx_" + std::to_string(p));
    ind::adx x(p);
    REQUIRE(x.lookback() == f.at("lookback").get<int>());
    REQUIRE(x.di_lookback() == f.at("di_lookback").get<int>());
    auto run = [&] {
      std::vector<series> s(3);
      for (std::size_t i = 0; i < c.size(); ++i) {
        const auto v = x.update(h[i], l[i], c[i]);
        s[0].push_back(v ? std::optional(v->adx) : std::nullopt);
        s[1].push_back(x.plus_di());
        s[2].push_back(x.minus_di());
        if (v) {  // the struct carries the same DIs as the getters
          CHECK(v->plus_di == *x.plus_di());
          CHECK(v->minus_di == *x.minus_di());
        }
      }
      return s;
    };
    const auto s = run();
    INFO("period " << p);
    CHECK(compare(s[0], f.at("outputs").at("adx")) == "");
    CHECK(compare(s[1], f.at("outputs").at("plus_di")) == "");
    CHECK(compare(s[2], f.at("outputs").at("minus_di")) == "");
    check_reset_repeats(x, run, s);
  }
}

TEST_CASE("donchian matches TA-Lib MAX(high)/MIN(low)", "[talib]") {
  const auto h = input("high"), l = input("low");
  const auto& f = indicator("donchian_20");
  ind::donchian x(20);
  REQUIRE(x.lookback() == f.at("lookback").get<int>());
  auto run = [&] {
    std::vector<series> s(3);
    for (std::size_t i = 0; i < h.size(); ++i) {
      const auto v = x.update(h[i], l[i]);
      s[0].push_back(v ? std::optional(v->upper) : std::nullopt);
      s[1].push_back(v ? std::optional(v->middle) : std::nullopt);
      s[2].push_back(v ? std::optional(v->lower) : std::nullopt);
    }
    return s;
  };
  const auto s = run();
  CHECK(compare(s[0], f.at("outputs").at("upper")) == "");
  CHECK(compare(s[1], f.at("outputs").at("middle")) == "");
  CHECK(compare(s[2], f.at("outputs").at("lower")) == "");
  check_reset_repeats(x, run, s);
}

TEST_CASE("realized vol matches TA-Lib STDDEV of LN(ROCR) log returns", "[talib]") {
  const auto& f = indicator("realized_vol_24");
  const double ppy = f.at("params").at("periods_per_year").get<double>();
  ind::realized_vol pop(24, 1.0, ind::stddev_kind::population);
  ind::realized_vol sample(24, ppy, ind::stddev_kind::sample);
  REQUIRE(pop.lookback() == f.at("lookback").get<int>());
  REQUIRE(sample.lookback() == f.at("lookback").get<int>());
  series a, b;
  for (double c : input("close")) {
    a.push_back(pop.update(c));
    b.push_back(sample.update(c));
  }
  CHECK(compare(a, f.at("outputs").at("population")) == "");
  CHECK(compare(b, f.at("outputs").at("sample_annualised")) == "");
  auto run = [&] {
    series s;
    for (double c : input("close")) s.push_back(sample.update(c));
    return s;
  };
  check_reset_repeats(sample, run, b);
}

TEST_CASE("zscore matches (close - TA-Lib SMA) / TA-Lib STDDEV", "[talib]") {
  const auto& f = indicator("zscore_20");
  ind::zscore x(20);
  REQUIRE(x.lookback() == f.at("lookback").get<int>());
  auto run = [&] {
    series s;
    for (double c : input("close")) s.push_back(x.update(c));
    return s;
  };
  const auto s = run();
  CHECK(compare(s, f.at("outputs").at("z")) == "");
  check_reset_repeats(x, run, s);
}
