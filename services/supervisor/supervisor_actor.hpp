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

class fleet_ledger;

// Spawns the supervisor actor; it subscribes health.heartbeat.* and ctl.supervisor.status and
// starts the fleet at once. With a ledger (may be null) it records the fleet's events and turns
// the ledger's health into LEDGER_UNAVAILABLE / LEDGER_RECOVERED alerts; call
// ledger->stop() before the actor system goes away (it holds a handle to the actor).
[[nodiscard]] caf::actor spawn_supervisor(service::runtime& rt, manifest m, fleet_ledger* ledger = nullptr);

// Stops every child (SIGTERM, then SIGKILL after stop_timeout) and blocks until all have
// exited or `limit` passed. Returns false on the limit.
bool stop_supervisor(service::runtime& rt, const caf::actor& sup, std::chrono::milliseconds limit);

}  // namespace pt::supervisor
