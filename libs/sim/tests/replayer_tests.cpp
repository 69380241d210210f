// The replayer: bars walked adverse-first for the accounts' position, funding at its times,
// candles that never show the future, and the same run twice gives the same state.
#include "sim/replayer.hpp"

#include <catch2/catch.hpp>

using namespace pt;
using namespace pt::core::literals;
using core::decimal;

namespace {

constexpr std::int64_t hour = 3600000;
constexpr std::int64_t t0 = 1735603200000;  // 2024-12-31T00:00Z

venue::instrument inst() {
  venue::instrument i;
  i.symbol = "BTCUSDT";
  i.contract_size = decimal::one();
  i.tick = "0.1"_dec;
  i.lot = "0.001"_dec;
  i.min_qty = "0.001"_dec;
  i.max_leverage = 20;
  i.maker_fee = "0.0002"_dec;
  i.taker_fee = "0.0005"_dec;
  return i;
}

replay::bar bar(std::int64_t t, const char* o, const char* h, const char* l, const char* c) {
  return replay::bar{t, decimal::parse(o), decimal::parse(h), decimal::parse(l), decimal::parse(c), "100"_dec,
                     std::nullopt, std::nullopt};
}

sim::series two_bars() {
  sim::series s;
  s.venue_symbol = "BTCUSDT";
  s.base_ms = hour;
  s.bars = {bar(t0, "100", "101", "99", "100.5"), bar(t0 + hour, "100.5", "110", "90", "100")};
  s.funding = {{t0 + hour, "0.001"_dec, std::nullopt}};
  return s;
}

struct mark_log : sim::listener {
  std::vector<decimal> prices;
  void on_public_trade(const venue::public_trade& t) override { prices.push_back(t.price); }
};

}  // namespace

TEST_CASE("a bar that touches both extremes is walked adverse-first for a long and for a short") {
  for (int dir : {+1, -1}) {
    sim::exchange ex({inst()});
    const auto acct = ex.add_account("100000"_dec);
    sim::market_replayer r(ex, {two_bars()});
    r.advance_to(t0 + hour - 1);  // the first bar is walked
    venue::order_request o;
    o.symbol = "BTCUSDT";
    o.s = dir > 0 ? venue::side::buy : venue::side::sell;
    o.type = venue::order_type::market;
    o.qty = "1"_dec;
    REQUIRE(ex.place(acct, o, t0 + hour - 1).ok());
    // The second bar is planned when it starts, from the position then held.
    r.advance_to(t0 + hour);  // open point
    r.advance_to(t0 + hour + hour / 3);  // the first extreme
    const decimal first = *ex.last_price("BTCUSDT");
    CHECK(first == (dir > 0 ? "90"_dec : "110"_dec));
    r.advance_to(t0 + 2 * hour);
    CHECK(*ex.last_price("BTCUSDT") == "100"_dec);
  }
}

TEST_CASE("funding settles at its recorded time on the position then held") {
  sim::exchange ex({inst()});
  const auto acct = ex.add_account("100000"_dec);
  sim::market_replayer r(ex, {two_bars()});
  r.advance_to(t0 + 10);
  venue::order_request o;
  o.symbol = "BTCUSDT";
  o.s = venue::side::buy;
  o.type = venue::order_type::market;
  o.qty = "2"_dec;
  REQUIRE(ex.place(acct, o, t0 + 10).ok());
  const decimal before = ex.balance(acct).wallet;
  REQUIRE(ex.positions(acct).size() == 1);
  const decimal held = ex.positions(acct)[0].qty;  // what the synthetic book could fill
  CHECK(held.is_positive());
  r.advance_to(t0 + hour - 1);
  CHECK(ex.balance(acct).wallet == before);
  r.advance_to(t0 + hour);
  // Mark at settlement is the first bar's close 100.5: held x 100.5 x 0.001 paid by the long.
  CHECK(ex.balance(acct).wallet == before - held * "100.5"_dec * "0.001"_dec);
  const auto bills = ex.bills(acct, t0 + hour);
  REQUIRE_FALSE(bills.empty());
  CHECK(bills.front().type == venue::bill_type::funding);
}

TEST_CASE("candles show only what has happened: closed bars and the running bar so far") {
  sim::exchange ex({inst()});
  sim::market_replayer r(ex, {two_bars()});
  r.advance_to(t0 + hour + hour / 3);  // second bar: open and first extreme walked
  const auto rows = r.candles("BTCUSDT", hour, std::nullopt, std::nullopt, 10);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].closed);
  CHECK(rows[0].close == "100.5"_dec);
  CHECK_FALSE(rows[1].closed);
  CHECK(rows[1].open == "100.5"_dec);
  // Flat book: the walk's first extreme is the nearer one (high 110 is 9.5 away, low 90 10.5).
  CHECK((rows[1].high == "110"_dec) != (rows[1].low == "90"_dec));
  CHECK(rows[1].volume < "100"_dec);  // volume accrues with the walk, never the whole bar early
  // A 2h candle aggregates both bars only once the second closed.
  CHECK(r.candles("BTCUSDT", 2 * hour, std::nullopt, std::nullopt, 10).front().closed == false);
  r.advance_to(t0 + 2 * hour);
  const auto two = r.candles("BTCUSDT", 2 * hour, std::nullopt, std::nullopt, 10);
  REQUIRE(two.size() == 1);
  CHECK(two[0].closed);
  CHECK(two[0].high == "110"_dec);
  CHECK(two[0].low == "90"_dec);
  CHECK(two[0].volume == "200"_dec);
}

TEST_CASE("the same data, seed and steps give the same book and trades") {
  auto run = [] {
    sim::exchange ex({inst()});
    mark_log log;
    ex.set_listener(&log);
    sim::market_replayer r(ex, {two_bars()}, sim::replay_config{42, 10});
    r.advance_to(t0 + 2 * hour);
    const auto b = ex.book("BTCUSDT", 10, 0);
    std::vector<std::string> out;
    for (const auto& l : b.bids) out.push_back(l.price.to_string() + "/" + l.qty.to_string());
    for (const auto& l : b.asks) out.push_back(l.price.to_string() + "/" + l.qty.to_string());
    return out;
  };
  const auto a = run(), b = run();
  CHECK(a.size() >= 15);  // up to 10 a side; levels that round onto the price are dropped
  CHECK(a == b);
}

TEST_CASE("candles from a recorded file: every start/end/limit mix equals a plain filter of the bars") {
  sim::exchange ex({inst()});
  sim::series s;
  s.venue_symbol = "BTCUSDT";
  s.base_ms = hour;
  for (int i = 0; i < 40; ++i) s.bars.push_back(bar(t0 + i * hour, "100", "101", "99", "100.5"));
  sim::market_replayer r(ex, {s});
  const std::int64_t now = t0 + 25 * hour + hour / 2;  // 25 bars closed, the 26th running
  r.advance_to(now);
  for (std::optional<std::int64_t> start : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{t0 + 3 * hour + 5}}) {
    for (std::optional<std::int64_t> end : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{t0 + 10 * hour}}) {
      for (std::size_t limit : {std::size_t{3}, std::size_t{100}}) {
        // The reference: closed bars overlapping [start, min(end, now)], then the running one.
        std::vector<std::int64_t> want;
        const std::int64_t lo = start.value_or(INT64_MIN), hi = std::min(end.value_or(now), now);
        for (const auto& b : s.bars)
          if (b.open_time_ms + hour <= now && b.open_time_ms + hour - 1 >= lo && b.open_time_ms <= hi)
            want.push_back(b.open_time_ms);
        const std::int64_t running = t0 + 25 * hour;
        if (running <= hi) want.push_back(running);
        if (want.size() > limit) {
          if (start) want.resize(limit);
          else want.erase(want.begin(), want.end() - static_cast<std::ptrdiff_t>(limit));
        }
        std::vector<std::int64_t> got;
        for (const auto& c : r.candles("BTCUSDT", hour, start, end, limit)) got.push_back(c.open_time);
        CHECK(got == want);
      }
    }
  }
}
