#pragma once
// Poloniex Futures v3 WebSocket streams (exchanges.md A8) for poloniex_connector.
//
// Public: one connection per subscribe_public call on /ws/v3/public, subscribing candles_<i>,
// book_lv2, trades, tickers, mark_price, funding_rate (those with a handler) and `symbol` (for
// instrument status). book_lv2 is checked: every update's `lid` must be the previous `id`; a gap
// fetches the book over REST through the connector, emits it as a snapshot, resubscribes the
// symbol (the venue answers with a fresh snapshot the updates continue from) and calls
// on_book_resync. Updates between the gap and the new snapshot are dropped.
// Private: /ws/v3/private, login with the connector's server-synced clock, then orders, trade
// (fills), positions, account.
//
// Every (re)connect resubscribes. on_connection(stream, true) is raised once the venue has
// answered the subscriptions (a ping sent after them is answered), on_connection(stream, false)
// when that connection ends. Stream names: "poloniex/public", "poloniex/public#2", ...,
// "poloniex/private".
//
// Threads: each connection has its own thread and every handler of that connection runs on it;
// handlers of different connections may run at the same time. A handler that blocks holds up its
// connection only. The REST resync runs on the stream's thread too.
#include "stream_sessions.hpp"
#include "ws_client.hpp"

#include "venue/venue.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pt::connectors {

class poloniex_connector;

struct poloniex_stream_options {
  ws_options ws = [] {
    ws_options o;
    o.ping_interval = std::chrono::milliseconds(5000);   // the PSDK's period; the venue drops a socket silent 30 s
    o.stale_timeout = std::chrono::milliseconds(20000);  // pongs count: this catches a dead link
    return o;
  }();
  int resync_depth = 20;  // the REST book emitted on a gap (book_lv2 carries 20 levels)
};

class poloniex_stream {
 public:
  poloniex_stream(poloniex_connector& rest, std::string public_url, std::string private_url, std::string api_key,
                  std::string api_secret, poloniex_stream_options options);
  ~poloniex_stream();  // close()
  poloniex_stream(const poloniex_stream&) = delete;
  poloniex_stream& operator=(const poloniex_stream&) = delete;

  void set_events(venue::stream_events events);
  // Connects (asynchronously) and subscribes; throws std::invalid_argument for an interval
  // Poloniex does not stream.
  void subscribe_public(const venue::public_subscription& sub, venue::public_handlers handlers);
  // Throws venue_error(reject) without an API key. Syncs the signing clock first (REST).
  void subscribe_private(venue::private_handlers handlers);
  // Stops every connection and joins its thread. Must not be called from a handler.
  void close();

  // Summed over the connections.
  [[nodiscard]] ws_client::stats counters() const;

  class session;

 private:
  poloniex_connector& rest_;
  std::string public_url_, private_url_, api_key_, api_secret_;
  poloniex_stream_options options_;
  stream_events_hub events_;
  stream_sessions<session> sessions_;
};

}  // namespace pt::connectors
