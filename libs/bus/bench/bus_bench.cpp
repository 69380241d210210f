// Request/reply round trip over loopback: through the bus (the CAF path a service uses, and the
// blocking call) beside raw nats.c with the same connection options, in the same run, against
// a private nats-server. Prints p50/p99/p99.9. `--quick`: a few iterations (ctest smoke).
#include "bus/bus.hpp"
#include "core/log.hpp"
#include "testing/servers.hpp"

#include <caf/all.hpp>
#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using clk = std::chrono::steady_clock;
namespace bus = pt::bus;

namespace {

const char* subject = "ctl.supervisor.status";

json request_body() { return {{"request_id", "bench-1"}, {"requested_by", "bench"}}; }

json reply_body() {
  json services = json::array();
  for (const char* n : {"marketdata", "signal", "risk", "execution", "monitoring"})
    services.push_back({{"name", n}, {"state", "running"}, {"pid", 4242}, {"restarts", 0}, {"critical", true},
                        {"last_heartbeat", "2026-11-21T10:00:00.123Z"}});
  return {{"mode", "spawn"}, {"ts", "2026-11-21T10:00:00.123456Z"}, {"services", services}};
}

struct stats {
  std::string name;
  size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, mean = 0;
};

stats summarize(std::string name, std::vector<double> us) {
  stats s;
  s.name = std::move(name);
  s.n = us.size();
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * static_cast<double>(us.size())))]; };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  double sum = 0;
  for (double v : us) sum += v;
  s.mean = sum / static_cast<double>(us.size());
  return s;
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) {
    std::fprintf(stderr, "bus_bench: %s: %s\n", what, natsStatus_GetText(s));
    std::exit(1);
  }
}

// ---- raw nats.c ----
struct raw_responder {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  std::string reply;
};

void on_raw_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* r = static_cast<raw_responder*>(closure);
  natsConnection_Publish(nc, natsMsg_GetReply(msg), r->reply.data(), static_cast<int>(r->reply.size()));
  natsMsg_Destroy(msg);
}

natsConnection* raw_connect(const std::string& url, bool send_asap) {
  natsOptions* o = nullptr;
  check(natsOptions_Create(&o), "options");
  natsOptions_SetURL(o, url.c_str());
  natsOptions_SetSendAsap(o, send_asap);
  natsConnection* nc = nullptr;
  check(natsConnection_Connect(&nc, o), "connect");
  natsOptions_Destroy(o);
  return nc;
}

stats run_raw(const std::string& url, bool send_asap, size_t warmup, size_t n, const char* name) {
  raw_responder resp;
  resp.reply = reply_body().dump();
  resp.nc = raw_connect(url, send_asap);
  check(natsConnection_Subscribe(&resp.sub, resp.nc, subject, on_raw_request, &resp), "subscribe");
  check(natsConnection_Flush(resp.nc), "flush");
  natsConnection* req = raw_connect(url, send_asap);
  auto body = request_body().dump();
  std::vector<double> us;
  us.reserve(n);
  for (size_t i = 0; i < warmup + n; ++i) {
    natsMsg* reply = nullptr;
    auto t0 = clk::now();
    check(natsConnection_Request(&reply, req, subject, body.data(), static_cast<int>(body.size()), 2000), "request");
    auto t1 = clk::now();
    natsMsg_Destroy(reply);
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  natsSubscription_Unsubscribe(resp.sub);
  natsSubscription_Destroy(resp.sub);
  natsConnection_Destroy(req);
  natsConnection_Destroy(resp.nc);
  return summarize(name, std::move(us));
}

// ---- through the bus ----
caf::actor bus_responder(caf::actor_system& sys, caf::actor bus_actor) {
  // Arguments, not captures: CAF 0.17.6 trips UBSan when a spawned function has no extra argument.
  return sys.spawn(
      [](caf::event_based_actor*, caf::actor bus_actor) -> caf::behavior {
        auto reply = reply_body();
        return {[bus_actor, reply](const bus::envelope& e) { bus::reply(bus_actor, e, reply); }};
      },
      bus_actor);
}

struct actor_run {
  caf::actor bus_actor;
  size_t warmup = 0, n = 0, i = 0;
  std::vector<double> us;
  clk::time_point t0;
  std::promise<std::string> done;  // "" or an error
};

void next_request(caf::event_based_actor* self, std::shared_ptr<actor_run> st) {
  if (st->i == st->warmup + st->n) {
    st->done.set_value("");
    self->quit();
    return;
  }
  st->t0 = clk::now();
  self->request(st->bus_actor, caf::infinite, bus::request_atom::value, std::string{subject}, request_body(),
                caf::timespan{2s})
      .then(
          [self, st](const bus::envelope&) {
            auto t1 = clk::now();
            if (st->i++ >= st->warmup) st->us.push_back(std::chrono::duration<double, std::micro>(t1 - st->t0).count());
            next_request(self, st);
          },
          [self, st](caf::error& e) {
            st->done.set_value(bus::describe(e));
            self->quit();
          });
}

stats run_bus_actor(caf::actor_system& sys, bus::bus& client, size_t warmup, size_t n) {
  auto st = std::make_shared<actor_run>();
  st->bus_actor = client.actor();
  st->warmup = warmup;
  st->n = n;
  st->us.reserve(n);
  auto fut = st->done.get_future();
  sys.spawn([](caf::event_based_actor* self, std::shared_ptr<actor_run> st) { next_request(self, st); }, st);
  auto err = fut.get();
  if (!err.empty()) {
    std::fprintf(stderr, "bus_bench: actor request failed: %s\n", err.c_str());
    std::exit(1);
  }
  return summarize("bus: actor -> request_atom (CAF path)", std::move(st->us));
}

stats run_bus_blocking(bus::bus& client, size_t warmup, size_t n) {
  std::vector<double> us;
  us.reserve(n);
  auto body = request_body();
  for (size_t i = 0; i < warmup + n; ++i) {
    auto t0 = clk::now();
    auto r = client.request(subject, body, 2000ms);
    auto t1 = clk::now();
    if (!r) {
      std::fprintf(stderr, "bus_bench: request failed: %s\n", bus::describe(r.error()).c_str());
      std::exit(1);
    }
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return summarize("bus: blocking bus::request", std::move(us));
}

void print(const std::vector<stats>& rows, const stats& raw) {
  std::printf("\n%-44s %8s %10s %10s %10s %10s %9s %9s\n", "round trip (us)", "n", "p50", "p99", "p99.9", "mean",
              "p50/raw", "p99/raw");
  for (const auto& s : rows)
    std::printf("%-44s %8zu %10.1f %10.1f %10.1f %10.1f %8.2fx %8.2fx\n", s.name.c_str(), s.n, s.p50, s.p99, s.p999,
                s.mean, raw.p50 > 0 ? s.p50 / raw.p50 : 0.0, raw.p99 > 0 ? s.p99 / raw.p99 : 0.0);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else {
      std::fprintf(stderr, "usage: bus_bench [--quick]\n");
      return 2;
    }
  }
  pt::log::init("bus_bench", pt::log::level::warn);
  const size_t warmup = quick ? 50 : 2000;
  const size_t n = quick ? 200 : 20000;

  pt::testing::nats_server srv(false);
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  if (!getenv("BUS_BENCH_DEFAULT_SCHEDULER")) bus::tune_scheduler_for_latency(cfg);
  caf::actor_system sys{cfg};

  bus::options o;
  o.url = srv.url();
  o.send_asap = true;  // the request/reply default; raw uses the same below
  o.name = "bench-responder";
  auto server = bus::bus::connect(sys, o);
  o.name = "bench-requester";
  auto client = bus::bus::connect(sys, o);
  if (auto sub = server->subscribe(subject, bus_responder(sys, server->actor())); !sub) {
    std::fprintf(stderr, "bus_bench: subscribe: %s\n", bus::describe(sub.error()).c_str());
    return 1;
  }
  (void)server->flush();

  std::printf("bus_bench: request/reply on %s, request %zu B, reply %zu B, SendAsap on, %zu round trips after %zu warm-up%s\n",
              subject, request_body().dump().size(), reply_body().dump().size(), n, warmup, quick ? " (quick)" : "");
  // Two rounds, each mode in turn, so drift on a noisy machine shows up in all modes alike.
  for (int round = 1; round <= 2; ++round) {
    stats raw = run_raw(srv.url(), true, warmup, n / 2, "raw nats.c (SendAsap)");
    std::vector<stats> rows{raw, run_bus_actor(sys, *client, warmup, n / 2), run_bus_blocking(*client, warmup, n / 2)};
    if (round == 2 && !quick) rows.push_back(run_raw(srv.url(), false, 100, 1000, "raw nats.c, default options (1 ms flusher)"));
    std::printf("round %d", round);
    print(rows, raw);
  }
  return 0;
}
