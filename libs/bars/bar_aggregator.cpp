#include "bars/bar_aggregator.hpp"

#include <algorithm>
#include <string>

namespace pt::bars {

namespace {

std::int64_t ms(std::chrono::milliseconds d) { return d.count(); }

// Folds base bar `b` into the period bar `into` (which starts at `start`).
void fold(std::optional<bar>& into, const bar& b, std::int64_t start) {
  if (!into) {
    bar n = b;
    n.open_time_ms = start;
    n.base_bars = 1;
    n.complete = true;
    into = n;
    return;
  }
  bar& x = *into;
  x.high = std::max(x.high, b.high);
  x.low = std::min(x.low, b.low);
  x.close = b.close;
  x.volume += b.volume;
  if (x.quote_volume && b.quote_volume) *x.quote_volume += *b.quote_volume;
  else x.quote_volume.reset();  // one base bar without it: the sum would be wrong
  ++x.base_bars;
}

}  // namespace

bar_aggregator::bar_aggregator(std::chrono::milliseconds base, std::vector<std::chrono::milliseconds> targets)
    : base_(base) {
  if (base.count() <= 0) throw bar_error("bar_aggregator: the base period must be positive");
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  for (auto t : targets) {
    if (t < base || t.count() % base.count() != 0)
      throw bar_error("bar_aggregator: " + std::to_string(t.count()) + " ms is not a whole multiple of the base " +
                      std::to_string(base.count()) + " ms");
    slots_.push_back({t, std::nullopt});
  }
}

std::int64_t period_start(std::int64_t t_ms, std::chrono::milliseconds period) {
  const std::int64_t d = period.count();
  return (t_ms >= 0 ? t_ms / d : (t_ms - d + 1) / d) * d;
}

void bar_aggregator::note_gap(std::int64_t from, std::int64_t to) {
  from = std::max(from, gaps_noted_to_);
  if (to <= from) return;
  gaps_noted_to_ = to;
  if (!gaps_.empty() && gaps_.back().to_ms >= from) {
    gaps_.back().to_ms = std::max(gaps_.back().to_ms, to);
    return;
  }
  gaps_.push_back({from, to});
}

std::vector<closed_bar> bar_aggregator::on_base_bar(const bar& b) {
  // Validate everything before touching any state.
  if (period_start(b.open_time_ms, base_) != b.open_time_ms)
    throw bar_error("base bar at " + std::to_string(b.open_time_ms) + " is not aligned to the base period");
  if (last_open_ && b.open_time_ms <= *last_open_)
    throw bar_error("base bar at " + std::to_string(b.open_time_ms) + " is not after the last one (" +
                    std::to_string(*last_open_) + "): out of order or a duplicate");
  if (b.high < b.low || b.open > b.high || b.open < b.low || b.close > b.high || b.close < b.low)
    throw bar_error("base bar at " + std::to_string(b.open_time_ms) + ": open/close outside [low, high]");
  if (b.volume.is_negative()) throw bar_error("base bar at " + std::to_string(b.open_time_ms) + ": negative volume");

  std::vector<closed_bar> out;
  if (last_open_ && b.open_time_ms > *last_open_ + ms(base_)) note_gap(*last_open_ + ms(base_), b.open_time_ms);
  if (!last_open_ && !slots_.empty()) {
    // Start-up mid-period: the longest period's missing head is what a backfill must fetch.
    note_gap(period_start(b.open_time_ms, slots_.back().period), b.open_time_ms);
  }
  for (auto& s : slots_) {
    const std::int64_t start = period_start(b.open_time_ms, s.period);
    // on_time() already closed this period (the base bar came late): it stays closed; the
    // caller repairs it from the venue's own bar if it cares.
    if (start < s.closed_through) continue;
    // A bar of an earlier period still open: its end never came, close it incomplete.
    if (s.building && s.building->open_time_ms != start) {
      s.building->complete = false;
      out.push_back({s.period, *s.building});
      s.closed_through = s.building->open_time_ms + ms(s.period);
      s.building.reset();
    }
    fold(s.building, b, start);
    if (s.building->base_bars * ms(base_) != ms(s.period) && b.open_time_ms + ms(base_) == start + ms(s.period))
      s.building->complete = false;  // the period ends here with base bars missing
    if (b.open_time_ms + ms(base_) == start + ms(s.period)) {
      out.push_back({s.period, *s.building});
      s.closed_through = start + ms(s.period);
      s.building.reset();
    }
  }
  last_open_ = b.open_time_ms;
  std::stable_sort(out.begin(), out.end(), [](const closed_bar& x, const closed_bar& y) {
    return x.b.open_time_ms + x.period.count() < y.b.open_time_ms + y.period.count() ||
           (x.b.open_time_ms + x.period.count() == y.b.open_time_ms + y.period.count() && x.period < y.period);
  });
  return out;
}

std::vector<closed_bar> bar_aggregator::on_time(std::int64_t now_ms) {
  std::vector<closed_bar> out;
  for (auto& s : slots_) {
    if (!s.building) continue;
    const std::int64_t end = s.building->open_time_ms + ms(s.period);
    if (end > now_ms) continue;
    s.building->complete = false;
    out.push_back({s.period, *s.building});
    s.closed_through = end;
    s.building.reset();
  }
  if (last_open_) {
    // Base bars that should have closed by now and did not come.
    const std::int64_t next = *last_open_ + ms(base_);
    const std::int64_t due_end = period_start(now_ms, base_);  // bars opening before this have closed
    if (due_end > next) note_gap(next, due_end);
  }
  return out;
}

std::vector<gap> bar_aggregator::take_gaps() {
  std::vector<gap> g;
  g.swap(gaps_);
  return g;
}

std::optional<bar> bar_aggregator::open_bar(std::chrono::milliseconds period) const {
  for (const auto& s : slots_)
    if (s.period == period) return s.building;
  return std::nullopt;
}

}  // namespace pt::bars
