#pragma once
// The fleet's life in the ledger: SystemStarted, ServiceStarted, ServiceExited,
// ServiceRestarted, ServiceHeldDown, AlertRaised, SafeStopRequested, SystemStopped.
// Plain C++ (no CAF, no pqxx in this header): the actor calls record(), which queues on a
// ledger::appender and returns at once; the appender writes on its own thread and buffers
// through PostgreSQL outages, so the supervisor never waits on the database.
//
// Streams: "fleet.<service>" for a service's events, "fleet" for the system's. Every event of
// one supervisor run carries the run's id (the SystemStarted event_id) as correlation_id; an
// event caused by a death names the ServiceExited event as causation_id.
#include "ledger/event.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace pt::config {
class document;
}
namespace pt::ledger {
class appender;
struct config;
}

namespace pt::supervisor {

struct ledger_health {
  bool healthy = true;
  std::chrono::milliseconds unavailable_for{0};  // how long writes have been failing
  std::size_t queued = 0;                        // events buffered in memory
  std::string last_error;                        // redacted
};

class fleet_ledger {
 public:
  // Connects and migrates; throws ledger::unavailable (one line, password redacted).
  explicit fleet_ledger(const ledger::config& cfg);
  ~fleet_ledger();  // stop(10 s)
  fleet_ledger(const fleet_ledger&) = delete;
  fleet_ledger& operator=(const fleet_ledger&) = delete;

  // Null when no ledger is configured (ledger.url / DATABASE_URL absent or empty). Throws
  // config::error for bad ledger.* keys and ledger::unavailable when PostgreSQL is unreachable.
  [[nodiscard]] static std::unique_ptr<fleet_ledger> open(const config::document& doc);

  // Queues one event on "fleet.<service>" ("fleet" when service is empty); returns its event_id.
  // Never blocks: if the queue is full (a long outage) the event is logged as NOT recorded.
  std::string record(ledger::event_type type, const std::string& service, const nlohmann::json& payload,
                     const std::string& causation = {});
  // SystemStopped, at most once per run (the actor on a clean stop, main when the stop timed out).
  void record_stopped(const nlohmann::json& payload);

  // Called on the appender's thread when the ledger turns unhealthy, every alert_repeat while it
  // stays so, and once when writes succeed again. nullptr clears it. Thread-safe.
  void on_health(std::function<void(const ledger_health&)> fn);
  [[nodiscard]] ledger_health health() const;
  [[nodiscard]] std::uint64_t lost() const { return lost_; }
  [[nodiscard]] const std::string& run_id() const { return run_id_; }
  [[nodiscard]] const std::string& url() const;  // with its password: log config::redact_url(url())

  // Clears the health hook, flushes for up to `timeout` and stops the writer. Returns how many
  // events could not be written (the appender logs them). Idempotent.
  std::size_t stop(std::chrono::milliseconds timeout);
  // stop(timeout), then writes every event that could not be written as one JSON line each to
  // <spill_dir>/supervisor-unwritten-<run_id>.jsonl and logs an error naming the file and the
  // count (if the file cannot be written, each event is logged instead). Call once nothing
  // records any more. Returns how many events were not written to the ledger.
  std::size_t finish(std::chrono::milliseconds timeout, const std::string& spill_dir);

 private:
  std::unique_ptr<ledger::appender> appender_;
  std::string run_id_;
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<bool> stopped_recorded_{false};
  mutable std::mutex mu_;
  std::function<void(const ledger_health&)> on_health_;
};

}  // namespace pt::supervisor
