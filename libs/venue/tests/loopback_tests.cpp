#include "venue/loopback.hpp"

#include <catch2/catch.hpp>

using pt::venue::is_loopback_url;

TEST_CASE("loopback URLs are recognised by their host") {
  CHECK(is_loopback_url("http://127.0.0.1:18100"));
  CHECK(is_loopback_url("ws://127.0.0.1:18101/ws/public"));
  CHECK(is_loopback_url("https://127.1.2.3/api"));
  CHECK(is_loopback_url("http://localhost:8080/x?y=1"));
  CHECK(is_loopback_url("HTTP://LOCALHOST"));
  CHECK(is_loopback_url("wss://[::1]:9443"));
}

TEST_CASE("anything else is a live venue") {
  CHECK_FALSE(is_loopback_url(""));
  CHECK_FALSE(is_loopback_url("https://api.poloniex.com"));
  CHECK_FALSE(is_loopback_url("wss://fstream.binance.com/ws"));
  CHECK_FALSE(is_loopback_url("https://evil.example/?u=http://127.0.0.1"));
  CHECK_FALSE(is_loopback_url("https://127.0.0.1.evil.example/"));
  CHECK_FALSE(is_loopback_url("https://localhost.evil.example"));
  CHECK_FALSE(is_loopback_url("https://127.0.0.1@evil.example/"));
  CHECK_FALSE(is_loopback_url("http://128.0.0.1"));
  CHECK_FALSE(is_loopback_url("http://127.0.0.256"));
  CHECK_FALSE(is_loopback_url("http://127.0.0"));
  CHECK_FALSE(is_loopback_url("http://[::2]:80"));
  CHECK_FALSE(is_loopback_url("ftp://127.0.0.1"));
  CHECK_FALSE(is_loopback_url("127.0.0.1:80"));
  CHECK_FALSE(is_loopback_url("http://127.0.0.1:80x"));
}

TEST_CASE("private-network venue URLs: containers yes, anything public no") {
  using pt::venue::is_private_network_url;
  CHECK(is_private_network_url("http://127.0.0.1:18100"));
  CHECK(is_private_network_url("http://venue-sim:18100"));  // compose service name
  CHECK(is_private_network_url("ws://venue-sim:18101/ws/v3/private"));
  CHECK(is_private_network_url("http://venue-sim.railway.internal:18100"));
  CHECK(is_private_network_url("http://10.1.2.3:80"));
  CHECK(is_private_network_url("http://172.16.0.9"));
  CHECK(is_private_network_url("http://172.31.255.1"));
  CHECK(is_private_network_url("http://192.168.1.10:8080"));
  CHECK(is_private_network_url("http://[fd12:3456::1]:8080"));
  CHECK_FALSE(is_private_network_url("https://api.poloniex.com"));
  CHECK_FALSE(is_private_network_url("wss://fstream.binance.com/ws"));
  CHECK_FALSE(is_private_network_url("http://172.32.0.1"));
  CHECK_FALSE(is_private_network_url("http://8.8.8.8"));
  CHECK_FALSE(is_private_network_url("http://134744072"));  // 8.8.8.8 to inet_aton
  CHECK_FALSE(is_private_network_url("http://0x08080808"));
  CHECK_FALSE(is_private_network_url("http://railway.internal.evil.example"));
  CHECK_FALSE(is_private_network_url("http://evil.example/x.railway.internal"));
  CHECK_FALSE(is_private_network_url("http://venue-sim@api.poloniex.com"));
  CHECK_FALSE(is_private_network_url("http://[2001:db8::1]"));
  CHECK_FALSE(is_private_network_url("http://-x"));
  CHECK_FALSE(is_private_network_url(""));
}

TEST_CASE("a venue connection is paper only when both its URLs are") {
  using pt::venue::is_paper_venue;
  CHECK(is_paper_venue("http://127.0.0.1:18100", ""));
  CHECK(is_paper_venue("http://127.0.0.1:18100", "ws://127.0.0.1:18101/ws/v3/private"));
  CHECK_FALSE(is_paper_venue("http://127.0.0.1:18100", "wss://fstream.binance.com/ws"));
  CHECK_FALSE(is_paper_venue("https://api.poloniex.com", "ws://127.0.0.1:18101"));
  CHECK_FALSE(is_paper_venue("", ""));  // the venue's default (live) address
}
