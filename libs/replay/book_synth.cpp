#include "replay/book_synth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace pt::replay {

using core::decimal;

std::uint64_t splitmix64::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("splitmix64::below(0)");
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

decimal splitmix64::fraction() {
  const std::uint64_t top30 = next() >> 34;
  return decimal::from_units(static_cast<std::int64_t>((top30 * 1'000'000'000ULL) >> 30));
}

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("synthesize_book: " + what); }

// floor(n * f) for a tick count n >= 0 and a fraction f >= 0, capped at 10^12 ticks: far beyond
// any real spread or gap, and keeps later index sums inside int64.
std::int64_t scale_ticks(std::int64_t n, decimal f) {
  const __int128 r = static_cast<__int128>(n) * f.units() / decimal::scale;
  return static_cast<std::int64_t>(std::min<__int128>(r, 1'000'000'000'000));
}

decimal price_at(std::int64_t index, decimal tick) {
  std::int64_t units = 0;
  if (__builtin_mul_overflow(index, tick.units(), &units)) core::throw_decimal_overflow("synthesize_book price");
  return decimal::from_units(units);
}

void check_fraction(decimal v, const char* name, bool at_most_one) {
  if (v.is_negative() || (at_most_one && v > decimal::one()))
    bad(fmt::format("{} = {} is outside [0, {}]", name, v.to_string(), at_most_one ? "1" : "inf"));
}

}  // namespace

synth_book synthesize_book(const book_synth_input& in, const book_synth_params& p) {
  if (!in.mid.is_positive()) bad("mid must be > 0");
  if (!in.tick.is_positive()) bad("tick must be > 0");
  if (!in.lot.is_positive()) bad("lot must be > 0");
  if (in.bar_volume.is_negative()) bad("bar_volume must be >= 0");
  if (in.bar_range.is_negative()) bad("bar_range must be >= 0");
  if (p.levels < 1 || p.levels > 10'000) bad(fmt::format("levels = {} is outside 1..10000", p.levels));
  check_fraction(p.spread_fraction, "spread_fraction", false);
  check_fraction(p.wide_chance, "wide_chance", true);
  check_fraction(p.span_fraction, "span_fraction", false);
  check_fraction(p.top_fraction, "top_fraction", false);
  check_fraction(p.noise_min, "noise_min", false);
  check_fraction(p.noise_width, "noise_width", false);
  if (!p.decay.is_positive() || p.decay > decimal::one()) bad(fmt::format("decay = {} is outside (0, 1]", p.decay.to_string()));

  const std::int64_t tick = in.tick.units();
  const std::int64_t range_ticks = in.bar_range.units() / tick;
  splitmix64 rng(mix64(in.seed ^ mix64(in.bar_index)));

  synth_book book;
  std::int64_t spread = std::max<std::int64_t>(1, scale_ticks(range_ticks, p.spread_fraction));
  if (rng.fraction() < p.wide_chance) ++spread;
  book.spread_ticks = spread;

  const std::int64_t m = in.mid.units() / tick;
  const bool on_grid = in.mid.units() % tick == 0;
  std::int64_t bid = m - (on_grid ? spread / 2 : (spread - 1) / 2);
  std::int64_t ask = bid + spread;

  const std::int64_t mean_gap =
      std::max<std::int64_t>(1, scale_ticks(range_ticks, p.span_fraction) / p.levels);
  const auto gap_choices = static_cast<std::uint64_t>(2 * mean_gap - 1);  // gaps 1 .. 2G-1
  const decimal top = in.bar_volume * p.top_fraction;

  book.bids.reserve(static_cast<std::size_t>(p.levels));
  book.asks.reserve(static_cast<std::size_t>(p.levels));
  decimal weight = decimal::one();  // decay^i
  auto size = [&](decimal u) {
    const decimal q = core::round_qty_to_lot(top * weight * (p.noise_min + p.noise_width * u), in.lot);
    return std::max(q, in.lot);
  };
  for (int i = 0; i < p.levels; ++i) {
    if (i > 0) {
      bid -= 1 + static_cast<std::int64_t>(rng.below(gap_choices));
      ask += 1 + static_cast<std::int64_t>(rng.below(gap_choices));
      weight = weight * p.decay;
    }
    const decimal bid_qty = size(rng.fraction());
    const decimal ask_qty = size(rng.fraction());
    if (bid > 0) book.bids.push_back({price_at(bid, in.tick), bid_qty});
    book.asks.push_back({price_at(ask, in.tick), ask_qty});
  }
  return book;
}

}  // namespace pt::replay
