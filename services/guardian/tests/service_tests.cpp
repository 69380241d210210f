// The guardian binary end to end: a private nats-server (JetStream), venue-sim on the Poloniex
// protocol in lockstep replaying the recorded BTCUSDT 1h bars, a long opened at venue-sim through the
// Poloniex connector, then guardian.protect arm with a stop picked from the recording so that a
// coming bar's low is certain to cross it (venue-sim walks a bar open -> low -> high -> close for a
// net long). Ground truth is venue-sim's /sim/accounts (position flat, exactly one guardian order);
// the reports are read back from the GUARDIAN stream with plain nats.c (no libs/bus).
// On Binance: the dead-man countdown (countdownCancelAll) is armed and heartbeated while the guardian
// lives, and once it is SIGKILLed venue-sim cancels the symbol's resting orders (not the algo stop).
#include "connectors/binance_connector.hpp"
#include "connectors/poloniex_connector.hpp"
#include "protection_book.hpp"
#include "replay/data_files.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <httplib.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pt;
using namespace std::chrono_literals;
using core::decimal;
using json = nlohmann::json;

namespace {

using pt::testing::service_process;
using pt::testing::slurp;

// Every guardian.protection message in the GUARDIAN stream, from the start (ephemeral JS consumer).
struct protection_reader {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  explicit protection_reader(const std::string& url) {
    REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    jsErrCode jerr{};
    REQUIRE(js_SubscribeSync(&sub, js, "guardian.protection", nullptr, nullptr, &jerr) == NATS_OK);
  }
  ~protection_reader() {
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
  std::optional<json> next(std::chrono::milliseconds t) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, t.count()) != NATS_OK) return std::nullopt;
    auto j = json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false);
    natsMsg_Ack(m, nullptr);
    natsMsg_Destroy(m);
    return j;
  }
};

void publish_core(const std::string& url, const std::string& subject, const json& body) {
  natsConnection* nc = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  const auto s = body.dump();
  REQUIRE(natsConnection_Publish(nc, subject.c_str(), s.data(), static_cast<int>(s.size())) == NATS_OK);
  REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  natsConnection_Destroy(nc);
}

json accounts(httplib::Client& control) {
  auto r = control.Get("/sim/accounts?protocol=poloniex");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body).at(0);
}

decimal position_qty(const json& acct, const std::string& symbol) {
  decimal q;
  for (const auto& p : acct.at("positions"))
    if (p.at("symbol") == symbol) q += decimal::parse(p.at("qty").is_string() ? p.at("qty").get<std::string>() : p.at("qty").dump());
  return q;
}

std::vector<std::string> states_for(protection_reader& reader, const std::string& id, const std::string& until,
                                    std::chrono::milliseconds wait) {
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = reader.next(200ms);
    if (!m || !m->is_object() || m->value("protection_id", "") != id) continue;
    out.push_back(m->at("state").get<std::string>());
    if (out.back() == until) break;
  }
  return out;
}

void run_case(bool stop_nats) {
  const std::string symbol = "BTC_USDT_PERP";
  const auto data = testing::shared_data_dir(POLYTRADE_SOURCE_DIR);
  const auto candles = replay::load_candles(std::filesystem::path(data) / "freqtrade_marketlab" / "BTCUSDT_1h.csv");
  testing::nats_server nats(true);
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "g-key:g-secret:100000",
                                 {"--symbols", "BTC", "--protocols", "poloniex"});
  httplib::Client control("127.0.0.1", sim.port("control"));
  const std::int64_t t0 = sim.start_market_time();

  // The long, opened through the connector as execution would.
  connectors::poloniex_config pc;
  pc.rest_url = sim.url("poloniex");
  pc.api_key = "g-key";
  pc.api_secret = "g-secret";
  connectors::poloniex_connector venue(pc);
  venue::order_request entry;
  entry.symbol = symbol;
  entry.client_id = "ptentrytest1";
  entry.s = venue::side::buy;
  entry.type = venue::order_type::market;
  entry.qty = decimal::parse("10");
  (void)venue.place_order(entry);
  REQUIRE(position_qty(accounts(control), symbol) == decimal::parse("10"));
  const decimal mark = venue.get_mark_price(symbol).mark;

  // The stop: halfway between the mark and the low of the first coming bar that dips 0.1 % below it.
  std::optional<decimal> stop;
  int bars_to_cross = 0;
  for (const auto& b : candles) {
    if (b.open_time_ms < t0) continue;
    ++bars_to_cross;
    if (bars_to_cross > 48) break;
    if (b.low < mark - mark * decimal::parse("0.001")) {
      stop = decimal::parse((b.low + (mark - b.low) / decimal::from_integer(2)).to_string(1, core::rounding::down));
      break;
    }
  }
  REQUIRE(stop);
  REQUIRE(*stop < mark);
  INFO("mark " << mark << " stop " << *stop << " bars " << bars_to_cross);

  const auto dir = testing::make_temp_dir("guardian-test");
  const std::string cfg = dir + "/guardian.yaml";
  const std::string state = dir + "/state.json";
  {
    std::ofstream y(cfg);
    y << "bus:\n  url: " << nats.url() << "\n"
      << "heartbeat:\n  interval: 1s\n"
      << "guardian:\n"
      << "  venue: poloniex\n"
      << "  rest_url: " << sim.url("poloniex") << "\n"
      << "  ws_url: ws://127.0.0.1:" << sim.port("poloniex_ws") << "/ws/v3/public\n"
      << "  symbols: [" << symbol << "]\n"
      << "  poll_interval: 300ms\n"
      << "  state_file: " << state << "\n";
  }
  ::setenv("POLONIEX_API_KEY", "g-key", 1);
  ::setenv("POLONIEX_API_SECRET", "g-secret", 1);
  ::unsetenv("DATABASE_URL");
  service_process guardian({GUARDIAN_BIN, "--config", cfg}, dir + "/guardian.log");
  for (int i = 0; i < 200 && guardian.output().find("guardian started") == std::string::npos; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(guardian.output().find("guardian started") != std::string::npos);

  auto reader = std::make_unique<protection_reader>(nats.url());
  const std::string id = std::string("prot-") + (stop_nats ? "nats-down" : "basic");
  publish_core(nats.url(), "guardian.protect",
               {{"protection_id", id}, {"correlation_id", "corr-1"}, {"venue", "poloniex"}, {"symbol", symbol},
                {"action", "arm"}, {"position_side", "long"}, {"stop_price", stop->to_string()},
                {"ts", "2026-01-01T00:00:00Z"}});
  auto armed = states_for(*reader, id, "armed", 10s);
  INFO(guardian.output());
  REQUIRE(armed == std::vector<std::string>{"armed"});
  if (stop_nats) {
    reader.reset();
    nats.stop();
  }

  // Step market time 20 minutes at a time (each of the bar's walked points separately) until flat.
  bool flat = false;
  for (int step = 0; step < (bars_to_cross + 2) * 3 && !flat; ++step) {
    auto r = control.Post("/sim/clock", json{{"step_ms", 20 * 60000}}.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    for (int i = 0; i < 30 && !flat; ++i) {
      flat = position_qty(accounts(control), symbol).is_zero();
      if (!flat) std::this_thread::sleep_for(50ms);
    }
  }
  REQUIRE(flat);
  const auto acct = accounts(control);
  CHECK(acct.at("open_orders").empty());
  int guardian_orders = 0;
  for (const auto& c : acct.at("client_ids")) {
    const auto cid = c.get<std::string>();
    if (cid != "ptentrytest1") ++guardian_orders;
    CHECK((cid == "ptentrytest1" || cid == guardian::guard_client_id(id, 0)));
  }
  CHECK(guardian_orders == 1);

  if (stop_nats) {
    // The reports waited in the outbox (and the state file) for the bus.
    // The protection is dropped once the venue showed flat for two polls: wait for that.
    bool dropped = false;
    for (int i = 0; i < 100 && !dropped; ++i) {
      dropped = json::parse(slurp(state)).at("protections").empty();
      if (!dropped) std::this_thread::sleep_for(100ms);
    }
    CHECK(dropped);
    nats.start();
    reader = std::make_unique<protection_reader>(nats.url());  // reads the stream from its start
  }
  auto rest = states_for(*reader, id, "closed", 30s);
  if (stop_nats)
    CHECK(rest == std::vector<std::string>{"armed", "triggered", "closed"});
  else
    CHECK(rest == std::vector<std::string>{"triggered", "closed"});
  std::this_thread::sleep_for(500ms);
  CHECK(guardian.stop() == 0);
  const auto s = json::parse(slurp(state));
  CHECK(s.at("protections").empty());
  CHECK(s.at("outbox").empty());
  CHECK(guardian.output().find("g-secret") == std::string::npos);
}

}  // namespace

TEST_CASE("a long's stop fires at venue-sim: one reduce-only close, reports armed/triggered/closed") {
  PT_NEED_RECORDED_DATA();
  run_case(false);
}

TEST_CASE("the stop still fires with NATS stopped after arming and reports go out when it is back") {
  PT_NEED_RECORDED_DATA();
  run_case(true);
}

namespace {

json binance_account(httplib::Client& control) {
  auto r = control.Get("/sim/accounts?protocol=binance");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body).at(0);
}

}  // namespace

TEST_CASE("binance: the dead-man countdown is heartbeated while the guardian lives and cancels resting orders after a SIGKILL") {
  PT_NEED_RECORDED_DATA();
  const std::string symbol = "BTCUSDT";
  testing::nats_server nats(true);
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "d-key:d-secret:100000",
                                 {"--symbols", "BTC", "--protocols", "binance"});
  httplib::Client control("127.0.0.1", sim.port("control"));

  // A long with its native stop (an Algo Service order, as execution places it on Binance), a
  // reduce-only take-profit and an entry resting on the book. Lockstep: nothing moves or fills.
  connectors::binance_config bc;
  bc.rest_url = sim.url("binance");
  bc.api_key = "d-key";
  bc.api_secret = "d-secret";
  connectors::binance_connector venue(bc);
  const decimal mark = venue.get_mark_price(symbol).mark;
  venue::order_request r;
  r.symbol = symbol;
  r.client_id = "ptdmentry1";
  r.s = venue::side::buy;
  r.type = venue::order_type::market;
  r.qty = decimal::parse("0.01");
  REQUIRE(venue.place_order(r).state == venue::order_state::filled);
  const auto stop = venue.algo_call("POST", "/fapi/v1/algoOrder",
                                    {{"algoType", "CONDITIONAL"}, {"symbol", symbol}, {"side", "SELL"},
                                     {"type", "STOP_MARKET"}, {"closePosition", "true"}, {"workingType", "MARK_PRICE"},
                                     {"triggerPrice", (mark * decimal::parse("0.9")).to_string(1, core::rounding::down)},
                                     {"clientAlgoId", "ptdmstop1"}},
                                    venue::request_kind::place_order);
  REQUIRE(stop.value("algoStatus", "") == "NEW");
  r.client_id = "ptdmtp1";
  r.s = venue::side::sell;
  r.type = venue::order_type::limit;
  r.reduce_only = true;
  r.price = mark * decimal::parse("1.5");
  REQUIRE(venue.place_order(r).state == venue::order_state::open);
  r.client_id = "ptdmentry2";
  r.s = venue::side::buy;
  r.reduce_only = false;
  r.price = mark * decimal::parse("0.5");
  REQUIRE(venue.place_order(r).state == venue::order_state::open);
  REQUIRE(binance_account(control).at("open_orders").size() == 2);

  const auto dir = testing::make_temp_dir("guardian-deadman");
  const std::string cfg = dir + "/guardian.yaml";
  {
    std::ofstream y(cfg);
    y << "bus:\n  url: " << nats.url() << "\n"
      << "heartbeat:\n  interval: 1s\n"
      << "guardian:\n"
      << "  venue: binance\n"
      << "  rest_url: " << sim.url("binance") << "\n"
      << "  ws_url: ws://127.0.0.1:" << sim.port("binance_ws") << "\n"
      << "  symbols: [" << symbol << "]\n"
      << "  poll_interval: 300ms\n"
      << "  deadman_countdown: 3s\n"
      << "  state_file: " << dir << "/state.json\n";
  }
  ::setenv("BINANCE_API_KEY", "d-key", 1);
  ::setenv("BINANCE_API_SECRET", "d-secret", 1);
  ::unsetenv("DATABASE_URL");
  service_process guardian({GUARDIAN_BIN, "--config", cfg}, dir + "/guardian.log");
  REQUIRE(guardian.wait_for("guardian started", 10s));

  // Armed at venue-sim with the configured countdown.
  json timers;
  for (int i = 0; i < 100 && timers.empty(); ++i) {
    timers = binance_account(control).at("countdowns");
    if (timers.empty()) std::this_thread::sleep_for(50ms);
  }
  INFO(guardian.output());
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].at("symbol") == symbol);
  CHECK(timers[0].at("countdown_ms") == 3000);
  CHECK(guardian.output().find("dead-man countdown armed") != std::string::npos);

  // Alive: heartbeats every second keep pushing the deadline out, well past one countdown.
  std::this_thread::sleep_for(4500ms);
  auto acct = binance_account(control);
  CHECK(acct.at("open_orders").size() == 2);
  CHECK(acct.at("countdowns_fired").empty());
  CHECK(acct.at("countdowns").size() == 1);

  // SIGKILL: no shutdown code runs. Within one countdown of the last heartbeat the venue cancels the
  // entry and the take-profit; the native stop (Algo Service) and the position stay.
  CHECK(guardian.kill_hard() == 128 + SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  while (!binance_account(control).at("open_orders").empty() && std::chrono::steady_clock::now() - killed < 8s)
    std::this_thread::sleep_for(50ms);
  const auto took = std::chrono::steady_clock::now() - killed;
  acct = binance_account(control);
  CHECK(acct.at("open_orders").empty());
  CHECK(took >= 1500ms);  // not at once: the venue waits out the countdown from the last heartbeat,
  CHECK(took < 3500ms);   // 3 s after it, and it came at most 1 s before the kill
  REQUIRE(acct.at("countdowns_fired").size() == 1);
  CHECK(acct.at("countdowns_fired")[0].at("symbol") == symbol);
  CHECK(acct.at("countdowns_fired")[0].at("cancelled") == 2);
  CHECK(venue.query_order(symbol, "ptdmentry2")->state == venue::order_state::cancelled);
  CHECK(venue.query_order(symbol, "ptdmtp1")->state == venue::order_state::cancelled);
  const auto algos = venue.algo_call("GET", "/fapi/v1/openAlgoOrders", {{"symbol", symbol}}, venue::request_kind::query);
  REQUIRE(algos.is_array());
  REQUIRE(algos.size() == 1);
  CHECK(algos[0].value("clientAlgoId", "") == "ptdmstop1");
  REQUIRE(acct.at("positions").size() == 1);
  CHECK(guardian.output().find("d-secret") == std::string::npos);
}
