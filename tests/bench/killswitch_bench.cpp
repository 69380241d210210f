// Kill-switch latency under a market-data flood (issue 4, benchmarks): the real risk and execution
// binaries, a private nats-server (JetStream) and PostgreSQL, venue-sim on the Binance protocol in
// lockstep. Each round the bench opens a position at venue-sim with its own connector, sends a
// signed ctl.killswitch.trigger (libs/control, as ptctl does) and times, from the send:
//   risk   -> risk.killswitch {active:true} arriving here (risk verified, audited, published);
//   exec   -> execution's exec.order for the kill-switch close arriving here (it cancelled the
//             symbol's orders and sent the reduce-only market close; venue-sim answered);
//   flat   -> venue-sim's account shows the position gone (polled every 2 ms).
// Then a signed reset. Rounds run quiet and then under a flood: a thread publishing md marks (risk
// subscribes them) and md bars (execution subscribes them) as fast as one connection can.
// Prints n / p50 / p99 / max per stage and the flood's rate. Not a test: figures for PERFORMANCE.md.
//
//   killswitch_bench [--rounds N] [--flood-rate MSGS_PER_S]   (30 rounds per mode; 0 = as fast as possible)
#include "connectors/binance_connector.hpp"
#include "control/control.hpp"
#include "core/decimal.hpp"
#include "core/time.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"
#include "testing/venue_sim_process.hpp"

#include <httplib.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using pt::core::decimal;

namespace {

constexpr const char* kToken = "killswitch-bench-operator-token";

std::string now_iso() { return pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601(); }

double ms_since(steady::time_point t0) { return std::chrono::duration<double, std::milli>(steady::now() - t0).count(); }

struct stats {
  std::vector<double> v;
  void print(const char* mode, const char* stage) {
    if (v.empty()) {
      std::printf("  %-6s %-6s n 0\n", mode, stage);
      return;
    }
    std::sort(v.begin(), v.end());
    auto at = [&](double p) { return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * v.size()))]; };
    std::printf("  %-6s %-6s n %3zu  p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n", mode, stage, v.size(), at(50), at(99), v.back());
  }
};

// Plain nats.c subscriber on the subjects the bench waits for.
struct listener {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  natsSubscription* sub2 = nullptr;
  // Only what it waits for (and not the flood: its own backlog would count as latency).
  explicit listener(const std::string& url) {
    if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) throw std::runtime_error("nats connect");
    natsConnection_SubscribeSync(&sub, nc, "risk.>");
    natsConnection_SubscribeSync(&sub2, nc, "exec.order.*");
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsSubscription_SetPendingLimits(sub2, -1, -1);
    natsConnection_Flush(nc);
  }
  ~listener() {
    natsSubscription_Destroy(sub);
    natsSubscription_Destroy(sub2);
    natsConnection_Destroy(nc);
  }
  // Waits for a message passing `want`; false after `t`.
  bool wait(const std::function<bool(const std::string&, const json&)>& want, std::chrono::milliseconds t) {
    const auto until = steady::now() + t;
    while (steady::now() < until) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub, 1) != NATS_OK && natsSubscription_NextMsg(&m, sub2, 1) != NATS_OK) continue;
      const std::string subject = natsMsg_GetSubject(m);
      const auto body = json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false);
      natsMsg_Destroy(m);
      if (want(subject, body)) return true;
    }
    return false;
  }
};

// Signed ctl request (a reply is awaited by the bench's own connection, not timed).
void send_command(natsConnection* nc, const std::string& subject) {
  const auto body = pt::control::make_command(kToken, subject, "bench", "killswitch bench",
                                              pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()))
                        .dump();
  natsMsg* reply = nullptr;
  natsConnection_Request(&reply, nc, subject.c_str(), body.data(), static_cast<int>(body.size()), 5000);
  if (reply) natsMsg_Destroy(reply);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 30;
  long flood_rate = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    if (std::string(argv[i]) == "--flood-rate") flood_rate = std::max(0L, std::atol(argv[i + 1]));
  }
  if (!pt::testing::has_recorded_data(POLYTRADE_SOURCE_DIR)) {
    std::fprintf(stderr, "killswitch_bench: ../shared/data is absent (venue-sim replays it): nothing measured\n");
    return 0;
  }
  for (const char* k : {"POLONIEX_API_KEY", "POLONIEX_API_SECRET", "BINANCE_API_KEY", "BINANCE_API_SECRET", "POLYTRADE_LIVE",
                        "DATABASE_URL", "NATS_URL"})
    ::unsetenv(k);
  ::setenv("POLYTRADE_CTL_TOKEN", kToken, 1);

  pt::testing::nats_server nats(true);
  const auto db = pt::testing::postgres_server::shared().create_database("killswitch_bench");
  pt::testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "venue-sim-key:venue-sim-secret:100000",
                                     {"--symbols", "BTC", "--protocols", "binance", "--timeframe", "5m"});
  httplib::Client control("127.0.0.1", sim.port("control"));
  const auto dir = pt::testing::make_temp_dir("killswitch-bench");
  {
    std::ofstream y(dir + "/risk.yaml");
    y << "bus:\n  url: " << nats.url() << "\nledger:\n  url: " << db << "\n"
      << "risk:\n  venue: binance\n  autonomous_at_start: true\n  metrics_interval: 1s\n  guardian:\n    required: false\n"
      << "  catalog: " << POLYTRADE_SOURCE_DIR << "/docs/markets/binance-usdm.json\n";
  }
  {
    std::ofstream y(dir + "/execution.yaml");
    y << "bus:\n  url: " << nats.url() << "\nledger:\n  url: " << db << "\n"
      << "execution:\n  venue: binance\n  rest_url: " << sim.url("binance") << "\n"
      << "  ws_url: ws://127.0.0.1:" << sim.port("binance_ws") << "\n  symbols: [BTCUSDT]\n  account_interval: 1s\n";
  }
  listener bus(nats.url());
  pt::testing::service_process risk({RISK_BIN, "--config", dir + "/risk.yaml"}, dir + "/risk.log");
  pt::testing::service_process exec({EXECUTION_BIN, "--config", dir + "/execution.yaml"}, dir + "/execution.log");
  if (!exec.wait_for("\"trading\"", 60s) || !bus.wait([](const std::string& s, const json&) { return s == "risk.metrics"; }, 30s)) {
    std::fprintf(stderr, "killswitch_bench: the services did not come up\nrisk:\n%s\nexecution:\n%s\n", risk.output().c_str(),
                 exec.output().c_str());
    return 1;
  }

  pt::connectors::binance_config bc;
  bc.rest_url = sim.url("binance");
  bc.api_key = "venue-sim-key";
  bc.api_secret = "venue-sim-secret";
  pt::connectors::binance_connector venue(bc);
  auto position = [&]() {
    auto r = control.Get("/sim/accounts?protocol=binance");
    decimal q;
    if (!r) return q;
    const auto accts = json::parse(r->body, nullptr, false);
    if (!accts.is_array() || accts.empty()) return q;
    const auto positions = accts[0].value("positions", json::array());
    for (const auto& p : positions)
      if (p.value("symbol", "") == "BTCUSDT") q += decimal::parse(p.value("qty", "0"));
    return q;
  };

  // The flood: marks and 1m bars of BTCUSDT, valid against their schemas, one connection, no pause.
  std::atomic<bool> flooding{false}, quit{false};
  std::atomic<std::uint64_t> flood_sent{0};
  std::thread flood([&] {
    natsConnection* nc = nullptr;
    natsConnection_ConnectTo(&nc, nats.url().c_str());
    const std::string mark = json{{"venue", "binance"}, {"symbol", "BTCUSDT"}, {"ts", now_iso()}, {"mark_price", "95000.1"}}.dump();
    const std::string bar = json{{"venue", "binance"},  {"symbol", "BTCUSDT"}, {"tf", "1m"},      {"open_ts", "2025-01-01T00:00:00Z"},
                                 {"close_ts", "2025-01-01T00:01:00Z"},        {"open", "95000"},   {"high", "95010"},
                                 {"low", "94990"},      {"close", "95001"},   {"volume", "12.5"}, {"closed", false}}
                                .dump();
    auto next = steady::now();
    const auto gap = flood_rate > 0 ? std::chrono::nanoseconds(2'000'000'000 / flood_rate) : std::chrono::nanoseconds(0);
    while (!quit) {
      if (!flooding) {
        std::this_thread::sleep_for(1ms);
        next = steady::now();
        continue;
      }
      natsConnection_Publish(nc, "md.binance.BTCUSDT.mark", mark.data(), static_cast<int>(mark.size()));
      natsConnection_Publish(nc, "md.binance.BTCUSDT.bar.1m", bar.data(), static_cast<int>(bar.size()));
      flood_sent += 2;
      if (gap.count() > 0) {
        next += gap;
        if (next > steady::now()) std::this_thread::sleep_until(next);
      }
    }
    natsConnection_Flush(nc);
    natsConnection_Destroy(nc);
  });

  std::printf("kill-switch latency, %d rounds per mode (risk + execution binaries, nats, PostgreSQL, venue-sim binance)\n", rounds);
  int failures = 0;
  for (const bool under_flood : {false, true}) {
    stats to_risk, to_exec, to_flat;
    flooding = under_flood;
    const auto flood_start = steady::now();
    const auto sent_before = flood_sent.load();
    if (under_flood) std::this_thread::sleep_for(500ms);  // the mailboxes fill first
    for (int r = 0; r < rounds; ++r) {
      pt::venue::order_request o;
      o.symbol = "BTCUSDT";
      o.client_id = "bench-open-" + std::to_string(under_flood) + "-" + std::to_string(r);
      o.s = pt::venue::side::buy;
      o.type = pt::venue::order_type::market;
      o.qty = decimal::parse("0.01");
      venue.place_order(o);
      for (int i = 0; i < 500 && position().is_zero(); ++i) std::this_thread::sleep_for(2ms);

      const auto t0 = steady::now();
      send_command(bus.nc, "ctl.killswitch.trigger");
      if (bus.wait([](const std::string& s, const json& b) { return s == "risk.killswitch" && b.value("active", false); }, 10s))
        to_risk.v.push_back(ms_since(t0));
      else
        ++failures;
      if (bus.wait([](const std::string& s, const json& b) { return s.rfind("exec.order.", 0) == 0 && b.value("reason", "") == "kill switch"; }, 10s))
        to_exec.v.push_back(ms_since(t0));
      else
        ++failures;
      bool flat = false;
      while (ms_since(t0) < 10'000 && !(flat = position().is_zero())) std::this_thread::sleep_for(2ms);
      if (flat) to_flat.v.push_back(ms_since(t0));
      else ++failures;

      send_command(bus.nc, "ctl.killswitch.reset");
      bus.wait([](const std::string& s, const json& b) { return s == "risk.killswitch" && !b.value("active", true); }, 10s);
      std::this_thread::sleep_for(50ms);  // execution has the reset before the next round
    }
    flooding = false;
    const double secs = std::chrono::duration<double>(steady::now() - flood_start).count();
    const char* mode = under_flood ? "flood" : "quiet";
    to_risk.print(mode, "risk");
    to_exec.print(mode, "exec");
    to_flat.print(mode, "flat");
    if (under_flood)
      std::printf("  flood: %.0f md messages/s published for %.1f s\n", static_cast<double>(flood_sent - sent_before) / secs, secs);
  }
  quit = true;
  flood.join();
  if (failures) std::printf("rounds with a stage missing: %d (risk log %s/risk.log, execution log %s/execution.log)\n", failures,
                            dir.c_str(), dir.c_str());
  return failures ? 1 : 0;
}
