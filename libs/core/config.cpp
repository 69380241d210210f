#include "config.hpp"

#include "log.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

extern char** environ;

namespace pt::config {
namespace {

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

YAML::Node lookup(const YAML::Node& root, const std::string& key) {
  // yaml-cpp's operator[] on a const node never inserts; copies share the tree, so use
  // reset() to walk without rebinding the parent.
  YAML::Node cur;
  cur.reset(root);
  for (const auto& part : split_key(key)) {
    if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = cur[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

env_map process_env() {
  env_map env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

namespace {
// [start, end) of "user:password" in a URL's authority, or npos when it has no userinfo.
std::pair<std::size_t, std::size_t> userinfo(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {std::string::npos, 0};
  auto start = scheme + 3;
  auto end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  auto at = url.rfind('@', end - 1);
  if (at == std::string::npos || at < start || end == start) return {std::string::npos, 0};
  return {start, at};
}
}  // namespace

std::string url_password(const std::string& url) {
  auto [start, at] = userinfo(url);
  if (start == std::string::npos) return {};
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return {};
  return url.substr(colon + 1, at - colon - 1);
}

std::string redact_url(const std::string& url) {
  auto [start, at] = userinfo(url);
  if (start != std::string::npos) {
    auto colon = url.find(':', start);
    if (colon == std::string::npos || colon > at || colon + 1 == at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
  }
  // libpq keyword form: "host=db user=bot password=s3cret dbname=pt"
  auto p = url.find("password=");
  if (p == std::string::npos || (p > 0 && url[p - 1] != ' ')) return url;
  auto end = url.find(' ', p);
  return url.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : url.substr(end));
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string_view number = s.substr(0, i), unit = s.substr(i);
  double x = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), x);
  double scale = 0;
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "s") scale = 1e3;
  else if (unit == "m") scale = 60e3;
  else if (unit == "h") scale = 3600e3;
  else if (unit == "us") scale = 1e-3;
  if (number.empty() || ec != std::errc{} || ptr != number.data() + number.size() || scale == 0) return std::nullopt;
  double ms = x * scale;
  // Beyond ~292 years a cast to int64 would be undefined.
  if (!std::isfinite(ms) || ms < 0 || ms > 9.2e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

document::document() : root_(YAML::NodeType::Map), source_name_("default") {}

const std::map<std::string, std::string>& document::default_aliases() {
  static const std::map<std::string, std::string> aliases{
      {"NATS_URL", "bus.url"}, {"DATABASE_URL", "ledger.url"}, {"POLYTRADE_LOG_LEVEL", "log.level"},
      {"PORT", "health.http_port"}};  // Railway injects PORT for its HTTP health check
  return aliases;
}

document document::from_string(const std::string& yaml, const std::string& source_name,
                               const env_map& env, const std::map<std::string, std::string>& aliases) {
  document d;
  d.source_name_ = source_name;
  try {
    YAML::Node n = YAML::Load(yaml);
    if (n.IsNull() || !n.IsDefined()) n = YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) throw error("", source_name + ": config: the top level must be a mapping");
    d.root_ = n;
  } catch (const YAML::Exception& e) {
    throw error("", source_name + ":" + std::to_string(e.mark.line + 1) + ": config: YAML syntax error: " + e.msg);
  }
  for (const auto& [name, key] : aliases)
    if (auto it = env.find(name); it != env.end()) d.set_override(key, it->second, "env " + name);
  static const std::string prefix = "POLYTRADE__";
  for (const auto& [name, value] : env) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::string key = lower(name.substr(prefix.size()));
    std::string dotted;
    for (std::size_t i = 0; i < key.size(); ++i) {
      if (key[i] == '_' && i + 1 < key.size() && key[i + 1] == '_') {
        dotted.push_back('.');
        ++i;
      } else {
        dotted.push_back(key[i]);
      }
    }
    d.set_override(dotted, value, "env " + name);
  }
  return d;
}

document document::load_file(const std::string& path, const env_map& env,
                             const std::map<std::string, std::string>& aliases) {
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw error("", path + ": config: cannot open file: " + std::strerror(errno));
    char buf[8192];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return from_string(text, path, env, aliases);
}

void document::set_override(const std::string& key, const std::string& value, const std::string& source) {
  overrides_[key] = {value, source};
}

bool document::has(const std::string& key) const {
  return overrides_.count(key) > 0 || lookup(root_, key).IsDefined();
}

std::string document::source_of(const std::string& key) const {
  if (auto it = overrides_.find(key); it != overrides_.end()) return it->second.second;
  auto n = lookup(root_, key);
  if (n.IsDefined()) {
    auto m = n.Mark();
    if (m.line >= 0) return source_name_ + ":" + std::to_string(m.line + 1);
    return source_name_;
  }
  return "default";
}

void document::fail(const std::string& key, const std::string& reason) const {
  throw error(key, "config: " + key + " (" + source_of(key) + "): " + reason);
}

std::optional<std::string> document::scalar(const std::string& key) const {
  if (auto it = overrides_.find(key); it != overrides_.end()) return it->second.first;
  auto n = lookup(root_, key);
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) fail(key, "expected a single value, found a " + std::string(n.IsMap() ? "mapping" : "list"));
  return n.Scalar();
}

std::string document::get_string(const std::string& key, std::optional<std::string> fallback) const {
  auto v = scalar(key);
  if (v) return *v;
  if (fallback) return *fallback;
  fail(key, "is required but missing");
}

std::int64_t document::get_int(const std::string& key, std::int64_t min, std::int64_t max,
                               std::optional<std::int64_t> fallback) const {
  auto v = scalar(key);
  if (!v) {
    if (fallback) return *fallback;
    fail(key, "is required but missing");
  }
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || ptr != v->data() + v->size()) fail(key, "expected an integer, got '" + *v + "'");
  if (out < min || out > max)
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + *v);
  return out;
}

bool document::get_bool(const std::string& key, std::optional<bool> fallback) const {
  auto v = scalar(key);
  if (!v) {
    if (fallback) return *fallback;
    fail(key, "is required but missing");
  }
  auto s = lower(*v);
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  fail(key, "expected true or false, got '" + *v + "'");
}

std::chrono::milliseconds document::get_duration(const std::string& key, std::chrono::milliseconds min,
                                                  std::chrono::milliseconds max,
                                                  std::optional<std::chrono::milliseconds> fallback) const {
  auto v = scalar(key);
  if (!v) {
    if (fallback) return *fallback;
    fail(key, "is required but missing");
  }
  const std::string& s = *v;
  auto parsed = parse_duration(s);
  if (!parsed) fail(key, "expected a duration such as 250ms, 2s, 5m or 1h, got '" + s + "'");
  auto out = *parsed;
  if (out < min || out > max)
    fail(key, "must be between " + std::to_string(min.count()) + "ms and " + std::to_string(max.count()) +
                  "ms, got '" + s + "'");
  return out;
}

std::string document::get_enum(const std::string& key, const std::set<std::string>& allowed,
                               std::optional<std::string> fallback) const {
  auto v = get_string(key, fallback);
  if (allowed.count(v)) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : "|") + a;
  fail(key, "must be one of " + list + ", got '" + v + "'");
}

std::vector<std::string> document::get_string_list(const std::string& key) const {
  std::vector<std::string> out;
  auto n = lookup(root_, key);
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) fail(key, "expected a list");
  for (const auto& item : n) {
    if (!item.IsScalar()) fail(key, "expected a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

YAML::Node document::node(const std::string& key) const { return lookup(root_, key); }

std::vector<std::string> document::child_keys(const std::string& prefix) const {
  std::vector<std::string> out;
  YAML::Node n = prefix.empty() ? root_ : lookup(root_, prefix);
  if (n.IsMap())
    for (const auto& kv : n) out.push_back(kv.first.Scalar());
  for (const auto& [key, _] : overrides_) {
    std::string head = prefix.empty() ? "" : prefix + ".";
    if (key.rfind(head, 0) != 0) continue;
    auto rest = key.substr(head.size());
    auto child = rest.substr(0, rest.find('.'));
    if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(child);
  }
  return out;
}

void document::require_only(const std::string& prefix, const std::set<std::string>& allowed) const {
  for (const auto& k : child_keys(prefix))
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(prefix.empty() ? k : prefix + "." + k, "unknown key (expected one of: " + list + ")");
    }
}

void document::mark_secret(const std::string& key) const {
  auto v = scalar(key);
  if (!v) return;
  // A URL is secret only in its password: host and database must stay readable in logs.
  if (v->find("://") != std::string::npos) {
    log::register_secret(url_password(*v));
    return;
  }
  log::register_secret(*v);
}

}  // namespace pt::config
