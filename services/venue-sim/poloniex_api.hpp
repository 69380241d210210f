#pragma once
// Poloniex Futures v3 REST paths served by venue-sim (exchanges.md A5/A6, plus the spot paths
// ccxt loads at start: /markets, /v2/currencies, /timestamp).
#include "http_common.hpp"

namespace pt::venue_sim {
void mount_poloniex(httplib::Server& server, world& w);
}
