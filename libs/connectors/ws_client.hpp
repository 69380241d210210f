#pragma once
// One WebSocket client connection on libwebsockets, kept alive on its own service thread:
// connects to ws:// or wss:// (TLS 1.2+, certificate and host name verified), sends and receives text,
// reconnects after every drop with exponential backoff and jitter, pings the server every
// `ping_interval`, and treats a connection that received nothing (no message, no pong) for
// `stale_timeout` as dead: it is killed and reconnected. Used by the Poloniex and Binance streams.
//
// Threads: every callback (on_open, on_message, on_close, on_tick) runs on the client's service
// thread, one at a time. send(), reconnect() and stop() may be called from any thread, including
// from inside a callback. A callback may block (a REST call): the connection is not read meanwhile
// and the kernel buffers what arrives. The URL is asked for again before every attempt, so a
// stream whose address changes (a new Binance listenKey) just returns the new one.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "venue/venue.hpp"

struct lws;
struct lws_context;
struct lws_sorted_usec_list;

namespace pt::connectors {

struct ws_options {
  std::chrono::milliseconds ping_interval{5000};   // 0: the client never pings
  std::chrono::milliseconds stale_timeout{30000};  // nothing received for this long: reconnect (0: off)
  std::chrono::milliseconds backoff_base{250};     // first retry waits base/2..base
  std::chrono::milliseconds backoff_cap{30000};    // the doubling stops here
  std::chrono::seconds connect_timeout{10};        // TCP + TLS + upgrade
  std::size_t max_message_bytes = 16u << 20;       // a larger message drops the connection
  std::uint64_t seed = 0;                          // jitter RNG; 0 = from the clock
  std::string ca_file;  // wss: PEM file of trusted CAs; empty = the system store (SSL_CERT_FILE/DIR)
};

// A parsed ws:// or wss:// URL; throws std::invalid_argument for anything else.
struct ws_url {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string path;  // with the query, "/" at least
  [[nodiscard]] static ws_url parse(std::string_view url);
};

class ws_client {
 public:
  struct callbacks {
    // The URL for the next attempt (called on the service thread before each one). Throwing
    // counts as a failed attempt: the client backs off and asks again.
    std::function<std::string()> url;
    // Each successful (re)connect: send the subscriptions here.
    std::function<void()> on_open;
    // One complete text message.
    std::function<void(std::string_view)> on_message;
    // The connection ended (after on_open) or an attempt failed (`was_open` false).
    std::function<void(bool was_open, const std::string& why)> on_close;
    // About every 50 ms, connected or not: timers of the layer above (keep-alives, retries).
    std::function<void()> on_tick;
    // What a client ping is: empty sends a WebSocket ping frame; otherwise this text message
    // (Poloniex wants {"event":"ping"}).
    std::string ping_text;
  };

  struct stats {
    std::int64_t connects = 0;          // successful upgrades
    std::int64_t failed_attempts = 0;   // attempts that never opened
    std::int64_t drops = 0;             // open connections that ended (not by stop())
    std::int64_t stale_kills = 0;       // of which killed for silence
    std::int64_t messages_in = 0, bytes_in = 0, messages_out = 0, pings_out = 0;
    // Summing the connections of one stream object.
    stats& operator+=(const stats& o) {
      connects += o.connects;
      failed_attempts += o.failed_attempts;
      drops += o.drops;
      stale_kills += o.stale_kills;
      messages_in += o.messages_in;
      bytes_in += o.bytes_in;
      messages_out += o.messages_out;
      pings_out += o.pings_out;
      return *this;
    }
  };

  ws_client(std::string name, ws_options options, callbacks cb);
  ~ws_client();  // stop()
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Creates the lws context and the service thread; the first attempt starts at once.
  // Throws std::runtime_error when libwebsockets cannot create its context or the CA file
  // cannot be read.
  void start();
  // Closes the connection and joins the thread; on_close runs for an open connection. Idempotent.
  // Must not be called from a callback.
  void stop();

  // Queues a text message for the current connection; false when none is open (the message is
  // dropped: subscriptions are sent again by on_open after a reconnect).
  bool send(std::string text);
  // Drops the current connection (if any) and connects again after the backoff.
  void reconnect(std::string why = "requested");
  // The layer above says this connection works (subscribed, logged in): the backoff starts
  // again from `backoff_base` after it ends. Without it every drop doubles the wait, so a
  // server that accepts and then refuses (bad key) is not hammered. Service thread only.
  void mark_healthy() { healthy_ = true; }

  [[nodiscard]] bool is_open() const { return open_.load(); }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] stats counters() const;

  // The lws callbacks (public for the C trampolines only).
  int on_callback(lws* wsi, int reason, void* user, void* in, std::size_t len);
  static void on_timer(lws_sorted_usec_list* sul);

 private:
  using clock = std::chrono::steady_clock;
  struct tick_timer;

  void run();
  void wake();  // any thread: lws_cancel_service
  void tick();
  void try_connect();
  void connection_ended(lws* wsi, const std::string& why);
  void schedule_retry();
  void deliver(std::string_view text);
  void kill_current(const std::string& why);
  // A reconnect() from another thread, taken once (service thread); nullopt when none is pending.
  std::optional<std::string> take_kill_request();
  [[nodiscard]] bool on_service_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

  std::string name_;
  ws_options options_;
  callbacks cb_;

  std::mutex ctx_mu_;  // ctx_ as other threads see it (the service thread destroys it)
  lws_context* ctx_ = nullptr;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> open_{false};
  std::unique_ptr<tick_timer> timer_;

  // Service thread only.
  lws* wsi_ = nullptr;
  bool connecting_ = false;
  bool was_open_ = false;
  std::string url_storage_;  // lws keeps pointers into the connect info until the upgrade
  std::string host_storage_;
  ws_url target_;
  std::string rx_;
  std::string pending_close_why_;
  clock::time_point next_attempt_{};
  clock::time_point last_rx_{}, last_ping_{};
  int failures_ = 0;  // consecutive attempts or connections that delivered nothing
  bool healthy_ = false;
  std::mt19937_64 rng_;

  // Shared with other threads.
  mutable std::mutex mu_;
  struct out_msg {
    std::string text;
    bool ping = false;
  };
  std::deque<out_msg> outq_;
  std::optional<std::string> kill_request_;  // reconnect() from another thread: why
  stats stats_;
};

// The stream_events a venue's streams share: set at any time from any thread, read by every
// stream thread (each call takes the current set).
class stream_events_hub {
 public:
  void set(venue::stream_events ev) {
    auto p = std::make_shared<const venue::stream_events>(std::move(ev));
    std::lock_guard lock(mu_);
    ev_ = std::move(p);
  }
  [[nodiscard]] std::shared_ptr<const venue::stream_events> get() const {
    std::lock_guard lock(mu_);
    return ev_;
  }
  void connection(const std::string& stream, bool connected) const {
    if (auto e = get(); e && e->on_connection) e->on_connection(stream, connected);
  }
  void book_resync(const std::string& symbol) const {
    if (auto e = get(); e && e->on_book_resync) e->on_book_resync(symbol);
  }
  void status(const venue::venue_status& s) const {
    if (auto e = get(); e && e->on_status) e->on_status(s);
  }
  void error(const std::string& what) const {
    if (auto e = get(); e && e->on_error) e->on_error(what);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const venue::stream_events> ev_;
};

}  // namespace pt::connectors
