// The Poloniex v3 connector against venue-sim on loopback: market data equals the recorded CSV,
// orders leave rounded to tick and lot, client ids are idempotent, and every fault kind ends in a
// defined outcome (retried, rejected, or ambiguous then settled by a query by client id).
#include "poloniex_connector.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace pt;
using namespace pt::core::literals;
using core::decimal;

namespace {

testing::venue_sim_process& sim() {
  static testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "pk-1:ps-secret-1:10000,pk-2:ps-secret-2:10000",
                                      {"--symbols", "BTC,ETH", "--protocols", "poloniex"});
  return p;
}

connectors::poloniex_connector make(const std::string& key = "pk-1", const std::string& secret = "ps-secret-1") {
  connectors::poloniex_config c;
  c.rest_url = sim().url("poloniex");
  c.api_key = key;
  c.api_secret = secret;
  c.seed = 7;
  c.retry.base = std::chrono::milliseconds(20);
  c.retry.cap = std::chrono::milliseconds(200);
  c.retry.rate_limit_floor = std::chrono::milliseconds(50);
  c.timeout = std::chrono::milliseconds(3000);
  return connectors::poloniex_connector(c);
}

void fault(const nlohmann::json& f) {
  httplib::Client c("127.0.0.1", sim().port("control"));
  const auto r = c.Post("/sim/faults", f.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

venue::order_request limit_buy(const std::string& cid, const char* qty, const char* px) {
  venue::order_request r;
  r.symbol = "BTC_USDT_PERP";
  r.client_id = cid;
  r.s = venue::side::buy;
  r.type = venue::order_type::limit;
  r.qty = decimal::parse(qty);
  r.price = decimal::parse(px);
  return r;
}

}  // namespace

TEST_CASE("poloniex: instruments and candles come through the connector as recorded") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  const auto btc = v.instrument_of("BTC_USDT_PERP");
  CHECK(btc.contract_size == "0.001"_dec);  // docs/markets/poloniex-futures-v3.json
  CHECK(btc.tick == "0.01"_dec);
  // The first recorded rows, read here straight from the CSV text.
  std::ifstream csv(testing::shared_data_dir(POLYTRADE_SOURCE_DIR) + "/freqtrade_marketlab/BTCUSDT_1h.csv");
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  std::vector<std::string> f;
  std::stringstream ss(row);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  venue::kline_query q;
  q.symbol = "BTC_USDT_PERP";
  q.interval = "1h";
  q.start = std::stoll(f[0]);
  q.limit = 3;
  const auto k = v.klines(q);
  REQUIRE(k.size() == 3);
  CHECK(k[0].open_time == std::stoll(f[0]));
  CHECK(k[0].open == decimal::parse(f[2]));
  CHECK(k[0].high == decimal::parse(f[3]));
  CHECK(k[0].low == decimal::parse(f[4]));
  CHECK(k[0].close == decimal::parse(f[5]));
  CHECK(k[0].volume * btc.contract_size == decimal::parse(f[6]));  // contracts x ctVal = base
  const auto b = v.book("BTC_USDT_PERP", 5);
  REQUIRE_FALSE(b.bids.empty());
  CHECK(b.bids[0].price < b.asks[0].price);
  CHECK(v.get_funding_rate("BTC_USDT_PERP").symbol == "BTC_USDT_PERP");
}

TEST_CASE("poloniex: an order leaves rounded, is found by client id, and a duplicate id places nothing") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  const auto placed = v.place_order(limit_buy("pc-round-1", "2.7", "50000.129"));
  CHECK(placed.qty == "2"_dec);              // lot 1 contract, rounded down
  CHECK(placed.price == "50000.12"_dec);     // a buy rounds down to the 0.01 tick
  const auto open = v.open_orders("BTC_USDT_PERP");
  REQUIRE(open.size() == 1);
  CHECK(open[0].client_id == "pc-round-1");
  CHECK(open[0].qty == "2"_dec);
  try {
    (void)v.place_order(limit_buy("pc-round-1", "1", "40000"));
    FAIL("a duplicate client id must be refused");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::reject);
    CHECK(e.code() == 250);
  }
  CHECK(v.open_orders("BTC_USDT_PERP").size() == 1);
  const auto cancelled = v.cancel_order("BTC_USDT_PERP", "pc-round-1");
  CHECK(cancelled.state == venue::order_state::cancelled);
  CHECK(v.open_orders("BTC_USDT_PERP").empty());
  CHECK_FALSE(v.query_order("BTC_USDT_PERP", "never-placed").has_value());
}

TEST_CASE("poloniex: a market order moves position, balance, fills and bills") {
  PT_NEED_RECORDED_DATA();
  auto v = make("pk-2", "ps-secret-2");
  const auto before = v.balances().at(0);
  venue::order_request r;
  r.symbol = "ETH_USDT_PERP";
  r.client_id = "pc-mkt-1";
  r.s = venue::side::sell;
  r.type = venue::order_type::market;
  r.qty = "3"_dec;
  v.place_order(r);
  const auto q = v.query_order("ETH_USDT_PERP", "pc-mkt-1");
  REQUIRE(q);
  CHECK(q->state == venue::order_state::filled);
  const auto pos = v.positions();
  REQUIRE(pos.size() == 1);
  CHECK(pos[0].qty == "-3"_dec);
  const auto fills = v.fills("ETH_USDT_PERP", std::nullopt);
  REQUIRE_FALSE(fills.empty());
  decimal fees;
  for (const auto& f : fills) fees += f.fee;
  CHECK(fees.is_positive());
  // Wallet = before - fees (no PnL realised yet).
  CHECK(v.balances().at(0).wallet == before.wallet - fees);
  bool fee_bill = false;
  for (const auto& b : v.bills(std::nullopt)) fee_bill |= b.type == venue::bill_type::fee;
  CHECK(fee_bill);
}

TEST_CASE("poloniex: 429 storms and maintenance are retried, and a wrong secret is a reject") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  fault({{"kind", "rate_limit"}, {"count", 2}});
  CHECK_FALSE(v.balances().empty());
  CHECK(v.session().counters().rate_limited >= 2);
  fault({{"kind", "maintenance"}, {"count", 1}});
  CHECK_FALSE(v.positions().size() > 10);
  auto bad = make("pk-1", "not-the-secret");
  try {
    (void)bad.balances();
    FAIL("a wrong secret must be refused");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::reject);
    CHECK(e.http_status() == 401);
  }
}

TEST_CASE("poloniex: a 5xx or '503 but executed' on placement is ambiguous and settled by client id") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  fault({{"kind", "server_error"}, {"count", 1}, {"orders_only", true}});
  try {
    (void)v.place_order(limit_buy("pc-amb-1", "1", "40000"));
    FAIL("expected an ambiguous outcome");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::ambiguous);
  }
  // The 5xx came before the order: the query says it does not exist, so it may be placed.
  CHECK_FALSE(v.query_order("BTC_USDT_PERP", "pc-amb-1").has_value());
  v.place_order(limit_buy("pc-amb-1", "1", "40000"));

  fault({{"kind", "unknown_executed"}, {"count", 1}, {"orders_only", true}});
  try {
    (void)v.place_order(limit_buy("pc-amb-2", "1", "40000"));
    FAIL("expected an ambiguous outcome");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::ambiguous);
  }
  const auto found = v.query_order("BTC_USDT_PERP", "pc-amb-2");
  REQUIRE(found);
  CHECK(found->state == venue::order_state::open);
  int with_id = 0;
  for (const auto& o : v.open_orders("BTC_USDT_PERP")) with_id += o.client_id == "pc-amb-2";
  CHECK(with_id == 1);
  v.cancel_order("BTC_USDT_PERP", "pc-amb-1");
  v.cancel_order("BTC_USDT_PERP", "pc-amb-2");
}

TEST_CASE("poloniex: a skewed server clock is resynced and the request goes through") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  CHECK_FALSE(v.balances().empty());  // synced
  fault({{"kind", "clock_skew"}, {"value", 90000}, {"duration_ms", 30000}});
  CHECK_FALSE(v.balances().empty());  // 408 -> resync -> retry
  httplib::Client c("127.0.0.1", sim().port("control"));
  c.Delete("/sim/faults?kind=clock_skew");
  // Back again: now we are 90 s ahead, which Poloniex answers with a plain 400 (A2). The resync
  // must replace the old samples, not average them with the new ones.
  CHECK_FALSE(v.balances().empty());
  fault({{"kind", "clock_skew"}, {"value", 7000}, {"duration_ms", 30000}});
  CHECK_FALSE(v.balances().empty());
  c.Delete("/sim/faults?kind=clock_skew");
  CHECK_FALSE(v.balances().empty());
}

TEST_CASE("poloniex: open orders beyond one page of 100 are all listed") {
  PT_NEED_RECORDED_DATA();
  auto v = make("pk-2", "ps-secret-2");
  for (int i = 0; i < 130; ++i) v.place_order(limit_buy("pc-page-" + std::to_string(i), "1", "20000"));
  const auto open = v.open_orders("BTC_USDT_PERP");
  std::set<std::string> ids;
  for (const auto& o : open) ids.insert(o.client_id);
  CHECK(open.size() == 130);
  CHECK(ids.size() == 130);
  for (int i = 0; i < 130; ++i) v.cancel_order("BTC_USDT_PERP", "pc-page-" + std::to_string(i));
  CHECK(v.open_orders("BTC_USDT_PERP").empty());
}
