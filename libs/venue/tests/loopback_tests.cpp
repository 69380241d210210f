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
