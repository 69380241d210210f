// Hand-computed scenarios, one per matching rule. Expected fills and events are worked out by
// hand from the rules (price, then time priority; fills at the maker's price), not from output.
#include "matching/order_book.hpp"
#include "recorder.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace pt::matching;
using pt::matching::test::done_ev;
using pt::matching::test::event;
using pt::matching::test::fill_ev;
using pt::matching::test::recorder;

namespace {

order_request lim(order_id id, owner_id owner, side s, price_t px, qty_t q, time_in_force tif = time_in_force::gtc,
                  stp_mode stp = stp_mode::none) {
  order_request r;
  r.id = id;
  r.owner = owner;
  r.s = s;
  r.type = order_type::limit;
  r.tif = tif;
  r.price = px;
  r.qty = q;
  r.stp = stp;
  return r;
}

order_request mkt(order_id id, owner_id owner, side s, qty_t q, price_t bound = 0,
                  time_in_force tif = time_in_force::ioc, stp_mode stp = stp_mode::none) {
  order_request r = lim(id, owner, s, bound, q, tif, stp);
  r.type = order_type::market;
  return r;
}

// Places a resting order that must not trade.
void place(order_book& b, order_id id, owner_id owner, side s, price_t px, qty_t q) {
  recorder rec;
  const submit_result r = b.submit(lim(id, owner, s, px, q), rec);
  REQUIRE(r.reject == reject_reason::none);
  REQUIRE(r.resting == q);
  REQUIRE(rec.events.empty());
}

constexpr side B = side::buy;
constexpr side S = side::sell;
using dr = done_reason;

bool same_levels(const std::vector<level>& got, const std::vector<level>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].price != want[i].price || got[i].qty != want[i].qty || got[i].orders != want[i].orders) return false;
  return true;
}

}  // namespace

TEST_CASE("empty book", "[book]") {
  order_book b;
  CHECK_FALSE(b.best_bid());
  CHECK_FALSE(b.best_ask());
  CHECK(b.order_count() == 0);
  CHECK(b.depth(B, 10).empty());
  CHECK_FALSE(b.find(1));
  CHECK(b.would_fill(B, 0, 5, 1) == 0);
}

TEST_CASE("better price matches first across levels, at the maker's price", "[priority]") {
  order_book b;
  place(b, 1, 10, S, 101, 5);
  place(b, 2, 11, S, 100, 3);
  place(b, 3, 12, S, 102, 4);
  CHECK(b.best_ask() == 100);
  recorder rec;
  const auto r = b.submit(lim(9, 20, B, 102, 10), rec);
  CHECK(r.reject == reject_reason::none);
  CHECK(r.filled == 10);
  CHECK(r.resting == 0);
  // 3 @100 (id 2), 5 @101 (id 1), then 2 of 4 @102 (id 3).
  const std::vector<event> want{
      fill_ev(9, 2, 20, 11, B, 100, 3, 7, 0), done_ev(2, 11, dr::filled, 0),
      fill_ev(9, 1, 20, 10, B, 101, 5, 2, 0), done_ev(1, 10, dr::filled, 0),
      fill_ev(9, 3, 20, 12, B, 102, 2, 0, 2), done_ev(9, 20, dr::filled, 0),
  };
  CHECK(rec.events == want);
  CHECK(b.order_count() == 1);
  CHECK(b.best_ask() == 102);
  CHECK_FALSE(b.best_bid());
  const auto v = b.find(3);
  REQUIRE(v);
  CHECK(v->qty == 2);
  CHECK(v->original == 4);
}

TEST_CASE("sell taker takes the highest bid first", "[priority]") {
  order_book b;
  place(b, 1, 1, B, 99, 4);
  place(b, 2, 2, B, 100, 1);
  place(b, 3, 3, B, 98, 7);
  recorder rec;
  const auto r = b.submit(lim(4, 4, S, 99, 3), rec);
  CHECK(r.filled == 3);
  const std::vector<event> want{
      fill_ev(4, 2, 4, 2, S, 100, 1, 2, 0), done_ev(2, 2, dr::filled, 0),
      fill_ev(4, 1, 4, 1, S, 99, 2, 0, 2),  done_ev(4, 4, dr::filled, 0),
  };
  CHECK(rec.events == want);
  CHECK(b.best_bid() == 99);
  CHECK(same_levels(b.depth(B, 5), {{99, 2, 1}, {98, 7, 1}}));
}

TEST_CASE("earlier order first within a level", "[priority]") {
  order_book b;
  place(b, 1, 1, S, 100, 2);
  place(b, 2, 2, S, 100, 3);
  place(b, 3, 3, S, 100, 4);
  recorder rec;
  const auto r = b.submit(lim(7, 9, B, 100, 4), rec);
  CHECK(r.filled == 4);
  const std::vector<event> want{
      fill_ev(7, 1, 9, 1, B, 100, 2, 2, 0), done_ev(1, 1, dr::filled, 0),
      fill_ev(7, 2, 9, 2, B, 100, 2, 0, 1), done_ev(7, 9, dr::filled, 0),
  };
  CHECK(rec.events == want);
  CHECK(same_levels(b.depth(S, 5), {{100, 5, 2}}));
  // A later order at the same price queues behind both survivors.
  place(b, 4, 4, S, 100, 1);
  rec.take();
  b.submit(lim(8, 9, B, 100, 5), rec);
  const std::vector<event> want2{
      fill_ev(8, 2, 9, 2, B, 100, 1, 4, 0), done_ev(2, 2, dr::filled, 0),
      fill_ev(8, 3, 9, 3, B, 100, 4, 0, 0), done_ev(3, 3, dr::filled, 0),
      done_ev(8, 9, dr::filled, 0),
  };
  CHECK(rec.events == want2);
  CHECK(b.order_count() == 1);
  CHECK(b.find(4));
}

TEST_CASE("GTC limit fills what crosses and rests the remainder at its own price", "[gtc]") {
  order_book b;
  place(b, 1, 1, S, 100, 3);
  recorder rec;
  const auto r = b.submit(lim(2, 2, B, 101, 5), rec);
  CHECK(r.filled == 3);
  CHECK(r.resting == 2);
  const std::vector<event> want{fill_ev(2, 1, 2, 1, B, 100, 3, 2, 0), done_ev(1, 1, dr::filled, 0)};
  CHECK(rec.events == want);
  CHECK(b.best_bid() == 101);
  CHECK_FALSE(b.best_ask());
  const auto v = b.find(2);
  REQUIRE(v);
  CHECK(v->s == B);
  CHECK(v->price == 101);
  CHECK(v->qty == 2);
  CHECK(v->original == 5);
  CHECK(v->owner == 2);
}

TEST_CASE("a limit that does not cross rests without events", "[gtc]") {
  order_book b;
  place(b, 1, 1, S, 100, 3);
  place(b, 2, 1, B, 99, 3);
  CHECK(b.best_bid() == 99);
  CHECK(b.best_ask() == 100);
  CHECK(b.order_count() == 2);
}

TEST_CASE("IOC fills what it can and expires the rest", "[ioc]") {
  order_book b;
  place(b, 1, 1, S, 100, 3);
  place(b, 2, 1, S, 102, 3);
  recorder rec;
  const auto r = b.submit(lim(5, 2, B, 101, 5, time_in_force::ioc), rec);
  CHECK(r.reject == reject_reason::none);
  CHECK(r.filled == 3);
  CHECK(r.resting == 0);
  const std::vector<event> want{fill_ev(5, 1, 2, 1, B, 100, 3, 2, 0), done_ev(1, 1, dr::filled, 0),
                                done_ev(5, 2, dr::expired, 2)};
  CHECK(rec.events == want);
  CHECK_FALSE(b.find(5));
  CHECK_FALSE(b.best_bid());

  SECTION("IOC that crosses nothing expires whole") {
    rec.take();
    const auto r2 = b.submit(lim(6, 2, B, 101, 4, time_in_force::ioc), rec);
    CHECK(r2.reject == reject_reason::none);
    CHECK(r2.filled == 0);
    CHECK(rec.events == std::vector<event>{done_ev(6, 2, dr::expired, 4)});
    CHECK(b.order_count() == 1);
  }
}

TEST_CASE("FOK fills completely or rejects without touching the book", "[fok]") {
  order_book b;
  place(b, 1, 1, S, 100, 3);
  place(b, 2, 1, S, 101, 2);
  recorder rec;
  SECTION("not enough within the limit") {
    auto r = b.submit(lim(5, 2, B, 101, 6, time_in_force::fok), rec);
    CHECK(r.reject == reject_reason::fok_cannot_fill);
    CHECK(r.filled == 0);
    r = b.submit(lim(6, 2, B, 100, 4, time_in_force::fok), rec);
    CHECK(r.reject == reject_reason::fok_cannot_fill);
    CHECK(rec.events.empty());
    CHECK(b.order_count() == 2);
    CHECK(same_levels(b.depth(S, 5), {{100, 3, 1}, {101, 2, 1}}));
  }
  SECTION("exactly enough") {
    const auto r = b.submit(lim(5, 2, B, 101, 5, time_in_force::fok), rec);
    CHECK(r.reject == reject_reason::none);
    CHECK(r.filled == 5);
    const std::vector<event> want{
        fill_ev(5, 1, 2, 1, B, 100, 3, 2, 0), done_ev(1, 1, dr::filled, 0),
        fill_ev(5, 2, 2, 1, B, 101, 2, 0, 0), done_ev(2, 1, dr::filled, 0),
        done_ev(5, 2, dr::filled, 0),
    };
    CHECK(rec.events == want);
    CHECK(b.order_count() == 0);
  }
  SECTION("own orders do not count under expire_maker; they are cancelled on the way") {
    place(b, 3, 2, S, 100, 10);  // owner 2's own ask behind order 1
    auto r = b.submit(lim(5, 2, B, 101, 6, time_in_force::fok, stp_mode::expire_maker), rec);
    CHECK(r.reject == reject_reason::fok_cannot_fill);
    CHECK(rec.events.empty());
    CHECK(b.order_count() == 3);
    r = b.submit(lim(6, 2, B, 101, 4, time_in_force::fok, stp_mode::expire_maker), rec);
    CHECK(r.filled == 4);
    const std::vector<event> want{
        fill_ev(6, 1, 2, 1, B, 100, 3, 1, 0), done_ev(1, 1, dr::filled, 0),
        done_ev(3, 2, dr::stp_expired, 10),
        fill_ev(6, 2, 2, 1, B, 101, 1, 0, 1), done_ev(6, 2, dr::filled, 0),
    };
    CHECK(rec.events == want);
  }
  SECTION("with expire_taker an own order stops the fill, so FOK rejects") {
    place(b, 3, 2, S, 100, 10);
    const auto r = b.submit(lim(5, 2, B, 101, 4, time_in_force::fok, stp_mode::expire_taker), rec);
    CHECK(r.reject == reject_reason::fok_cannot_fill);
    CHECK(rec.events.empty());
    // 3 lots ahead of the own order are enough.
    const auto r2 = b.submit(lim(6, 2, B, 101, 3, time_in_force::fok, stp_mode::expire_taker), rec);
    CHECK(r2.filled == 3);
    CHECK(b.find(3));
  }
}

TEST_CASE("post-only rejects when it would take and never re-prices", "[post_only]") {
  order_book b;
  place(b, 1, 1, S, 100, 3);
  recorder rec;
  auto r = b.submit(lim(2, 2, B, 100, 1, time_in_force::post_only), rec);
  CHECK(r.reject == reject_reason::post_only_would_take);
  r = b.submit(lim(3, 2, B, 105, 1, time_in_force::post_only), rec);
  CHECK(r.reject == reject_reason::post_only_would_take);
  CHECK(rec.events.empty());
  CHECK_FALSE(b.best_bid());
  r = b.submit(lim(4, 2, B, 99, 2, time_in_force::post_only), rec);
  CHECK(r.reject == reject_reason::none);
  CHECK(r.resting == 2);
  CHECK(rec.events.empty());
  CHECK(b.best_bid() == 99);
  // Even against one's own order with STP on, crossing is taking.
  r = b.submit(lim(5, 1, B, 100, 1, time_in_force::post_only, stp_mode::expire_maker), rec);
  CHECK(r.reject == reject_reason::post_only_would_take);
  CHECK(b.find(1));
}

TEST_CASE("market orders", "[market]") {
  order_book b;
  recorder rec;
  SECTION("empty side: no_liquidity") {
    place(b, 1, 1, B, 100, 3);  // liquidity on the wrong side only
    const auto r = b.submit(mkt(2, 2, B, 1), rec);
    CHECK(r.reject == reject_reason::no_liquidity);
    CHECK(rec.events.empty());
  }
  SECTION("walks the book, remainder expires") {
    place(b, 1, 1, S, 100, 2);
    place(b, 2, 1, S, 105, 2);
    const auto r = b.submit(mkt(3, 2, B, 6), rec);
    CHECK(r.reject == reject_reason::none);
    CHECK(r.filled == 4);
    CHECK(r.resting == 0);
    const std::vector<event> want{
        fill_ev(3, 1, 2, 1, B, 100, 2, 4, 0), done_ev(1, 1, dr::filled, 0),
        fill_ev(3, 2, 2, 1, B, 105, 2, 2, 0), done_ev(2, 1, dr::filled, 0),
        done_ev(3, 2, dr::expired, 2),
    };
    CHECK(rec.events == want);
    CHECK(b.order_count() == 0);
  }
  SECTION("protection bound stops the walk") {
    place(b, 1, 1, S, 100, 2);
    place(b, 2, 1, S, 105, 2);
    const auto r = b.submit(mkt(3, 2, B, 3, 102), rec);
    CHECK(r.filled == 2);
    const std::vector<event> want{fill_ev(3, 1, 2, 1, B, 100, 2, 1, 0), done_ev(1, 1, dr::filled, 0),
                                  done_ev(3, 2, dr::expired, 1)};
    CHECK(rec.events == want);
    CHECK(b.best_ask() == 105);
  }
  SECTION("bound beyond the best price: no_liquidity") {
    place(b, 1, 1, S, 100, 2);
    const auto r = b.submit(mkt(3, 2, B, 1, 99), rec);
    CHECK(r.reject == reject_reason::no_liquidity);
    CHECK(rec.events.empty());
  }
  SECTION("market sell with a floor") {
    place(b, 1, 1, B, 100, 2);
    place(b, 2, 1, B, 95, 2);
    const auto r = b.submit(mkt(3, 2, S, 4, 96), rec);
    CHECK(r.filled == 2);
    CHECK(b.best_bid() == 95);
  }
  SECTION("market FOK") {
    place(b, 1, 1, S, 100, 2);
    auto r = b.submit(mkt(3, 2, B, 3, 0, time_in_force::fok), rec);
    CHECK(r.reject == reject_reason::fok_cannot_fill);
    r = b.submit(mkt(4, 2, B, 2, 0, time_in_force::fok), rec);
    CHECK(r.filled == 2);
  }
}

TEST_CASE("self-trade prevention", "[stp]") {
  // Owner 7's ask is first in the queue, owner 8's second.
  order_book b;
  place(b, 1, 7, S, 100, 2);
  place(b, 2, 8, S, 100, 3);
  recorder rec;
  SECTION("none: trading with yourself is allowed") {
    const auto r = b.submit(lim(5, 7, B, 100, 4), rec);
    CHECK(r.filled == 4);
    const std::vector<event> want{
        fill_ev(5, 1, 7, 7, B, 100, 2, 2, 0), done_ev(1, 7, dr::filled, 0),
        fill_ev(5, 2, 7, 8, B, 100, 2, 0, 1), done_ev(5, 7, dr::filled, 0),
    };
    CHECK(rec.events == want);
  }
  SECTION("expire_taker: the taker's remainder expires, even for GTC; the maker stays") {
    const auto r = b.submit(lim(5, 7, B, 100, 4, time_in_force::gtc, stp_mode::expire_taker), rec);
    CHECK(r.reject == reject_reason::none);
    CHECK(r.filled == 0);
    CHECK(r.resting == 0);
    CHECK(rec.events == std::vector<event>{done_ev(5, 7, dr::stp_expired, 4)});
    CHECK(b.order_count() == 2);
    CHECK_FALSE(b.best_bid());
  }
  SECTION("expire_maker: own maker cancelled, matching continues, GTC rest rests") {
    const auto r = b.submit(lim(5, 7, B, 100, 4, time_in_force::gtc, stp_mode::expire_maker), rec);
    CHECK(r.filled == 3);
    CHECK(r.resting == 1);
    const std::vector<event> want{
        done_ev(1, 7, dr::stp_expired, 2),
        fill_ev(5, 2, 7, 8, B, 100, 3, 1, 0),
        done_ev(2, 8, dr::filled, 0),
    };
    CHECK(rec.events == want);
    CHECK(b.best_bid() == 100);
    CHECK_FALSE(b.best_ask());
  }
  SECTION("expire_both: maker cancelled and taker expires") {
    const auto r = b.submit(lim(5, 7, B, 100, 4, time_in_force::gtc, stp_mode::expire_both), rec);
    CHECK(r.filled == 0);
    const std::vector<event> want{done_ev(1, 7, dr::stp_expired, 2), done_ev(5, 7, dr::stp_expired, 4)};
    CHECK(rec.events == want);
    CHECK(b.order_count() == 1);
    CHECK(b.find(2));
  }
  SECTION("expire_taker after a partial fill") {
    order_book c;
    place(c, 1, 8, S, 100, 1);
    place(c, 2, 7, S, 100, 2);
    place(c, 3, 8, S, 101, 5);
    const auto r = c.submit(lim(5, 7, B, 101, 5, time_in_force::gtc, stp_mode::expire_taker), rec);
    CHECK(r.filled == 1);
    CHECK(r.resting == 0);
    const std::vector<event> want{fill_ev(5, 1, 7, 8, B, 100, 1, 4, 0), done_ev(1, 8, dr::filled, 0),
                                  done_ev(5, 7, dr::stp_expired, 4)};
    CHECK(rec.events == want);
    CHECK(c.order_count() == 2);
  }
  SECTION("owner 0 (synthetic) never self-trade-prevents") {
    order_book c;
    place(c, 1, 0, S, 100, 2);
    const auto r = c.submit(lim(5, 0, B, 100, 2, time_in_force::gtc, stp_mode::expire_both), rec);
    CHECK(r.filled == 2);
    const std::vector<event> want{fill_ev(5, 1, 0, 0, B, 100, 2, 0, 0), done_ev(1, 0, dr::filled, 0),
                                  done_ev(5, 0, dr::filled, 0)};
    CHECK(rec.events == want);
  }
  SECTION("different owners are unaffected by the mode") {
    const auto r = b.submit(lim(5, 9, B, 100, 5, time_in_force::gtc, stp_mode::expire_both), rec);
    CHECK(r.filled == 5);
    CHECK(b.order_count() == 0);
  }
}

TEST_CASE("cancel", "[cancel]") {
  order_book b;
  place(b, 1, 1, S, 100, 2);
  place(b, 2, 2, S, 100, 3);
  place(b, 3, 3, S, 100, 4);
  recorder rec;
  CHECK(b.cancel(2, rec) == 3);
  CHECK(rec.events == std::vector<event>{done_ev(2, 2, dr::cancelled, 3)});
  CHECK_FALSE(b.cancel(2, rec));
  CHECK_FALSE(b.cancel(99, rec));
  CHECK(rec.events.size() == 1);
  CHECK(same_levels(b.depth(S, 5), {{100, 6, 2}}));
  // The queue closes up: 1 then 3.
  rec.take();
  b.submit(lim(9, 9, B, 100, 3), rec);
  const std::vector<event> want{fill_ev(9, 1, 9, 1, B, 100, 2, 1, 0), done_ev(1, 1, dr::filled, 0),
                                fill_ev(9, 3, 9, 3, B, 100, 1, 0, 3), done_ev(9, 9, dr::filled, 0)};
  CHECK(rec.events == want);
  // Cancel after a partial fill returns what is left; the last order removes the level.
  rec.take();
  CHECK(b.cancel(3, rec) == 3);
  CHECK_FALSE(b.best_ask());
  CHECK(b.order_count() == 0);
  // The id is free again.
  place(b, 3, 3, B, 90, 1);
}

TEST_CASE("reduce amends down and keeps time priority", "[reduce]") {
  order_book b;
  place(b, 1, 1, S, 100, 5);
  place(b, 2, 2, S, 100, 5);
  CHECK(b.reduce(1, 2));
  auto v = b.find(1);
  REQUIRE(v);
  CHECK(v->qty == 2);
  CHECK(v->original == 2);
  CHECK(same_levels(b.depth(S, 5), {{100, 7, 2}}));
  CHECK_FALSE(b.reduce(1, 3));   // up is not allowed
  CHECK_FALSE(b.reduce(1, 0));   // zero: use cancel
  CHECK_FALSE(b.reduce(1, -1));
  CHECK_FALSE(b.reduce(42, 1));  // unknown
  CHECK(b.reduce(1, 2));         // same size: no change
  recorder rec;
  b.submit(lim(9, 9, B, 100, 3), rec);
  const std::vector<event> want{fill_ev(9, 1, 9, 1, B, 100, 2, 1, 0), done_ev(1, 1, dr::filled, 0),
                                fill_ev(9, 2, 9, 2, B, 100, 1, 0, 4), done_ev(9, 9, dr::filled, 0)};
  CHECK(rec.events == want);
  // After a partial fill, original shrinks by the amount taken off: 5 - (4 - 1) = 2.
  CHECK(b.reduce(2, 1));
  v = b.find(2);
  REQUIRE(v);
  CHECK(v->qty == 1);
  CHECK(v->original == 2);
}

TEST_CASE("depth aggregates per level, best first, and honours max_levels", "[depth]") {
  order_book b;
  place(b, 1, 1, B, 100, 3);
  place(b, 2, 2, B, 99, 5);
  place(b, 3, 3, B, 100, 4);
  place(b, 4, 4, B, 98, 1);
  place(b, 5, 4, S, 103, 2);
  place(b, 6, 4, S, 101, 6);
  place(b, 7, 4, S, 101, 1);
  CHECK(same_levels(b.depth(B, 2), {{100, 7, 2}, {99, 5, 1}}));
  CHECK(same_levels(b.depth(B, 10), {{100, 7, 2}, {99, 5, 1}, {98, 1, 1}}));
  CHECK(same_levels(b.depth(S, 10), {{101, 7, 2}, {103, 2, 1}}));
  CHECK(b.depth(S, 0).empty());
  CHECK(b.order_count() == 7);
}

TEST_CASE("cancel_owner cancels every resting order of one owner in a fixed order", "[cancel_owner]") {
  order_book b;
  place(b, 1, 0, B, 99, 1);
  place(b, 2, 5, B, 100, 1);
  place(b, 3, 0, B, 100, 2);
  place(b, 4, 0, S, 102, 3);
  place(b, 5, 0, S, 101, 4);
  place(b, 6, 5, S, 101, 5);
  recorder rec;
  CHECK(b.cancel_owner(0, rec) == 4);
  // Bids best-first (100 then 99), then asks best-first (101 then 102).
  const std::vector<event> want{done_ev(3, 0, dr::cancelled, 2), done_ev(1, 0, dr::cancelled, 1),
                                done_ev(5, 0, dr::cancelled, 4), done_ev(4, 0, dr::cancelled, 3)};
  CHECK(rec.events == want);
  CHECK(b.order_count() == 2);
  CHECK(same_levels(b.depth(B, 5), {{100, 1, 1}}));
  CHECK(same_levels(b.depth(S, 5), {{101, 5, 1}}));
  CHECK(b.cancel_owner(77, rec) == 0);
}

TEST_CASE("would_fill", "[would_fill]") {
  order_book b;
  place(b, 1, 1, S, 100, 2);
  place(b, 2, 3, S, 100, 4);  // owner 3
  place(b, 3, 1, S, 101, 5);
  place(b, 4, 0, S, 103, 7);
  // No bound: 2 + 4 + 5 + 7 = 18 available, capped at the asked quantity.
  CHECK(b.would_fill(B, 0, 100, 9) == 18);
  CHECK(b.would_fill(B, 0, 10, 9) == 10);
  CHECK(b.would_fill(B, 100, 100, 9) == 6);
  CHECK(b.would_fill(B, 102, 100, 9) == 11);
  CHECK(b.would_fill(B, 99, 100, 9) == 0);
  CHECK(b.would_fill(S, 0, 100, 9) == 0);
  // Owner 3's own 4 lots: skipped by default (expire_maker), counted with none, a stop with expire_taker.
  CHECK(b.would_fill(B, 0, 100, 3) == 14);
  CHECK(b.would_fill(B, 0, 100, 3, stp_mode::none) == 18);
  CHECK(b.would_fill(B, 0, 100, 3, stp_mode::expire_taker) == 2);
  CHECK(b.would_fill(B, 0, 100, 3, stp_mode::expire_both) == 2);
  // Owner 0 is never excluded.
  CHECK(b.would_fill(B, 0, 100, 0) == 18);
  CHECK(b.would_fill(B, 0, 0, 9) == 0);
  // Nothing changed.
  CHECK(b.order_count() == 4);
}

TEST_CASE("bad requests are rejected without side effects", "[reject]") {
  order_book b;
  place(b, 1, 1, S, 100, 2);
  recorder rec;
  CHECK(b.submit(lim(2, 1, B, 100, 0), rec).reject == reject_reason::bad_quantity);
  CHECK(b.submit(lim(2, 1, B, 100, -3), rec).reject == reject_reason::bad_quantity);
  CHECK(b.submit(lim(2, 1, B, 100, max_qty + 1), rec).reject == reject_reason::bad_quantity);
  CHECK(b.submit(mkt(2, 1, B, 0), rec).reject == reject_reason::bad_quantity);
  CHECK(b.submit(lim(2, 1, B, 0, 1), rec).reject == reject_reason::bad_price);
  CHECK(b.submit(lim(2, 1, B, -5, 1), rec).reject == reject_reason::bad_price);
  CHECK(b.submit(mkt(2, 1, B, 1, -1), rec).reject == reject_reason::bad_price);
  CHECK(b.submit(lim(1, 2, B, 100, 1), rec).reject == reject_reason::duplicate_id);
  CHECK(b.submit(lim(1, 2, B, 90, 1), rec).reject == reject_reason::duplicate_id);
  CHECK(rec.events.empty());
  CHECK(b.order_count() == 1);
  CHECK(b.find(1)->qty == 2);
  // A filled id can be used again.
  b.submit(lim(2, 2, B, 100, 2), rec);
  CHECK(b.order_count() == 0);
  place(b, 1, 1, S, 100, 2);
}

TEST_CASE("many orders: pool reuse and id index growth stay consistent", "[scale]") {
  order_book b;
  recorder rec;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    // Bids 1..2000 and asks 3001..5000, ten orders a level.
    const bool buy = i % 2 == 0;
    const price_t px = buy ? 1 + (i / 2) % 1000 * 2 : 3001 + (i / 2) % 1000 * 2;
    order_request r = lim(static_cast<order_id>(i) * 7919 + 13, static_cast<owner_id>(i % 5), buy ? B : S, px, 1 + i % 3);
    REQUIRE(b.submit(r, rec).resting == r.qty);
  }
  CHECK(b.order_count() == static_cast<std::size_t>(n));
  CHECK(b.best_bid() == 1999);
  CHECK(b.best_ask() == 3001);
  for (int i = 0; i < n; i += 3) REQUIRE(b.cancel(static_cast<order_id>(i) * 7919 + 13, rec));
  const std::size_t left = static_cast<std::size_t>(n - (n + 2) / 3);
  CHECK(b.order_count() == left);
  qty_t total = 0;
  qty_t ask_total = 0;
  for (int i = 0; i < n; ++i) {
    const auto v = b.find(static_cast<order_id>(i) * 7919 + 13);
    REQUIRE(static_cast<bool>(v) == (i % 3 != 0));
    if (v) {
      CHECK(v->qty == 1 + i % 3);
      total += v->qty;
      if (i % 2 == 1) ask_total += v->qty;
    }
  }
  qty_t depth_total = 0;
  for (const side s : {B, S})
    for (const level& l : b.depth(s, 100000)) depth_total += l.qty;
  CHECK(depth_total == total);
  // Refill the freed slots and sweep one side completely.
  for (int i = 0; i < n; i += 3) place(b, 1000000 + static_cast<order_id>(i), 1, S, 9000 + i % 10, 1);
  rec.take();
  const auto r = b.submit(mkt(5000000, 9, B, 1'000'000), rec);
  CHECK(r.filled == ask_total + (n + 2) / 3);
  CHECK(r.resting == 0);
  CHECK_FALSE(b.best_ask());
  CHECK(b.best_bid() == 1999);
}
