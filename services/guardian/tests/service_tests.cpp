// The guardian binary end to end: a private nats-server (JetStream), venue-sim on the Poloniex
// protocol in lockstep replaying the recorded BTCUSDT 1h bars, a long opened at venue-sim through the
// Poloniex connector, then guardian.protect arm with a stop picked from the recording so that a
// coming bar's low is certain to cross it (venue-sim walks a bar open -> low -> high -> close for a
// net long). Ground truth is venue-sim's /sim/accounts (position flat, exactly one guardian order);
// the reports are read back from the GUARDIAN stream with plain nats.c (no libs/bus).
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

TEST_CASE("the stop still fires with NATS stopped after arming; reports go out when it is back") {
  PT_NEED_RECORDED_DATA();
  run_case(true);
}
