#include "core/trace.hpp"

#include <catch2/catch.hpp>

namespace tr = pt::core::trace;

TEST_CASE("trace stamps are carried and read") {
  nlohmann::json bar{{"symbol", "BTC_USDT_PERP"}};
  tr::stamp(bar, "md_recv", 100);
  tr::stamp(bar, "md_pub", 0);  // unknown: not stamped
  CHECK(tr::get(bar, "md_recv") == 100);
  CHECK(tr::get(bar, "md_pub") == 0);
  CHECK_FALSE(bar["trace"].contains("md_pub"));

  nlohmann::json proposal{{"proposal_id", "p"}};
  tr::carry(bar, proposal);
  tr::stamp(proposal, "signal_recv", 150);
  CHECK(tr::get(proposal, "md_recv") == 100);
  CHECK(tr::get(proposal, "signal_recv") == 150);
  CHECK(tr::get(bar, "signal_recv") == 0);  // the source is untouched

  const auto stored = tr::without(proposal);
  CHECK_FALSE(stored.contains("trace"));
  CHECK(stored["proposal_id"] == "p");

  // Malformed or absent traces are ignored, not fatal.
  nlohmann::json odd{{"trace", "not an object"}};
  nlohmann::json to = nlohmann::json::object();
  tr::carry(odd, to);
  CHECK_FALSE(to.contains("trace"));
  CHECK(tr::get(odd, "md_recv") == 0);
  nlohmann::json text_stamp{{"trace", {{"md_recv", "12"}}}};
  CHECK(tr::get(text_stamp, "md_recv") == 0);
  CHECK(tr::now_ns() > 0);
}
