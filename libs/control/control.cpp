#include "control/control.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <stdexcept>

namespace pt::control {

namespace {
std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xF];
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  unsigned char buf[32];
  if (bytes > sizeof buf || RAND_bytes(buf, static_cast<int>(bytes)) != 1)
    throw std::runtime_error("control: RAND_bytes failed");
  return to_hex(buf, bytes);
}

const std::string* string_field(const nlohmann::json& body, const char* name) {
  if (!body.is_object()) return nullptr;
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) return nullptr;
  const auto* s = it->get_ptr<const std::string*>();
  return s->empty() ? nullptr : s;
}
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len))
    throw std::runtime_error("control: HMAC-SHA256 failed");
  return to_hex(md, len);
}

std::string sign(std::string_view token, std::string_view subject, std::string_view ts, std::string_view nonce,
                 std::string_view request_id) {
  std::string msg;
  msg.reserve(subject.size() + ts.size() + nonce.size() + request_id.size() + 3);
  msg.append(subject).append("\n").append(ts).append("\n").append(nonce).append("\n").append(request_id);
  return hmac_sha256_hex(token, msg);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_nonce() { return random_hex(16); }
std::string random_request_id() { return "ctl-" + random_hex(8); }

nlohmann::json make_command(std::string_view token, std::string_view subject, std::string_view requested_by,
                            std::string_view reason, core::timestamp now) {
  nlohmann::json j;
  j["request_id"] = random_request_id();
  j["requested_by"] = std::string(requested_by);
  if (!reason.empty()) j["reason"] = std::string(reason);
  j["ts"] = now.to_iso8601();
  j["nonce"] = random_nonce();
  j["signature"] = sign(token, subject, j["ts"].get<std::string>(), j["nonce"].get<std::string>(),
                        j["request_id"].get<std::string>());
  return j;
}

nlohmann::json redact(const nlohmann::json& body) {
  nlohmann::json out = body;
  if (out.is_object()) out.erase("signature");
  return out;
}

verifier::verifier(std::string token, verifier_options opts) : token_(std::move(token)), opts_(opts) {}

verifier verifier::from_env(const char* var, verifier_options opts) {
  const char* v = std::getenv(var);
  return verifier(v ? std::string(v) : std::string(), opts);
}

verifier::verifier(verifier&& o) noexcept : token_(std::move(o.token_)), opts_(o.opts_) {
  std::lock_guard lk(o.mu_);
  order_ = std::move(o.order_);
  seen_ = std::move(o.seen_);
}

void verifier::expire(core::timestamp now) {
  while (!order_.empty() && now - order_.front().first > opts_.nonce_ttl) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

std::size_t verifier::nonces_held() const {
  std::lock_guard lk(mu_);
  return seen_.size();
}

verdict verifier::verify(std::string_view subject, const nlohmann::json& body, core::timestamp now) {
  if (!configured()) return {false, "refused: no control token configured (POLYTRADE_CTL_TOKEN)"};
  const auto* ts = string_field(body, "ts");
  const auto* nonce = string_field(body, "nonce");
  const auto* rid = string_field(body, "request_id");
  const auto* sig = string_field(body, "signature");
  if (!ts || !nonce || !rid || !sig) return {false, "refused: missing field (ts, nonce, request_id and signature are required)"};
  const auto expected = sign(token_, subject, *ts, *nonce, *rid);
  if (!constant_time_equal(expected, *sig)) return {false, "refused: bad signature"};
  core::timestamp at;
  try {
    at = core::timestamp::parse_iso8601(*ts);
  } catch (const std::exception&) {
    return {false, "refused: ts is not an ISO-8601 UTC time"};
  }
  const auto skew = now - at;
  if (skew > opts_.max_skew) return {false, "refused: stale command (ts older than the allowed skew)"};
  if (-skew > opts_.max_skew) return {false, "refused: command ts is in the future (beyond the allowed skew)"};
  std::lock_guard lk(mu_);
  expire(now);
  if (seen_.count(*nonce)) return {false, "refused: replayed nonce"};
  if (seen_.size() >= opts_.max_nonces) return {false, "refused: nonce cache full, try again later"};
  seen_.insert(*nonce);
  order_.emplace_back(now, *nonce);
  return {true, ""};
}

}  // namespace pt::control
