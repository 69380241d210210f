// The bar pipeline without NATS or a venue: stream candles (Poloniex-style running pushes with no
// closed flag, Binance-style closed flags), the start-up backfill, a hole in the stream filled
// over REST, a failed backfill, a stale stream and bad candles. Expected bars come from the
// recorded Binance 1m candles in ../shared/data grouped here by hand (first open, max high, min
// low, last close, summed volume per UTC-aligned period), and from hand-made candles.
#include "pipeline.hpp"
#include "replay/data_files.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

using namespace pt;
using core::decimal;
using marketdata::bar_pipeline;
using marketdata::published_bar;

namespace {

constexpr std::int64_t M = 60000;
const std::vector<std::string> all_tfs{"1m", "5m", "15m", "1h", "4h", "1d"};

venue::candle mk(std::int64_t open, const char* o, const char* h, const char* l, const char* c, const char* v,
                 bool closed) {
  venue::candle k;
  k.open_time = open;
  k.open = decimal::parse(o);
  k.high = decimal::parse(h);
  k.low = decimal::parse(l);
  k.close = decimal::parse(c);
  k.volume = decimal::parse(v);
  k.closed = closed;
  return k;
}

venue::candle from_recorded(const replay::bar& r, bool closed) {
  venue::candle k;
  k.open_time = r.open_time_ms;
  k.open = r.open;
  k.high = r.high;
  k.low = r.low;
  k.close = r.close;
  k.volume = r.volume;
  k.closed = closed;
  return k;
}

void append(std::vector<published_bar>& to, std::vector<published_bar> more) {
  to.insert(to.end(), more.begin(), more.end());
}

std::string data_dir() {
  const char* env = std::getenv("POLYTRADE_DATA");
  return env && *env ? env : std::string(POLYTRADE_SOURCE_DIR) + "/../shared/data";
}

struct expect_bar {
  decimal open, high, low, close, volume;
  int n = 0;
};

// Hand grouping of 1m bars into UTC-aligned periods of `p` ms.
std::map<std::int64_t, expect_bar> group(const std::vector<replay::bar>& m1, std::int64_t p) {
  std::map<std::int64_t, expect_bar> out;
  for (const auto& r : m1) {
    auto& e = out[r.open_time_ms / p * p];
    if (e.n == 0) {
      e.open = r.open;
      e.high = r.high;
      e.low = r.low;
      e.volume = decimal{};
    }
    e.high = std::max(e.high, r.high);
    e.low = std::min(e.low, r.low);
    e.close = r.close;
    e.volume += r.volume;
    ++e.n;
  }
  return out;
}

}  // namespace

TEST_CASE("pipeline closes Poloniex running candles when the next bar opens and backfills the head") {
  bar_pipeline p({"1m", "5m"});
  const std::int64_t t0 = 1'700'000'100'000 / (5 * M) * (5 * M);  // a 5m boundary
  // The stream starts at t0 + 2m with running pushes (no closed flag).
  auto out = p.on_stream(mk(t0 + 2 * M, "10", "11", "9", "10.5", "1", false));
  CHECK(out.empty());
  CHECK_FALSE(p.pending());
  out = p.on_stream(mk(t0 + 2 * M, "10", "12", "9", "11", "2", false));  // same bar, final figures
  CHECK(out.empty());
  out = p.on_stream(mk(t0 + 3 * M, "11", "11", "11", "11", "0", false));  // next bar opens
  CHECK(out.empty());
  // The closed bar t0+2m is held: the 5m period started at t0, so [t0, t0+2m) is asked first.
  REQUIRE(p.pending());
  CHECK(*p.pending() == marketdata::backfill_request{t0, t0 + 2 * M});
  // REST answers both bars of the head and, wrongly for us, the running bar t0+2m with stale figures.
  out = p.on_backfill(*p.pending(), {mk(t0 + M, "9", "10", "8", "10", "3", true), mk(t0, "8", "9", "7", "9", "4", true),
                                     mk(t0 + 2 * M, "10", "10.5", "9", "10.5", "1", true)});
  REQUIRE(out.size() == 3);  // 1m t0, 1m t0+1m (backfilled), 1m t0+2m (stream)
  CHECK(out[0].tf == "1m");
  CHECK(out[0].b.open_time_ms == t0);
  CHECK(out[0].backfilled);
  CHECK(out[1].b.open_time_ms == t0 + M);
  CHECK(out[2].b.open_time_ms == t0 + 2 * M);
  CHECK_FALSE(out[2].backfilled);
  CHECK(out[2].b.high == decimal::parse("12"));  // the stream's final push, not REST's
  CHECK(out[2].b.close == decimal::parse("11"));
  // Two more bars close the 5m bar: open 8 (t0), high 12, low 7, close of t0+4m, volume 4+3+2+0+5.
  out = p.on_stream(mk(t0 + 4 * M, "11", "13", "10", "12", "5", false));
  REQUIRE(out.size() == 1);  // the t0+4m push closes t0+3m
  CHECK(out[0].b.open_time_ms == t0 + 3 * M);
  out = p.on_stream(mk(t0 + 5 * M, "12", "12", "12", "12", "0", false));
  REQUIRE(out.size() == 2);
  CHECK(out[0].tf == "1m");
  CHECK(out[0].b.open_time_ms == t0 + 4 * M);
  CHECK(out[1].tf == "5m");
  CHECK(out[1].b.open_time_ms == t0);
  CHECK(out[1].b.open == decimal::parse("8"));
  CHECK(out[1].b.high == decimal::parse("13"));
  CHECK(out[1].b.low == decimal::parse("7"));
  CHECK(out[1].b.close == decimal::parse("12"));
  CHECK(out[1].b.volume == decimal::parse("14"));
  CHECK(out[1].b.complete);
  CHECK(out[1].backfilled);
}

TEST_CASE("pipeline takes Binance closed flags and never takes a running bar twice") {
  bar_pipeline p({"1m", "5m"});
  const std::int64_t t0 = 1'700'000'100'000 / (5 * M) * (5 * M);
  CHECK(p.on_stream(mk(t0, "1", "2", "1", "2", "1", false)).empty());
  auto out = p.on_stream(mk(t0, "1", "3", "1", "3", "2", true));
  REQUIRE(out.size() == 1);  // t0 is a period start: no head to backfill
  CHECK_FALSE(p.pending());
  CHECK(out[0].b.high == decimal::parse("3"));
  // The next bar's first push must not close t0 again.
  CHECK(p.on_stream(mk(t0 + M, "3", "3", "3", "3", "0", false)).empty());
  CHECK(p.on_stream(mk(t0 + M, "3", "4", "3", "4", "1", true)).size() == 1);
}

TEST_CASE("pipeline drops the running candle when the stream is lost and backfills its minute instead") {
  bar_pipeline p({"1m"});
  const std::int64_t t0 = 1'700'000'100'000 / M * M;
  p.on_stream(mk(t0, "1", "1", "1", "1", "1", true));
  CHECK(p.on_stream(mk(t0 + M, "2", "2", "2", "2", "1", false)).empty());  // pushes stop mid-bar
  p.stream_lost();
  // After the reconnect the first push is of t0+3m: t0+1m is not closed from its stale push.
  CHECK(p.on_stream(mk(t0 + 3 * M, "4", "4", "4", "4", "1", false)).empty());
  auto out = p.on_stream(mk(t0 + 4 * M, "5", "5", "5", "5", "1", false));
  CHECK(out.empty());
  REQUIRE(p.pending());
  CHECK(*p.pending() == marketdata::backfill_request{t0 + M, t0 + 3 * M});
  out = p.on_backfill(*p.pending(), {mk(t0 + M, "2", "3", "2", "3", "7", true), mk(t0 + 2 * M, "3", "3", "3", "3", "1", true)});
  REQUIRE(out.size() == 3);
  CHECK(out[0].b.volume == decimal::parse("7"));  // the venue's bar, not the stale push
  CHECK(out[0].backfilled);
  CHECK(out[2].b.open_time_ms == t0 + 3 * M);
  CHECK_FALSE(out[2].backfilled);
}

TEST_CASE("pipeline fills a stream hole over REST, or leaves it and marks the bar incomplete") {
  const std::int64_t t0 = 1'700'000'100'000 / (5 * M) * (5 * M);
  for (bool rest_answers : {true, false}) {
    INFO("rest answers " << rest_answers);
    bar_pipeline p({"5m"});
    p.on_stream(mk(t0, "1", "1", "1", "1", "1", true));
    // t0+1m and t0+2m never come on the stream.
    auto out = p.on_stream(mk(t0 + 3 * M, "2", "2", "2", "2", "1", true));
    CHECK(out.empty());
    REQUIRE(p.pending());
    CHECK(*p.pending() == marketdata::backfill_request{t0 + M, t0 + 3 * M});
    // A closed bar that arrives while the backfill is pending is held in order.
    CHECK(p.on_stream(mk(t0 + 4 * M, "3", "3", "3", "3", "1", true)).empty());
    if (rest_answers)
      out = p.on_backfill(*p.pending(), {mk(t0 + M, "5", "5", "5", "5", "1", true), mk(t0 + 2 * M, "6", "6", "6", "6", "1", true)});
    else
      out = p.backfill_failed(*p.pending());
    CHECK_FALSE(p.pending());
    REQUIRE(out.size() == 1);
    CHECK(out[0].tf == "5m");
    CHECK(out[0].b.complete == rest_answers);
    CHECK(out[0].b.base_bars == (rest_answers ? 5 : 3));
    CHECK(out[0].b.high == decimal::parse(rest_answers ? "6" : "3"));
    CHECK(out[0].backfilled == rest_answers);
    CHECK(p.take_gaps().size() == (rest_answers ? 0u : 1u));
  }
}

TEST_CASE("pipeline reports a stale stream, asks REST first, then closes the period incomplete") {
  bar_pipeline p({"5m"});
  const std::int64_t t0 = 1'700'000'100'000 / (5 * M) * (5 * M);
  p.on_stream(mk(t0, "1", "1", "1", "1", "1", true));
  p.on_stream(mk(t0 + M, "1", "2", "1", "2", "1", true));
  // Horizon: now minus the allowance. Bars opening before t0+2m are due: nothing missing.
  auto r = p.on_time(t0 + 2 * M + 30000);
  CHECK_FALSE(r.stale);
  // t0+2m was due (opens before the horizon's minute t0+3m): stale; REST asked first.
  r = p.on_time(t0 + 3 * M + 1);
  CHECK(r.stale);
  CHECK(r.bars.empty());
  REQUIRE(p.pending());
  CHECK(*p.pending() == marketdata::backfill_request{t0 + 2 * M, t0 + 3 * M});
  // REST has only the running bar t0+2m (nothing after it): not closed, not taken.
  auto out = p.on_backfill(*p.pending(), {mk(t0 + 2 * M, "9", "9", "9", "9", "1", true)});
  CHECK(out.empty());
  CHECK(*p.last_fed() == t0 + M);
  // Past the 5m period's end with no more data: closed incomplete.
  r = p.on_time(t0 + 5 * M);
  CHECK(r.stale);
  REQUIRE(p.pending());  // the new minutes are asked once more
  CHECK(p.on_backfill(*p.pending(), {}).empty());
  r = p.on_time(t0 + 5 * M);
  CHECK(r.stale);
  REQUIRE(r.bars.size() == 1);
  CHECK_FALSE(r.bars[0].b.complete);
  CHECK(r.bars[0].b.base_bars == 2);
  CHECK(r.bars[0].b.high == decimal::parse("2"));
}

TEST_CASE("pipeline drops a bad candle with an error and goes on") {
  bar_pipeline p({"1m"});
  const std::int64_t t0 = 1'700'000'100'000 / M * M;
  CHECK(p.on_stream(mk(t0, "5", "4", "6", "5", "1", true)).empty());  // high below low
  auto e = p.take_errors();
  REQUIRE(e.size() == 1);
  CHECK(p.on_stream(mk(t0 + M, "5", "6", "4", "5", "1", true)).size() == 1);
  CHECK(p.take_errors().empty());
}

TEST_CASE("pipeline rebuilds the recorded BTCUSDT 1m candles into 5m to 1d through start backfill, a stream hole and closure") {
  const std::filesystem::path file = std::filesystem::path(data_dir()) / "freqtrade_1m_two_sources" / "BTCUSDT_1m.csv.gz";
  if (!std::filesystem::exists(file)) {
    WARN("no recorded data at " << file.string() << ": skipped");
    return;
  }
  const auto all = replay::load_candles(file);
  const std::int64_t day = 86'400'000;
  const std::int64_t d0 = 1'746'921'600'000;  // 2025-05-11T00:00:00Z
  const std::int64_t start = d0 + 13 * 3'600'000 + 7 * M;  // the stream starts at 13:07
  const std::int64_t hole_from = d0 + 17 * 3'600'000 + 3 * M, hole_to = hole_from + 7 * M;
  const std::int64_t end = d0 + day + 2 * 3'600'000;  // 2025-05-12T02:00Z
  std::vector<replay::bar> m1;
  for (const auto& r : all)
    if (r.open_time_ms >= d0 && r.open_time_ms < end) m1.push_back(r);
  REQUIRE(m1.size() == static_cast<std::size_t>((end - d0) / M));  // contiguous in the recording

  bar_pipeline p(all_tfs);
  std::vector<published_bar> out;
  auto rest = [&](std::int64_t from, std::int64_t to) {
    std::vector<venue::candle> v;
    for (const auto& r : m1)
      if (r.open_time_ms >= from && r.open_time_ms < to) v.push_back(from_recorded(r, true));
    return v;
  };
  int backfills = 0;
  for (const auto& r : m1) {
    if (r.open_time_ms < start) continue;
    if (r.open_time_ms >= hole_from && r.open_time_ms < hole_to) continue;  // lost on the stream
    // Two running pushes per bar (Poloniex: no closed flag), the first with interim figures.
    auto interim = from_recorded(r, false);
    interim.close = r.open;
    interim.high = std::max(r.open, r.low);
    interim.low = r.low;
    append(out, p.on_stream(interim));
    append(out, p.on_stream(from_recorded(r, false)));
    while (auto req = p.pending()) {
      ++backfills;
      // REST sees up to the stream's newest bar, which is still running there.
      auto ans = rest(req->from_ms, r.open_time_ms + M);
      append(out, p.on_backfill(*req, ans));
    }
  }
  CHECK(backfills == 2);  // the head of the day, the hole
  CHECK(p.take_gaps().empty());
  CHECK(p.take_errors().empty());
  CHECK(*p.first_fed() == d0);

  // The last bar (01:59) is still running: everything before it is out.
  std::vector<replay::bar> closed_m1(m1.begin(), m1.end() - 1);
  for (const auto& tf : all_tfs) {
    INFO("tf " << tf);
    const std::int64_t period = marketdata::timeframe_period(tf).count();
    auto expect = group(closed_m1, period);
    std::map<std::int64_t, published_bar> got;
    for (const auto& b : out)
      if (b.tf == tf) {
        CHECK(got.count(b.b.open_time_ms) == 0);  // published once
        got[b.b.open_time_ms] = b;
      }
    std::size_t compared = 0;
    for (const auto& [open, e] : expect) {
      if (e.n * M != period) continue;  // the period still open at the end
      REQUIRE(got.count(open) == 1);
      const auto& g = got.at(open);
      CHECK(g.b.open == e.open);
      CHECK(g.b.high == e.high);
      CHECK(g.b.low == e.low);
      CHECK(g.b.close == e.close);
      CHECK(g.b.volume == e.volume);
      CHECK(g.b.complete);
      const bool has_rest = open < start || (open < hole_to && open + period > hole_from);
      CHECK(g.backfilled == has_rest);
      ++compared;
    }
    CHECK(got.size() == compared);  // nothing beyond the closed periods
    if (tf == "1d") CHECK(compared == 1);
    if (tf == "5m") CHECK(compared == static_cast<std::size_t>((end - d0) / (5 * M) - 1));
  }
}

TEST_CASE("pipeline on a 1h base (the main job's replay) builds 4h and 1d from closed 1h bars") {
  constexpr std::int64_t H = 60 * M;
  CHECK_THROWS_AS(bar_pipeline({"15m", "1h"}, 0, std::chrono::hours(1)), std::invalid_argument);  // shorter than the base
  bar_pipeline p({"1h", "4h", "1d"}, 0, std::chrono::hours(1));
  const std::int64_t day = 1'700'000'000'000 / (24 * H) * (24 * H);  // a UTC midnight
  // Binance-style closed pushes for 25 hours: bar i opens at day + i h, high 100 + i, low 50 - i.
  std::vector<published_bar> out;
  for (int i = 0; i < 25; ++i) {
    auto hi = std::to_string(100 + i), lo = std::to_string(50 - i), cl = std::to_string(70 + i);
    append(out, p.on_stream(mk(day + i * H, "70", hi.c_str(), lo.c_str(), cl.c_str(), "2", true)));
    if (i == 0) REQUIRE_FALSE(p.pending());  // starts on a day boundary: no head to backfill
  }
  int h1 = 0, h4 = 0, d1 = 0;
  for (const auto& b : out) {
    if (b.tf == "1h") ++h1;
    if (b.tf == "4h") {
      CHECK(b.b.open_time_ms == day + h4 * 4 * H);
      CHECK(b.b.high == decimal::parse(std::to_string(100 + 4 * h4 + 3)));
      CHECK(b.b.volume == decimal::parse("8"));
      ++h4;
    }
    if (b.tf == "1d") {
      CHECK(b.b.open_time_ms == day);
      CHECK(b.b.high == decimal::parse("123"));
      CHECK(b.b.low == decimal::parse("27"));
      CHECK(b.b.close == decimal::parse("93"));
      CHECK(b.b.complete);
      ++d1;
    }
  }
  CHECK(h1 == 25);
  CHECK(h4 == 6);
  CHECK(d1 == 1);
}
