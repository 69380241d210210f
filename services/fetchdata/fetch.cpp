#include "fetch.hpp"

#include "core/time.hpp"
#include "venue/symbols.hpp"

#include <fstream>
#include <stdexcept>

namespace pt::fetchdata {

namespace pv = pt::venue;

std::string utc_text(std::int64_t ms) {
  std::string s = core::timestamp::from_millis(ms).to_iso8601();  // 2024-12-31T00:00:00.000000000Z
  const std::string secs = s.substr(0, 19);
  const std::string millis = s.substr(20, 3);
  return millis == "000" ? secs + "Z" : secs + "." + millis + "Z";
}

std::vector<pv::candle> fetch_candles(pv::venue& v, const fetch_request& r, const progress_fn& progress) {
  const std::int64_t tf_ms = std::chrono::duration_cast<std::chrono::milliseconds>(pv::duration_of(pv::parse_timeframe(r.timeframe))).count();
  std::vector<pv::candle> out;
  std::int64_t from = r.start_ms;
  while (from < r.end_ms) {
    pv::kline_query q;
    q.symbol = r.venue_symbol;
    q.interval = r.timeframe;
    q.start = from;
    q.end = r.end_ms - 1;
    q.limit = r.page;
    const auto page = v.klines(q);
    std::int64_t next = from;
    for (const auto& c : page) {
      if (c.open_time < from || c.open_time >= r.end_ms) continue;
      if (!out.empty() && c.open_time <= out.back().open_time) continue;
      next = std::max(next, c.open_time + tf_ms);
      if (!c.closed || c.open_time + tf_ms > r.now_ms) continue;  // still forming
      out.push_back(c);
    }
    if (progress) progress(out.size());
    if (next <= from) break;  // nothing new: the venue has no more
    from = next;
  }
  return out;
}

std::vector<pv::funding_rate> fetch_funding(pv::venue& v, const fetch_request& r, const progress_fn& progress) {
  std::vector<pv::funding_rate> out;
  std::int64_t from = r.start_ms;
  while (from < r.end_ms) {
    const auto page = v.funding_history(r.venue_symbol, from, r.end_ms - 1, r.page);
    std::int64_t next = from;
    for (const auto& f : page) {
      if (f.time < from || f.time >= r.end_ms) continue;
      if (!out.empty() && f.time <= out.back().time) continue;
      out.push_back(f);
      next = std::max(next, f.time + 1);
    }
    if (progress) progress(out.size());
    if (next <= from) break;
    from = next;
  }
  return out;
}

namespace {

template <class Write>
void write_atomically(const std::filesystem::path& file, Write&& write) {
  std::filesystem::create_directories(file.parent_path());
  const auto tmp = std::filesystem::path(file.string() + ".part");
  {
    std::ofstream o(tmp, std::ios::trunc);
    if (!o) throw std::runtime_error(tmp.string() + ": cannot be written");
    write(o);
    o.flush();
    if (!o) throw std::runtime_error(tmp.string() + ": write failed");
  }
  std::filesystem::rename(tmp, file);
}

}  // namespace

void write_candles_csv(const std::filesystem::path& file, const std::vector<pv::candle>& rows, core::decimal volume_scale) {
  if (rows.empty()) throw std::invalid_argument(file.string() + ": no candles to write");
  write_atomically(file, [&](std::ostream& o) {
    o << "open_time_ms,open_time_utc,open,high,low,close,volume\n";
    for (const auto& c : rows)
      o << c.open_time << ',' << utc_text(c.open_time) << ',' << c.open.to_string() << ',' << c.high.to_string() << ','
        << c.low.to_string() << ',' << c.close.to_string() << ',' << (c.volume * volume_scale).to_string() << '\n';
  });
}

void write_funding_csv(const std::filesystem::path& file, const std::vector<pv::funding_rate>& rows) {
  if (rows.empty()) throw std::invalid_argument(file.string() + ": no funding rows to write");
  write_atomically(file, [&](std::ostream& o) {
    o << "funding_time_ms,funding_time_utc,funding_rate\n";
    for (const auto& f : rows) o << f.time << ',' << utc_text(f.time) << ',' << f.rate.to_string() << '\n';
  });
}

}  // namespace pt::fetchdata
