// bar_path orders and stamps, and the adverse-first rule (hand-worked bars).
#include "replay/bar_path.hpp"

#include <catch2/catch.hpp>

#include <optional>

namespace {

using namespace pt::core::literals;
using pt::core::decimal;
namespace rp = pt::replay;
using rp::path_bias;
using rp::path_stage;

rp::bar make_bar(decimal o, decimal h, decimal l, decimal c) {
  rp::bar b;
  b.open_time_ms = 1'735'603'200'000;  // 2024-12-31T00:00:00Z
  b.open = o;
  b.high = h;
  b.low = l;
  b.close = c;
  b.volume = 1_dec;
  return b;
}

std::vector<decimal> prices(const std::vector<rp::path_point>& p) {
  std::vector<decimal> out;
  for (const auto& x : p) out.push_back(x.price);
  return out;
}

// Index of the first path point at which a price level is reached, walking the straight
// segments: a level between two consecutive points is touched on the way to the later one.
std::optional<std::size_t> first_touch(const std::vector<rp::path_point>& p, decimal level) {
  if (p[0].price == level) return 0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    const decimal lo = std::min(p[i - 1].price, p[i].price), hi = std::max(p[i - 1].price, p[i].price);
    if (lo <= level && level <= hi) return i;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("low_first and high_first orders, with stamps at fixed fractions of the bar", "[bar_path]") {
  const auto b = make_bar(100_dec, 110_dec, 95_dec, 105_dec);
  const auto lf = rp::bar_path(b, path_bias::low_first, 3'600'000);
  REQUIRE(lf.size() == 4);
  CHECK(prices(lf) == std::vector<decimal>{100_dec, 95_dec, 110_dec, 105_dec});
  CHECK(lf[0].stage == path_stage::open);
  CHECK(lf[1].stage == path_stage::low);
  CHECK(lf[2].stage == path_stage::high);
  CHECK(lf[3].stage == path_stage::close);
  // 1 h = 3,600,000 ms: thirds at 1,200,000 and 2,400,000; close on the last ms.
  CHECK(lf[0].offset_ms == 0);
  CHECK(lf[1].offset_ms == 1'200'000);
  CHECK(lf[2].offset_ms == 2'400'000);
  CHECK(lf[3].offset_ms == 3'599'999);
  CHECK(lf[3].time_ms == 1'735'606'799'999);  // 2024-12-31T00:59:59.999Z

  const auto hf = rp::bar_path(b, path_bias::high_first, 3'600'000);
  CHECK(prices(hf) == std::vector<decimal>{100_dec, 110_dec, 95_dec, 105_dec});
  CHECK(hf[1].stage == path_stage::high);
  CHECK(hf[1].offset_ms == 1'200'000);
}

TEST_CASE("stamps for short durations: floor(D/3), floor(2D/3), D-1", "[bar_path]") {
  const auto b = make_bar(2_dec, 3_dec, 1_dec, 2_dec);
  const auto five = rp::bar_path(b, path_bias::low_first, 5);
  CHECK(five[1].offset_ms == 1);  // floor(5/3)
  CHECK(five[2].offset_ms == 3);  // floor(10/3)
  CHECK(five[3].offset_ms == 4);
  const auto one = rp::bar_path(b, path_bias::low_first, 1);
  for (const auto& p : one) CHECK(p.offset_ms == 0);
  const auto five_min = rp::bar_path(b, path_bias::high_first, 300'000);
  CHECK(five_min[1].offset_ms == 100'000);
  CHECK(five_min[2].offset_ms == 200'000);
  CHECK(five_min[3].offset_ms == 299'999);
}

TEST_CASE("nearest_first takes the extreme closer to the open, a tie goes low first", "[bar_path]") {
  // Open 100: low 5 away, high 10 away -> low first.
  CHECK(prices(rp::bar_path(make_bar(100_dec, 110_dec, 95_dec, 105_dec), path_bias::nearest_first, 60'000)) ==
        std::vector<decimal>{100_dec, 95_dec, 110_dec, 105_dec});
  // Open 108: high 2 away, low 13 away -> high first.
  CHECK(prices(rp::bar_path(make_bar(108_dec, 110_dec, 95_dec, 105_dec), path_bias::nearest_first, 60'000)) ==
        std::vector<decimal>{108_dec, 110_dec, 95_dec, 105_dec});
  // Open 102.5: both 7.5 away -> low first.
  CHECK(prices(rp::bar_path(make_bar(102.5_dec, 110_dec, 95_dec, 105_dec), path_bias::nearest_first, 60'000)) ==
        std::vector<decimal>{102.5_dec, 95_dec, 110_dec, 105_dec});
  // A flat bar keeps its four points.
  CHECK(rp::bar_path(make_bar(7_dec, 7_dec, 7_dec, 7_dec), path_bias::nearest_first, 60'000).size() == 4);
}

TEST_CASE("adverse bias: long -> low first, short -> high first, flat -> nearest", "[bar_path]") {
  CHECK(rp::adverse_bias_for(1) == path_bias::low_first);
  CHECK(rp::adverse_bias_for(7) == path_bias::low_first);
  CHECK(rp::adverse_bias_for(-1) == path_bias::high_first);
  CHECK(rp::adverse_bias_for(0) == path_bias::nearest_first);
  CHECK(rp::adverse_bias_for(0.001_dec) == path_bias::low_first);
  CHECK(rp::adverse_bias_for(-2.5_dec) == path_bias::high_first);
  CHECK(rp::adverse_bias_for(decimal::zero()) == path_bias::nearest_first);
}

TEST_CASE("a bar touching both stop and take-profit hits the stop first under the adverse bias", "[bar_path]") {
  // Open 100 near the high (108 is 2 away from 110 on a bar 95..110): nearest_first would go up first.
  const auto b = make_bar(108_dec, 110_dec, 95_dec, 105_dec);
  {  // long from 100: stop 96, take-profit 109
    const auto p = rp::bar_path(b, rp::adverse_bias_for(1), 300'000);
    const auto stop = first_touch(p, 96_dec), tp = first_touch(p, 109_dec);
    REQUIRE(stop);
    REQUIRE(tp);
    CHECK(*stop < *tp);
  }
  {  // short from 100: stop 109, take-profit 96
    const auto p = rp::bar_path(b, rp::adverse_bias_for(-1), 300'000);
    const auto stop = first_touch(p, 109_dec), tp = first_touch(p, 96_dec);
    REQUIRE(stop);
    REQUIRE(tp);
    CHECK(*stop < *tp);
  }
  {  // the same long under the favourable order would have taken profit first: the bias matters
    const auto p = rp::bar_path(b, path_bias::high_first, 300'000);
    CHECK(*first_touch(p, 109_dec) < *first_touch(p, 96_dec));
  }
}

TEST_CASE("bar_path rejects bad durations and inconsistent bars", "[bar_path]") {
  const auto ok = make_bar(100_dec, 110_dec, 95_dec, 105_dec);
  CHECK_THROWS_AS(rp::bar_path(ok, path_bias::low_first, 0), std::invalid_argument);
  CHECK_THROWS_AS(rp::bar_path(ok, path_bias::low_first, -5), std::invalid_argument);
  CHECK_THROWS_AS(rp::bar_path(make_bar(100_dec, 104_dec, 95_dec, 105_dec), path_bias::low_first, 60'000),
                  std::invalid_argument);  // close above high
  CHECK_THROWS_AS(rp::bar_path(make_bar(94_dec, 110_dec, 95_dec, 105_dec), path_bias::low_first, 60'000),
                  std::invalid_argument);  // open below low
}
