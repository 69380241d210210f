#include "backtest/stability.hpp"

#include "backtest/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace pt::backtest {

namespace {

std::string shortest(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json opt(const std::optional<std::size_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

stability_map parameter_stability(const std::vector<dimension>& space, const point& base, std::size_t ix_dim,
                                  std::size_t iy_dim, int steps_x, int steps_y, const objective& f, double tolerance) {
  check_space(space);
  if (base.size() != space.size()) throw std::invalid_argument("parameter_stability: base must hold one value per dimension");
  for (double v : base)
    if (!std::isfinite(v)) throw std::invalid_argument("parameter_stability: base holds a non-finite value");
  if (ix_dim >= space.size() || iy_dim >= space.size()) throw std::invalid_argument("parameter_stability: dimension index out of range");
  if (ix_dim == iy_dim) throw std::invalid_argument("parameter_stability: the x and y dimensions must differ");
  if (steps_x < 2 || steps_y < 2) throw std::invalid_argument("parameter_stability: steps must be >= 2");
  if (!std::isfinite(tolerance) || tolerance < 0) throw std::invalid_argument("parameter_stability: tolerance must be finite and >= 0");
  if (!f) throw std::invalid_argument("parameter_stability: no objective");

  stability_map m;
  m.x_name = space[ix_dim].name;
  m.y_name = space[iy_dim].name;
  m.xs = grid_axis(space[ix_dim], steps_x);
  m.ys = grid_axis(space[iy_dim], steps_y);
  m.tolerance = tolerance;
  m.values.assign(m.ys.size(), std::vector<std::optional<double>>(m.xs.size()));
  for (std::size_t iy = 0; iy < m.ys.size(); ++iy)
    for (std::size_t ix = 0; ix < m.xs.size(); ++ix) {
      point x = base;
      x[ix_dim] = m.xs[ix];
      x[iy_dim] = m.ys[iy];
      auto v = f(x);
      if (v && !std::isfinite(*v)) v.reset();
      m.values[iy][ix] = v;
      if (v && (!m.best || *v > *m.best)) {
        m.best = v;
        m.best_ix = ix;
        m.best_iy = iy;
      }
    }
  if (!m.best) return m;

  std::size_t feasible = 0, plateau = 0;
  for (const auto& row : m.values)
    for (const auto& v : row)
      if (v) {
        ++feasible;
        if (*v >= *m.best - tolerance) ++plateau;
      }
  m.plateau_share = static_cast<double>(plateau) / static_cast<double>(feasible);

  double sum = 0;
  std::size_t n = 0;
  const auto bx = static_cast<std::ptrdiff_t>(*m.best_ix), by = static_cast<std::ptrdiff_t>(*m.best_iy);
  for (std::ptrdiff_t dy = -1; dy <= 1; ++dy)
    for (std::ptrdiff_t dx = -1; dx <= 1; ++dx) {
      const auto x = bx + dx, y = by + dy;
      if ((dx == 0 && dy == 0) || x < 0 || y < 0 || x >= static_cast<std::ptrdiff_t>(m.xs.size()) ||
          y >= static_cast<std::ptrdiff_t>(m.ys.size()))
        continue;
      const auto& v = m.values[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
      if (!v) continue;
      sum += *v;
      ++n;
    }
  if (n > 0) m.neighbourhood_mean = sum / static_cast<double>(n);
  return m;
}

void write_stability_csv(std::ostream& out, const stability_map& m) {
  out << csv_field(m.x_name) << ',' << csv_field(m.y_name) << ",value\n";
  for (std::size_t iy = 0; iy < m.ys.size(); ++iy)
    for (std::size_t ix = 0; ix < m.xs.size(); ++ix) {
      out << shortest(m.xs[ix]) << ',' << shortest(m.ys[iy]) << ',';
      if (iy < m.values.size() && ix < m.values[iy].size() && m.values[iy][ix]) out << shortest(*m.values[iy][ix]);
      out << '\n';
    }
}

nlohmann::json to_json(const stability_map& m) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& row : m.values) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& v : row) r.push_back(opt(v));
    values.push_back(std::move(r));
  }
  return {{"x_name", m.x_name},
          {"y_name", m.y_name},
          {"xs", m.xs},
          {"ys", m.ys},
          {"values", std::move(values)},
          {"tolerance", m.tolerance},
          {"plateau_share", m.plateau_share},
          {"best", opt(m.best)},
          {"best_ix", opt(m.best_ix)},
          {"best_iy", opt(m.best_iy)},
          {"neighbourhood_mean", opt(m.neighbourhood_mean)}};
}

}  // namespace pt::backtest
