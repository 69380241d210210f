#pragma once
// Decision-path tracing: a message on the path md bar -> trade.proposed -> risk.decision ->
// exec.order carries an optional `trace` object of stage -> CLOCK_MONOTONIC nanoseconds, each
// service copying what it received and adding its own stages. The stamps compare only between
// processes on one host (the monotonic clock is per machine); paperrun and the latency bench read
// them there. A message without a trace (another host, a replayed history bar) is simply not
// traced. Stages, in path order (names are the schema's):
//   md_recv       the venue frame that completed the bar arrived at marketdata
//   md_pub        marketdata hands the bar to NATS
//   signal_recv   the bar arrived at signal      signal_pub    trade.proposed handed to NATS
//   risk_recv     the proposal arrived at risk   risk_decided  sized and checked (not yet stored)
//   risk_durable  RiskApproved committed         risk_pub      risk.decision handed to NATS
//   exec_recv     the decision arrived at execution
//   exec_checked  the venue lookup and the guards done, the order about to be recorded
//   exec_durable  the order intent committed     exec_sent     the order request leaves execution
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string_view>

namespace pt::core::trace {

// Every stage, in path order (the schemas' `trace` properties).
inline constexpr std::array<std::string_view, 12> stages{
    "md_recv",   "md_pub",       "signal_recv",  "signal_pub", "risk_recv",    "risk_decided",
    "risk_durable", "risk_pub", "exec_recv",   "exec_checked", "exec_durable", "exec_sent"};

// steady_clock (CLOCK_MONOTONIC on Linux) in nanoseconds.
std::int64_t now_ns();

// body["trace"][stage] = ns (ns <= 0 is not stamped: "unknown").
void stamp(nlohmann::json& body, std::string_view stage, std::int64_t ns);
// The `trace` of `from` copied into `to` (nothing when `from` has none or it is malformed).
void carry(const nlohmann::json& from, nlohmann::json& to);
// The stamp of `stage` in body's trace, or 0.
std::int64_t get(const nlohmann::json& body, std::string_view stage);
// `body` without its trace (what goes to the ledger: stamps are not facts about the trade).
nlohmann::json without(nlohmann::json body);

}  // namespace pt::core::trace
