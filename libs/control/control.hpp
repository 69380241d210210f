#pragma once
// pt::control — authenticated operator commands (ctl.*). A command body (ctl.command.json)
// carries `nonce` and `signature` = hex HMAC-SHA256, keyed with the operator token
// (POLYTRADE_CTL_TOKEN), over `subject + "\n" + ts + "\n" + nonce + "\n" + request_id`.
// A service accepts a command only when a token is configured, the signature matches
// (constant-time compare), |now - ts| <= max skew (30 s, wall clock) and the nonce was not
// seen in the last 5 minutes. The token is never logged, never put in a reply or the ledger.
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace pt::control {

// Lower-case hex HMAC-SHA256(key, message) (OpenSSL libcrypto).
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The command signature over subject, ts (the ISO-8601 text as sent), nonce and request_id.
[[nodiscard]] std::string sign(std::string_view token, std::string_view subject, std::string_view ts,
                               std::string_view nonce, std::string_view request_id);

// Constant-time equality of two strings (length leaks, content does not).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

// A fresh random nonce / request id (hex from RAND_bytes), both valid for ctl.command.json.
[[nodiscard]] std::string random_nonce();
[[nodiscard]] std::string random_request_id();

// A signed ctl.command.json body for `subject` (ptctl, the panic tool, tests). `reason` may
// be empty (left out). request_id and nonce are fresh random values.
[[nodiscard]] nlohmann::json make_command(std::string_view token, std::string_view subject,
                                          std::string_view requested_by, std::string_view reason,
                                          core::timestamp now);

// The body with `signature` removed: what goes into the audit log.
[[nodiscard]] nlohmann::json redact(const nlohmann::json& body);

struct verdict {
  bool ok = false;
  std::string reason;  // why refused ("" when ok); never contains the token or the signature
  explicit operator bool() const { return ok; }
};

struct verifier_options {
  std::chrono::seconds max_skew{30};
  std::chrono::seconds nonce_ttl{300};
  std::size_t max_nonces = 4096;  // a full cache refuses new commands (fail closed)
};

class verifier {
 public:
  // An empty token means none is configured: every command is refused.
  explicit verifier(std::string token, verifier_options opts = {});
  // The token from the environment variable (POLYTRADE_CTL_TOKEN); absent/empty: none.
  [[nodiscard]] static verifier from_env(const char* var = "POLYTRADE_CTL_TOKEN", verifier_options opts = {});

  verifier(const verifier&) = delete;
  verifier& operator=(const verifier&) = delete;
  verifier(verifier&& o) noexcept;
  verifier& operator=(verifier&&) = delete;

  [[nodiscard]] bool configured() const { return !token_.empty(); }
  // Checks in this order: token configured, fields present, signature, skew, replay. Only an
  // accepted command's nonce is remembered (a forged one cannot burn a real nonce). Thread-safe.
  [[nodiscard]] verdict verify(std::string_view subject, const nlohmann::json& body, core::timestamp now);
  [[nodiscard]] std::size_t nonces_held() const;

 private:
  void expire(core::timestamp now);

  std::string token_;
  verifier_options opts_;
  mutable std::mutex mu_;
  std::deque<std::pair<core::timestamp, std::string>> order_;  // (seen at, nonce), oldest first
  std::unordered_set<std::string> seen_;
};

}  // namespace pt::control
