// Speed of the core value types on the hot path (order building, fills, message codecs).
// Run: build/<dir>/libs/core/core_bench   (figures go to PERFORMANCE.md, newest first)
#include "core/decimal.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

using pt::core::decimal;
using pt::core::rounding;

namespace {

// 1024 realistic prices / quantities, so the branch predictor cannot learn one value.
std::vector<decimal> make_values(std::int64_t lo_units, std::int64_t hi_units, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(lo_units, hi_units);
  std::vector<decimal> v(1024);
  for (auto& x : v) x = decimal::from_units(dist(rng));
  return v;
}

const std::vector<decimal> prices = make_values(1'000'000'000, 100'000'000'000'000, 1);  // 1 .. 100k
const std::vector<decimal> qtys = make_values(1'000'000, 10'000'000'000, 2);             // 0.001 .. 10

std::vector<std::string> as_strings(const std::vector<decimal>& v) {
  std::vector<std::string> out;
  for (auto x : v) out.push_back(x.to_string());
  return out;
}

void bm_decimal_mul(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(prices[i & 1023] * qtys[i & 1023]);
    ++i;
  }
}
BENCHMARK(bm_decimal_mul);

void bm_decimal_div(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(prices[i & 1023] / qtys[i & 1023]);
    ++i;
  }
}
BENCHMARK(bm_decimal_div);

void bm_decimal_add(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(prices[i & 1023] + qtys[i & 1023]);
    ++i;
  }
}
BENCHMARK(bm_decimal_add);

void bm_round_price_to_tick(benchmark::State& state) {
  const decimal tick = decimal::parse("0.1");
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pt::core::round_price_to_tick(prices[i & 1023], tick, rounding::half_even));
    ++i;
  }
}
BENCHMARK(bm_round_price_to_tick);

void bm_decimal_parse(benchmark::State& state) {
  const auto texts = as_strings(prices);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decimal::parse(texts[i & 1023]));
    ++i;
  }
}
BENCHMARK(bm_decimal_parse);

void bm_decimal_to_string(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(prices[i & 1023].to_string());
    ++i;
  }
}
BENCHMARK(bm_decimal_to_string);

void bm_timestamp_to_iso8601(benchmark::State& state) {
  auto t = pt::core::timestamp::parse_iso8601("2024-01-15T10:30:00.123456789Z");
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.to_iso8601());
    t += std::chrono::nanoseconds(1'234'567);
  }
}
BENCHMARK(bm_timestamp_to_iso8601);

void bm_timestamp_parse(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(pt::core::timestamp::parse_iso8601("2024-01-15T10:30:00.123456789Z"));
}
BENCHMARK(bm_timestamp_parse);

void bm_system_clock_now(benchmark::State& state) {
  const pt::core::clock& c = pt::core::system_clock::instance();
  for (auto _ : state) benchmark::DoNotOptimize(c.now());
}
BENCHMARK(bm_system_clock_now);

void bm_uuid_random(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pt::core::uuid::random());
}
BENCHMARK(bm_uuid_random);

void bm_uuid_from_seed(benchmark::State& state) {
  const std::string seed = "order:binance:BTCUSDT:000000123456";
  for (auto _ : state) benchmark::DoNotOptimize(pt::core::uuid::from_seed(seed));
}
BENCHMARK(bm_uuid_from_seed);

}  // namespace

BENCHMARK_MAIN();
