#pragma once
// The ledger's event model: the closed catalog of event types (spec §11 plus the fleet's own)
// and the event record that is appended and replayed.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::ledger {

// Every ledger failure is a ledger::error whose message starts with "ledger: ".
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// PostgreSQL could not be reached or dropped the connection: retrying later may succeed
// (appends are idempotent by event_id, so a retry after an ambiguous commit is safe).
class unavailable : public error {
 public:
  using error::error;
};

// The closed set of event types. Adding one: append it here and to the name table in
// event.cpp (the stored form is the name, so the enum order is free to change).
enum class event_type : std::uint8_t {
  // trading (spec §11)
  market_tick,
  candle_close,
  funding_update,
  news_ingested,
  news_classified,
  universe_updated,
  signal_computed,
  trade_proposed,
  risk_approved,
  risk_rejected,
  order_placed,
  order_cancelled,
  order_filled,
  order_partial_fill,
  position_opened,
  position_updated,
  position_closed,
  stop_triggered,
  circuit_breaker_triggered,
  manual_intervention_detected,
  system_started,
  system_stopped,
  reconciliation_completed,
  // fleet
  service_started,
  service_exited,
  service_restarted,
  service_held_down,
  alert_raised,
  control_command_received,
  config_changed,
  kill_switch_triggered,
  safe_stop_requested,
  self_check_completed,  // execution's start-up self-check (clock, catalog, key, settings)
};

inline constexpr std::size_t event_type_count = 33;

// "OrderPlaced" for event_type::order_placed. Throws ledger::error for a value outside the enum.
[[nodiscard]] std::string_view to_string(event_type t);
// The inverse; throws ledger::error naming the unknown text and listing the known names.
[[nodiscard]] event_type parse_event_type(std::string_view name);
// No-throw variant for hot paths: false when unknown.
[[nodiscard]] bool try_parse_event_type(std::string_view name, event_type& out);
[[nodiscard]] bool is_known(event_type t);
// All types in enum order.
[[nodiscard]] std::span<const event_type> all_event_types();

// One ledger record. For append, `seq` and `recorded_at_ns` are ignored (the ledger assigns
// them). Optional ids are empty strings when absent (NULL in the table).
struct event {
  std::int64_t seq = 0;            // global, gap-free, in commit order; 1-based
  std::string event_id;            // UUID text, the idempotency key
  event_type type = event_type::system_started;
  std::string stream_id;           // aggregate the event belongs to, e.g. "order:abc" or "position:BTCUSDT"
  std::string correlation_id;      // optional: the request/flow this event is part of
  std::string causation_id;        // optional: the event_id (or command id) that caused it
  std::string payload = "{}";      // a JSON object; replay hands back jsonb's normalised text
  std::int64_t occurred_at_ns = 0; // event time, UTC nanoseconds since the epoch
  std::int64_t recorded_at_ns = 0; // when the ledger stored it (µs precision), set on replay
};

// Checks what PostgreSQL would otherwise reject mid-batch: a UUID event_id, a known type,
// a non-empty stream_id, a payload that is a JSON object jsonb accepts. Throws ledger::error
// naming the event and the reason.
// check_json = false skips the full JSON parse (for a caller that has already run it).
void validate(const event& e, bool check_json = true);

// True for canonical or upper-case 8-4-4-4-12 hex UUID text.
[[nodiscard]] bool is_uuid(std::string_view s);

}  // namespace pt::ledger
