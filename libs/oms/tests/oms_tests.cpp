#include "oms/oms.hpp"

#include <catch2/catch.hpp>

using namespace pt::oms;
using pt::core::decimal;
using K = order_event_kind;
using S = order_status;
using R = apply_result;

namespace {
decimal d(const char* s) { return decimal::parse(s); }
order_event ev(K k, const char* cum = "0") { return {k, d(cum), std::nullopt}; }
}  // namespace

TEST_CASE("order: the happy path new -> in flight -> acked -> partial -> filled") {
  order_machine m(d("3"));
  CHECK(m.status() == S::created);
  CHECK(m.apply(ev(K::send)) == R::applied);
  CHECK(m.status() == S::in_flight);
  CHECK(m.apply(ev(K::ack)) == R::applied);
  CHECK(m.status() == S::acked);
  CHECK(m.apply(ev(K::fill, "1")) == R::applied);
  CHECK(m.status() == S::partial);
  CHECK(m.filled() == d("1"));
  CHECK(m.apply(ev(K::fill, "3")) == R::applied);
  CHECK(m.status() == S::filled);
  CHECK(m.final());
}

TEST_CASE("order: events are idempotent (stream and REST report the same thing)") {
  order_machine m(d("2"));
  REQUIRE(m.apply(ev(K::send)) == R::applied);
  CHECK(m.apply(ev(K::send)) == R::duplicate);
  REQUIRE(m.apply(ev(K::fill, "1")) == R::applied);
  CHECK(m.apply(ev(K::fill, "1")) == R::duplicate);
  CHECK(m.apply(ev(K::ack)) == R::duplicate);  // late ack after the first fill
  CHECK(m.status() == S::partial);
  REQUIRE(m.apply(ev(K::fill, "2")) == R::applied);
  CHECK(m.apply(ev(K::fill, "2")) == R::duplicate);
  CHECK(m.apply(ev(K::ack)) == R::duplicate);
  CHECK(m.status() == S::filled);
  CHECK(m.filled() == d("2"));
}

TEST_CASE("order: a market order's ack may carry the whole fill") {
  order_machine m(d("5"));
  m.apply(ev(K::send));
  CHECK(m.apply({K::fill, d("5"), d("101.5")}) == R::applied);
  CHECK(m.status() == S::filled);
  REQUIRE(m.avg_price());
  CHECK(*m.avg_price() == d("101.5"));
}

TEST_CASE("order: illegal transitions change nothing") {
  SECTION("never sent") {
    order_machine m(d("1"));
    CHECK(m.apply(ev(K::ack)) == R::illegal);
    CHECK(m.apply(ev(K::fill, "1")) == R::illegal);
    CHECK(m.apply(ev(K::cancel)) == R::illegal);
    CHECK(m.apply(ev(K::reject)) == R::illegal);
    CHECK(m.status() == S::created);
  }
  SECTION("nothing leaves a final state") {
    order_machine m(d("1"));
    m.apply(ev(K::send));
    m.apply(ev(K::fill, "1"));
    CHECK(m.apply(ev(K::cancel)) == R::illegal);
    CHECK(m.apply(ev(K::reject)) == R::illegal);
    CHECK(m.apply(ev(K::expire)) == R::illegal);
    CHECK(m.apply(ev(K::send)) == R::illegal);
    CHECK(m.status() == S::filled);
  }
  SECTION("a rejected order cannot be acked or filled") {
    order_machine m(d("1"));
    m.apply(ev(K::send));
    CHECK(m.apply(ev(K::reject)) == R::applied);
    CHECK(m.apply(ev(K::reject)) == R::duplicate);
    CHECK(m.apply(ev(K::ack)) == R::illegal);
    CHECK(m.apply(ev(K::fill, "1")) == R::illegal);
    CHECK(m.status() == S::rejected);
  }
  SECTION("an acked order cannot be rejected; a cancelled one not filled further") {
    order_machine m(d("4"));
    m.apply(ev(K::send));
    m.apply(ev(K::ack));
    CHECK(m.apply(ev(K::reject)) == R::illegal);
    m.apply(ev(K::fill, "1"));
    CHECK(m.apply(ev(K::cancel, "1")) == R::applied);
    CHECK(m.status() == S::cancelled);
    CHECK(m.apply(ev(K::fill, "1")) == R::duplicate);  // the known partial fill, reported late
    CHECK(m.apply(ev(K::fill, "2")) == R::illegal);
    CHECK(m.filled() == d("1"));
  }
  SECTION("overfill and negative fills") {
    order_machine m(d("2"));
    m.apply(ev(K::send));
    CHECK(m.apply(ev(K::fill, "3")) == R::illegal);
    CHECK(m.apply(ev(K::fill, "-1")) == R::illegal);
    CHECK(m.status() == S::in_flight);
  }
  SECTION("expired after a partial fill keeps the fill") {
    order_machine m(d("2"));
    m.apply(ev(K::send));
    CHECK(m.apply(ev(K::expire, "1")) == R::applied);
    CHECK(m.status() == S::expired);
    CHECK(m.filled() == d("1"));
    CHECK(m.apply(ev(K::cancel)) == R::illegal);
  }
  CHECK_THROWS_AS(order_machine(d("0")), std::invalid_argument);
}

TEST_CASE("protection: entry -> stop -> take-profit and protected()") {
  using clk = std::chrono::steady_clock;
  const auto t0 = clk::time_point{} + std::chrono::hours(1);
  protection_plan p(d("95"), d("110"));
  CHECK(p.phase() == plan_phase::awaiting_entry);
  CHECK_FALSE(p.is_protected());
  CHECK_THROWS_AS(p.stop_requested(t0), std::logic_error);  // no stop before the fill
  p.entry_filled(d("1"), d("100"), t0);
  CHECK_FALSE(p.is_protected());
  CHECK_FALSE(p.protection_overdue(t0 + std::chrono::milliseconds(1999), std::chrono::seconds(2)));
  CHECK(p.protection_overdue(t0 + std::chrono::milliseconds(2000), std::chrono::seconds(2)));
  CHECK_THROWS_AS(p.stop_confirmed("native"), std::logic_error);  // never sent
  p.stop_requested(t0);
  p.stop_confirmed("guardian");
  CHECK(p.is_protected());
  CHECK(p.confirmed_by() == "guardian");
  CHECK_FALSE(p.protection_overdue(t0 + std::chrono::seconds(10), std::chrono::seconds(2)));
  p.take_profit_placed();
  CHECK(p.take_profit_in_place());
  p.stop_moved(d("99"));
  CHECK(p.stop_price() == d("99"));
  CHECK(p.is_protected());  // the old stop holds until the new one replaces it
  p.closing();
  CHECK_FALSE(p.is_protected());
  p.closed();
  CHECK(p.phase() == plan_phase::closed);
  CHECK_THROWS_AS(p.entry_filled(d("1"), d("100"), t0), std::logic_error);
}

TEST_CASE("protection: a plan without take-profit refuses one") {
  protection_plan p(d("1"), std::nullopt);
  CHECK_THROWS_AS(p.take_profit_placed(), std::logic_error);
  CHECK_THROWS_AS(protection_plan(d("0"), std::nullopt), std::invalid_argument);
}

TEST_CASE("client id: pt + 30 hex of sha256(decision_id:leg), deterministic") {
  // Expected values from coreutils: printf '%s' "<decision_id>:<leg>" | sha256sum | cut -c1-30
  const std::string dec = "d-trend-BTCUSDT-1h-1700000000000-p";
  CHECK(client_order_id(dec, "entry") == "pte13da0e4a251162bf619cc537b44e7");
  CHECK(client_order_id(dec, "stop") == "ptfeca8fa7eb1ee34df6cdd1f53431ba");
  CHECK(client_order_id("d-x", "exit-2") == "pt73866d7cdf4dc902e231b7a9bb54cb");
  CHECK(client_order_id(dec, "entry") == client_order_id(dec, "entry"));
  CHECK(client_order_id(dec, "entry") != client_order_id(dec + "x", "entry"));
  CHECK(client_order_id(dec, "entry").size() == 32);
  CHECK_THROWS_AS(client_order_id("", "entry"), std::invalid_argument);
  CHECK_THROWS_AS(client_order_id(dec, "bogus"), std::invalid_argument);
  CHECK_THROWS_AS(client_order_id(dec, "exit-0"), std::invalid_argument);
  CHECK_THROWS_AS(client_order_id(dec, "exit-"), std::invalid_argument);
  CHECK(valid_leg("flat-12"));
  CHECK(valid_leg("tp"));
  CHECK(valid_leg("entry-2"));
  CHECK(valid_leg("tp-1"));
  CHECK_FALSE(valid_leg("entry-0"));
  CHECK_FALSE(valid_leg("exit-1a"));
}
