#pragma once
// Configuration: one YAML file per deployment plus environment overrides, read through
// typed, validated getters. Every failure is a config::error whose message names the key,
// where its value came from, and why it is wrong.
//
// Environment overrides: POLYTRADE__SECTION__KEY=value sets `section.key` (double
// underscore = one level; names are lower-cased). Aliases map well-known variables such as
// NATS_URL to a key. Secrets (mark_secret) are registered with the log redactor.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pt::config {

class error : public std::runtime_error {
 public:
  error(std::string key, std::string message)
      : std::runtime_error(message), key_(std::move(key)) {}
  [[nodiscard]] const std::string& key() const { return key_; }

 private:
  std::string key_;
};

using env_map = std::map<std::string, std::string>;

// The process environment as a map.
[[nodiscard]] env_map process_env();

class document {
 public:
  document();

  // Throws config::error naming the file and line of a YAML syntax error.
  static document load_file(const std::string& path, const env_map& env = process_env(),
                            const std::map<std::string, std::string>& aliases = default_aliases());
  static document from_string(const std::string& yaml, const std::string& source_name,
                              const env_map& env = process_env(),
                              const std::map<std::string, std::string>& aliases = default_aliases());

  // NATS_URL -> bus.url, DATABASE_URL -> ledger.url, POLYTRADE_LOG_LEVEL -> log.level,
  // PORT -> health.http_port.
  static const std::map<std::string, std::string>& default_aliases();

  [[nodiscard]] bool has(const std::string& key) const;
  [[nodiscard]] std::string get_string(const std::string& key,
                                       std::optional<std::string> fallback = std::nullopt) const;
  [[nodiscard]] std::int64_t get_int(const std::string& key, std::int64_t min, std::int64_t max,
                                     std::optional<std::int64_t> fallback = std::nullopt) const;
  [[nodiscard]] bool get_bool(const std::string& key, std::optional<bool> fallback = std::nullopt) const;
  // "250ms", "2s", "1.5s", "5m", "1h", or a bare integer of milliseconds.
  [[nodiscard]] std::chrono::milliseconds get_duration(
      const std::string& key, std::chrono::milliseconds min, std::chrono::milliseconds max,
      std::optional<std::chrono::milliseconds> fallback = std::nullopt) const;
  // One of `allowed`.
  [[nodiscard]] std::string get_enum(const std::string& key, const std::set<std::string>& allowed,
                                     std::optional<std::string> fallback = std::nullopt) const;
  [[nodiscard]] std::vector<std::string> get_string_list(const std::string& key) const;

  // The raw node (an empty node when absent), for lists of maps such as a fleet manifest.
  [[nodiscard]] YAML::Node node(const std::string& key) const;
  // Keys directly below `prefix` ("" = top level).
  [[nodiscard]] std::vector<std::string> child_keys(const std::string& prefix) const;
  // Rejects any key below `prefix` that is not in `allowed` (typos must not pass silently).
  void require_only(const std::string& prefix, const std::set<std::string>& allowed) const;

  // Registers the key's value with the log redactor; for a URL, only its password part.
  void mark_secret(const std::string& key) const;

  // "file.yaml:12", "env POLYTRADE__BUS__URL" or "default".
  [[nodiscard]] std::string source_of(const std::string& key) const;

  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;

 private:
  [[nodiscard]] std::optional<std::string> scalar(const std::string& key) const;
  void set_override(const std::string& key, const std::string& value, const std::string& source);

  YAML::Node root_;
  std::string source_name_;
  std::map<std::string, std::pair<std::string, std::string>> overrides_;  // key -> (value, source)
};

// "postgresql://user:secret@host/db" -> "secret" (empty when there is none). Only the
// authority (before the first '/', '?' or '#' after the scheme) is read, split at its LAST
// '@', so a password that itself holds '@' is returned whole.
[[nodiscard]] std::string url_password(const std::string& url);
// The URL with its password replaced by "***" ("postgresql://bot:***@db/pt"); a libpq
// keyword string's "password=..." is hidden too. Every URL that reaches a log, an error or
// an event goes through this.
[[nodiscard]] std::string redact_url(const std::string& url);

// "250ms", "2s", "1.5s", "5m", "1h", "100us", or a bare number of milliseconds; nullopt when
// the text is not a finite, non-negative duration. The one duration syntax of the project.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace pt::config
