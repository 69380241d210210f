#pragma once
// The fleet manifest: which services the supervisor runs or watches, and how it restarts them.
// Parsed from the supervisor's YAML config (the `supervisor:`, `defaults:` and `services:`
// sections); every error is a pt::config::error naming the key and its file:line, e.g.
//   config: services[2].name (fleet.yaml:14): duplicate service name 'example'
#include "core/config.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace pt::supervisor {

using std::chrono::milliseconds;

struct restart_policy {
  milliseconds backoff_initial{100};
  milliseconds backoff_max{10'000};
  double backoff_multiplier = 2.0;
  int budget_restarts = 5;             // this many deaths inside budget_window -> held down
  milliseconds budget_window{60'000};
  milliseconds hold_down{0};           // 0: held down until the supervisor restarts
};

struct service_spec {
  std::string name;
  std::string command;                 // a path, or a bare name looked up on PATH
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (and overriding) the supervisor's env
  std::string cwd;                     // empty: the supervisor's working directory
  bool critical = false;               // staying down triggers ctl.trading.safe_stop
  milliseconds heartbeat_timeout{3'000};   // 0: the service does not heartbeat
  milliseconds start_timeout{10'000};      // spawn -> first heartbeat
  restart_policy restart;
};

struct manifest {
  bool watch_only = false;             // Railway: the platform restarts, we only watch
  milliseconds tick{50};
  milliseconds stop_timeout{3'000};    // SIGTERM -> SIGKILL grace
  milliseconds critical_down_after{10'000};
  milliseconds ledger_drain{5'000};    // at exit: how long the ledger may take to write what is queued
  std::string spill_dir;               // where events the ledger could not write go; empty: $TMPDIR or /tmp
  std::vector<service_spec> services;
};

// Reads and validates the manifest sections of `doc`; `watch_only_flag` (the CLI's
// --watch-only) forces watch mode whatever `supervisor.watch_only` says. Throws config::error.
[[nodiscard]] manifest parse_manifest(const config::document& doc, bool watch_only_flag = false);

}  // namespace pt::supervisor
