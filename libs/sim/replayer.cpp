#include "sim/replayer.hpp"

#include "replay/bar_path.hpp"
#include "replay/book_synth.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace pt::sim {

namespace {

constexpr std::int64_t day_ms = 24LL * 3600 * 1000;

venue::candle to_candle(const replay::bar& b, std::int64_t interval_ms, bool closed, core::decimal contract_size) {
  venue::candle c;
  c.open_time = b.open_time_ms;
  c.close_time = b.open_time_ms + interval_ms - 1;
  c.open = b.open;
  c.high = b.high;
  c.low = b.low;
  c.close = b.close;
  // Volume in the venue's order unit (Poloniex: contracts).
  c.volume = contract_size == core::decimal::one() ? b.volume
                                                   : core::div(b.volume, contract_size, core::rounding::down);
  c.quote_volume = b.quote_volume;
  c.trades = b.trades;
  c.closed = closed;
  return c;
}

// Folds b into the aggregate a (a covers earlier time).
void fold(replay::bar& a, const replay::bar& b) {
  a.high = std::max(a.high, b.high);
  a.low = std::min(a.low, b.low);
  a.close = b.close;
  a.volume += b.volume;
  if (a.quote_volume && b.quote_volume) *a.quote_volume += *b.quote_volume;
  else a.quote_volume.reset();
  if (a.trades && b.trades) *a.trades += *b.trades;
  else a.trades.reset();
}

}  // namespace

market_replayer::market_replayer(exchange& ex, std::vector<series> data, replay_config config)
    : ex_(ex), data_(std::move(data)), config_(config), cursors_(data_.size()) {
  bool first = true;
  for (const auto& s : data_) {
    if (s.bars.empty()) throw std::invalid_argument("replay series " + s.venue_symbol + " has no bars");
    if (s.base_ms <= 0) throw std::invalid_argument("replay series " + s.venue_symbol + " has no interval");
    if (ex_.find_instrument(s.venue_symbol) == nullptr)
      throw std::invalid_argument("replay series " + s.venue_symbol + " is not an instrument of the exchange");
    const epoch_ms a = s.bars.front().open_time_ms, b = s.bars.back().open_time_ms + s.base_ms;
    start_ = first ? a : std::min(start_, a);
    end_ = first ? b : std::max(end_, b);
    first = false;
  }
  now_ = start_;
  for (std::size_t i = 0; i < data_.size(); ++i) plan_bar(i);
}

const series* market_replayer::find(const std::string& venue_symbol) const {
  for (const auto& s : data_)
    if (s.venue_symbol == venue_symbol) return &s;
  return nullptr;
}

void market_replayer::plan_bar(std::size_t i) {
  cursor& c = cursors_[i];
  const series& s = data_[i];
  c.path.clear();
  c.point = 0;
  if (c.bar >= s.bars.size()) return;
  const replay::bar& b = s.bars[c.bar];
  // Adverse-first for the accounts' net position when the bar starts.
  const core::decimal net = ex_.net_position(s.venue_symbol);
  const auto bias = replay::adverse_bias_for(net.sign());
  for (const auto& p : replay::bar_path(b, bias, s.base_ms)) c.path.emplace_back(b.open_time_ms + p.offset_ms, p.price);
}

void market_replayer::move_market(std::size_t i, core::decimal price, epoch_ms t) {
  const series& s = data_[i];
  const cursor& c = cursors_[i];
  const venue::instrument& inst = *ex_.find_instrument(s.venue_symbol);
  const replay::bar& b = s.bars[c.bar];
  // Sizes in the order unit: the book model only needs volume and lot in the same unit.
  replay::book_synth_input in;
  in.mid = price;
  in.tick = inst.tick;
  in.lot = inst.lot;
  in.bar_volume = core::div(b.volume, inst.contract_size, core::rounding::down);
  in.bar_range = b.high - b.low;
  in.seed = config_.seed ^ (static_cast<std::uint64_t>(i) << 48);
  in.bar_index = static_cast<std::uint64_t>(c.bar) * 8 + c.point;
  replay::book_synth_params params;
  params.levels = static_cast<int>(config_.book_levels);
  const replay::synth_book book = replay::synthesize_book(in, params);
  std::vector<venue::book_level> bids, asks;
  bids.reserve(book.bids.size());
  asks.reserve(book.asks.size());
  for (const auto& l : book.bids) bids.push_back({l.price, l.qty});
  for (const auto& l : book.asks) asks.push_back({l.price, l.qty});
  ex_.set_market(s.venue_symbol, price, bids, asks, t);
  ex_.set_mark(s.venue_symbol, ex_.last_price(s.venue_symbol).value_or(price), t);
}

std::optional<epoch_ms> market_replayer::next_event_time() const {
  std::optional<epoch_ms> best;
  for (std::size_t i = 0; i < data_.size(); ++i) {
    const cursor& c = cursors_[i];
    if (c.point < c.path.size()) best = best ? std::min(*best, c.path[c.point].first) : c.path[c.point].first;
    const auto& f = data_[i].funding;
    if (c.funding < f.size()) best = best ? std::min(*best, f[c.funding].time_ms) : f[c.funding].time_ms;
  }
  return best;
}

std::size_t market_replayer::advance_to(epoch_ms t) {
  std::size_t events = 0;
  while (true) {
    // The earliest event across all series, so symbols interleave in time order.
    std::optional<std::pair<epoch_ms, std::size_t>> next;
    bool is_funding = false;
    for (std::size_t i = 0; i < data_.size(); ++i) {
      const cursor& c = cursors_[i];
      if (c.point < c.path.size() && c.path[c.point].first <= t &&
          (!next || c.path[c.point].first < next->first)) {
        next = {c.path[c.point].first, i};
        is_funding = false;
      }
      const auto& f = data_[i].funding;
      // Funding settles before a price point at the same instant (the bar opening at 08:00
      // starts after the 08:00 settlement).
      if (c.funding < f.size() && f[c.funding].time_ms <= t && (!next || f[c.funding].time_ms <= next->first)) {
        next = {f[c.funding].time_ms, i};
        is_funding = true;
      }
    }
    if (!next) break;
    const std::size_t i = next->second;
    cursor& c = cursors_[i];
    const series& s = data_[i];
    ++events;
    if (is_funding) {
      const auto& fp = s.funding[c.funding++];
      // Only settle inside the traded window; earlier rows are history.
      if (fp.time_ms >= s.bars.front().open_time_ms) ex_.apply_funding(s.venue_symbol, fp.rate, fp.time_ms);
      continue;
    }
    // The walk's order is fixed when the bar opens, from the position held at that moment (the
    // point times do not depend on it, so the event order above stays valid).
    if (c.point == 0) plan_bar(i);
    const auto [pt, price] = c.path[c.point];
    const replay::bar& b = s.bars[c.bar];
    if (c.point == 0) {
      c.partial = replay::bar{b.open_time_ms, price, price, price, price, core::decimal::zero(), std::nullopt, std::nullopt};
    } else {
      c.partial->high = std::max(c.partial->high, price);
      c.partial->low = std::min(c.partial->low, price);
      c.partial->close = price;
    }
    // Volume accrues evenly over the path so the running bar never shows the whole bar's volume.
    const auto n = static_cast<std::int64_t>(c.path.size());
    c.partial->volume = core::div(b.volume * static_cast<std::int64_t>(c.point + 1), core::decimal::from_integer(n),
                                  core::rounding::down);
    move_market(i, price, pt);
    ++c.point;
    if (c.point >= c.path.size()) {
      ++c.bar;
      c.partial.reset();
      plan_bar(i);
    }
  }
  now_ = std::max(now_, t);
  return events;
}

void market_replayer::seek(epoch_ms t) {
  for (std::size_t i = 0; i < data_.size(); ++i) {
    cursor& c = cursors_[i];
    const series& s = data_[i];
    while (c.bar < s.bars.size() && s.bars[c.bar].open_time_ms + s.base_ms <= t) ++c.bar;
    while (c.funding < s.funding.size() && s.funding[c.funding].time_ms < t) ++c.funding;
    if (c.bar > 0) move_market(i, s.bars[c.bar - 1].close, t);
    c.partial.reset();
    plan_bar(i);
  }
  now_ = std::max(now_, t);
}

std::vector<venue::candle> market_replayer::candles(const std::string& venue_symbol, std::int64_t interval_ms,
                                                    std::optional<epoch_ms> start, std::optional<epoch_ms> end,
                                                    std::size_t limit) const {
  std::vector<venue::candle> out;
  const series* s = find(venue_symbol);
  if (s == nullptr || interval_ms <= 0 || limit == 0) return out;
  const std::size_t idx = static_cast<std::size_t>(s - data_.data());
  const cursor& c = cursors_[idx];
  const core::decimal cs = ex_.find_instrument(venue_symbol)->contract_size;
  const epoch_ms lo = start.value_or(std::numeric_limits<epoch_ms>::min());
  const epoch_ms hi = std::min(end.value_or(now_), now_);

  // Closed candles straight from a recorded file of this interval, else aggregated from base bars
  // (only when the interval is a multiple of the base one).
  epoch_ms covered_until = std::numeric_limits<epoch_ms>::min();
  if (auto it = s->other_timeframes.find(interval_ms); it != s->other_timeframes.end() || interval_ms == s->base_ms) {
    // A recorded file of this interval: binary-search the closed prefix and the first bar asked
    // for, so a request costs what it returns, not the whole history (WS pushes call this often).
    const auto& bars = interval_ms == s->base_ms ? s->bars : it->second;
    const auto closed_end = std::partition_point(
        bars.begin(), bars.end(), [&](const replay::bar& b) { return b.open_time_ms + interval_ms <= now_; });
    if (closed_end != bars.begin()) covered_until = std::prev(closed_end)->open_time_ms + interval_ms;
    auto first = std::partition_point(bars.begin(), closed_end,
                                      [&](const replay::bar& b) { return b.open_time_ms + interval_ms - 1 < lo; });
    const auto last = std::partition_point(first, closed_end, [&](const replay::bar& b) { return b.open_time_ms <= hi; });
    // Without a start only the newest `limit` survive the trim below.
    if (!start && last - first > static_cast<std::ptrdiff_t>(limit)) first = last - static_cast<std::ptrdiff_t>(limit);
    for (auto b = first; b != last; ++b) out.push_back(to_candle(*b, interval_ms, true, cs));
  } else if (interval_ms % s->base_ms == 0) {
    std::vector<replay::bar> closed;
    for (const auto& b : s->bars) {
      if (b.open_time_ms + s->base_ms > now_) break;
      const epoch_ms bucket = b.open_time_ms - ((b.open_time_ms % interval_ms) + interval_ms) % interval_ms;
      if (!closed.empty() && closed.back().open_time_ms == bucket) fold(closed.back(), b);
      else {
        closed.push_back(b);
        closed.back().open_time_ms = bucket;
      }
    }
    // The last aggregate is closed only if its whole interval has passed.
    if (!closed.empty() && closed.back().open_time_ms + interval_ms > now_) closed.pop_back();
    covered_until = closed.empty() ? covered_until : closed.back().open_time_ms + interval_ms;
    for (const auto& b : closed)
      if (b.open_time_ms + interval_ms - 1 >= lo && b.open_time_ms <= hi) out.push_back(to_candle(b, interval_ms, true, cs));
  } else {
    return out;  // the protocol layer rejects intervals it cannot serve
  }

  // The running candle: base bars since it opened plus the bar being walked.
  if (now_ >= covered_until && now_ <= hi + interval_ms) {
    const epoch_ms bucket = now_ - ((now_ % interval_ms) + interval_ms) % interval_ms;
    std::optional<replay::bar> run;
    const auto from = std::partition_point(s->bars.begin(), s->bars.end(),
                                           [&](const replay::bar& b) { return b.open_time_ms < bucket; });
    for (auto it = from; it != s->bars.end(); ++it) {
      const replay::bar& b = *it;
      if (b.open_time_ms + s->base_ms > now_) break;
      if (!run) {
        run = b;
        run->open_time_ms = bucket;
      } else {
        fold(*run, b);
      }
    }
    if (c.partial && c.partial->open_time_ms >= bucket) {
      if (!run) {
        run = *c.partial;
        run->open_time_ms = bucket;
      } else {
        fold(*run, *c.partial);
      }
    }
    if (run && bucket >= covered_until && bucket + interval_ms - 1 >= lo && bucket <= hi)
      out.push_back(to_candle(*run, interval_ms, false, cs));
  }
  if (out.size() > limit) {
    // With a start the venues return the oldest `limit` from there; without, the newest.
    if (start) out.resize(limit);
    else out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  }
  return out;
}

std::vector<venue::funding_rate> market_replayer::funding_history(const std::string& venue_symbol,
                                                                  std::optional<epoch_ms> start,
                                                                  std::optional<epoch_ms> end,
                                                                  std::size_t limit) const {
  std::vector<venue::funding_rate> out;
  const series* s = find(venue_symbol);
  if (s == nullptr) return out;
  for (const auto& f : s->funding) {
    if (f.time_ms > now_) break;
    if ((start && f.time_ms < *start) || (end && f.time_ms > *end)) continue;
    venue::funding_rate r;
    r.symbol = venue_symbol;
    r.rate = f.rate;
    r.time = f.time_ms;
    r.mark = f.mark_price;
    out.push_back(r);
  }
  if (out.size() > limit) {
    if (start) out.resize(limit);
    else out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  }
  return out;
}

std::optional<venue::funding_rate> market_replayer::current_funding(const std::string& venue_symbol) const {
  const series* s = find(venue_symbol);
  if (s == nullptr || s->funding.empty()) return std::nullopt;
  venue::funding_rate r;
  r.symbol = venue_symbol;
  const replay::funding_point* last = nullptr;
  const replay::funding_point* next = nullptr;
  for (const auto& f : s->funding) {
    if (f.time_ms <= now_) last = &f;
    else {
      next = &f;
      break;
    }
  }
  if (last) {
    r.rate = last->rate;
    r.time = last->time_ms;
  } else {
    r.rate = s->funding.front().rate;
    r.time = s->funding.front().time_ms - s->funding_interval_ms;
  }
  if (next) {
    r.next_rate = next->rate;
    r.next_time = next->time_ms;
  } else {
    r.next_time = r.time + s->funding_interval_ms;
  }
  return r;
}

std::optional<venue::ticker> market_replayer::ticker(const std::string& venue_symbol) const {
  const series* s = find(venue_symbol);
  if (s == nullptr) return std::nullopt;
  const auto last = ex_.last_price(venue_symbol);
  if (!last) return std::nullopt;
  venue::ticker t;
  t.symbol = venue_symbol;
  t.last = *last;
  t.time = now_;
  const core::decimal cs = ex_.find_instrument(venue_symbol)->contract_size;
  std::optional<replay::bar> day;
  for (const auto& b : s->bars) {
    if (b.open_time_ms + s->base_ms > now_) break;
    if (b.open_time_ms < now_ - day_ms) continue;
    if (!day) day = b;
    else fold(*day, b);
  }
  if (day) {
    t.open = day->open;
    t.high = std::max(day->high, *last);
    t.low = std::min(day->low, *last);
    t.volume = core::div(day->volume, cs, core::rounding::down);
    t.quote_volume = day->quote_volume;
  }
  const auto book = ex_.book(venue_symbol, 1, now_);
  if (!book.bids.empty()) {
    t.bid = book.bids[0].price;
    t.bid_qty = book.bids[0].qty;
  }
  if (!book.asks.empty()) {
    t.ask = book.asks[0].price;
    t.ask_qty = book.asks[0].qty;
  }
  t.mark = ex_.mark(venue_symbol);
  t.index = t.mark;
  return t;
}

series load_series(const std::string& data_dir, const std::string& data_symbol, const std::string& base_timeframe,
                   const std::string& venue_symbol, const std::string& only_source) {
  series s;
  s.venue_symbol = venue_symbol;
  const auto base_ms = replay::timeframe_ms(base_timeframe);
  if (!base_ms) throw std::invalid_argument("unknown timeframe " + base_timeframe);
  s.base_ms = *base_ms;
  // One source folder for everything, so bars and funding come from the same recording: the one
  // with a funding file, then the longest base file.
  const auto all = replay::list_series(data_dir);
  std::string source;
  std::pair<bool, std::uintmax_t> best{false, 0};
  for (const auto& info : all) {
    if (info.symbol != data_symbol || !info.qualifier.empty() || info.kind != replay::series_kind::candles) continue;
    if (replay::timeframe_ms(info.timeframe) != s.base_ms) continue;
    if (!only_source.empty() && info.source != only_source) continue;
    bool funding = false;
    for (const auto& other : all)
      funding |= other.source == info.source && other.symbol == data_symbol && other.kind == replay::series_kind::funding;
    const std::pair<bool, std::uintmax_t> score{funding, std::filesystem::file_size(info.path)};
    if (source.empty() || score > best) {
      source = info.source;
      best = score;
    }
  }
  bool have_base = false;
  for (const auto& info : all) {
    if (info.source != source || info.symbol != data_symbol || !info.qualifier.empty()) continue;
    if (info.kind == replay::series_kind::candles) {
      const auto ms = replay::timeframe_ms(info.timeframe);
      if (!ms) continue;
      if (*ms == s.base_ms) {
        if (have_base) continue;
        s.bars = replay::load_candles(info.path);
        have_base = true;
      } else if (!s.other_timeframes.count(*ms)) {
        s.other_timeframes[*ms] = replay::load_candles(info.path);
      }
    } else if (info.kind == replay::series_kind::funding && s.funding.empty()) {
      s.funding = replay::load_funding(info.path);
    }
  }
  if (!have_base)
    throw std::invalid_argument("no " + base_timeframe + " candles for " + data_symbol + " under " + data_dir +
                                (only_source.empty() ? "" : "/" + only_source));
  return s;
}

}  // namespace pt::sim
