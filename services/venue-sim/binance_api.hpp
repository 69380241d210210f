#pragma once
// Binance USD-M futures REST paths served by venue-sim (exchanges.md B5).
#include "http_common.hpp"

namespace pt::venue_sim {
void mount_binance(httplib::Server& server, world& w);
}
