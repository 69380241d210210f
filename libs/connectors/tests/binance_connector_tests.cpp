// The Binance USD-M connector against venue-sim on loopback.
#include "binance_connector.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace pt;
using namespace pt::core::literals;
using core::decimal;

namespace {

testing::venue_sim_process& sim() {
  static testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "bk-1:bs-secret-1:10000,bk-2:bs-secret-2:10000",
                                      {"--symbols", "BTC,ETH", "--protocols", "binance"});
  return p;
}

connectors::binance_connector make(const std::string& key = "bk-1", const std::string& secret = "bs-secret-1") {
  connectors::binance_config c;
  c.rest_url = sim().url("binance");
  c.api_key = key;
  c.api_secret = secret;
  c.seed = 11;
  c.retry.base = std::chrono::milliseconds(20);
  c.retry.cap = std::chrono::milliseconds(200);
  c.retry.rate_limit_floor = std::chrono::milliseconds(50);
  c.timeout = std::chrono::milliseconds(3000);
  return connectors::binance_connector(c);
}

void fault(const nlohmann::json& f) {
  httplib::Client c("127.0.0.1", sim().port("control"));
  const auto r = c.Post("/sim/faults", f.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

venue::order_request limit_buy(const std::string& cid, const char* qty, const char* px) {
  venue::order_request r;
  r.symbol = "BTCUSDT";
  r.client_id = cid;
  r.s = venue::side::buy;
  r.type = venue::order_type::limit;
  r.qty = decimal::parse(qty);
  r.price = decimal::parse(px);
  return r;
}

}  // namespace

TEST_CASE("binance: exchangeInfo, klines and funding come through as recorded") {
  PT_NEED_RECORDED_DATA();
  auto v = make();
  const auto btc = v.instrument_of("BTCUSDT");
  CHECK(btc.tick == "0.1"_dec);  // docs/markets/binance-usdm.json
  CHECK(btc.lot == "0.001"_dec);
  // Leverage comes from the signed leverageBracket call: venue-sim's assumed 20x and 0.5 % (its
  // README), not exchangeInfo's nothing.
  CHECK(btc.max_leverage == 20);
  CHECK(btc.maintenance_margin_rate == "0.005"_dec);
  {
    connectors::binance_config keyless;
    keyless.rest_url = sim().url("binance");
    connectors::binance_connector anonymous(keyless);
    for (const auto& i : anonymous.instruments()) CHECK(i.max_leverage == 1);  // unknown: never more
  }
  std::ifstream csv(testing::shared_data_dir(POLYTRADE_SOURCE_DIR) + "/freqtrade_marketlab/BTCUSDT_funding_rate.csv");
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  std::vector<std::string> f;
  std::stringstream ss(row);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  const auto hist = v.funding_history("BTCUSDT", std::stoll(f[0]), std::nullopt, 2);
  REQUIRE(hist.size() == 2);
  CHECK(hist[0].time == std::stoll(f[0]));
  CHECK(hist[0].rate == decimal::parse(f[2]));
  venue::kline_query q;
  q.symbol = "BTCUSDT";
  q.interval = "1d";
  q.limit = 2;
  const auto k = v.klines(q);
  REQUIRE(k.size() == 2);
  // The second is today's running candle: it opened a day after the first and has not closed
  // at market time (REST rows carry no closed flag; streams do).
  CHECK(k[1].open_time == k[0].open_time + 86400000);
  CHECK(*k[1].close_time > v.get_mark_price("BTCUSDT").time);
  CHECK(v.get_mark_price("BTCUSDT").mark.is_positive());
}

TEST_CASE("binance: orders leave rounded, client ids are idempotent, fills and income follow") {
  PT_NEED_RECORDED_DATA();
  auto v = make("bk-2", "bs-secret-2");
  v.set_leverage("BTCUSDT", 3, venue::margin_mode::isolated);
  v.set_margin_mode("BTCUSDT", venue::margin_mode::isolated);  // -4046 "no need" is success
  const auto placed = v.place_order(limit_buy("bc-1", "0.0129", "50000.19"));
  CHECK(placed.qty == "0.012"_dec);
  CHECK(placed.price == "50000.1"_dec);
  CHECK(placed.state == venue::order_state::open);
  try {
    (void)v.place_order(limit_buy("bc-1", "0.01", "40000"));
    FAIL("a duplicate client id must be refused");
  } catch (const venue::venue_error& e) {
    CHECK(e.code() == -4116);
  }
  CHECK(v.cancel_order("BTCUSDT", "bc-1").state == venue::order_state::cancelled);
  CHECK(v.open_orders("BTCUSDT").empty());
  CHECK_FALSE(v.query_order("BTCUSDT", "never").has_value());

  venue::order_request m;
  m.symbol = "BTCUSDT";
  m.client_id = "bc-m-1";
  m.s = venue::side::buy;
  m.type = venue::order_type::market;
  m.qty = "0.01"_dec;
  CHECK(v.place_order(m).state == venue::order_state::filled);
  const auto pos = v.positions();
  REQUIRE(pos.size() == 1);
  CHECK(pos[0].qty == "0.01"_dec);
  CHECK(pos[0].mode == venue::margin_mode::isolated);
  CHECK_FALSE(v.fills("BTCUSDT", std::nullopt).empty());
  bool commission = false;
  for (const auto& b : v.bills(std::nullopt)) commission |= b.type == venue::bill_type::fee;
  CHECK(commission);
  CHECK(v.listen_key() == v.listen_key(true));
}

TEST_CASE("binance: a wrong secret is -1022, a 429 is retried, and a 503 unknown is ambiguous and found by client id") {
  PT_NEED_RECORDED_DATA();
  auto bad = make("bk-1", "wrong");
  try {
    (void)bad.balances();
    FAIL("a wrong secret must be refused");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::reject);
    CHECK(e.code() == -1022);
  }
  auto v = make();
  fault({{"kind", "rate_limit"}, {"count", 1}});
  CHECK_FALSE(v.balances().empty());
  fault({{"kind", "unknown_executed"}, {"count", 1}, {"orders_only", true}});
  try {
    (void)v.place_order(limit_buy("bc-amb-1", "0.01", "40000"));
    FAIL("expected an ambiguous outcome");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::ambiguous);
  }
  const auto q = v.query_order("BTCUSDT", "bc-amb-1");
  REQUIRE(q);
  CHECK(q->state == venue::order_state::open);
  v.cancel_order("BTCUSDT", "bc-amb-1");
}

TEST_CASE("binance: countdownCancelAll cancels the symbol's resting orders once no heartbeat comes and 0 disarms it") {
  PT_NEED_RECORDED_DATA();
  using namespace std::chrono_literals;
  auto v = make("bk-2", "bs-secret-2");
  const auto mark = v.get_mark_price("ETHUSDT").mark;
  venue::order_request r;
  r.symbol = "ETHUSDT";
  r.client_id = "bc-cd-1";
  r.s = venue::side::buy;
  r.type = venue::order_type::limit;
  r.qty = "0.05"_dec;
  r.price = mark * "0.5"_dec;  // rests far below the market (rounded to the tick on the way out)
  REQUIRE(v.place_order(r).state == venue::order_state::open);

  // Armed, then stopped with 0 before it runs out: the order stays.
  CHECK(v.countdown_cancel_all("ETHUSDT", 800ms) == 800ms);
  CHECK(v.countdown_cancel_all("ETHUSDT", 0ms) == 0ms);
  std::this_thread::sleep_for(1200ms);
  REQUIRE(v.query_order("ETHUSDT", "bc-cd-1"));
  CHECK(v.query_order("ETHUSDT", "bc-cd-1")->state == venue::order_state::open);

  // Armed and left alone: cancelled once the countdown has passed, not before.
  const auto armed_at = std::chrono::steady_clock::now();
  CHECK(v.countdown_cancel_all("ETHUSDT", 1000ms) == 1000ms);
  std::this_thread::sleep_for(300ms);
  CHECK(v.open_orders("ETHUSDT").size() == 1);
  while (!v.open_orders("ETHUSDT").empty() && std::chrono::steady_clock::now() - armed_at < 5s)
    std::this_thread::sleep_for(50ms);
  CHECK(v.open_orders("ETHUSDT").empty());
  CHECK(std::chrono::steady_clock::now() - armed_at >= 1000ms);
  CHECK(v.query_order("ETHUSDT", "bc-cd-1")->state == venue::order_state::cancelled);

  // Errors come as the connector's other calls report them.
  try {
    (void)v.countdown_cancel_all("NOPEUSDT", 1000ms);
    FAIL("an unknown symbol must be refused");
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::reject);
    CHECK(e.code() == -1121);
  }
  CHECK_THROWS_AS(v.countdown_cancel_all("ETHUSDT", -1ms), std::invalid_argument);
}
