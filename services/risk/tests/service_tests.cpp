// The risk binary end to end: a private nats-server (JetStream) and PostgreSQL, the service as a
// child process, and a plain nats.c client (no libs/bus) playing execution, marketdata, signal and
// the operator. Expected quantities are computed by hand in the test.
#include "control/control.hpp"
#include "core/time.hpp"
#include "ledger/store.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pt;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using pt::testing::service_process;
using pt::testing::slurp;

struct client {
  natsConnection* nc = nullptr;
  explicit client(const std::string& url) { REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK); }
  ~client() { natsConnection_Destroy(nc); }
  void publish(const std::string& subject, const json& body, const std::string& msg_id = "") {
    natsMsg* m = nullptr;
    const auto data = body.dump();
    REQUIRE(natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size())) == NATS_OK);
    if (!msg_id.empty()) natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id.c_str());
    REQUIRE(natsConnection_PublishMsg(nc, m) == NATS_OK);
    natsMsg_Destroy(m);
    REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  }
  std::optional<json> request(const std::string& subject, const json& body) {
    natsMsg* reply = nullptr;
    const auto data = body.dump();
    if (natsConnection_Request(&reply, nc, subject.c_str(), data.data(), static_cast<int>(data.size()), 5000) != NATS_OK)
      return std::nullopt;
    auto j = json::parse(std::string(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)), nullptr, false);
    natsMsg_Destroy(reply);
    return j;
  }
};

struct reader {
  natsSubscription* sub = nullptr;
  reader(client& c, const std::string& subject) {
    REQUIRE(natsConnection_SubscribeSync(&sub, c.nc, subject.c_str()) == NATS_OK);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    REQUIRE(natsConnection_Flush(c.nc) == NATS_OK);
  }
  ~reader() { natsSubscription_Destroy(sub); }
  std::optional<std::pair<std::string, json>> next(std::chrono::milliseconds t) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, t.count()) != NATS_OK) return std::nullopt;
    std::pair<std::string, json> out{natsMsg_GetSubject(m),
                                     json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false)};
    natsMsg_Destroy(m);
    return out;
  }
  // The first message whose body satisfies pred, within t.
  std::optional<std::pair<std::string, json>> wait_for(std::chrono::milliseconds t, const std::function<bool(const std::string&, const json&)>& pred) {
    const auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
      auto m = next(200ms);
      if (m && pred(m->first, m->second)) return m;
    }
    return std::nullopt;
  }
};

json proposal(const std::string& id, const std::string& side, const std::string& entry, const std::string& stop,
              core::timestamp at) {
  return {{"proposal_id", id}, {"signal_id", id + "-s"}, {"correlation_id", "corr-" + id}, {"strategy", "trend"},
          {"venue", "poloniex"}, {"symbol", "BTC_USDT_PERP"}, {"side", side}, {"order_type", "market"},
          {"entry_price", entry}, {"stop_loss", stop}, {"ts", at.to_iso8601()}};
}

json account(const std::string& equity, core::timestamp at) {
  return {{"venue", "poloniex"}, {"equity", equity}, {"wallet_balance", equity}, {"available", equity},
          {"unrealized_pnl", "0"}, {"margin_used", "0"}, {"ts", at.to_iso8601()}};
}

}  // namespace

TEST_CASE("risk binary: approve with hand-computed size, reject bad stops, idempotent, ledger, kill switch") {
  testing::nats_server nats(true);
  auto& pg = testing::postgres_server::shared();
  const auto db = pg.create_database("risk_service_it");
  const auto dir = testing::make_temp_dir("risk-test");
  const std::string cfg = dir + "/risk.yaml";
  {
    std::ofstream y(cfg);
    y << "bus:\n  url: " << nats.url() << "\n"
      << "risk:\n  venue: poloniex\n  autonomous_at_start: true\n"
      << "  catalog: " << POLYTRADE_SOURCE_DIR << "/docs/markets/poloniex-futures-v3.json\n"
      << "  metrics_interval: 500ms\n  guardian:\n    required: false\n"
      << "ledger:\n  url: " << db << "\n";
  }
  const std::string token = "integration-test-token";
  ::setenv("POLYTRADE_CTL_TOKEN", token.c_str(), 1);
  service_process svc({RISK_BIN, "--config", cfg}, dir + "/risk.log");
  ::unsetenv("POLYTRADE_CTL_TOKEN");

  client c(nats.url());
  reader metrics(c, "risk.metrics");
  reader decisions(c, "risk.decision.>");
  reader kill(c, "risk.killswitch");
  INFO(svc.output());
  // Consumers are up once the metrics timer runs.
  REQUIRE(metrics.next(20s).has_value());

  const auto t0 = core::timestamp::parse_iso8601("2026-03-02T08:00:00Z");
  c.publish("exec.account", account("10000", t0));
  // 15 closed 4h bars, high - low = 1000 around a flat close: ATR(14) = 1000, so 3 x ATR = 3000.
  for (int i = 0; i < 15; ++i) {
    const auto open = t0 - std::chrono::hours(4 * (15 - i));
    c.publish("md.poloniex.btc_usdt_perp.bar.4h",
              {{"venue", "poloniex"}, {"symbol", "BTC_USDT_PERP"}, {"tf", "4h"}, {"open_ts", open.to_iso8601()},
               {"close_ts", (open + 4h).to_iso8601()}, {"open", "50000"}, {"high", "50500"}, {"low", "49500"},
               {"close", "50000"}, {"volume", "10"}, {"closed", true}});
  }
  c.publish("md.poloniex.btc_usdt_perp.funding", {{"venue", "poloniex"}, {"symbol", "BTC_USDT_PERP"}, {"ts", t0.to_iso8601()},
                                                  {"rate", "0.0001"}, {"next_funding_ts", (t0 + 8h).to_iso8601()}});
  REQUIRE(metrics.wait_for(10s, [](const std::string&, const json& m) { return m.value("equity", "") == "10000"; }));
  std::this_thread::sleep_for(300ms);  // the bars and funding behind the account on the same connection

  auto decision_for = [&](const std::string& pid) {
    return decisions.wait_for(10s, [&](const std::string&, const json& d) { return d.value("proposal_id", "") == pid; });
  };

  // Approved: 1 % x 10000 = 100 quote at risk; / (50000 - 49300) = 0.142857 BTC; / 0.001 BTC per
  // contract (docs/markets ctVal) = 142.857 contracts, down to the 1-contract lot: 142.
  const auto p1 = proposal("it-p1", "buy", "50000", "49300", t0);
  c.publish("trade.proposed", p1, "it-p1");
  auto d1 = decision_for("it-p1");
  REQUIRE(d1);
  CHECK(d1->first == "risk.decision.approved");
  CHECK(d1->second["quantity"] == "142");
  CHECK(d1->second["decision_id"] == "d-it-p1");
  CHECK(d1->second["risk_amount"] == "99.4");  // 142 x 0.001 x 700

  // Redelivery after the equity doubled: a fresh decision would size 285; the decision taken stands.
  // This one answers an exec.account.sync: the metrics name it (a lockstep conductor waits for that).
  auto synced = account("20000", t0 + 1s);
  synced["sync_id"] = "paperrun-1-7";
  c.publish("exec.account", synced);
  auto m20 = metrics.wait_for(10s, [](const std::string&, const json& m) { return m.value("equity", "") == "20000"; });
  REQUIRE(m20);
  CHECK(m20->second.value("account_sync_id", "") == "paperrun-1-7");
  c.publish("trade.proposed", p1, "it-p1-again");  // another Msg-Id: the stream stores it, the consumer gets it again
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end) {
    auto m = decisions.next(200ms);
    if (m && m->second.value("proposal_id", "") == "it-p1") {
      CHECK(m->first == "risk.decision.approved");
      CHECK(m->second["quantity"] == "142");
    }
  }

  // Stop on the wrong side, and stop further than 3 x ATR (3500 > 3000). (it-p1's approved entry
  // is still pending - execution never reported it - so POSITION_LIMIT fails first; the stop
  // checks must fail too.)
  auto failed_check = [](const json& d, const std::string& code) {
    for (const auto& ch : d.at("checks"))
      if (ch.at("code") == code) return !ch.at("passed").get<bool>();
    return false;
  };
  c.publish("trade.proposed", proposal("it-p2", "buy", "50000", "51000", t0), "it-p2");
  auto d2 = decision_for("it-p2");
  REQUIRE(d2);
  CHECK(d2->first == "risk.decision.rejected");
  CHECK(failed_check(d2->second, "STOP_WRONG_SIDE"));
  c.publish("trade.proposed", proposal("it-p3", "buy", "50000", "46500", t0), "it-p3");
  auto d3 = decision_for("it-p3");
  REQUIRE(d3);
  CHECK(failed_check(d3->second, "STOP_TOO_FAR"));

  // Kill switch: a signed command is accepted, the same body replayed is refused.
  const auto cmd = control::make_command(token, "ctl.killswitch.trigger", "integration-test", "test", core::system_clock::instance().now());
  auto r1 = c.request("ctl.killswitch.trigger", cmd);
  REQUIRE(r1);
  CHECK((*r1)["ok"] == true);
  auto k = kill.next(5s);
  REQUIRE(k);
  CHECK(k->second["active"] == true);
  auto r2 = c.request("ctl.killswitch.trigger", cmd);
  REQUIRE(r2);
  CHECK((*r2)["ok"] == false);
  CHECK((*r2)["message"].get<std::string>().find("replayed") != std::string::npos);
  // Unsigned: refused.
  auto unsigned_cmd = cmd;
  unsigned_cmd.erase("signature");
  auto r3 = c.request("ctl.killswitch.reset", unsigned_cmd);
  REQUIRE(r3);
  CHECK((*r3)["ok"] == false);

  c.publish("trade.proposed", proposal("it-p4", "buy", "50000", "49300", t0 + 2s), "it-p4");
  auto d4 = decision_for("it-p4");
  REQUIRE(d4);
  CHECK(d4->first == "risk.decision.rejected");
  CHECK(d4->second["reason_code"] == "TRADING_STATE");

  // The ledger: one RiskApproved for d-it-p1 (not two), the rejections, the kill switch and
  // every control command audited without its signature.
  ledger::store st(db);
  int approved_p1 = 0, rejected = 0, killed = 0, audits = 0;
  bool signature_leaked = false;
  st.replay(1, [&](const ledger::event& e) {
    auto p = json::parse(e.payload);
    if (e.type == ledger::event_type::risk_approved && p.value("decision_id", "") == "d-it-p1") {
      ++approved_p1;
      CHECK(p["quantity"] == "142");
    }
    if (e.type == ledger::event_type::risk_rejected) ++rejected;
    if (e.type == ledger::event_type::kill_switch_triggered) ++killed;
    if (e.type == ledger::event_type::control_command_received) {
      ++audits;
      if (e.payload.find(cmd["signature"].get<std::string>()) != std::string::npos) signature_leaked = true;
      if (e.payload.find(token) != std::string::npos) signature_leaked = true;
    }
  });
  CHECK(approved_p1 == 1);
  CHECK(rejected == 3);
  CHECK(killed == 1);
  CHECK(audits == 3);
  CHECK_FALSE(signature_leaked);
  CHECK(svc.stop() == 0);

  // Restart: the decisions taken, the latched kill switch and the day's equity base come back
  // from the ledger.
  while (metrics.next(300ms)) {
  }
  while (decisions.next(100ms)) {
  }
  ::setenv("POLYTRADE_CTL_TOKEN", token.c_str(), 1);
  service_process again({RISK_BIN, "--config", cfg}, dir + "/risk2.log");
  ::unsetenv("POLYTRADE_CTL_TOKEN");
  INFO(again.output());
  REQUIRE(metrics.wait_for(20s, [](const std::string&, const json& m) { return m.value("state", "") == "kill_switch"; }));
  // Same UTC day as the 10000 opening: the base stays 10000 (a reset would make it 19000).
  c.publish("exec.account", account("19000", t0 + 3s));
  auto m = metrics.wait_for(10s, [](const std::string&, const json& m) { return m.value("equity", "") == "19000"; });
  REQUIRE(m);
  CHECK(m->second["day_open_equity"] == "10000");
  CHECK(m->second["peak_equity"] == "20000");
  CHECK(m->second["daily_pnl"] == "9000");
  // The proposal approved before the restart is redelivered: same decision, not a new one (a new
  // one would be rejected TRADING_STATE under the kill switch).
  c.publish("trade.proposed", p1, "it-p1-after-restart");
  auto d1b = decision_for("it-p1");
  REQUIRE(d1b);
  CHECK(d1b->first == "risk.decision.approved");
  CHECK(d1b->second["quantity"] == "142");
  c.publish("trade.proposed", proposal("it-p5", "buy", "50000", "49300", t0 + 4s), "it-p5");
  auto d5 = decision_for("it-p5");
  REQUIRE(d5);
  CHECK(d5->second["reason_code"] == "TRADING_STATE");
  CHECK(again.stop() == 0);
}

// The operator's tool end to end: ptctl signs with POLYTRADE_CTL_TOKEN, risk verifies; a wrong
// token is refused (exit 1), no token is a usage error (exit 2), and the kill switch really latches.
TEST_CASE("ptctl signs operator commands that risk accepts and a wrong or missing token is refused") {
  testing::nats_server nats(true);
  auto& pg = testing::postgres_server::shared();
  const auto db = pg.create_database("risk_ptctl_it");
  const auto dir = testing::make_temp_dir("risk-ptctl");
  const std::string cfg = dir + "/risk.yaml";
  {
    std::ofstream y(cfg);
    y << "bus:\n  url: " << nats.url() << "\n"
      << "risk:\n  venue: poloniex\n  autonomous_at_start: true\n"
      << "  catalog: " << POLYTRADE_SOURCE_DIR << "/docs/markets/poloniex-futures-v3.json\n"
      << "  metrics_interval: 300ms\n  guardian:\n    required: false\n"
      << "ledger:\n  url: " << db << "\n";
  }
  const std::string token = "ptctl-test-token";
  ::setenv("POLYTRADE_CTL_TOKEN", token.c_str(), 1);
  service_process svc({RISK_BIN, "--config", cfg}, dir + "/risk.log");
  client c(nats.url());
  reader metrics(c, "risk.metrics");
  reader kill(c, "risk.killswitch");
  INFO(svc.output());
  REQUIRE(metrics.next(20s).has_value());
  int n = 0;
  auto ptctl = [&](std::vector<std::string> args, const char* token_env) {
    if (token_env) ::setenv("POLYTRADE_CTL_TOKEN", token_env, 1);
    else ::unsetenv("POLYTRADE_CTL_TOKEN");
    args.insert(args.begin(), {PTCTL_BIN, "--url", nats.url(), "--wait", "5s"});
    const std::string log = dir + "/ptctl" + std::to_string(++n) + ".log";
    service_process p(args, log);
    const int code = p.exited(15s);
    return std::make_pair(code, p.output());
  };
  auto [code1, out1] = ptctl({"autonomous", "disable", "--reason", "drill"}, token.c_str());
  INFO(out1);
  CHECK(code1 == 0);
  CHECK(out1.find("\"ok\": true") != std::string::npos);
  REQUIRE(metrics.wait_for(10s, [](const std::string&, const json& m) { return m.value("state", "") == "autonomous_off"; }));
  auto [code2, out2] = ptctl({"killswitch", "trigger", "--reason", "drill"}, "not-the-token");
  INFO(out2);
  CHECK(code2 == 1);
  CHECK(out2.find("\"ok\": false") != std::string::npos);
  CHECK_FALSE(kill.next(500ms).has_value());
  auto [code3, out3] = ptctl({"killswitch", "trigger", "--reason", "drill"}, nullptr);
  INFO(out3);
  CHECK(code3 == 2);
  CHECK(out3.find("POLYTRADE_CTL_TOKEN") != std::string::npos);
  auto [code4, out4] = ptctl({"killswitch", "trigger", "--reason", "drill"}, token.c_str());
  INFO(out4);
  CHECK(code4 == 0);
  auto k = kill.next(5s);
  REQUIRE(k);
  CHECK(k->second.value("active", false) == true);
  CHECK(out4.find(token) == std::string::npos);
  ::unsetenv("POLYTRADE_CTL_TOKEN");
  CHECK(svc.stop() == 0);
}
