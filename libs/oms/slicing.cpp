#include "oms/slicing.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace pt::oms {

using core::decimal;
using std::chrono::milliseconds;

namespace {

void check(decimal lot, milliseconds span) {
  if (!lot.is_positive()) throw std::invalid_argument("slicing: lot must be > 0");
  if (span.count() < 0) throw std::invalid_argument("slicing: duration must be >= 0");
}

std::int64_t lots_in(decimal qty, decimal lot) { return qty.is_positive() ? qty.units() / lot.units() : 0; }
std::int64_t min_lots(decimal min_qty, decimal lot) {
  if (!min_qty.is_positive()) return 1;
  return std::max<std::int64_t>(1, (min_qty.units() + lot.units() - 1) / lot.units());
}

// Children under the minimum merged into the next one (the last into the one before), then the
// empty ones dropped; indices renumbered, times kept.
std::vector<child_slice> finish(std::vector<std::int64_t> lots, std::vector<milliseconds> at, decimal lot, std::int64_t min) {
  for (std::size_t i = 0; i + 1 < lots.size(); ++i)
    if (lots[i] > 0 && lots[i] < min) {
      lots[i + 1] += lots[i];
      lots[i] = 0;
    }
  if (lots.size() >= 2 && lots.back() > 0 && lots.back() < min) {
    for (std::size_t j = lots.size() - 1; j-- > 0;)
      if (lots[j] > 0) {
        lots[j] += lots.back();
        lots.back() = 0;
        break;
      }
  }
  std::vector<child_slice> out;
  for (std::size_t i = 0; i < lots.size(); ++i)
    if (lots[i] > 0) out.push_back({static_cast<int>(out.size()), lot * lots[i], at[i]});
  return out;
}

}  // namespace

const char* to_string(slice_algo a) {
  switch (a) {
    case slice_algo::twap: return "twap";
    case slice_algo::vwap: return "vwap";
    case slice_algo::iceberg: return "iceberg";
    case slice_algo::none: break;
  }
  return "none";
}

slice_algo parse_slice_algo(const std::string& text) {
  if (text == "none") return slice_algo::none;
  if (text == "twap") return slice_algo::twap;
  if (text == "vwap") return slice_algo::vwap;
  if (text == "iceberg") return slice_algo::iceberg;
  throw std::invalid_argument("unknown slicing algorithm '" + text + "' (none | twap | vwap | iceberg)");
}

std::vector<child_slice> plan_twap(decimal total, decimal lot, decimal min_qty, int slices, milliseconds duration) {
  check(lot, duration);
  if (slices < 1) throw std::invalid_argument("slicing: slices must be >= 1");
  const std::int64_t n = lots_in(total, lot), min = min_lots(min_qty, lot);
  if (n == 0) return {};
  const std::int64_t k = std::max<std::int64_t>(1, std::min<std::int64_t>(slices, n / min));
  std::vector<std::int64_t> lots(static_cast<std::size_t>(k), n / k);
  for (std::int64_t i = 0; i < n % k; ++i) ++lots[static_cast<std::size_t>(i)];
  std::vector<milliseconds> at;
  for (std::int64_t i = 0; i < k; ++i) at.push_back(milliseconds(duration.count() * i / k));
  return finish(std::move(lots), std::move(at), lot, min);
}

std::vector<child_slice> plan_vwap(decimal total, decimal lot, decimal min_qty, const std::vector<decimal>& weights,
                                   milliseconds bucket) {
  check(lot, bucket);
  if (weights.empty()) throw std::invalid_argument("slicing: vwap needs at least one weight");
  __int128 sum = 0;
  for (const auto& w : weights) {
    if (w.is_negative()) throw std::invalid_argument("slicing: a vwap weight is negative");
    sum += w.units();
  }
  const auto k = static_cast<int>(weights.size());
  if (sum == 0) return plan_twap(total, lot, min_qty, k, bucket * k);
  const std::int64_t n = lots_in(total, lot), min = min_lots(min_qty, lot);
  if (n == 0) return {};
  // Largest remainder: floor shares, then one more lot to the biggest remainders (earliest first).
  std::vector<std::int64_t> lots(weights.size());
  std::vector<std::pair<__int128, std::size_t>> rest;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const __int128 exact = static_cast<__int128>(weights[i].units()) * n;
    lots[i] = static_cast<std::int64_t>(exact / sum);
    given += lots[i];
    rest.push_back({exact % sum, i});
  }
  std::stable_sort(rest.begin(), rest.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::int64_t i = 0; i < n - given; ++i) ++lots[rest[static_cast<std::size_t>(i)].second];
  std::vector<milliseconds> at;
  for (int i = 0; i < k; ++i) at.push_back(bucket * i);
  return finish(std::move(lots), std::move(at), lot, min);
}

std::vector<child_slice> plan_iceberg(decimal total, decimal lot, decimal min_qty, decimal display) {
  check(lot, milliseconds(0));
  const std::int64_t n = lots_in(total, lot), min = min_lots(min_qty, lot);
  if (n == 0) return {};
  const std::int64_t clip = std::max(min, lots_in(display, lot));
  std::vector<std::int64_t> lots;
  for (std::int64_t left = n; left > 0; left -= std::min(clip, left)) lots.push_back(std::min(clip, left));
  std::vector<milliseconds> at(lots.size(), milliseconds(0));
  return finish(std::move(lots), std::move(at), lot, min);
}

}  // namespace pt::oms
