#include "connectors/make_connector.hpp"

#include "core/log.hpp"

#include <cstdlib>
#include <stdexcept>

namespace pt::connectors {

connector make_connector(const connector_options& o) {
  connector c;
  if (o.venue == "binance") {
    binance_config b;
    if (!o.rest_url.empty()) b.rest_url = b.sapi_url = o.rest_url;  // venue-sim serves both hosts on one port
    if (!o.ws_url.empty()) b.ws_base_url = o.ws_url;
    b.api_key = o.api_key;
    b.api_secret = o.api_secret;
    if (o.timeout) b.timeout = *o.timeout;
    auto v = std::make_shared<binance_connector>(b);
    c.binance = v.get();
    c.venue = std::move(v);
    return c;
  }
  if (o.venue != "poloniex") throw std::invalid_argument("unknown venue '" + o.venue + "' (poloniex | binance)");
  poloniex_config p;
  if (!o.rest_url.empty()) p.rest_url = o.rest_url;
  if (!o.ws_url.empty()) (o.ws_private ? p.ws_private_url : p.ws_public_url) = o.ws_url;
  p.api_key = o.api_key;
  p.api_secret = o.api_secret;
  if (o.timeout) p.timeout = *o.timeout;
  auto v = std::make_shared<poloniex_connector>(p);
  c.poloniex = v.get();
  c.venue = std::move(v);
  return c;
}

api_keys keys_from_env(const std::string& venue) {
  const bool binance = venue == "binance";
  auto env = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v ? v : "";
  };
  api_keys k{env(binance ? "BINANCE_API_KEY" : "POLONIEX_API_KEY"), env(binance ? "BINANCE_API_SECRET" : "POLONIEX_API_SECRET")};
  pt::log::register_secret(k.key);
  pt::log::register_secret(k.secret);
  return k;
}

}  // namespace pt::connectors
