// Load speed of the recorded data, and the cost of the per-bar helpers.
// Run: build/<dir>/libs/replay/replay_bench   (figures go to PERFORMANCE.md, newest first)
// Needs ../shared/data or $POLYTRADE_DATA; without it the load benchmarks report an error.
#include "replay/bar_path.hpp"
#include "replay/book_synth.hpp"
#include "replay/data_files.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace {

using namespace pt::core::literals;
namespace fs = std::filesystem;
namespace rp = pt::replay;

std::optional<fs::path> data_dir() {
  static const auto dir = rp::find_data_dir(REPLAY_SHARED_DATA);
  return dir;
}

void load_file(benchmark::State& state, const std::string& rel, bool candles) {
  const auto dir = data_dir();
  if (!dir || !fs::exists(*dir / rel)) {
    state.SkipWithError("shared data not found");
    return;
  }
  std::size_t rows = 0;
  for (auto _ : state) {
    if (candles) {
      auto v = rp::load_candles(*dir / rel);
      rows = v.size();
      benchmark::DoNotOptimize(v.data());
    } else {
      auto v = rp::load_depth_updates(*dir / rel);
      rows = v.size();
      benchmark::DoNotOptimize(v.data());
    }
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_load_btc_5m_gz(benchmark::State& s) { load_file(s, "freqtrade_marketlab/BTCUSDT_5m.csv.gz", true); }
void bm_load_eth_5m_gz(benchmark::State& s) { load_file(s, "freqtrade_marketlab/ETHUSDT_5m.csv.gz", true); }
void bm_load_sol_5m_gz(benchmark::State& s) { load_file(s, "freqtrade_marketlab/SOLUSDT_5m.csv.gz", true); }
void bm_load_btc_1h_csv(benchmark::State& s) { load_file(s, "freqtrade_marketlab/BTCUSDT_1h.csv", true); }
void bm_load_depth_updates_gz(benchmark::State& s) { load_file(s, "hftbacktest_binance_usdm/BTCUSDT_depth_updates.csv.gz", false); }

void bm_list_series(benchmark::State& state) {
  const auto dir = data_dir();
  if (!dir) {
    state.SkipWithError("shared data not found");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(rp::list_series(*dir));
}

void bm_synthesize_book_20(benchmark::State& state) {
  rp::book_synth_input in{"92755.5"_dec, "0.1"_dec, "0.001"_dec, "547.689"_dec, "139.4"_dec, 42, 0};
  for (auto _ : state) {
    ++in.bar_index;
    benchmark::DoNotOptimize(rp::synthesize_book(in));
  }
}

void bm_bar_path(benchmark::State& state) {
  const rp::bar b{1735603200000, "92759.3"_dec, "92819.7"_dec, "92680.3"_dec, "92755.5"_dec, "547.689"_dec, {}, {}};
  for (auto _ : state) benchmark::DoNotOptimize(rp::bar_path(b, rp::path_bias::nearest_first, 300'000));
}

}  // namespace

BENCHMARK(bm_load_btc_5m_gz)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_load_eth_5m_gz)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_load_sol_5m_gz)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_load_btc_1h_csv)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_load_depth_updates_gz)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_list_series)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_synthesize_book_20);
BENCHMARK(bm_bar_path);
BENCHMARK_MAIN();
