// No look-ahead on real data: BTCUSDT (Binance USD-M) 1h bars (also aggregated to 4h), 1d bars
// and funding from ../shared/data/freqtrade_marketlab (or $POLYTRADE_DATA), fed in time order
// through each strategy twice; the second time every bar and funding print after time t is
// replaced by garbage. All outputs up to t must be identical. Skips (WARN) without the data.
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace pt::strategy::test {

namespace {

std::string data_dir() {
  if (const char* env = std::getenv("POLYTRADE_DATA"); env != nullptr && *env != '\0') return env;
  return STRATEGY_SHARED_DATA;
}

// open_time_ms,open_time_utc,open,high,low,close,volume
std::vector<bar> read_bars(const std::string& path) {
  std::vector<bar> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() < 7) continue;
    out.push_back(bar{timestamp::from_millis(std::stoll(f[0])), decimal::parse(f[2]), decimal::parse(f[3]),
                      decimal::parse(f[4]), decimal::parse(f[5]), decimal::parse(f[6])});
  }
  return out;
}

// 1h -> 4h aligned to 00:00 UTC; only complete groups of four.
std::vector<bar> to_4h(const std::vector<bar>& h1) {
  std::vector<bar> out;
  const std::int64_t four_h = std::chrono::nanoseconds(4h).count();
  for (std::size_t i = 0; i + 3 < h1.size();) {
    const auto t = h1[i].open_time.nanos();
    if (t % four_h != 0 || h1[i + 3].open_time.nanos() != t + 3 * std::chrono::nanoseconds(1h).count()) {
      ++i;
      continue;
    }
    bar b = h1[i];
    for (std::size_t k = 1; k < 4; ++k) {
      b.high = std::max(b.high, h1[i + k].high);
      b.low = std::min(b.low, h1[i + k].low);
      b.volume += h1[i + k].volume;
    }
    b.close = h1[i + 3].close;
    out.push_back(b);
    i += 4;
  }
  return out;
}

struct event {
  timestamp at;   // when it becomes known: a bar's close, a funding print's time
  int order;      // at the same instant: funding, 1d, 4h, 1h
  timeframe tf;
  bar b;
  double funding = 0;
};

// A deterministic pseudo-random walk: valid bars with prices unrelated to the real ones.
struct garbage {
  std::uint64_t s = 0x9e3779b97f4a7c15ULL;
  double next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<double>(s % 1000000) / 1000000.0;
  }
  bar make(timestamp open) {
    const double o = 1000 + 90000 * next(), c = 1000 + 90000 * next();
    return make_bar(open, o, std::max(o, c) * (1 + next() * 0.05), std::min(o, c) * (1 - next() * 0.05), c, next() * 1e5);
  }
};

// Runs one strategy over the events; execution is simulated just enough to exercise the exits:
// a proposal opens a position at its entry price, a close exit ends it. Returns the JSON of every
// output with its decision time.
// funding_bias runs with extreme_rate 0.0001 here: BTC funding never left [-0.00013, 0.0001] in
// 2025 (Binance's default 0.01 %), so the shipped 0.0005 would never trade and the test would not
// reach its proposal and exit paths.
std::vector<std::pair<timestamp, std::string>> replay(const std::string& name, const std::vector<event>& events) {
  const auto overrides = name == std::string("funding_bias")
                             ? nlohmann::json{{"extreme_rate", 0.0001}, {"exit_rate", 0.00005}}
                             : nlohmann::json::object();
  auto st = make(name, overrides);
  std::vector<std::pair<timestamp, std::string>> out;
  std::optional<position> pos;
  for (const auto& e : events) {
    if (e.order == 0) {
      st->on_funding(e.funding, e.at);
      continue;
    }
    for (const auto& o : st->on_bar(e.b, e.tf, e.at)) {
      out.emplace_back(e.at, dump(o));
      if (!pos && o.proposal) {
        pos = position{o.signal.dir, *o.proposal->entry_price, dec(1), e.at, *o.proposal->entry_price, o.proposal->stop_loss};
        st->on_position(pos, e.at);
      } else if (pos && o.exit && o.exit->kind == exit_kind::close) {
        pos.reset();
        st->on_position(pos, e.at);
      }
    }
  }
  return out;
}

// Every bar (1d, 4h from 1h, 1h) at its close and every funding print, in time order.
std::vector<event> load_events(const std::string& dir, std::vector<bar>& h1) {
  h1 = read_bars(dir + "/BTCUSDT_1h.csv");
  const auto d1 = read_bars(dir + "/BTCUSDT_1d.csv");
  const auto h4 = to_4h(h1);
  REQUIRE(d1.size() > 100);

  std::vector<event> events;
  for (const auto& b : d1) events.push_back({close_time(b, timeframe::d1), 1, timeframe::d1, b});
  for (const auto& b : h4) events.push_back({close_time(b, timeframe::h4), 2, timeframe::h4, b});
  for (const auto& b : h1) events.push_back({close_time(b, timeframe::h1), 3, timeframe::h1, b});
  std::ifstream fin(dir + "/BTCUSDT_funding_rate.csv");
  if (fin) {
    std::string line;
    std::getline(fin, line);
    while (std::getline(fin, line)) {
      const auto c1 = line.find(','), c2 = line.rfind(',');
      if (c1 == std::string::npos || c2 == c1) continue;
      events.push_back({timestamp::from_millis(std::stoll(line.substr(0, c1))), 0, timeframe::h1, bar{},
                        std::stod(line.substr(c2 + 1))});
    }
  } else {
    WARN("no BTCUSDT_funding_rate.csv: funding_bias runs without funding");
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const event& a, const event& b) { return a.at != b.at ? a.at < b.at : a.order < b.order; });

  return events;
}

}  // namespace

TEST_CASE("no look-ahead on real BTCUSDT bars with garbage after t", "[lookahead]") {
  const std::string dir = data_dir() + "/freqtrade_marketlab";
  if (!std::filesystem::exists(dir + "/BTCUSDT_1h.csv") || !std::filesystem::exists(dir + "/BTCUSDT_1d.csv")) {
    WARN("SKIP: no BTCUSDT_1h.csv / BTCUSDT_1d.csv under " << dir << " (set POLYTRADE_DATA)");
    return;
  }
  std::vector<bar> h1;
  const auto events = load_events(dir, h1);
  REQUIRE(h1.size() > 1000);
  const timestamp first = h1.front().open_time;
  const timestamp last = h1.back().open_time;
  for (const char* name : {"trend_following", "multi_factor", "mean_reversion", "breakout", "funding_bias"}) {
    const auto clean = replay(name, events);
    std::size_t proposals = 0;
    for (const auto& [t, s] : clean) proposals += s.find("\"proposal\"") != std::string::npos;
    WARN(name << ": " << clean.size() << " outputs, " << proposals << " proposals over the year");
    for (const auto& [t, s] : clean)
      if (s.find("\"proposal\"") != std::string::npos) {
        WARN("first proposal: " << s);
        break;
      }
    CHECK(!clean.empty());
    for (double frac : {0.35, 0.7}) {
      const timestamp t = first + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>((last - first).count()) * frac));
      // Garbage after t: bars that close after t and funding printed after t.
      garbage g;
      auto dirty = events;
      for (auto& e : dirty) {
        if (e.at <= t) continue;
        if (e.order == 0) e.funding = (g.next() - 0.5) * 0.01;
        else e.b = g.make(e.b.open_time);
      }
      const auto noisy = replay(name, dirty);
      std::size_t n = 0;
      while (n < clean.size() && clean[n].first <= t) ++n;
      INFO(name << " t=" << t.to_iso8601());
      REQUIRE(noisy.size() >= n);
      for (std::size_t i = 0; i < n; ++i) {
        REQUIRE(noisy[i].first == clean[i].first);
        REQUIRE(noisy[i].second == clean[i].second);
      }
      // And the garbage did change what came after (the test can tell the runs apart).
      bool differs = noisy.size() != clean.size();
      for (std::size_t i = n; !differs && i < clean.size(); ++i) differs = noisy[i].second != clean[i].second;
      CHECK(differs);
    }
  }
}

TEST_CASE("the same real series twice gives identical outputs", "[lookahead]") {
  const std::string dir = data_dir() + "/freqtrade_marketlab";
  if (!std::filesystem::exists(dir + "/BTCUSDT_1h.csv") || !std::filesystem::exists(dir + "/BTCUSDT_1d.csv")) {
    WARN("SKIP: no BTCUSDT_1h.csv / BTCUSDT_1d.csv under " << dir);
    return;
  }
  std::vector<bar> h1;
  const auto events = load_events(dir, h1);
  for (const char* name : {"trend_following", "multi_factor", "mean_reversion", "breakout", "funding_bias"}) {
    INFO(name);
    CHECK(replay(name, events) == replay(name, events));
  }
}

}  // namespace pt::strategy::test
