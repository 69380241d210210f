#include "core/config.hpp"
#include "core/log.hpp"
#include "ledger/codec.hpp"
#include "ledger/config.hpp"
#include "ledger/event.hpp"
#include "ledger/store.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace pt::ledger;
using namespace std::chrono_literals;

TEST_CASE("the catalog covers the spec and fleet event types and round-trips every name") {
  const std::vector<std::string> expected{
      "MarketTick",     "CandleClose",    "FundingUpdate",   "NewsIngested",           "NewsClassified",
      "UniverseUpdated", "SignalComputed", "TradeProposed",  "RiskApproved",           "RiskRejected",
      "OrderPlaced",    "OrderCancelled", "OrderFilled",     "OrderPartialFill",       "PositionOpened",
      "PositionUpdated", "PositionClosed", "StopTriggered",  "CircuitBreakerTriggered", "ManualInterventionDetected",
      "SystemStarted",  "SystemStopped",  "ReconciliationCompleted", "ServiceStarted", "ServiceExited",
      "ServiceRestarted", "ServiceHeldDown", "AlertRaised",  "ControlCommandReceived", "ConfigChanged",
      "KillSwitchTriggered", "SafeStopRequested", "SelfCheckCompleted"};
  std::set<std::string> names;
  for (auto t : all_event_types()) {
    auto n = std::string(to_string(t));
    CHECK(parse_event_type(n) == t);
    names.insert(n);
  }
  CHECK(names == std::set<std::string>(expected.begin(), expected.end()));
  CHECK(all_event_types().size() == expected.size());
}

TEST_CASE("an unknown event type is a clear error") {
  try {
    (void)parse_event_type("OrderTeleported");
    FAIL("no error");
  } catch (const error& e) {
    CHECK_THAT(e.what(), Catch::Contains("unknown event type \"OrderTeleported\""));
    CHECK_THAT(e.what(), Catch::Contains("OrderPlaced"));
  }
  CHECK_THROWS_WITH(to_string(static_cast<event_type>(200)), Catch::Contains("not in the catalog"));
}

TEST_CASE("validate names the event and the reason") {
  auto e = ledger_test::make_event(event_type::order_placed, "order:1");
  CHECK_NOTHROW(validate(e));
  auto bad = e;
  bad.event_id = "not-a-uuid";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("event_id must be a UUID"));
  bad = e;
  bad.stream_id.clear();
  CHECK_THROWS_WITH(validate(bad), Catch::Contains(e.event_id) && Catch::Contains("stream_id is empty"));
  bad = e;
  bad.payload = "[1,2]";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("JSON object"));
  bad.payload = R"({"a": )";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("not valid JSON"));
  bad.payload = R"({"a": "x\u0000y"})";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("\\u0000"));
  bad = e;
  bad.stream_id = std::string("a\0b", 3);
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("stream_id is not valid UTF-8"));
  bad = e;
  bad.correlation_id = "\xff\xfe";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("correlation_id is not valid UTF-8"));
  bad = e;
  bad.causation_id = "caf\xc3\xa9 \xf0\x9f\x98\x80";  // valid: café 😀
  CHECK_NOTHROW(validate(bad));
  bad = e;
  bad.type = static_cast<event_type>(77);
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("not in the catalog"));
}

TEST_CASE("codec parses integers, UTC timestamps and COPY escapes") {
  CHECK(codec::parse_int64("0") == 0);
  CHECK(codec::parse_int64("-42") == -42);
  CHECK(codec::parse_int64("9223372036854775807") == INT64_MAX);
  CHECK_THROWS_AS(codec::parse_int64("12a"), error);
  CHECK_THROWS_AS(codec::parse_int64(""), error);
  CHECK_THROWS_AS(codec::parse_int64("99999999999999999999"), error);
  CHECK(codec::parse_timestamptz_ns("1970-01-01 00:00:00+00") == 0);
  CHECK(codec::parse_timestamptz_ns("2023-11-14 22:13:20.5+00") == 1'700'000'000'500'000'000);
  CHECK(codec::parse_timestamptz_ns("2024-02-29 12:00:00.000001+00") == 1'709'208'000'000'001'000);
  CHECK_THROWS_AS(codec::parse_timestamptz_ns("2024-02-29 12:00:00+01"), error);
  CHECK_THROWS_AS(codec::parse_timestamptz_ns("2024-02-29T12:00:00Z"), error);
  std::string out;
  codec::unescape_copy(R"(a\tb\nc\\d\101\x41)", out);
  CHECK(out == "a\tb\nc\\dAA");
}


TEST_CASE("ledger config reads ledger.* with defaults and rejects bad values") {
  auto doc = pt::config::document::from_string(
      "ledger:\n  url: postgresql://bot:pw1234@db:5432/pt\n  batch_size: 500\n  flush_interval: 20ms\n"
      "  unavailable_alert_after: 2s\n",
      "t.yaml", {});
  auto c = config::from(doc);
  CHECK(c.url == "postgresql://bot:pw1234@db:5432/pt");
  CHECK(c.batch_size == 500);
  CHECK(c.flush_interval == 20ms);
  CHECK(c.unavailable_alert_after == 2s);
  CHECK(c.queue_capacity == 100000);
  CHECK(c.retry_backoff_max == 2s);
  CHECK(pt::log::redact("pw1234") == "***");
  CHECK(c.synchronous_commit);  // durable unless said otherwise
  auto fast = pt::config::document::from_string("ledger:\n  url: x\n  synchronous_commit: false\n", "t.yaml", {});
  CHECK_FALSE(config::from(fast).synchronous_commit);
  auto odd = pt::config::document::from_string("ledger:\n  url: x\n  synchronous_commit: sometimes\n", "t.yaml", {});
  CHECK_THROWS_WITH(config::from(odd), Catch::Contains("ledger.synchronous_commit"));

  auto typo = pt::config::document::from_string("ledger:\n  url: x\n  batch_sise: 5\n", "t.yaml", {});
  CHECK_THROWS_WITH(config::from(typo), Catch::Contains("ledger.batch_sise"));
  auto small = pt::config::document::from_string("ledger:\n  url: x\n  batch_size: 0\n", "t.yaml", {});
  CHECK_THROWS_WITH(config::from(small), Catch::Contains("ledger.batch_size"));
  auto env = pt::config::document::from_string("ledger:\n  batch_size: 10\n", "t.yaml",
                                               {{"DATABASE_URL", "postgresql://a@b/c"}});
  CHECK(config::from(env).url == "postgresql://a@b/c");
}
