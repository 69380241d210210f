#pragma once
// A seeded, deterministic synthetic order book around a price, for simulating fills when all we
// recorded is candles. Same inputs + seed => the identical book, on any platform: the model uses
// only integer and pt::core::decimal arithmetic and its own PRNG (splitmix64), never
// floating-point math or <random> distributions (their output differs across libstdc++ versions).
//
// The model. Notation: T = tick, R = floor(bar_range / T) (the bar's high-low range in ticks),
// N = levels, u = a PRNG draw uniform in [0, 1) (9 decimal digits), floor() = toward zero.
//
//   PRNG state   s0 = mix64(seed XOR mix64(bar_index)), mix64 = splitmix64's output finalizer;
//                draws are taken in one fixed order (below), so every number in the book depends
//                only on (inputs, params, seed, bar_index).
//   spread       S = max(1, floor(R * spread_fraction)) ticks, plus 1 tick when u < wide_chance
//                (draw 1).
//   placement    m = floor(mid / T). Mid on the grid: best bid index = m - floor(S/2);
//                off the grid: m - floor((S-1)/2). Best ask index = best bid index + S. So
//                best bid <= mid <= best ask and best ask - best bid = S ticks >= 1 tick.
//   level gaps   G = max(1, floor(R * span_fraction / N)) ticks on average: each next level is
//                1 + below(2G - 1) ticks further out (uniform on 1 .. 2G-1, mean G), drawn per
//                side, so N levels span about span_fraction of the bar range per side.
//   sizes        Q = bar_volume * top_fraction (base asset) at the top, decaying by `decay` per
//                level with noise: qty_i = max(lot, round_down_to_lot(Q * decay^i *
//                (noise_min + noise_width * u))). decay^i is built by repeated decimal
//                multiplication (half-even), so it is exact and portable.
//   draw order   spread draw; then for level i = 0..N-1: (i > 0: bid gap, ask gap), bid size u,
//                ask size u. Bid levels at or below price 0 are dropped (their draws still
//                happen, so the ask side never depends on how many bids fit).
//
// The defaults are not calibrated against recorded books; they were picked so a 5m BTCUSDT bar
// gives a 1-2 tick spread and a few BTC at the top, thinner than Binance's real book: a
// conservative (more slippage) assumption for backtests.
#include "core/decimal.hpp"

#include <cstdint>
#include <vector>

namespace pt::replay {

// splitmix64's finalizer: a bijection on 64 bits with good avalanche.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Sebastiano Vigna's splitmix64: state += golden gamma, output = mix64(state).
class splitmix64 {
 public:
  explicit constexpr splitmix64(std::uint64_t state) : state_(state) {}
  constexpr std::uint64_t next() { return mix64(state_ += 0x9E3779B97F4A7C15ULL); }
  // Uniform in [0, n) by multiply-shift (no modulo bias worth naming at these n); n >= 1.
  std::uint64_t below(std::uint64_t n);
  // Uniform in [0, 1) with 9 fractional digits (from the draw's top 30 bits).
  core::decimal fraction();

 private:
  std::uint64_t state_;
};

struct book_level {
  core::decimal price, qty;
  friend bool operator==(const book_level&, const book_level&) = default;
};

struct synth_book {
  std::vector<book_level> bids;  // best (highest) first
  std::vector<book_level> asks;  // best (lowest) first
  std::int64_t spread_ticks = 0;
  friend bool operator==(const synth_book&, const synth_book&) = default;
};

struct book_synth_input {
  core::decimal mid;         // > 0
  core::decimal tick;        // > 0
  core::decimal lot;         // > 0
  core::decimal bar_volume;  // >= 0, base asset
  core::decimal bar_range;   // high - low, >= 0
  std::uint64_t seed = 0;
  std::uint64_t bar_index = 0;
};

struct book_synth_params {
  int levels = 20;                                                        // N per side, 1..10000
  core::decimal spread_fraction = core::decimal::from_units(500'000);     // 0.0005
  core::decimal wide_chance = core::decimal::from_units(250'000'000);     // 0.25
  core::decimal span_fraction = core::decimal::from_units(500'000'000);   // 0.5
  core::decimal top_fraction = core::decimal::from_units(2'000'000);      // 0.002
  core::decimal decay = core::decimal::from_units(900'000'000);           // 0.9
  core::decimal noise_min = core::decimal::from_units(500'000'000);       // 0.5
  core::decimal noise_width = core::decimal::from_units(1'000'000'000);   // 1.0
};

// Throws std::invalid_argument for inputs or params outside the ranges above (fractions in
// [0, 1] where they are probabilities, decay in (0, 1]), core::decimal_overflow if a price
// leaves the decimal range.
[[nodiscard]] synth_book synthesize_book(const book_synth_input& in, const book_synth_params& params = {});

}  // namespace pt::replay
