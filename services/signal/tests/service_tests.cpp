// The signal binary end to end: a private nats-server (JetStream), the service as a child process,
// and a plain nats.c client (no CAF, no libs/bus: an independent reader and writer). The recorded
// BTCUSDT year (1h grouped into 4h by hand, and 1d) is published on md.sim.btcusdt.bar.4h / .1d
// in close-time order; the trade.proposed messages are read back through a JetStream consumer.
// The expected proposal bars come from running libs/strategy directly over the same bars (the
// service must add nothing and lose nothing); the ids from the contracts' format.
#include "helpers.hpp"
#include "strategy/strategy.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"
#include "testing/venue_sim_process.hpp"

#include <fcntl.h>
#include <nats/nats.h>

#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pt::signal_service::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace st = pt::strategy;

namespace {

using pt::testing::service_process;
using pt::testing::slurp;

struct nats_client {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* proposals = nullptr;  // JetStream consumer on trade.proposed
  natsSubscription* signals = nullptr;    // core subscription on signal.trend_following.btcusdt
  natsSubscription* exits = nullptr;      // JetStream consumer on trade.exit

  explicit nats_client(const std::string& url) { REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK); }
  ~nats_client() {
    natsSubscription_Destroy(proposals);
    natsSubscription_Destroy(signals);
    natsSubscription_Destroy(exits);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
  void subscribe() {
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "TRADE";
    so.Config.DeliverPolicy = js_DeliverAll;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    REQUIRE(js_SubscribeSync(&proposals, js, "trade.proposed", nullptr, &so, &jerr) == NATS_OK);
    REQUIRE(js_SubscribeSync(&exits, js, "trade.exit", nullptr, &so, &jerr) == NATS_OK);
    REQUIRE(natsConnection_SubscribeSync(&signals, nc, "signal.trend_following.btcusdt") == NATS_OK);
    natsSubscription_SetPendingLimits(signals, -1, -1);
    REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  }
  void publish(const std::string& subject, const json& body) {
    const auto text = body.dump();
    REQUIRE(natsConnection_Publish(nc, subject.c_str(), text.data(), static_cast<int>(text.size())) == NATS_OK);
  }
  // One JetStream delivery (acked): its Nats-Msg-Id and body.
  std::optional<std::pair<std::string, json>> next_proposal(std::chrono::milliseconds t) { return next_js(proposals, t); }
  std::optional<std::pair<std::string, json>> next_exit(std::chrono::milliseconds t) { return next_js(exits, t); }
  std::optional<std::pair<std::string, json>> next_js(natsSubscription* sub, std::chrono::milliseconds t) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, t.count()) != NATS_OK) return std::nullopt;
    const char* id = nullptr;
    std::string msg_id = natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id ? id : "";
    std::pair<std::string, json> out{msg_id, json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false)};
    natsMsg_Ack(m, nullptr);
    natsMsg_Destroy(m);
    return out;
  }
  // Waits for the signal with this id; false on timeout.
  bool wait_signal(const std::string& signal_id, std::chrono::milliseconds t) {
    const auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, signals, 200) != NATS_OK) continue;
      const auto body = json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false);
      natsMsg_Destroy(m);
      if (body.is_object() && body.value("signal_id", "") == signal_id) return true;
    }
    return false;
  }
};

void publish_bars(nats_client& c, const std::vector<rec_bar>& bars) {
  for (const auto& b : bars) c.publish("md.sim.btcusdt.bar." + b.tf, bar_json("sim", "BTCUSDT", b));
  REQUIRE(natsConnection_Flush(c.nc) == NATS_OK);
}

std::string write_config(const std::string& dir, const std::string& url, const std::string& strategies) {
  const std::string cfg = dir + "/signal.yaml";
  std::ofstream y(cfg);
  y << "bus:\n  url: " << url << "\n"
    << "heartbeat:\n  interval: 1s\n"
    << "signal:\n  venue: sim\n  symbols: [BTCUSDT]\n  strategies: [" << strategies << "]\n";
  return cfg;
}

const std::string tf_params = std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/trend_following.v1.json";

}  // namespace

TEST_CASE("service: recorded bars in, trade.proposed on JetStream with the contract ids, once each") {
  PT_NEED_RECORDED_DATA();
  if (!have_btc_data()) {
    WARN("SKIP: no BTCUSDT_1h.csv / BTCUSDT_1d.csv under " << data_dir());
    return;
  }
  const auto bars = recorded_btc();
  REQUIRE(bars.size() > 2000);
  REQUIRE(bars.back().tf == "4h");

  // Which 4h bars propose, by libs/strategy directly (now = each bar's close).
  std::map<std::string, rec_bar> expected;  // proposal id -> its bar
  bool last_bar_has_signal = false;
  {
    auto s = st::make_strategy(st::load_params_file(tf_params), st::context{"sim", "BTCUSDT"});
    for (const auto& b : bars) {
      const st::bar sb{timestamp::from_millis(b.open_ms), b.open, b.high, b.low, b.close, b.volume};
      const auto tf = b.tf == "4h" ? st::timeframe::h4 : st::timeframe::d1;
      const auto out = s->on_bar(sb, tf, timestamp::from_millis(b.close_ms));
      for (const auto& o : out)
        if (o.proposal) expected.emplace("trend_following-BTCUSDT-4h-" + std::to_string(b.open_ms) + "-p", b);
      if (&b == &bars.back()) last_bar_has_signal = !out.empty();
    }
  }
  REQUIRE(!expected.empty());
  REQUIRE(last_bar_has_signal);  // the sentinel below
  const std::string last_signal_id = "trend_following-BTCUSDT-4h-" + std::to_string(bars.back().open_ms);
  const std::vector<rec_bar> head(bars.begin(), bars.end() - 1);

  pt::testing::nats_server nats(true);
  const auto dir = pt::testing::make_temp_dir("signal-test");
  const auto cfg = write_config(dir, nats.url(), tf_params);

  std::map<std::string, int> got;  // proposal id -> deliveries
  std::size_t messages = 0;
  auto collect = [&](nats_client& c, std::chrono::milliseconds quiet) {
    while (auto m = c.next_proposal(quiet)) {
      ++messages;
      const auto& [msg_id, body] = *m;
      INFO(body.dump());
      REQUIRE(body.is_object());
      CHECK(validate("trade.proposed.json", body) == "");
      CHECK(msg_id == body.at("proposal_id").get<std::string>());
      ++got[msg_id];
      auto it = expected.find(msg_id);
      REQUIRE(it != expected.end());
      const auto entry = decimal::parse(body.at("entry_price").get<std::string>());
      const auto stop = decimal::parse(body.at("stop_loss").get<std::string>());
      CHECK(entry == it->second.close);  // the recorded 4h close
      CHECK(body.at("signal_id") == msg_id.substr(0, msg_id.size() - 2));
      CHECK(body.at("correlation_id") == body.at("signal_id"));
      CHECK(body.at("venue") == "sim");
      CHECK(body.at("symbol") == "BTCUSDT");
      if (body.at("side") == "buy") CHECK(stop < entry);
      else CHECK(stop > entry);
    }
  };

  {
    service_process svc({SIGNAL_BIN, "--config", cfg}, dir + "/signal-1.log");
    REQUIRE(svc.wait_for("\"subscribed\"", 20s));
    nats_client c(nats.url());
    c.subscribe();
    natsSubscription* acks = nullptr;  // signal.processed: one per bar message, naming what it published
    REQUIRE(natsConnection_SubscribeSync(&acks, c.nc, "signal.processed") == NATS_OK);
    natsSubscription_SetPendingLimits(acks, -1, -1);
    REQUIRE(natsConnection_Flush(c.nc) == NATS_OK);

    // A schema-valid but impossible bar (high < low): logged and dropped, the service goes on.
    auto broken = make_rec("4h", bars.front().open_ms, 100, 101, 99, 100);
    broken.high = decimal::parse("90");
    c.publish("md.sim.btcusdt.bar.4h", bar_json("sim", "BTCUSDT", broken));

    publish_bars(c, head);
    // The same bars again (a marketdata restart re-publishes its history), then the last bar.
    publish_bars(c, head);
    publish_bars(c, {bars.back()});
    INFO(svc.output().substr(0, 20000));
    REQUIRE(c.wait_signal(last_signal_id, 60s));
    collect(c, 1500ms);
    {
      std::size_t n_acks = 0;
      std::set<std::string> named;
      natsMsg* m = nullptr;
      while (natsSubscription_NextMsg(&m, acks, 500) == NATS_OK) {
        const auto body = json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false);
        natsMsg_Destroy(m);
        ++n_acks;
        CHECK(validate("signal.processed.json", body) == "");
        for (const auto& id : body.at("published")) named.insert(id.get<std::string>());
      }
      // Every bar message acknowledged (the broken one too), and exactly the proposals named.
      CHECK(n_acks == 2 * head.size() + 2);
      std::set<std::string> want;
      for (const auto& [id, _] : expected) want.insert(id);
      CHECK(named == want);
      natsSubscription_Destroy(acks);
    }
    CHECK(svc.output().find("bad message dropped") != std::string::npos);
    CHECK(svc.output().find("\"level\":\"error\"") == std::string::npos);
    CHECK(svc.stop() == 0);
  }
  CHECK(got.size() == expected.size());
  CHECK(messages == expected.size());  // each proposal once, the re-published bars made none
  for (const auto& [id, n] : got) CHECK(n == 1);

  {
    // A restart sees the same bars as new and proposes again, with the same ids: the server
    // drops them as duplicates (Nats-Msg-Id), so no second distinct id and no second delivery.
    service_process svc({SIGNAL_BIN, "--config", cfg}, dir + "/signal-2.log");
    REQUIRE(svc.wait_for("\"subscribed\"", 20s));
    nats_client c(nats.url());
    c.subscribe();
    const std::size_t before = messages;
    messages = 0;
    got.clear();
    publish_bars(c, bars);
    REQUIRE(c.wait_signal(last_signal_id, 60s));
    collect(c, 1500ms);
    INFO(svc.output().substr(0, 20000));
    CHECK(messages == before);  // the new consumer replays the stream: the same set, once each
    CHECK(got.size() == expected.size());
    CHECK(svc.output().find("duplicate dropped by the server") != std::string::npos);
    CHECK(svc.stop() == 0);
  }
}

TEST_CASE("service: a bad config exits 2 with one line") {
  const auto dir = pt::testing::make_temp_dir("signal-badcfg");
  struct bad_case {
    const char* what;
    std::string strategies;
    std::string extra;
  };
  const std::vector<bad_case> cases{
      {"missing params file", "/nonexistent/trend_following.v1.json", ""},
      {"strategy twice", tf_params + ", " + tf_params, ""},
      {"unknown key", tf_params, "  symbol: BTCUSDT\n"},
  };
  for (const auto& bc : cases) {
    INFO(bc.what);
    const auto cfg = write_config(dir, "nats://127.0.0.1:1", bc.strategies);
    if (!bc.extra.empty()) std::ofstream(cfg, std::ios::app) << bc.extra;
    service_process svc({SIGNAL_BIN, "--config", cfg}, dir + "/bad.log");
    CHECK(svc.exited(10s) == 2);
    const auto out = svc.output();
    INFO(out);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  }
}

TEST_CASE("service: a position on exec.position stops entries and its exits go out on trade.exit") {
  PT_NEED_RECORDED_DATA();
  if (!have_btc_data()) {
    WARN("SKIP: no BTCUSDT_1h.csv / BTCUSDT_1d.csv under " << data_dir());
    return;
  }
  const auto bars = recorded_btc();
  std::set<std::int64_t> opens_4h;
  for (const auto& b : bars)
    if (b.tf == "4h") opens_4h.insert(b.open_ms);

  pt::testing::nats_server nats(true);
  const auto dir = pt::testing::make_temp_dir("signal-pos-test");
  const auto cfg = write_config(dir, nats.url(), tf_params);
  service_process svc({SIGNAL_BIN, "--config", cfg}, dir + "/signal.log");
  REQUIRE(svc.wait_for("\"subscribed\"", 20s));
  nats_client c(nats.url());
  c.subscribe();

  // The runtime answers ctl.signal.ping once started (the container healthcheck asks it).
  {
    json pong;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (pong.is_null() && std::chrono::steady_clock::now() < until) {
      natsMsg* reply = nullptr;
      if (natsConnection_RequestString(&reply, c.nc, "ctl.signal.ping", R"({"echo":"hc"})", 500) == NATS_OK) {
        pong = json::parse(std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))));
        natsMsg_Destroy(reply);
      }
    }
    REQUIRE_FALSE(pong.is_null());
    CHECK(validate("ctl.ping.reply.json", pong) == "");
    CHECK(pong["service"] == "signal");
    CHECK(pong["echo"] == "hc");
  }

  // A long held from the first bar on (never reported flat): entries are proposed only while flat.
  const json pos{{"venue", "sim"},           {"symbol", "BTCUSDT"},
                 {"side", "long"},           {"qty", "0.01"},
                 {"entry_price", bars.front().open.to_string()},
                 {"unrealized_pnl", "0"},    {"realized_pnl", "0"},
                 {"ts", timestamp::from_millis(bars.front().open_ms).to_iso8601()}};
  REQUIRE(validate("exec.position.json", pos) == "");
  const auto text = pos.dump();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  REQUIRE(js_Publish(&ack, c.js, "exec.position.btcusdt", text.data(), static_cast<int>(text.size()), nullptr, &jerr) == NATS_OK);
  jsPubAck_Destroy(ack);
  REQUIRE(svc.wait_for("position update", 10s));

  publish_bars(c, bars);
  REQUIRE(c.wait_signal("trend_following-BTCUSDT-4h-" + std::to_string(bars.back().open_ms), 60s));
  std::size_t exits = 0, closes = 0;
  std::set<std::string> ids;
  while (auto m = c.next_exit(1500ms)) {
    const auto& [msg_id, body] = *m;
    INFO(body.dump());
    CHECK(validate("trade.exit.json", body) == "");
    CHECK(msg_id == body.at("exit_id").get<std::string>());
    CHECK(ids.insert(msg_id).second);
    const std::string prefix = "trend_following-BTCUSDT-4h-";
    REQUIRE(msg_id.rfind(prefix, 0) == 0);
    REQUIRE(msg_id.size() > prefix.size() + 2);
    CHECK(msg_id.substr(msg_id.size() - 2) == "-x");
    CHECK(opens_4h.count(std::stoll(msg_id.substr(prefix.size(), msg_id.size() - prefix.size() - 2))) == 1);
    CHECK(body.at("strategy") == "trend_following");
    CHECK(body.at("symbol") == "BTCUSDT");
    if (body.at("kind") == "move_stop") CHECK(body.contains("new_stop"));
    ++exits;
    closes += body.at("kind") == "close";
  }
  CHECK(exits > 0);
  CHECK(closes > 0);
  CHECK_FALSE(c.next_proposal(500ms));  // held all along: no entry
  INFO(svc.output().substr(0, 20000));
  CHECK(svc.output().find("\"level\":\"error\"") == std::string::npos);
  CHECK(svc.stop() == 0);
}
