#pragma once
// Is a venue URL on this machine? Paper trading talks to venue-sim on loopback; anything else is
// a live account and needs the explicit live switch. The host is parsed, not searched for, so
// "https://evil.example/?u=http://127.0.0.1" is not loopback.
#include <string_view>

namespace pt::venue {

// True for http(s)/ws(s) URLs whose host is 127.0.0.0/8, localhost or [::1]. An empty URL means
// "the venue's default (live) address": false.
[[nodiscard]] bool is_loopback_url(std::string_view url);

}  // namespace pt::venue
