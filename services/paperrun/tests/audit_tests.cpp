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
