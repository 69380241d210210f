// The in-process simulator venue, exercised through the Venue interface. The market is set by
// hand (a known book, recorded bars written below) and every expected figure is computed in the
// comment beside it from those inputs and the instrument's terms, never read back from our output.
#include "sim/sim_venue.hpp"

#include "venue/client_order_id.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace pt;
using namespace pt::core::literals;
using core::decimal;

namespace {

constexpr std::int64_t minute = 60000;
constexpr std::int64_t hour = 3600000;
constexpr std::int64_t t0 = 1735603200000;  // 2024-12-31T00:00Z
const std::string btc_sym = "BTC_USDT_PERP";

// Poloniex terms: 1 contract = 0.001 BTC, tick 0.1, lot 1 contract, fees 0.02 % maker / 0.05 %
// taker, leverage up to 20 (the exchange's default is 5).
venue::instrument btc() {
  venue::instrument i;
  i.symbol = btc_sym;
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

// Binance terms: quantities in BTC (contract size 1), lot 0.001.
venue::instrument btcusdt() {
  venue::instrument i = btc();
  i.symbol = "BTCUSDT";
  i.contract_size = "1"_dec;
  i.lot = "0.001"_dec;
  i.min_qty = "0.001"_dec;
  return i;
}

replay::bar bar(std::int64_t t, const char* o, const char* h, const char* l, const char* c) {
  return replay::bar{t,   decimal::parse(o), decimal::parse(h), decimal::parse(l), decimal::parse(c), "100"_dec,
                     std::nullopt, std::nullopt};
}

// Three hourly bars of 100 BTC each; funding 0.01 % at 01:00 and 0.02 % at 09:00.
sim::series btc_series(const std::string& symbol = btc_sym) {
  sim::series s;
  s.venue_symbol = symbol;
  s.base_ms = hour;
  s.bars = {bar(t0, "50000", "50100", "49900", "50050"), bar(t0 + hour, "50050", "50200", "50000", "50150"),
            bar(t0 + 2 * hour, "50150", "50150", "49800", "49900")};
  s.funding = {{t0 + hour, "0.0001"_dec, std::nullopt}, {t0 + 9 * hour, "0.0002"_dec, std::nullopt}};
  return s;
}

// A driver's world: exchange, one funded account, replayer, and the venue over them.
struct world {
  std::string sym;
  sim::exchange ex;
  sim::account_id acct;
  sim::market_replayer rp;
  sim::sim_venue v;
  explicit world(sim::sim_venue_options o = {}, sim::listener* previous = nullptr, const venue::instrument& inst = btc())
      : sym(inst.symbol),
        ex({inst}),
        acct(ex.add_account("10000"_dec)),
        rp(ex, {btc_series(inst.symbol)}),
        v(ex, rp, acct, std::move(o), previous) {}

  // A known book around `mid`: 10 contracts on each of three levels a side, one tick apart.
  void book_at(decimal mid, std::int64_t now) {
    const decimal t = "0.1"_dec;
    ex.set_market(sym, mid, {{mid - t, "10"_dec}, {mid - t * 2, "10"_dec}, {mid - t * 3, "10"_dec}},
                  {{mid + t, "10"_dec}, {mid + t * 2, "10"_dec}, {mid + t * 3, "10"_dec}}, now);
    ex.set_mark(sym, mid, now);
  }
};

venue::order_request limit(venue::side s, const char* qty, const char* px, std::string cid,
                           venue::time_in_force tif = venue::time_in_force::gtc) {
  venue::order_request r;
  r.symbol = btc_sym;
  r.client_id = std::move(cid);
  r.s = s;
  r.type = venue::order_type::limit;
  r.tif = tif;
  r.qty = decimal::parse(qty);
  r.price = decimal::parse(px);
  return r;
}

venue::order_request market(venue::side s, const char* qty, std::string cid) {
  venue::order_request r;
  r.symbol = btc_sym;
  r.client_id = std::move(cid);
  r.s = s;
  r.type = venue::order_type::market;
  r.qty = decimal::parse(qty);
  return r;
}

// The code of the venue_error `f` throws; fails the test when it throws nothing or something else.
template <class F>
std::int64_t reject_code_from(F&& f) {
  try {
    f();
  } catch (const venue::venue_error& e) {
    CHECK(e.kind() == venue::outcome_class::reject);
    REQUIRE(e.code().has_value());
    return *e.code();
  }
  FAIL("no venue_error was thrown");
  return 0;
}

// Private events as "kind:detail" lines, in arrival order.
struct private_log {
  std::vector<std::string> lines;
  std::vector<venue::order> orders;
  std::vector<venue::fill> fills;
  std::vector<venue::position> positions;
  std::vector<venue::balance> balances;
  venue::private_handlers handlers() {
    venue::private_handlers h;
    h.on_order = [this](const venue::order& o) {
      orders.push_back(o);
      lines.push_back(std::string("order:") + venue::to_string(o.state) + ":" + o.filled_qty.to_string());
    };
    h.on_fill = [this](const venue::fill& f) {
      fills.push_back(f);
      lines.push_back("fill:" + f.qty.to_string() + "@" + f.price.to_string());
    };
    h.on_position = [this](const venue::position& p) {
      positions.push_back(p);
      lines.push_back("position:" + p.qty.to_string());
    };
    h.on_balance = [this](const venue::balance& b) {
      balances.push_back(b);
      lines.push_back("balance");
    };
    return h;
  }
};

struct recorder : sim::listener {
  int orders = 0, bills = 0, trades = 0;
  void on_order(sim::account_id, const venue::order&) override { ++orders; }
  void on_bill(sim::account_id, const venue::bill&) override { ++bills; }
  void on_public_trade(const venue::public_trade&) override { ++trades; }
};

}  // namespace

TEST_CASE("sim venue: place, query and cancel by client id, deterministic ids unchanged") {
  world w;
  w.book_at("50000"_dec, t0);
  venue::order_intent intent{"s1", btc_sym, venue::order_side::buy, "sig-1", "entry", 0};
  const std::string cid = venue::make_client_order_id(intent);

  const auto ack = w.v.place_order(limit(venue::side::buy, "2", "49950", cid));
  CHECK(ack.client_id == cid);
  CHECK_FALSE(ack.order_id.empty());
  CHECK(ack.state == venue::order_state::open);
  CHECK(ack.price == "49950"_dec);
  CHECK(ack.qty == "2"_dec);
  CHECK(ack.create_time == t0);  // market time, not the wall clock

  const auto q = w.v.query_order(btc_sym, cid);
  REQUIRE(q);
  CHECK(q->order_id == ack.order_id);
  CHECK(q->state == venue::order_state::open);
  REQUIRE(w.v.open_orders(btc_sym).size() == 1);
  // Reserved at 5x: 2 x 0.001 x 49950 / 5 = 19.98 of 10000.
  CHECK(w.v.balances().at(0).available == "9980.02"_dec);

  const auto cancelled = w.v.cancel_order(btc_sym, cid);
  CHECK(cancelled.state == venue::order_state::cancelled);
  CHECK(cancelled.client_id == cid);
  CHECK(w.v.query_order(btc_sym, cid)->state == venue::order_state::cancelled);
  CHECK(w.v.open_orders(btc_sym).empty());
  CHECK(w.v.open_orders("").empty());
  CHECK(w.v.balances().at(0).available == "10000"_dec);

  CHECK_FALSE(w.v.query_order(btc_sym, "never-placed").has_value());
  // A second cancel finds nothing live: unknown_order.
  CHECK(reject_code_from([&] { w.v.cancel_order(btc_sym, cid); }) == 1016);
  CHECK(w.v.server_time() == t0);
}

TEST_CASE("sim venue: rejects are venue_error(reject) with the stable code of their reason") {
  world w;
  w.book_at("50000"_dec, t0);
  using venue::side;
  // Post-only at the best ask 50000.1 would take.
  CHECK(reject_code_from([&] {
          w.v.place_order(limit(side::buy, "1", "50000.1", "po", venue::time_in_force::post_only));
        }) == 1012);
  // 0.4 contracts rounds down to 0 lots: below the 1-contract minimum.
  CHECK(reject_code_from([&] { w.v.place_order(limit(side::buy, "0.4", "49000", "small")); }) == 1005);
  // 10000 contracts at 49000, 5x: 10000 x 0.001 x 49000 / 5 = 98000 margin > 10000.
  CHECK(reject_code_from([&] { w.v.place_order(limit(side::buy, "10000", "49000", "big")); }) == 1009);
  auto ro = market(side::sell, "1", "ro");
  ro.reduce_only = true;
  CHECK(reject_code_from([&] { w.v.place_order(ro); }) == 1011);  // nothing to reduce
  auto other = limit(side::buy, "1", "100", "x");
  other.symbol = "ETH_USDT_PERP";
  CHECK(reject_code_from([&] { w.v.place_order(other); }) == 1001);
  CHECK(reject_code_from([&] { w.v.place_order(limit(side::buy, "1", "49000", "")); }) ==
        sim::sim_venue_code::missing_client_id);
  CHECK(reject_code_from([&] { w.v.set_leverage(btc_sym, 21, venue::margin_mode::cross); }) == 1017);
  CHECK(reject_code_from([&] { w.v.klines({btc_sym, "7m", {}, {}, 10}); }) == sim::sim_venue_code::bad_request);
  // 1m is finer than the 1h bars recorded: the simulator will not invent what happened inside.
  CHECK(reject_code_from([&] { w.v.klines({btc_sym, "1m", {}, {}, 10}); }) == sim::sim_venue_code::bad_request);
  CHECK(reject_code_from([&] { w.v.book("NOPE", 5); }) == 1001);
  // Nothing reached the book.
  CHECK(w.v.open_orders(btc_sym).empty());
  CHECK(w.v.positions().empty());
  CHECK(w.v.fills(btc_sym, std::nullopt).empty());

  // A valid leverage and margin mode are taken.
  w.v.set_leverage(btc_sym, 10, venue::margin_mode::isolated);
  CHECK(w.ex.leverage(w.acct, btc_sym) == 10);
  CHECK(w.ex.margin_mode_of(w.acct, btc_sym) == venue::margin_mode::isolated);
}

TEST_CASE("sim venue: every reject reason has its own fixed code") {
  using sim::reject_code;
  const std::vector<std::pair<reject_code, std::int64_t>> table = {
      {reject_code::unknown_symbol, 1001},       {reject_code::symbol_not_trading, 1002},
      {reject_code::cancel_only, 1003},          {reject_code::bad_quantity, 1004},
      {reject_code::qty_below_min, 1005},        {reject_code::qty_above_max, 1006},
      {reject_code::bad_price, 1007},            {reject_code::price_out_of_range, 1008},
      {reject_code::insufficient_margin, 1009},  {reject_code::reduce_only_rejected, 1010},
      {reject_code::no_position_to_reduce, 1011}, {reject_code::post_only_would_take, 1012},
      {reject_code::fok_cannot_fill, 1013},      {reject_code::no_liquidity, 1014},
      {reject_code::duplicate_client_id, 1015},  {reject_code::unknown_order, 1016},
      {reject_code::invalid_leverage, 1017},     {reject_code::position_exists, 1018},
      {reject_code::position_side_mismatch, 1019}, {reject_code::unknown_account, 1020},
      {reject_code::would_trigger_immediately, 1021},
  };
  for (const auto& [c, n] : table) {
    CHECK(sim::venue_error_code(c) == n);
    CHECK(sim::reject_code_of(n) == c);
  }
  CHECK_FALSE(sim::reject_code_of(sim::sim_venue_code::bad_request).has_value());
}

TEST_CASE("sim venue: a duplicate client id is refused and the first order stays the only one") {
  world w;
  w.book_at("50000"_dec, t0);
  w.v.place_order(limit(venue::side::buy, "1", "49900", "dup-1"));
  CHECK(reject_code_from([&] { w.v.place_order(limit(venue::side::buy, "3", "49800", "dup-1")); }) == 1015);
  CHECK(reject_code_from([&] { w.v.place_order(market(venue::side::buy, "3", "dup-1")); }) == 1015);
  const auto open = w.v.open_orders(btc_sym);
  REQUIRE(open.size() == 1);
  CHECK(open[0].qty == "1"_dec);
  CHECK(open[0].price == "49900"_dec);
  CHECK(w.v.positions().empty());  // the refused market order never traded

  // The id stays taken after the order is gone: a re-placement needs a new attempt's id.
  w.v.cancel_order(btc_sym, "dup-1");
  CHECK(reject_code_from([&] { w.v.place_order(limit(venue::side::buy, "1", "49900", "dup-1")); }) == 1015);
  CHECK(w.v.open_orders(btc_sym).empty());
}

TEST_CASE("sim venue: a market order's fills, fees, bills, balance and position") {
  world w;
  w.book_at("50000"_dec, t0);
  const auto o = w.v.place_order(market(venue::side::buy, "15", "m-1"));
  // Asks 10 @ 50000.1 and 10 @ 50000.2: 10 + 5 contracts.
  CHECK(o.state == venue::order_state::filled);
  CHECK(o.filled_qty == "15"_dec);
  // (10 x 50000.1 + 5 x 50000.2) / 15 = 750002 / 15 = 50000.1333... -> 50000.133333333 (9 digits).
  CHECK(o.avg_price == "50000.133333333"_dec);
  // Taker fees: 10 x 0.001 x 50000.1 x 0.0005 = 0.2500005; 5 x 0.001 x 50000.2 x 0.0005 = 0.1250005.
  CHECK(o.fee == "0.375001"_dec);

  const auto fills = w.v.fills(btc_sym, std::nullopt);
  REQUIRE(fills.size() == 2);
  CHECK(fills[0].qty == "10"_dec);
  CHECK(fills[0].price == "50000.1"_dec);
  CHECK(fills[0].fee == "0.2500005"_dec);
  CHECK(fills[1].qty == "5"_dec);
  CHECK(fills[1].price == "50000.2"_dec);
  CHECK(fills[1].fee == "0.1250005"_dec);
  for (const auto& f : fills) {
    CHECK(f.client_id == "m-1");
    CHECK(f.role == venue::liquidity::taker);
    CHECK(f.time == t0);
  }
  CHECK(w.v.fills(btc_sym, t0 + 1).empty());  // none after the start given

  const auto bills = w.v.bills(std::nullopt);
  REQUIRE(bills.size() == 2);
  CHECK(bills[0].type == venue::bill_type::fee);
  CHECK(bills[0].amount == "-0.2500005"_dec);
  CHECK(bills[1].amount == "-0.1250005"_dec);

  // 10000 - 0.375001.
  CHECK(w.v.balances().at(0).wallet == "9999.624999"_dec);
  const auto pos = w.v.positions();
  REQUIRE(pos.size() == 1);
  CHECK(pos[0].qty == "15"_dec);
  CHECK(pos[0].entry_price == "50000.133333333"_dec);

  // The public trades the order made, oldest first.
  const auto trades = w.v.trades(btc_sym, 10);
  REQUIRE(trades.size() == 2);
  CHECK(trades[0].price == "50000.1"_dec);
  CHECK(trades[1].price == "50000.2"_dec);
  CHECK(trades[1].taker_side == venue::side::buy);
}

TEST_CASE("sim venue: bills carry the posed-as venue's own type names") {
  struct run {
    sim::venue_flavour flavour;
    venue::instrument inst;
    const char* qty;
    const char* fee_name;
    const char* pnl_name;
    decimal pnl;
  };
  // Bought at the ask 50000.1, sold at the bid 49999.9: -0.2 x qty x contract size realised.
  const std::vector<run> runs = {
      {sim::venue_flavour::poloniex, btc(), "1", "FEE", "PNL", "-0.0002"_dec},              // 1 x 0.001
      {sim::venue_flavour::binance, btcusdt(), "0.1", "COMMISSION", "REALIZED_PNL", "-0.02"_dec}};  // 0.1 x 1
  for (const auto& r : runs) {
    sim::sim_venue_options o;
    o.flavour = r.flavour;
    world w(o, nullptr, r.inst);
    w.book_at("50000"_dec, t0);
    auto buy = market(venue::side::buy, r.qty, "m-1");
    auto sell = market(venue::side::sell, r.qty, "m-2");
    buy.symbol = sell.symbol = w.sym;
    w.v.place_order(buy);
    w.v.place_order(sell);
    const auto bills = w.v.bills(std::nullopt);
    REQUIRE(bills.size() == 3);
    CHECK(bills[0].venue_type == r.fee_name);
    CHECK(bills[1].venue_type == r.fee_name);
    CHECK(bills[2].type == venue::bill_type::realised_pnl);
    CHECK(bills[2].amount == r.pnl);
    CHECK(bills[2].venue_type == r.pnl_name);
  }
}

TEST_CASE("sim venue: private events arrive in causal order, only for the venue's account") {
  recorder previous;
  world w({}, &previous);
  private_log log;
  w.v.subscribe_private(log.handlers());
  w.book_at("50000"_dec, t0);

  w.v.place_order(market(venue::side::buy, "15", "m-1"));
  // Delivered before place_order returned: the NEW ack, then per execution order, fill,
  // position, balance.
  const std::vector<std::string> expected = {
      "order:open:0",  "order:partially_filled:10", "fill:10@50000.1", "position:10", "balance",
      "order:filled:15", "fill:5@50000.2",          "position:15",     "balance"};
  CHECK(log.lines == expected);
  CHECK(previous.orders == 3);  // the listener that was there still hears the exchange

  // Another account's trading is not ours.
  const auto other = w.ex.add_account("10000"_dec);
  REQUIRE(w.ex.place(other, limit(venue::side::buy, "1", "49000", "theirs"), t0).ok());
  CHECK(log.lines.size() == expected.size());

  // A take-profit rests; the driver moves the market through it.
  log.lines.clear();
  w.v.place_order(limit(venue::side::sell, "15", "50100", "tp"));
  CHECK(log.lines == std::vector<std::string>{"order:open:0"});
  w.book_at("50200"_dec, t0 + 5);
  const std::vector<std::string> closing = {"order:open:0", "order:filled:15", "fill:15@50100", "position:0",
                                            "balance"};
  CHECK(log.lines == closing);
  const auto& f = log.fills.back();
  CHECK(f.role == venue::liquidity::maker);
  // Realised (50100 - 50000.133333333) x 15 x 0.001 = 1.498000000005 -> 1.498; maker fee
  // 15 x 0.001 x 50100 x 0.0002 = 0.1503.
  CHECK(f.realised_pnl == "1.498"_dec);
  CHECK(f.fee == "0.1503"_dec);
  // 9999.624999 + 1.498 - 0.1503.
  CHECK(log.balances.back().wallet == "10000.972699"_dec);
}

TEST_CASE("sim venue: the listener slot goes back to its previous owner, and venues can share a fan-out") {
  sim::exchange ex({btc()});
  const auto a = ex.add_account("10000"_dec);
  const auto b = ex.add_account("10000"_dec);
  sim::market_replayer rp(ex, {btc_series()});
  recorder previous;
  ex.set_listener(&previous);
  {
    sim::sim_venue v(ex, rp, a, {}, &previous);
    v.place_order(limit(venue::side::buy, "1", "49000", "a1"));
    CHECK(previous.orders == 1);
  }
  REQUIRE(ex.place(a, limit(venue::side::buy, "1", "49000", "a2"), t0).ok());
  CHECK(previous.orders == 2);  // the slot is the recorder's again

  sim::listener_fanout fan;
  fan.add(&previous);
  ex.set_listener(&fan);
  sim::sim_venue va(ex, rp, a, fan), vb(ex, rp, b, fan);
  private_log la, lb;
  va.subscribe_private(la.handlers());
  vb.subscribe_private(lb.handlers());
  vb.place_order(limit(venue::side::buy, "1", "49000", "b1"));
  CHECK(la.lines.empty());
  CHECK(lb.lines == std::vector<std::string>{"order:open:0"});
  CHECK(previous.orders == 3);
  CHECK(fan.size() == 3);
  // Every kind of event passes the fan-out: a taker fill at the only ask makes a trade and a fee bill.
  ex.set_market(btc_sym, "50000"_dec, {}, {{"50000.1"_dec, "5"_dec}}, t0);
  vb.place_order(market(venue::side::buy, "1", "b2"));
  CHECK(previous.trades == 1);
  CHECK(previous.bills == 1);
  const std::vector<std::string> taken = {"order:open:0", "order:open:0", "order:filled:1", "fill:1@50000.1",
                                          "position:1", "balance"};
  CHECK(lb.lines == taken);
  CHECK(la.lines.empty());
}

TEST_CASE("sim venue: orders are rounded to the tick (never more aggressive) and down to the lot") {
  world w;
  w.book_at("50000"_dec, t0);
  // Buy: price down to 49950.1, 2.9 contracts down to 2.
  const auto b = w.v.place_order(limit(venue::side::buy, "2.9", "49950.17", "rb"));
  CHECK(b.price == "49950.1"_dec);
  CHECK(b.qty == "2"_dec);
  // Sell: price up to 50050.2, 3.5 down to 3.
  const auto s = w.v.place_order(limit(venue::side::sell, "3.5", "50050.11", "rs"));
  CHECK(s.price == "50050.2"_dec);
  CHECK(s.qty == "3"_dec);
  CHECK(w.v.query_order(btc_sym, "rb")->price == "49950.1"_dec);
  CHECK(w.v.query_order(btc_sym, "rs")->qty == "3"_dec);
  // A market order's quantity too: 1.7 -> 1 contract, taken at the best ask 50000.1.
  const auto m = w.v.place_order(market(venue::side::buy, "1.7", "rm"));
  CHECK(m.filled_qty == "1"_dec);
  CHECK(m.avg_price == "50000.1"_dec);
}

TEST_CASE("sim venue: klines never reach past market time") {
  world w;
  w.v.advance_to(t0 + hour + 30 * minute);
  CHECK(w.v.server_time() == t0 + hour + 30 * minute);
  for (const std::optional<std::int64_t> end : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{t0 + 10 * hour}}) {
    const auto rows = w.v.klines({btc_sym, "1h", std::nullopt, end, 10});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].open_time == t0);
    CHECK(rows[0].closed);
    CHECK(rows[0].open == "50000"_dec);
    CHECK(rows[0].high == "50100"_dec);
    CHECK(rows[0].low == "49900"_dec);
    CHECK(rows[0].close == "50050"_dec);
    CHECK(rows[0].volume == "100000"_dec);  // 100 BTC / 0.001 BTC per contract
    CHECK(rows[1].open_time == t0 + hour);
    CHECK_FALSE(rows[1].closed);
    CHECK(rows[1].open == "50050"_dec);
    CHECK(rows[1].high <= "50200"_dec);
    CHECK(rows[1].volume < "100000"_dec);  // the running bar holds only the walk so far
    for (const auto& c : rows) CHECK(c.open_time <= w.v.server_time());
  }
  CHECK(w.v.klines({btc_sym, "1h", t0 + 2 * hour, std::nullopt, 10}).empty());
  const auto two = w.v.klines({btc_sym, "2h", std::nullopt, std::nullopt, 10});
  REQUIRE(two.size() == 1);
  CHECK_FALSE(two[0].closed);  // 00:00-02:00 is not over at 01:30

  w.v.advance_to(t0 + 3 * hour);
  const auto rows = w.v.klines({btc_sym, "1h", std::nullopt, std::nullopt, 10});
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].open_time == t0 + 2 * hour);
  CHECK(rows[2].closed);
  CHECK(rows[2].low == "49800"_dec);
  CHECK(rows[2].close == "49900"_dec);
  // limit keeps the newest without a start, the oldest from a start.
  CHECK(w.v.klines({btc_sym, "1h", std::nullopt, std::nullopt, 1}).at(0).open_time == t0 + 2 * hour);
  CHECK(w.v.klines({btc_sym, "1h", t0, std::nullopt, 1}).at(0).open_time == t0);
}

TEST_CASE("sim venue: public streams deliver closed bars at bar end, book, mark and funding") {
  world w;
  std::vector<venue::candle> candles;
  std::vector<venue::order_book> books;
  std::vector<venue::mark_price> marks;
  std::vector<venue::funding_rate> funding;
  std::vector<venue::ticker> tickers;
  std::vector<std::pair<std::string, bool>> connections;
  venue::stream_events ev;
  ev.on_connection = [&](const std::string& s, bool up) { connections.emplace_back(s, up); };
  w.v.set_stream_events(ev);
  venue::public_subscription sub;
  sub.symbols = {btc_sym};
  sub.candle_intervals = {"1h"};
  sub.book = sub.mark_price = sub.funding = sub.ticker = true;
  venue::public_handlers h;
  h.on_candle = [&](const venue::candle& c, const std::string& s) {
    CHECK(s == btc_sym);
    candles.push_back(c);
  };
  h.on_book = [&](const venue::order_book& b) { books.push_back(b); };
  h.on_mark_price = [&](const venue::mark_price& m) { marks.push_back(m); };
  h.on_funding = [&](const venue::funding_rate& f) { funding.push_back(f); };
  h.on_ticker = [&](const venue::ticker& t) { tickers.push_back(t); };
  w.v.subscribe_public(sub, h);
  CHECK(reject_code_from([&] {
          venue::public_subscription bad = sub;
          bad.symbols = {"NOPE"};
          w.v.subscribe_public(bad, {});
        }) == 1001);

  w.v.advance_to(t0 + hour - 1);  // the first bar's last point: not closed yet
  CHECK(candles.empty());
  w.v.advance_to(t0 + hour);
  REQUIRE(candles.size() == 1);
  CHECK(candles[0].closed);
  CHECK(candles[0].open_time == t0);
  CHECK(candles[0].open == "50000"_dec);
  CHECK(candles[0].high == "50100"_dec);
  CHECK(candles[0].low == "49900"_dec);
  CHECK(candles[0].close == "50050"_dec);
  CHECK(candles[0].volume == "100000"_dec);

  REQUIRE_FALSE(books.empty());
  CHECK_FALSE(books.back().bids.empty());
  CHECK(books.back().bids[0].price < books.back().asks[0].price);
  for (std::size_t i = 1; i < books.size(); ++i) CHECK(books[i].update_id > books[i - 1].update_id);
  // At 01:00 the 01:00 settlement (0.01 %) is the last one; 09:00's 0.02 % is next.
  REQUIRE_FALSE(funding.empty());
  CHECK(funding.back().time == t0 + hour);
  CHECK(funding.back().rate == "0.0001"_dec);
  CHECK(funding.back().next_rate == "0.0002"_dec);
  CHECK(funding.back().next_time == t0 + 9 * hour);
  REQUIRE_FALSE(marks.empty());
  CHECK(marks.back().funding_rate == "0.0002"_dec);
  CHECK(marks.back().next_funding_time == t0 + 9 * hour);
  REQUIRE_FALSE(tickers.empty());
  CHECK(tickers.back().last == w.v.get_ticker(btc_sym).last);

  const auto funding_before = funding.size();
  w.v.advance_to(t0 + hour + 30 * minute);
  CHECK(candles.size() == 1);
  CHECK(funding.size() == funding_before);  // no new settlement

  w.v.advance_to(t0 + 3 * hour);  // two bars close in one step: both, in order
  REQUIRE(candles.size() == 3);
  CHECK(candles[1].open_time == t0 + hour);
  CHECK(candles[1].high == "50200"_dec);
  CHECK(candles[1].close == "50150"_dec);
  CHECK(candles[2].open_time == t0 + 2 * hour);
  CHECK(candles[2].low == "49800"_dec);
  CHECK(candles[2].close == "49900"_dec);
  for (const auto& c : candles) CHECK(c.open_time + hour <= w.v.server_time());

  w.v.advance_to(t0 + 9 * hour);  // the 09:00 settlement (after the recorded bars end)
  CHECK(funding.back().time == t0 + 9 * hour);
  CHECK(funding.back().rate == "0.0002"_dec);
  CHECK(w.v.funding_history(btc_sym, std::nullopt, std::nullopt, 10).size() == 2);
  CHECK(candles.size() == 3);  // no bars after 03:00 in the data

  w.v.close_streams();
  const auto n = books.size() + candles.size() + funding.size() + marks.size() + tickers.size();
  w.v.advance_to(t0 + 20 * hour);
  CHECK(books.size() + candles.size() + funding.size() + marks.size() + tickers.size() == n);
  const std::vector<std::pair<std::string, bool>> conn = {{"public", true}, {"public", false}};
  CHECK(connections == conn);
}

TEST_CASE("sim venue: running candle updates when asked for") {
  sim::sim_venue_options o;
  o.running_candles = true;
  world w(o);
  std::vector<venue::candle> candles;
  venue::public_subscription sub;
  sub.symbols = {btc_sym};
  sub.candle_intervals = {"1h"};
  venue::public_handlers h;
  h.on_candle = [&](const venue::candle& c, const std::string&) { candles.push_back(c); };
  w.v.subscribe_public(sub, h);
  w.v.advance_to(t0);  // the open point
  REQUIRE(candles.size() == 1);
  CHECK_FALSE(candles[0].closed);
  CHECK(candles[0].open == "50000"_dec);
  CHECK(candles[0].close == "50000"_dec);
  w.v.on_advanced();  // nothing moved: nothing sent
  CHECK(candles.size() == 1);
  w.v.advance_to(t0 + hour);
  // One on_advanced(): the first bar closed, then the second bar's running state.
  REQUIRE(candles.size() == 3);
  CHECK(candles[1].closed);
  CHECK(candles[1].open_time == t0);
  CHECK(candles[1].close == "50050"_dec);
  CHECK(candles[2].open_time == t0 + hour);
  CHECK(candles[2].open == "50050"_dec);
  CHECK_FALSE(candles[2].closed);
}

TEST_CASE("sim venue: immediate handlers may not trade, deferred handlers may") {
  for (const auto mode : {sim::private_delivery::immediate, sim::private_delivery::deferred}) {
    sim::sim_venue_options o;
    o.delivery = mode;
    world w(o);
    w.book_at("50000"_dec, t0);
    std::vector<std::int64_t> errors;
    std::vector<std::string> seen;
    venue::private_handlers h;
    h.on_fill = [&](const venue::fill& f) {
      seen.push_back("fill:" + f.client_id);
      if (f.client_id != "entry") return;
      try {
        w.v.place_order(limit(venue::side::sell, "5", "50100", "tp"));
      } catch (const venue::venue_error& e) {
        errors.push_back(e.code().value_or(0));
      }
    };
    h.on_order = [&](const venue::order& o2) { seen.push_back("order:" + o2.client_id); };
    w.v.subscribe_private(h);
    w.v.place_order(market(venue::side::buy, "5", "entry"));
    if (mode == sim::private_delivery::immediate) {
      CHECK(errors == std::vector<std::int64_t>{sim::sim_venue_code::reentrant_call});
      CHECK(w.v.open_orders(btc_sym).empty());
    } else {
      CHECK(errors.empty());
      REQUIRE(w.v.open_orders(btc_sym).size() == 1);
      CHECK(w.v.open_orders(btc_sym)[0].client_id == "tp");
      // Delivered by the time place_order returned, the take-profit's ack after the entry's events.
      const std::vector<std::string> expected = {"order:entry", "order:entry", "fill:entry", "order:tp"};
      CHECK(seen == expected);
    }
  }
}

TEST_CASE("sim venue: the owning factory, flavours and market data at market time") {
  sim::sim_world_config cfg;
  cfg.initial_wallet = "5000"_dec;
  cfg.start = t0 + hour;
  sim::sim_venue_options o;
  o.flavour = sim::venue_flavour::poloniex;
  auto v = sim::sim_venue::create({btc()}, {btc_series()}, cfg, o);
  CHECK(v->name() == "poloniex-futures-v3");
  CHECK(v->caps().qty_in_contracts);
  CHECK_FALSE(v->caps().native_stop_orders);
  CHECK(v->caps().post_only);
  CHECK(v->caps().fok);
  CHECK(v->caps().reduce_only);
  CHECK(v->server_time() == t0 + hour);
  CHECK(v->balances().at(0).wallet == "5000"_dec);
  CHECK(v->instruments().size() == 1);
  // Placed at the first bar's close by the seek.
  CHECK(v->get_ticker(btc_sym).last == "50050"_dec);
  CHECK(v->get_mark_price(btc_sym).mark == "50050"_dec);
  const auto f = v->get_funding_rate(btc_sym);
  CHECK(f.time == t0 + hour);
  CHECK(f.rate == "0.0001"_dec);

  v->advance_to(t0 + 2 * hour);
  CHECK(v->klines({btc_sym, "1h", std::nullopt, std::nullopt, 10}).size() == 3);  // 2 closed + running
  const auto o1 = v->place_order(market(venue::side::buy, "1", "f-1"));
  CHECK(o1.state == venue::order_state::filled);
  CHECK(v->positions().size() == 1);

  sim::sim_venue_options bo;
  bo.flavour = sim::venue_flavour::binance;
  auto b = sim::sim_venue::create({btcusdt()}, {btc_series("BTCUSDT")}, {}, bo);
  CHECK(b->name() == "binance-usdm");
  CHECK_FALSE(b->caps().qty_in_contracts);
  CHECK(b->server_time() == t0);
  CHECK(reject_code_from([&] { b->get_ticker("BTCUSDT"); }) == sim::sim_venue_code::no_market_data);
  // Binance quantities are base units: contract-sized instruments would make them lie.
  CHECK_THROWS_AS(sim::sim_venue::create({btc()}, {btc_series()}, {}, bo), std::invalid_argument);
  // Native: in contracts exactly when the instruments are contract-sized.
  const auto native = sim::sim_venue::create({btc()}, {btc_series()});
  CHECK(native->name() == "sim");
  CHECK(native->caps().qty_in_contracts);
  CHECK_FALSE(sim::sim_venue::create({btcusdt()}, {btc_series("BTCUSDT")})->caps().qty_in_contracts);
}
