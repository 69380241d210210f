#include "audit.hpp"

#include "core/trace.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace pt::paperrun {

namespace {

bool is_confirmation(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  return j.is_object() && j.contains("protection") && j["protection"] == "confirmed";
}

}  // namespace

protection_audit audit_protection(const std::vector<ledger_row>& rows, std::chrono::milliseconds limit) {
  protection_audit a;
  std::map<std::string, const ledger_row*> open;  // stream -> its PositionOpened awaiting confirmation
  std::vector<double> latencies;
  auto report_never = [&](const ledger_row& r) {
    ++a.never;
    a.problems.push_back(r.stream_id + ": entry at seq " + std::to_string(r.seq) + " never protected");
  };
  for (const auto& r : rows) {
    if (r.type == "PositionOpened") {
      ++a.entries;
      if (auto it = open.find(r.stream_id); it != open.end()) report_never(*it->second);
      open[r.stream_id] = &r;
    } else if (r.type == "PositionUpdated" && is_confirmation(r.payload)) {
      auto it = open.find(r.stream_id);
      if (it == open.end()) continue;  // a later re-confirmation (a moved stop): not an entry's
      const double ms = static_cast<double>(r.recorded_at_ns - it->second->recorded_at_ns) / 1e6;
      latencies.push_back(ms);
      if (ms <= static_cast<double>(limit.count())) {
        ++a.protected_in_time;
      } else {
        ++a.late;
        a.problems.push_back(r.stream_id + ": entry at seq " + std::to_string(it->second->seq) + " protected after " +
                             std::to_string(static_cast<long long>(ms)) + " ms");
      }
      open.erase(it);
    } else if (r.type == "PositionClosed") {
      // Closed before any confirmation: the protection timeout flattened it, or it was never
      // protected while open. Either way the entry was not protected in time.
      if (auto it = open.find(r.stream_id); it != open.end()) {
        report_never(*it->second);
        open.erase(it);
      }
    }
  }
  for (const auto& [stream, r] : open) report_never(*r);
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    a.max_latency_ms = latencies.back();
    a.p50_latency_ms = latencies[latencies.size() / 2];
  }
  return a;
}

equity_check compare_equity(core::decimal fleet, core::decimal venue, core::decimal tolerance) {
  equity_check c;
  c.fleet = fleet;
  c.venue = venue;
  c.diff = fleet > venue ? fleet - venue : venue - fleet;
  c.ok = c.diff <= tolerance;
  return c;
}

latency_summary summarize_latency(std::vector<double> ms) {
  latency_summary r;
  r.n = ms.size();
  if (ms.empty()) return r;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double p) {
    // ceil(p/100 * n) computed in per-mille integers: no floating-point rounding at exact ranks.
    const auto permille = static_cast<std::size_t>(p * 10 + 0.5);
    const std::size_t k = (permille * ms.size() + 999) / 1000;
    return ms[std::max<std::size_t>(k, 1) - 1];
  };
  r.p50 = rank(50);
  r.p99 = rank(99);
  r.p999 = rank(99.9);
  r.max = ms.back();
  return r;
}

std::vector<hop_latency> summarize_traces(const std::vector<nlohmann::json>& traces) {
  const auto& stages = core::trace::stages;
  constexpr std::size_t n = core::trace::stages.size();
  std::vector<std::vector<double>> hops(n);  // hops[i]: stage i-1 -> i; hops[0]: the total
  auto ns = [](const nlohmann::json& t, std::string_view k) -> std::int64_t {
    auto it = t.find(std::string(k));
    return it != t.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  for (const auto& body : traces) {
    if (!body.is_object() || !body.contains("trace") || !body["trace"].is_object()) continue;
    const auto& t = body["trace"];
    const auto first = ns(t, stages[0]), last = ns(t, stages[n - 1]);
    if (first <= 0 || last <= 0 || last < first) continue;
    hops[0].push_back(static_cast<double>(last - first) / 1e6);
    for (std::size_t i = 1; i < n; ++i) {
      const auto a = ns(t, stages[i - 1]), b = ns(t, stages[i]);
      if (a > 0 && b >= a) hops[i].push_back(static_cast<double>(b - a) / 1e6);
    }
  }
  std::vector<hop_latency> out;
  if (hops[0].empty()) return out;
  out.push_back({std::string(stages[0]), std::string(stages[n - 1]), summarize_latency(hops[0])});
  for (std::size_t i = 1; i < n; ++i)
    if (!hops[i].empty()) out.push_back({std::string(stages[i - 1]), std::string(stages[i]), summarize_latency(hops[i])});
  return out;
}

std::optional<long> rss_kib_of_status(const std::string& status_text) {
  const auto at = status_text.find("\nVmRSS:");
  if (at == std::string::npos) return std::nullopt;
  std::size_t i = at + 8;
  while (i < status_text.size() && (status_text[i] == ' ' || status_text[i] == '\t')) ++i;
  long v = 0;
  bool any = false;
  while (i < status_text.size() && status_text[i] >= '0' && status_text[i] <= '9') {
    v = v * 10 + (status_text[i++] - '0');
    any = true;
  }
  if (!any) return std::nullopt;
  return v;
}

}  // namespace pt::paperrun
