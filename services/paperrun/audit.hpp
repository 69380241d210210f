#pragma once
// What the main job's paper run must show (issue 4, "How it must behave"), computed from the
// ledger and venue-sim's ground truth with no I/O here, so the checks are unit-tested:
//   * more than zero trades;
//   * every entry protected within 2 s of wall time: each PositionOpened is followed, in the same
//     stream, by a PositionUpdated whose payload says {"protection":"confirmed"}, recorded at most
//     `limit` after it (recorded_at is PostgreSQL's clock, the same for both events);
//   * equity equal to venue-sim's: the fleet's last exec.account against /sim/accounts.
#include "core/decimal.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pt::paperrun {

// The ledger rows the audit needs (ledger::event reduced to them).
struct ledger_row {
  std::int64_t seq = 0;
  std::string type;       // "PositionOpened", "PositionUpdated", ...
  std::string stream_id;  // "pos-BTC_USDT_PERP"
  std::string payload;    // JSON text
  std::int64_t recorded_at_ns = 0;
};

struct protection_audit {
  int entries = 0;            // PositionOpened events
  int protected_in_time = 0;  // confirmed within the limit
  int late = 0;               // confirmed, but after the limit
  int never = 0;              // never confirmed (and the run is over)
  double max_latency_ms = 0;  // over the confirmed ones
  double p50_latency_ms = 0;
  std::vector<std::string> problems;  // one line per late / never-protected entry
  [[nodiscard]] bool ok() const { return entries > 0 && late == 0 && never == 0; }
};

// Rows in seq order. Throws nothing: a payload that is not JSON counts as "not a confirmation".
[[nodiscard]] protection_audit audit_protection(const std::vector<ledger_row>& rows,
                                                std::chrono::milliseconds limit = std::chrono::seconds(2));

struct equity_check {
  core::decimal fleet;  // exec.account equity (or wallet when flat)
  core::decimal venue;  // venue-sim's account
  core::decimal diff;   // |fleet - venue|
  bool ok = false;
};
// Equal up to `tolerance` (the venue rounds fees to its own precision; 0 = exact).
[[nodiscard]] equity_check compare_equity(core::decimal fleet, core::decimal venue,
                                          core::decimal tolerance = core::decimal{});

// A latency distribution (milliseconds), nearest-rank percentiles: p = the smallest sample with at
// least p % of the samples at or below it. p99.9 needs 1000 samples to differ from the max; below
// that it is the max, and `n` says how many there were.
struct latency_summary {
  std::size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};
[[nodiscard]] latency_summary summarize_latency(std::vector<double> ms);

// The decision path, hop by hop, from traced entry orders (exec.order bodies whose `trace` has
// md_recv and exec_sent; libs/core/trace.hpp). One row per hop between consecutive stages both
// present, plus "total" = md_recv -> exec_sent (the decision latency). Milliseconds.
struct hop_latency {
  std::string from, to;
  latency_summary l;
};
[[nodiscard]] std::vector<hop_latency> summarize_traces(const std::vector<nlohmann::json>& traces);

// VmRSS of a /proc/<pid>/status text in KiB (nullopt when absent: a zombie or a kernel thread).
[[nodiscard]] std::optional<long> rss_kib_of_status(const std::string& status_text);

}  // namespace pt::paperrun
