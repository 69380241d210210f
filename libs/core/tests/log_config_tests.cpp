#include "core/config.hpp"
#include "core/log.hpp"
#include "testing/log_capture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using pt::config::document;

using captured_log = pt::testing::log_capture;

TEST_CASE("a log line is one JSON object with level, service, correlation id and fields") {
  captured_log cap;
  pt::log::init("unit", pt::log::level::info);
  {
    pt::log::correlation_scope scope("corr-42");
    pt::log::info("order placed", {{"symbol", "BTC_USDT_PERP"}, {"qty", "0.010"}});
  }
  pt::log::debug("dropped below the minimum level");
  pt::log::warn("no correlation here");
  REQUIRE(cap.lines().size() == 2);
  auto j = nlohmann::json::parse(cap.lines()[0]);
  CHECK(j["level"] == "info");
  CHECK(j["service"] == "unit");
  CHECK(j["correlation_id"] == "corr-42");
  CHECK(j["msg"] == "order placed");
  CHECK(j["symbol"] == "BTC_USDT_PERP");
  CHECK(j["ts"].get<std::string>().back() == 'Z');
  CHECK_FALSE(nlohmann::json::parse(cap.lines()[1]).contains("correlation_id"));
}

TEST_CASE("registered secrets never reach a log line, in the message or in any field") {
  captured_log cap;
  pt::log::register_secret("s3cr3t-api-key");
  pt::log::register_secret("pa\"ss");
  pt::log::error("auth failed with s3cr3t-api-key", {{"header", "X-KEY: s3cr3t-api-key"}, {"pw", "pa\"ss"}});
  REQUIRE(cap.lines().size() == 1);
  CHECK(cap.lines()[0].find("s3cr3t") == std::string::npos);
  CHECK(cap.lines()[0].find("pa\\\"ss") == std::string::npos);
  CHECK(cap.lines()[0].find("***") != std::string::npos);
  CHECK(nlohmann::json::parse(cap.lines()[0])["header"] == "X-KEY: ***");
}

TEST_CASE("invalid UTF-8 in a field does not throw out of the logger") {
  captured_log cap;
  std::string bad = "venue said \xff\xfe";
  REQUIRE_NOTHROW(pt::log::warn("bad venue bytes", {{"raw", bad}}));
  REQUIRE(cap.lines().size() == 1);
  REQUIRE_NOTHROW(nlohmann::json::parse(cap.lines()[0]));
}

TEST_CASE("config reads typed values and environment overrides win") {
  auto d = document::from_string("bus:\n  url: nats://a:1\nledger:\n  batch_size: 500\n  flush: 20ms\n", "t.yaml",
                                 {{"POLYTRADE__LEDGER__BATCH_SIZE", "800"}, {"NATS_URL", "nats://b:2"}});
  CHECK(d.get_string("bus.url") == "nats://b:2");
  CHECK(d.source_of("bus.url") == "env NATS_URL");
  CHECK(d.get_int("ledger.batch_size", 1, 10000) == 800);
  CHECK(d.get_duration("ledger.flush", 1ms, 10s) == 20ms);
  CHECK(d.get_int("ledger.missing", 1, 10, 7) == 7);
  CHECK(d.source_of("ledger.flush") == "t.yaml:5");
}

TEST_CASE("a bad config value names the key, its source and the reason") {
  auto d = document::from_string("ledger:\n  batch_size: -3\n  flush: soon\n  mode: fast\n", "fleet.yaml", {});
  try {
    (void)d.get_int("ledger.batch_size", 1, 10000);
    FAIL("expected a config error");
  } catch (const pt::config::error& e) {
    CHECK(e.key() == "ledger.batch_size");
    CHECK(std::string(e.what()) == "config: ledger.batch_size (fleet.yaml:2): must be between 1 and 10000, got -3");
  }
  CHECK_THROWS_WITH(d.get_duration("ledger.flush", 1ms, 10s), Catch::Contains("ledger.flush") && Catch::Contains("duration"));
  CHECK_THROWS_WITH(d.get_enum("ledger.mode", {"paper", "live"}), Catch::Contains("one of live|paper"));
  CHECK_THROWS_WITH(d.get_string("bus.url"), Catch::Contains("bus.url") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(d.require_only("ledger", {"batch_size", "flush"}), Catch::Contains("ledger.mode") && Catch::Contains("unknown key"));
}

TEST_CASE("a YAML syntax error names file and line") {
  CHECK_THROWS_WITH(document::from_string("a: 1\nb: [1, 2\n", "bad.yaml", {}), Catch::StartsWith("bad.yaml:"));
  CHECK_THROWS_WITH(document::load_file("/nonexistent/x.yaml", {}), Catch::Contains("/nonexistent/x.yaml") && Catch::Contains("cannot open"));
}

TEST_CASE("a secret config value is redacted, including a password inside a URL") {
  captured_log cap;
  auto d = document::from_string("ledger:\n  url: postgresql://bot:hunter2-pw@db:5432/pt\n", "t.yaml", {});
  d.mark_secret("ledger.url");
  pt::log::info("connecting", {{"to", "user bot password hunter2-pw"}});
  REQUIRE(cap.lines().size() == 1);
  CHECK(cap.lines()[0].find("hunter2-pw") == std::string::npos);
  CHECK(pt::config::url_password("postgresql://bot:hunter2-pw@db/pt") == "hunter2-pw");
  CHECK(pt::config::url_password("nats://127.0.0.1:4222").empty());
}

TEST_CASE("redact_url hides exactly the password, whatever it contains") {
  using pt::config::redact_url;
  using pt::config::url_password;
  CHECK(redact_url("postgresql://bot:s3cret@127.0.0.1:5432/pt") == "postgresql://bot:***@127.0.0.1:5432/pt");
  CHECK(redact_url("nats://admin:admin@h:4222") == "nats://admin:***@h:4222");
  CHECK(redact_url("postgresql://u:p@ss@db/pt") == "postgresql://u:***@db/pt");
  CHECK(url_password("postgresql://u:p@ss@db/pt") == "p@ss");
  CHECK(redact_url("postgresql://bot@127.0.0.1:5432/pt") == "postgresql://bot@127.0.0.1:5432/pt");
  CHECK(redact_url("nats://127.0.0.1:4222/x@y") == "nats://127.0.0.1:4222/x@y");  // '@' after the path is no userinfo
  CHECK(url_password("nats://127.0.0.1:4222/x@y").empty());
  CHECK(redact_url("host=db user=bot password=s3cret dbname=pt") == "host=db user=bot password=*** dbname=pt");
}

TEST_CASE("parse_duration is the one duration syntax") {
  using pt::config::parse_duration;
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("5m") == 300000ms);
  CHECK(parse_duration("1h") == 3600000ms);
  CHECK(parse_duration("1500us") == 2ms);
  CHECK(parse_duration("40") == 40ms);
  for (auto bad : {"", "s", "2x", "-1s", "inf", "nan", "1e400s", "1..2s", "99999999999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}
