#pragma once
// Structured JSON logging: one line per event on stderr with time, level, service,
// correlation id, message and fields. Every value registered as a secret is replaced by
// "***" before the line leaves the process, whatever field or message carried it.
#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace pt::log {

enum class level { debug = 0, info, warn, error, fatal };

std::string_view to_string(level l);
level parse_level(std::string_view s);  // throws std::invalid_argument on an unknown name

using field = std::pair<std::string, nlohmann::json>;
using fields = std::initializer_list<field>;

// Process-wide setup; call once at start. Thread-safe afterwards.
void init(std::string service, level min_level = level::info);
void set_min_level(level l);
[[nodiscard]] level min_level();
[[nodiscard]] const std::string& service_name();

// Secrets shorter than 4 characters are ignored (they would redact ordinary text).
void register_secret(std::string_view value);
[[nodiscard]] std::string redact(std::string_view text);

// Tests capture lines here; nullptr restores stderr.
using sink = std::function<void(std::string_view line)>;
void set_sink(sink s);

// The correlation id attached to every line logged by this thread while the scope lives.
class correlation_scope {
 public:
  explicit correlation_scope(std::string id);
  ~correlation_scope();
  correlation_scope(const correlation_scope&) = delete;
  correlation_scope& operator=(const correlation_scope&) = delete;

 private:
  std::string previous_;
};
[[nodiscard]] const std::string& current_correlation_id();

void write(level l, std::string_view message, fields f = {});
void write(level l, std::string_view message, const nlohmann::json& f);

inline void debug(std::string_view m, fields f = {}) { write(level::debug, m, f); }
inline void info(std::string_view m, fields f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, fields f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, fields f = {}) { write(level::error, m, f); }
inline void fatal(std::string_view m, fields f = {}) { write(level::fatal, m, f); }

}  // namespace pt::log
