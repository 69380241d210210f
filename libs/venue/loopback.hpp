#pragma once
// Is a venue URL on this machine? Paper trading talks to venue-sim on loopback; anything else is
// a live account and needs the explicit live switch. The host is parsed, not searched for, so
// "https://evil.example/?u=http://127.0.0.1" is not loopback.
#include <string_view>

namespace pt::venue {

// True for http(s)/ws(s) URLs whose host is 127.0.0.0/8, localhost or [::1]. An empty URL means
// "the venue's default (live) address": false.
[[nodiscard]] bool is_loopback_url(std::string_view url);

// True for loopback, and for hosts only a private network resolves: 10/8, 172.16/12, 192.168/16,
// fc00::/7, a single-label name (a compose service: "venue-sim") or *.railway.internal (Railway's
// private network). No public exchange is reachable under such a name. Execution and the
// guardian accept one in paper mode only with POLYTRADE_PAPER_PRIVATE_VENUE=1 (venue-sim in its
// own container); anything else still needs the live switch.
[[nodiscard]] bool is_private_network_url(std::string_view url);

// The paper rule of execution and the guardian: loopback, or a private-network URL when the
// environment says POLYTRADE_PAPER_PRIVATE_VENUE=1. False means "a live venue".
[[nodiscard]] bool is_paper_venue_url(std::string_view url);
// A service's venue connection is paper when its REST URL and its WebSocket URL (when set) both are.
[[nodiscard]] bool is_paper_venue(std::string_view rest_url, std::string_view ws_url);

}  // namespace pt::venue
