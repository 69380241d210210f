// The guardian's trigger logic (protection_book) with time and venue answers passed in. Expected
// outcomes are hand-derived from the rule "long: mark <= stop, short: mark >= stop; take-profit the
// other way; close only while the venue shows the position open".
#include "protection_book.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using pt::core::decimal;
using namespace pt::guardian;

namespace {

decimal d(const char* s) { return decimal::parse(s); }

arm_request long_arm(const std::string& id, const char* stop, std::optional<const char*> tp = std::nullopt) {
  arm_request r;
  r.protection_id = id;
  r.correlation_id = "corr-" + id;
  r.venue = "poloniex";
  r.symbol = "BTC_USDT_PERP";
  r.side = pos_side::long_side;
  r.stop = d(stop);
  if (tp) r.take_profit = d(*tp);
  return r;
}

std::vector<std::string> states(const protection_book& b) {
  std::vector<std::string> out;
  for (const auto& r : b.outbox()) out.push_back(r.body.at("state").get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("client id is pt + 30 hex chars of sha256(protection_id:guard-attempt)") {
  // Independent: the digest through OpenSSL's one-shot SHA256 here.
  const std::string in = "p-1:guard-0";
  unsigned char md[32];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(in.data(), in.size(), md, &n, EVP_sha256(), nullptr) == 1);
  char hex[65];
  for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  CHECK(guard_client_id("p-1", 0) == "pt" + std::string(hex, 30));
  CHECK(guard_client_id("p-1", 0).size() == 32);
  CHECK(guard_client_id("p-1", 1) != guard_client_id("p-1", 0));
}

TEST_CASE("long stop: triggers at mark <= stop, closes only while the venue shows it open") {
  protection_book b("poloniex");
  REQUIRE(b.arm(long_arm("p1", "100"), 1000) == arm_result::armed);
  CHECK(b.on_mark("BTC_USDT_PERP", d("100.01"), 1100).empty());
  CHECK(b.due_closes().empty());
  b.on_position("BTC_USDT_PERP", d("5"), 1200);
  CHECK(b.due_closes().empty());  // armed, not crossed
  CHECK(b.on_mark("BTC_USDT_PERP", d("100"), 1300) == std::vector<std::string>{"p1"});  // equal crosses
  // Latched: the mark coming back above the stop does not undo it.
  CHECK(b.on_mark("BTC_USDT_PERP", d("101"), 1350).empty());
  auto due = b.due_closes();
  REQUIRE(due.size() == 1);
  CHECK(due[0].qty == d("5"));
  CHECK(due[0].side == pos_side::long_side);
  CHECK(due[0].client_id == guard_client_id("p1", 0));
  b.order_result("p1", protection_book::order_outcome::live);
  CHECK(b.due_closes().empty());  // live order: no second order
  b.on_position("BTC_USDT_PERP", d("5"), 1400);
  CHECK(b.due_closes().empty());  // still within its two polls
  auto closed = b.on_position("BTC_USDT_PERP", d("0"), 1500);
  REQUIRE(closed.size() == 1);
  CHECK(b.protections().empty());
  CHECK(states(b) == std::vector<std::string>{"armed", "triggered", "closed"});
  CHECK(b.outbox().back().msg_id == "p1:closed");
  CHECK(b.outbox()[1].body.at("mark_price") == "100");
}

TEST_CASE("short stop triggers at mark >= stop and take-profit below") {
  protection_book b("poloniex");
  arm_request r = long_arm("s1", "200", "150");
  r.side = pos_side::short_side;
  REQUIRE(b.arm(r, 0) == arm_result::armed);
  b.on_position("BTC_USDT_PERP", d("-3"), 1);
  CHECK(b.on_mark("BTC_USDT_PERP", d("199.99"), 2).empty());
  CHECK(b.on_mark("BTC_USDT_PERP", d("150.01"), 2).empty());
  CHECK(b.on_mark("BTC_USDT_PERP", d("150"), 3) == std::vector<std::string>{"s1"});
  CHECK(b.protections().at("s1").reason == "take_profit");
  auto due = b.due_closes();
  REQUIRE(due.size() == 1);
  CHECK(due[0].qty == d("3"));
  CHECK(due[0].side == pos_side::short_side);

  protection_book c("poloniex");
  REQUIRE(c.arm(r, 0) == arm_result::armed);
  c.on_position("BTC_USDT_PERP", d("-3"), 1);
  CHECK(c.on_mark("BTC_USDT_PERP", d("200"), 3) == std::vector<std::string>{"s1"});
  CHECK(c.protections().at("s1").reason == "stop");
}

TEST_CASE("long take-profit triggers at mark >= tp and a long stop ignores a short position") {
  protection_book b("poloniex");
  REQUIRE(b.arm(long_arm("p1", "90", "120"), 0) == arm_result::armed);
  CHECK(b.on_mark("BTC_USDT_PERP", d("119.99"), 1).empty());
  CHECK(b.on_mark("BTC_USDT_PERP", d("120"), 2).size() == 1);
  b.on_position("BTC_USDT_PERP", d("-1"), 3);  // not its side: no order
  CHECK(b.due_closes().empty());
}

TEST_CASE("a dead order moves to the next attempt and a new client id") {
  protection_book b("poloniex");
  b.arm(long_arm("p1", "100"), 0);
  b.on_position("BTC_USDT_PERP", d("2"), 1);
  b.on_mark("BTC_USDT_PERP", d("99"), 2);
  b.order_result("p1", protection_book::order_outcome::unknown);  // ambiguous: same id again
  REQUIRE(b.due_closes().size() == 1);
  CHECK(b.due_closes()[0].client_id == guard_client_id("p1", 0));
  CHECK(b.due_closes()[0].query_first);
  b.order_result("p1", protection_book::order_outcome::dead);
  CHECK(b.due_closes()[0].client_id == guard_client_id("p1", 1));
}

TEST_CASE("arm and release are idempotent and a late redelivery never re-arms") {
  protection_book b("poloniex");
  CHECK(b.arm(long_arm("p1", "100"), 0) == arm_result::armed);
  CHECK(b.arm(long_arm("p1", "100"), 1) == arm_result::duplicate);
  CHECK(b.outbox().size() == 1);
  CHECK(b.release("p1", 2));
  CHECK_FALSE(b.release("p1", 3));
  CHECK(b.arm(long_arm("p1", "100"), 4) == arm_result::finished);
  CHECK(b.protections().empty());
  CHECK(states(b) == std::vector<std::string>{"armed", "released"});
  // A release that arrives before its arm wins too.
  CHECK_FALSE(b.release("p2", 5));
  CHECK(b.arm(long_arm("p2", "100"), 6) == arm_result::finished);
}

TEST_CASE("refusals: kill switch, wrong venue, missing stop, take-profit on the wrong side") {
  protection_book b("poloniex");
  b.set_killswitch(true);
  std::string why;
  CHECK(b.arm(long_arm("k1", "100"), 0, &why) == arm_result::refused);
  CHECK(why.find("kill switch") != std::string::npos);
  CHECK(b.outbox().back().body.at("state") == "failed");
  CHECK(b.arm(long_arm("k1", "100"), 0) == arm_result::finished);  // redelivery
  b.set_killswitch(false);
  auto wrong = long_arm("w1", "100");
  wrong.venue = "binance";
  CHECK(b.arm(wrong, 0) == arm_result::refused);
  auto nostop = long_arm("n1", "100");
  nostop.stop.reset();
  CHECK(b.arm(nostop, 0) == arm_result::refused);
  CHECK(b.arm(long_arm("t1", "100", "90"), 0) == arm_result::refused);
  CHECK(b.protections().empty());
}

TEST_CASE("kill switch keeps existing protections") {
  protection_book b("poloniex");
  b.arm(long_arm("p1", "100"), 0);
  b.set_killswitch(true);
  b.on_position("BTC_USDT_PERP", d("1"), 1);
  CHECK(b.on_mark("BTC_USDT_PERP", d("99"), 2).size() == 1);
  CHECK(b.due_closes().size() == 1);
}

TEST_CASE("a position flat by other means is dropped after two flat polls") {
  protection_book b("poloniex");
  b.arm(long_arm("p1", "100"), 0);
  b.on_position("BTC_USDT_PERP", d("1"), 1);
  CHECK(b.on_position("BTC_USDT_PERP", d("0"), 2).empty());
  CHECK(b.on_position("BTC_USDT_PERP", d("1"), 3).empty());  // open again: the count restarts
  CHECK(b.on_position("BTC_USDT_PERP", d("0"), 4).empty());
  CHECK(b.on_position("BTC_USDT_PERP", d("0"), 5).size() == 1);
  CHECK(states(b) == std::vector<std::string>{"armed", "closed"});
}

TEST_CASE("staleness: armed symbols, else the configured ones") {
  protection_book b("poloniex");
  const std::vector<std::string> cfg{"BTC_USDT_PERP", "ETH_USDT_PERP"};
  auto s = b.status(10000, 5000, cfg);
  CHECK_FALSE(s.mark_fresh);  // never a mark
  CHECK(s.stale_symbols.size() == 2);
  b.on_mark("BTC_USDT_PERP", d("1"), 6000);
  b.on_mark("ETH_USDT_PERP", d("1"), 4000);
  s = b.status(10000, 5000, cfg);
  CHECK_FALSE(s.mark_fresh);
  CHECK(s.stale_symbols == std::vector<std::string>{"ETH_USDT_PERP"});  // 6 s old > 5 s
  b.arm(long_arm("p1", "0.5"), 10000);
  s = b.status(10000, 5000, cfg);
  CHECK(s.mark_fresh);  // only the armed symbol counts now (4 s old)
  CHECK(s.armed == 1);
  CHECK_FALSE(b.status(11001, 5000, cfg).mark_fresh);
}

TEST_CASE("restart from the state file keeps protections, finished ids, kill switch and unsent reports") {
  const auto path = (std::filesystem::temp_directory_path() / "guardian-book-test.json").string();
  {
    protection_book b("poloniex");
    b.arm(long_arm("p1", "100", "130"), 0);
    b.arm(long_arm("p2", "100"), 0);
    b.release("p2", 1);
    b.on_position("BTC_USDT_PERP", d("4"), 2);
    b.on_mark("BTC_USDT_PERP", d("99.5"), 3);
    b.order_result("p1", protection_book::order_outcome::dead);
    b.pop_report("p1:armed");
    b.set_killswitch(true);
    write_file_atomic(path, b.to_json().dump());
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  protection_book r("poloniex");
  r.from_json(nlohmann::json::parse(ss.str()));
  REQUIRE(r.protections().size() == 1);
  const auto& p = r.protections().at("p1");
  CHECK(p.ph == phase::triggered);
  CHECK(p.attempt == 1);
  CHECK(p.stop == d("100"));
  CHECK(p.take_profit == d("130"));
  CHECK(p.trigger_mark == d("99.5"));
  CHECK(r.killswitch());
  CHECK(r.arm(long_arm("p2", "100"), 5) == arm_result::finished);
  CHECK(r.arm(long_arm("p1", "100"), 5) == arm_result::duplicate);
  CHECK(states(r) == std::vector<std::string>{"armed", "released", "triggered"});  // p1:armed was sent
  // Positions are re-read after a restart: the close waits for the next poll.
  CHECK(r.due_closes().empty());
  r.on_position("BTC_USDT_PERP", d("4"), 6);
  REQUIRE(r.due_closes().size() == 1);
  CHECK(r.due_closes()[0].client_id == guard_client_id("p1", 1));

  protection_book other("binance");
  CHECK_THROWS_AS(other.from_json(nlohmann::json::parse(ss.str())), state_error);
  CHECK_THROWS_AS(r.from_json(nlohmann::json::parse(R"({"version":1})")), state_error);
  CHECK_THROWS_AS(r.from_json(nlohmann::json::array()), state_error);
  std::filesystem::remove(path);
}

TEST_CASE("the same protection armed with another stop moves it (a trailing stop), checked against the last mark") {
  protection_book b("poloniex");
  REQUIRE(b.arm(long_arm("p1", "100", "150"), 0) == arm_result::armed);
  CHECK(b.on_mark("BTC_USDT_PERP", d("110"), 1).empty());
  // Trailed up to 105: reported armed with the new stop, under its own message id.
  CHECK(b.arm(long_arm("p1", "105", "150"), 2) == arm_result::moved);
  CHECK(b.protections().at("p1").stop == d("105"));
  CHECK(b.outbox().back().body.at("stop_price") == "105");
  CHECK(b.outbox().back().msg_id == "p1:armed:105");
  CHECK(b.arm(long_arm("p1", "105", "150"), 3) == arm_result::duplicate);  // redelivered move
  // 106 is above the moved stop; 105 reaches it.
  CHECK(b.on_mark("BTC_USDT_PERP", d("106"), 4).empty());
  CHECK(b.on_mark("BTC_USDT_PERP", d("105"), 5) == std::vector<std::string>{"p1"});
  // Once triggered, a late move changes nothing.
  CHECK(b.arm(long_arm("p1", "108", "150"), 6) == arm_result::duplicate);
  CHECK(b.protections().at("p1").stop == d("105"));
}

TEST_CASE("a move past the last mark triggers at once, and one past the take-profit is refused") {
  protection_book b("poloniex");
  REQUIRE(b.arm(long_arm("p1", "100", "150"), 0) == arm_result::armed);
  CHECK(b.on_mark("BTC_USDT_PERP", d("120"), 1).empty());
  std::string why;
  CHECK(b.arm(long_arm("p1", "160", "150"), 2, &why) == arm_result::move_refused);
  CHECK(why == "moved stop on the wrong side of take_profit");
  CHECK(b.protections().at("p1").stop == d("100"));
  // Answered, with the stop kept, so the sender does not wait for an armed that never comes.
  CHECK(b.outbox().back().body.at("stop_price") == "100");
  CHECK(b.outbox().back().body.at("detail").get<std::string>().rfind("move refused", 0) == 0);
  CHECK(b.arm(long_arm("p1", "121", "150"), 3) == arm_result::moved);  // above the mark of 120
  CHECK(states(b).back() == "triggered");
}

TEST_CASE("a redelivered older arm never loosens a moved stop (stop_version)") {
  protection_book b("poloniex");
  auto v = [](const char* stop, std::int64_t version) {
    auto r = long_arm("p1", stop, "150");
    r.stop_version = version;
    return r;
  };
  REQUIRE(b.arm(v("100", 0), 0) == arm_result::armed);
  CHECK(b.arm(v("110", 2), 1) == arm_result::moved);
  CHECK(b.arm(v("105", 1), 2) == arm_result::duplicate);  // move 1 redelivered after move 2
  CHECK(b.arm(v("100", 0), 3) == arm_result::duplicate);  // the entry's arm redelivered
  CHECK(b.protections().at("p1").stop == d("110"));
  CHECK(b.arm(v("112", 3), 4) == arm_result::moved);
  // The version survives a restart (state file).
  protection_book r("poloniex");
  r.from_json(b.to_json());
  CHECK(r.arm(v("111", 3), 5) == arm_result::duplicate);
  CHECK(r.protections().at("p1").stop == d("112"));
}
