#pragma once
// Parameter-stability maps (walk-forward validation): for two chosen dimensions of a search space,
// the objective on an n_x x n_y grid with every other dimension held at a base point (the chosen
// parameters, say). A broad plateau of near-best values around the chosen point says the choice
// is robust; an isolated peak says it was fitted to noise. plateau_share and neighbourhood_mean
// put a number on it; the grid itself goes to a CSV or JSON for a heat map.
#include "backtest/optimize.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace pt::backtest {

struct stability_map {
  std::string x_name, y_name;
  std::vector<double> xs, ys;  // grid values of the two dimensions, increasing
  std::vector<std::vector<std::optional<double>>> values;  // values[iy][ix]; nullopt = infeasible
  double tolerance = 0;
  // Share of the feasible cells whose value is >= best - tolerance (the best cell included): a
  // plateau near the best => robust, an isolated peak => overfit. 0 when no cell is feasible.
  double plateau_share = 0;
  std::optional<double> best;                  // best feasible value
  std::optional<std::size_t> best_ix, best_iy; // its cell (the first in row order on a tie)
  std::optional<double> neighbourhood_mean;    // mean of the feasible 8-neighbours of the best cell
};

// Evaluates f at every (xs[ix], ys[iy]), rows (iy) outer, columns (ix) inner, with the other
// coordinates taken from `base` as given. Each axis is laid out as grid_search lays it: steps
// evenly spaced values, both bounds included; integer dimensions rounded (clamped to the whole
// numbers in the box) and deduplicated, so an axis may hold fewer than `steps` values. A
// non-finite value counts as infeasible, as in the searchers. Throws std::invalid_argument for a
// bad space (as grid_search), base.size() != space.size() or a non-finite base coordinate,
// ix_dim / iy_dim out of range or equal, steps_x or steps_y < 2, a negative or non-finite
// tolerance, or an empty f.
[[nodiscard]] stability_map parameter_stability(const std::vector<dimension>& space, const point& base,
                                                std::size_t ix_dim, std::size_t iy_dim, int steps_x, int steps_y,
                                                const objective& f, double tolerance);

// CSV, "\n" line ends: header "<x_name>,<y_name>,value" (names quoted per RFC 4180 when needed),
// then one line per cell in the evaluation order (iy outer, ix inner); numbers in the shortest
// form that reads back exactly; an empty value for an infeasible cell.
void write_stability_csv(std::ostream& out, const stability_map& m);

// {"x_name", "y_name", "xs", "ys", "values" (rows by y, null = infeasible), "tolerance",
//  "plateau_share", "best", "best_ix", "best_iy", "neighbourhood_mean"} (absent values: null).
[[nodiscard]] nlohmann::json to_json(const stability_map& m);

}  // namespace pt::backtest
