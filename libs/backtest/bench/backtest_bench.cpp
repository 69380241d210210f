// Backtest throughput (issue 5's benchmark): base bars per second through the engine with the
// trend strategy, sizing and the matching core in the loop, single core, against a bare EMA
// cross over the same closes. Prints figures; `--quick` runs a short slice (the ctest smoke).
//   backtest_bench [--quick] [--timeframe 1m|5m|1h] [--symbol BTCUSDT] [--source DIR] [--strategy trend_following]
//                  [--engine-reps N] [--no-bare]
// (1m: freqtrade_1m_two_sources, else freqtrade_marketlab, unless --source says otherwise)
// Data: $POLYTRADE_DATA or ../shared/data (freqtrade_marketlab); without it, says so and exits 0.
#include "backtest/engine.hpp"
#include "indicators/indicators.hpp"
#include "replay/data_files.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace pt;
using steady = std::chrono::steady_clock;

int main(int argc, char** argv) {
  bool quick = false, bare = true;
  int engine_reps = 1;  // runs per book model; the figure is the fastest (least disturbed) run
  std::string tf = "5m", symbol = "BTCUSDT", source, strat = "trend_following";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--timeframe" && i + 1 < argc) tf = argv[++i];
    else if (a == "--symbol" && i + 1 < argc) symbol = argv[++i];
    else if (a == "--source" && i + 1 < argc) source = argv[++i];
    else if (a == "--strategy" && i + 1 < argc) strat = argv[++i];
    else if (a == "--engine-reps" && i + 1 < argc) engine_reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-bare") bare = false;
    else {
      std::fprintf(stderr, "usage: backtest_bench [--quick] [--timeframe 1m|5m|1h] [--symbol BTCUSDT] [--source DIR] [--strategy NAME] [--engine-reps N] [--no-bare]\n");
      return 2;
    }
  }
  const char* env = std::getenv("POLYTRADE_DATA");
  const auto dir = replay::find_data_dir(env ? std::filesystem::path(env)
                                             : std::filesystem::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir) {
    std::printf("no recorded data ($POLYTRADE_DATA or ../shared/data): nothing measured\n");
    return 0;
  }
  backtest::engine_config cfg;
  cfg.symbols = {symbol};
  cfg.base_timeframe = tf;
  cfg.params = strategy::load_params_file(std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/" + strat + ".v1.json");
  auto data = backtest::load_recorded(cfg, dir->string(), std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json",
                                      !source.empty() ? source : tf == "1m" ? "freqtrade_1m_two_sources" : "freqtrade_marketlab");
  if (quick && data.front().bars.size() > 20000) data.front().bars.resize(20000);
  const auto n = data.front().bars.size();
  std::printf("%s %s: %zu bars\n", symbol.c_str(), tf.c_str(), n);

  auto time = [](auto&& f) {
    const auto t0 = steady::now();
    f();
    return std::chrono::duration<double>(steady::now() - t0).count();
  };
  for (const auto book : {backtest::book_model::synthetic, backtest::book_model::tick_spread}) {
    cfg.book = book;
    backtest::engine_result r;
    double s = 1e300;
    for (int k = 0; k < engine_reps; ++k) s = std::min(s, time([&] { r = backtest::run_backtest(cfg, data); }));
    std::printf("engine, %s, %-11s book: %8.3f s  %12.0f bars/s  (%zu trades, hash %s)\n",
                strat.c_str(), book == backtest::book_model::synthetic ? "synthetic" : "tick-spread", s, static_cast<double>(n) / s,
                r.trades.size(), r.hash.c_str());
  }
  if (!bare) return 0;
  // The floor: two EMAs and a cross count over the same closes, nothing else.
  std::vector<double> closes;
  closes.reserve(n);
  for (const auto& b : data.front().bars) closes.push_back(b.close.to_double());
  const int reps = quick ? 10 : 200;
  long crosses = 0;
  const double s = time([&] {
    for (int k = 0; k < reps; ++k) {
      indicators::ema fast(8), slow(21);
      int last = 0;
      for (const double c : closes) {
        const auto f = fast.update(c);
        const auto sl = slow.update(c);
        if (!f || !sl) continue;
        const int side = *f > *sl ? 1 : -1;
        crosses += last != 0 && side != last;
        last = side;
      }
    }
  });
  std::printf("bare EMA(8)/EMA(21) cross:              %8.3f s  %12.0f bars/s  (%ld crosses over %d passes)\n", s,
              static_cast<double>(n) * reps / s, crosses, reps);
  return 0;
}
