// supervisor: runs (or, watch-only, watches) the fleet named in a manifest. Wiring only:
// the rules live in fleet.cpp, the actor in supervisor_actor.cpp.
#include "manifest.hpp"
#include "process.hpp"
#include "service/service.hpp"
#include "supervisor_actor.hpp"

int main(int argc, char** argv) {
  // Before any thread starts, so that only the reaper thread receives SIGCHLD.
  pt::supervisor::block_child_signal();
  pt::supervisor::manifest fleet_manifest;
  pt::service::options opt;
  opt.default_name = "supervisor";
  opt.config_flag = "--manifest";
  opt.config_required = true;
  opt.flags = {"--watch-only"};
  opt.summary = "start, watch and restart the services of a fleet manifest";
  opt.configure = [&](const pt::service::context& ctx) {
    fleet_manifest = pt::supervisor::parse_manifest(ctx.config, ctx.flag("--watch-only"));
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto limit = fleet_manifest.stop_timeout + std::chrono::seconds(2);
    auto sup = pt::supervisor::spawn_supervisor(rt, fleet_manifest);
    rt.manage(sup);
    rt.on_stop([&rt, sup, limit] { pt::supervisor::stop_supervisor(rt, sup, limit); });
  });
}
