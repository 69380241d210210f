#pragma once
// pt::guardian::protection_book — the guardian's trigger logic, with no I/O: the armed protections,
// the newest mark per symbol, the venue's positions as the last REST poll saw them, and the reports
// (guardian.protection payloads) still to publish. Time is passed in (wall-clock ms) so tests drive it.
//
// Life of a protection: arm -> armed; a mark that crosses its stop (long: mark <= stop, short:
// mark >= stop) or its take-profit latches it `triggered` (a crossing is latched at once, so an
// intrabar low seen on the stream is not lost when the next mark is back above the stop); while the
// venue shows the position open, due_closes() asks the engine for one reduce-only market order with a
// deterministic client id (protection id + attempt); once the venue shows it flat, it is closed and
// dropped. An armed protection whose position the venue shows flat for two polls is dropped too.
// Everything that must survive a restart (protections, finished ids, kill switch, unsent reports)
// round-trips through to_json()/from_json() (the state file).
#include "core/decimal.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pt::guardian {

using core::decimal;

enum class pos_side : std::uint8_t { long_side, short_side };
enum class phase : std::uint8_t { armed, triggered };

struct protection {
  std::string id;
  std::string correlation_id;  // "" when absent
  std::string venue;
  std::string symbol;  // venue spelling
  pos_side side = pos_side::long_side;
  decimal stop;
  std::optional<decimal> take_profit;
  phase ph = phase::armed;
  std::string reason;          // "stop" | "take_profit" once triggered
  decimal trigger_mark;        // the mark that crossed
  std::uint32_t attempt = 0;   // closing order attempt (client id input)
  bool order_live = false;     // the current attempt's order is known to the venue (or may be)
  int flat_polls = 0;          // consecutive polls with the venue flat (armed only)
  int open_polls_after_order = 0;
  std::int64_t armed_at_ms = 0;
  std::int64_t stop_version = 0;  // of the stop in force
};

struct arm_request {
  std::string protection_id;
  std::string correlation_id;
  std::string venue;
  std::string symbol;
  std::optional<pos_side> side;
  std::optional<decimal> stop;
  std::optional<decimal> take_profit;
  // Execution's stop version (0 = the entry's stop, N = the Nth move). A move older than the stop
  // in force (a redelivered earlier arm) is ignored, so a redelivery can never loosen a stop.
  std::optional<std::int64_t> stop_version;
};

// moved: an armed protection got a new stop (the same id armed again with another stop_price).
// move_refused: a move the book does not apply (stop past the take-profit); reported, stop kept.
enum class arm_result : std::uint8_t { armed, duplicate, finished, refused, moved, move_refused };

// What the engine must send: a reduce-only market order closing `qty` (order unit, > 0).
struct close_request {
  std::string protection_id;
  std::string symbol;
  pos_side side = pos_side::long_side;  // of the position (the order is the opposite side)
  decimal qty;
  std::string client_id;
  std::uint32_t attempt = 0;
  bool query_first = false;  // an order with this client id may already exist: look it up first
};

// One report waiting to go out on guardian.protection (JetStream), with its Nats-Msg-Id.
struct report {
  std::string msg_id;
  nlohmann::json body;
};

struct status_view {
  bool mark_fresh = true;
  std::vector<std::string> stale_symbols;
  std::size_t armed = 0;
};

// "pt" + the first 30 hex chars of sha256(protection_id + ":guard-" + attempt): 32 chars of
// [0-9a-z], which both venues accept (contracts.md "Ids").
[[nodiscard]] std::string guard_client_id(const std::string& protection_id, std::uint32_t attempt);
[[nodiscard]] const char* to_string(pos_side s);

// Thrown by from_json for a state file that does not parse.
class state_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class protection_book {
 public:
  explicit protection_book(std::string venue) : venue_(std::move(venue)) {}

  // Idempotent: an id already armed is `duplicate` (nothing changes), an id already released or
  // closed is `finished` (a late redelivery never re-arms). Refused (kill switch, wrong venue,
  // missing side/stop) queues a `failed` report with the reason in `detail`.
  arm_result arm(const arm_request& r, std::int64_t now_ms, std::string* why = nullptr);
  // true when it was armed. An unknown id is remembered as finished, so a later arm of it is ignored.
  bool release(const std::string& id, std::int64_t now_ms);

  void set_killswitch(bool active) { killswitch_ = active; }
  [[nodiscard]] bool killswitch() const { return killswitch_; }

  // A mark (stream or REST). Latches the trigger of every armed protection of `symbol` it crosses;
  // returns their ids. Queues a `triggered` report for each.
  std::vector<std::string> on_mark(const std::string& symbol, decimal mark, std::int64_t now_ms);

  // A REST poll's answer for `symbol`: the signed position qty (0 = flat). Returns the protections
  // this closed (dropped), each with its `closed` report queued.
  std::vector<protection> on_position(const std::string& symbol, decimal qty, std::int64_t now_ms);

  // Closing orders the engine must send now (triggered, position open on the protection's side).
  [[nodiscard]] std::vector<close_request> due_closes() const;
  // The engine's outcome for a close_request: `live` (the venue has it: acked, filled, or found by
  // client id), `dead` (final without closing: rejected/cancelled/expired -> next attempt, new
  // client id), `unknown` (ambiguous: the same client id is looked up before any re-send).
  enum class order_outcome { live, dead, unknown };
  void order_result(const std::string& protection_id, order_outcome o);

  [[nodiscard]] status_view status(std::int64_t now_ms, std::int64_t stale_after_ms,
                                   const std::vector<std::string>& configured) const;

  [[nodiscard]] const std::map<std::string, protection>& protections() const { return protections_; }
  [[nodiscard]] std::set<std::string> armed_symbols() const;
  [[nodiscard]] std::optional<std::int64_t> mark_age_ms(const std::string& symbol, std::int64_t now_ms) const;
  [[nodiscard]] std::optional<decimal> mark(const std::string& symbol) const;

  // Reports not yet acknowledged by JetStream, oldest first.
  [[nodiscard]] const std::deque<report>& outbox() const { return outbox_; }
  void pop_report(const std::string& msg_id);  // removes it when it is at the front

  // Bumped on every change that belongs in the state file.
  [[nodiscard]] std::uint64_t version() const { return version_; }

  [[nodiscard]] nlohmann::json to_json() const;
  // Restores what to_json() wrote (marks and positions are not kept: they are re-read). Throws state_error.
  void from_json(const nlohmann::json& j);

 private:
  void queue(const protection& p, const std::string& state, std::int64_t now_ms, const std::string& detail = {},
             std::optional<decimal> mark = std::nullopt);
  void finish(const std::string& id);
  std::vector<std::string> check(const std::string& symbol, decimal mark, std::int64_t now_ms);
  void touch() { ++version_; }

  std::string venue_;
  bool killswitch_ = false;
  std::map<std::string, protection> protections_;
  std::deque<std::string> finished_order_;  // bounded memory of finished ids
  std::set<std::string> finished_;
  struct mark_seen {
    decimal price;
    std::int64_t at_ms = 0;
  };
  std::map<std::string, mark_seen> marks_;
  std::map<std::string, decimal> positions_;  // last polled signed qty per symbol
  std::deque<report> outbox_;
  std::uint64_t version_ = 0;
};

// Writes `text` to `path` atomically: a temp file in the same folder, fsync, rename.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace pt::guardian
