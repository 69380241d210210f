// venue-sim as a process on loopback: authentication as each venue does it, venue-shaped rejects,
// lockstep time, and every fault kind the control endpoint takes. Requests are signed with our
// own signers (libs/venue/signing, checked against the venues' published vectors).
#include "testing/venue_sim_process.hpp"
#include "venue/signing.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

using json = nlohmann::json;
namespace venue = pt::venue;

namespace {

// One venue-sim process for the whole test binary (start-up loads a year of data).
pt::testing::venue_sim_process& sim() {
  static pt::testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR,
                                          "test-key:test-secret-0123:10000,other-key:other-secret-0123:500",
                                          {"--symbols", "BTC,ETH"});
  return p;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct answer {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  json j() const { return json::parse(body, nullptr, false); }
};

answer to_answer(const httplib::Result& r) {
  if (!r) return {};
  return {r->status, r->body, r->headers};
}

// Poloniex: signed with our signer; `ts_offset` moves signTimestamp; `secret` may be wrong.
answer polo(const std::string& method, const std::string& path, const venue::query_params& q, const std::string& body,
            std::int64_t ts_offset = 0, const std::string& secret = "test-secret-0123") {
  httplib::Client c("127.0.0.1", sim().port("poloniex"));
  const auto ts = now_ms() + ts_offset;
  const auto auth = venue::poloniex_auth("test-key", method, path, q, body, ts, secret);
  httplib::Headers h;
  for (const auto& [k, v] : auth.as_list()) h.emplace(k, v);
  std::string target = path;
  for (std::size_t i = 0; i < q.size(); ++i)
    target += (i == 0 ? "?" : "&") + q[i].first + "=" + venue::percent_encode(q[i].second);
  if (method == "GET") return to_answer(c.Get(target, h));
  if (method == "POST") return to_answer(c.Post(target, h, body, "application/json"));
  return to_answer(c.Delete(target, h, body, "application/json"));
}

answer binance(const std::string& method, const std::string& path, const venue::query_params& q,
               std::int64_t ts_offset = 0, const std::string& secret = "test-secret-0123") {
  httplib::Client c("127.0.0.1", sim().port("binance"));
  const std::string qs = venue::binance_signed_query(q, now_ms() + ts_offset, 5000, secret);
  httplib::Headers h{{"X-MBX-APIKEY", "test-key"}};
  if (method == "GET") return to_answer(c.Get(path + "?" + qs, h));
  if (method == "POST") return to_answer(c.Post(path, h, qs, "application/x-www-form-urlencoded"));
  return to_answer(c.Delete(path + "?" + qs, h));
}

answer control(const std::string& method, const std::string& path, const json& body = json::object()) {
  httplib::Client c("127.0.0.1", sim().port("control"));
  if (method == "POST") return to_answer(c.Post(path, body.dump(), "application/json"));
  if (method == "DELETE") return to_answer(c.Delete(path));
  return to_answer(c.Get(path));
}

}  // namespace

TEST_CASE("poloniex: a signed request is accepted, a wrong secret, a stale or future timestamp are refused") {
  PT_NEED_RECORDED_DATA();
  const auto ok = polo("GET", "/v3/account/balance", {}, "");
  REQUIRE(ok.status == 200);
  CHECK(ok.j()["code"] == 200);
  CHECK(ok.j()["data"]["details"][0]["ccy"] == "USDT");
  const auto bad_secret = polo("GET", "/v3/account/balance", {}, "", 0, "wrong-secret");
  CHECK(bad_secret.status == 401);
  const auto stale = polo("GET", "/v3/account/balance", {}, "", -120000);
  CHECK(stale.status == 408);
  const auto future = polo("GET", "/v3/account/balance", {}, "", 5000);
  CHECK(future.status == 400);
  // The body is signed too: a DELETE whose body differs from the signed one is refused.
  httplib::Client c("127.0.0.1", sim().port("poloniex"));
  const auto ts = now_ms();
  const auto auth = venue::poloniex_auth("test-key", "DELETE", "/v3/trade/order", {}, R"({"symbol":"BTC_USDT_PERP"})", ts,
                                         "test-secret-0123");
  httplib::Headers h;
  for (const auto& [k, v] : auth.as_list()) h.emplace(k, v);
  const auto r = c.Delete("/v3/trade/order", h, R"({"symbol":"ETH_USDT_PERP"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
}

TEST_CASE("poloniex: a rejected order answers HTTP 200 with the venue's code, sz is in contracts") {
  PT_NEED_RECORDED_DATA();
  const auto bad = polo("POST", "/v3/trade/order", {}, R"({"symbol":"NOPE_USDT_PERP","side":"BUY","type":"MARKET","sz":"1"})");
  CHECK(bad.status == 200);
  CHECK(bad.j()["code"] == 10001);
  const auto stop = polo("POST", "/v3/trade/order", {}, R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"STOP_MARKET","sz":"1"})");
  CHECK(stop.j()["code"] == 400);  // Poloniex v3 has no stop orders; venue-sim invents none
  const auto placed = polo("POST", "/v3/trade/order", {},
                           R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"MARKET","sz":"3","clOrdId":"t-contracts-1"})");
  REQUIRE(placed.j()["code"] == 200);
  const auto pos = polo("GET", "/v3/trade/position/opens", {{"symbol", "BTC_USDT_PERP"}}, "");
  REQUIRE(pos.j()["data"].size() == 1);
  CHECK(pos.j()["data"][0]["qty"] == "3");  // contracts, not BTC
  const auto dup = polo("POST", "/v3/trade/order", {},
                        R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"MARKET","sz":"3","clOrdId":"t-contracts-1"})");
  CHECK(dup.j()["code"] == 250);
  polo("POST", "/v3/trade/positionAll", {}, "");
  CHECK(polo("GET", "/v3/trade/position/opens", {}, "").j()["data"].empty());
}

TEST_CASE("binance: signature, timestamp and key checks answer the venue's codes") {
  PT_NEED_RECORDED_DATA();
  const auto ok = binance("GET", "/fapi/v2/positionRisk", {{"symbol", "BTCUSDT"}});
  CHECK(ok.status == 200);
  const auto bad = binance("GET", "/fapi/v2/positionRisk", {}, 0, "wrong");
  CHECK(bad.status == 400);
  CHECK(bad.j()["code"] == -1022);
  const auto stale = binance("GET", "/fapi/v2/positionRisk", {}, -60000);
  CHECK(stale.j()["code"] == -1021);
  httplib::Client c("127.0.0.1", sim().port("binance"));
  const auto nokey = c.Get("/fapi/v2/positionRisk?timestamp=1&signature=00");
  REQUIRE(nokey);
  CHECK(nokey->status == 401);
  CHECK(json::parse(nokey->body)["code"] == -2015);
  const auto stop = binance("POST", "/fapi/v1/order", {{"symbol", "BTCUSDT"}, {"side", "SELL"}, {"type", "STOP_MARKET"}, {"quantity", "0.01"}});
  CHECK(stop.j()["code"] == -4120);  // conditional orders live on the algo endpoint
  const auto tick = binance("POST", "/fapi/v1/order",
                            {{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
                             {"quantity", "0.01"}, {"price", "1000.05"}});
  CHECK(tick.j()["code"] == -4014);
}

TEST_CASE("binance: exchangeInfo publishes the request limits, scaled by --rate-limit-scale for fast replays") {
  PT_NEED_RECORDED_DATA();
  auto limit_of = [](int port, const std::string& type, const std::string& interval) -> std::int64_t {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/fapi/v1/exchangeInfo");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const auto info = json::parse(r->body);  // kept alive: the loop below reads into it
    for (const auto& l : info.at("rateLimits"))
      if (l.at("rateLimitType") == type && l.at("interval") == interval) return l.at("limit").get<std::int64_t>();
    return -1;
  };
  CHECK(limit_of(sim().port("binance"), "REQUEST_WEIGHT", "MINUTE") == 2400);  // the venue's own (exchanges.md B4)
  pt::testing::venue_sim_process scaled(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "test-key:test-secret-0123:10000",
                                        {"--symbols", "BTC", "--protocols", "binance", "--rate-limit-scale", "100"});
  CHECK(limit_of(scaled.port("binance"), "REQUEST_WEIGHT", "MINUTE") == 240000);
  CHECK(limit_of(scaled.port("binance"), "ORDERS", "SECOND") == 30000);
}

TEST_CASE("lockstep: the market moves only when told, and candles never reach past it") {
  PT_NEED_RECORDED_DATA();
  const auto before = control("GET", "/sim/status").j()["market_time_ms"].get<std::int64_t>();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(control("GET", "/sim/status").j()["market_time_ms"].get<std::int64_t>() == before);
  const std::int64_t hour = 3600000;
  const auto moved = control("POST", "/sim/clock", {{"step_ms", 2 * hour}});
  REQUIRE(moved.status == 200);
  const auto now = moved.j()["market_time_ms"].get<std::int64_t>();
  CHECK(now == before + 2 * hour);
  httplib::Client c("127.0.0.1", sim().port("binance"));
  const auto k = c.Get("/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=5");
  REQUIRE(k);
  const auto rows = json::parse(k->body);
  REQUIRE(rows.size() == 5);
  for (const auto& r : rows) CHECK(r[0].get<std::int64_t>() <= now);
  CHECK(rows.back()[0].get<std::int64_t>() + hour > now);  // the running bar
  CHECK(control("POST", "/sim/clock", {{"pace", "warp"}}).status == 400);
}

TEST_CASE("faults: 429 storm, 5xx, malformed JSON, maintenance, clock skew, latency") {
  PT_NEED_RECORDED_DATA();
  httplib::Client c("127.0.0.1", sim().port("poloniex"));
  REQUIRE(control("POST", "/sim/faults", {{"kind", "rate_limit"}, {"count", 2}}).status == 200);
  for (int i = 0; i < 2; ++i) {
    const auto r = c.Get("/v3/market/tickers");
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Retry-After") == "1");
    CHECK(json::parse(r->body)["code"] == 429);
  }
  CHECK(c.Get("/v3/market/tickers")->status == 200);

  REQUIRE(control("POST", "/sim/faults", {{"kind", "server_error"}, {"count", 1}}).status == 200);
  CHECK(c.Get("/v3/market/tickers")->status == 500);
  REQUIRE(control("POST", "/sim/faults", {{"kind", "malformed_json"}, {"count", 1}}).status == 200);
  CHECK(json::parse(c.Get("/v3/market/tickers")->body, nullptr, false).is_discarded());
  REQUIRE(control("POST", "/sim/faults", {{"kind", "maintenance"}, {"count", 1}}).status == 200);
  CHECK(json::parse(c.Get("/v3/market/tickers")->body)["code"] == 1002);
  CHECK(c.Get("/v3/market/tickers")->status == 200);

  REQUIRE(control("POST", "/sim/faults", {{"kind", "clock_skew"}, {"value", 120000}, {"duration_ms", 60000}}).status == 200);
  CHECK(polo("GET", "/v3/account/balance", {}, "").status == 408);  // the server runs 2 min ahead: we look stale
  CHECK(polo("GET", "/v3/account/balance", {}, "", 120000).status == 200);  // resynced to server time
  REQUIRE(control("DELETE", "/sim/faults?kind=clock_skew").status == 200);
  CHECK(polo("GET", "/v3/account/balance", {}, "").status == 200);

  REQUIRE(control("POST", "/sim/faults", {{"kind", "latency"}, {"value", 300}, {"count", 1}}).status == 200);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.Get("/v3/market/tickers")->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
  CHECK(control("POST", "/sim/faults", {{"kind", "nonsense"}, {"count", 1}}).status == 400);
  CHECK(control("GET", "/sim/status").j()["fired"]["rate_limit"] == 2);
}

TEST_CASE("faults: '503 but executed' and 'hold the ack' leave an order that a query by client id finds") {
  PT_NEED_RECORDED_DATA();
  REQUIRE(control("POST", "/sim/faults", {{"kind", "unknown_executed"}, {"count", 1}}).status == 200);
  const auto r = binance("POST", "/fapi/v1/order",
                         {{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
                          {"quantity", "0.01"}, {"price", "1000"}, {"newClientOrderId", "amb-503-1"}});
  CHECK(r.status == 503);
  CHECK(r.j()["code"] == -1000);
  const auto q = binance("GET", "/fapi/v1/order", {{"symbol", "BTCUSDT"}, {"origClientOrderId", "amb-503-1"}});
  REQUIRE(q.status == 200);
  CHECK(q.j()["status"] == "NEW");
  // Re-sending the same client id is refused: the order exists once.
  const auto again = binance("POST", "/fapi/v1/order",
                             {{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
                              {"quantity", "0.01"}, {"price", "1000"}, {"newClientOrderId", "amb-503-1"}});
  CHECK(again.j()["code"] == -4116);

  REQUIRE(control("POST", "/sim/faults", {{"kind", "hold_ack"}, {"value", 1500}, {"count", 1}}).status == 200);
  httplib::Client slow("127.0.0.1", sim().port("poloniex"));
  slow.set_read_timeout(0, 300000);  // 300 ms: the client gives up before the ack
  const std::string body = R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","px":"1000","sz":"1","clOrdId":"held-1"})";
  const auto auth = venue::poloniex_auth("test-key", "POST", "/v3/trade/order", {}, body, now_ms(), "test-secret-0123");
  httplib::Headers h;
  for (const auto& [k, v] : auth.as_list()) h.emplace(k, v);
  const auto timed_out = slow.Post("/v3/trade/order", h, body, "application/json");
  CHECK_FALSE(timed_out);
  const auto found = polo("GET", "/v3/trade/order/details", {{"clOrdId", "held-1"}}, "");
  REQUIRE(found.j()["code"] == 200);
  CHECK(found.j()["data"]["state"] == "NEW");
  binance("DELETE", "/fapi/v1/allOpenOrders", {{"symbol", "BTCUSDT"}});
  polo("DELETE", "/v3/trade/allOrders", {}, R"({"symbol":"BTC_USDT_PERP"})");
}

TEST_CASE("binance: conditional orders live on the algo endpoint: place, list, query, cancel, immediate-trigger reject") {
  PT_NEED_RECORDED_DATA();
  httplib::Client c("127.0.0.1", sim().port("binance"));
  const auto mark = json::parse(c.Get("/fapi/v1/premiumIndex?symbol=BTCUSDT")->body)["markPrice"].get<std::string>();
  const double m = std::stod(mark);
  auto px = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return std::string(buf);
  };
  const auto placed = binance("POST", "/fapi/v1/algoOrder",
                              {{"algoType", "CONDITIONAL"}, {"symbol", "BTCUSDT"}, {"side", "SELL"}, {"type", "STOP_MARKET"},
                               {"triggerPrice", px(m * 0.5)}, {"closePosition", "true"}, {"workingType", "MARK_PRICE"},
                               {"clientAlgoId", "algo-sl-1"}});
  REQUIRE(placed.status == 200);
  CHECK(placed.j()["algoStatus"] == "NEW");
  CHECK(placed.j()["orderType"] == "STOP_MARKET");
  CHECK(placed.j()["workingType"] == "MARK_PRICE");
  const auto open = binance("GET", "/fapi/v1/openAlgoOrders", {{"symbol", "BTCUSDT"}});
  REQUIRE(open.j().is_array());
  CHECK(open.j().size() == 1);
  CHECK(binance("GET", "/fapi/v1/algoOrder", {{"clientAlgoId", "algo-sl-1"}}).j()["clientAlgoId"] == "algo-sl-1");
  // A sell stop above the market would fire at once.
  const auto now = binance("POST", "/fapi/v1/algoOrder",
                           {{"algoType", "CONDITIONAL"}, {"symbol", "BTCUSDT"}, {"side", "SELL"}, {"type", "STOP_MARKET"},
                            {"triggerPrice", px(m * 1.5)}, {"quantity", "0.01"}, {"workingType", "MARK_PRICE"}});
  CHECK(now.j()["code"] == -2021);
  const auto cancelled = binance("DELETE", "/fapi/v1/algoOrder", {{"clientAlgoId", "algo-sl-1"}});
  CHECK(cancelled.status == 200);
  CHECK(binance("GET", "/fapi/v1/openAlgoOrders", {}).j().empty());
  CHECK(binance("GET", "/fapi/v1/algoOrder", {{"clientAlgoId", "algo-sl-1"}}).j()["algoStatus"] == "CANCELED");
}

namespace {

// This key's row of /sim/accounts?protocol=binance.
json binance_account(const std::string& key) {
  for (const auto& a : control("GET", "/sim/accounts?protocol=binance").j())
    if (a.value("key", "") == key) return a;
  return json::object();
}

std::string order_status(const std::string& symbol, const std::string& cid) {
  return binance("GET", "/fapi/v1/order", {{"symbol", symbol}, {"origClientOrderId", cid}}).j().value("status", "");
}

}  // namespace

TEST_CASE("binance: countdownCancelAll cancels the symbol's open orders once heartbeats stop and 0 disarms it") {
  PT_NEED_RECORDED_DATA();
  using namespace std::chrono_literals;
  const std::string path = "/fapi/v1/countdownCancelAll";
  // Bad parameters answer the venue's error JSON with HTTP 400.
  const auto no_symbol = binance("POST", path, {{"countdownTime", "1000"}});
  CHECK(no_symbol.status == 400);
  CHECK(no_symbol.j()["code"] == -1102);
  CHECK(binance("POST", path, {{"symbol", "BTCUSDT"}}).j()["code"] == -1102);
  CHECK(binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "1s"}}).j()["code"] == -1102);
  CHECK(binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "-5"}}).j()["code"] == -1102);
  CHECK(binance("POST", path, {{"symbol", "NOPEUSDT"}, {"countdownTime", "1000"}}).j()["code"] == -1121);
  CHECK(binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "1000"}}, 0, "wrong").j()["code"] == -1022);
  CHECK(binance_account("test-key")["countdowns"].empty());

  httplib::Client c("127.0.0.1", sim().port("binance"));
  auto mark = [&](const char* s) {
    return std::stod(json::parse(c.Get(std::string("/fapi/v1/premiumIndex?symbol=") + s)->body)["markPrice"].get<std::string>());
  };
  auto px = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return std::string(buf);
  };
  auto rest = [&](const std::string& symbol, const std::string& qty, double price, const std::string& cid) {
    const auto r = binance("POST", "/fapi/v1/order",
                           {{"symbol", symbol}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
                            {"quantity", qty}, {"price", px(price)}, {"newClientOrderId", cid}});
    REQUIRE(r.status == 200);
    REQUIRE(r.j()["status"] == "NEW");
  };
  const double btc = mark("BTCUSDT"), eth = mark("ETHUSDT");
  rest("BTCUSDT", "0.01", btc * 0.5, "cd-btc-1");
  rest("ETHUSDT", "0.1", eth * 0.5, "cd-eth-1");
  const auto algo = binance("POST", "/fapi/v1/algoOrder",
                            {{"algoType", "CONDITIONAL"}, {"symbol", "BTCUSDT"}, {"side", "SELL"}, {"type", "STOP_MARKET"},
                             {"triggerPrice", px(btc * 0.5)}, {"closePosition", "true"}, {"workingType", "MARK_PRICE"},
                             {"clientAlgoId", "cd-algo-1"}});
  REQUIRE(algo.status == 200);

  const auto armed = binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "1500"}});
  REQUIRE(armed.status == 200);
  CHECK(armed.j() == json{{"symbol", "BTCUSDT"}, {"countdownTime", "1500"}});
  const auto timers = binance_account("test-key")["countdowns"];
  REQUIRE(timers.size() == 1);
  CHECK(timers[0]["symbol"] == "BTCUSDT");
  CHECK(timers[0]["countdown_ms"] == 1500);

  // Heartbeats every 300 ms for well over the countdown: each replaces the timer, nothing goes.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(300ms);
    REQUIRE(binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "1500"}}).status == 200);
  }
  CHECK(order_status("BTCUSDT", "cd-btc-1") == "NEW");

  // Silence: the symbol's open orders go once the countdown has passed; the other symbol's order and
  // the conditional (Algo Service) order stay.
  const auto last_beat = std::chrono::steady_clock::now();
  while (order_status("BTCUSDT", "cd-btc-1") == "NEW" && std::chrono::steady_clock::now() - last_beat < 6s)
    std::this_thread::sleep_for(20ms);
  const auto took = std::chrono::steady_clock::now() - last_beat;
  CHECK(order_status("BTCUSDT", "cd-btc-1") == "CANCELED");
  CHECK(took >= 1200ms);  // the last heartbeat's 1500 ms, less the time its answer took to come back
  CHECK(took < 3500ms);
  CHECK(order_status("ETHUSDT", "cd-eth-1") == "NEW");
  CHECK(binance("GET", "/fapi/v1/openAlgoOrders", {{"symbol", "BTCUSDT"}}).j().size() == 1);
  const auto acct = binance_account("test-key");
  CHECK(acct["countdowns"].empty());  // it fired once
  REQUIRE(acct["countdowns_fired"].size() == 1);
  CHECK(acct["countdowns_fired"][0]["symbol"] == "BTCUSDT");
  CHECK(acct["countdowns_fired"][0]["cancelled"] == 1);

  // countdownTime 0 stops the timer.
  rest("BTCUSDT", "0.01", btc * 0.5, "cd-btc-2");
  REQUIRE(binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "1000"}}).status == 200);
  const auto off = binance("POST", path, {{"symbol", "BTCUSDT"}, {"countdownTime", "0"}});
  CHECK(off.j() == json{{"symbol", "BTCUSDT"}, {"countdownTime", "0"}});
  CHECK(binance_account("test-key")["countdowns"].empty());
  std::this_thread::sleep_for(1500ms);
  CHECK(order_status("BTCUSDT", "cd-btc-2") == "NEW");
  CHECK(binance_account("test-key")["countdowns_fired"].size() == 1);

  binance("DELETE", "/fapi/v1/allOpenOrders", {{"symbol", "BTCUSDT"}});
  binance("DELETE", "/fapi/v1/allOpenOrders", {{"symbol", "ETHUSDT"}});
  binance("DELETE", "/fapi/v1/algoOrder", {{"clientAlgoId", "cd-algo-1"}});
}

namespace {

// User + system CPU time of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(all.substr(all.rfind(')') + 2));  // after "pid (comm) "
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return utime + stime;
}

}  // namespace

TEST_CASE("unthrottled: once the data is replayed the venue stays up and idles, not spins") {
  PT_NEED_RECORDED_DATA();
  pt::testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "idle-key:idle-secret-0123:1000",
                                   {"--symbols", "BTC", "--timeframe", "1d", "--pace", "unthrottled"});
  httplib::Client c("127.0.0.1", p.port("control"));
  json st;
  for (int i = 0; i < 200; ++i) {
    const auto r = c.Get("/sim/status");
    REQUIRE(r);
    st = json::parse(r->body);
    if (st["replay_exhausted"].get<bool>()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(st["replay_exhausted"].get<bool>());
  CHECK(st["replay_events"].get<std::int64_t>() > 0);
  const long before = cpu_ticks(p.pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long used = cpu_ticks(p.pid()) - before;
  // A spinning replay thread burns ~1 s of CPU here (sysconf(_SC_CLK_TCK) ticks); idle is ~0.
  CHECK(used < sysconf(_SC_CLK_TCK) / 5);
  const auto r = c.Get("/health");  // still serving
  REQUIRE(r);
  CHECK(r->status == 200);
}
