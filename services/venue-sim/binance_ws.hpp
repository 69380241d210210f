#pragma once
// The Binance USD-M WebSocket streams after the 2026 host split (exchanges.md B1/B8/B9), on one
// port with three entry points:
//
//   /public   depth (<s>@depth<5|10|20>[@100ms], <s>@depth[@100ms] diffs with U/u/pu), <s>@bookTicker
//   /market   <s>@kline_<i>, <s>@markPrice[@1s], !markPrice@arr[@1s], <s>@aggTrade, <s>@ticker
//   /private  user data: /private/ws?listenKey=<key>&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/...
//
// Each public entry point takes /ws/<stream>[/<stream>...] (raw frames) or /stream?streams=a/b
// (combined {"stream","data"}), and live {"method":"SUBSCRIBE"|"UNSUBSCRIBE"|"LIST_SUBSCRIPTIONS",
// "params":[...],"id":n}. A stream sent to the wrong entry point is acknowledged but never
// delivers, as on the venue. Depth diffs share the REST snapshot's id space (lastUpdateId of
// GET /fapi/v1/depth), so the documented local-book procedure works against venue-sim.
// The user stream delivers ORDER_TRADE_UPDATE (x=TRADE carries the fill), ACCOUNT_UPDATE and
// listenKeyExpired (after DELETE /fapi/v1/listenKey, or 60 min without a keepalive).
#include "world.hpp"
#include "ws_server.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace pt::venue_sim {

struct binance_ws_options {
  int port = 0;
  std::string bind = "127.0.0.1";  // loopback unless venue-sim --bind says otherwise (containers)
  std::chrono::milliseconds listen_key_validity{60 * 60 * 1000};
  std::size_t max_queue_bytes = 256u << 20;
};

class binance_ws {
 public:
  // Registers its listener with the world (world::add_events); stop the world before this goes.
  binance_ws(world& w, binance_ws_options options = {});
  ~binance_ws();
  binance_ws(const binance_ws&) = delete;
  binance_ws& operator=(const binance_ws&) = delete;

  void start();  // binds; throws std::runtime_error when it cannot
  void stop();
  [[nodiscard]] int port() const;
  void drop_all();  // the drop_websockets fault
  [[nodiscard]] const ws_server& server() const;

  // A listen-key call answered 200 by the REST side (POST/PUT keep the key alive, DELETE expires
  // it). `api_key` is the caller's X-MBX-APIKEY.
  void listen_key_call(const std::string& api_key, const std::string& method);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pt::venue_sim
