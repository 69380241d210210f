// The offline catalog fallback: a connector whose venue does not answer at start-up takes its
// instruments from docs/markets/*.json, only for markets whose tick and lot the catalog states;
// a reject, a missing or a wrong catalog leaves the venue's error standing.
#include "binance_connector.hpp"
#include "catalog_fallback.hpp"
#include "poloniex_connector.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

using namespace pt;
namespace fs = std::filesystem;

namespace {

const fs::path markets = fs::path(POLYTRADE_SOURCE_DIR) / "docs" / "markets";

// A loopback port nobody listens on: bound, then closed.
std::string dead_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

venue::retry_config quick_retry() {
  venue::retry_config r;
  r.max_attempts = 2;
  r.base = std::chrono::milliseconds(5);
  r.cap = std::chrono::milliseconds(10);
  return r;
}

connectors::poloniex_connector poloniex_offline(std::optional<fs::path> catalog) {
  connectors::poloniex_config c;
  c.rest_url = dead_url();
  c.retry = quick_retry();
  c.timeout = std::chrono::milliseconds(500);
  c.catalog.file = std::move(catalog);
  return connectors::poloniex_connector(c);
}

// The catalog file's own tick / lot per symbol, read with plain JSON (not our loader).
std::map<std::string, std::pair<std::string, std::string>> stated_tick_lot(const fs::path& file) {
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (const auto& m : j.at("markets"))
    if (m.contains("tick") && m.contains("lot")) out[m["symbol"]] = {m["tick"], m["lot"]};
  return out;
}

}  // namespace

TEST_CASE("catalog fallback: an unreachable Poloniex takes the catalog's markets that state tick and lot") {
  const auto file = markets / "poloniex-futures-v3.json";
  auto v = poloniex_offline(file);
  const auto list = v.instruments();
  CHECK(v.instruments_from_catalog());
  const auto expected = stated_tick_lot(file);
  REQUIRE(list.size() == expected.size());
  for (const auto& i : list) {
    INFO(i.symbol);
    REQUIRE(expected.count(i.symbol) == 1);
    CHECK(i.tick == core::decimal::parse(expected.at(i.symbol).first));
    CHECK(i.lot == core::decimal::parse(expected.at(i.symbol).second));
    CHECK(i.max_leverage >= 1);
  }
  // A market the catalog gives no lot for is not guessed.
  for (const auto& i : list) CHECK(i.symbol != "ETH_USDT_PERP");
}

TEST_CASE("catalog fallback: Binance offline reads binance-usdm.json") {
  connectors::binance_config c;
  c.rest_url = dead_url();
  c.retry = quick_retry();
  c.timeout = std::chrono::milliseconds(500);
  c.catalog.file = markets / "binance-usdm.json";
  connectors::binance_connector v(c);
  const auto list = v.instruments();
  CHECK(v.instruments_from_catalog());
  std::map<std::string, venue::instrument> by;
  for (const auto& i : list) by[i.symbol] = i;
  REQUIRE(by.count("BTCUSDT") == 1);
  CHECK(by["BTCUSDT"].tick == core::decimal::parse("0.1"));
  CHECK(by["BTCUSDT"].lot == core::decimal::parse("0.001"));
}

TEST_CASE("catalog fallback: without a catalog, or with the wrong venue's, the venue's error stands") {
  auto none = poloniex_offline(std::nullopt);
  CHECK_THROWS_AS(none.instruments(), venue::venue_error);
  CHECK_FALSE(none.instruments_from_catalog());
  auto wrong = poloniex_offline(markets / "binance-usdm.json");
  CHECK_THROWS_WITH(wrong.instruments(), Catch::Contains("offline fallback failed") && Catch::Contains("binance-usdm"));
  auto missing = poloniex_offline(markets / "no-such-catalog.json");
  CHECK_THROWS_WITH(missing.instruments(), Catch::Contains("offline fallback failed"));
}

TEST_CASE("catalog fallback: a reject is not hidden, a retryable failure falls back, success wins") {
  connectors::catalog_fallback_config cfg;
  cfg.file = markets / "poloniex-futures-v3.json";
  bool from_catalog = true;
  venue::instrument one;
  one.symbol = "FROM_VENUE";
  const auto ok = connectors::instruments_or_catalog([&] { return std::vector<venue::instrument>{one}; }, cfg,
                                                     venue::poloniex_futures_v3, from_catalog);
  CHECK_FALSE(from_catalog);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].symbol == "FROM_VENUE");
  auto reject = [] () -> std::vector<venue::instrument> {
    throw venue::venue_error(venue::outcome_class::reject, "bad key", 401);
  };
  CHECK_THROWS_WITH(connectors::instruments_or_catalog(reject, cfg, venue::poloniex_futures_v3, from_catalog),
                    Catch::Contains("bad key"));
  auto maintenance = [] () -> std::vector<venue::instrument> {
    throw venue::venue_error(venue::outcome_class::retry, "503 maintenance", 503);
  };
  CHECK_FALSE(connectors::instruments_or_catalog(maintenance, cfg, venue::poloniex_futures_v3, from_catalog).empty());
  CHECK(from_catalog);
}

TEST_CASE("catalog fallback: live mode refuses a stale or never-synced catalog") {
  connectors::catalog_fallback_config cfg;
  cfg.file = markets / "poloniex-futures-v3.json";
  cfg.mode = venue::catalog_mode::live;
  // The checked-in catalog has never been synced from the venue (no network here).
  CHECK_THROWS_WITH(connectors::instruments_from_catalog(cfg, venue::poloniex_futures_v3), Catch::Contains("does not load"));
}
