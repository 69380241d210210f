// The simulated exchange: every expected figure below is computed by hand in the comment beside it.
#include "sim/exchange.hpp"

#include <catch2/catch.hpp>

using namespace pt;
using namespace pt::core::literals;
using core::decimal;
using sim::reject_code;

namespace {

// BTC on Poloniex terms: 1 contract = 0.001 BTC, tick 0.1, lot 1, fees 0.02 % / 0.05 %, mmr 0.5 %.
venue::instrument btc() {
  venue::instrument i;
  i.symbol = "BTC_USDT_PERP";
  i.base = "BTC";
  i.quote = i.settle = "USDT";
  i.contract_size = "0.001"_dec;
  i.tick = "0.1"_dec;
  i.lot = "1"_dec;
  i.min_qty = "1"_dec;
  i.max_leverage = 20;
  i.maintenance_margin_rate = "0.005"_dec;
  i.maker_fee = "0.0002"_dec;
  i.taker_fee = "0.0005"_dec;
  return i;
}

struct recorder : sim::listener {
  std::vector<venue::order> orders;
  std::vector<venue::fill> fills;
  std::vector<std::string> liquidated;
  std::vector<venue::bill> bills;
  void on_order(sim::account_id, const venue::order& o) override { orders.push_back(o); }
  void on_fill(sim::account_id, const venue::fill& f) override { fills.push_back(f); }
  void on_bill(sim::account_id, const venue::bill& b) override { bills.push_back(b); }
  void on_liquidation(sim::account_id, const std::string& s) override { liquidated.push_back(s); }
};

venue::order_request limit(venue::side s, decimal qty, decimal px, std::string cid = "") {
  venue::order_request r;
  r.symbol = "BTC_USDT_PERP";
  r.client_id = std::move(cid);
  r.s = s;
  r.type = venue::order_type::limit;
  r.qty = qty;
  r.price = px;
  return r;
}
venue::order_request market(venue::side s, decimal qty) {
  venue::order_request r;
  r.symbol = "BTC_USDT_PERP";
  r.s = s;
  r.type = venue::order_type::market;
  r.qty = qty;
  return r;
}

// A market at 50000 with 10 contracts on each of three levels per side.
void book_at(sim::exchange& ex, decimal mid, std::int64_t now) {
  const decimal t = "0.1"_dec;
  ex.set_market("BTC_USDT_PERP", mid, {{mid - t, "10"_dec}, {mid - t * 2, "10"_dec}, {mid - t * 3, "10"_dec}},
                {{mid + t, "10"_dec}, {mid + t * 2, "10"_dec}, {mid + t * 3, "10"_dec}}, now);
  ex.set_mark("BTC_USDT_PERP", mid, now);
}

}  // namespace

TEST_CASE("a resting limit buy fills at its own price when the market trades through it") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  auto r = ex.place(acct, limit(venue::side::buy, "100"_dec, "49950"_dec, "c1"), 1001);
  REQUIRE(r.ok());
  CHECK(r.value->state == venue::order_state::open);
  CHECK(ex.open_orders(acct, "BTC_USDT_PERP").size() == 1);
  // Reserved margin at 5x: 100 x 0.001 x 49950 / 5 = 999.
  CHECK(ex.balance(acct).available == "9001"_dec);

  book_at(ex, "49900"_dec, 2000);  // passes through 49950
  const auto q = ex.query(acct, "BTC_USDT_PERP", "", "c1");
  REQUIRE(q);
  CHECK(q->state == venue::order_state::filled);
  CHECK(q->avg_price == "49950"_dec);
  REQUIRE(rec.fills.size() == 1);
  CHECK(rec.fills[0].role == venue::liquidity::maker);
  // Maker fee: 100 x 0.001 x 49950 x 0.0002 = 0.999.
  CHECK(rec.fills[0].fee == "0.999"_dec);
  const auto pos = ex.positions(acct);
  REQUIRE(pos.size() == 1);
  CHECK(pos[0].qty == "100"_dec);
  CHECK(pos[0].entry_price == "49950"_dec);
  // Mark 49900: upl = (49900 - 49950) x 100 x 0.001 = -5.
  CHECK(pos[0].unrealised_pnl == "-5"_dec);
  const auto b = ex.balance(acct);
  CHECK(b.wallet == "9999.001"_dec);
  CHECK(b.equity == "9994.001"_dec);
  CHECK(ex.open_orders(acct, "BTC_USDT_PERP").empty());
}

TEST_CASE("a market order walks the synthetic book and pays the taker fee") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  auto r = ex.place(acct, market(venue::side::buy, "25"_dec), 1001);
  REQUIRE(r.ok());
  CHECK(r.value->state == venue::order_state::filled);
  // 10 @ 50000.1, 10 @ 50000.2, 5 @ 50000.3 -> avg (500001 + 500002 + 250001.5) / 25 = 50000.18.
  CHECK(r.value->avg_price == "50000.18"_dec);
  REQUIRE(rec.fills.size() == 3);
  CHECK(rec.fills[2].qty == "5"_dec);
  // Taker fee on 25 x 0.001 x 50000.18 = 1250.0045 notional x 0.0005 = 0.62500225.
  CHECK(r.value->fee == "0.62500225"_dec);
  const auto book = ex.book("BTC_USDT_PERP", 5, 1001);
  REQUIRE(book.asks.size() == 1);
  CHECK(book.asks[0].price == "50000.3"_dec);
  CHECK(book.asks[0].qty == "5"_dec);
  // A market order larger than the book fills what there is; the rest expires.
  auto r2 = ex.place(acct, market(venue::side::buy, "8"_dec), 1002);
  REQUIRE(r2.ok());
  CHECK(r2.value->state == venue::order_state::expired);
  CHECK(r2.value->filled_qty == "5"_dec);
  auto r3 = ex.place(acct, market(venue::side::buy, "1"_dec), 1003);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error->code == reject_code::no_liquidity);
}

TEST_CASE("closing a position realises PnL and books fee and PnL bills") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::buy, "10"_dec), 1001).ok());  // 10 @ 50000.1
  book_at(ex, "51000"_dec, 2000);
  auto r = ex.place(acct, market(venue::side::sell, "10"_dec), 2001);  // 10 @ 50999.9
  REQUIRE(r.ok());
  CHECK(ex.positions(acct).empty());
  // Realised: (50999.9 - 50000.1) x 10 x 0.001 = 9.998.
  REQUIRE(rec.fills.size() == 2);
  REQUIRE(rec.fills[1].realised_pnl);
  CHECK(*rec.fills[1].realised_pnl == "9.998"_dec);
  // Fees: 0.5000050 (500.001 x 0.0005 = 0.2500005) and 509.999 x 0.0005 = 0.2549995.
  CHECK(rec.fills[0].fee == "0.2500005"_dec);
  CHECK(rec.fills[1].fee == "0.2549995"_dec);
  CHECK(ex.balance(acct).wallet == "10009.493"_dec);  // 10000 + 9.998 - 0.505
  int pnl_bills = 0, fee_bills = 0;
  for (const auto& b : ex.bills(acct, 0)) {
    pnl_bills += b.type == venue::bill_type::realised_pnl;
    fee_bills += b.type == venue::bill_type::fee;
  }
  CHECK(pnl_bills == 1);
  CHECK(fee_bills == 2);
}

TEST_CASE("order checks reject like a venue: grid, minimum, duplicates, reduce-only, margin") {
  sim::exchange ex({btc()});
  const auto acct = ex.add_account("100"_dec);
  book_at(ex, "50000"_dec, 1000);
  CHECK(ex.place(acct, limit(venue::side::buy, "1"_dec, "49999.95"_dec), 1).error->code == reject_code::bad_price);
  CHECK(ex.place(acct, limit(venue::side::buy, "1.5"_dec, "49999"_dec), 1).error->code == reject_code::bad_quantity);
  auto unknown = limit(venue::side::buy, "1"_dec, "49999"_dec);
  unknown.symbol = "NOPE_USDT_PERP";
  CHECK(ex.place(acct, unknown, 1).error->code == reject_code::unknown_symbol);
  auto ro = market(venue::side::sell, "1"_dec);
  ro.reduce_only = true;
  CHECK(ex.place(acct, ro, 1).error->code == reject_code::no_position_to_reduce);
  // 100 USDT at 5x buys at most 500 USDT notional: 11 contracts x 50 = 550 is too much.
  CHECK(ex.place(acct, limit(venue::side::buy, "11"_dec, "49999"_dec), 1).error->code ==
        reject_code::insufficient_margin);
  REQUIRE(ex.place(acct, limit(venue::side::buy, "1"_dec, "49999"_dec, "dup"), 1).ok());
  CHECK(ex.place(acct, limit(venue::side::buy, "1"_dec, "49998"_dec, "dup"), 1).error->code ==
        reject_code::duplicate_client_id);
  // Post-only crossing the ask is refused, not re-priced; FOK larger than the book is refused.
  const auto rich = ex.add_account("10000"_dec);
  auto po = limit(venue::side::buy, "1"_dec, "50000.1"_dec);
  po.tif = venue::time_in_force::post_only;
  CHECK(ex.place(rich, po, 1).error->code == reject_code::post_only_would_take);
  auto fok = limit(venue::side::sell, "5"_dec, "49999.9"_dec);
  fok.tif = venue::time_in_force::fok;
  CHECK(ex.place(rich, fok, 1).ok());  // 10 on the bid at 49999.9: fills in full
  auto fok2 = limit(venue::side::sell, "9"_dec, "49999.9"_dec);
  fok2.tif = venue::time_in_force::fok;
  auto fr = ex.place(rich, fok2, 1);
  // 5 left at 49999.9 (the other account's bid at 49999 is beyond the limit): refused whole.
  REQUIRE_FALSE(fr.ok());
  CHECK(fr.error->code == reject_code::fok_cannot_fill);
  CHECK(ex.book("BTC_USDT_PERP", 1, 1).bids[0].qty == "5"_dec);
  CHECK(ex.set_leverage(acct, "BTC_USDT_PERP", 21, 1).error->code == reject_code::invalid_leverage);
}

TEST_CASE("reduce-only may not exceed or grow the position, and cancel works by client id") {
  sim::exchange ex({btc()});
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::buy, "5"_dec), 1).ok());
  auto grow = market(venue::side::buy, "1"_dec);
  grow.reduce_only = true;
  CHECK(ex.place(acct, grow, 2).error->code == reject_code::reduce_only_rejected);
  auto too_big = limit(venue::side::sell, "6"_dec, "51000"_dec);
  too_big.reduce_only = true;
  CHECK(ex.place(acct, too_big, 2).error->code == reject_code::reduce_only_rejected);
  auto ok = limit(venue::side::sell, "5"_dec, "51000"_dec, "tp-1");
  ok.reduce_only = true;
  REQUIRE(ex.place(acct, ok, 2).ok());
  // A reduce-only order holds no margin.
  CHECK(ex.open_orders(acct, "").size() == 1);
  auto c = ex.cancel(acct, "BTC_USDT_PERP", "", "tp-1", 3);
  REQUIRE(c.ok());
  CHECK(c.value->state == venue::order_state::cancelled);
  CHECK(ex.open_orders(acct, "").empty());
  CHECK(ex.cancel(acct, "BTC_USDT_PERP", "", "tp-1", 4).error->code == reject_code::unknown_order);
  CHECK(ex.query(acct, "BTC_USDT_PERP", "", "tp-1")->state == venue::order_state::cancelled);
}

TEST_CASE("funding: a long pays a positive rate, a short receives it") {
  sim::exchange ex({btc()});
  const auto longs = ex.add_account("10000"_dec);
  const auto shorts = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(longs, market(venue::side::buy, "10"_dec), 1).ok());
  REQUIRE(ex.place(shorts, market(venue::side::sell, "10"_dec), 1).ok());
  const decimal wl = ex.balance(longs).wallet, ws = ex.balance(shorts).wallet;
  ex.set_mark("BTC_USDT_PERP", "50000"_dec, 2);
  ex.apply_funding("BTC_USDT_PERP", "0.0001"_dec, 28800000);
  // 10 x 0.001 x 50000 = 500 notional; x 0.0001 = 0.05.
  CHECK(ex.balance(longs).wallet == wl - "0.05"_dec);
  CHECK(ex.balance(shorts).wallet == ws + "0.05"_dec);
  const auto bl = ex.bills(longs, 28800000);
  REQUIRE(bl.size() == 1);
  CHECK(bl[0].type == venue::bill_type::funding);
  CHECK(bl[0].amount == "-0.05"_dec);
}

TEST_CASE("isolated liquidation at maintenance margin loses exactly the position margin") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("1000"_dec);
  REQUIRE(ex.set_margin_mode(acct, "BTC_USDT_PERP", venue::margin_mode::isolated).ok());
  REQUIRE(ex.set_leverage(acct, "BTC_USDT_PERP", 10, 0).ok());
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::buy, "10"_dec), 1).ok());  // 10 @ 50000.1
  auto pos = ex.positions(acct);
  REQUIRE(pos.size() == 1);
  // Margin 10 x 0.001 x 50000.1 / 10 = 50.0001.
  CHECK(pos[0].margin == "50.0001"_dec);
  REQUIRE(pos[0].liquidation_price);
  // liq = (e*b - m) / (b * (1 - mmr)) = (500.001 - 50.0001) / (0.01 x 0.995) = 45226.2211...
  CHECK(pos[0].liquidation_price->to_string(2) == "45226.22");
  const decimal wallet_before = ex.balance(acct).wallet;
  ex.set_mark("BTC_USDT_PERP", "45300"_dec, 2);
  CHECK(rec.liquidated.empty());
  ex.set_mark("BTC_USDT_PERP", "45200"_dec, 3);
  REQUIRE(rec.liquidated.size() == 1);
  CHECK(ex.positions(acct).empty());
  // Loss at mark: (45200 - 50000.1) x 0.01 = -48.001 (within the 50.0001 margin), fee 0.5 % of 452 = 2.26.
  CHECK(ex.balance(acct).wallet == wallet_before - "48.001"_dec - "2.26"_dec);
}

TEST_CASE("cross liquidation closes every cross position when equity falls below maintenance") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("60"_dec);
  REQUIRE(ex.set_leverage(acct, "BTC_USDT_PERP", 10, 0).ok());
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::buy, "10"_dec), 1).ok());
  // Equity = 60 - fee 0.25 + (m - 50000.1) x 0.01; maintenance = m x 0.01 x 0.005.
  // At 44500: 59.75 - 55.001 = 4.749 > 2.225: alive. At 44200: 1.749 < 2.21: liquidated.
  ex.set_mark("BTC_USDT_PERP", "44500"_dec, 2);
  CHECK(rec.liquidated.empty());
  ex.set_mark("BTC_USDT_PERP", "44200"_dec, 3);
  CHECK(rec.liquidated.size() == 1);
  CHECK(ex.positions(acct).empty());
  CHECK_FALSE(ex.balance(acct).wallet.is_negative());
}

TEST_CASE("hedge mode needs a position side and closes with the opposite side") {
  sim::exchange ex({btc()});
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.set_position_mode(acct, venue::position_mode::hedge).ok());
  CHECK(ex.place(acct, market(venue::side::buy, "1"_dec), 1).error->code == reject_code::position_side_mismatch);
  auto open_long = market(venue::side::buy, "2"_dec);
  open_long.pos_side = venue::position_side::long_side;
  auto open_short = market(venue::side::sell, "3"_dec);
  open_short.pos_side = venue::position_side::short_side;
  REQUIRE(ex.place(acct, open_long, 1).ok());
  REQUIRE(ex.place(acct, open_short, 1).ok());
  CHECK(ex.positions(acct).size() == 2);
  CHECK(ex.set_position_mode(acct, venue::position_mode::one_way).error->code == reject_code::position_exists);
  auto close_long = market(venue::side::sell, "3"_dec);
  close_long.pos_side = venue::position_side::long_side;
  CHECK(ex.place(acct, close_long, 2).error->code == reject_code::reduce_only_rejected);
  close_long.qty = "2"_dec;
  REQUIRE(ex.place(acct, close_long, 2).ok());
  const auto pos = ex.positions(acct);
  REQUIRE(pos.size() == 1);
  CHECK(pos[0].pos_side == venue::position_side::short_side);
  CHECK(pos[0].qty == "-3"_dec);
}

TEST_CASE("conditional orders: a close-position stop fires when the price reaches it, not before") {
  sim::exchange ex({btc()});
  recorder rec;
  ex.set_listener(&rec);
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::buy, "10"_dec), 1001).ok());
  sim::conditional_request stop;
  stop.symbol = "BTC_USDT_PERP";
  stop.client_id = "sl-1";
  stop.s = venue::side::sell;
  stop.type = sim::trigger_type::stop_market;
  stop.trigger_price = "49000"_dec;
  stop.close_position = true;
  // A sell stop above the market would fire at once: refused.
  auto now_stop = stop;
  now_stop.trigger_price = "50100"_dec;
  CHECK(ex.place_conditional(acct, now_stop, 1002).error->code == reject_code::would_trigger_immediately);
  REQUIRE(ex.place_conditional(acct, stop, 1002).ok());
  CHECK(ex.place_conditional(acct, stop, 1002).error->code == reject_code::duplicate_client_id);
  sim::conditional_request tp = stop;
  tp.client_id = "tp-1";
  tp.type = sim::trigger_type::take_profit_market;
  tp.trigger_price = "52000"_dec;
  REQUIRE(ex.place_conditional(acct, tp, 1002).ok());
  CHECK(ex.open_conditionals(acct, "").size() == 2);
  book_at(ex, "49100"_dec, 2000);
  CHECK(ex.positions(acct).size() == 1);  // not reached
  book_at(ex, "48990"_dec, 3000);
  CHECK(ex.positions(acct).empty());  // closed by the stop
  const auto fired = ex.query_conditional(acct, "", "sl-1");
  REQUIRE(fired);
  CHECK(fired->status == sim::conditional_status::finished);
  CHECK(fired->executed_qty == "10"_dec);
  CHECK(fired->trigger_time == 3000);
  // The take-profit is still armed; with no position it expires when it fires.
  book_at(ex, "52000"_dec, 4000);
  const auto tp_after = ex.query_conditional(acct, "", "tp-1");
  REQUIRE(tp_after);
  CHECK(tp_after->status == sim::conditional_status::expired);
  CHECK(ex.open_conditionals(acct, "").empty());
}

TEST_CASE("conditional orders: MARK_PRICE triggers follow the mark, cancel removes them") {
  sim::exchange ex({btc()});
  const auto acct = ex.add_account("10000"_dec);
  book_at(ex, "50000"_dec, 1000);
  REQUIRE(ex.place(acct, market(venue::side::sell, "4"_dec), 1001).ok());
  sim::conditional_request stop;
  stop.symbol = "BTC_USDT_PERP";
  stop.client_id = "sl-short";
  stop.s = venue::side::buy;
  stop.type = sim::trigger_type::stop_market;
  stop.trigger_price = "50500"_dec;
  stop.qty = "4"_dec;
  stop.reduce_only = true;
  stop.on_mark = true;
  REQUIRE(ex.place_conditional(acct, stop, 1002).ok());
  ex.set_mark("BTC_USDT_PERP", "50400"_dec, 1003);
  CHECK(ex.positions(acct).size() == 1);
  ex.set_mark("BTC_USDT_PERP", "50500"_dec, 1004);  // the mark reaches it; the book still sits at 50000
  CHECK(ex.positions(acct).empty());
  stop.client_id = "sl-2";
  stop.trigger_price = "60000"_dec;
  REQUIRE(ex.place_conditional(acct, stop, 1005).ok());
  CHECK(ex.cancel_conditional(acct, "BTC_USDT_PERP", "", "sl-2", 1006).value->status == sim::conditional_status::cancelled);
  CHECK(ex.cancel_conditional(acct, "BTC_USDT_PERP", "", "sl-2", 1006).error->code == reject_code::unknown_order);
}
