#pragma once
// Simulated time for a replay, paced against the wall clock in one of four modes:
//
//   realtime      1 simulated ms per wall ms
//   multiple(k)   k simulated ms per wall ms (k > 0, any finite double: this paces the wall,
//                 it never touches money)
//   unthrottled   no waiting: wait_until(t) jumps the simulated time to t and returns at once
//   lockstep      time moves only when a controller calls advance_to(t) or step()
//
// One replay thread calls wait_until(event_time) before each event; a control thread changes the
// mode, advances time in lockstep, or stops the replay. Everything is guarded by one mutex and a
// condition variable, so any thread may call anything. The simulated time never goes backwards.
// It is also a pt::core::clock, so code that takes `const core::clock&` reads replay time.
#include "core/time.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

namespace pt::replay {

enum class pace_mode { realtime, multiple, unthrottled, lockstep };

struct pace {
  pace_mode mode = pace_mode::realtime;
  double factor = 1.0;  // simulated ms per wall ms; 1 for realtime, k for multiple, unused otherwise

  [[nodiscard]] static pace realtime() { return {pace_mode::realtime, 1.0}; }
  // Throws std::invalid_argument unless k is finite and > 0.
  [[nodiscard]] static pace multiple(double k);
  [[nodiscard]] static pace unthrottled() { return {pace_mode::unthrottled, 1.0}; }
  [[nodiscard]] static pace lockstep() { return {pace_mode::lockstep, 1.0}; }

  friend bool operator==(const pace&, const pace&) = default;
};

// "realtime", "multiple(10)", "unthrottled", "lockstep".
[[nodiscard]] std::string to_string(const pace& p);

class replay_clock final : public core::clock {
 public:
  replay_clock(std::int64_t start_ms, pace p);

  // Simulated time. In realtime/multiple it flows between calls; otherwise it moves only in
  // wait_until (unthrottled), advance_to and step.
  [[nodiscard]] std::int64_t now_ms() const;
  [[nodiscard]] core::timestamp now() const override;

  // Blocks until the simulated time reaches `sim_ms` and returns true, or returns false as soon
  // as `stop` is requested or close() was called. A target at or before now returns true at
  // once. Several threads may wait at the same time.
  bool wait_until(std::int64_t sim_ms, std::stop_token stop = {});

  // Moves the simulated time forward to `sim_ms` in any mode (a seek; in realtime/multiple the
  // pacing continues from there). A time at or before now changes nothing. Returns now_ms().
  std::int64_t advance_to(std::int64_t sim_ms);

  // Lockstep only (elsewhere it does nothing): releases one waited-for time. If a thread is
  // waiting, time jumps to the earliest target being waited for; if none is, the step is kept
  // and the next wait_until that would block consumes it instead (so a controller need not race
  // the replay thread). Switching mode discards unused steps.
  void step();

  [[nodiscard]] pace mode() const;
  // Takes effect at once for threads already waiting. The simulated time carries over.
  void set_mode(pace p);

  // Wakes every waiter with false, now and for every later wait_until. Time still reads.
  void close();
  [[nodiscard]] bool closed() const;

  // The earliest target a thread is blocked on right now (lets a lockstep controller see that the
  // replay thread has caught up); nullopt when nobody waits.
  [[nodiscard]] std::optional<std::int64_t> next_wait() const;

 private:
  using wall = std::chrono::steady_clock;

  [[nodiscard]] std::int64_t now_locked(wall::time_point at) const;
  // Restart pacing from (sim_ms, now): after a mode change or a seek.
  void anchor(std::int64_t sim_ms, wall::time_point at);
  [[nodiscard]] bool paced() const { return pace_.mode == pace_mode::realtime || pace_.mode == pace_mode::multiple; }

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  pace pace_;
  std::int64_t anchor_sim_;     // simulated time at anchor_wall_ (paced), or the time (otherwise)
  wall::time_point anchor_wall_;
  std::multiset<std::int64_t> waiting_;  // targets of blocked waiters
  std::uint64_t steps_ = 0;              // banked lockstep steps
  std::uint64_t epoch_ = 0;              // bumped on every change a waiter must look at
  bool closed_ = false;
};

}  // namespace pt::replay
