#pragma once
// The Poloniex Futures v3 WebSocket protocol (exchanges.md A8) over the simulated exchange, on its
// own port: /ws/v3/public and /ws/v3/private.
//
//   client -> {"event":"ping"} (or plain "ping")      <- {"event":"pong"}
//   client -> {"event":"subscribe","channel":[..],"symbols":[..]}  <- one ack per channel, then data
//   client -> unsubscribe / unsubscribe_all / list_subscriptions
//   private: first {"event":"subscribe","channel":["auth"],"params":{key,signTimestamp,signature}}
//
// Public channels: symbol, book (top 5), book_lv2 (top-20 snapshot, then updates whose `lid` is
// the previous `id`), tickers, trades, mark_price, funding_rate, candles_<interval>. Market pushes
// follow each replay step (world_events::on_market); trades and the private channels (orders,
// trade, positions, account) follow the exchange's events as they happen. A socket silent for
// 30 s is closed, as the venue does. See README.md (WebSocket) for what is simplified.
#include "world.hpp"
#include "ws_server.hpp"

#include <chrono>
#include <string>
#include <memory>

namespace pt::venue_sim {

struct poloniex_ws_options {
  int port = 0;
  std::string bind = "127.0.0.1";  // loopback unless venue-sim --bind says otherwise (containers)
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_queue_bytes = 256u << 20;
};

class poloniex_ws {
 public:
  // Registers its listener with the world (world::add_events). The world must not fire events
  // after this object is gone: stop the world (or this) first.
  poloniex_ws(world& w, poloniex_ws_options options = {});
  ~poloniex_ws();
  poloniex_ws(const poloniex_ws&) = delete;
  poloniex_ws& operator=(const poloniex_ws&) = delete;

  void start();  // binds; throws std::runtime_error when it cannot
  void stop();
  [[nodiscard]] int port() const;
  // The drop_websockets fault: every connection closes now.
  void drop_all();
  [[nodiscard]] const ws_server& server() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pt::venue_sim
