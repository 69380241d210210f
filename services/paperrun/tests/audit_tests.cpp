// The main job's checks, on hand-made ledger rows.
#include "audit.hpp"

#include <catch2/catch.hpp>

using pt::core::decimal;
using namespace pt::paperrun;

namespace {
constexpr std::int64_t ms = 1'000'000;
ledger_row row(std::int64_t seq, const char* type, const char* stream, const char* payload, std::int64_t at_ms) {
  return {seq, type, stream, payload, at_ms * ms};
}
}  // namespace

TEST_CASE("audit counts an entry confirmed within 2 s as protected, and its latency") {
  std::vector<ledger_row> rows{row(1, "PositionOpened", "pos-A", "{}", 1000),
                               row(2, "PositionUpdated", "pos-A", R"({"protection":"confirmed","by":"guardian"})", 1350),
                               row(3, "PositionClosed", "pos-A", "{}", 9000)};
  auto a = audit_protection(rows);
  CHECK(a.entries == 1);
  CHECK(a.protected_in_time == 1);
  CHECK(a.max_latency_ms == Approx(350));
  CHECK(a.ok());
}

TEST_CASE("audit flags a late confirmation, a missing one and one closed before protection") {
  std::vector<ledger_row> rows{
      row(1, "PositionOpened", "pos-A", "{}", 1000),
      row(2, "PositionUpdated", "pos-A", R"({"protection":"pending"})", 1100),     // not a confirmation
      row(3, "PositionUpdated", "pos-A", R"({"protection":"confirmed"})", 3001),   // 2001 ms: late
      row(4, "PositionOpened", "pos-B", "{}", 4000),
      row(5, "PositionClosed", "pos-B", "{}", 4500),                               // closed unprotected
      row(6, "PositionOpened", "pos-C", "{}", 5000),                               // never confirmed
      row(7, "PositionUpdated", "pos-C", "not json", 5100),
  };
  auto a = audit_protection(rows);
  CHECK(a.entries == 3);
  CHECK(a.protected_in_time == 0);
  CHECK(a.late == 1);
  CHECK(a.never == 2);
  CHECK(a.problems.size() == 3);
  CHECK_FALSE(a.ok());
}

TEST_CASE("audit: a run without trades does not pass, and 2000 ms exactly is in time") {
  CHECK_FALSE(audit_protection({}).ok());
  auto a = audit_protection({row(1, "PositionOpened", "pos-A", "{}", 0),
                             row(2, "PositionUpdated", "pos-A", R"({"protection":"confirmed"})", 2000)});
  CHECK(a.ok());
}

TEST_CASE("equity matches only within the tolerance") {
  CHECK(compare_equity(decimal::parse("10012.5"), decimal::parse("10012.5")).ok);
  auto c = compare_equity(decimal::parse("10012.5"), decimal::parse("10012.51"));
  CHECK_FALSE(c.ok);
  CHECK(c.diff == decimal::parse("0.01"));
  CHECK(compare_equity(decimal::parse("10012.5"), decimal::parse("10012.51"), decimal::parse("0.01")).ok);
}

TEST_CASE("latency percentiles are nearest-rank") {
  // 1..1000 ms shuffled: p50 = 500, p99 = 990, p99.9 = 999, max 1000 (ceil(p/100 x n)-th smallest).
  std::vector<double> v;
  for (int i = 1000; i >= 1; --i) v.push_back(i);
  auto s = pt::paperrun::summarize_latency(v);
  CHECK(s.n == 1000);
  CHECK(s.p50 == 500);
  CHECK(s.p99 == 990);
  CHECK(s.p999 == 999);
  CHECK(s.max == 1000);
  // Ten samples: p50 is the 5th, p99 and p99.9 the 10th (the max).
  s = pt::paperrun::summarize_latency({7, 1, 9, 3, 5, 2, 8, 4, 6, 10});
  CHECK(s.p50 == 5);
  CHECK(s.p99 == 10);
  CHECK(s.p999 == 10);
  CHECK(pt::paperrun::summarize_latency({}).n == 0);
}

TEST_CASE("VmRSS is read from a proc status text") {
  const std::string status = "Name:\tsignal\nVmPeak:\t  99999 kB\nVmRSS:\t   12856 kB\nRssAnon:\t 5000 kB\n";
  REQUIRE(pt::paperrun::rss_kib_of_status(status).has_value());
  CHECK(*pt::paperrun::rss_kib_of_status(status) == 12856);
  CHECK_FALSE(pt::paperrun::rss_kib_of_status("Name:\tkthreadd\nState:\tS\n").has_value());
}

TEST_CASE("decision traces are summarized hop by hop") {
  // Two traced entries; ns stamps chosen so every hop has a known length in ms.
  auto traced = [](std::int64_t base, std::int64_t step_ns) {
    nlohmann::json t = nlohmann::json::object();
    const char* stages[] = {"md_recv",   "md_pub",       "signal_recv",  "signal_pub", "risk_recv", "risk_decided",
                            "risk_durable", "risk_pub", "exec_recv", "exec_checked", "exec_durable", "exec_sent"};
    std::int64_t at = base;
    for (const char* s : stages) {
      t[s] = at;
      at += step_ns;
    }
    return nlohmann::json{{"trace", t}};
  };
  std::vector<nlohmann::json> traces{traced(1'000'000, 100'000), traced(5'000'000, 300'000)};
  // An untraced order, and one whose stamps run backwards, are skipped.
  traces.push_back(nlohmann::json{{"client_order_id", "x"}});
  traces.push_back(nlohmann::json{{"trace", {{"md_recv", 9'000'000}, {"exec_sent", 8'000'000}}}});
  const auto hops = pt::paperrun::summarize_traces(traces);
  REQUIRE(hops.size() == 12);  // the total and eleven hops
  CHECK(hops[0].from == "md_recv");
  CHECK(hops[0].to == "exec_sent");
  CHECK(hops[0].l.n == 2);
  CHECK(hops[0].l.p50 == Approx(1.1));  // eleven hops of 0.1 ms
  CHECK(hops[0].l.max == Approx(3.3));  // eleven hops of 0.3 ms
  CHECK(hops[6].from == "risk_decided");
  CHECK(hops[6].to == "risk_durable");
  CHECK(hops[5].l.max == Approx(0.3));
  // A trace missing a middle stage still counts in the total, not in the hops around the gap.
  auto partial = traced(0, 1'000'000);
  partial["trace"].erase("risk_durable");
  partial["trace"]["md_recv"] = 1;  // 0 is "not stamped"
  const auto p = pt::paperrun::summarize_traces({partial});
  CHECK(p[0].l.n == 1);
  CHECK(p.size() == 10);  // the total and 9 hops: risk_decided -> risk_durable and risk_durable -> risk_pub are gone
  CHECK(pt::paperrun::summarize_traces({nlohmann::json{{"x", 1}}}).empty());
}
