#pragma once
// Binance USD-M WebSocket streams after the 2026 host split (exchanges.md B1/B8/B9) for
// binance_connector.
//
// Public: each subscribe_public call opens combined-stream connections to the entry points it
// needs: <base>/public/stream?streams=<s>@depth@100ms (books) and <base>/market/stream?streams=
// <s>@kline_<i>/<s>@aggTrade/<s>@markPrice@1s/<s>@ticker (the rest; funding comes from the mark
// price stream's r/T). Books follow the documented local-book procedure: diffs are buffered, the
// REST snapshot (GET /fapi/v1/depth) is emitted as a snapshot, events with u < lastUpdateId are
// dropped, the first one applied must straddle it (U <= lastUpdateId <= u), and each later
// one's pu must be the previous u. A break (or a first event past the snapshot) refetches the
// snapshot, emits it and calls on_book_resync. A snapshot that fails is retried every
// `snapshot_retry`; an HTTP 503 raises on_status(maintenance), the next success normal.
// Private: a listenKey from POST /fapi/v1/listenKey (fetched again on every (re)connect), the
// connection <base>/private/ws?listenKey=..&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/
// listenKeyExpired/ALGO_UPDATE, a keep-alive PUT every `listen_key_keepalive`; listenKeyExpired
// or a -1125 answer to the PUT reconnects with a new key. ORDER_TRADE_UPDATE gives on_order and,
// for x=TRADE, on_fill; ACCOUNT_UPDATE gives on_position per position (mark 0, leverage 1: the
// event has neither) and, as the event carries only wallet figures, on_balance from a REST
// balances() call (refresh_balances). ALGO_UPDATE is not passed on (no handler for it).
//
// on_connection(stream, true) is raised once the venue answered a request sent after the
// upgrade (so the URL's streams are live), false when that connection ends. Stream names:
// "binance/public", "binance/market", "binance/private" ("#2"... for later subscribe_public calls).
//
// Threads: each connection has its own thread; every handler of that connection, the REST
// snapshot and the keep-alive run on it.
#include "stream_sessions.hpp"
#include "ws_client.hpp"

#include "venue/venue.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pt::connectors {

class binance_connector;

struct binance_stream_options {
  ws_options ws = [] {
    ws_options o;
    o.ping_interval = std::chrono::milliseconds(20000);  // WebSocket ping frames; the venue answers with pongs
    o.stale_timeout = std::chrono::milliseconds(60000);  // a user stream may be quiet: pongs keep it alive
    return o;
  }();
  int depth_limit = 1000;  // REST snapshot size for the local book (weight 20)
  std::chrono::milliseconds listen_key_keepalive{30 * 60 * 1000};  // B9: PUT every <= 60 min
  std::chrono::milliseconds snapshot_retry{1000};
  bool refresh_balances = true;
  std::size_t max_buffered_events = 10000;  // per symbol while no snapshot is held
};

class binance_stream {
 public:
  // `api_key` only tells whether a private stream is possible (the connector signs the calls).
  binance_stream(binance_connector& rest, std::string ws_base_url, std::string api_key, binance_stream_options options);
  ~binance_stream();  // close()
  binance_stream(const binance_stream&) = delete;
  binance_stream& operator=(const binance_stream&) = delete;

  void set_events(venue::stream_events events);
  // Throws std::invalid_argument without symbols.
  void subscribe_public(const venue::public_subscription& sub, venue::public_handlers handlers);
  // Throws venue_error(reject) without an API key.
  void subscribe_private(venue::private_handlers handlers);
  void close();  // must not be called from a handler

  [[nodiscard]] ws_client::stats counters() const;

  class session;

 private:
  binance_connector& rest_;
  std::string base_url_;
  bool have_key_ = false;
  binance_stream_options options_;
  stream_events_hub events_;
  stream_sessions<session> sessions_;
};

}  // namespace pt::connectors
