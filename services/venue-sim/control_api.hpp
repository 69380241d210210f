#pragma once
// venue-sim's control endpoint (its own port, never faulted):
//   GET  /health                       {"status":"ok", market time, server time, replay events}
//   GET  /sim/status                   the same plus active faults and fired counts
//   POST /sim/faults   {"kind":"rate_limit","count":5,"duration_ms":2000,"value":0,"orders_only":false}
//   DELETE /sim/faults[?kind=...]      clear one or all
//   POST /sim/clock    {"advance_to":ms} | {"step_ms":ms} | {"pace":"lockstep|realtime|unthrottled|10x"}
//   GET  /sim/accounts?protocol=poloniex  balances and positions per API key (keys only, never secrets)
#include "http_common.hpp"

#include <functional>

namespace pt::venue_sim {
// `drop_websockets` is called when that fault is armed (the WS layer closes its connections).
void mount_control(httplib::Server& server, world& w, std::function<void()> drop_websockets);
}
