#include "backtest/optimize.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>

namespace pt::backtest {

void check_space(const std::vector<dimension>& space) {
  if (space.empty()) throw std::invalid_argument("search space: no dimension");
  for (const auto& d : space)
    if (!std::isfinite(d.low) || !std::isfinite(d.high) || !(d.low < d.high))
      throw std::invalid_argument("search space: dimension " + d.name + " needs finite low < high");
  for (const auto& d : space)
    if (d.integer && std::ceil(d.low) > std::floor(d.high))
      throw std::invalid_argument("search space: integer dimension " + d.name + " holds no whole number");
}

namespace {

// 53-bit uniform in [0, 1), by hand so every standard library gives the same stream.
double u01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double normal(std::mt19937_64& rng) {
  // Box-Muller; one output per call keeps the stream simple to reason about.
  const double u1 = 1.0 - u01(rng);  // (0, 1]
  const double u2 = u01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double snap(const dimension& d, double v) {
  v = std::clamp(v, d.low, d.high);
  return d.integer ? std::clamp(std::round(v), std::ceil(d.low), std::floor(d.high)) : v;
}

void record(search_result& r, point x, const objective& f) {
  const auto v = f(x);
  const bool usable = v && std::isfinite(*v);
  r.trials.push_back({std::move(x), usable ? v : std::nullopt});
  if (usable && (!r.best || *v > *r.trials[*r.best].value)) r.best = r.trials.size() - 1;
}

double phi(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

// One dimension's Parzen density: Gaussian kernels truncated to [low, high] at the given centres,
// plus a prior kernel (centre of the box, width of the box) that keeps unexplored ground alive.
struct parzen {
  std::vector<double> mu, sigma;
  double low = 0, high = 1;

  parzen(std::vector<double> centres, double lo, double hi) : low(lo), high(hi) {
    const double range = hi - lo;
    std::sort(centres.begin(), centres.end());
    // Bandwidth: the larger gap to a neighbour (the box edge at the ends), bounded so one
    // kernel never collapses onto a point nor flattens over the whole box (Bergstra's rule).
    const double min_bw = range / std::min<double>(100.0, 1.0 + static_cast<double>(centres.size()));
    for (std::size_t i = 0; i < centres.size(); ++i) {
      const double left = i == 0 ? centres[i] - lo : centres[i] - centres[i - 1];
      const double right = i + 1 == centres.size() ? hi - centres[i] : centres[i + 1] - centres[i];
      mu.push_back(centres[i]);
      sigma.push_back(std::clamp(std::max(left, right), min_bw, range));
    }
    mu.push_back(lo + range / 2);
    sigma.push_back(range);
  }
  [[nodiscard]] double pdf(double x) const {
    double sum = 0;
    for (std::size_t i = 0; i < mu.size(); ++i) {
      const double mass = phi((high - mu[i]) / sigma[i]) - phi((low - mu[i]) / sigma[i]);
      const double z = (x - mu[i]) / sigma[i];
      sum += std::exp(-0.5 * z * z) / (sigma[i] * std::sqrt(2 * std::numbers::pi) * std::max(mass, 1e-12));
    }
    return sum / static_cast<double>(mu.size());
  }
  [[nodiscard]] double draw(std::mt19937_64& rng) const {
    const auto k = std::min<std::size_t>(mu.size() - 1, static_cast<std::size_t>(u01(rng) * static_cast<double>(mu.size())));
    for (int tries = 0; tries < 64; ++tries) {  // truncation by rejection; the box holds most mass
      const double v = mu[k] + sigma[k] * normal(rng);
      if (v >= low && v <= high) return v;
    }
    return std::clamp(mu[k], low, high);
  }
};

}  // namespace

std::vector<double> grid_axis(const dimension& d, int steps) {
  std::vector<double> a;
  for (int i = 0; i < steps; ++i) {
    const double v = snap(d, d.low + (d.high - d.low) * i / (steps - 1));
    if (a.empty() || a.back() != v) a.push_back(v);
  }
  return a;
}

search_result grid_search(const std::vector<dimension>& space, int steps_per_dim, const objective& f) {
  check_space(space);
  if (steps_per_dim < 2) throw std::invalid_argument("grid_search: steps_per_dim must be >= 2");
  std::vector<std::vector<double>> axes;
  for (const auto& d : space) axes.push_back(grid_axis(d, steps_per_dim));
  search_result r;
  std::vector<std::size_t> idx(space.size(), 0);
  for (;;) {
    point x;
    for (std::size_t k = 0; k < space.size(); ++k) x.push_back(axes[k][idx[k]]);
    record(r, std::move(x), f);
    std::size_t k = space.size();
    while (k > 0 && ++idx[k - 1] == axes[k - 1].size()) idx[--k] = 0;
    if (k == 0) break;
  }
  return r;
}

search_result random_search(const std::vector<dimension>& space, int budget, std::uint64_t seed, const objective& f) {
  check_space(space);
  if (budget < 1) throw std::invalid_argument("random_search: budget must be >= 1");
  std::mt19937_64 rng(seed);
  search_result r;
  for (int i = 0; i < budget; ++i) {
    point x;
    for (const auto& d : space) x.push_back(snap(d, d.low + (d.high - d.low) * u01(rng)));
    record(r, std::move(x), f);
  }
  return r;
}

search_result tpe_search(const std::vector<dimension>& space, int budget, std::uint64_t seed, const objective& f,
                         const tpe_options& opt) {
  check_space(space);
  if (budget < 1) throw std::invalid_argument("tpe_search: budget must be >= 1");
  if (opt.startup < 1 || opt.candidates < 1 || !(opt.gamma > 0 && opt.gamma < 1))
    throw std::invalid_argument("tpe_search: startup and candidates >= 1, 0 < gamma < 1");
  std::mt19937_64 rng(seed);
  search_result r;
  for (int i = 0; i < budget; ++i) {
    point x;
    if (i < opt.startup) {
      for (const auto& d : space) x.push_back(snap(d, d.low + (d.high - d.low) * u01(rng)));
    } else {
      // Rank the trials best first (infeasible last; ties by evaluation order, deterministic).
      std::vector<std::size_t> order(r.trials.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& va = r.trials[a].value;
        const auto& vb = r.trials[b].value;
        if (va.has_value() != vb.has_value()) return va.has_value();
        return va && *va > *vb;
      });
      std::size_t feasible = 0;
      for (const auto& t : r.trials) feasible += t.value.has_value();
      const auto n_good = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(opt.gamma * static_cast<double>(feasible))));
      std::vector<parzen> good, bad;
      for (std::size_t k = 0; k < space.size(); ++k) {
        std::vector<double> gl, bl;
        for (std::size_t j = 0; j < order.size(); ++j) (j < n_good ? gl : bl).push_back(r.trials[order[j]].x[k]);
        good.emplace_back(std::move(gl), space[k].low, space[k].high);
        bad.emplace_back(std::move(bl), space[k].low, space[k].high);
      }
      double best_score = -1;
      for (int c = 0; c < opt.candidates; ++c) {
        point cand;
        double score = 0;  // log l(x) - log g(x), summed over the (independent) dimensions
        for (std::size_t k = 0; k < space.size(); ++k) {
          const double v = snap(space[k], good[k].draw(rng));
          cand.push_back(v);
          score += std::log(std::max(good[k].pdf(v), 1e-300)) - std::log(std::max(bad[k].pdf(v), 1e-300));
        }
        if (x.empty() || score > best_score) {
          best_score = score;
          x = std::move(cand);
        }
      }
    }
    record(r, std::move(x), f);
  }
  return r;
}

double neg_branin(double x1, double x2) {
  constexpr double pi = std::numbers::pi;
  const double a = 1, b = 5.1 / (4 * pi * pi), c = 5 / pi, r = 6, s = 10, t = 1 / (8 * pi);
  const double y = x2 - b * x1 * x1 + c * x1 - r;
  return -(a * y * y + s * (1 - t) * std::cos(x1) + s);
}

}  // namespace pt::backtest
