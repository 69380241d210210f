#include "control/control.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

namespace ctl = pt::control;
using pt::core::timestamp;
using namespace std::chrono_literals;

namespace {
const timestamp t0 = timestamp::parse_iso8601("2026-11-21T12:00:00Z");
const std::string subject = "ctl.killswitch.trigger";

nlohmann::json signed_body(const std::string& token, const std::string& subj = subject, timestamp at = t0,
                           const std::string& nonce = "abcdef0123456789", const std::string& rid = "req-1") {
  nlohmann::json j{{"request_id", rid}, {"requested_by", "operator"}, {"ts", at.to_iso8601()}, {"nonce", nonce}};
  j["signature"] = ctl::sign(token, subj, at.to_iso8601(), nonce, rid);
  return j;
}
}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
  CHECK(ctl::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("sign covers subject, ts, nonce, request_id joined by newlines") {
  // Expected from Python: hmac.new(b"secret-token", b"ctl.killswitch.trigger\n2026-11-21T12:00:00Z\n
  // abcdef0123456789\nreq-1", hashlib.sha256).hexdigest()
  CHECK(ctl::sign("secret-token", subject, "2026-11-21T12:00:00Z", "abcdef0123456789", "req-1") ==
        "3f106feea50d64c6a90f71c3825d35f2128e16d25732917e07b3b6aa340f484b");
}

TEST_CASE("a correctly signed command is accepted once") {
  ctl::verifier v("secret-token");
  auto body = signed_body("secret-token");
  auto r = v.verify(subject, body, t0 + 2s);
  CHECK(r.ok);
  CHECK(r.reason.empty());
  SECTION("replaying the same command is refused") {
    auto again = v.verify(subject, body, t0 + 3s);
    CHECK_FALSE(again.ok);
    CHECK(again.reason.find("replayed") != std::string::npos);
  }
}

TEST_CASE("a tampered field fails the signature") {
  ctl::verifier v("secret-token");
  auto body = signed_body("secret-token");
  SECTION("request_id") { body["request_id"] = "req-2"; }
  SECTION("nonce") { body["nonce"] = "abcdef0123456780"; }
  SECTION("ts") { body["ts"] = (t0 + 1s).to_iso8601(); }
  SECTION("signature byte") {
    auto s = body["signature"].get<std::string>();
    s[10] = s[10] == '0' ? '1' : '0';
    body["signature"] = s;
  }
  auto r = v.verify(subject, body, t0);
  CHECK_FALSE(r.ok);
  CHECK(r.reason.find("bad signature") != std::string::npos);
}

TEST_CASE("a command signed for another subject fails") {
  ctl::verifier v("secret-token");
  auto r = v.verify("ctl.killswitch.reset", signed_body("secret-token"), t0);
  CHECK_FALSE(r.ok);
  CHECK(r.reason.find("bad signature") != std::string::npos);
}

TEST_CASE("a command signed with another token fails") {
  ctl::verifier v("secret-token");
  CHECK_FALSE(v.verify(subject, signed_body("other-token"), t0).ok);
}

TEST_CASE("skew: 30 s either way is allowed, more is refused") {
  ctl::verifier v("secret-token");
  CHECK(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-aaaa-1"), t0 + 30s).ok);
  CHECK(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-aaaa-2"), t0 - 30s).ok);
  auto stale = v.verify(subject, signed_body("secret-token", subject, t0, "nonce-aaaa-3"), t0 + 31s);
  CHECK_FALSE(stale.ok);
  CHECK(stale.reason.find("stale") != std::string::npos);
  auto future = v.verify(subject, signed_body("secret-token", subject, t0, "nonce-aaaa-4"), t0 - 31s);
  CHECK_FALSE(future.ok);
  CHECK(future.reason.find("future") != std::string::npos);
}

TEST_CASE("a refused command does not burn its nonce") {
  ctl::verifier v("secret-token");
  auto good = signed_body("secret-token");
  auto forged = good;
  forged["signature"] = std::string(64, 'a');
  CHECK_FALSE(v.verify(subject, forged, t0).ok);
  CHECK(v.verify(subject, good, t0).ok);
}

TEST_CASE("nonces expire after 5 minutes and the cache is bounded") {
  ctl::verifier_options o;
  o.max_skew = std::chrono::seconds(3600);  // isolate the nonce rules from the skew rule
  o.max_nonces = 2;
  ctl::verifier v("secret-token", o);
  CHECK(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-bbbb-1"), t0).ok);
  CHECK(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-bbbb-2"), t0).ok);
  auto full = v.verify(subject, signed_body("secret-token", subject, t0, "nonce-bbbb-3"), t0 + 1s);
  CHECK_FALSE(full.ok);
  CHECK(full.reason.find("full") != std::string::npos);
  CHECK(v.nonces_held() == 2);
  // Still a replay at 5 min, forgotten after.
  CHECK_FALSE(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-bbbb-1"), t0 + 300s).ok);
  CHECK(v.verify(subject, signed_body("secret-token", subject, t0, "nonce-bbbb-1"), t0 + 301s).ok);
}

TEST_CASE("missing fields are refused") {
  ctl::verifier v("secret-token");
  for (const char* f : {"ts", "nonce", "request_id", "signature"}) {
    auto body = signed_body("secret-token");
    body.erase(f);
    auto r = v.verify(subject, body, t0);
    CHECK_FALSE(r.ok);
    CHECK(r.reason.find("missing") != std::string::npos);
  }
  CHECK_FALSE(v.verify(subject, nlohmann::json::array(), t0).ok);
  auto num = signed_body("secret-token");
  num["nonce"] = 12345;
  CHECK_FALSE(v.verify(subject, num, t0).ok);
}

TEST_CASE("no token configured refuses everything") {
  ctl::verifier v("");
  CHECK_FALSE(v.configured());
  // Even a body signed with the empty key.
  auto r = v.verify(subject, signed_body(""), t0);
  CHECK_FALSE(r.ok);
  CHECK(r.reason.find("no control token") != std::string::npos);
  ::unsetenv("PT_CONTROL_TEST_TOKEN");
  auto e = ctl::verifier::from_env("PT_CONTROL_TEST_TOKEN");
  CHECK_FALSE(e.configured());
  CHECK_FALSE(e.verify(subject, signed_body(""), t0).ok);
}

TEST_CASE("make_command builds a body the verifier accepts, and redact drops the signature") {
  ::setenv("PT_CONTROL_TEST_TOKEN", "tok-from-env", 1);
  auto v = ctl::verifier::from_env("PT_CONTROL_TEST_TOKEN");
  auto body = ctl::make_command("tok-from-env", "ctl.autonomous.enable", "ptctl", "go", t0);
  CHECK(body["requested_by"] == "ptctl");
  CHECK(body["reason"] == "go");
  CHECK(body["signature"].get<std::string>().size() == 64);
  CHECK(body["nonce"].get<std::string>().size() == 32);
  CHECK(v.verify("ctl.autonomous.enable", body, t0 + 1s).ok);
  auto audit = ctl::redact(body);
  CHECK_FALSE(audit.contains("signature"));
  CHECK(audit["nonce"] == body["nonce"]);
  CHECK(audit.dump().find("tok-from-env") == std::string::npos);
  auto other = ctl::make_command("tok-from-env", "ctl.autonomous.enable", "ptctl", "", t0);
  CHECK_FALSE(other.contains("reason"));
  CHECK(other["nonce"] != body["nonce"]);
  ::unsetenv("PT_CONTROL_TEST_TOKEN");
}

TEST_CASE("constant_time_equal") {
  CHECK(ctl::constant_time_equal("abc", "abc"));
  CHECK_FALSE(ctl::constant_time_equal("abc", "abd"));
  CHECK_FALSE(ctl::constant_time_equal("abc", "abcd"));
}
