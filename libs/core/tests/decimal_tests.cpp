#include "core/decimal.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using pt::core::decimal;
using pt::core::decimal_error;
using pt::core::decimal_overflow;
using pt::core::decimal_parse_error;
using pt::core::rounding;
using namespace pt::core::literals;

namespace {
decimal d(const char* s) { return decimal::parse(s); }
decimal u(std::int64_t units) { return decimal::from_units(units); }
const rounding all_modes[] = {rounding::half_even, rounding::half_up, rounding::down, rounding::floor,
                              rounding::ceil};
}  // namespace

TEST_CASE("decimal: parse is exact and to_string is canonical") {
  struct row {
    const char* text;
    std::int64_t units;
    const char* canonical;
  };
  const std::vector<row> rows = {
      {"42000.5", 42'000'500'000'000, "42000.5"},
      {"-0.00012345", -123'450, "-0.00012345"},
      {"1e-3", 1'000'000, "0.001"},
      {"1.5E2", 150'000'000'000, "150"},
      {"25e+1", 250'000'000'000, "250"},
      {"+7", 7'000'000'000, "7"},
      {"0.000000001", 1, "0.000000001"},
      {"1.0000000000000", 1'000'000'000, "1"},  // zeros past the 9th digit are exact
      {"-0", 0, "0"},
      {"0", 0, "0"},
      {".5", 500'000'000, "0.5"},
      {"5.", 5'000'000'000, "5"},
      {"00012.3400", 12'340'000'000, "12.34"},
      {"123456789e-9", 123'456'789, "0.123456789"},
      {"0e999999999999", 0, "0"},
      {"9223372036.854775807", INT64_MAX, "9223372036.854775807"},
      {"-9223372036.854775808", INT64_MIN, "-9223372036.854775808"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    const decimal v = decimal::parse(r.text);
    CHECK(v.units() == r.units);
    CHECK(v.to_string() == r.canonical);
    REQUIRE(decimal::try_parse(r.text).has_value());
    CHECK(*decimal::try_parse(r.text) == v);
  }
}

TEST_CASE("decimal: parse rejects garbage, excess precision and out-of-range values") {
  const std::vector<std::string> bad = {"",     "1.2.3", "abc", "1.0000000001", " 1",  "1 ",   "1e",
                                        "e5",   "-",     ".",   "+-1",          "1,5", "inf",  "nan",
                                        "0x10", "1e+",   "--1", "1e1.5",        "١",   "1_000"};
  for (const auto& s : bad) {
    INFO(s);
    CHECK_THROWS_AS(decimal::parse(s), decimal_parse_error);
    CHECK_FALSE(decimal::try_parse(s).has_value());
  }
  CHECK_THROWS_WITH(decimal::parse("1.0000000001"), Catch::Contains("more than 9 fractional digits"));
  CHECK_THROWS_WITH(decimal::parse("1.2.3"), Catch::Contains("unexpected '.' at position 3"));
  CHECK_THROWS_WITH(decimal::parse(""), Catch::Contains("empty"));
  CHECK_THROWS_WITH(decimal::parse("9223372036.854775808"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(decimal::parse("-9223372036.854775809"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(decimal::parse("1e10"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(decimal::parse("1e999999999999"), Catch::Contains("out of range"));
  CHECK_THROWS_AS(decimal::parse("1e-10"), decimal_parse_error);
}

TEST_CASE("decimal: parse_rounded rounds digits past the 9th with the given mode") {
  CHECK(decimal::parse_rounded("1.0000000005", rounding::half_even) == d("1"));
  CHECK(decimal::parse_rounded("1.0000000015", rounding::half_even) == d("1.000000002"));
  CHECK(decimal::parse_rounded("1.00000000050001", rounding::half_even) == d("1.000000001"));
  CHECK(decimal::parse_rounded("1.0000000005", rounding::half_up) == d("1.000000001"));
  CHECK(decimal::parse_rounded("1.00000000049999", rounding::half_up) == d("1"));
  CHECK(decimal::parse_rounded("-1.0000000005", rounding::half_up) == d("-1.000000001"));
  CHECK(decimal::parse_rounded("-1.0000000001", rounding::floor) == d("-1.000000001"));
  CHECK(decimal::parse_rounded("-1.0000000009", rounding::ceil) == d("-1"));
  CHECK(decimal::parse_rounded("-1.0000000009", rounding::down) == d("-1"));
  CHECK(decimal::parse_rounded("1.0000000001", rounding::ceil) == d("1.000000001"));
  CHECK(decimal::parse_rounded("1e-10", rounding::ceil) == u(1));
  CHECK(decimal::parse_rounded("1e-10", rounding::half_up) == u(0));
  CHECK(decimal::parse_rounded("-1e-1000000", rounding::floor) == u(-1));
  CHECK(decimal::parse_rounded("0.12345678949", rounding::half_even) == d("0.123456789"));
  CHECK(decimal::parse_rounded("9223372036.8547758074", rounding::down) == decimal::max());
  CHECK_THROWS_AS(decimal::parse_rounded("9223372036.8547758075", rounding::half_up), decimal_parse_error);
  CHECK_THROWS_AS(decimal::parse_rounded("1.2.3", rounding::half_up), decimal_parse_error);
}

TEST_CASE("decimal: addition, subtraction and multiplication are exact") {
  CHECK(d("0.1") + d("0.2") == d("0.3"));
  CHECK(d("0.3") - d("0.1") == d("0.2"));
  CHECK(d("42000.5") * d("0.001") == d("42.0005"));
  CHECK(d("100000") * d("50000") == d("5000000000"));
  CHECK(d("-1.5") * d("-2") == d("3"));
  CHECK(d("-1.5") * d("2") == d("-3"));
  CHECK(d("9000000000") * d("0.5") == d("4500000000"));  // 4.5e27 intermediate, fits in int128
  CHECK(d("0.001") * 3 == d("0.003"));
  CHECK(7 * d("0.25") == d("1.75"));
  CHECK(d("5000000000") / d("2500000000") == d("2"));
  CHECK(d("1") / d("8") == d("0.125"));
  CHECK(abs(d("-3.5")) == d("3.5"));
  CHECK(abs(d("3.5")) == d("3.5"));
  CHECK(-d("3.5") == d("-3.5"));
  CHECK(neg(d("0")) == d("0"));
  decimal acc = d("10");
  acc += d("0.25");
  acc -= d("1");
  CHECK(acc == d("9.25"));
  CHECK(decimal::from_integer(-42) == d("-42"));
  CHECK(d("0.5").to_double() == Approx(0.5));
  CHECK(d("-3.25").sign() == -1);
  CHECK(decimal::zero().sign() == 0);
}

TEST_CASE("decimal: overflow of a final result is detected") {
  CHECK_THROWS_AS(d("9000000000") * d("9000000000"), decimal_overflow);
  CHECK_THROWS_AS(d("-9000000000") * d("9000000000"), decimal_overflow);
  CHECK_THROWS_AS(decimal::max() * decimal::max(), decimal_overflow);
  CHECK_THROWS_AS(decimal::max() + u(1), decimal_overflow);
  CHECK_THROWS_AS(decimal::min() - u(1), decimal_overflow);
  CHECK_THROWS_AS(neg(decimal::min()), decimal_overflow);
  CHECK_THROWS_AS(abs(decimal::min()), decimal_overflow);
  CHECK_THROWS_AS(d("9000000000") / d("0.000000001"), decimal_overflow);
  CHECK_THROWS_AS(decimal::max() * 2, decimal_overflow);
  CHECK_THROWS_AS(decimal::from_integer(9'223'372'037), decimal_overflow);
  CHECK_NOTHROW(decimal::from_integer(9'223'372'036));
  CHECK_THROWS_WITH(d("9000000000") * d("9000000000"), Catch::Contains("overflow"));
  // Large operands whose product is small are fine: only the result has to fit.
  CHECK(d("9000000000") * d("0.000000001") == d("9"));
  CHECK_THROWS_AS(d("1") / d("0"), decimal_error);
  CHECK_THROWS_WITH(d("1") / d("0"), Catch::Contains("by zero"));
}

TEST_CASE("decimal: rounding modes on ties and on negative numbers") {
  struct row {
    const char* value;
    const char* half_even;
    const char* half_up;
    const char* down;
    const char* floor;
    const char* ceil;
  };
  // round_to_step with step 1 rounds to an integer.
  const std::vector<row> rows = {
      {"2.5", "2", "3", "2", "2", "3"},       {"3.5", "4", "4", "3", "3", "4"},
      {"-2.5", "-2", "-3", "-2", "-3", "-2"}, {"-3.5", "-4", "-4", "-3", "-4", "-3"},
      {"2.4", "2", "2", "2", "2", "3"},       {"2.6", "3", "3", "2", "2", "3"},
      {"-2.6", "-3", "-3", "-2", "-3", "-2"}, {"-0.4", "0", "0", "0", "-1", "0"},
      {"0.5", "0", "1", "0", "0", "1"},       {"-0.5", "0", "-1", "0", "-1", "0"},
      {"7", "7", "7", "7", "7", "7"},
  };
  for (const auto& r : rows) {
    INFO(r.value);
    const decimal v = d(r.value);
    CHECK(round_to_step(v, d("1"), rounding::half_even) == d(r.half_even));
    CHECK(round_to_step(v, d("1"), rounding::half_up) == d(r.half_up));
    CHECK(round_to_step(v, d("1"), rounding::down) == d(r.down));
    CHECK(round_to_step(v, d("1"), rounding::floor) == d(r.floor));
    CHECK(round_to_step(v, d("1"), rounding::ceil) == d(r.ceil));
  }
  // The same ties in the 10th digit of a product: 1.5e-9, 2.5e-9 and their negatives.
  const decimal half = d("0.5");
  CHECK(mul(u(3), half, rounding::half_even) == u(2));
  CHECK(mul(u(5), half, rounding::half_even) == u(2));
  CHECK(mul(u(5), half, rounding::half_up) == u(3));
  CHECK(mul(u(-5), half, rounding::half_even) == u(-2));
  CHECK(mul(u(-5), half, rounding::half_up) == u(-3));
  CHECK(mul(u(-5), half, rounding::down) == u(-2));
  CHECK(mul(u(-5), half, rounding::floor) == u(-3));
  CHECK(mul(u(-5), half, rounding::ceil) == u(-2));
  CHECK(mul(u(1), d("0.7"), rounding::half_even) == u(1));
  CHECK(mul(u(1), d("0.7"), rounding::down) == u(0));
  CHECK(mul(u(-1), d("0.7"), rounding::ceil) == u(0));
  CHECK(mul(u(-1), d("0.7"), rounding::floor) == u(-1));
  // Division: 2/3 and -2/3.
  CHECK(div(d("2"), d("3"), rounding::half_even) == d("0.666666667"));
  CHECK(div(d("2"), d("3"), rounding::down) == d("0.666666666"));
  CHECK(div(d("-2"), d("3"), rounding::floor) == d("-0.666666667"));
  CHECK(div(d("-2"), d("3"), rounding::ceil) == d("-0.666666666"));
  CHECK(div(d("2"), d("-3"), rounding::half_up) == d("-0.666666667"));
  CHECK(div(d("1"), d("3"), rounding::ceil) == d("0.333333334"));
}

TEST_CASE("decimal: every rounding mode brackets the exact 128-bit product (property)") {
  std::mt19937_64 rng(20240115);
  std::uniform_int_distribution<std::int64_t> small(-3'000'000'000'000'000, 3'000'000'000'000'000);
  std::uniform_int_distribution<std::int64_t> frac(-2'000'000'000, 2'000'000'000);
  for (int i = 0; i < 20'000; ++i) {
    const std::int64_t a = small(rng), b = frac(rng);
    const __int128 exact = static_cast<__int128>(a) * b;  // scale 1e18
    const decimal fl = mul(u(a), u(b), rounding::floor);
    const decimal ce = mul(u(a), u(b), rounding::ceil);
    const decimal dn = mul(u(a), u(b), rounding::down);
    const decimal he = mul(u(a), u(b), rounding::half_even);
    const decimal hu = mul(u(a), u(b), rounding::half_up);
    const __int128 s = decimal::scale;
    REQUIRE(static_cast<__int128>(fl.units()) * s <= exact);
    REQUIRE(exact < (static_cast<__int128>(fl.units()) + 1) * s);
    REQUIRE(ce.units() - fl.units() == (exact % s == 0 ? 0 : 1));
    REQUIRE(dn == (exact < 0 ? ce : fl));
    for (const decimal h : {he, hu}) {
      const __int128 err = static_cast<__int128>(h.units()) * s - exact;
      REQUIRE(2 * (err < 0 ? -err : err) <= s);  // within half a unit
      REQUIRE((h == fl || h == ce));
    }
  }
}

TEST_CASE("decimal: parse(to_string(x)) == x for random values (property)") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> any(INT64_MIN, INT64_MAX);
  std::uniform_int_distribution<std::int64_t> small(-100'000'000'000, 100'000'000'000);
  std::uniform_int_distribution<int> digits(0, 9);
  for (int i = 0; i < 50'000; ++i) {
    const decimal x = u(i % 2 ? any(rng) : small(rng));
    const std::string s = x.to_string();
    REQUIRE(decimal::parse(s) == x);
    REQUIRE(decimal::parse(x.to_string(9)) == x);
    // Canonical: no trailing zero after a '.', no "-0".
    if (s.find('.') != std::string::npos) REQUIRE(s.back() != '0');
    REQUIRE((s.rfind("-0", 0) != 0 || s.rfind("-0.", 0) == 0));
    // Fixed output rounds like round_to_step on the same digit.
    const int fd = digits(rng);
    std::int64_t step_units = 1;
    for (int k = fd; k < 9; ++k) step_units *= 10;
    const decimal step = u(step_units);
    if (x.units() > -4'000'000'000'000'000'000 && x.units() < 4'000'000'000'000'000'000)
      REQUIRE(decimal::parse(x.to_string(fd)) == round_to_step(x, step, rounding::half_even));
    const nlohmann::json j = x;
    REQUIRE(j.get<decimal>() == x);
  }
  CHECK(decimal::max().to_string() == "9223372036.854775807");
  CHECK(decimal::min().to_string() == "-9223372036.854775808");
}

TEST_CASE("decimal: to_string with fixed fraction digits") {
  CHECK(d("42000.5").to_string(2) == "42000.50");
  CHECK(d("42000.5").to_string(0) == "42000");  // tie to even
  CHECK(d("42000.5").to_string(0, rounding::half_up) == "42001");
  CHECK(d("1.005").to_string(2) == "1.00");
  CHECK(d("1.005").to_string(2, rounding::half_up) == "1.01");
  CHECK(d("-0.5").to_string(0) == "0");
  CHECK(d("-0.5").to_string(0, rounding::floor) == "-1");
  CHECK(d("-0.001").to_string(3) == "-0.001");
  CHECK(d("0.000000001").to_string(9) == "0.000000001");
  CHECK(d("3").to_string(9) == "3.000000000");
  CHECK_THROWS_AS(d("1").to_string(10), decimal_error);
  CHECK_THROWS_AS(d("1").to_string(-1), decimal_error);
}

TEST_CASE("decimal: prices round to realistic ticks, quantities down to the lot") {
  using pt::core::round_price_to_tick;
  using pt::core::round_qty_to_lot;
  CHECK(round_price_to_tick(d("42000.57"), d("0.1"), rounding::half_even) == d("42000.6"));
  CHECK(round_price_to_tick(d("42000.57"), d("0.1"), rounding::floor) == d("42000.5"));
  CHECK(round_price_to_tick(d("42000.51"), d("0.1"), rounding::ceil) == d("42000.6"));
  CHECK(round_price_to_tick(d("42000.55"), d("0.1"), rounding::half_even) == d("42000.6"));
  CHECK(round_price_to_tick(d("42000.45"), d("0.1"), rounding::half_even) == d("42000.4"));
  CHECK(round_price_to_tick(d("1.23456"), d("0.01"), rounding::half_even) == d("1.23"));
  CHECK(round_price_to_tick(d("1.23456"), d("0.01"), rounding::ceil) == d("1.24"));
  CHECK(round_price_to_tick(d("0.123456789"), d("0.00001"), rounding::half_even) == d("0.12346"));
  CHECK(round_price_to_tick(d("0.123456789"), d("0.00001"), rounding::down) == d("0.12345"));
  CHECK(round_price_to_tick(d("101.25"), d("0.5"), rounding::half_even) == d("101"));
  CHECK(round_price_to_tick(d("101.25"), d("0.5"), rounding::half_up) == d("101.5"));
  CHECK(round_price_to_tick(d("-3.14159"), d("0.01"), rounding::floor) == d("-3.15"));
  CHECK(round_qty_to_lot(d("0.0129"), d("0.001")) == d("0.012"));
  CHECK(round_qty_to_lot(d("-0.0129"), d("0.001")) == d("-0.012"));
  CHECK(round_qty_to_lot(d("0.0009"), d("0.001")) == d("0"));
  CHECK(round_qty_to_lot(d("5"), d("0.001")) == d("5"));
  for (const auto mode : all_modes) {
    INFO(to_string(mode));
    CHECK(round_to_step(d("42000.6"), d("0.1"), mode) == d("42000.6"));  // on the tick: unchanged
    CHECK_THROWS_AS(round_to_step(d("1"), d("0"), mode), decimal_error);
    CHECK_THROWS_AS(round_to_step(d("1"), d("-0.1"), mode), decimal_error);
  }
  CHECK_THROWS_WITH(round_qty_to_lot(d("1"), d("0")), Catch::Contains("step must be > 0"));
  // Every result is a multiple of the step and within one step of the input.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> px(-100'000'000'000'000, 100'000'000'000'000);
  const decimal ticks[] = {d("0.1"), d("0.01"), d("0.00001"), d("0.001"), d("0.5"), d("25")};
  for (int i = 0; i < 5'000; ++i) {
    const decimal v = u(px(rng));
    for (const decimal t : ticks) {
      for (const auto mode : all_modes) {
        const decimal r = round_to_step(v, t, mode);
        REQUIRE(r.units() % t.units() == 0);
        REQUIRE(abs(r - v) < t);
      }
      REQUIRE(abs(round_qty_to_lot(v, t)) <= abs(v));
    }
  }
}

TEST_CASE("decimal: notional is exact unless the product needs more than 9 digits") {
  using pt::core::notional;
  CHECK(notional(d("42000.5"), d("0.001")) == d("42.0005"));
  CHECK(notional(d("42000.5"), d("0.001"), rounding::down) == notional(d("42000.5"), d("0.001"), rounding::ceil));
  CHECK(notional(d("0.123456789"), d("0.1")) == d("0.012345679"));
  CHECK(notional(d("0.123456789"), d("0.1"), rounding::down) == d("0.012345678"));
  CHECK(notional(d("65000.12"), d("-1.5")) == d("-97500.18"));
  CHECK_THROWS_AS(notional(d("9000000000"), d("2")), decimal_overflow);
}

TEST_CASE("decimal: comparison, ordering, hashing and literals") {
  CHECK(d("1.5") < d("2"));
  CHECK(d("-2") < d("-1.5"));
  CHECK(d("0.1") == d("0.10"));
  CHECK(d("0.1") != d("0.11"));
  CHECK((d("3") <=> d("2")) == std::strong_ordering::greater);
  std::vector<decimal> v = {d("3"), d("-1"), d("0.5"), d("-1.25")};
  std::sort(v.begin(), v.end());
  CHECK(v == std::vector<decimal>{d("-1.25"), d("-1"), d("0.5"), d("3")});
  std::unordered_set<decimal> set = {d("0.1"), d("0.10"), d("0.2")};
  CHECK(set.size() == 2);
  CHECK(42000.5_dec == d("42000.5"));
  CHECK(0.1_dec + 0.2_dec == 0.3_dec);
  CHECK("0.001"_dec == d("0.001"));
  CHECK(1e-3_dec == d("0.001"));
  CHECK_THROWS_AS("1.0000000001"_dec, decimal_parse_error);
}

TEST_CASE("decimal: JSON carries decimals as strings and rejects numbers") {
  nlohmann::json j = d("42000.5");
  CHECK(j.is_string());
  CHECK(j == "42000.5");
  CHECK(nlohmann::json{{"px", d("-0.00012345")}}.dump() == R"({"px":"-0.00012345"})");
  const auto parsed = nlohmann::json::parse(R"({"px":"0.001","qty":42000.5,"n":5,"bad":"1.2.3"})");
  CHECK(parsed["px"].get<decimal>() == d("0.001"));
  CHECK_THROWS_AS(parsed["qty"].get<decimal>(), decimal_parse_error);
  CHECK_THROWS_WITH(parsed["qty"].get<decimal>(), Catch::Contains("expected a JSON string"));
  CHECK_THROWS_AS(parsed["n"].get<decimal>(), decimal_parse_error);
  CHECK_THROWS_AS(parsed["bad"].get<decimal>(), decimal_parse_error);
}
