#pragma once
// Poloniex Futures v3 connector: the Venue interface over the venue's REST API (exchanges.md A).
// Every order leaves rounded to the instrument's tick and lot (sizes in contracts); signatures
// use the server clock from the skew guard; the default base URL is the live venue, which only a
// live configuration may select — tests and paper trading point it at venue-sim.
#include "catalog_fallback.hpp"
#include "poloniex_stream.hpp"
#include "rest_session.hpp"
#include "venue/venue.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pt::connectors {

namespace pv = pt::venue;

struct poloniex_config {
  std::string rest_url = "https://api.poloniex.com";
  std::string ws_public_url = "wss://ws.poloniex.com/ws/v3/public";
  std::string ws_private_url = "wss://ws.poloniex.com/ws/v3/private";
  std::string api_key;     // from the environment only
  std::string api_secret;  // from the environment only; never logged
  std::int64_t recv_window_ms = 5000;
  pv::retry_config retry;
  std::chrono::milliseconds timeout{10000};
  std::uint64_t seed = 0;
  poloniex_stream_options stream;  // ping, stale timeout, backoff
  // docs/markets/*.json: the instrument list when the venue does not answer at start-up.
  catalog_fallback_config catalog;
};

class poloniex_connector final : public pv::venue {
 public:
  explicit poloniex_connector(poloniex_config config);

  [[nodiscard]] std::string name() const override;
  [[nodiscard]] const pv::capabilities& caps() const override;

  std::vector<pv::instrument> instruments() override;
  // True when the last instruments() came from the offline catalog, not the venue.
  [[nodiscard]] bool instruments_from_catalog() const { return from_catalog_.load(); }
  std::vector<pv::candle> klines(const pv::kline_query& q) override;
  pv::order_book book(const std::string& symbol, int depth) override;
  std::vector<pv::public_trade> trades(const std::string& symbol, int limit) override;
  pv::ticker get_ticker(const std::string& symbol) override;
  pv::mark_price get_mark_price(const std::string& symbol) override;
  pv::funding_rate get_funding_rate(const std::string& symbol) override;
  std::vector<pv::funding_rate> funding_history(const std::string& symbol, std::optional<pv::epoch_ms> start,
                                                   std::optional<pv::epoch_ms> end, int limit) override;
  pv::epoch_ms server_time() override;

  std::vector<pv::balance> balances() override;
  std::vector<pv::position> positions() override;
  std::vector<pv::order> open_orders(const std::string& symbol) override;
  pv::order place_order(const pv::order_request& r) override;
  pv::order cancel_order(const std::string& symbol, const std::string& client_id) override;
  std::optional<pv::order> query_order(const std::string& symbol, const std::string& client_id) override;
  void set_leverage(const std::string& symbol, int leverage, pv::margin_mode mode) override;
  void set_margin_mode(const std::string& symbol, pv::margin_mode mode) override;
  void set_position_mode(pv::position_mode mode) override;
  pv::position_mode get_position_mode() override;
  pv::symbol_settings get_symbol_settings(const std::string& symbol, pv::margin_mode mode) override;
  std::optional<pv::key_permissions> get_key_permissions() override;
  std::vector<pv::fill> fills(const std::string& symbol, std::optional<pv::epoch_ms> start) override;
  std::vector<pv::bill> bills(std::optional<pv::epoch_ms> start) override;

  // WebSocket streams (poloniex_stream.hpp): handlers run on the stream's own thread, one per
  // connection. set_stream_events may come before or after the subscriptions.
  void subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) override;
  void subscribe_private(pv::private_handlers handlers) override;
  void set_stream_events(pv::stream_events events) override;
  void close_streams() override;

  // Synchronises the signing clock with GET /timestamp (done lazily before the first private call).
  void sync_clock();
  [[nodiscard]] rest_session& session() { return session_; }
  // The instrument (loaded from the venue on first use); throws venue_error(reject) if unknown.
  [[nodiscard]] pv::instrument instrument_of(const std::string& symbol);

 private:
  http_response get_public(const std::string& path, const pv::query_params& q, std::string_view group);
  http_response signed_call(const std::string& method, const std::string& path, const pv::query_params& q,
                            const std::string& body, pv::request_kind kind, std::string_view group);

  poloniex_config config_;
  rest_session session_;
  std::mutex instruments_mutex_;
  std::atomic<bool> from_catalog_{false};
  std::map<std::string, pv::instrument> instruments_;
  std::atomic<bool> clock_synced_{false};  // read by stream threads (private login) too
  std::unique_ptr<poloniex_stream> stream_;  // last: its threads call the REST side above
};

}  // namespace pt::connectors
