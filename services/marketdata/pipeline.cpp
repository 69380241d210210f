#include "pipeline.hpp"

#include "venue/symbols.hpp"

#include <algorithm>
#include <stdexcept>

namespace pt::marketdata {

namespace {

// What marketdata publishes (issue 4 item 1); the venue's interval tables (venue/symbols.hpp)
// know more, and give the names and lengths.
constexpr venue::timeframe published_timeframes[] = {venue::timeframe::m1, venue::timeframe::m5, venue::timeframe::m15,
                                                     venue::timeframe::h1, venue::timeframe::h4, venue::timeframe::d1};

std::vector<std::chrono::milliseconds> targets_of(const std::vector<std::string>& tfs, std::chrono::milliseconds base) {
  std::vector<std::chrono::milliseconds> out;
  for (const auto& tf : tfs) {
    const auto p = timeframe_period(tf);
    if (p < base || p.count() % base.count() != 0)
      throw std::invalid_argument("timeframe " + tf + " is not a multiple of the base " + timeframe_name(base));
    if (p > base) out.push_back(p);
  }
  return out;
}

bars::bar to_bar(const venue::candle& c) {
  bars::bar b;
  b.open_time_ms = c.open_time;
  b.open = c.open;
  b.high = c.high;
  b.low = c.low;
  b.close = c.close;
  b.volume = c.volume;
  b.quote_volume = c.quote_volume;
  b.base_bars = 1;
  return b;
}

}  // namespace

std::chrono::milliseconds timeframe_period(const std::string& tf) {
  for (auto t : published_timeframes)
    if (venue::to_string(t) == tf) return venue::duration_of(t);
  throw std::invalid_argument("unknown timeframe '" + tf + "' (1m, 5m, 15m, 1h, 4h, 1d)");
}

std::string timeframe_name(std::chrono::milliseconds period) {
  for (auto t : published_timeframes)
    if (venue::duration_of(t) == period) return venue::to_string(t);
  throw std::invalid_argument("no timeframe of " + std::to_string(period.count()) + " ms");
}

bar_pipeline::bar_pipeline(const std::vector<std::string>& timeframes, int head_1m, std::chrono::milliseconds base)
    : base_ms(base.count()), agg_(base, targets_of(timeframes, base)), head_1m_(std::max(0, head_1m)), longest_(base) {
  for (const auto& tf : timeframes) {
    const auto p = timeframe_period(tf);
    if (p.count() == base_ms) publish_base_ = true;
    longest_ = std::max(longest_, p);
  }
}

std::int64_t bar_pipeline::history_start(std::int64_t open_ms) const {
  return bars::period_start(open_ms, longest_) - std::int64_t{head_1m_} * base_ms;
}

std::vector<published_bar> bar_pipeline::on_stream(const venue::candle& c) {
  if (c.closed) {
    if (running_ && running_->open_time <= c.open_time) running_.reset();
    close_candidate(c);
  } else if (!running_ || running_->open_time <= c.open_time) {
    // A later bar opened: the previous one is over, with the figures of its last push.
    if (running_ && running_->open_time < c.open_time) close_candidate(*running_);
    running_ = c;
  }
  return drain();
}

void bar_pipeline::close_candidate(const venue::candle& c) {
  if (c.open_time <= last_closed_open_) return;  // already taken (Binance repeats nothing, but be safe)
  last_closed_open_ = c.open_time;
  closed_end_ = c.open_time + base_ms;
  venue::candle k = c;
  k.closed = true;
  held_.push_back(k);
}

std::vector<published_bar> bar_pipeline::drain() {
  std::vector<published_bar> out;
  while (!held_.empty() && !pending_) {
    const auto& h = held_.front();
    const auto last = agg_.last_base_open();
    if (last && h.open_time <= *last) {  // the backfill already brought it
      held_.pop_front();
      continue;
    }
    if (!started_) {
      const std::int64_t from = history_start(h.open_time);
      if (from < h.open_time) {
        pending_ = backfill_request{from, h.open_time};
        return out;
      }
      started_ = true;
    }
    if (last && h.open_time > *last + base_ms && h.open_time != skip_gap_at_) {
      pending_ = backfill_request{*last + base_ms, h.open_time};
      return out;
    }
    feed(h, false, out);
    held_.pop_front();
  }
  return out;
}

void bar_pipeline::feed(const venue::candle& c, bool backfilled, std::vector<published_bar>& out) {
  std::vector<bars::closed_bar> closed;
  const auto b = to_bar(c);
  try {
    closed = agg_.on_base_bar(b);
  } catch (const bars::bar_error& e) {
    errors_.emplace_back(e.what());
    return;
  }
  if (!first_fed_) first_fed_ = c.open_time;
  if (backfilled) last_backfilled_open_ = c.open_time;
  if (publish_base_) out.push_back({timeframe_name(std::chrono::milliseconds(base_ms)), std::chrono::milliseconds(base_ms), b, backfilled});
  for (auto& cb : closed)
    out.push_back({timeframe_name(cb.period), cb.period, cb.b, last_backfilled_open_ >= cb.b.open_time_ms});
}

std::vector<published_bar> bar_pipeline::on_backfill(const backfill_request& r, std::vector<venue::candle> rest) {
  if (!pending_ || !(*pending_ == r)) return {};
  std::sort(rest.begin(), rest.end(), [](const venue::candle& a, const venue::candle& b) { return a.open_time < b.open_time; });
  // The newest REST bar may still be running: a bar is closed only when it ended by the newest
  // closed stream bar's end or a later REST bar exists.
  std::int64_t horizon = closed_end_;
  if (!rest.empty()) horizon = std::max(horizon, rest.back().open_time);
  std::vector<published_bar> out;
  for (const auto& c : rest) {
    if (c.open_time < r.from_ms || c.open_time >= r.to_ms || c.open_time + base_ms > horizon) continue;
    if (bars::period_start(c.open_time, std::chrono::milliseconds(base_ms)) != c.open_time) continue;
    const auto last = agg_.last_base_open();
    if (last && c.open_time <= *last) continue;
    feed(c, true, out);
  }
  pending_.reset();
  started_ = true;
  auto more = drain();
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

std::vector<published_bar> bar_pipeline::backfill_failed(const backfill_request& r) {
  if (!pending_ || !(*pending_ == r)) return {};
  pending_.reset();
  started_ = true;
  if (!held_.empty()) skip_gap_at_ = held_.front().open_time;
  return drain();
}

time_result bar_pipeline::on_time(std::int64_t horizon_ms) {
  time_result res;
  const auto last = agg_.last_base_open();
  if (!last || pending_ || !held_.empty()) return res;  // nothing yet, or busy filling
  // bars opening before this are due
  const std::int64_t due_end = bars::period_start(horizon_ms, std::chrono::milliseconds(base_ms));
  if (due_end <= *last + base_ms) return res;
  res.stale = true;
  if (stale_asked_to_ < due_end) {
    // Ask the venue first: the stream may be down while REST still answers.
    stale_asked_to_ = due_end;
    pending_ = backfill_request{*last + base_ms, due_end};
    return res;
  }
  for (auto& cb : agg_.on_time(horizon_ms))
    res.bars.push_back({timeframe_name(cb.period), cb.period, cb.b, last_backfilled_open_ >= cb.b.open_time_ms});
  return res;
}

std::vector<std::string> bar_pipeline::take_errors() {
  std::vector<std::string> e;
  e.swap(errors_);
  return e;
}

}  // namespace pt::marketdata
