#pragma once
// Parameter search (issue 5, item 5): grid, random and Bayesian search (TPE, the tree-structured
// Parzen estimator of Bergstra et al., "Algorithms for Hyper-Parameter Optimization", NIPS 2011)
// over a box of tunable parameters. The objective is a callback the caller builds (a backtest's
// out-of-sample Sharpe under drawdown and win-rate constraints, say); the searchers only ever see
// numbers, so the hard risk caps can never be among the dimensions: the caller names what is
// tunable. Everything is seeded (std::mt19937_64 with hand-written draws, so results match across
// standard libraries) and maximises.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::backtest {

struct dimension {
  std::string name;
  double low = 0, high = 1;
  bool integer = false;  // values rounded to whole numbers (EMA periods)
};

using point = std::vector<double>;  // one value per dimension, in order
// The objective to maximise; nullopt = the point is infeasible (a constraint failed): it counts
// against the budget and is never the best.
using objective = std::function<std::optional<double>(const point&)>;

struct trial {
  point x;
  std::optional<double> value;
};

struct search_result {
  std::vector<trial> trials;  // in evaluation order
  std::optional<std::size_t> best;  // index into trials; nullopt when nothing was feasible
  [[nodiscard]] std::optional<double> best_value() const {
    return best ? trials[*best].value : std::nullopt;
  }
};

// Throws std::invalid_argument for an empty space, a dimension without finite low < high, or an
// integer dimension holding no whole number.
void check_space(const std::vector<dimension>& space);
// `steps` evenly spaced values of one dimension, both bounds included (integer dimensions rounded
// and deduplicated): one axis of grid_search (and of the stability maps).
[[nodiscard]] std::vector<double> grid_axis(const dimension& d, int steps);

// Every combination of `steps_per_dim` evenly spaced values (both bounds included; integer
// dimensions deduplicated), in lexicographic order. Throws std::invalid_argument for a bad space.
search_result grid_search(const std::vector<dimension>& space, int steps_per_dim, const objective& f);

// `budget` points drawn uniformly from the box.
search_result random_search(const std::vector<dimension>& space, int budget, std::uint64_t seed, const objective& f);

struct tpe_options {
  int startup = 10;        // random points before the model is used
  double gamma = 0.25;     // share of the feasible trials that count as "good"
  int candidates = 24;     // draws from the good density per step; the best l/g ratio is evaluated
};
// TPE: after `startup` random points, each dimension gets two Parzen densities (truncated Gaussian
// mixtures on the box, one kernel per trial plus a uniform prior kernel): l over the best gamma
// share of the trials, g over the rest. Candidates are drawn from l and the one with the highest
// l(x)/g(x) (product over dimensions) is evaluated. Infeasible trials count as bad.
search_result tpe_search(const std::vector<dimension>& space, int budget, std::uint64_t seed, const objective& f,
                         const tpe_options& opt = {});

// Branin-Hoo, the standard test function, negated so the searchers maximise it: on
// x1 in [-5, 10], x2 in [0, 15] its maximum is -0.397887 at (-pi, 12.275), (pi, 2.275) and
// (9.42478, 2.475).
double neg_branin(double x1, double x2);

}  // namespace pt::backtest
