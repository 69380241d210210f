#pragma once
// The CAF shell around the fleet core: a timer tick, child exits from the reaper thread,
// heartbeats and status requests from the bus go in; the core's actions come out as
// fork/exec, signals, alerts.<severity>, ctl.trading.safe_stop and log lines.
#include "manifest.hpp"

#include <caf/actor.hpp>

#include <chrono>

namespace pt::service {
class runtime;
}

namespace pt::supervisor {

// Spawns the supervisor actor; it subscribes health.heartbeat.* and ctl.supervisor.status and
// starts the fleet at once.
[[nodiscard]] caf::actor spawn_supervisor(service::runtime& rt, manifest m);

// Stops every child (SIGTERM, then SIGKILL after stop_timeout) and blocks until all have
// exited or `limit` passed. Returns false on the limit.
bool stop_supervisor(service::runtime& rt, const caf::actor& sup, std::chrono::milliseconds limit);

}  // namespace pt::supervisor
