// catalog: validate a market catalog file, or sync it from the venue's live instrument list.
//   catalog validate <file> [--live] [--max-age-days N]   exit 0 valid, 1 invalid, 2 usage
//   catalog sync --venue poloniex|binance --out <file> [--url <base>]
//                                                          exit 0 written, 1 invalid list, 3 unreachable
#include "binance_connector.hpp"
#include "core/time.hpp"
#include "poloniex_connector.hpp"
#include "venue/catalog.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {

void usage(std::ostream& os) {
  os << "usage: catalog validate <file> [--live] [--max-age-days N]\n"
        "       catalog sync\n\n"
        "validate  load and check a market catalog (docs/markets/*.json). Exit 0 when valid\n"
        "          (one-line summary, warnings listed), 1 with each error on its own line.\n"
        "          Staleness (lastSynced null or older than N days, default 7) is a warning,\n"
        "          an error with --live.\n"
        "sync      fetch the instrument list from the venue (GET /v3/market/allInstruments or\n"
        "          /fapi/v1/exchangeInfo; --url defaults to the live venue, venue-sim's URL works\n"
        "          too), check it (non-empty, no duplicate symbol, every field in range), and\n"
        "          write the catalog with lastSynced. The old file stays when anything fails.\n"
        "          Exit 0 written, 1 invalid list, 2 usage, 3 venue unreachable.\n";
}

std::string iso_now() {
  return pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601();
}

// Builds the catalog document from the venue's list; every field names the request it came from.
nlohmann::json catalog_document(const std::string& venue, const std::string& url, const std::string& path,
                                const std::vector<pt::venue::instrument>& list, std::vector<std::string>& errors) {
  using nlohmann::json;
  const std::string now = iso_now();
  const json source{{"source", "live: GET " + url + path + " (catalog sync)"}, {"date", now}};
  json markets = json::array();
  std::set<std::string> seen;
  const bool poloniex = venue == pt::venue::poloniex_futures_v3;
  for (const auto& i : list) {
    if (!seen.insert(i.symbol).second) errors.push_back(i.symbol + ": listed twice");
    if (!i.tick.is_positive()) errors.push_back(i.symbol + ": tick is not positive");
    if (!i.lot.is_positive()) errors.push_back(i.symbol + ": lot is not positive");
    if (!i.contract_size.is_positive()) errors.push_back(i.symbol + ": contract size is not positive");
    if (i.status != pt::venue::instrument_status::trading) continue;  // the catalog lists what trades
    json m{{"symbol", i.symbol}, {"base", i.base}, {"quote", i.quote}, {"settle", i.settle.empty() ? i.quote : i.settle},
           {"tick", i.tick.to_string()}, {"lot", i.lot.to_string()}};
    json sources{{"identity", source}, {"sizes", source}};
    if (poloniex) {
      m["contractType"] = "LINEAR";
      m["contractSize"] = i.contract_size.to_string();
      sources["contract"] = source;
    }
    if (i.min_qty.is_positive() && i.min_qty >= i.lot) m["minSize"] = i.min_qty.to_string();
    if (i.max_leverage > 1) {
      m["maxLeverage"] = i.max_leverage;
      sources["leverage"] = source;
    }
    if (i.maintenance_margin_rate && i.maintenance_margin_rate->is_positive()) {
      m["riskLimits"] = json::array({{{"tier", 1}, {"maintenanceMarginRate", i.maintenance_margin_rate->to_string()}}});
      sources["leverage"] = source;
    }
    if (i.maker_fee && i.taker_fee) {
      m["makerFee"] = i.maker_fee->to_string();
      m["takerFee"] = i.taker_fee->to_string();
      sources["fees"] = source;
    }
    m["sources"] = sources;
    markets.push_back(m);
  }
  if (markets.empty()) errors.push_back("the venue lists no trading market");
  return json{{"venue", venue},
              {"schemaVersion", 1},
              {"lastSynced", now},
              {"compiledAt", now.substr(0, 10)},
              {"compiledFrom", "catalog sync from " + url + path},
              {"notes", json::array({"Written by `catalog sync` from the venue's own instrument list."})},
              {"markets", markets}};
}

int sync(int argc, char** argv) {
  std::string venue, out, url;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--venue" && i + 1 < argc) venue = argv[++i];
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--url" && i + 1 < argc) url = argv[++i];
    else {
      std::cerr << "catalog sync: unexpected argument \"" << a << "\"\n";
      return 2;
    }
  }
  if ((venue != "poloniex" && venue != "binance") || out.empty()) {
    std::cerr << "catalog sync: needs --venue poloniex|binance and --out <file>\n";
    return 2;
  }
  std::vector<pt::venue::instrument> list;
  std::string path, venue_name;
  try {
    if (venue == "poloniex") {
      pt::connectors::poloniex_config c;
      if (!url.empty()) c.rest_url = url;
      url = c.rest_url;
      path = "/v3/market/allInstruments";
      venue_name = pt::venue::poloniex_futures_v3;
      list = pt::connectors::poloniex_connector(c).instruments();
    } else {
      pt::connectors::binance_config c;
      if (!url.empty()) c.rest_url = url;
      url = c.rest_url;
      path = "/fapi/v1/exchangeInfo";
      venue_name = pt::venue::binance_usdm;
      list = pt::connectors::binance_connector(c).instruments();
    }
  } catch (const pt::venue::venue_error& e) {
    std::cerr << "catalog sync: the venue cannot be reached or refused: " << e.what() << "\n";
    return e.http_status() == 0 ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "catalog sync: the instrument list does not parse: " << e.what() << "\n";
    return 1;
  }
  std::vector<std::string> errors;
  const auto doc = catalog_document(venue_name, url, path, list, errors);
  const std::string tmp = out + ".sync.tmp";
  std::ofstream(tmp) << doc.dump(2) << "\n";
  pt::venue::catalog_options opts;
  opts.mode = pt::venue::catalog_mode::live;
  opts.now = pt::core::timestamp::from_sys_time(std::chrono::system_clock::now());
  const auto checked = pt::venue::load_catalog(tmp, opts);
  for (const auto& e : checked.errors) errors.push_back(e);
  if (!errors.empty()) {
    for (const auto& e : errors) std::cout << "error: " << e << '\n';
    std::filesystem::remove(tmp);
    std::cerr << "catalog sync: nothing written; " << out << " is unchanged\n";
    return 1;
  }
  std::filesystem::rename(tmp, out);
  std::cout << "catalog sync: " << checked.catalog->markets.size() << " markets from " << url << path << " written to "
            << out << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  if (cmd == "sync") return sync(argc, argv);
  if (cmd != "validate") {
    std::cerr << "catalog: unknown command \"" << cmd << "\"\n";
    usage(std::cerr);
    return 2;
  }
  pt::venue::catalog_options opts;
  opts.now = pt::core::timestamp::from_sys_time(std::chrono::system_clock::now());
  std::string file;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--live") {
      opts.mode = pt::venue::catalog_mode::live;
    } else if (a == "--max-age-days" && i + 1 < argc) {
      try {
        const int days = std::stoi(argv[++i]);
        if (days < 0) throw std::out_of_range("negative");
        opts.max_age = std::chrono::hours(24 * days);
      } catch (const std::exception&) {
        std::cerr << "catalog: --max-age-days needs a non-negative integer\n";
        return 2;
      }
    } else if (file.empty() && !a.starts_with("--")) {
      file = a;
    } else {
      std::cerr << "catalog: unexpected argument \"" << a << "\"\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (file.empty()) {
    usage(std::cerr);
    return 2;
  }
  const auto result = pt::venue::load_catalog(file, opts);
  if (!result.ok()) {
    for (const auto& e : result.errors) std::cout << "error: " << e << '\n';
    return 1;
  }
  std::cout << file << ": " << result.catalog->venue << ", " << result.catalog->markets.size() << " markets, "
            << result.warnings.size() << " warning(s)";
  for (const auto& w : result.warnings) std::cout << "; warning: " << w;
  std::cout << '\n';
  return 0;
}
