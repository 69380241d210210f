#include "venue/catalog.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

using nlohmann::json;
using pt::venue::catalog_mode;
using pt::venue::catalog_options;
using pt::venue::load_catalog;
namespace fs = std::filesystem;

const fs::path repo_root = fs::path(POLYTRADE_PROTO_DIR) / "..";

catalog_options at(std::string_view iso, catalog_mode mode = catalog_mode::paper) {
  catalog_options o;
  o.mode = mode;
  o.now = pt::core::timestamp::parse_iso8601(iso);
  return o;
}

// A temp file removed at scope exit.
struct temp_file {
  fs::path path;
  explicit temp_file(const std::string& text) {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() /
           ("pt_catalog_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".json");
    std::ofstream(path) << text;
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

json good_market() {
  return json{{"symbol", "BTC_USDT_PERP"}, {"base", "BTC"},        {"quote", "USDT"},
              {"contractSize", "0.001"},   {"tick", "0.01"},       {"lot", "1"},
              {"minSize", "1"},            {"maxLeverage", 75},    {"makerFee", "0.0002"},
              {"takerFee", "0.0005"},      {"fundingIntervalHours", 8},
              {"sources", {{"contract", {{"source", "[C] test"}, {"date", "2026-01-01"}}}}}};
}

json good_doc() {
  return json{{"venue", "poloniex-futures-v3"}, {"schemaVersion", 1},        {"lastSynced", "2026-11-20T00:00:00Z"},
              {"compiledAt", "2026-11-20"},     {"markets", {good_market()}}};
}

bool any_contains(const std::vector<std::string>& v, const std::string& a, const std::string& b = "") {
  for (const auto& s : v)
    if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("committed Poloniex catalog validates", "[catalog]") {
  const auto file = repo_root / "docs/markets/poloniex-futures-v3.json";
  const auto r = load_catalog(file, at("2026-11-21T00:00:00Z"));
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.ok());
  const auto& c = *r.catalog;
  CHECK(c.venue == "poloniex-futures-v3");
  CHECK_FALSE(c.last_synced);
  CHECK(c.markets.size() >= 13);
  // Never synced: a warning in paper mode.
  CHECK(any_contains(r.warnings, "lastSynced", "never synced"));
  bool found = false;
  for (const auto& m : c.markets) {
    if (m.symbol != "BTC_USDT_PERP") continue;
    found = true;
    CHECK(m.pair.base == "BTC");
    CHECK(m.contract_size == pt::core::decimal::parse("0.001"));
    CHECK(m.tick == pt::core::decimal::parse("0.01"));
    CHECK(m.max_leverage == 75);
    CHECK(m.funding_interval == std::chrono::hours(8));
    CHECK(m.taker_fee == pt::core::decimal::parse("0.0005"));
  }
  CHECK(found);
}

TEST_CASE("committed Binance catalog validates", "[catalog]") {
  const auto r = load_catalog(repo_root / "docs/markets/binance-usdm.json", at("2026-11-21T00:00:00Z"));
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.ok());
  CHECK(r.catalog->venue == "binance-usdm");
  CHECK(r.catalog->markets.size() >= 2);
}

TEST_CASE("staleness: warning in paper mode, error in live mode", "[catalog]") {
  const temp_file f(good_doc().dump());
  SECTION("fresh") {
    const auto r = load_catalog(f.path, at("2026-11-21T00:00:00Z", catalog_mode::live));
    CHECK(r.ok());
    CHECK(r.warnings.empty());
  }
  SECTION("stale, paper") {
    const auto r = load_catalog(f.path, at("2026-12-21T00:00:00Z"));
    CHECK(r.ok());
    CHECK(any_contains(r.warnings, "lastSynced", "stale"));
  }
  SECTION("stale, live") {
    const auto r = load_catalog(f.path, at("2026-12-21T00:00:00Z", catalog_mode::live));
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.catalog);
    CHECK(any_contains(r.errors, "lastSynced", "stale"));
  }
  SECTION("never synced, live") {
    auto d = good_doc();
    d["lastSynced"] = nullptr;
    const temp_file g(d.dump());
    const auto r = load_catalog(g.path, at("2026-11-21T00:00:00Z", catalog_mode::live));
    CHECK(any_contains(r.errors, "lastSynced", "never synced"));
  }
}

TEST_CASE("missing file and bad JSON are rejected naming the file", "[catalog]") {
  const auto missing = fs::temp_directory_path() / "pt_catalog_does_not_exist.json";
  auto r = load_catalog(missing, at("2026-11-21T00:00:00Z"));
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, missing.string(), "cannot open"));

  const temp_file f("{\"venue\": ");
  r = load_catalog(f.path, at("2026-11-21T00:00:00Z"));
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, f.path.string(), "not valid JSON"));
}

TEST_CASE("empty market list and duplicate symbols are rejected", "[catalog]") {
  auto d = good_doc();
  d["markets"] = json::array();
  const temp_file empty(d.dump());
  auto r = load_catalog(empty.path, at("2026-11-21T00:00:00Z"));
  CHECK(any_contains(r.errors, "field markets", "empty"));

  d["markets"] = {good_market(), good_market()};
  const temp_file dup(d.dump());
  r = load_catalog(dup.path, at("2026-11-21T00:00:00Z"));
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, "market BTC_USDT_PERP: field symbol", "duplicate"));
}

TEST_CASE("out-of-range fields are rejected naming market and field", "[catalog]") {
  struct bad_case {
    const char* field;
    json value;
    const char* reason;
  };
  const std::vector<bad_case> cases = {
      {"tick", "0", "> 0"},
      {"tick", "-0.01", "> 0"},
      {"lot", "0", "> 0"},
      {"contractSize", "0", "> 0"},
      {"contractSize", 0.001, "decimal string"},
      {"maxLeverage", 0, "[1, 200]"},
      {"maxLeverage", 201, "[1, 200]"},
      {"makerFee", "0.0101", "[-0.01, 0.01]"},
      {"takerFee", "-0.02", "[-0.01, 0.01]"},
      {"tick", "abc", "not a decimal"},
      {"symbol", "BTCUSDT", "not a poloniex-futures-v3 symbol"},
      {"symbol", "BTC-USDT-PERP", "not a poloniex-futures-v3 symbol"},
      {"base", "ETH", "does not match"},
  };
  for (const auto& c : cases) {
    auto m = good_market();
    m[c.field] = c.value;
    auto d = good_doc();
    d["markets"] = {m};
    const temp_file f(d.dump());
    const auto r = load_catalog(f.path, at("2026-11-21T00:00:00Z"));
    INFO(c.field << " = " << c.value.dump());
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.catalog);
    CHECK(any_contains(r.errors, std::string("field ") + c.field, c.reason));
    CHECK(any_contains(r.errors, f.path.string()));
  }
  // The boundaries themselves are valid.
  auto m = good_market();
  m["maxLeverage"] = 200;
  m["makerFee"] = "-0.01";
  m["takerFee"] = "0.01";
  auto d = good_doc();
  d["markets"] = {m};
  const temp_file f(d.dump());
  CHECK(load_catalog(f.path, at("2026-11-21T00:00:00Z")).ok());
}

TEST_CASE("symbols are checked against the catalog's venue", "[catalog]") {
  auto m = good_market();
  m["symbol"] = "BTCUSDT";
  auto d = good_doc();
  d["venue"] = "binance-usdm";
  d["markets"] = {m};
  const temp_file f(d.dump());
  const auto r = load_catalog(f.path, at("2026-11-21T00:00:00Z"));
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  CHECK(r.ok());

  m["symbol"] = "BTC_USDT_PERP";
  d["markets"] = {m};
  const temp_file g(d.dump());
  CHECK(any_contains(load_catalog(g.path, at("2026-11-21T00:00:00Z")).errors, "field symbol", "binance-usdm"));
}
