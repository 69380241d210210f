// supervisor: runs (or, watch-only, watches) the fleet named in a manifest. Wiring only:
// the rules live in fleet.cpp, the actor in supervisor_actor.cpp, the ledger record in
// fleet_ledger.cpp.
#include "core/config.hpp"
#include "fleet_ledger.hpp"
#include "ledger/event.hpp"
#include "manifest.hpp"
#include "process.hpp"
#include "service/service.hpp"
#include "supervisor_actor.hpp"

#include <cstdlib>

int main(int argc, char** argv) {
  // Before any thread starts, so that only the reaper thread receives SIGCHLD.
  pt::supervisor::block_child_signal();
  pt::supervisor::manifest fleet_manifest;
  std::unique_ptr<pt::supervisor::fleet_ledger> ledger;
  pt::service::options opt;
  opt.default_name = "supervisor";
  opt.config_flag = "--manifest";
  opt.config_required = true;
  opt.flags = {"--watch-only"};
  opt.summary = "start, watch and restart the services of a fleet manifest";
  opt.configure = [&](const pt::service::context& ctx) {
    fleet_manifest = pt::supervisor::parse_manifest(ctx.config, ctx.flag("--watch-only"));
    // The ledger connects before NATS, so an unreachable PostgreSQL is one line and exit 4.
    pt::log::init(ctx.name, ctx.log_level);
    try {
      ledger = pt::supervisor::fleet_ledger::open(ctx.config);
    } catch (const pt::ledger::unavailable& e) {
      throw pt::service::startup_error(pt::service::exit_ledger_unreachable,
                                       std::string(e.what()) + " (ledger.url from " +
                                           ctx.config.source_of("ledger.url") + ")");
    }
  };
  int code = pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    if (ledger)
      pt::log::info("ledger: recording fleet events",
                    {{"url", pt::config::redact_url(ledger->url())}, {"run_id", ledger->run_id()}});
    else
      pt::log::info("no ledger configured (ledger.url / DATABASE_URL unset): fleet events are not recorded");
    auto limit = fleet_manifest.stop_timeout + std::chrono::seconds(2);
    auto sup = pt::supervisor::spawn_supervisor(rt, fleet_manifest, ledger.get());
    rt.manage(sup);
    rt.on_stop([&rt, &ledger, sup, limit] {
      bool clean = pt::supervisor::stop_supervisor(rt, sup, limit);
      if (!ledger) return;
      if (!clean)  // the actor records it on a clean stop
        ledger->record_stopped({{"supervisor", rt.ctx().name}, {"children_stopped", false}});
      // Before the actor system goes: the health hook holds a handle to the actor.
      ledger->on_health(nullptr);
    });
  });
  // run() has returned, so the actor system and the supervisor actor are gone: nothing records
  // any more and the ledger can drain. What it cannot write in time goes to a spill file.
  if (ledger) {
    std::string dir = fleet_manifest.spill_dir;
    if (dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      dir = tmp && *tmp ? tmp : "/tmp";
    }
    ledger->finish(fleet_manifest.ledger_drain, dir);
  }
  return code;
}
