// catalog: validate a market catalog file; `sync` is reserved for the connectors.
//   catalog validate <file> [--live] [--max-age-days N]   exit 0 valid, 1 invalid, 2 usage
//   catalog sync                                           exit 3: no venue reachable here
#include "core/time.hpp"
#include "venue/catalog.hpp"

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
        "sync      fetch the live instrument list from the venue and rewrite the catalog with\n"
        "          lastSynced. Not available yet: the fetch comes with the venue connectors, and\n"
        "          no venue is reachable from this machine. Exits 3.\n";
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
  if (cmd == "sync") {
    std::cerr << "catalog sync: no venue is reachable from this machine (the live fetch comes with the "
                 "venue connectors); the checked-in catalog stays as it is\n";
    return 3;
  }
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
