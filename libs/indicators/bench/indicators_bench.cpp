// Update cost of each indicator on a synthetic random-walk bar series (items/s = updates/s).
// Run: build/<dir>/libs/indicators/indicators_bench
#include "indicators/indicators.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

namespace ind = pt::indicators;

struct bar {
  double high, low, close;
};

// A deterministic random walk around 90000 (xorshift, so no <random> distribution differences).
const std::vector<bar>& bars() {
  static const std::vector<bar> b = [] {
    std::vector<bar> v;
    std::uint64_t s = 0x9e3779b97f4a7c15ULL;
    double c = 90000.0;
    for (int i = 0; i < 4096; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      const double u = static_cast<double>(s >> 11) / 9007199254740992.0 - 0.5;  // [-0.5, 0.5)
      const double prev = c;
      c *= 1.0 + 0.01 * u;
      v.push_back(bar{std::max(prev, c) * 1.002, std::min(prev, c) * 0.998, c});
    }
    return v;
  }();
  return b;
}

template <class Ind, class Fn>
void run(benchmark::State& state, Ind x, Fn update) {
  const auto& b = bars();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(update(x, b[i]));
    i = i + 1 == b.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_sma20(benchmark::State& s) { run(s, ind::sma(20), [](auto& x, const bar& b) { return x.update(b.close); }); }
void BM_ema20(benchmark::State& s) { run(s, ind::ema(20), [](auto& x, const bar& b) { return x.update(b.close); }); }
void BM_rsi14(benchmark::State& s) { run(s, ind::rsi(14), [](auto& x, const bar& b) { return x.update(b.close); }); }
void BM_atr14(benchmark::State& s) {
  run(s, ind::atr(14), [](auto& x, const bar& b) { return x.update(b.high, b.low, b.close); });
}
void BM_macd_12_26_9(benchmark::State& s) {
  run(s, ind::macd(12, 26, 9), [](auto& x, const bar& b) { return x.update(b.close); });
}
void BM_bollinger20(benchmark::State& s) {
  run(s, ind::bollinger(20, 2.0), [](auto& x, const bar& b) { return x.update(b.close); });
}
void BM_adx14(benchmark::State& s) {
  run(s, ind::adx(14), [](auto& x, const bar& b) { return x.update(b.high, b.low, b.close); });
}
void BM_donchian20(benchmark::State& s) {
  run(s, ind::donchian(20), [](auto& x, const bar& b) { return x.update(b.high, b.low); });
}
void BM_donchian200(benchmark::State& s) {
  run(s, ind::donchian(200), [](auto& x, const bar& b) { return x.update(b.high, b.low); });
}
void BM_realized_vol24(benchmark::State& s) {
  run(s, ind::realized_vol(24, 8760.0), [](auto& x, const bar& b) { return x.update(b.close); });
}
void BM_zscore20(benchmark::State& s) {
  run(s, ind::zscore(20), [](auto& x, const bar& b) { return x.update(b.close); });
}

BENCHMARK(BM_sma20);
BENCHMARK(BM_ema20);
BENCHMARK(BM_rsi14);
BENCHMARK(BM_atr14);
BENCHMARK(BM_macd_12_26_9);
BENCHMARK(BM_bollinger20);
BENCHMARK(BM_adx14);
BENCHMARK(BM_donchian20);
BENCHMARK(BM_donchian200);
BENCHMARK(BM_realized_vol24);
BENCHMARK(BM_zscore20);

}  // namespace

BENCHMARK_MAIN();
