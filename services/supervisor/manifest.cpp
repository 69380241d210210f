#include "manifest.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <set>

namespace pt::supervisor {
namespace {

using config::error;

// Reads one service entry. A key missing from the entry falls back to `defaults:`, then to
// the built-in value. Errors name the key as written ("services[2].restart.budget.window").
class entry_reader {
 public:
  entry_reader(std::string file, YAML::Node entry, std::string entry_key, YAML::Node defaults)
      : file_(std::move(file)), entry_(std::move(entry)), entry_key_(std::move(entry_key)),
        defaults_(std::move(defaults)) {}

  [[noreturn]] void fail_at(const YAML::Node& n, const std::string& key, const std::string& reason) const {
    std::string where = file_;
    if (n.IsDefined() && n.Mark().line >= 0) where += ":" + std::to_string(n.Mark().line + 1);
    throw error(key, "config: " + key + " (" + where + "): " + reason);
  }
  [[noreturn]] void fail(const std::string& path, const std::string& reason) const {
    auto [n, key] = find(path);
    if (!n.IsDefined()) {
      n.reset(entry_);
      key = entry_key_ + "." + path;
    }
    fail_at(n, key, reason);
  }

  // The node for a dotted path and the key to name in errors; undefined when absent.
  [[nodiscard]] std::pair<YAML::Node, std::string> find(const std::string& path, bool own_only = false) const {
    YAML::Node n = walk(entry_, path);
    if (n.IsDefined()) return {n, entry_key_ + "." + path};
    if (own_only || !defaults_.IsDefined()) return {n, entry_key_ + "." + path};
    return {walk(defaults_, path), "defaults." + path};
  }

  [[nodiscard]] std::string scalar(const std::string& path, const std::string& fallback, bool own_only = false) const {
    auto [n, key] = find(path, own_only);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    if (!n.IsScalar()) fail_at(n, key, "expected a single value");
    return n.Scalar();
  }

  [[nodiscard]] std::string required_string(const std::string& path) const {
    auto [n, key] = find(path, true);
    if (!n.IsDefined() || n.IsNull()) fail_at(entry_, key, "is required but missing");
    if (!n.IsScalar() || n.Scalar().empty()) fail_at(n, key, "expected a non-empty string");
    return n.Scalar();
  }

  [[nodiscard]] bool boolean(const std::string& path, bool fallback) const {
    auto [n, key] = find(path);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    std::string s = scalar(path, "");
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail_at(n, key, "expected true or false, got '" + s + "'");
  }

  [[nodiscard]] std::int64_t integer(const std::string& path, std::int64_t fallback, std::int64_t min,
                                     std::int64_t max) const {
    auto [n, key] = find(path);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    std::string s = scalar(path, "");
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) fail_at(n, key, "expected an integer, got '" + s + "'");
    if (v < min || v > max)
      fail_at(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    return v;
  }

  [[nodiscard]] double real(const std::string& path, double fallback, double min, double max) const {
    auto [n, key] = find(path);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    std::string s = scalar(path, "");
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v))
      fail_at(n, key, "expected a number, got '" + s + "'");
    if (v < min || v > max) fail_at(n, key, "must be between " + fmt(min) + " and " + fmt(max) + ", got " + s);
    return v;
  }

  // The project's one duration syntax (config::parse_duration); errors name the entry's key.
  [[nodiscard]] milliseconds duration(const std::string& path, milliseconds fallback, milliseconds min,
                                      milliseconds max) const {
    auto [n, key] = find(path);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    std::string s = scalar(path, "");
    auto parsed = config::parse_duration(s);
    if (!parsed) fail_at(n, key, "expected a duration such as 250ms, 2s, 5m or 1h, got '" + s + "'");
    milliseconds out = *parsed;
    if (out < min || out > max)
      fail_at(n, key, "must be between " + std::to_string(min.count()) + "ms and " + std::to_string(max.count()) +
                          "ms, got '" + s + "'");
    return out;
  }

  // Keys of a mapping must be known: a typo must not silently fall back to a default.
  void require_only(const YAML::Node& map, const std::string& key, const std::set<std::string>& allowed) const {
    if (!map.IsDefined() || map.IsNull()) return;
    if (!map.IsMap()) fail_at(map, key, "expected a mapping");
    for (const auto& kv : map) {
      auto k = kv.first.Scalar();
      if (allowed.count(k)) continue;
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail_at(kv.first, key.empty() ? k : key + "." + k, "unknown key (expected one of: " + list + ")");
    }
  }

  [[nodiscard]] const YAML::Node& entry() const { return entry_; }
  [[nodiscard]] const std::string& entry_key() const { return entry_key_; }

 private:
  static std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  static YAML::Node walk(const YAML::Node& root, const std::string& path) {
    YAML::Node cur;
    cur.reset(root);
    std::size_t start = 0;
    while (true) {
      auto dot = path.find('.', start);
      auto part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
      YAML::Node next = cur[part];
      if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
      cur.reset(next);
      if (dot == std::string::npos) return cur;
      start = dot + 1;
    }
  }

  std::string file_;
  YAML::Node entry_;
  std::string entry_key_;
  YAML::Node defaults_;
};

const std::set<std::string> kShared{"critical", "heartbeat_timeout", "start_timeout", "restart", "env"};
const std::set<std::string> kServiceKeys{"name",    "command",           "args",          "env",    "cwd",
                                         "critical", "heartbeat_timeout", "start_timeout", "restart"};
const std::set<std::string> kRestartKeys{"backoff", "budget", "hold_down"};
const std::set<std::string> kBackoffKeys{"initial", "max", "multiplier"};
const std::set<std::string> kBudgetKeys{"restarts", "window"};

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s)
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '_')) return false;
  return true;
}

void check_restart_keys(const entry_reader& r, const YAML::Node& restart, const std::string& key) {
  r.require_only(restart, key, kRestartKeys);
  if (!restart.IsDefined() || !restart.IsMap()) return;
  r.require_only(restart["backoff"], key + ".backoff", kBackoffKeys);
  r.require_only(restart["budget"], key + ".budget", kBudgetKeys);
}

std::map<std::string, std::string> read_env(const entry_reader& r, const YAML::Node& env_node,
                                            const std::string& key) {
  std::map<std::string, std::string> env;
  if (!env_node.IsDefined() || env_node.IsNull()) return env;
  if (!env_node.IsMap()) r.fail_at(env_node, key, "expected a mapping of NAME: value");
  for (const auto& kv : env_node) {
    auto name = kv.first.Scalar();
    if (name.empty() || name.find('=') != std::string::npos)
      r.fail_at(kv.first, key + "." + name, "invalid environment variable name");
    if (!kv.second.IsScalar()) r.fail_at(kv.second, key + "." + name, "expected a single value");
    env[name] = kv.second.Scalar();
  }
  return env;
}

}  // namespace

manifest parse_manifest(const config::document& doc, bool watch_only_flag) {
  using namespace std::chrono_literals;
  manifest m;
  doc.require_only("supervisor",
                   {"watch_only", "tick", "stop_timeout", "critical_down_after", "ledger_drain", "spill_dir"});
  m.watch_only = watch_only_flag || doc.get_bool("supervisor.watch_only", false);
  m.tick = doc.get_duration("supervisor.tick", 5ms, 1s, m.tick);
  m.stop_timeout = doc.get_duration("supervisor.stop_timeout", 0ms, 5min, m.stop_timeout);
  m.critical_down_after = doc.get_duration("supervisor.critical_down_after", 0ms, 1h, m.critical_down_after);
  m.ledger_drain = doc.get_duration("supervisor.ledger_drain", 0ms, 5min, m.ledger_drain);
  m.spill_dir = doc.get_string("supervisor.spill_dir", std::string());

  // "fleet.yaml:12" -> "fleet.yaml": entries carry their own line numbers.
  std::string file = doc.source_of("services");
  if (auto colon = file.rfind(':'); colon != std::string::npos &&
                                    file.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    file.resize(colon);

  YAML::Node defaults = doc.node("defaults");
  YAML::Node services = doc.node("services");
  if (!services.IsDefined() || services.IsNull()) doc.fail("services", "is required but missing");
  if (!services.IsSequence()) doc.fail("services", "expected a list of services");
  if (services.size() == 0) doc.fail("services", "lists no service");

  {
    entry_reader dr(file, defaults, "defaults", YAML::Node(YAML::NodeType::Undefined));
    dr.require_only(defaults, "defaults", kShared);
    if (defaults.IsMap()) check_restart_keys(dr, defaults["restart"], "defaults.restart");
  }
  std::map<std::string, std::string> default_env;
  if (defaults.IsMap()) {
    entry_reader dr(file, defaults, "defaults", YAML::Node(YAML::NodeType::Undefined));
    default_env = read_env(dr, defaults["env"], "defaults.env");
  }

  std::set<std::string> seen;
  for (std::size_t i = 0; i < services.size(); ++i) {
    std::string key = "services[" + std::to_string(i) + "]";
    YAML::Node e = services[i];
    entry_reader r(file, e, key, defaults);
    if (!e.IsMap()) r.fail_at(e, key, "expected a mapping with at least name and command");
    r.require_only(e, key, kServiceKeys);
    check_restart_keys(r, e["restart"], key + ".restart");

    service_spec s;
    s.name = r.required_string("name");
    if (!valid_name(s.name))
      r.fail("name", "'" + s.name + "' is not a valid service name (lower-case letters, digits, - and _; it is a NATS subject token)");
    if (!seen.insert(s.name).second) r.fail("name", "duplicate service name '" + s.name + "'");
    if (s.name == "supervisor") r.fail("name", "'supervisor' is the supervisor itself");
    s.command = r.required_string("command");

    if (YAML::Node a = e["args"]; a.IsDefined() && !a.IsNull()) {
      if (!a.IsSequence()) r.fail_at(a, key + ".args", "expected a list of strings");
      for (std::size_t j = 0; j < a.size(); ++j) {
        if (!a[j].IsScalar()) r.fail_at(a[j], key + ".args[" + std::to_string(j) + "]", "expected a string");
        s.args.push_back(a[j].Scalar());
      }
    }
    s.env = default_env;
    for (auto& [k, v] : read_env(r, e["env"], key + ".env")) s.env[k] = v;
    s.cwd = r.scalar("cwd", "", true);
    s.critical = r.boolean("critical", false);
    s.heartbeat_timeout = r.duration("heartbeat_timeout", s.heartbeat_timeout, 0ms, 1h);
    s.start_timeout = r.duration("start_timeout", s.start_timeout, 10ms, 1h);

    auto& p = s.restart;
    p.backoff_initial = r.duration("restart.backoff.initial", p.backoff_initial, 0ms, 1h);
    p.backoff_max = r.duration("restart.backoff.max", p.backoff_max, 0ms, 24h);
    if (p.backoff_max < p.backoff_initial)
      r.fail("restart.backoff.max", "must not be below restart.backoff.initial (" +
                                        std::to_string(p.backoff_initial.count()) + "ms)");
    p.backoff_multiplier = r.real("restart.backoff.multiplier", p.backoff_multiplier, 1.0, 100.0);
    p.budget_restarts = static_cast<int>(r.integer("restart.budget.restarts", p.budget_restarts, 1, 10'000));
    p.budget_window = r.duration("restart.budget.window", p.budget_window, 10ms, 24h);
    p.hold_down = r.duration("restart.hold_down", p.hold_down, 0ms, 24h);

    if (m.watch_only && s.heartbeat_timeout.count() == 0)
      r.fail("heartbeat_timeout", "must be above 0 in watch-only mode: heartbeats are all the supervisor can see");
    m.services.push_back(std::move(s));
  }
  return m;
}

}  // namespace pt::supervisor
