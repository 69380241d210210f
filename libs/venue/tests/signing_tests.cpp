#include "venue/signing.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace pt::venue;

namespace {
// exchanges.md B3 / C1 (official Binance USD-M doc example).
constexpr const char* bn_secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
constexpr const char* bn_total =
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&"
    "timestamp=1591702613943";
constexpr const char* bn_sig = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9";

// A made-up secret for Poloniex (no official vector exists, exchanges.md A2). Each expected value
// below was computed independently with:
//   printf '<pre-hash>' | openssl dgst -sha256 -hmac 'pt-test-secret-not-real' -binary | base64
constexpr const char* px_secret = "pt-test-secret-not-real";
}  // namespace

TEST_CASE("signing: HMAC-SHA256 matches RFC 4231 test case 2 in hex and base64") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_base64("Jefe", "what do ya want for nothing?") ==
        "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
  // Empty key and message are legal HMAC inputs (openssl dgst -sha256 -hmac '' on empty input).
  CHECK(hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("signing: Binance official fapi vector matches byte for byte") {
  CHECK(binance_sign(bn_total, bn_secret) == bn_sig);
  // Spot doc vector, same scheme (exchanges.md B3).
  CHECK(binance_sign("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&"
                     "recvWindow=5000&timestamp=1499827319559",
                     "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j") ==
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
  // Mixed query+body example: concatenated with no '&' (the doc's literal typo included).
  CHECK(binance_sign(std::string("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC") +
                         "quantity=1&price=9000&recvWindow=5000&timestamp= 1591702613943",
                     bn_secret) == "f9d0ae5e813ef6ccf15c2b5a434047a0181cb5a342b903b367ca6d27a66e36f2");
  // One changed byte changes the signature.
  std::string tampered = bn_total;
  tampered.back() = '4';
  CHECK(binance_sign(tampered, bn_secret) != bn_sig);
}

TEST_CASE("signing: binance_signed_query builds the official example and appends the signature") {
  const query_params p{{"symbol", "BTCUSDT"}, {"side", "BUY"},    {"type", "LIMIT"},
                       {"quantity", "1"},     {"price", "9000"}, {"timeInForce", "GTC"}};
  const std::string q = binance_signed_query(p, 1591702613943, 5000, bn_secret);
  CHECK(q == std::string(bn_total) + "&signature=" + bn_sig);

  // Without recvWindow the timestamp follows the params directly and the signature covers it.
  const std::string q2 = binance_signed_query({{"symbol", "BTCUSDT"}}, 42, std::nullopt, bn_secret);
  CHECK(q2 == "symbol=BTCUSDT&timestamp=42&signature=" +
                  hmac_sha256_hex(bn_secret, "symbol=BTCUSDT&timestamp=42"));
  // Values are percent-encoded before signing (sign the bytes on the wire).
  const std::string q3 = binance_signed_query({{"orderIdList", "[1,2]"}}, 7, std::nullopt, bn_secret);
  CHECK(q3.rfind("orderIdList=%5B1%2C2%5D&timestamp=7&signature=", 0) == 0);

  CHECK_THROWS_AS(binance_signed_query({{"timestamp", "1"}}, 1, std::nullopt, bn_secret),
                  std::invalid_argument);
  CHECK_THROWS_AS(binance_signed_query({{"signature", "x"}}, 1, std::nullopt, bn_secret),
                  std::invalid_argument);
  CHECK_THROWS_AS(binance_signed_query(p, 1, 0, bn_secret), std::invalid_argument);
  CHECK_THROWS_AS(binance_sign(bn_total, ""), std::invalid_argument);
}

TEST_CASE("signing: errors never carry the secret") {
  const std::string secret = "SUPERSECRET-do-not-leak";
  const auto check_no_secret = [&](auto&& fn) {
    try {
      fn();
      FAIL("expected an exception");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
  };
  check_no_secret([&] { (void)binance_signed_query({{"recvWindow", "1"}}, 1, std::nullopt, secret); });
  check_no_secret([&] { (void)poloniex_sign("get", "/v3/x", {}, {}, 1, secret); });
  check_no_secret([&] { (void)poloniex_sign("GET", "/v3/x", {}, "{}", 1, secret); });
  check_no_secret([&] { (void)poloniex_auth("", "GET", "/v3/x", {}, {}, 1, secret); });
}

TEST_CASE("signing: Poloniex pre-hash sorts params in ASCII order and adds signTimestamp") {
  // The PDOC example string.
  CHECK(poloniex_prehash("GET", "/orders", {{"symbol", "ETH_USDT"}, {"limit", "5"}}, {},
                         1659259836247) ==
        "GET\n/orders\nlimit=5&signTimestamp=1659259836247&symbol=ETH_USDT");
  // "sT" < "si" in ASCII: upper case sorts before lower case.
  CHECK(poloniex_prehash("GET", "/v3/trade/order/opens",
                         {{"symbol", "BTC_USDT_PERP"}, {"sTime", "1659250000000"}, {"limit", "5"}},
                         {}, 1659259836247) ==
        "GET\n/v3/trade/order/opens\nlimit=5&sTime=1659250000000&signTimestamp=1659259836247&"
        "symbol=BTC_USDT_PERP");
  // No params at all: just the timestamp. Same for a POST with an empty body.
  CHECK(poloniex_prehash("GET", "/v3/account/balance", {}, {}, 1) ==
        "GET\n/v3/account/balance\nsignTimestamp=1");
  CHECK(poloniex_prehash("POST", "/v3/trade/positionAll", {}, {}, 1700000000000) ==
        "POST\n/v3/trade/positionAll\nsignTimestamp=1700000000000");
  // Values use encodeURIComponent's set: space -> %20, '+', '/', '&' encoded, ~()*!' kept.
  CHECK(poloniex_prehash("GET", "/v3/market/x", {{"note", "a b+c/&~()*!'"}}, {}, 1) ==
        "GET\n/v3/market/x\nnote=a%20b%2Bc%2F%26~()*!'&signTimestamp=1");
}

TEST_CASE("signing: Poloniex pre-hash with a JSON body signs the exact bytes, unsorted") {
  const std::string body = R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","sz":"1","px":"60000.5","clOrdId":"ptb-abc"})";
  CHECK(poloniex_prehash("POST", "/v3/trade/order", {}, body, 1700000000000) ==
        "POST\n/v3/trade/order\nrequestBody=" + body + "&signTimestamp=1700000000000");
  // Whitespace is part of the signed bytes.
  const std::string spaced = R"({"symbol": "BTC_USDT_PERP"})";
  CHECK(poloniex_prehash("DELETE", "/v3/trade/order", {}, spaced, 5) ==
        "DELETE\n/v3/trade/order\nrequestBody={\"symbol\": \"BTC_USDT_PERP\"}&signTimestamp=5");
  CHECK(poloniex_sign("DELETE", "/v3/trade/order", {}, spaced, 5, px_secret) !=
        poloniex_sign("DELETE", "/v3/trade/order", {}, R"({"symbol":"BTC_USDT_PERP"})", 5, px_secret));
}

TEST_CASE("signing: Poloniex pre-hash rejects malformed requests") {
  CHECK_THROWS_AS(poloniex_prehash("get", "/v3/x", {}, {}, 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("PATCH", "/v3/x", {}, {}, 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("GET", "v3/x", {}, {}, 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("GET", "/v3/x?a=1", {}, {}, 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("GET", "/v3/x", {}, "{}", 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("POST", "/v3/x", {{"a", "1"}}, "{}", 1), std::invalid_argument);
  CHECK_THROWS_AS(poloniex_prehash("GET", "/v3/x", {{"signTimestamp", "1"}}, {}, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(poloniex_sign("GET", "/v3/x", {}, {}, 1, ""), std::invalid_argument);
}

TEST_CASE("signing: Poloniex signatures match openssl-computed vectors") {
  // printf 'GET\n/v3/trade/order/opens\nlimit=5&sTime=1659250000000&signTimestamp=1659259836247&symbol=BTC_USDT_PERP' | openssl dgst -sha256 -hmac 'pt-test-secret-not-real' -binary | base64
  CHECK(poloniex_sign("GET", "/v3/trade/order/opens",
                      {{"symbol", "BTC_USDT_PERP"}, {"sTime", "1659250000000"}, {"limit", "5"}}, {},
                      1659259836247, px_secret) == "aig2q1SEiNw3130WdNsUkPgUTdBPMZn75fzBVAYC9xY=");
  // printf 'POST\n/v3/trade/order\nrequestBody={"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","sz":"1","px":"60000.5","clOrdId":"ptb-abc"}&signTimestamp=1700000000000' | openssl dgst -sha256 -hmac 'pt-test-secret-not-real' -binary | base64
  CHECK(poloniex_sign("POST", "/v3/trade/order", {},
                      R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","sz":"1","px":"60000.5","clOrdId":"ptb-abc"})",
                      1700000000000, px_secret) == "aPK2Nu9qC1SFMT8KOoXRdfZwANDGZQkTBBRHfTLUpq4=");
  // printf 'POST\n/v3/trade/positionAll\nsignTimestamp=1700000000000' | openssl dgst -sha256 -hmac 'pt-test-secret-not-real' -binary | base64
  CHECK(poloniex_sign("POST", "/v3/trade/positionAll", {}, {}, 1700000000000, px_secret) ==
        "bo+pO1DUtxbuSfH1kfw5M0H6jOa27X0Zv3mDrTtK03w=");
  // printf 'GET\n/ws\nsignTimestamp=1631018760000' | openssl dgst -sha256 -hmac 'pt-test-secret-not-real' -binary | base64
  CHECK(poloniex_ws_signature(1631018760000, px_secret) == "9Slh5VPnrXbO3Ty4zBcLaCgeYm7JajTbF7NtOrtIcLg=");
}

TEST_CASE("signing: Poloniex header set and WS login frame") {
  const auto h = poloniex_auth("my-key", "POST", "/v3/trade/positionAll", {}, {}, 1700000000000,
                               px_secret);
  CHECK(h.key == "my-key");
  CHECK(h.sign_timestamp == "1700000000000");
  CHECK(h.signature == "bo+pO1DUtxbuSfH1kfw5M0H6jOa27X0Zv3mDrTtK03w=");
  const auto list = h.as_list();
  REQUIRE(list.size() == 5);
  CHECK(list[0] == std::pair<std::string, std::string>{"key", "my-key"});
  CHECK(list[1].first == "signTimestamp");
  CHECK(list[2] == std::pair<std::string, std::string>{"signature", h.signature});
  CHECK(list[3] == std::pair<std::string, std::string>{"signatureMethod", "hmacSHA256"});
  CHECK(list[4] == std::pair<std::string, std::string>{"signatureVersion", "1"});
  for (const auto& [name, value] : list) CHECK(value.find(px_secret) == std::string::npos);

  const auto msg = nlohmann::json::parse(poloniex_ws_auth_message("my-key", 1631018760000, px_secret));
  CHECK(msg["event"] == "subscribe");
  CHECK(msg["channel"] == nlohmann::json::array({"auth"}));
  CHECK(msg["params"]["key"] == "my-key");
  CHECK(msg["params"]["signTimestamp"].is_number_integer());
  CHECK(msg["params"]["signTimestamp"].get<std::int64_t>() == 1631018760000);
  CHECK(msg["params"]["signature"] == "9Slh5VPnrXbO3Ty4zBcLaCgeYm7JajTbF7NtOrtIcLg=");
}
