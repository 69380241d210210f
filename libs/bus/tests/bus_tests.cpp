// The bus against a real nats-server (JetStream on): delivery to actors, rejection, request/
// reply, queue groups, reconnect, JetStream dedupe and redelivery, counters.
#include "bus/bus.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "testing/log_capture.hpp"
#include "testing/servers.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <nats/nats.h>

#include <condition_variable>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using nlohmann::json;
namespace bus = pt::bus;

namespace {

std::string now_ts() { return "2026-11-21T10:00:00.123456789Z"; }

json heartbeat(const std::string& service, int seq) {
  return {{"service", service}, {"instance", service + "-1"}, {"pid", 1234}, {"seq", seq},
          {"ts", now_ts()},     {"status", "ok"},             {"uptime_s", 1.5}};
}

json alert(int n) {
  return {{"severity", "warning"}, {"source", "test"}, {"code", "TEST_ALERT"},
          {"message", "alert " + std::to_string(n)}, {"ts", now_ts()}, {"details", json::object()}};
}

struct heartbeat_msg {
  std::string service;
  std::int64_t seq = 0;
};
void from_json(const json& j, heartbeat_msg& h) {
  j.at("service").get_to(h.service);
  j.at("seq").get_to(h.seq);
}

// What a collector actor received, readable from the test thread.
struct received {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bus::envelope> messages;
  std::vector<bus::connection_event> events;

  bool wait_messages(size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return messages.size() >= n; });
  }
  bool wait_event(bus::connection_state s, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] {
      for (auto& e : events)
        if (e.state == s) return true;
      return false;
    });
  }
  size_t count() {
    std::lock_guard g(mu);
    return messages.size();
  }
};

// Spawned with arguments, not captures: CAF 0.17.6 dereferences a null shared_ptr<tuple<>>
// when a spawned function takes no extra argument (UBSan aborts on it).
caf::actor collector(caf::actor_system& sys, std::shared_ptr<received> r, bool ack = false) {
  return sys.spawn([](caf::event_based_actor*, std::shared_ptr<received> r, bool ack) -> caf::behavior {
    return {
        [r, ack](const bus::envelope& e) {
          if (ack) (void)e.ack();
          std::lock_guard g(r->mu);
          r->messages.push_back(e);
          r->cv.notify_all();
        },
        [r](const bus::connection_event& ev) {
          std::lock_guard g(r->mu);
          r->events.push_back(ev);
          r->cv.notify_all();
        },
    };
  }, r, ack);
}

// Answers ctl.supervisor.status with a valid reply (or an invalid one when told to).
caf::actor status_responder(caf::actor_system& sys, caf::actor bus_actor) {
  return sys.spawn(
      [](caf::event_based_actor*, caf::actor bus_actor) -> caf::behavior {
        return {
            [bus_actor](const bus::envelope& e) {
              bus::reply(bus_actor, e,
                         {{"mode", "spawn"},
                          {"ts", now_ts()},
                          {"services", json::array({{{"name", "example"}, {"state", "running"}, {"pid", 42}}})}});
            },
        };
      },
      bus_actor);
}

caf::actor_system_config& test_config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    c.set("scheduler.max-threads", 2);
    c.set("logger.verbosity", caf::atom("quiet"));
    return c;
  }();
  return cfg;
}

bus::options opts_for(const pt::testing::nats_server& srv, const std::string& name = "test") {
  bus::options o;
  o.url = srv.url();
  o.name = name;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  return o;
}

using pt::testing::log_capture;

// Publishes raw bytes with plain nats.c, bypassing the bus's outbound validation.
void raw_publish(const std::string& url, const std::string& subject, const std::string& data) {
  natsConnection* nc = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  REQUIRE(natsConnection_Publish(nc, subject.c_str(), data.data(), static_cast<int>(data.size())) == NATS_OK);
  REQUIRE(natsConnection_FlushTimeout(nc, 2000) == NATS_OK);
  natsConnection_Destroy(nc);
}

}  // namespace

TEST_CASE("publish and subscribe deliver validated messages to an actor", "[bus]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  REQUIRE(b->state() == bus::connection_state::connected);
  auto r = std::make_shared<received>();
  auto sub = b->subscribe("health.heartbeat.*", collector(sys, r));
  REQUIRE(sub);
  REQUIRE_FALSE(b->flush());

  for (int i = 0; i < 5; ++i) REQUIRE_FALSE(b->publish("health.heartbeat.example", heartbeat("example", i)));
  bus::publish(b->actor(), "health.heartbeat.other", heartbeat("other", 9));  // actor path
  REQUIRE(r->wait_messages(6));

  std::lock_guard g(r->mu);
  CHECK(r->messages[0].subject == "health.heartbeat.example");
  CHECK(r->messages[0].body == heartbeat("example", 0));
  CHECK_FALSE(r->messages[0].is_request());
  auto hb = r->messages[4].decode<heartbeat_msg>();
  REQUIRE(hb);
  CHECK(hb->service == "example");
  CHECK(hb->seq == 4);
  // A from_json failure is a clear error, not an exception.
  bus::envelope wrong = r->messages[0];
  wrong.body.erase("seq");
  auto bad = wrong.decode<heartbeat_msg>();
  REQUIRE_FALSE(bad);
  CHECK(bus::is(bad.error(), bus::errc::decode_failed));
  CHECK(bus::describe(bad.error()).find("health.heartbeat.example") != std::string::npos);

  auto counters = b->counters();
  CHECK(counters["health.heartbeat.example"].out == 5);
  CHECK(counters["health.heartbeat.example"].in == 5);
  CHECK(counters["health.heartbeat.other"].in == 1);
  CHECK(counters["health.heartbeat.example"].rejected == 0);
  CHECK(counters["health.heartbeat.example"].bytes_in > 0);
}

TEST_CASE("inbound messages that fail JSON, schema or catalog are rejected, counted, logged", "[bus]") {
  pt::testing::nats_server srv;
  log_capture logs;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  auto r = std::make_shared<received>();
  auto target = collector(sys, r);
  REQUIRE(b->subscribe("health.heartbeat.*", target));
  REQUIRE(b->subscribe("nosuch.subject", target));
  REQUIRE_FALSE(b->flush());

  auto wrong_type = heartbeat("svc", 1);
  wrong_type["seq"] = "one";
  auto missing = heartbeat("svc", 2);
  missing.erase("status");
  auto extra = heartbeat("svc", 3);
  extra["surprise"] = true;
  raw_publish(srv.url(), "health.heartbeat.svc", "{not json");
  raw_publish(srv.url(), "health.heartbeat.svc", wrong_type.dump());
  raw_publish(srv.url(), "health.heartbeat.svc", missing.dump());
  raw_publish(srv.url(), "health.heartbeat.svc", extra.dump());
  raw_publish(srv.url(), "nosuch.subject", R"({"a":1})");
  raw_publish(srv.url(), "health.heartbeat.svc", heartbeat("svc", 4).dump());  // the only valid one

  REQUIRE(r->wait_messages(1));
  std::this_thread::sleep_for(100ms);  // a wrongly delivered message would show up by now
  CHECK(r->count() == 1);
  {
    std::lock_guard g(r->mu);
    CHECK(r->messages[0].body["seq"] == 4);
  }
  auto c = b->counters();
  CHECK(c["health.heartbeat.svc"].rejected == 4);
  CHECK(c["health.heartbeat.svc"].in == 1);
  CHECK(c["nosuch.subject"].rejected == 1);
  CHECK(logs.matching({"message rejected", "health.heartbeat.svc", "not valid JSON"}) == 1);
  CHECK(logs.matching({"message rejected", "health.heartbeat.svc", "[seq]"}) == 1);
  CHECK(logs.matching({"message rejected", "health.heartbeat.svc", "status"}) >= 1);
  CHECK(logs.matching({"message rejected", "health.heartbeat.svc", "surprise"}) == 1);
  CHECK(logs.matching({"message rejected", "nosuch.subject", "not in proto/subjects.json"}) == 1);
}

TEST_CASE("outbound messages are validated and never sent when invalid", "[bus]") {
  pt::testing::nats_server srv;
  log_capture logs;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  auto r = std::make_shared<received>();
  REQUIRE(b->subscribe("alerts.*", collector(sys, r)));
  REQUIRE_FALSE(b->flush());

  auto bad = alert(1);
  bad["ts"] = 12345;  // a number where an ISO string is required
  auto err = b->publish("alerts.warning", bad);
  REQUIRE(err);
  CHECK(bus::is(err, bus::errc::schema_violation));
  CHECK(bus::describe(err).find("[ts]") != std::string::npos);
  auto unknown = b->publish("no.such.subject", json::object());
  CHECK(bus::is(unknown, bus::errc::unknown_subject));
  // Price as a JSON number is refused: money travels as decimal strings.
  json fill = {{"fill_id", "f1"}, {"order_id", "o1"}, {"venue", "sim"}, {"symbol", "BTCUSDT"}, {"side", "buy"},
               {"price", 42000.5}, {"qty", "0.1"}, {"fee", "0.01"}, {"fee_asset", "USDT"}, {"liquidity", "taker"},
               {"ts", now_ts()}};
  CHECK(bus::is(b->publish("exec.fill", fill), bus::errc::schema_violation));

  REQUIRE_FALSE(b->publish("alerts.warning", alert(2)));
  REQUIRE(r->wait_messages(1));
  std::this_thread::sleep_for(50ms);
  CHECK(r->count() == 1);
  CHECK(b->counters()["alerts.warning"].rejected == 1);
  CHECK(b->counters()["alerts.warning"].out == 1);
  CHECK(logs.matching({"outbound message rejected", "alerts.warning"}) == 1);
}

TEST_CASE("request/reply: blocking and actor paths, timeout, no responders, invalid reply", "[bus]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto server = bus::bus::connect(sys, opts_for(srv, "responder"));
  auto client = bus::bus::connect(sys, opts_for(srv, "requester"));
  REQUIRE(server->subscribe("ctl.supervisor.status", status_responder(sys, server->actor())));
  auto silent = std::make_shared<received>();
  REQUIRE(server->subscribe("ctl.autonomous.status", collector(sys, silent)));  // never answers
  REQUIRE_FALSE(server->flush());

  SECTION("blocking request gets the validated reply") {
    auto rep = client->request("ctl.supervisor.status", {{"request_id", "r1"}}, 2000ms);
    REQUIRE(rep);
    CHECK(rep->body["mode"] == "spawn");
    CHECK(rep->body["services"][0]["name"] == "example");
    CHECK(client->counters()["ctl.supervisor.status"].out == 1);
    CHECK(client->counters()["ctl.supervisor.status"].in == 1);
    CHECK(server->counters()["ctl.supervisor.status"].in == 1);
    // The responder counts its reply right after sending it, possibly after the client got it.
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (server->counters()["ctl.supervisor.status"].out == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK(server->counters()["ctl.supervisor.status"].out == 1);
  }
  SECTION("actor request gets the reply through the bus actor") {
    caf::scoped_actor self{sys};
    for (int i = 0; i < 3; ++i) {
      bool ok = false;
      self->request(client->actor(), caf::infinite, bus::request_atom::value, std::string{"ctl.supervisor.status"},
                    json::object(), caf::timespan{2000ms})
          .receive([&](const bus::envelope& e) { ok = e.body["services"].size() == 1; },
                   [&](caf::error& e) { FAIL("request failed: " << bus::describe(e)); });
      CHECK(ok);
    }
  }
  SECTION("timeouts are errors on both paths") {
    json cmd = {{"request_id", "r2"}, {"requested_by", "test"}, {"ts", now_ts()}};
    auto t0 = std::chrono::steady_clock::now();
    auto rep = client->request("ctl.autonomous.status", cmd, 200ms);
    REQUIRE_FALSE(rep);
    CHECK(bus::is(rep.error(), bus::errc::timeout));
    CHECK(std::chrono::steady_clock::now() - t0 >= 190ms);
    caf::scoped_actor self{sys};
    bool timed_out = false;
    self->request(client->actor(), caf::infinite, bus::request_atom::value, std::string{"ctl.autonomous.status"},
                  cmd, caf::timespan{150ms})
        .receive([&](const bus::envelope&) { FAIL("unexpected reply"); },
                 [&](caf::error& e) {
                   timed_out = bus::is(e, bus::errc::timeout);
                   CHECK(bus::describe(e).find("ctl.autonomous.status") != std::string::npos);
                 });
    CHECK(timed_out);
    CHECK(silent->wait_messages(2));  // the requests did arrive; nobody answered
  }
  SECTION("no responders fails fast") {
    json cmd = {{"request_id", "r3"}, {"requested_by", "test"}, {"ts", now_ts()}};
    auto rep = client->request("ctl.killswitch.reset", cmd, 2000ms);
    REQUIRE_FALSE(rep);
    CHECK(bus::is(rep.error(), bus::errc::no_responders));
    caf::scoped_actor self{sys};
    bool no_resp = false;
    self->request(client->actor(), caf::infinite, bus::request_atom::value, std::string{"ctl.killswitch.reset"}, cmd,
                  caf::timespan{2000ms})
        .receive([&](const bus::envelope&) {}, [&](caf::error& e) { no_resp = bus::is(e, bus::errc::no_responders); });
    CHECK(no_resp);
  }
  SECTION("an invalid reply is refused at the responder") {
    bus::envelope req;
    req.subject = "ctl.supervisor.status";
    req.reply = "_INBOX.x";
    auto err = server->reply(req, {{"mode", "sideways"}, {"ts", now_ts()}, {"services", json::array()}});
    CHECK(bus::is(err, bus::errc::schema_violation));
    bus::envelope not_request;
    not_request.subject = "ctl.supervisor.status";
    CHECK(server->reply(not_request, json::object()));
  }
}

TEST_CASE("a queue group shares the messages: each member gets some, the total is exact", "[bus]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto b1 = bus::bus::connect(sys, opts_for(srv, "w1"));
  auto b2 = bus::bus::connect(sys, opts_for(srv, "w2"));
  auto pub = bus::bus::connect(sys, opts_for(srv, "pub"));
  auto r1 = std::make_shared<received>();
  auto r2 = std::make_shared<received>();
  REQUIRE(b1->subscribe("alerts.*", collector(sys, r1), "workers"));
  REQUIRE(b2->subscribe("alerts.*", collector(sys, r2), "workers"));
  REQUIRE_FALSE(b1->flush());
  REQUIRE_FALSE(b2->flush());
  constexpr size_t n = 400;
  for (size_t i = 0; i < n; ++i) REQUIRE_FALSE(pub->publish("alerts.info", alert(static_cast<int>(i))));
  REQUIRE_FALSE(pub->flush());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (r1->count() + r2->count() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // no extra copies may arrive
  CHECK(r1->count() + r2->count() == n);
  CHECK(r1->count() > 0);
  CHECK(r2->count() > 0);
}

TEST_CASE("after a server restart the bus reconnects and the same subscription receives again", "[bus]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  std::atomic<int> callback_events{0};
  auto o = opts_for(srv);
  o.on_state = [&](const bus::connection_event&) { ++callback_events; };
  auto sub_bus = bus::bus::connect(sys, o);
  auto pub_bus = bus::bus::connect(sys, opts_for(srv, "pub"));
  auto r = std::make_shared<received>();
  auto target = collector(sys, r);
  sub_bus->watch(target);
  REQUIRE(sub_bus->subscribe("health.heartbeat.*", target));
  REQUIRE_FALSE(sub_bus->flush());
  REQUIRE_FALSE(pub_bus->publish("health.heartbeat.a", heartbeat("a", 1)));
  REQUIRE(r->wait_messages(1));

  srv.stop();
  REQUIRE(r->wait_event(bus::connection_state::disconnected));
  CHECK(sub_bus->state() == bus::connection_state::disconnected);
  // Published while the server is down: held in the reconnect buffer and sent after the
  // reconnect, behind the re-sent subscriptions of the same connection (so it cannot be lost).
  CHECK_FALSE(sub_bus->publish("health.heartbeat.a", heartbeat("a", 2)));
  srv.start();
  REQUIRE(r->wait_event(bus::connection_state::reconnected));
  CHECK(sub_bus->state() == bus::connection_state::reconnected);
  // The subscription is re-sent after the reconnect; wait until both connections are back.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pub_bus->state() != bus::connection_state::reconnected && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE_FALSE(sub_bus->flush());
  REQUIRE_FALSE(pub_bus->publish("health.heartbeat.a", heartbeat("a", 3)));
  REQUIRE(r->wait_messages(3));
  std::lock_guard g(r->mu);
  std::set<int> seqs;
  for (auto& m : r->messages) seqs.insert(m.body["seq"].get<int>());
  CHECK(seqs == std::set<int>{1, 2, 3});
  CHECK(callback_events.load() >= 2);
}

TEST_CASE("connect fails fast with a one-line error when NATS is unreachable", "[bus]") {
  caf::actor_system sys{test_config()};
  bus::options o;
  o.url = "nats://127.0.0.1:" + std::to_string(pt::testing::free_port());
  o.connect_timeout = 500ms;
  try {
    auto b = bus::bus::connect(sys, o);
    FAIL("connect succeeded without a server");
  } catch (const bus::connect_error& e) {
    std::string what = e.what();
    CHECK(what.rfind("bus: cannot connect to " + o.url + ": ", 0) == 0);
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("options come from config with validation", "[bus]") {
  auto doc = pt::config::document::from_string(
      "bus:\n  url: nats://user:sekrit99@127.0.0.1:4333\n  name: svc\n  send_asap: false\n  reconnect_max: 3s\n",
      "test.yaml", {});
  auto o = bus::options_from_config(doc);
  CHECK(o.url == "nats://user:sekrit99@127.0.0.1:4333");
  CHECK(o.name == "svc");
  CHECK_FALSE(o.send_asap);
  CHECK(o.reconnect_max == 3000ms);
  CHECK(pt::log::redact("x sekrit99 y").find("sekrit99") == std::string::npos);
  auto typo = pt::config::document::from_string("bus:\n  urll: nats://x\n", "test.yaml", {});
  CHECK_THROWS_AS(bus::options_from_config(typo), pt::config::error);
  auto bad_url = pt::config::document::from_string("bus:\n  url: http://x\n", "test.yaml", {});
  CHECK_THROWS_AS(bus::options_from_config(bad_url), pt::config::error);
}

TEST_CASE("JetStream: idempotent stream, Nats-Msg-Id dedupe, explicit ack", "[bus][jetstream]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  bus::stream_config sc{"RESEARCH", {"research.jobs"}, true, false, 0s, 120000ms};
  REQUIRE_FALSE(b->ensure_stream(sc));
  REQUIRE_FALSE(b->ensure_stream(sc));  // again: no error

  json job = {{"job_id", "job-1"}, {"kind", "backtest"}, {"params", {{"symbol", "BTCUSDT"}}},
              {"requested_by", "test"}, {"ts", now_ts()}};
  auto a1 = b->js_publish("research.jobs", job, "job-1");
  REQUIRE(a1);
  CHECK(a1->stream == "RESEARCH");
  CHECK_FALSE(a1->duplicate);
  auto a2 = b->js_publish("research.jobs", job, "job-1");
  REQUIRE(a2);
  CHECK(a2->duplicate);
  CHECK(a2->sequence == a1->sequence);
  job["job_id"] = "job-2";
  caf::scoped_actor self{sys};
  bool acked = false;
  self->request(b->actor(), caf::infinite, bus::js_pub_atom::value, std::string{"research.jobs"}, job,
                std::string{"job-2"})
      .receive([&](const bus::js_ack& a) { acked = !a.duplicate && a.sequence == a1->sequence + 1; },
               [&](caf::error& e) { FAIL(bus::describe(e)); });
  CHECK(acked);
  auto bad = job;
  bad.erase("kind");
  CHECK(bus::is(b->js_publish("research.jobs", bad, "job-3").error(), bus::errc::schema_violation));

  auto r = std::make_shared<received>();
  auto sub = b->js_consume({"RESEARCH", "workers", "research.jobs", "", 2000ms, -1, 16, false}, collector(sys, r, true));
  REQUIRE(sub);
  REQUIRE(r->wait_messages(2));
  std::this_thread::sleep_for(100ms);
  std::lock_guard g(r->mu);
  REQUIRE(r->messages.size() == 2);  // job-1 once despite the second publish
  CHECK(r->messages[0].msg_id == "job-1");
  CHECK(r->messages[0].deliveries == 1);
  CHECK(r->messages[0].needs_ack());
  CHECK(r->messages[1].body["job_id"] == "job-2");
}

TEST_CASE("JetStream: the fleet streams can be ensured by every service, again and again", "[bus][jetstream]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  REQUIRE_FALSE(b->ensure_fleet_streams());
  auto other = bus::bus::connect(sys, opts_for(srv));
  REQUIRE_FALSE(other->ensure_fleet_streams());  // a second service starting: same config, no error
  json exit_req = {{"exit_id", "x-1"}, {"correlation_id", "c-1"}, {"strategy", "trend_following"},
                   {"venue", "poloniex"}, {"symbol", "BTC_USDT_PERP"}, {"kind", "close"},
                   {"reason", "time_stop"}, {"ts", now_ts()}};
  auto ack = b->js_publish("trade.exit", exit_req, "x-1");
  REQUIRE(ack);
  CHECK(ack->stream == "TRADE");
}

TEST_CASE("JetStream: an unacked message is redelivered to the next consumer on the durable", "[bus][jetstream]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  bus::consumer_config cc{"COMMANDS", "risk", "trade.proposed", "", 1000ms, -1, 16, false};
  json proposal = {{"proposal_id", "p-1"}, {"signal_id", "s-1"}, {"correlation_id", "c-1"}, {"strategy", "trend"},
                   {"venue", "sim"},       {"symbol", "BTCUSDT"}, {"side", "buy"},           {"order_type", "market"},
                   {"stop_loss", "41000.5"}, {"ts", now_ts()}};
  {
    auto first = bus::bus::connect(sys, opts_for(srv, "first"));
    REQUIRE_FALSE(first->ensure_stream({"COMMANDS", {"trade.proposed"}, false, false, 0s, 120000ms}));
    REQUIRE(first->js_publish("trade.proposed", proposal, "p-1"));
    auto r = std::make_shared<received>();
    auto sub = first->js_consume(cc, collector(sys, r, false));  // receives, never acks, then "dies"
    REQUIRE(sub);
    REQUIRE(r->wait_messages(1));
    {
      std::lock_guard g(r->mu);
      CHECK(r->messages[0].deliveries == 1);
    }
    // Unsubscribing must not delete the durable consumer (nats.c deletes consumers it created).
    REQUIRE_FALSE(first->unsubscribe(*sub));
  }
  auto second = bus::bus::connect(sys, opts_for(srv, "second"));
  auto r = std::make_shared<received>();
  REQUIRE(second->js_consume(cc, collector(sys, r, true)));
  REQUIRE(r->wait_messages(1, 5s));
  {
    std::lock_guard g(r->mu);
    CHECK(r->messages[0].body["proposal_id"] == "p-1");
    CHECK(r->messages[0].deliveries >= 2);
  }
  // Acked now: no further redelivery after ack_wait.
  std::this_thread::sleep_for(1300ms);
  CHECK(r->count() == 1);
}

TEST_CASE("envelopes outliving their bus: reply and ack fail cleanly, even racing its destruction", "[bus]") {
  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  log_capture logs;
  auto b = bus::bus::connect(sys, opts_for(srv, "responder"));
  auto client = bus::bus::connect(sys, opts_for(srv, "requester"));
  REQUIRE_FALSE(b->ensure_stream({"RESEARCH", {"research.jobs"}, true, false, 0s, 120000ms}));
  auto r = std::make_shared<received>();
  REQUIRE(b->subscribe("ctl.supervisor.status", collector(sys, r)));
  REQUIRE(b->js_consume({"RESEARCH", "workers", "research.jobs", "", 2000ms, -1, 16, false}, collector(sys, r)));
  REQUIRE_FALSE(b->flush());
  caf::anon_send(client->actor(), bus::request_atom::value, std::string{"ctl.supervisor.status"},
                 json{{"request_id", "r1"}}, caf::timespan{2000ms});
  json job = {{"job_id", "job-1"}, {"kind", "backtest"}, {"params", json::object()},
              {"requested_by", "test"}, {"ts", now_ts()}};
  REQUIRE(client->js_publish("research.jobs", job, "job-1"));
  REQUIRE(r->wait_messages(2));
  bus::envelope req, delivery;
  {
    std::lock_guard g(r->mu);
    for (auto& m : r->messages) (m.is_request() ? req : delivery) = m;
  }
  REQUIRE(req.is_request());
  REQUIRE(req.origin);
  REQUIRE(delivery.needs_ack());

  // Replies on the request's origin connection from another thread while the bus goes away:
  // the connection must stay valid until the last envelope is gone (ASan checks).
  json answer = {{"mode", "spawn"}, {"ts", now_ts()}, {"services", json::array()}};
  caf::actor bus_actor = b->actor();
  std::atomic<int> sent{0};
  std::atomic<bool> destroyed{false};
  std::thread replier([&] {
    int after = 0;
    while (after < 200) {
      bus::reply(bus_actor, req, answer);
      ++sent;
      if (destroyed) ++after;
    }
  });
  while (sent < 50) std::this_thread::yield();
  b.reset();
  destroyed = true;
  replier.join();

  CHECK(logs.matching({"bus: publish failed", "not_connected"}) >= 1);
  auto err = delivery.ack();
  CHECK(err);
  CHECK(bus::is(err, bus::errc::not_connected));
}

TEST_CASE("control subjects overtake a queue of market data in the same mailbox", "[bus]") {
  CHECK(bus::is_urgent_subject("ctl.killswitch.trigger"));
  CHECK(bus::is_urgent_subject("risk.killswitch"));
  CHECK_FALSE(bus::is_urgent_subject("md.poloniex.BTC_USDT_PERP.mark"));
  CHECK_FALSE(bus::is_urgent_subject("risk.metrics"));

  pt::testing::nats_server srv;
  caf::actor_system sys{test_config()};
  auto b = bus::bus::connect(sys, opts_for(srv));
  // A slow consumer (2 ms per message): 400 heartbeats queue up in its mailbox, then one command.
  struct order_seen {
    std::mutex mu;
    std::condition_variable cv;
    int handled = 0;
    int ctl_at = -1;
  };
  auto seen = std::make_shared<order_seen>();
  auto slow = sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<order_seen> s) -> caf::behavior {
        return {[s](const bus::envelope& e) {
          std::this_thread::sleep_for(2ms);
          std::lock_guard g(s->mu);
          if (e.subject.rfind("ctl.", 0) == 0) s->ctl_at = s->handled;
          ++s->handled;
          s->cv.notify_all();
        }};
      },
      seen);
  REQUIRE(b->subscribe("health.heartbeat.*", slow));
  REQUIRE(b->subscribe("ctl.example.ping", slow));
  REQUIRE_FALSE(b->flush());
  constexpr int flood = 400;
  for (int i = 0; i < flood; ++i) REQUIRE_FALSE(b->publish("health.heartbeat.example", heartbeat("example", i)));
  REQUIRE_FALSE(b->flush());
  std::this_thread::sleep_for(50ms);  // the heartbeats are in the mailbox (the consumer needs ~800 ms)
  REQUIRE_FALSE(b->publish("ctl.example.ping", json{{"request_id", "p1"}}));
  std::unique_lock g(seen->mu);
  REQUIRE(seen->cv.wait_for(g, 10s, [&] { return seen->handled == flood + 1; }));
  INFO("the command was handled after " << seen->ctl_at << " of " << flood << " queued heartbeats");
  // Normal priority would handle it last (at 400); urgent goes at the next mailbox round.
  CHECK(seen->ctl_at >= 0);
  CHECK(seen->ctl_at < flood / 2);
}
