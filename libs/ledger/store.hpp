#pragma once
// pt::ledger::store: one PostgreSQL connection to the event ledger. Synchronous and not
// thread-safe: use one store per thread (the appender owns one on its writer thread).
//
// Sequence guarantee: every append transaction first locks the single row of `ledger_head`,
// numbers its new events head+1..head+n, moves the head and commits while still holding the
// lock. Writers on any connection or process are therefore serialised on that row, so seq
// order is commit order, a rolled-back append leaves no gap, and a reader that sees seq N has
// already been able to see every seq below N.
#include "ledger/event.hpp"

#include <chrono>
#include <pqxx/connection>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>


namespace pt::ledger {

struct append_result {
  std::size_t appended = 0;    // new rows written
  std::size_t duplicates = 0;  // events whose event_id was already stored (or repeated in the batch)
  std::int64_t first_seq = 0;  // seq range of the new rows; both 0 when nothing was appended
  std::int64_t last_seq = 0;
};

enum class replay_method {
  copy,    // COPY (SELECT ...) TO STDOUT through pqxx::stream_from (the default: faster)
  cursor,  // server-side cursor, FETCH in large blocks
};

struct replay_options {
  std::int64_t to_seq = 0;     // inclusive upper bound; 0 = up to the head
  std::string stream_id;       // only this stream when not empty
  replay_method method = replay_method::copy;
  std::size_t fetch_size = 20000;  // rows per FETCH for replay_method::cursor
  // >1: read [from_seq, head at the start] as seq chunks over this many extra connections in
  // parallel, still delivered to fn in seq order. The result is the same as a one-connection
  // replay: seqs are gap-free and assigned in commit order, so everything up to a committed
  // head is already visible and never changes. (COPY only; PostgreSQL's jsonb output is the
  // bottleneck of a one-connection replay.)
  int connections = 1;
  std::int64_t chunk_size = 50000;  // seqs per chunk when connections > 1
};

struct replay_result {
  std::size_t count = 0;
  std::int64_t last_seq = 0;  // 0 when nothing was replayed
};

// One row of the `stream_state` projection.
struct stream_state {
  std::string stream_id;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  event_type last_type{};
  std::int64_t event_count = 0;
  std::int64_t last_occurred_at_ns = 0;
  std::string last_payload;  // jsonb text
  friend bool operator==(const stream_state&, const stream_state&) = default;
};

struct store_options {
  bool migrate = true;  // apply pending schema migrations on connect
  std::chrono::milliseconds connect_timeout{3000};
  // Full JSON parse of each payload before sending (the appender turns it off: it has
  // validated each event on the producer's thread already).
  bool validate_json = true;
  // false: `SET synchronous_commit = off` for this connection. A commit then returns before its
  // WAL reaches the disk (PostgreSQL flushes it within ~3 x wal_writer_delay, 600 ms by default):
  // nothing is lost when a service or PostgreSQL crashes, only when the machine does, and the
  // database stays consistent either way. Saves one fsync per append on the decision path.
  bool synchronous_commit = true;
};

class store {
 public:
  // Connects (and migrates). Throws ledger::unavailable with a one-line message naming the
  // redacted URL and the reason, e.g.
  //   ledger: cannot connect to postgresql://bot:***@127.0.0.1:5432/pt: Connection refused
  explicit store(std::string url, store_options opts = {});
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Appends a batch in one transaction: under the head lock, skips event_ids already stored
  // (or repeated in the batch), numbers the rest head+1.. in batch order and COPYs them into
  // events. The stream_state projection is updated in the same transaction. Throws ledger::error for an invalid event (nothing is
  // written), ledger::unavailable when PostgreSQL is unreachable; the next call reconnects.
  append_result append(std::span<const event> batch);
  append_result append(const event& e) { return append(std::span<const event>(&e, 1)); }

  // Streams events with seq >= from_seq in seq order to `fn`, from one snapshot. The event
  // passed to fn is reused between calls: copy what must outlive the call.
  replay_result replay(std::int64_t from_seq, const std::function<void(const event&)>& fn,
                       const replay_options& opts = {});

  [[nodiscard]] std::int64_t head();  // highest assigned seq (0 for an empty ledger)
  [[nodiscard]] std::optional<stream_state> state_of(const std::string& stream_id);
  [[nodiscard]] std::vector<stream_state> stream_states();  // ordered by stream_id

  // Empties stream_state and recomputes it by replaying every event, in one transaction that
  // holds the head lock (appends wait meanwhile). Returns the number of events replayed.
  std::size_t rebuild_projection();

  // The URL with its password replaced by ***.
  [[nodiscard]] const std::string& redacted_url() const { return redacted_url_; }
  // Escape hatch for tests and tools (raw SQL). Reconnects when needed.
  pqxx::connection& connection();

 private:
  void connect();
  replay_result replay_parallel(std::int64_t from_seq, const std::function<void(const event&)>& fn,
                                const replay_options& opts);
  template <class F>
  auto guarded(const char* what, F&& f) -> decltype(f());

  std::string url_;
  std::string redacted_url_;
  store_options opts_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace pt::ledger
