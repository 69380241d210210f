#include "venue/self_check.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

namespace pt::venue {

namespace {

using core::decimal;

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

const char* mode_name(margin_mode m) { return m == margin_mode::cross ? "cross" : "isolated"; }
const char* mode_name(position_mode m) { return m == position_mode::one_way ? "one-way" : "hedge"; }

// Runs one venue call into a fact: the value, or the error's text.
template <class T, class F>
fact<T> ask(F&& call) {
  fact<T> f;
  try {
    f.value = call();
  } catch (const std::exception& e) {
    f.error = e.what();
    if (f.error.empty()) f.error = "unknown error";
  }
  return f;
}

check_result clock_check(const self_check_facts& f, const self_check_expectations& x) {
  const long long tolerance = std::chrono::duration_cast<std::chrono::milliseconds>(x.skew.max_offset).count();
  if (f.time_samples.empty())
    return {"CLOCK_SKEW", check_status::fail,
            "no server time: " + (f.time_error.empty() ? std::string("no sample taken") : f.time_error)};
  clock_skew_config cfg = x.skew;
  cfg.window = std::max<std::size_t>(cfg.window, f.time_samples.size());
  clock_skew_guard guard(cfg);
  std::size_t used = 0;
  for (const auto& s : f.time_samples) used += guard.add_sample(s) ? 1 : 0;
  if (used == 0) return {"CLOCK_SKEW", check_status::fail, "every server-time round trip was too slow or went backwards"};
  const auto offset_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*guard.offset()).count();
  const std::string text = "offset " + std::to_string(offset_ms) + " ms (venue tolerance " + std::to_string(tolerance) +
                           " ms, " + std::to_string(used) + " samples)";
  if (guard.state(f.time_samples.back().local_receive) != skew_state::ok)
    return {"CLOCK_SKEW", check_status::fail, text + ": fix the local clock (NTP)"};
  return {"CLOCK_SKEW", check_status::pass, text};
}

check_result catalog_check(const self_check_facts& f, const self_check_expectations& x) {
  if (!f.instruments.value) return {"CATALOG", check_status::fail, "instruments not read: " + f.instruments.error};
  if (f.instruments_from_offline_catalog)
    return {"CATALOG", check_status::fail, "the venue did not list its instruments; the offline catalog stood in"};
  std::vector<std::string> problems, seen;
  for (const auto& s : x.symbols) {
    const auto& list = *f.instruments.value;
    const auto it = std::find_if(list.begin(), list.end(), [&](const instrument& i) { return i.symbol == s; });
    if (it == list.end()) {
      problems.push_back(s + " is not listed");
      continue;
    }
    if (it->status != instrument_status::trading) problems.push_back(s + " is not trading");
    if (it->tick <= decimal::zero() || it->lot <= decimal::zero()) problems.push_back(s + " has no tick or lot");
    if (it->max_leverage < x.leverage)
      problems.push_back(s + ": configured leverage " + std::to_string(x.leverage) + "x is above the venue's max " +
                         std::to_string(it->max_leverage) + "x");
    seen.push_back(s + " tick " + it->tick.to_string() + " lot " + it->lot.to_string() + " max " +
                   std::to_string(it->max_leverage) + "x");
  }
  if (x.leverage > x.hard_cap_leverage)
    problems.push_back("configured leverage " + std::to_string(x.leverage) + "x is above the hard cap " +
                       std::to_string(x.hard_cap_leverage) + "x");
  if (x.symbols.empty()) problems.push_back("no symbols configured");
  if (!problems.empty()) return {"CATALOG", check_status::fail, join(problems)};
  return {"CATALOG", check_status::pass, join(seen)};
}

check_result permissions_check(const self_check_facts& f) {
  if (!f.permissions.value) return {"KEY_PERMISSIONS", check_status::fail, "permissions not read: " + f.permissions.error};
  if (!*f.permissions.value)
    return {"KEY_PERMISSIONS", check_status::unverifiable,
            "the venue offers no way to read a key's permissions: confirm in its web UI that withdrawals are off"};
  const key_permissions& k = **f.permissions.value;
  std::vector<std::string> problems;
  if (k.withdrawals) problems.push_back("the key may withdraw: create a key without withdrawal permission");
  if (!k.futures_trading) problems.push_back("the key may not trade futures");
  if (!k.reading) problems.push_back("the key may not read the account");
  if (!problems.empty()) return {"KEY_PERMISSIONS", check_status::fail, join(problems)};
  if (!k.ip_restricted)
    return {"KEY_PERMISSIONS", check_status::warn, "withdrawals refused, futures trading allowed; the key has no IP allow-list"};
  return {"KEY_PERMISSIONS", check_status::pass, "withdrawals refused, futures trading allowed, IP allow-list set"};
}

check_result position_mode_check(const self_check_facts& f, const self_check_expectations& x) {
  if (!f.pos_mode.value) return {"POSITION_MODE", check_status::fail, "position mode not read: " + f.pos_mode.error};
  if (*f.pos_mode.value != x.pos_mode)
    return {"POSITION_MODE", check_status::fail,
            std::string("the account is in ") + mode_name(*f.pos_mode.value) + " mode, expected " + mode_name(x.pos_mode)};
  return {"POSITION_MODE", check_status::pass, mode_name(x.pos_mode)};
}

check_result settings_check(const self_check_facts& f, const self_check_expectations& x) {
  std::vector<std::string> problems, seen;
  for (const auto& s : x.symbols) {
    const auto it = f.settings.find(s);
    if (it == f.settings.end() || !it->second.value) {
      problems.push_back(s + ": settings not read" + (it == f.settings.end() ? "" : ": " + it->second.error));
      continue;
    }
    const symbol_settings& got = *it->second.value;
    // Above the configured leverage fails; under it is safe (an entry may set the decision's
    // lower leverage, and a later re-run of the check must not call that a fault).
    if (got.leverage > x.leverage)
      problems.push_back(s + ": leverage " + std::to_string(got.leverage) + "x, above the configured " + std::to_string(x.leverage) + "x");
    if (got.mode != x.margin)
      problems.push_back(s + ": " + mode_name(got.mode) + " margin, expected " + mode_name(x.margin));
    seen.push_back(s + " " + std::to_string(got.leverage) + "x " + mode_name(got.mode));
  }
  if (!problems.empty()) return {"SYMBOL_SETTINGS", check_status::fail, join(problems)};
  return {"SYMBOL_SETTINGS", check_status::pass, join(seen)};
}

check_result balance_check(const self_check_facts& f, const self_check_expectations& x) {
  if (!f.balances.value) return {"BALANCE", check_status::fail, "balance not read: " + f.balances.error};
  for (const auto& b : *f.balances.value) {
    if (b.asset != x.settle_asset) continue;
    if (b.equity <= decimal::zero() || b.equity <= x.min_equity)
      return {"BALANCE", check_status::fail,
              x.settle_asset + " equity " + b.equity.to_string() + " is not above " + x.min_equity.to_string()};
    return {"BALANCE", check_status::pass, x.settle_asset + " equity " + b.equity.to_string()};
  }
  return {"BALANCE", check_status::fail, "no " + x.settle_asset + " balance on the account"};
}

bool blocks(check_status s, bool accept_unverifiable) {
  return s == check_status::fail || (s == check_status::unverifiable && !accept_unverifiable);
}

}  // namespace

const char* to_string(check_status s) {
  switch (s) {
    case check_status::pass: return "pass";
    case check_status::warn: return "warn";
    case check_status::unverifiable: return "unverifiable";
    case check_status::fail: break;
  }
  return "fail";
}

bool self_check_report::passed(bool accept_unverifiable) const { return blocking(accept_unverifiable).empty(); }

std::vector<std::string> self_check_report::blocking(bool accept_unverifiable) const {
  std::vector<std::string> out;
  for (const auto& c : checks)
    if (blocks(c.status, accept_unverifiable)) out.push_back(c.code + ": " + c.detail);
  return out;
}

nlohmann::json self_check_report::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : checks) out.push_back({{"check", c.code}, {"status", to_string(c.status)}, {"detail", c.detail}});
  return out;
}

self_check_report evaluate(const self_check_facts& facts, const self_check_expectations& expect) {
  self_check_report r;
  r.checks.push_back(clock_check(facts, expect));
  r.checks.push_back(catalog_check(facts, expect));
  r.checks.push_back(permissions_check(facts));
  r.checks.push_back(position_mode_check(facts, expect));
  r.checks.push_back(settings_check(facts, expect));
  r.checks.push_back(balance_check(facts, expect));
  return r;
}

self_check_facts gather(venue& v, const self_check_expectations& expect, const std::function<core::timestamp()>& local_now,
                        const std::function<bool()>& from_offline_catalog, int time_samples) {
  self_check_facts f;
  for (int i = 0; i < time_samples; ++i) {
    try {
      const core::timestamp send = local_now();
      const epoch_ms server = v.server_time();
      const core::timestamp receive = local_now();
      f.time_samples.push_back({send, core::timestamp::from_millis(server), receive});
    } catch (const std::exception& e) {
      f.time_error = e.what();
    }
  }
  f.instruments = ask<std::vector<instrument>>([&] { return v.instruments(); });
  f.instruments_from_offline_catalog = f.instruments.value && from_offline_catalog && from_offline_catalog();
  f.permissions = ask<std::optional<key_permissions>>([&] { return v.get_key_permissions(); });
  f.pos_mode = ask<position_mode>([&] { return v.get_position_mode(); });
  for (const auto& s : expect.symbols)
    f.settings[s] = ask<symbol_settings>([&] { return v.get_symbol_settings(s, expect.margin); });
  f.balances = ask<std::vector<balance>>([&] { return v.balances(); });
  return f;
}

}  // namespace pt::venue
