#include "venue/client_order_id.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <unordered_set>

using namespace pt::venue;

namespace {
order_intent base_intent() {
  return {"trend-btc", "BTC_USDT_PERP", order_side::buy, "sig-20261121-0001", "entry", 0};
}
const std::regex binance_re(R"(^[\.A-Z\:/a-z0-9_-]{1,36}$)");
const std::regex poloniex_re(R"(^[A-Za-z0-9_-]{1,32}$)");
}  // namespace

TEST_CASE("client_order_id: same intent gives the same id, always") {
  const std::string a = make_client_order_id(base_intent());
  CHECK(a == make_client_order_id(base_intent()));
  // Pinned value: the id must never change across builds or releases, or a restart after an
  // upgrade could place an order twice.
  // Computed independently in Python: SHA-256 of
  // "polytrade-clordid-v1|9:trend-btc|13:BTC_USDT_PERP|3:buy|17:sig-20261121-0001|5:entry|1:0|",
  // first 130 bits in base32 "0123456789abcdefghjkmnpqrstvwxyz".
  CHECK(a == "ptb-xzdgpnvn55qexypndbwrzrj27r");
  CHECK(a.rfind("ptb-", 0) == 0);
  auto s = base_intent();
  s.side = order_side::sell;
  CHECK(make_client_order_id(s).rfind("pts-", 0) == 0);
}

TEST_CASE("client_order_id: each field changes the id") {
  const std::string a = make_client_order_id(base_intent());
  auto i = base_intent();
  i.strategy = "trend-btc2";
  CHECK(make_client_order_id(i) != a);
  i = base_intent();
  i.symbol = "BTCUSDT";
  CHECK(make_client_order_id(i) != a);
  i = base_intent();
  i.side = order_side::sell;
  CHECK(make_client_order_id(i).substr(4) != a.substr(4));
  i = base_intent();
  i.signal_id = "sig-20261121-0002";
  CHECK(make_client_order_id(i) != a);
  i = base_intent();
  i.leg = "sl";
  CHECK(make_client_order_id(i) != a);
  i = base_intent();
  i.attempt = 1;
  CHECK(make_client_order_id(i) != a);
  // Field boundaries matter: moving a character from one field to the next is a new intent.
  order_intent x{"ab", "c", order_side::buy, "s", "", 0};
  order_intent y{"a", "bc", order_side::buy, "s", "", 0};
  CHECK(make_client_order_id(x) != make_client_order_id(y));
}

TEST_CASE("client_order_id: 100k intents differing in one field are all distinct and valid") {
  // 100k varying the signal id (what changes in practice), 20k each for attempt and strategy:
  // keeps the ASan run short.
  for (int field = 0; field < 3; ++field) {
    const std::uint32_t count = field == 0 ? 100'000 : 20'000;
    std::unordered_set<std::string> seen;
    seen.reserve(count);
    std::size_t invalid = 0;  // counted, not REQUIREd per id: Catch's per-assertion cost dominates
    for (std::uint32_t n = 0; n < count; ++n) {
      auto i = base_intent();
      if (field == 0) i.signal_id = "sig-" + std::to_string(n);
      if (field == 1) i.attempt = n;
      if (field == 2) i.strategy = "strat-" + std::to_string(n);
      const std::string id = make_client_order_id(i);
      if (id.size() != client_order_id_length || !valid_binance_client_order_id(id) ||
          !valid_poloniex_client_order_id(id) || !is_polytrade_client_order_id(id)) {
        ++invalid;
      }
      seen.insert(id);
    }
    INFO("varied field " << field);
    CHECK(invalid == 0);
    CHECK(seen.size() == count);
  }
}

TEST_CASE("client_order_id: ids match both venues' documented or assumed patterns") {
  for (std::string leg : {"", "entry", "tp1", "sl", "a very long leg name with spaces / and : signs"}) {
    auto i = base_intent();
    i.leg = leg;
    const std::string id = make_client_order_id(i);
    CHECK(std::regex_match(id, binance_re));
    CHECK(std::regex_match(id, poloniex_re));
    CHECK(id.rfind("polo", 0) != 0);  // Poloniex's own default-id prefix
    CHECK(id.size() <= poloniex_client_order_id_max);
  }
}

TEST_CASE("client_order_id: validators accept and reject as the venue rules say") {
  CHECK(valid_binance_client_order_id("x"));
  CHECK(valid_binance_client_order_id("web.A:b/c_d-e"));
  CHECK(valid_binance_client_order_id(std::string(36, 'a')));
  CHECK_FALSE(valid_binance_client_order_id(""));
  CHECK_FALSE(valid_binance_client_order_id(std::string(37, 'a')));
  CHECK_FALSE(valid_binance_client_order_id("a b"));
  CHECK_FALSE(valid_binance_client_order_id("a+b"));

  CHECK(valid_poloniex_client_order_id("Ab_9-"));
  CHECK(valid_poloniex_client_order_id(std::string(32, 'z')));
  CHECK_FALSE(valid_poloniex_client_order_id(std::string(33, 'z')));
  CHECK_FALSE(valid_poloniex_client_order_id("a.b"));
  CHECK_FALSE(valid_poloniex_client_order_id(""));

  CHECK_FALSE(is_polytrade_client_order_id("ptb-short"));
  CHECK_FALSE(is_polytrade_client_order_id("polo12345678901234567890123456"));
}

TEST_CASE("client_order_id: missing intent fields are rejected with the field name") {
  auto i = base_intent();
  i.signal_id.clear();
  CHECK_THROWS_WITH(make_client_order_id(i), Catch::Contains("signal_id"));
  i = base_intent();
  i.strategy.clear();
  CHECK_THROWS_WITH(make_client_order_id(i), Catch::Contains("strategy"));
  i = base_intent();
  i.symbol.clear();
  CHECK_THROWS_AS(make_client_order_id(i), std::invalid_argument);
}
