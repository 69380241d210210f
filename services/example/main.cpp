// example: the smallest service on pt::service. It heartbeats, answers ctl.example.ping, and
// exits 2 with one line on a bad config. `--crash` makes it exit 1 right after start (the
// supervisor's crash-loop tests use it). `--slow-stop` adds an actor that is always 7 s into a
// blocking call (like a venue request with retries), so a SIGTERM waits past the runtime's 5 s
// warning (the shutdown test uses it).
#include "bus/bus.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <thread>

namespace {

struct example_config {
  std::string greeting = "pong";
};

caf::behavior ping_responder(caf::event_based_actor* self, pt::bus::bus* bus, std::string service,
                             example_config cfg) {
  auto answered = std::make_shared<std::uint64_t>(0);
  (void)self;
  return {
      [=](const pt::bus::envelope& e) {
        if (!e.is_request()) return;
        nlohmann::json reply{{"service", service},
                             {"greeting", cfg.greeting},
                             {"answered", ++*answered},
                             {"ts", pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601()}};
        if (e.body.contains("echo")) reply["echo"] = e.body["echo"];
        if (auto err = bus->reply(e, reply)) pt::log::warn("ping reply failed", {{"error", pt::bus::describe(err)}});
      },
  };
}

// Detached: each message blocks its thread for 7 s, then queues the next one. The exit message
// is seen only between two of them. An argument, not none: CAF 0.17 dereferences a null tuple for
// argument-less spawns (UBSan).
caf::behavior slow_actor(caf::event_based_actor* self, std::chrono::seconds busy) {
  self->send(self, caf::atom_value{caf::atom("busy")});
  return {
      [=](caf::atom_value) {
        std::this_thread::sleep_for(busy);
        self->send(self, caf::atom_value{caf::atom("busy")});
      },
  };
}

}  // namespace

int main(int argc, char** argv) {
  example_config cfg;
  pt::service::options opt;
  opt.default_name = "example";
  opt.answer_ping = false;  // its own responder below adds the configured greeting
  opt.flags = {"--crash", "--slow-stop"};
  opt.summary = "heartbeats and answers ctl.example.ping";
  opt.configure = [&](const pt::service::context& ctx) {
    ctx.config.require_only("example", {"greeting"});
    cfg.greeting = ctx.config.get_string("example.greeting", cfg.greeting);
    if (cfg.greeting.empty()) ctx.config.fail("example.greeting", "must not be empty");
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    if (rt.ctx().flag("--crash")) {
      pt::log::error("exiting at once: --crash given");
      rt.request_stop(pt::service::exit_failure);
      return;
    }
    if (rt.ctx().flag("--slow-stop")) rt.manage(rt.system().spawn<caf::detached>(slow_actor, std::chrono::seconds(7)));
    auto responder = rt.system().spawn(ping_responder, &rt.bus(), rt.ctx().name, cfg);
    rt.manage(responder);
    if (auto sub = rt.bus().subscribe("ctl.example.ping", responder); !sub)
      throw std::runtime_error("cannot subscribe ctl.example.ping: " + pt::bus::describe(sub.error()));
  });
}
