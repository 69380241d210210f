#include "event.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <string>

namespace pt::ledger {
namespace {

constexpr std::array<std::string_view, event_type_count> names{
    "MarketTick",
    "CandleClose",
    "FundingUpdate",
    "NewsIngested",
    "NewsClassified",
    "UniverseUpdated",
    "SignalComputed",
    "TradeProposed",
    "RiskApproved",
    "RiskRejected",
    "OrderPlaced",
    "OrderCancelled",
    "OrderFilled",
    "OrderPartialFill",
    "PositionOpened",
    "PositionUpdated",
    "PositionClosed",
    "StopTriggered",
    "CircuitBreakerTriggered",
    "ManualInterventionDetected",
    "SystemStarted",
    "SystemStopped",
    "ReconciliationCompleted",
    "ServiceStarted",
    "ServiceExited",
    "ServiceRestarted",
    "ServiceHeldDown",
    "AlertRaised",
    "ControlCommandReceived",
    "ConfigChanged",
    "KillSwitchTriggered",
    "SafeStopRequested",
    "SelfCheckCompleted",
};
static_assert(static_cast<std::size_t>(event_type::self_check_completed) + 1 == event_type_count,
              "event_type_count and the name table must list every event_type");

constexpr std::array<event_type, event_type_count> make_all() {
  std::array<event_type, event_type_count> a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<event_type>(i);
  return a;
}
constexpr auto all = make_all();

std::string known_list() {
  std::string s;
  for (auto n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Text columns reject NUL and invalid UTF-8; one such event would otherwise fail its batch.
bool valid_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

std::string describe(const event& e) {
  return "event " + (e.event_id.empty() ? std::string("(no event_id)") : e.event_id);
}

}  // namespace

bool is_known(event_type t) { return static_cast<std::size_t>(t) < event_type_count; }

std::string_view to_string(event_type t) {
  if (!is_known(t))
    throw error("ledger: event type value " + std::to_string(static_cast<int>(t)) + " is not in the catalog");
  return names[static_cast<std::size_t>(t)];
}

bool try_parse_event_type(std::string_view name, event_type& out) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      out = static_cast<event_type>(i);
      return true;
    }
  }
  return false;
}

event_type parse_event_type(std::string_view name) {
  event_type t{};
  if (!try_parse_event_type(name, t))
    throw error("ledger: unknown event type \"" + std::string(name) + "\" (known: " + known_list() + ")");
  return t;
}

std::span<const event_type> all_event_types() { return all; }

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

void validate(const event& e, bool check_json) {
  if (!is_uuid(e.event_id))
    throw error("ledger: " + describe(e) + ": event_id must be a UUID (8-4-4-4-12 hex)");
  if (!is_known(e.type))
    throw error("ledger: " + describe(e) + ": event type value " + std::to_string(static_cast<int>(e.type)) +
                " is not in the catalog");
  if (e.stream_id.empty()) throw error("ledger: " + describe(e) + ": stream_id is empty");
  for (auto [name, text] : {std::pair<const char*, const std::string*>{"stream_id", &e.stream_id},
                            {"correlation_id", &e.correlation_id},
                            {"causation_id", &e.causation_id}})
    if (!valid_text(*text))
      throw error("ledger: " + describe(e) + ": " + name + " is not valid UTF-8 text (or contains NUL)");
  auto first = e.payload.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || e.payload[first] != '{')
    throw error("ledger: " + describe(e) + ": payload must be a JSON object");
  // jsonb cannot store U+0000; catching it here keeps one bad event from failing a batch.
  if (e.payload.find("\\u0000") != std::string::npos)
    throw error("ledger: " + describe(e) + ": payload contains \\u0000, which jsonb cannot store");
  if (check_json && !nlohmann::json::accept(e.payload))
    throw error("ledger: " + describe(e) + ": payload is not valid JSON");
}

}  // namespace pt::ledger
