#pragma once
// pt::bus — NATS <-> CAF. One `bus` is one NATS connection, owned by a CAF actor (bus::actor()).
//
// * Every payload is JSON with a JSON Schema per subject (proto/subjects.json). Inbound messages
//   are parsed and validated on the nats.c thread before delivery; a message that fails (bad
//   JSON, schema violation, subject not in the catalog) is counted as `rejected`, logged with
//   the reason and never delivered. Outbound payloads are validated too: an invalid one is a
//   programming error and comes back as an error (errc::schema_violation), nothing is sent.
// * Subscribers are actors: they receive `pt::bus::envelope` messages.
// * nats.c callbacks never touch actor state: they only anon_send to actors.
// * Two ways to use it, both thread-safe:
//     - direct calls on the `bus` object (blocking where noted) from main(), tests, or an
//       actor's init code;
//     - messages to `bus::actor()` from actors (see "Actor interface" below), e.g. an async
//       request with `self->request(bus.actor(), ...).then(...)`.
// * CAF types: the bus registers NO CAF type-id block. Its message types are local-only and
//   whitelisted with CAF_ALLOW_UNSAFE_MESSAGE_TYPE, so a service uses plain `CAF_MAIN()` or
//   `CAF_MAIN(caf::id_block::<its own block>)` (0.17.6: a block starts at
//   caf::first_custom_type_id); the bus needs no slot in it.
#include "bus/catalog.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace caf {
class actor_system;
class actor_system_config;
}
namespace pt::config {
class document;
}

namespace pt::bus {

// ---- errors ---------------------------------------------------------------------------------
// caf::error{code, atom("pt_bus"), message(text)}; describe() gives "timeout: no reply on x in 50 ms".
enum class errc : std::uint8_t {
  not_connected = 1,  // connection closed or reconnecting with a full buffer
  timeout,            // request got no reply in time
  no_responders,      // request: nobody subscribes the subject
  schema_violation,   // payload fails the subject's schema (outbound)
  unknown_subject,    // subject not in proto/subjects.json
  bad_json,           // payload is not JSON
  decode_failed,      // envelope::decode<T>: JSON valid but from_json failed
  nats_error,         // any other nats.c failure (text says which)
  jetstream_error,
};
[[nodiscard]] caf::error make_error(errc code, std::string text);
[[nodiscard]] std::string describe(const caf::error& e);  // one line, no CAF noise
[[nodiscard]] bool is(const caf::error& e, errc code);

// Thrown only by bus::connect (start-up): what() is one line, e.g.
// "bus: cannot connect to nats://127.0.0.1:4222: No server available for connection".
class connect_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- configuration --------------------------------------------------------------------------
enum class connection_state { connected, disconnected, reconnected, closed };
[[nodiscard]] const char* to_string(connection_state s);

struct connection_event {
  connection_state state;
  std::string url;     // the server URL (no credentials)
  std::string detail;  // last error text when there is one
};

[[nodiscard]] std::string default_proto_dir();

struct options {
  std::string url = "nats://127.0.0.1:4222";
  std::string name = "polytrade";  // connection name shown by the server (monitoring)
  // SendAsap: write each publish immediately instead of waiting for the 1 ms flusher.
  // Keep it on for request/reply and responders; bulk publishers turn it off for throughput.
  bool send_asap = true;
  // Reconnect delay: exponential from reconnect_min, doubling per failed round, capped at
  // reconnect_max, plus up to 25 % random jitter.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  int max_reconnects = -1;  // -1 = forever
  // false: connect() fails fast when the server is unreachable (services at start).
  bool retry_on_failed_connect = false;
  int reconnect_buffer_bytes = 8 * 1024 * 1024;  // publishes buffered during an outage
  std::chrono::milliseconds connect_timeout{2000};
  // subjects.json + schemas/: $POLYTRADE_PROTO_DIR (containers), else the source tree's proto/.
  std::string proto_dir = default_proto_dir();
  // Called on a nats.c thread for every state change: keep it short, do not block.
  std::function<void(const connection_event&)> on_state;
};

// Reads `<prefix>.url`, `.name`, `.send_asap`, `.reconnect_min`, `.reconnect_max` (durations),
// `.max_reconnects`, `.retry_on_failed_connect`, `.reconnect_buffer_bytes`, `.connect_timeout`;
// rejects unknown keys below prefix. Missing keys keep the defaults above. NATS_URL overrides
// bus.url (core config alias).
[[nodiscard]] options options_from_config(const pt::config::document& cfg,
                                          const std::string& prefix = "bus");

// ---- messages -------------------------------------------------------------------------------
// Control before data: operator commands (ctl.*) and the kill switch (risk.killswitch) reach an
// actor as high-priority messages, so a cancel never waits behind a queue of market-data ticks
// in the same mailbox. The rule lives here, not in each service, so none can forget it.
[[nodiscard]] bool is_urgent_subject(std::string_view subject);

namespace detail {
struct js_message;  // holds the nats.c message of a JetStream delivery until acked
}
class core;  // shared state behind bus and its actor (bus.cpp)

struct envelope {
  std::string subject;  // concrete subject (for a reply: the inbox it arrived on)
  std::string reply;    // reply subject of a request ("" otherwise): answer with reply()
  nlohmann::json body;  // already validated against the subject's schema
  std::int64_t received_ns = 0;  // steady clock when nats.c handed it over (before parsing)
  // JetStream deliveries only:
  std::string msg_id;           // Nats-Msg-Id header
  std::uint64_t stream_seq = 0;
  std::uint64_t deliveries = 0;  // 1 on first delivery, >1 on redelivery
  std::shared_ptr<detail::js_message> js;
  // The connection it arrived on: reply() answers on it directly, without an actor hop.
  std::shared_ptr<core> origin;

  [[nodiscard]] bool is_request() const { return !reply.empty(); }
  [[nodiscard]] bool needs_ack() const { return js != nullptr; }
  // Explicit acknowledgement of a JetStream delivery (thread-safe, callable from the actor).
  // No ack before ack_wait => the server redelivers. term() = never redeliver.
  caf::error ack() const;
  caf::error nak() const;
  caf::error term() const;

  // body -> T via nlohmann from_json; errc::decode_failed naming subject and reason on failure.
  template <class T>
  [[nodiscard]] caf::expected<T> decode() const {
    try {
      return body.get<T>();
    } catch (const std::exception& e) {
      return make_error(errc::decode_failed, subject + ": " + e.what());
    }
  }
};

struct subject_counters {
  std::uint64_t in = 0;        // delivered to a subscriber (or reply accepted)
  std::uint64_t out = 0;       // published
  std::uint64_t rejected = 0;  // inbound failed JSON/schema/catalog, or outbound invalid
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};
using counters_snapshot = std::map<std::string, subject_counters>;  // key: concrete subject
// For a request subject, the reply is counted under the request subject (in/rejected).

using subscription_id = std::uint64_t;

struct js_ack {
  std::string stream;
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the server dropped it: same Nats-Msg-Id inside the window
};

struct stream_config {
  std::string name;                   // e.g. "COMMANDS"
  std::vector<std::string> subjects;  // e.g. {"trade.proposed", "risk.decision.*"}
  bool work_queue = false;            // retention WorkQueue (research.jobs) instead of Limits
  bool memory = false;                // memory storage instead of file
  std::chrono::seconds max_age{0};    // 0 = unlimited
  std::chrono::milliseconds duplicate_window{120000};
};

struct consumer_config {
  std::string stream;
  std::string durable;         // durable name: survives the process, resumes where acked
  std::string filter_subject;  // required: the subject (pattern) this consumer receives
  std::string queue;           // deliver group: share the messages between processes
  std::chrono::milliseconds ack_wait{30000};
  std::int64_t max_deliver = -1;  // -1 = unlimited redeliveries
  std::int64_t max_ack_pending = 1024;
  bool deliver_new = false;  // first creation only: start at new messages instead of all
};

// The fleet's JetStream streams (the command and event path, architecture.md "Delivery"). Every
// service that publishes or consumes on them calls ensure_fleet_streams() at start, so whichever
// starts first creates them with the same config and none can disagree about a stream's subjects.
//   TRADE:    trade.proposed, trade.exit
//   RISK:     risk.decision.approved, risk.decision.rejected, risk.breaker.*, risk.killswitch
//   EXEC:     exec.order.*, exec.fill, exec.position.*, exec.reconciliation
//   GUARDIAN: guardian.protect, guardian.protection
[[nodiscard]] std::vector<stream_config> fleet_streams();

// ---- actor interface ------------------------------------------------------------------------
// Messages bus::actor() answers (arguments in this order):
//   (publish_atom, string subject, json body)                  -> unit | error
//   (request_atom, string subject, json body, caf::timespan t) -> envelope | error(timeout,...)
//   (reply_atom, envelope request, json body)                  -> unit | error
//   (subscribe_atom, string subject, string queue, actor dst)  -> subscription_id | error
//   (unsub_atom, subscription_id)                              -> unit
//   (js_pub_atom, string subject, json body, string msg_id)    -> js_ack | error
//   (watch_atom, actor dst)  dst then receives connection_event on every state change
//   (counters_atom)                                            -> counters_snapshot
// Fire-and-forget (anon_send) publish/reply errors are logged and counted, never lost silently.
using publish_atom = caf::atom_constant<caf::atom("bus_pub")>;
using request_atom = caf::atom_constant<caf::atom("bus_req")>;
using reply_atom = caf::atom_constant<caf::atom("bus_reply")>;
using subscribe_atom = caf::atom_constant<caf::atom("bus_sub")>;
using unsub_atom = caf::atom_constant<caf::atom("bus_unsub")>;
using js_pub_atom = caf::atom_constant<caf::atom("bus_jspub")>;
using watch_atom = caf::atom_constant<caf::atom("bus_watch")>;
using counters_atom = caf::atom_constant<caf::atom("bus_count")>;

// Fire-and-forget helpers from any thread or actor. publish: anon_send to the bus actor.
// reply: answers directly on the connection the request arrived on (request.origin), else
// via the bus actor. Failures are logged and counted.
void publish(const caf::actor& bus, std::string subject, nlohmann::json body);
void reply(const caf::actor& bus, const envelope& request, nlohmann::json body);

// Scheduler settings for latency-critical processes (call before creating the actor_system):
// idle CAF 0.17 workers otherwise nap in un-wakeable 50 us sleeps before blocking on a
// condition variable, which adds up to ~100 us to every actor hop on a quiet machine.
// Sets work-stealing.moderate-poll-attempts = 0 (spin briefly, then sleep until notified).
void tune_scheduler_for_latency(caf::actor_system_config& cfg);

// ---- the connection -------------------------------------------------------------------------

class bus {
 public:
  // Connects and spawns the owning actor. Throws connect_error (one line naming the URL and
  // the reason) when the server is unreachable and retry_on_failed_connect is false, and
  // std::runtime_error when the catalog cannot be loaded.
  static std::unique_ptr<bus> connect(caf::actor_system& sys, options opts);
  ~bus();  // closes the connection and stops the actor
  bus(const bus&) = delete;
  bus& operator=(const bus&) = delete;

  [[nodiscard]] const caf::actor& actor() const { return actor_; }
  [[nodiscard]] const catalog& subjects() const;
  [[nodiscard]] const options& opts() const;
  [[nodiscard]] connection_state state() const;

  // Core NATS (thread-safe; none of these blocks on the network except request/flush).
  caf::error publish(const std::string& subject, const nlohmann::json& body);
  caf::error reply(const envelope& request, const nlohmann::json& body);
  [[nodiscard]] caf::expected<subscription_id> subscribe(const std::string& subject,
                                                         const caf::actor& target,
                                                         const std::string& queue = {});
  caf::error unsubscribe(subscription_id id);
  // Blocking request (main(), tests). Actors use request_atom instead.
  [[nodiscard]] caf::expected<envelope> request(const std::string& subject,
                                                const nlohmann::json& body,
                                                std::chrono::milliseconds timeout);
  caf::error flush(std::chrono::milliseconds timeout = std::chrono::milliseconds{2000});
  // Connection state changes go to `target` as connection_event messages.
  void watch(const caf::actor& target);

  // JetStream (blocking: one round trip to the server each).
  caf::error ensure_stream(const stream_config& cfg);  // idempotent
  caf::error ensure_fleet_streams();                   // every stream of fleet_streams()
  // msg_id goes in Nats-Msg-Id: the server drops a re-publish inside the duplicate window.
  [[nodiscard]] caf::expected<js_ack> js_publish(const std::string& subject,
                                                 const nlohmann::json& body,
                                                 const std::string& msg_id);
  // Push consumer with explicit ack delivering envelopes (needs_ack() true) to `target`.
  // Creates the durable consumer when missing, binds to it otherwise. Invalid messages are
  // rejected, counted and terminated (never redelivered).
  [[nodiscard]] caf::expected<subscription_id> js_consume(const consumer_config& cfg,
                                                          const caf::actor& target);

  [[nodiscard]] counters_snapshot counters() const;

 private:
  explicit bus(std::shared_ptr<core> c, caf::actor a);
  std::shared_ptr<core> core_;
  caf::actor actor_;
};

}  // namespace pt::bus

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::bus::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::bus::connection_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::bus::counters_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::bus::js_ack)
