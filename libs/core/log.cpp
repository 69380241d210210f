#include "log.hpp"

#include "time.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace pt::log {
namespace {

struct state {
  std::mutex mu;
  std::string service = "polytrade";
  level min = level::info;
  std::vector<std::string> secrets;  // raw and JSON-escaped forms
  sink out;
};

state& global() {
  static state s;
  return s;
}

thread_local std::string tl_correlation;

// Microseconds are enough for a log line and keep lines short.
std::string iso_now() {
  auto ts = core::timestamp::from_sys_time(std::chrono::system_clock::now());
  auto s = ts.to_iso8601();  // ...SS.nnnnnnnnnZ
  return s.substr(0, s.size() - 4) + "Z";
}

void replace_all(std::string& s, const std::string& needle) {
  if (needle.empty()) return;
  std::size_t pos = 0;
  while ((pos = s.find(needle, pos)) != std::string::npos) {
    s.replace(pos, needle.size(), "***");
    pos += 3;
  }
}

std::string redact_locked(state& g, std::string text) {
  for (const auto& secret : g.secrets) replace_all(text, secret);
  return text;
}

}  // namespace

std::string_view to_string(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::fatal: return "fatal";
  }
  return "info";
}

level parse_level(std::string_view s) {
  for (auto l : {level::debug, level::info, level::warn, level::error, level::fatal})
    if (to_string(l) == s) return l;
  throw std::invalid_argument("unknown log level '" + std::string(s) + "' (debug|info|warn|error|fatal)");
}

void init(std::string service, level min_level) {
  auto& g = global();
  std::lock_guard lock(g.mu);
  g.service = std::move(service);
  g.min = min_level;
}

void set_min_level(level l) {
  auto& g = global();
  std::lock_guard lock(g.mu);
  g.min = l;
}

level min_level() {
  auto& g = global();
  std::lock_guard lock(g.mu);
  return g.min;
}

const std::string& service_name() { return global().service; }

void register_secret(std::string_view value) {
  if (value.size() < 4) return;
  auto& g = global();
  std::string raw(value);
  std::string escaped = nlohmann::json(raw).dump();
  escaped = escaped.substr(1, escaped.size() - 2);
  std::lock_guard lock(g.mu);
  for (const auto& form : {raw, escaped})
    if (std::find(g.secrets.begin(), g.secrets.end(), form) == g.secrets.end()) g.secrets.push_back(form);
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(g.secrets.begin(), g.secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  auto& g = global();
  std::lock_guard lock(g.mu);
  return redact_locked(g, std::string(text));
}

void set_sink(sink s) {
  auto& g = global();
  std::lock_guard lock(g.mu);
  g.out = std::move(s);
}

correlation_scope::correlation_scope(std::string id) : previous_(std::move(tl_correlation)) {
  tl_correlation = std::move(id);
}
correlation_scope::~correlation_scope() { tl_correlation = std::move(previous_); }

const std::string& current_correlation_id() { return tl_correlation; }

void write(level l, std::string_view message, const nlohmann::json& f) {
  auto& g = global();
  {
    std::lock_guard lock(g.mu);
    if (l < g.min) return;
  }
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = iso_now();
  line["level"] = to_string(l);
  line["service"] = service_name();
  if (!tl_correlation.empty()) line["correlation_id"] = tl_correlation;
  line["msg"] = message;
  if (f.is_object())
    for (auto it = f.begin(); it != f.end(); ++it)
      if (!line.contains(it.key())) line[it.key()] = it.value();
  // Invalid UTF-8 from a venue must not throw out of a log call.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(g.mu);
  text = redact_locked(g, std::move(text));
  if (g.out) {
    g.out(text);
    return;
  }
  text.push_back('\n');
  // One write() per line keeps lines whole when several threads or processes share stderr.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size());
}

void write(level l, std::string_view message, fields f) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : f) j[k] = v;
  write(l, message, j);
}

}  // namespace pt::log
