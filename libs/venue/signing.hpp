#pragma once
// Request signing for the venues, on OpenSSL's HMAC-SHA256 (no hand-written crypto).
// Secrets are only ever passed in; no function here logs them or puts them into an error message.
//
// Binance USD-M (exchanges.md B2/B3): signature = lower-case hex HMAC-SHA256(secret, totalParams),
// where totalParams is the query string concatenated with the form body; `signature` goes last.
// Poloniex Futures v3 (exchanges.md A2/A8): signature = base64 HMAC-SHA256(secret, pre-hash) with
// pre-hash "<METHOD>\n<path>\n<paramString>" (see poloniex_prehash()).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pt::venue {

// Ordered key/value pairs of a query string or form body (values unencoded).
using query_params = std::vector<std::pair<std::string, std::string>>;

[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);  // lower case
[[nodiscard]] std::string hmac_sha256_base64(std::string_view key, std::string_view message);

// Percent-encodes everything except A-Z a-z 0-9 and `extra_safe`; a space becomes %20.
// The default keeps the RFC 3986 unreserved set (-_.~).
[[nodiscard]] std::string percent_encode(std::string_view text, std::string_view extra_safe = "-_.~");

// ---- Binance USD-M -------------------------------------------------------------------------------

// Hex signature of the exact bytes that go on the wire (query string + body, no separator).
// Throws std::invalid_argument on an empty secret.
[[nodiscard]] std::string binance_sign(std::string_view total_params, std::string_view secret);

// "k1=v1&k2=v2&...[&recvWindow=R]&timestamp=T&signature=<hex>": params in the given order with
// percent-encoded values, then recvWindow (when set) and timestamp, then the signature of all
// that. Send the result as the query string, or as the form body of a POST/PUT/DELETE.
// Throws std::invalid_argument if params already carry timestamp/recvWindow/signature.
[[nodiscard]] std::string binance_signed_query(const query_params& params, std::int64_t timestamp_ms,
                                               std::optional<std::int64_t> recv_window_ms,
                                               std::string_view secret);

// ---- Poloniex Futures v3 ------------------------------------------------------------------------

// The exact string Poloniex v3 signs:
//   "<METHOD>\n<path>\n" + paramString, where paramString is
//   - no body:   every param plus signTimestamp, sorted by key (ASCII), values percent-encoded
//                (encodeURIComponent set), joined "k=v&..."; just "signTimestamp=<ts>" when there
//                are no params (this includes a POST with an empty body);
//   - with body: "requestBody=<body bytes as sent>&signTimestamp=<ts>" (body not re-sorted).
// method must be GET, POST, PUT or DELETE (upper case); path starts with '/' and has no query.
// Throws std::invalid_argument for a GET with a body, params together with a body (the signer and
// sender must share one serialisation; exchanges.md A2/A10), or a param named signTimestamp.
[[nodiscard]] std::string poloniex_prehash(std::string_view method, std::string_view path,
                                           const query_params& params, std::string_view body,
                                           std::int64_t timestamp_ms);

// base64 HMAC-SHA256 of poloniex_prehash(...).
[[nodiscard]] std::string poloniex_sign(std::string_view method, std::string_view path,
                                        const query_params& params, std::string_view body,
                                        std::int64_t timestamp_ms, std::string_view secret);

// Header set for a private Poloniex v3 REST call (names as they go on the wire in the comments).
struct poloniex_auth_headers {
  std::string key;                             // "key"
  std::string sign_timestamp;                  // "signTimestamp" (ms, decimal string)
  std::string signature;                       // "signature"
  std::string signature_method{"hmacSHA256"};  // "signatureMethod" (optional per PDOC)
  std::string signature_version{"1"};          // "signatureVersion" (optional per PDOC)

  // (name, value) pairs ready for an HTTP client.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> as_list() const;
};

[[nodiscard]] poloniex_auth_headers poloniex_auth(std::string_view api_key, std::string_view method,
                                                  std::string_view path, const query_params& params,
                                                  std::string_view body, std::int64_t timestamp_ms,
                                                  std::string_view secret);

// Private WebSocket login (exchanges.md A8): base64 HMAC of "GET\n/ws\nsignTimestamp=<ts>".
[[nodiscard]] std::string poloniex_ws_signature(std::int64_t timestamp_ms, std::string_view secret);

// The full login frame: {"event":"subscribe","channel":["auth"],"params":{"key":..,
// "signTimestamp":<ts as number>,"signature":..}} serialised compactly.
[[nodiscard]] std::string poloniex_ws_auth_message(std::string_view api_key, std::int64_t timestamp_ms,
                                                   std::string_view secret);

}  // namespace pt::venue
