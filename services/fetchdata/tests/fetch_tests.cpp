// fetchdata against venue-sim's Binance REST (loopback only): the files it writes hold exactly the
// recorded bars and funding of the range, read back by the replay loaders, and venue-sim replays
// the fetched folder as it replays the recording.
#include "fetch.hpp"
#include "replay/data_files.hpp"
#include "testing/servers.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using pt::core::decimal;

namespace {

struct run_result {
  int code = -1;
  std::string output;
};

run_result run(const std::string& command) {
  run_result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string recorded(const std::string& file) {
  return pt::testing::shared_data_dir(POLYTRADE_SOURCE_DIR) + "/freqtrade_marketlab/" + file;
}

}  // namespace

TEST_CASE("utc_text writes the recording's spelling") {
  CHECK(pt::fetchdata::utc_text(1735603200000) == "2024-12-31T00:00:00Z");
  CHECK(pt::fetchdata::utc_text(1735603200123) == "2024-12-31T00:00:00.123Z");
}

TEST_CASE("fetched from venue-sim in small pages: the recorded bars and funding of the range, and venue-sim replays them") {
  PT_NEED_RECORDED_DATA();
  pt::testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "k:s:1000",
                                     {"--symbols", "BTC", "--protocols", "binance", "--timeframe", "1h", "--start",
                                      "2025-03-01T00:00:00Z"});
  const std::string out = pt::testing::make_temp_dir("fetchdata");
  // 45 days up to the market time, 200 rows per request: 6 pages of bars, 1 of funding.
  const auto r = run(std::string(FETCHDATA_BIN) + " --venue binance --rest-url " + sim.url("binance") +
                     " --symbols BTC --timeframes 1h --days 45 --end 2025-03-01T00:00:00Z --page 200 --out " + out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::int64_t end = 1740787200000;  // 2025-03-01T00:00:00Z
  const std::int64_t start = end - 45LL * 86'400'000;

  const auto got = pt::replay::load_candles(out + "/venue_public/BTCUSDT_1h.csv");
  const auto all = pt::replay::load_candles(recorded("BTCUSDT_1h.csv"));
  std::vector<pt::replay::bar> want;
  for (const auto& b : all)
    if (b.open_time_ms >= start && b.open_time_ms < end) want.push_back(b);
  REQUIRE(want.size() == 45 * 24);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("row " << i);
    CHECK(got[i].open_time_ms == want[i].open_time_ms);
    CHECK(got[i].open == want[i].open);
    CHECK(got[i].high == want[i].high);
    CHECK(got[i].low == want[i].low);
    CHECK(got[i].close == want[i].close);
    CHECK(got[i].volume == want[i].volume);
  }

  const auto fgot = pt::replay::load_funding(out + "/venue_public/BTCUSDT_funding_rate.csv");
  std::vector<pt::replay::funding_point> fwant;
  for (const auto& f : pt::replay::load_funding(recorded("BTCUSDT_funding_rate.csv")))
    if (f.time_ms >= start && f.time_ms < end) fwant.push_back(f);
  REQUIRE(fwant.size() == 45 * 3);
  REQUIRE(fgot.size() == fwant.size());
  for (std::size_t i = 0; i < fgot.size(); ++i) {
    CHECK(fgot[i].time_ms == fwant[i].time_ms);
    CHECK(fgot[i].rate == fwant[i].rate);
  }
  // The text matches the recording's lines too (same header, same spelling of times).
  std::ifstream a(out + "/venue_public/BTCUSDT_1h.csv");
  std::string header, first;
  std::getline(a, header);
  std::getline(a, first);
  CHECK(header == "open_time_ms,open_time_utc,open,high,low,close,volume");
  CHECK(first.find(",2025-01-15T00:00:00Z,") != std::string::npos);
  CHECK_FALSE(fs::exists(out + "/venue_public/BTCUSDT_1h.csv.part"));

  // venue-sim replays the fetched folder (its default start: 30 days into the data).
  pt::testing::venue_sim_process replay(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "k:s:1000",
                                        {"--symbols", "BTC", "--protocols", "binance", "--timeframe", "1h", "--data", out,
                                         "--source", "venue_public"});
  CHECK(replay.start_market_time() == start + 30LL * 86'400'000);
}

TEST_CASE("bad arguments and an unreachable venue give a clear error and a non-zero exit") {
  const std::string out = pt::testing::make_temp_dir("fetchdata-bad");
  const auto usage = run(std::string(FETCHDATA_BIN) + " --venue kraken --out " + out);
  CHECK(usage.code == 2);
  CHECK(usage.output.find("--venue is binance or poloniex") != std::string::npos);
  CHECK(run(std::string(FETCHDATA_BIN) + " --timeframes 7x --out " + out).code == 2);
  CHECK(run(std::string(FETCHDATA_BIN) + " --symbols BTC").code == 2);  // no --out
  // A closed loopback port: the venue call fails, nothing is written.
  const auto down = run(std::string(FETCHDATA_BIN) + " --rest-url http://127.0.0.1:9 --out " + out);
  CHECK(down.code == 1);
  CHECK(down.output.find("fetchdata: failed") != std::string::npos);
  CHECK_FALSE(fs::exists(out + "/venue_public/BTCUSDT_1h.csv"));
}
