// Child-order plans, expected values worked out by hand in the comments.
#include "oms/slicing.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace pt::oms;
using pt::core::decimal;
using namespace pt::core::literals;
using std::chrono::milliseconds;

namespace {
std::vector<std::string> qtys(const std::vector<child_slice>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) out.push_back(x.qty.to_string());
  return out;
}
std::vector<long long> times(const std::vector<child_slice>& c) {
  std::vector<long long> out;
  for (const auto& x : c) out.push_back(x.at.count());
  return out;
}
}  // namespace

TEST_CASE("twap: equal children spread over the duration, the remainder to the first ones") {
  const auto a = plan_twap("1"_dec, "0.001"_dec, "0.001"_dec, 4, milliseconds(60000));
  CHECK(qtys(a) == std::vector<std::string>{"0.25", "0.25", "0.25", "0.25"});
  CHECK(times(a) == std::vector<long long>{0, 15000, 30000, 45000});
  // 10 lots in 3: 4, 3, 3.
  CHECK(qtys(plan_twap("10"_dec, "1"_dec, "1"_dec, 3, milliseconds(3000))) == std::vector<std::string>{"4", "3", "3"});
  // 5 lots, minimum 2 lots: at most 2 children, 3 + 2.
  CHECK(qtys(plan_twap("0.005"_dec, "0.001"_dec, "0.002"_dec, 5, milliseconds(1000))) == std::vector<std::string>{"0.003", "0.002"});
  // The total is rounded down to the lot: never more than approved.
  CHECK(qtys(plan_twap("1.0009"_dec, "0.001"_dec, "0.001"_dec, 2, milliseconds(0))) == std::vector<std::string>{"0.5", "0.5"});
  CHECK(plan_twap("0.0004"_dec, "0.001"_dec, "0.001"_dec, 2, milliseconds(0)).empty());
  CHECK_THROWS_AS(plan_twap("1"_dec, "0"_dec, "0"_dec, 2, milliseconds(0)), std::invalid_argument);
  CHECK_THROWS_AS(plan_twap("1"_dec, "1"_dec, "0"_dec, 0, milliseconds(0)), std::invalid_argument);
}

TEST_CASE("vwap: children in proportion to the expected volume, largest remainder, small ones merged") {
  const auto a = plan_vwap("1"_dec, "0.001"_dec, "0.001"_dec, {"1"_dec, "2"_dec, "1"_dec}, milliseconds(60000));
  CHECK(qtys(a) == std::vector<std::string>{"0.25", "0.5", "0.25"});
  CHECK(times(a) == std::vector<long long>{0, 60000, 120000});
  // 10 lots over equal weights: 3.33 each; the one spare lot to the earliest: 4, 3, 3.
  CHECK(qtys(plan_vwap("10"_dec, "1"_dec, "1"_dec, {"5"_dec, "5"_dec, "5"_dec}, milliseconds(1))) == std::vector<std::string>{"4", "3", "3"});
  // Weights 1, 8, 1 of 10 lots with a 2-lot minimum: 1 | 8 | 1; the first merges into the second
  // (9), the last into it as well (10), sent at the second bucket's time.
  const auto m = plan_vwap("10"_dec, "1"_dec, "2"_dec, {"1"_dec, "8"_dec, "1"_dec}, milliseconds(1000));
  CHECK(qtys(m) == std::vector<std::string>{"10"});
  CHECK(times(m) == std::vector<long long>{1000});
  // No volume seen anywhere: TWAP over the same buckets.
  CHECK(qtys(plan_vwap("9"_dec, "1"_dec, "1"_dec, {"0"_dec, "0"_dec, "0"_dec}, milliseconds(1))) == std::vector<std::string>{"3", "3", "3"});
  CHECK_THROWS_AS(plan_vwap("1"_dec, "1"_dec, "0"_dec, {"-1"_dec}, milliseconds(1)), std::invalid_argument);
  CHECK_THROWS_AS(plan_vwap("1"_dec, "1"_dec, "0"_dec, {}, milliseconds(1)), std::invalid_argument);
}

TEST_CASE("iceberg: clips of the display size, the rest last, merged when under the minimum") {
  CHECK(qtys(plan_iceberg("1"_dec, "0.1"_dec, "0.1"_dec, "0.3"_dec)) == std::vector<std::string>{"0.3", "0.3", "0.3", "0.1"});
  CHECK(qtys(plan_iceberg("1"_dec, "0.1"_dec, "0.2"_dec, "0.3"_dec)) == std::vector<std::string>{"0.3", "0.3", "0.4"});
  // A display under the minimum shows the minimum.
  CHECK(qtys(plan_iceberg("0.6"_dec, "0.1"_dec, "0.2"_dec, "0.05"_dec)) == std::vector<std::string>{"0.2", "0.2", "0.2"});
  for (const auto& c : plan_iceberg("1"_dec, "0.1"_dec, "0.1"_dec, "0.3"_dec)) CHECK(c.at.count() == 0);
}

TEST_CASE("every plan: whole lots, at least the minimum, summing to the lot-rounded total") {
  const decimal lot = "0.001"_dec, min = "0.005"_dec;
  for (std::int64_t units : {5'000'000LL, 7'000'000LL, 123'456'789LL, 999'999'999LL, 25'001'000'000LL}) {
    const decimal total = decimal::from_units(units);
    const decimal want = pt::core::round_qty_to_lot(total, lot);
    const std::vector<std::vector<child_slice>> plans{
        plan_twap(total, lot, min, 7, milliseconds(70000)),
        plan_vwap(total, lot, min, {"3"_dec, "0.1"_dec, "5"_dec, "0"_dec, "2"_dec}, milliseconds(1000)),
        plan_iceberg(total, lot, min, "0.013"_dec)};
    for (const auto& plan : plans) {
      INFO("total " << total << " children " << plan.size());
      decimal sum;
      for (const auto& c : plan) {
        CHECK(c.qty >= min);
        CHECK(c.qty.units() % lot.units() == 0);
        sum = sum + c.qty;
      }
      CHECK(sum == want);
      for (std::size_t i = 1; i < plan.size(); ++i) CHECK(plan[i].at >= plan[i - 1].at);
    }
  }
}
