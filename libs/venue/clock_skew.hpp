#pragma once
// Clock-skew guard: estimates server time from (local send, server time, local receive) samples
// taken with Binance GET /fapi/v1/time or Poloniex GET /timestamp, so signed requests carry a
// timestamp the venue accepts. Pure: every local time comes in as an argument.
//
// offset = server - (send + rtt/2), the NTP-style midpoint estimate; its error is at most rtt/2.
// The estimate is the median of the last `window` samples, so one slow or odd sample cannot
// move it.
#include "core/time.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace pt::venue {

struct time_sample {
  core::timestamp local_send;
  core::timestamp server;
  core::timestamp local_receive;
};

struct clock_skew_config {
  std::size_t window = 9;
  // |offset| above this makes the guard unhealthy: the local clock needs fixing (NTP), signing
  // with a corrected time only hides it. Binance: recvWindow / 2; Poloniex rejects a timestamp
  // more than 1 s ahead (exchanges.md A2), hence 500 ms.
  std::chrono::nanoseconds max_offset = std::chrono::milliseconds(2500);
  // No sample newer than this: unhealthy and resync_due().
  std::chrono::nanoseconds max_age = std::chrono::minutes(5);
  // A sample whose round trip took longer than this tells too little and is dropped.
  std::chrono::nanoseconds max_rtt = std::chrono::seconds(2);

  [[nodiscard]] static clock_skew_config for_binance(std::chrono::milliseconds recv_window = std::chrono::milliseconds(5000));
  [[nodiscard]] static clock_skew_config for_poloniex();
};

enum class skew_state { no_samples, resync_requested, stale, offset_too_large, ok };

class clock_skew_guard {
 public:
  explicit clock_skew_guard(clock_skew_config config = {});

  // False (and the sample ignored) when receive < send or the round trip exceeds max_rtt.
  bool add_sample(const time_sample& s);

  // The venue said our timestamp is outside its window (Binance -1021/-5028, Poloniex 408):
  // unhealthy until the next sample, which then replaces the whole window (the old samples
  // described a clock that has since moved).
  void request_resync();

  // server - local, median of the window; nullopt before the first sample.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> offset() const;
  // local_now + offset (local_now itself before the first sample).
  [[nodiscard]] core::timestamp server_now(core::timestamp local_now) const;

  [[nodiscard]] skew_state state(core::timestamp local_now) const;
  [[nodiscard]] bool healthy(core::timestamp local_now) const { return state(local_now) == skew_state::ok; }
  // A new time sample should be taken: none yet, a resync was requested, or the newest is old.
  [[nodiscard]] bool resync_due(core::timestamp local_now) const;

  [[nodiscard]] const clock_skew_config& config() const { return config_; }

 private:
  [[nodiscard]] std::optional<std::chrono::nanoseconds> median_locked() const;

  clock_skew_config config_;
  mutable std::mutex mutex_;
  struct entry {
    std::chrono::nanoseconds offset;
    core::timestamp taken;  // local receive time
  };
  std::deque<entry> samples_;
  bool resync_requested_ = false;
};

}  // namespace pt::venue
