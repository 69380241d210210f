// fetchdata: public candles and funding from a venue's REST API into the recorded-data layout,
// for a user who has no ../shared/data (deploy/main.sh calls it; never tests or CI against a real
// venue: the tests point --rest-url at venue-sim).
//
//   fetchdata --out DIR [--venue binance|poloniex] [--rest-url URL] [--symbols BTC,ETH]
//             [--timeframes 1h,1d] [--days 365] [--source venue_public] [--end ISO8601] [--page N]
//
// Writes DIR/<source>/<BASE>USDT_<tf>.csv and <BASE>USDT_funding_rate.csv, closed bars only, the
// newest ending at the venue's current time (or --end; --page sets rows per request). Public endpoints only: no key is read or sent.
// Exit 0 written, 1 the venue failed, 2 usage.
#include "connectors/make_connector.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "fetch.hpp"
#include "venue/symbols.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct options {
  std::string out, venue = "binance", rest_url, source = "venue_public";
  std::vector<std::string> bases{"BTC", "ETH"};
  std::vector<std::string> timeframes{"1h"};
  int days = 365;
  std::int64_t end_ms = 0;  // 0 = the venue's server time
  int page = 0;             // 0 = the venue's maximum
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "fetchdata: %s\nusage: fetchdata --out DIR [--venue binance|poloniex] [--rest-url URL] [--symbols BTC,ETH] "
               "[--timeframes 1h,1d] [--days 365] [--source NAME]\n",
               why.c_str());
  std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--out") o.out = next();
    else if (a == "--venue") o.venue = next();
    else if (a == "--rest-url") o.rest_url = next();
    else if (a == "--symbols") o.bases = split(next());
    else if (a == "--timeframes") o.timeframes = split(next());
    else if (a == "--source") o.source = next();
    else if (a == "--end") {
      try {
        o.end_ms = pt::core::timestamp::parse_iso8601(next()).nanos() / 1'000'000;
      } catch (const std::exception&) {
        usage("--end needs an ISO-8601 UTC time");
      }
    } else if (a == "--page") {
      try {
        o.page = std::stoi(next());
      } catch (const std::exception&) {
        usage("--page needs a whole number");
      }
      if (o.page < 1 || o.page > 1500) usage("--page must be 1..1500");
    }
    else if (a == "--days") {
      try {
        o.days = std::stoi(next());
      } catch (const std::exception&) {
        usage("--days needs a whole number");
      }
    } else if (a == "--help" || a == "-h") usage("help");
    else usage("unknown argument " + a);
  }
  if (o.out.empty()) usage("--out is required");
  if (o.venue != "binance" && o.venue != "poloniex") usage("--venue is binance or poloniex");
  if (o.days < 1 || o.days > 3650) usage("--days must be 1..3650");
  if (o.bases.empty() || o.timeframes.empty()) usage("--symbols and --timeframes must not be empty");
  if (o.source.empty() || o.source.find('/') != std::string::npos) usage("--source is one folder name");
  for (const auto& tf : o.timeframes) try {
      (void)pt::venue::parse_timeframe(tf);
    } catch (const std::exception&) {
      usage("unknown timeframe " + tf);
    }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  pt::connectors::connector_options co;
  co.venue = o.venue;
  co.rest_url = o.rest_url;  // "" = the venue's public address
  auto conn = pt::connectors::make_connector(co);
  const auto dir = std::filesystem::path(o.out) / o.source;
  try {
    const std::int64_t now = o.end_ms > 0 ? o.end_ms : conn.venue->server_time();
    const std::int64_t start = now - static_cast<std::int64_t>(o.days) * 86'400'000;
    std::fprintf(stderr, "fetchdata: public %s data, %d days up to %s, into %s\n", o.venue.c_str(), o.days,
                 pt::fetchdata::utc_text(now).c_str(), dir.string().c_str());
    for (const auto& base : o.bases) {
      const std::string file_symbol = base + "USDT";
      const std::string venue_symbol = o.venue == "binance" ? file_symbol : base + "_USDT_PERP";
      pt::fetchdata::fetch_request r;
      r.venue_symbol = venue_symbol;
      r.start_ms = start;
      r.end_ms = now;
      r.now_ms = now;
      if (o.venue == "poloniex") r.volume_scale = conn.instrument_of(venue_symbol).contract_size;
      for (const auto& tf : o.timeframes) {
        r.timeframe = tf;
        r.page = o.page > 0 ? o.page : o.venue == "binance" ? 1500 : 500;
        const auto rows = pt::fetchdata::fetch_candles(*conn.venue, r);
        const auto file = dir / (file_symbol + "_" + tf + ".csv");
        pt::fetchdata::write_candles_csv(file, rows, r.volume_scale);
        std::fprintf(stderr, "fetchdata: %s: %zu bars (%s .. %s)\n", file.filename().c_str(), rows.size(),
                     pt::fetchdata::utc_text(rows.front().open_time).c_str(), pt::fetchdata::utc_text(rows.back().open_time).c_str());
      }
      r.page = o.page > 0 ? std::min(o.page, 1000) : o.venue == "binance" ? 1000 : 100;
      const auto funding = pt::fetchdata::fetch_funding(*conn.venue, r);
      const auto ffile = dir / (file_symbol + "_funding_rate.csv");
      pt::fetchdata::write_funding_csv(ffile, funding);
      std::fprintf(stderr, "fetchdata: %s: %zu settlements\n", ffile.filename().c_str(), funding.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fetchdata: failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
