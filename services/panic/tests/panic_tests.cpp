// The panic binary against venue-sim (both protocols, loopback): positions on two symbols, a
// resting order and (Binance) an Algo Service stop are all gone afterwards, judged by venue-sim's
// own /sim/accounts and openAlgoOrders, never by panic's word; a second run finds nothing to do;
// a live URL without POLYTRADE_LIVE=1 and bad arguments exit 2 before any request.
#include "connectors/binance_connector.hpp"
#include "connectors/poloniex_connector.hpp"
#include "core/decimal.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>

using namespace pt;
using namespace std::chrono_literals;
using core::decimal;
using json = nlohmann::json;
using pt::testing::service_process;

namespace {

json sim_account(httplib::Client& control, const std::string& protocol) {
  auto r = control.Get(("/sim/accounts?protocol=" + protocol).c_str());
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body).at(0);
}

int open_positions(const json& acct) {
  int n = 0;
  for (const auto& p : acct.at("positions"))
    if (!decimal::parse(p.at("qty").get<std::string>()).is_zero()) ++n;
  return n;
}

struct venue_case {
  const char* protocol;
  const char* btc;
  const char* eth;
  const char* btc_qty;
  const char* eth_qty;
};

void run_case(const venue_case& vc) {
  const bool polo = std::string(vc.protocol) == "poloniex";
  ::setenv(polo ? "POLONIEX_API_KEY" : "BINANCE_API_KEY", "venue-sim-key", 1);
  ::setenv(polo ? "POLONIEX_API_SECRET" : "BINANCE_API_SECRET", "venue-sim-secret", 1);
  ::unsetenv("POLYTRADE_LIVE");
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "venue-sim-key:venue-sim-secret:100000",
                                 {"--symbols", "BTC,ETH", "--protocols", vc.protocol, "--timeframe", "5m"});
  httplib::Client control("127.0.0.1", sim.port("control"));
  control.set_read_timeout(10);

  std::unique_ptr<venue::venue> v;
  connectors::binance_connector* bin = nullptr;
  if (polo) {
    connectors::poloniex_config c;
    c.rest_url = sim.url("poloniex");
    c.api_key = "venue-sim-key";
    c.api_secret = "venue-sim-secret";
    v = std::make_unique<connectors::poloniex_connector>(c);
  } else {
    connectors::binance_config c;
    c.rest_url = sim.url("binance");
    c.api_key = "venue-sim-key";
    c.api_secret = "venue-sim-secret";
    auto b = std::make_unique<connectors::binance_connector>(c);
    bin = b.get();
    v = std::move(b);
  }
  // A long BTC, a short ETH, a resting BTC bid far under the market, and on Binance a stop.
  auto market = [&](const char* sym, venue::side s, const char* qty, const std::string& cid) {
    venue::order_request r;
    r.symbol = sym;
    r.client_id = cid;
    r.s = s;
    r.type = venue::order_type::market;
    r.qty = decimal::parse(qty);
    v->place_order(r);
  };
  market(vc.btc, venue::side::buy, vc.btc_qty, "setup-long");
  market(vc.eth, venue::side::sell, vc.eth_qty, "setup-short");
  const decimal mark = v->get_mark_price(vc.btc).mark;
  REQUIRE(mark.is_positive());
  venue::order_request bid;
  bid.symbol = vc.btc;
  bid.client_id = "setup-bid";
  bid.s = venue::side::buy;
  bid.type = venue::order_type::limit;
  bid.qty = decimal::parse(vc.btc_qty);
  bid.price = decimal::parse((mark * decimal::parse("0.5")).to_string(0, core::rounding::down));
  v->place_order(bid);
  if (bin) {
    bin->algo_call("POST", "/fapi/v1/algoOrder",
                   {{"algoType", "CONDITIONAL"}, {"symbol", vc.btc}, {"side", "SELL"}, {"type", "STOP_MARKET"},
                    {"triggerPrice", (mark * decimal::parse("0.8")).to_string(1, core::rounding::down)},
                    {"closePosition", "true"}, {"workingType", "MARK_PRICE"}, {"clientAlgoId", "setup-stop"}},
                   venue::request_kind::place_order);
    REQUIRE(bin->algo_call("GET", "/fapi/v1/openAlgoOrders", {}, venue::request_kind::query).size() == 1);
  }
  auto before = sim_account(control, vc.protocol);
  REQUIRE(open_positions(before) == 2);
  REQUIRE(before.at("open_orders").size() == 1);

  const auto dir = testing::make_temp_dir("panic-test");
  {
    service_process p({PANIC_BIN, "--venue", vc.protocol, "--rest-url", sim.url(vc.protocol)}, dir + "/panic1.log");
    const int code = p.exited(30s);
    INFO(p.output());
    CHECK(code == 0);
    CHECK(p.output().find("FLAT") != std::string::npos);
    CHECK(p.output().find("venue-sim-secret") == std::string::npos);
  }
  auto after = sim_account(control, vc.protocol);
  INFO(after.dump());
  CHECK(open_positions(after) == 0);
  CHECK(after.at("open_orders").empty());
  if (bin) CHECK(bin->algo_call("GET", "/fapi/v1/openAlgoOrders", {}, venue::request_kind::query).empty());
  // Nothing left: a second run sends nothing and says flat.
  service_process again({PANIC_BIN, "--venue", vc.protocol, "--rest-url", sim.url(vc.protocol)}, dir + "/panic2.log");
  CHECK(again.exited(30s) == 0);
  CHECK(again.output().find("closing") == std::string::npos);
  CHECK(again.output().find("cancelled") == std::string::npos);
}

}  // namespace

TEST_CASE("panic flattens and cancels everything on a Poloniex account") {
  PT_NEED_RECORDED_DATA();
  run_case({"poloniex", "BTC_USDT_PERP", "ETH_USDT_PERP", "10", "10"});
}

TEST_CASE("panic flattens and cancels everything on a Binance account including algo orders") {
  PT_NEED_RECORDED_DATA();
  run_case({"binance", "BTCUSDT", "ETHUSDT", "0.01", "0.1"});
}

TEST_CASE("panic refuses a live URL without POLYTRADE_LIVE=1 and bad arguments with exit 2") {
  ::unsetenv("POLYTRADE_LIVE");
  const auto dir = testing::make_temp_dir("panic-refuse");
  service_process live({PANIC_BIN, "--venue", "binance", "--rest-url", "https://fapi.binance.com"}, dir + "/live.log");
  CHECK(live.exited(10s) == 2);
  CHECK(live.output().find("POLYTRADE_LIVE=1") != std::string::npos);
  service_process bad({PANIC_BIN, "--venue", "kraken"}, dir + "/bad.log");
  CHECK(bad.exited(10s) == 2);
  service_process unknown({PANIC_BIN, "--venue", "poloniex", "--frobnicate"}, dir + "/unknown.log");
  CHECK(unknown.exited(10s) == 2);
  CHECK(unknown.output().find("--frobnicate") != std::string::npos);
}
