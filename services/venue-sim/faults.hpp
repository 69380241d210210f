#pragma once
// Fault injection for venue-sim, set at run time over the control endpoint. Each kind is armed
// with a count of requests it hits, or a duration (server wall time), or both (whichever runs out
// first ends it). Thread-safe; the HTTP layers ask `take()` once per request.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::venue_sim {

enum class fault_kind {
  drop_websockets,  // close every WebSocket connection now (and refuse new ones while armed)
  rate_limit,       // 429 with Retry-After (a "429 storm")
  latency,          // add `value` ms before answering
  server_error,     // 5xx, definitely not executed
  malformed_json,   // a truncated body with status 200
  clock_skew,       // server time off by `value` ms (signature timestamp checks follow it)
  maintenance,      // the venue's maintenance answer; orders refused
  hold_ack,         // order placements execute at once, the answer waits `value` ms
  unknown_executed, // order placements execute, the answer is a 503 "unknown" (ambiguous)
  book_gap,         // WebSocket: one book_lv2 update / depth diff per count is never sent (ids jump)
};
[[nodiscard]] std::optional<fault_kind> parse_fault_kind(std::string_view name);
[[nodiscard]] const char* to_string(fault_kind k);
[[nodiscard]] const std::vector<fault_kind>& all_fault_kinds();

struct fault {
  fault_kind kind = fault_kind::latency;
  std::int64_t value = 0;                 // ms for latency / skew / hold_ack
  std::optional<std::int64_t> remaining;  // requests left; nullopt = until `until`
  std::optional<std::chrono::steady_clock::time_point> until;
  bool orders_only = false;  // hit only order placements
};

class fault_plan {
 public:
  void arm(fault f);
  void clear(std::optional<fault_kind> kind = std::nullopt);
  // The fault of this kind that applies to the current request, consuming one count.
  std::optional<fault> take(fault_kind kind, bool is_order);
  // Active without consuming (clock skew, WS refusal).
  [[nodiscard]] std::optional<fault> peek(fault_kind kind) const;
  [[nodiscard]] std::vector<fault> active() const;
  // How many times each kind has fired (control endpoint status, tests).
  [[nodiscard]] std::int64_t fired(fault_kind kind) const;

 private:
  void expire_locked();
  mutable std::mutex mu_;
  std::vector<fault> faults_;
  std::int64_t fired_[16] = {};
};

}  // namespace pt::venue_sim
