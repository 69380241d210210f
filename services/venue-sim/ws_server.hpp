#pragma once
// A WebSocket server on one loopback port (libwebsockets), protocol-agnostic: it accepts
// upgrades the handler approves, hands complete text messages to the handler, and sends what any
// thread queues. One service thread runs the lws loop and makes every handler call; send() and
// close() may be called from any thread (the replay thread, HTTP threads, the control endpoint):
// they queue under a short mutex and wake the loop with lws_cancel_service(). Nothing that sends
// ever waits for the socket, so the world's mutex is never held across I/O.
//
// Lock order: a caller may hold the world mutex while it calls send(); the service thread never
// holds this server's queue mutex while it calls into the handler.
#include "venue/types.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

struct lws;
struct lws_context;
struct lws_sorted_usec_list;

namespace pt::venue_sim {

using conn_id = std::uint64_t;

// What a client asked for in its upgrade request.
struct ws_request {
  std::string path;   // URL-decoded path, e.g. "/ws/v3/public" or "/market/ws/btcusdt@kline_1m"
  std::string query;  // the query string's arguments joined by '&' (without '?')
  // The value of one query argument ("" when absent).
  [[nodiscard]] std::string arg(std::string_view name) const;
  [[nodiscard]] bool has_arg(std::string_view name) const;
};

class ws_handler {
 public:
  virtual ~ws_handler() = default;
  // Before the handshake completes: false refuses the upgrade (the client sees no 101).
  virtual bool accept(const ws_request& req) = 0;
  virtual void on_open(conn_id id, const ws_request& req) = 0;
  virtual void on_message(conn_id id, std::string_view text) = 0;
  virtual void on_close(conn_id id) = 0;
  // About once a second, on the service thread.
  virtual void on_tick() {}
};

struct ws_server_options {
  std::string name = "ws";         // for log lines
  std::string bind = "127.0.0.1";  // loopback only
  int port = 0;                    // 0: a free port (see port())
  // A client that reads slower than we push is dropped once this much waits for it, as the
  // venues drop slow consumers (the alternative, blocking the replay, would stall every client).
  std::size_t max_queue_bytes = 256u << 20;
  // Close a connection that has sent nothing for this long (0: never). Poloniex: 30 s.
  std::chrono::milliseconds idle_timeout{0};
  std::size_t max_message_bytes = 64u << 10;  // a larger client message closes with 1009
};

// A frame already padded with the LWS_PRE bytes lws needs in front of the payload, so one
// rendering can be queued to many connections without a copy.
class ws_frame {
 public:
  explicit ws_frame(std::string_view text);
  [[nodiscard]] std::string_view text() const;
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] unsigned char* payload() { return reinterpret_cast<unsigned char*>(buf_.data()) + pre_; }

 private:
  std::string buf_;
  std::size_t pre_ = 0;
  std::size_t size_ = 0;
};
using ws_frame_ptr = std::shared_ptr<ws_frame>;
[[nodiscard]] ws_frame_ptr make_frame(std::string_view text);

class ws_server {
 public:
  ws_server(ws_server_options options, ws_handler& handler);
  ~ws_server();
  ws_server(const ws_server&) = delete;
  ws_server& operator=(const ws_server&) = delete;

  // Binds (throws std::runtime_error when it cannot) and starts the service thread.
  void start();
  // Closes every connection (on_close is called for each) and joins the service thread.
  void stop();
  [[nodiscard]] int port() const { return port_; }

  // Thread-safe. A send to a connection that is gone is dropped.
  void send(conn_id id, std::string_view text);
  void send(conn_id id, const ws_frame_ptr& frame);
  // Closes one connection with a close frame; `flush` first sends what is queued for it.
  void close(conn_id id, int code = 1000, std::string reason = {}, bool flush = false);
  // Drops every connection now (queued frames are discarded).
  void close_all(int code, std::string reason);

  [[nodiscard]] std::size_t connections() const;
  [[nodiscard]] std::int64_t frames_sent() const { return frames_sent_.load(); }
  [[nodiscard]] std::int64_t bytes_sent() const { return bytes_sent_.load(); }

  // The lws callback (public for the C trampoline only).
  int on_callback(lws* wsi, int reason, void* user, void* in, std::size_t len);

 private:
  struct outbox {
    std::vector<ws_frame_ptr> q;  // FIFO from `head`
    std::size_t head = 0;
    std::size_t bytes = 0;
    bool close = false;
    bool flush = false;
    int code = 1000;
    std::string reason;
    bool dirty = false;
  };
  struct live_conn {  // service thread only
    lws* wsi = nullptr;
    std::string rx;
    std::chrono::steady_clock::time_point last_rx;
  };

  void run();
  void wake_locked();
  void mark_dirty_locked(conn_id id, outbox& o);
  void tick();
  static void tick_trampoline(::lws_sorted_usec_list* sul);
  int writeable(lws* wsi, conn_id id);

  ws_server_options options_;
  ws_handler& handler_;
  lws_context* ctx_ = nullptr;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  bool stopping_ = false;  // under mu_
  std::unordered_map<conn_id, outbox> out_;
  std::vector<conn_id> dirty_;
  bool wake_pending_ = false;
  bool close_all_ = false;
  int close_all_code_ = 1001;
  std::string close_all_reason_;

  std::unordered_map<conn_id, live_conn> live_;  // service thread only
  conn_id next_id_ = 1;
  struct tick_timer;
  std::unique_ptr<tick_timer> timer_;

  std::atomic<std::int64_t> frames_sent_{0};
  std::atomic<std::int64_t> bytes_sent_{0};
};

// ---- helpers both protocols share --------------------------------------------------------------

// Levels that differ between two books (same symbol): changed or new levels with their quantity,
// vanished levels with quantity 0. Best first on each side.
[[nodiscard]] venue::order_book book_diff(const venue::order_book& before, const venue::order_book& after);
[[nodiscard]] std::string ascii_lower(std::string_view s);
[[nodiscard]] std::string ascii_upper(std::string_view s);

}  // namespace pt::venue_sim
