// Synthetic book: the PRNG against splitmix64's reference outputs, one book worked by hand from
// the documented formulas (noise switched off), and invariants over many seeded books.
#include "replay/book_synth.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace pt::core::literals;
using pt::core::decimal;
namespace rp = pt::replay;

// Noise off, gaps of exactly one tick (G = 1), so every number follows from the formulas.
rp::book_synth_params quiet(int levels) {
  rp::book_synth_params p;
  p.levels = levels;
  p.spread_fraction = 0.02_dec;
  p.wide_chance = decimal::zero();
  p.span_fraction = 0.04_dec;
  p.top_fraction = 0.002_dec;
  p.decay = 0.5_dec;
  p.noise_min = 1_dec;
  p.noise_width = decimal::zero();
  return p;
}

bool on_grid(decimal v, decimal step) { return v.units() % step.units() == 0; }

}  // namespace

TEST_CASE("splitmix64 matches the reference outputs", "[book]") {
  // Vigna's splitmix64.c seeded with 0 (values also computed with an independent Python port).
  rp::splitmix64 r(0);
  CHECK(r.next() == 0xE220A8397B1DCDAFULL);
  CHECK(r.next() == 0x6E789E6AA1B965F4ULL);
  CHECK(r.next() == 0x06C45D188009454FULL);
  // fraction(): top 30 bits of 0xE220A8397B1DCDAF = 948447758; 948447758 * 10^9 >> 30 = 883310807.
  rp::splitmix64 f(0);
  CHECK(f.fraction() == decimal::from_units(883'310'807));
  rp::splitmix64 b(12345);
  for (int i = 0; i < 1000; ++i) REQUIRE(b.below(7) < 7);
  CHECK(rp::splitmix64(1).below(1) == 0);
}

TEST_CASE("a book worked by hand from the model", "[book]") {
  // mid 100.05, tick 0.1 -> m = 1000 (off the grid); R = 10 / 0.1 = 100 ticks.
  // S = floor(100 * 0.02) = 2; bid index = 1000 - floor((2-1)/2) = 1000 -> 100.0; ask 1002 -> 100.2.
  // G = max(1, floor(100 * 0.04) / 4) = 1 -> every gap 1 tick.
  // Q = 1000 * 0.002 = 2; sizes 2, 1, 0.5, 0.25 (decay 0.5, noise factor 1).
  const rp::book_synth_input in{100.05_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 99, 3};
  const auto book = rp::synthesize_book(in, quiet(4));
  CHECK(book.spread_ticks == 2);
  CHECK(book.bids == std::vector<rp::book_level>{{100.0_dec, 2_dec}, {99.9_dec, 1_dec}, {99.8_dec, 0.5_dec}, {99.7_dec, 0.25_dec}});
  CHECK(book.asks == std::vector<rp::book_level>{{100.2_dec, 2_dec}, {100.3_dec, 1_dec}, {100.4_dec, 0.5_dec}, {100.5_dec, 0.25_dec}});

  SECTION("mid on the grid centres an even spread") {
    // mid 100.0 -> m = 1000 on the grid; bid = 1000 - 2/2 = 999 -> 99.9, ask 100.1.
    const auto g = rp::synthesize_book({100_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 99, 3}, quiet(1));
    CHECK(g.bids.at(0).price == 99.9_dec);
    CHECK(g.asks.at(0).price == 100.1_dec);
  }
  SECTION("a tiny range gives the one-tick minimum spread; sizes floor to the lot, never below one lot") {
    // R = 0.5 / 0.1 = 5 -> S = max(1, floor(0.1)) = 1: bid 100.0, ask 100.1.
    // Q = 0.3 * 0.002 = 0.0006: below one lot (0.001) -> one lot on every level.
    const auto t = rp::synthesize_book({100.05_dec, 0.1_dec, 0.001_dec, 0.3_dec, 0.5_dec, 1, 1}, quiet(2));
    CHECK(t.spread_ticks == 1);
    CHECK(t.bids.at(0).price == 100_dec);
    CHECK(t.asks.at(0).price == 100.1_dec);
    for (const auto& l : t.bids) CHECK(l.qty == 0.001_dec);
    for (const auto& l : t.asks) CHECK(l.qty == 0.001_dec);
  }
}

TEST_CASE("the seed and bar index select the PRNG stream as documented", "[book]") {
  // seed 0, bar 0: s0 = mix64(0 ^ mix64(0)) = 0, so the first draw is splitmix64(0)'s first
  // fraction, 0.883310807. The spread widens iff that draw < wide_chance.
  auto p = quiet(1);
  p.wide_chance = decimal::from_units(883'310'807);  // draw == chance: not widened
  CHECK(rp::synthesize_book({100.05_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 0, 0}, p).spread_ticks == 2);
  p.wide_chance = decimal::from_units(883'310'808);  // draw < chance: widened
  CHECK(rp::synthesize_book({100.05_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 0, 0}, p).spread_ticks == 3);
  // seed 7, bar 3: first fraction 0.039702614 (independent Python computation of the formula).
  p.wide_chance = decimal::from_units(39'702'614);
  CHECK(rp::synthesize_book({100.05_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 7, 3}, p).spread_ticks == 2);
  p.wide_chance = decimal::from_units(39'702'615);
  CHECK(rp::synthesize_book({100.05_dec, 0.1_dec, 0.001_dec, 1000_dec, 10_dec, 7, 3}, p).spread_ticks == 3);
}

TEST_CASE("same inputs and seed give the identical book, seed or bar index change it", "[book]") {
  const rp::book_synth_input in{92755.5_dec, 0.1_dec, 0.001_dec, 547.689_dec, 139.4_dec, 42, 17};
  const auto a = rp::synthesize_book(in);
  const auto b = rp::synthesize_book(in);
  CHECK(a == b);
  auto other_seed = in;
  other_seed.seed = 43;
  CHECK(rp::synthesize_book(other_seed) != a);
  auto other_bar = in;
  other_bar.bar_index = 18;
  CHECK(rp::synthesize_book(other_bar) != a);
}

TEST_CASE("every book is on the tick and lot grid, uncrossed and ordered", "[book]") {
  struct market {
    decimal mid, tick, lot, volume, range;
  };
  // BTC/ETH/SOL-like values from the marketlab 5m/1h/1d files, and a thin low-priced market.
  const market markets[] = {{92755.5_dec, 0.1_dec, 0.001_dec, 547.689_dec, 139.4_dec},
                            {3355.77_dec, 0.01_dec, 0.001_dec, 95483.274_dec, 37.96_dec},
                            {191.26_dec, 0.01_dec, 1_dec, 11023732_dec, 11.25_dec},
                            {0.123456789_dec, 0.0001_dec, 10_dec, 5000_dec, 0.02_dec}};
  for (const auto& m : markets) {
    for (std::uint64_t i = 0; i < 300; ++i) {
      const rp::book_synth_input in{m.mid, m.tick, m.lot, m.volume, m.range, 2024, i};
      const auto book = rp::synthesize_book(in);
      INFO("mid " << m.mid << " bar " << i);
      REQUIRE(book.asks.size() == 20);
      REQUIRE_FALSE(book.bids.empty());
      CHECK(book.bids.front().price < book.asks.front().price);
      CHECK(book.bids.front().price <= m.mid);
      CHECK(book.asks.front().price >= m.mid);
      CHECK(book.asks.front().price - book.bids.front().price == m.tick * book.spread_ticks);
      CHECK(book.spread_ticks >= 1);
      for (std::size_t k = 0; k < book.bids.size(); ++k) {
        CHECK(on_grid(book.bids[k].price, m.tick));
        CHECK(book.bids[k].price.is_positive());
        CHECK(on_grid(book.bids[k].qty, m.lot));
        CHECK(book.bids[k].qty >= m.lot);
        if (k > 0) CHECK(book.bids[k].price < book.bids[k - 1].price);
      }
      for (std::size_t k = 0; k < book.asks.size(); ++k) {
        CHECK(on_grid(book.asks[k].price, m.tick));
        CHECK(on_grid(book.asks[k].qty, m.lot));
        CHECK(book.asks[k].qty >= m.lot);
        if (k > 0) CHECK(book.asks[k].price > book.asks[k - 1].price);
      }
    }
  }
}

TEST_CASE("bid levels at or below zero are dropped without shifting the asks", "[book]") {
  auto p = quiet(10);
  // mid 0.3, tick 0.1: m = 3 on the grid, S = 2 (R = 100) -> bid index 2; levels 2, 1, then <= 0.
  const auto book = rp::synthesize_book({0.3_dec, 0.1_dec, 1_dec, 1000_dec, 10_dec, 5, 5}, p);
  CHECK(book.bids == std::vector<rp::book_level>{{0.2_dec, 2_dec}, {0.1_dec, 1_dec}});
  CHECK(book.asks.size() == 10);
  CHECK(book.asks.front().price == 0.4_dec);
  CHECK(book.asks.back().price == 1.3_dec);
}

TEST_CASE("bad inputs and parameters are rejected", "[book]") {
  const rp::book_synth_input ok{100_dec, 0.1_dec, 0.001_dec, 10_dec, 1_dec, 1, 1};
  auto bad = ok;
  bad.mid = decimal::zero();
  CHECK_THROWS_AS(rp::synthesize_book(bad), std::invalid_argument);
  bad = ok;
  bad.tick = -0.1_dec;
  CHECK_THROWS_AS(rp::synthesize_book(bad), std::invalid_argument);
  bad = ok;
  bad.lot = decimal::zero();
  CHECK_THROWS_AS(rp::synthesize_book(bad), std::invalid_argument);
  bad = ok;
  bad.bar_volume = -1_dec;
  CHECK_THROWS_AS(rp::synthesize_book(bad), std::invalid_argument);
  bad = ok;
  bad.bar_range = -1_dec;
  CHECK_THROWS_AS(rp::synthesize_book(bad), std::invalid_argument);
  rp::book_synth_params p;
  p.levels = 0;
  CHECK_THROWS_AS(rp::synthesize_book(ok, p), std::invalid_argument);
  p = {};
  p.decay = decimal::zero();
  CHECK_THROWS_AS(rp::synthesize_book(ok, p), std::invalid_argument);
  p = {};
  p.wide_chance = 1.5_dec;
  CHECK_THROWS_AS(rp::synthesize_book(ok, p), std::invalid_argument);
  CHECK_NOTHROW(rp::synthesize_book(ok));
}
