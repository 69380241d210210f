#pragma once
// One place that turns a service's venue settings into a connector, so marketdata, guardian,
// execution and panic cannot drift apart on defaults, key handling or which stream a URL names.
#include "connectors/binance_connector.hpp"
#include "connectors/poloniex_connector.hpp"
#include "venue/venue.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace pt::connectors {

struct connector_options {
  std::string venue = "poloniex";  // poloniex | binance
  std::string rest_url;            // "" = the venue's own address
  std::string ws_url;              // "" = the venue's own; Binance: the base, Poloniex: the stream below
  bool ws_private = false;         // Poloniex: ws_url names the private stream, else the public one
  std::string api_key, api_secret;  // from the environment only (keys_from_env)
  std::optional<std::chrono::milliseconds> timeout;  // REST; unset = the connector's default
};

struct connector {
  std::shared_ptr<pt::venue::venue> venue;
  binance_connector* binance = nullptr;    // set on Binance: its own calls (algo orders)
  poloniex_connector* poloniex = nullptr;  // set on Poloniex
  [[nodiscard]] pt::venue::instrument instrument_of(const std::string& symbol) const {
    return binance ? binance->instrument_of(symbol) : poloniex->instrument_of(symbol);
  }
};

// Throws std::invalid_argument for an unknown venue name.
[[nodiscard]] connector make_connector(const connector_options& o);

struct api_keys {
  std::string key, secret;
  [[nodiscard]] bool empty() const { return key.empty() || secret.empty(); }
};
// POLONIEX_API_KEY/SECRET or BINANCE_API_KEY/SECRET; both registered as log secrets, so no log
// line can carry them.
[[nodiscard]] api_keys keys_from_env(const std::string& venue);

}  // namespace pt::connectors
