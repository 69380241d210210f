// Parameter search: grid, random and TPE. Expected values are worked by hand in the comments;
// the Bayesian-beats-random check runs both searchers on Branin at the same budget and seeds.
#include "backtest/optimize.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace pt::backtest::test {

namespace {

const std::vector<dimension> branin_box{{"x1", -5, 10, false}, {"x2", 0, 15, false}};
const objective branin = [](const point& x) { return std::optional<double>(neg_branin(x[0], x[1])); };
constexpr double branin_max = -0.397887357729739;  // -(5/(4 pi)): the known global minimum, negated

}  // namespace

TEST_CASE("neg_branin matches the textbook values") {
  // At a global minimiser the bracket vanishes (x2 - b x1^2 + c x1 - r = 0) and f = s (1 - t)
  // cos(x1) + s = 10 (1 - 1/(8 pi)) (-1) + 10 = 10 / (8 pi) = 0.397887...
  CHECK(neg_branin(-std::numbers::pi, 12.275) == Approx(branin_max).epsilon(1e-9));
  CHECK(neg_branin(std::numbers::pi, 2.275) == Approx(branin_max).epsilon(1e-9));
  CHECK(neg_branin(9.42478, 2.475) == Approx(branin_max).epsilon(1e-6));
  // (0, 0): y = -6, y^2 = 36; 10 (1 - 1/(8 pi)) cos 0 = 9.602112642; f = 36 + 9.602112642 + 10.
  CHECK(neg_branin(0, 0) == Approx(-55.602112642270).epsilon(1e-12));
}

TEST_CASE("grid_search visits every combination in order and integer axes without repeats") {
  // x in [0, 2] (3 steps: 0, 1, 2); n in [1, 2] integer (3 steps: 1, 1.5 -> 2, 2 -> {1, 2}).
  const std::vector<dimension> box{{"x", 0, 2, false}, {"n", 1, 2, true}};
  int calls = 0;
  const auto r = grid_search(box, 3, [&](const point& p) {
    ++calls;
    return std::optional<double>(-(p[0] - 1) * (p[0] - 1) - (p[1] - 2) * (p[1] - 2));
  });
  REQUIRE(calls == 6);
  REQUIRE(r.trials.size() == 6);
  const std::vector<point> expected{{0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 1}, {2, 2}};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(r.trials[i].x == expected[i]);
  REQUIRE(r.best);
  CHECK(r.trials[*r.best].x == point{1, 2});  // the objective's maximum, 0
  CHECK(*r.best_value() == 0.0);
}

TEST_CASE("random_search is seeded and stays in the box") {
  const std::vector<dimension> box{{"fast", 5, 30, true}, {"mult", 1.0, 4.0, false}};
  auto f = [](const point& p) { return std::optional<double>(p[1] - p[0] / 10); };
  const auto a = random_search(box, 50, 42, f);
  const auto b = random_search(box, 50, 42, f);
  const auto c = random_search(box, 50, 43, f);
  REQUIRE(a.trials.size() == 50);
  bool differs = false;
  for (std::size_t i = 0; i < a.trials.size(); ++i) {
    CHECK(a.trials[i].x == b.trials[i].x);
    differs = differs || a.trials[i].x != c.trials[i].x;
    const auto& x = a.trials[i].x;
    CHECK(x[0] >= 5);
    CHECK(x[0] <= 30);
    CHECK(x[0] == std::round(x[0]));
    CHECK(x[1] >= 1.0);
    CHECK(x[1] < 4.0);
  }
  CHECK(differs);
}

TEST_CASE("infeasible points count against the budget and are never the best") {
  // Only x1 <= 0 is allowed: the best must be there, even though Branin is higher elsewhere too.
  const objective constrained = [](const point& x) -> std::optional<double> {
    if (x[0] > 0) return std::nullopt;
    return neg_branin(x[0], x[1]);
  };
  for (const auto& r : {random_search(branin_box, 40, 7, constrained), tpe_search(branin_box, 40, 7, constrained)}) {
    REQUIRE(r.trials.size() == 40);
    REQUIRE(r.best);
    CHECK(r.trials[*r.best].x[0] <= 0);
    for (const auto& t : r.trials)
      if (t.x[0] > 0) CHECK_FALSE(t.value.has_value());
  }
  const auto none = tpe_search(branin_box, 15, 1, [](const point&) { return std::optional<double>(); });
  CHECK_FALSE(none.best.has_value());
  CHECK_FALSE(none.best_value().has_value());
}

TEST_CASE("TPE beats random search on Branin at the same budget") {
  // 20 seeds, 60 evaluations each. The regret is the gap between the best value found and the
  // known maximum; TPE must have the lower mean regret and win on most seeds.
  constexpr int seeds = 20, budget = 60;
  double tpe_regret = 0, random_regret = 0;
  int tpe_wins = 0;
  for (int s = 1; s <= seeds; ++s) {
    const double t = branin_max - *tpe_search(branin_box, budget, static_cast<std::uint64_t>(s), branin).best_value();
    const double r = branin_max - *random_search(branin_box, budget, static_cast<std::uint64_t>(s), branin).best_value();
    tpe_regret += t / seeds;
    random_regret += r / seeds;
    tpe_wins += t < r;
  }
  INFO("mean regret: TPE " << tpe_regret << ", random " << random_regret << "; TPE better on " << tpe_wins << " of " << seeds);
  CHECK(tpe_regret < random_regret);
  CHECK(tpe_regret < 0.5 * random_regret);
  CHECK(tpe_wins >= 14);
}

TEST_CASE("TPE is deterministic for a seed") {
  const auto a = tpe_search(branin_box, 30, 5, branin);
  const auto b = tpe_search(branin_box, 30, 5, branin);
  REQUIRE(a.trials.size() == b.trials.size());
  for (std::size_t i = 0; i < a.trials.size(); ++i) CHECK(a.trials[i].x == b.trials[i].x);
}

TEST_CASE("a bad search space or budget is refused") {
  CHECK_THROWS_AS(random_search({}, 10, 1, branin), std::invalid_argument);
  CHECK_THROWS_AS(random_search({{"x", 1, 1, false}}, 10, 1, branin), std::invalid_argument);
  CHECK_THROWS_AS(random_search({{"x", 0, NAN, false}}, 10, 1, branin), std::invalid_argument);
  CHECK_THROWS_AS(random_search(branin_box, 0, 1, branin), std::invalid_argument);
  CHECK_THROWS_AS(grid_search(branin_box, 1, branin), std::invalid_argument);
  CHECK_THROWS_AS(grid_search({{"n", 1.2, 1.8, true}}, 3, branin), std::invalid_argument);
  tpe_options bad;
  bad.gamma = 1.5;
  CHECK_THROWS_AS(tpe_search(branin_box, 10, 1, branin, bad), std::invalid_argument);
}

}  // namespace pt::backtest::test
