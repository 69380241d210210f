#pragma once
// pt::ledger::appender: a background writer thread in front of a store. Any thread hands it
// events; it batches them (batch_size or flush_interval, whichever comes first) and appends
// each batch in one transaction.
//
// When PostgreSQL is unavailable the events stay buffered and the batch is retried with
// exponential backoff (reconnecting each time). Retrying a batch whose commit outcome was
// unknown is safe: event_id is unique, so rows that did commit come back as duplicates.
// Once writes have failed for longer than unavailable_alert_after the appender turns
// unhealthy: it logs an error (repeated every alert_repeat) and calls on_health, so a service
// can raise an alert and, later, halt trading. The queue is bounded: a full queue blocks the
// caller up to its timeout and then throws ledger::backpressure; nothing is dropped silently.
#include "ledger/config.hpp"
#include "ledger/store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace pt::ledger {

// The queue stayed full for the caller's whole timeout.
class backpressure : public error {
 public:
  using error::error;
};

struct health_report {
  bool healthy = true;
  std::chrono::milliseconds unavailable_for{0};  // how long writes have been failing
  std::size_t buffered = 0;                      // events waiting (queue + batch in flight)
  std::string last_error;                        // redacted
};

struct appender_hooks {
  // Writer thread: when the appender turns unhealthy, every alert_repeat while it stays so,
  // and once when a write succeeds again (healthy = true).
  std::function<void(const health_report&)> on_health;
  // Writer thread: an event PostgreSQL refused for a non-transient reason (it is not retried).
  std::function<void(const event&, const std::string& reason)> on_rejected;
  // Writer thread: after each committed batch.
  std::function<void(const append_result&)> on_appended;
};

struct appender_stats {
  std::uint64_t appended = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t rejected = 0;
  std::uint64_t batches = 0;
  std::uint64_t failed_attempts = 0;
  std::size_t buffered = 0;
  std::int64_t last_seq = 0;
};

class appender {
 public:
  // Connects and migrates before returning; throws ledger::unavailable (one line, password
  // redacted) when PostgreSQL cannot be reached, so a service fails at start.
  explicit appender(config cfg, appender_hooks hooks = {});
  ~appender();  // stop(10 s)
  appender(const appender&) = delete;
  appender& operator=(const appender&) = delete;

  // Validates and queues. Blocks while the queue is full, up to `wait`, then throws
  // ledger::backpressure. Throws ledger::error for an invalid event or after stop().
  void append(event e, std::chrono::milliseconds wait = std::chrono::seconds(1));
  // Never blocks: false when the queue is full.
  [[nodiscard]] bool try_append(event e);

  // Waits until every event queued before the call is stored, found duplicate or rejected.
  // False on timeout (e.g. PostgreSQL is still down).
  bool flush(std::chrono::milliseconds timeout);

  // Flushes for up to `timeout`, then stops the writer. Returns how many events could not be
  // written (each such stop is logged as an error with the count). Idempotent.
  std::size_t stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // After stop(): the events that could not be written, in order (for a spill file).
  [[nodiscard]] std::vector<event> take_unwritten();

  // False once writes have failed for at least unavailable_alert_after.
  [[nodiscard]] bool healthy() const;
  // How long writes have been failing (0 while they succeed).
  [[nodiscard]] std::chrono::milliseconds unavailable_for() const;
  [[nodiscard]] appender_stats stats() const;
  [[nodiscard]] const config& settings() const { return cfg_; }

 private:
  using clock = std::chrono::steady_clock;
  enum class outcome { written, rejected, abandoned };
  struct queued {
    event ev;
    clock::time_point at;
  };
  void run();
  // Writes `batch` (retrying while PostgreSQL is unavailable); on a non-transient error
  // retries event by event and rejects the ones that still fail. Returns how many events
  // were settled (all of them unless abandoned at the stop deadline).
  std::size_t write_batch(std::span<const event> batch);
  outcome attempt(std::span<const event> batch, std::string& reason);
  bool sleep_backoff(std::chrono::milliseconds d);  // false when the stop deadline has passed
  void settle(std::size_t n, const append_result* r);
  void reject(const event& e, const std::string& reason);
  void on_failure(const std::string& what);
  void on_success();
  health_report report_locked(bool healthy) const;

  config cfg_;
  appender_hooks hooks_;
  std::unique_ptr<store> store_;  // owned by the writer thread after construction

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer waits for events / flush / stop
  std::condition_variable space_cv_;  // producers wait for room
  std::condition_variable done_cv_;   // flush waiters
  std::deque<queued> queue_;
  std::vector<event> unwritten_;
  std::uint64_t enqueued_ = 0;        // events ever queued
  std::uint64_t done_ = 0;            // events stored, duplicate or rejected
  std::size_t in_flight_ = 0;         // size of the batch being written
  int flush_waiters_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  clock::time_point stop_deadline_{};
  appender_stats stats_;

  std::atomic<std::int64_t> failing_since_ns_{0};  // steady-clock ns of the first failure, 0 = none
  bool alerted_ = false;             // writer thread only
  clock::time_point last_alert_{};   // writer thread only
  std::string last_error_;           // guarded by mu_

  std::thread writer_;
};

}  // namespace pt::ledger
