#include "venue/signing.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace pt::venue {
namespace {

using digest = std::array<unsigned char, 32>;

digest hmac_sha256(std::string_view key, std::string_view message) {
  // HMAC() wants a non-null key pointer even for an empty key.
  static const unsigned char empty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&empty) : key.data();
  const unsigned char* msg_ptr =
      message.empty() ? &empty : reinterpret_cast<const unsigned char*>(message.data());
  digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), msg_ptr, message.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");  // never mention the key
  }
  return out;
}

void require_secret(std::string_view secret, const char* who) {
  if (secret.empty()) throw std::invalid_argument(std::string(who) + ": empty API secret");
}

bool valid_method(std::string_view m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "DELETE";
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  static constexpr char hex[] = "0123456789abcdef";
  const digest d = hmac_sha256(key, message);
  std::string out;
  out.reserve(d.size() * 2);
  for (unsigned char c : d) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0x0F]);
  }
  return out;
}

std::string hmac_sha256_base64(std::string_view key, std::string_view message) {
  const digest d = hmac_sha256(key, message);
  std::array<unsigned char, 4 * ((32 + 2) / 3) + 1> buf{};  // 44 chars + NUL
  const int n = EVP_EncodeBlock(buf.data(), d.data(), static_cast<int>(d.size()));
  return std::string(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
}

std::string percent_encode(std::string_view text, std::string_view extra_safe) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || (c < 0x80 && extra_safe.find(ch) != std::string_view::npos)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0x0F]);
    }
  }
  return out;
}

// ---- Binance -------------------------------------------------------------------------------------

std::string binance_sign(std::string_view total_params, std::string_view secret) {
  require_secret(secret, "binance_sign");
  return hmac_sha256_hex(secret, total_params);
}

std::string binance_signed_query(const query_params& params, std::int64_t timestamp_ms,
                                 std::optional<std::int64_t> recv_window_ms, std::string_view secret) {
  require_secret(secret, "binance_signed_query");
  std::string q;
  for (const auto& [k, v] : params) {
    if (k.empty()) throw std::invalid_argument("binance_signed_query: empty parameter name");
    if (k == "timestamp" || k == "recvWindow" || k == "signature") {
      throw std::invalid_argument("binance_signed_query: parameter '" + k +
                                  "' is added by the signer, do not pass it");
    }
    if (!q.empty()) q += '&';
    q += percent_encode(k);
    q += '=';
    q += percent_encode(v);
  }
  if (recv_window_ms) {
    if (*recv_window_ms <= 0 || *recv_window_ms > 60000) {
      throw std::invalid_argument("binance_signed_query: recvWindow " +
                                  std::to_string(*recv_window_ms) + " outside 1..60000 ms");
    }
    if (!q.empty()) q += '&';
    q += "recvWindow=" + std::to_string(*recv_window_ms);
  }
  if (!q.empty()) q += '&';
  q += "timestamp=" + std::to_string(timestamp_ms);
  const std::string sig = hmac_sha256_hex(secret, q);
  q += "&signature=";
  q += sig;
  return q;
}

// ---- Poloniex ------------------------------------------------------------------------------------

std::string poloniex_prehash(std::string_view method, std::string_view path, const query_params& params,
                             std::string_view body, std::int64_t timestamp_ms) {
  if (!valid_method(method)) {
    throw std::invalid_argument("poloniex_prehash: method '" + std::string(method) +
                                "' is not one of GET, POST, PUT, DELETE (upper case)");
  }
  if (path.empty() || path.front() != '/' || path.find('?') != std::string_view::npos) {
    throw std::invalid_argument("poloniex_prehash: path '" + std::string(path) +
                                "' must start with '/' and carry no query string");
  }
  if (method == "GET" && !body.empty()) {
    throw std::invalid_argument("poloniex_prehash: a GET request cannot carry a body");
  }
  if (!body.empty() && !params.empty()) {
    throw std::invalid_argument(
        "poloniex_prehash: query parameters together with a JSON body (put them in the body)");
  }
  const std::string ts = std::to_string(timestamp_ms);
  std::string out;
  out.reserve(method.size() + path.size() + body.size() + 64);
  out.append(method).append("\n").append(path).append("\n");
  if (!body.empty()) {
    out.append("requestBody=").append(body).append("&signTimestamp=").append(ts);
    return out;
  }
  std::vector<std::pair<std::string, std::string>> all;
  all.reserve(params.size() + 1);
  for (const auto& [k, v] : params) {
    if (k.empty()) throw std::invalid_argument("poloniex_prehash: empty parameter name");
    if (k == "signTimestamp") {
      throw std::invalid_argument("poloniex_prehash: signTimestamp is added by the signer, do not pass it");
    }
    all.emplace_back(k, v);
  }
  all.emplace_back("signTimestamp", ts);
  // ASCII order by key; stable so repeated keys keep the caller's order.
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // encodeURIComponent's safe set, as PSDK-PY's quote(v, safe="~()*!'").
  constexpr std::string_view safe = "-_.~()*!'";
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i) out += '&';
    out += all[i].first;
    out += '=';
    out += percent_encode(all[i].second, safe);
  }
  return out;
}

std::string poloniex_sign(std::string_view method, std::string_view path, const query_params& params,
                          std::string_view body, std::int64_t timestamp_ms, std::string_view secret) {
  require_secret(secret, "poloniex_sign");
  return hmac_sha256_base64(secret, poloniex_prehash(method, path, params, body, timestamp_ms));
}

std::vector<std::pair<std::string, std::string>> poloniex_auth_headers::as_list() const {
  return {{"key", key},
          {"signTimestamp", sign_timestamp},
          {"signature", signature},
          {"signatureMethod", signature_method},
          {"signatureVersion", signature_version}};
}

poloniex_auth_headers poloniex_auth(std::string_view api_key, std::string_view method,
                                    std::string_view path, const query_params& params,
                                    std::string_view body, std::int64_t timestamp_ms,
                                    std::string_view secret) {
  if (api_key.empty()) throw std::invalid_argument("poloniex_auth: empty API key");
  poloniex_auth_headers h;
  h.key = std::string(api_key);
  h.sign_timestamp = std::to_string(timestamp_ms);
  h.signature = poloniex_sign(method, path, params, body, timestamp_ms, secret);
  return h;
}

std::string poloniex_ws_signature(std::int64_t timestamp_ms, std::string_view secret) {
  return poloniex_sign("GET", "/ws", {}, {}, timestamp_ms, secret);
}

std::string poloniex_ws_auth_message(std::string_view api_key, std::int64_t timestamp_ms,
                                     std::string_view secret) {
  if (api_key.empty()) throw std::invalid_argument("poloniex_ws_auth_message: empty API key");
  nlohmann::json j = {{"event", "subscribe"},
                      {"channel", nlohmann::json::array({"auth"})},
                      {"params",
                       {{"key", std::string(api_key)},
                        {"signTimestamp", timestamp_ms},
                        {"signature", poloniex_ws_signature(timestamp_ms, secret)}}}};
  return j.dump();
}

}  // namespace pt::venue
