// Poloniex v3 wire codec. Expected values are read by hand from the recorded payloads under
// golden/poloniex (sources in golden/README.md) or computed by hand in the comments; the
// key/type checks compare our rendered JSON with those recordings.
#include "venue/poloniex_wire.hpp"

#include "wire_test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

using namespace pt::venue;
using namespace pt::venue::poloniex;
using namespace pt::core::literals;
using wire_test::compare_shape;
using wire_test::golden_json;
using wire_test::golden_text;
using wire_test::joined;
using wire_test::same;
using wire_test::shape_rules;

namespace {

std::string gold(const std::string& name) { return golden_text("poloniex/" + name); }
json gold_json(const std::string& name) { return golden_json("poloniex/" + name); }
std::string body_of(const json& data) { return render_envelope(data).dump(); }

outcome_class reject_kind(const std::string& body, request_kind kind = request_kind::query) {
  try {
    (void)unwrap(body, kind);
  } catch (const venue_error& e) {
    return e.kind();
  }
  FAIL("no venue_error for " << body);
  return outcome_class::success;
}

}  // namespace

TEST_CASE("poloniex wire: envelope code 200 or \"200\"; any other code is a venue_error") {
  CHECK(unwrap(R"({"code":200,"msg":"Success","data":{"a":1}})")["a"] == 1);
  CHECK(unwrap(R"({"code":"200","msg":"Success","data":[]})").is_array());  // ccxt's copy (A1)
  CHECK(unwrap(R"({"code":200,"msg":""})").is_null());

  // Recorded rejects (GCT): HTTP 200 with a non-200 code.
  try {
    (void)parse_funding_history(gold("funding_history_bad_symbol.json"));
    FAIL("no throw");
  } catch (const venue_error& e) {
    CHECK(e.kind() == outcome_class::reject);
    CHECK(e.code() == 400);
    CHECK_THAT(e.what(), Catch::Contains("Param error symbol"));
  }
  try {
    (void)parse_order_book(gold("order_book_invalid_symbol.json"), "BTC_USDT_PERP");
    FAIL("no throw");
  } catch (const venue_error& e) {
    CHECK(e.code() == 24101);
    CHECK(e.kind() == outcome_class::reject);
  }
  try {
    (void)parse_order_ack(gold("place_order_rejected.json"));
    FAIL("no throw");
  } catch (const venue_error& e) {
    CHECK(e.code() == 10042);
    CHECK(e.kind() == outcome_class::reject);
  }
  // retry.hpp's policy for the codes the venue asks to retry (A4), and 500 on a placement.
  CHECK(reject_kind(R"({"code":1002,"msg":"maintenance"})") == outcome_class::retry);
  CHECK(reject_kind(R"({"code":"24201","msg":"Please try again later"})") == outcome_class::retry);
  CHECK(reject_kind(R"({"code":429,"msg":"TOO_MANY_REQUEST"})") == outcome_class::retry);
  CHECK(reject_kind(R"({"code":500,"msg":"x"})", request_kind::place_order) == outcome_class::ambiguous);
  CHECK(reject_kind(R"({"code":250,"msg":"DUPLICATE"})", request_kind::place_order) == outcome_class::reject);

  CHECK_THROWS_AS(unwrap(R"({"msg":"no code","data":[]})"), parse_error);
  CHECK_THROWS_AS(unwrap(R"({"code":true})"), parse_error);
  CHECK_THROWS_AS(unwrap(R"([1,2])"), parse_error);
  CHECK_THROWS_AS(unwrap("not json"), parse_error);
  CHECK(render_envelope(json::array()).dump() == R"({"code":200,"data":[],"msg":"Success"})");
  CHECK(render_error(24101, "Invalid symbol!") == gold_json("order_book_invalid_symbol.json"));
}

TEST_CASE("poloniex wire: allInstruments golden (GCT) parses to the recorded values") {
  const auto list = parse_instruments(gold("all_instruments.json"));
  REQUIRE(list.size() == 2);
  const instrument& btc = list[0];
  CHECK(btc.symbol == "BTC_USDT_PERP");
  CHECK(btc.base == "BTC");
  CHECK(btc.quote == "USDT");
  CHECK(btc.settle == "USDT");
  CHECK(btc.contract_size == "0.1"_dec);  // as recorded (the venue mislabelled this row, A9)
  CHECK(btc.tick == "0.001"_dec);
  CHECK(btc.lot == "1"_dec);     // lotSz is a JSON number
  CHECK(btc.min_qty == "1"_dec);  // minSz too
  CHECK(btc.max_market_qty == "2800"_dec);
  CHECK(btc.max_limit_qty == "1000000"_dec);
  CHECK(btc.min_price == "0.001"_dec);
  CHECK(btc.max_price == "1000000"_dec);
  CHECK(btc.max_leverage == 50);
  CHECK(btc.initial_margin_rate == "0.02"_dec);
  CHECK(btc.maintenance_margin_rate == "0.0115"_dec);
  CHECK(btc.status == instrument_status::trading);
  CHECK(list[1].symbol == "TRX_USDT_PERP");
  CHECK(list[1].contract_size == "100"_dec);
  CHECK(list[1].tick == "0.00001"_dec);
  CHECK(list[1].max_market_qty == "7500"_dec);

  // /v3/market/instruments answers one object.
  const auto one = parse_instruments(body_of(gold_json("all_instruments.json")["data"][1]));
  REQUIRE(one.size() == 1);
  CHECK(one[0].symbol == "TRX_USDT_PERP");

  // Status mapping (A7.1).
  auto status_of = [&](const char* s) {
    json row = gold_json("all_instruments.json")["data"][0];
    row["status"] = s;
    return parse_instruments(body_of(json::array({row})))[0].status;
  };
  CHECK(status_of("OPEN") == instrument_status::trading);
  CHECK(status_of("PAUSED") == instrument_status::paused);
  CHECK(status_of("CANCEL_ONLY") == instrument_status::cancel_only);
  CHECK(status_of("CANCEL_CLOSE_ONLY") == instrument_status::close_only);
  CHECK(status_of("CLOSED") == instrument_status::closed);
  CHECK(status_of("SOMETHING_NEW") == instrument_status::paused);  // unknown: not tradable

  // Numbers where strings were recorded, and strings where numbers were: both read (A10.5).
  json row = gold_json("all_instruments.json")["data"][0];
  row["ctVal"] = 0.1;
  row["lotSz"] = "1";
  row["maxLever"] = 50;
  const auto swapped = parse_instruments(body_of(json::array({row})));
  CHECK(swapped[0].contract_size == "0.1"_dec);
  CHECK(swapped[0].lot == "1"_dec);
  CHECK(swapped[0].max_leverage == 50);
}

TEST_CASE("poloniex wire: instrument render has the recorded keys and JSON types (REST and WS symbol)") {
  const json golden = gold_json("all_instruments.json")["data"][0];
  const auto inst = parse_instruments(gold("all_instruments.json"))[0];
  // Not held by `instrument`: default leverage, tier-1 risk limit, deprecated maxQty, listing dates,
  // limit-price band.
  const shape_rules rest{{"lever", "mR", "maxQty", "oDate", "ordPxRange", "tradableStartTime", "visibleStartTime"}, {}, {}};
  INFO(joined(compare_shape(render_instrument(inst), golden, rest)));
  CHECK(compare_shape(render_instrument(inst), golden, rest).empty());
  CHECK(render_instrument(inst)["pxScale"] == golden["pxScale"]);  // 0.001,0.01,0.1,1,10 from tSz
  CHECK(render_instrument(inst)["bAsset"] == ".PBTCUSDT");          // the recording says .PBNBUSDT (mislabelled)

  const json ws_golden = gold_json("ws_symbol.json");
  const ws_message msg = parse_ws(gold("ws_symbol.json"));
  REQUIRE(msg.kind == ws_kind::data);
  CHECK(msg.channel == "symbol");
  CHECK(msg.action == "snapshot");
  const auto ws_inst = ws_instruments(msg);
  REQUIRE(ws_inst.size() == 1);
  CHECK(ws_inst[0].contract_size == "0.001"_dec);
  CHECK(ws_inst[0].tick == "0.01"_dec);
  CHECK(ws_inst[0].max_market_qty == "100000"_dec);  // a JSON number on this channel
  CHECK(ws_inst[0].max_leverage == 75);
  CHECK(ws_inst[0].maintenance_margin_rate == "0.006"_dec);
  const json ours = render_ws_push("symbol", json::array({render_instrument(ws_inst[0], flavor::ws)}), "snapshot");
  INFO(joined(compare_shape(ours, ws_golden, rest)));
  CHECK(compare_shape(ours, ws_golden, rest).empty());
  CHECK(same(parse_instruments(body_of(json::array({render_instrument(inst)})))[0], inst));
}

TEST_CASE("poloniex wire: REST candles are [l,h,o,c,amt,qty,tC,sT,cT], WS rows start with the symbol") {
  const auto bars = parse_candles(gold("candles.json"));
  REQUIRE(bars.size() == 2);
  // Row 0 of the recording: ["77631.97","77864.86","77697.45","77804.35","7464.83606","96","48",...]
  CHECK(bars[0].low == "77631.97"_dec);  // index 0 is the LOW (A7.3 trap)
  CHECK(bars[0].high == "77864.86"_dec);
  CHECK(bars[0].open == "77697.45"_dec);
  CHECK(bars[0].close == "77804.35"_dec);
  CHECK(bars[0].quote_volume == "7464.83606"_dec);
  CHECK(bars[0].volume == "96"_dec);
  CHECK(bars[0].trades == 48);
  CHECK(bars[0].open_time == 1744183800000);
  CHECK(bars[0].close_time == 1744184099999);
  CHECK(bars[1].open == "77825.44"_dec);
  const json golden = gold_json("candles.json")["data"];
  CHECK(render_candle(bars[0]) == golden[0]);  // every value round-trips to the recorded text
  CHECK(compare_shape(render_candle(bars[1]), golden[1], {}).empty());

  const auto marks = parse_price_candles(gold("price_candles.json"));
  REQUIRE(marks.size() == 2);
  CHECK(marks[0].low == "106289.42"_dec);
  CHECK(marks[0].close == "106733.69"_dec);
  CHECK(marks[0].open_time == 1734408000000);
  CHECK(render_price_candle(marks[1]) == gold_json("price_candles.json")["data"][1]);

  const ws_message msg = parse_ws(gold("ws_candles.json"));
  CHECK(msg.channel == "candles_minute_1");
  const auto ws = ws_candles(msg);
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].symbol == "BTC_USDT_PERP");
  CHECK(ws[0].bar.low == "91883.46"_dec);
  CHECK(ws[0].bar.high == "91958.73"_dec);
  CHECK(ws[0].bar.open == "91883.46"_dec);
  CHECK(ws[0].bar.close == "91958.73"_dec);
  CHECK(ws[0].bar.quote_volume == "367.68438"_dec);
  CHECK(ws[0].bar.volume == "4"_dec);
  CHECK(ws[0].bar.trades == 2);
  CHECK(ws[0].bar.open_time == 1741243200000);
  CHECK(ws[0].bar.close_time == 1741243259999);
  CHECK(ws[0].ts == 1741243218348);
  CHECK_FALSE(ws[0].bar.closed);
  CHECK(render_ws_push("candles_minute_1", json::array({render_ws_candle(ws[0])})) == gold_json("ws_candles.json"));
}

TEST_CASE("poloniex wire: order book REST snapshot and WS book / book_lv2") {
  const order_book b = parse_order_book(gold("order_book.json"), "BTC_USDT_PERP");
  CHECK(b.symbol == "BTC_USDT_PERP");
  REQUIRE(b.asks.size() == 3);
  REQUIRE(b.bids.size() == 3);
  CHECK(b.asks[0].price == "88380.46"_dec);
  CHECK(b.asks[1].price == "88380.7"_dec);  // recorded "88380.70"
  CHECK(b.asks[1].qty == "115"_dec);
  CHECK(b.bids[0].price == "88373.21"_dec);
  CHECK(b.bids[2].qty == "195"_dec);
  CHECK(b.time == 1742832731114);
  CHECK(b.snapshot);
  CHECK(compare_shape(render_order_book(b, "0.01"_dec), gold_json("order_book.json")["data"], {}).empty());
  CHECK(same(parse_order_book(body_of(render_order_book(b, "0.01"_dec)), "BTC_USDT_PERP"), b));

  const auto lv2 = ws_books(parse_ws(gold("ws_book_lv2.json")));
  REQUIRE(lv2.size() == 1);
  CHECK(lv2[0].symbol == "BTC_USDT_PERP");
  CHECK(lv2[0].update_id == 954);
  CHECK(lv2[0].prev_update_id == 953);
  CHECK(lv2[0].time == 1718870001418);
  CHECK(lv2[0].snapshot);
  CHECK(lv2[0].asks[0].price == "46100"_dec);
  CHECK(lv2[0].asks[0].qty == "9284"_dec);
  CHECK(lv2[0].bids[0].price == "34400.089"_dec);
  // cT is written as ts (the book type keeps one time).
  const shape_rules rules{};
  CHECK(compare_shape(render_ws_push("book_lv2", json::array({render_ws_book(lv2[0], true)}), "snapshot"),
                      gold_json("ws_book_lv2.json"), rules)
            .empty());

  json update = gold_json("ws_book_lv2.json");
  update["action"] = "update";
  CHECK_FALSE(ws_books(parse_ws(update.dump()))[0].snapshot);

  const auto book = ws_books(parse_ws(gold("ws_book.json")));
  REQUIRE(book.size() == 1);
  CHECK(book[0].update_id == 954);
  CHECK(book[0].prev_update_id == 0);
  CHECK(book[0].time == 1718869676586);
  CHECK(compare_shape(render_ws_push("book", json::array({render_ws_book(book[0], false)})), gold_json("ws_book.json"),
                      rules)
            .empty());
}

TEST_CASE("poloniex wire: public trades, amt = px x qty x ctVal matches the recording") {
  const auto trades = parse_trades(gold("trades.json"), "BTC_USDT_PERP");
  REQUIRE(trades.size() == 3);
  CHECK(trades[0].id == "105868940");  // a JSON number on the wire
  CHECK(trades[0].taker_side == side::sell);
  CHECK(trades[0].price == "88238.33"_dec);
  CHECK(trades[0].qty == "1"_dec);
  CHECK(trades[0].time == 1741118554395);
  CHECK(trades[1].taker_side == side::buy);
  const json golden = gold_json("trades.json")["data"];
  // BTC ctVal 0.001 (A9): 88238.33 x 1 x 0.001 = 88.23833, the recorded amt.
  CHECK(render_trade(trades[0], "0.001"_dec) == golden[0]);
  CHECK(same(parse_trades(body_of(json::array({render_trade(trades[2], "0.001"_dec)})), "BTC_USDT_PERP")[0], trades[2]));

  const auto ws = ws_trades(parse_ws(gold("ws_trades.json")));
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].symbol == "BTC_USDT_PERP");
  CHECK(ws[0].id == "291");
  CHECK(ws[0].price == "46100"_dec);
  CHECK(ws[0].time == 1718871802534);  // cT; ts is the push time
  CHECK(compare_shape(render_ws_push("trades", json::array({render_trade(ws[0], "0.01"_dec, flavor::ws)})),
                      gold_json("ws_trades.json"), {})
            .empty());
}

TEST_CASE("poloniex wire: tickers, dC recomputed from o and c equals the recording") {
  const auto t = parse_tickers(gold("tickers.json"));
  REQUIRE(t.size() == 2);
  CHECK(t[0].symbol == "ETH_USDT_PERP");
  CHECK(t[0].last == "2170.89"_dec);
  CHECK(t[0].open == "2113.46"_dec);
  CHECK(t[0].high == "2174.05"_dec);
  CHECK(t[0].low == "1988.01"_dec);
  CHECK(t[0].volume == "213994"_dec);
  CHECK(t[0].quote_volume == "4476173.7402"_dec);
  CHECK(t[0].bid == "2170.13"_dec);
  CHECK(t[0].bid_qty == "1"_dec);
  CHECK(t[0].ask == "2170.84"_dec);
  CHECK(t[0].ask_qty == "4"_dec);
  CHECK(t[0].mark == "2170.89"_dec);
  CHECK(t[0].index == "2171.33"_dec);
  CHECK(t[0].time == 1741118171233);
  const json golden = gold_json("tickers.json")["data"];
  for (std::size_t i = 0; i < 2; ++i) {
    const json ours = render_ticker(t[i]);
    INFO(joined(compare_shape(ours, golden[i], {})));
    CHECK(compare_shape(ours, golden[i], {}).empty());
    // (2170.89 - 2113.46) / 2113.46 = 0.02717...; (88282.54 - 85945.76) / 85945.76 = 0.02718...
    CHECK(ours["dC"] == golden[i]["dC"]);
    CHECK(ours["dN"] == golden[i]["dN"]);
    CHECK(same(parse_tickers(body_of(json::array({ours})))[0], t[i]));
  }

  const auto ws = ws_tickers(parse_ws(gold("ws_tickers.json")));
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].bid_qty == "46000"_dec);
  CHECK(ws[0].ask_qty == "9279"_dec);
  CHECK_FALSE(ws[0].mark.has_value());
  // dN is listed for tickers (A7.4) but absent from this WS recording.
  CHECK(compare_shape(render_ws_push("tickers", json::array({render_ticker(ws[0], flavor::ws)})),
                      gold_json("ws_tickers.json"), {{}, {"dN"}, {}})
            .empty());
}

TEST_CASE("poloniex wire: mark price and funding rate, REST and WS") {
  const auto m = parse_mark_prices(gold("mark_price.json"));
  REQUIRE(m.size() == 1);
  CHECK(m[0].symbol == "BTC_USDT_PERP");
  CHECK(m[0].mark == "105817.02"_dec);
  CHECK(render_mark_price(m[0]) == gold_json("mark_price.json")["data"]);

  const auto wm = ws_mark_prices(parse_ws(gold("ws_mark_price.json")));
  REQUIRE(wm.size() == 1);
  CHECK(wm[0].mark == "34400"_dec);
  CHECK(wm[0].time == 1719226453000);
  CHECK(render_ws_push("mark_price", json::array({render_mark_price(wm[0], flavor::ws)})) ==
        gold_json("ws_mark_price.json"));

  const funding_rate f = parse_funding_rate(gold("funding_rate.json"));
  CHECK(f.symbol == "BTC_USDT_PERP");
  CHECK(f.rate == "0.0001"_dec);
  CHECK(f.time == 1734552000000);  // a string on REST
  CHECK(f.next_rate == "0.0001"_dec);
  CHECK(f.next_time == 1734580800000);
  CHECK(f.next_time.value() - f.time == 8 * 3600 * 1000);  // the 8 h grid (A9)
  CHECK(render_funding_rate(f) == gold_json("funding_rate.json")["data"]);

  const auto h = parse_funding_history(gold("funding_history.json"));
  REQUIRE(h.size() == 1);
  CHECK(h[0].time == 1744171200000);
  CHECK(render_funding_history_row(h[0]) == gold_json("funding_history.json")["data"][0]);

  const auto wf = ws_funding(parse_ws(gold("ws_funding_rate.json")));
  REQUIRE(wf.size() == 1);
  CHECK(wf[0].rate == "0.000619"_dec);
  CHECK(wf[0].time == 1718874000000);  // a number on WS
  CHECK(wf[0].next_rate == "0.000003"_dec);
  CHECK(wf[0].next_time == 1718874900000);
  CHECK(compare_shape(render_ws_push("funding_rate", json::array({render_funding_rate(wf[0], flavor::ws)})),
                      gold_json("ws_funding_rate.json"), {})
            .empty());
}

TEST_CASE("poloniex wire: balance details, wallet is avail and available is availMgn = eq - im") {
  const auto b = parse_balances(gold("balance.json"));
  REQUIRE(b.size() == 1);
  CHECK(b[0].asset == "USDT");
  CHECK(b[0].equity == "7.203956665"_dec);  // "7.203956664999999859" rounded half-even to 9 places
  CHECK(b[0].wallet == "7.203956665"_dec);
  CHECK(b[0].unrealised_pnl == "0"_dec);
  CHECK(b[0].initial_margin == "1.12"_dec);
  CHECK(b[0].maintenance_margin == "0.504"_dec);
  CHECK(b[0].available == "6.083956665"_dec);  // availMgn; 7.203956665 - 1.12 by hand
  const json golden = gold_json("balance.json")["data"];
  INFO(joined(compare_shape(render_balances(b, 1741117766893), golden, {})));
  CHECK(compare_shape(render_balances(b, 1741117766893), golden, {}).empty());
  CHECK(same(parse_balances(body_of(render_balances(b, 1)))[0], b[0]));

  const auto ws = ws_account(parse_ws(gold("ws_account.json")));
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].equity == "9604385.495986630"_dec);  // ...629521985415 rounded
  CHECK(ws[0].wallet == "9603683.490563447"_dec);
  CHECK(ws[0].unrealised_pnl == "702.005423183"_dec);
  CHECK(ws[0].wallet + ws[0].unrealised_pnl == ws[0].equity);  // avail = eq - upl in this recording
  CHECK(ws[0].available == "9604104.221166630"_dec);
  CHECK(ws[0].initial_margin == "281.27482"_dec);
  const json ws_ours = render_ws_push("account", json::array({render_balances(ws, 1725329576649, flavor::ws)}));
  INFO(joined(compare_shape(ws_ours, gold_json("ws_account.json"), {})));
  CHECK(compare_shape(ws_ours, gold_json("ws_account.json"), {}).empty());
}

TEST_CASE("poloniex wire: positions (WS recording, REST fields of A7.8), qty signed by side") {
  const auto ws = ws_positions(parse_ws(gold("ws_positions.json")));
  REQUIRE(ws.size() == 1);
  const position& p = ws[0];
  CHECK(p.symbol == "BTC_USDT_PERP");
  CHECK(p.pos_side == position_side::both);
  CHECK(p.mode == margin_mode::cross);
  CHECK(p.qty == "1"_dec);  // side buy
  CHECK(p.entry_price == "64999"_dec);
  CHECK(p.mark_price == "60499"_dec);
  CHECK(p.unrealised_pnl == "-45"_dec);
  CHECK(p.liquidation_price == "-965678126.114070339"_dec);
  CHECK(p.leverage == 1);  // lever is a JSON number here
  CHECK(p.margin == "604.99"_dec);
  CHECK(p.update_time == 1725330697439);
  // Not held by `position`: fees, ADL rank, ratios, realised pnl, creation time.
  const shape_rules rules{{"oldQty", "fee", "adl", "mm", "uplRatio", "pnl", "mgnRatio", "ffee", "fpnl", "cTime"}, {}, {}};
  const json ours = render_ws_push("positions", json::array({render_position(p, flavor::ws)}));
  INFO(joined(compare_shape(ours, gold_json("ws_positions.json"), rules)));
  CHECK(compare_shape(ours, gold_json("ws_positions.json"), rules).empty());

  // REST rows (A7.8 fields; no recording has a non-empty one): a short in hedge mode.
  const json rest_row{{"symbol", "ETH_USDT_PERP"}, {"posSide", "SHORT"},  {"side", "SELL"},      {"mgnMode", "ISOLATED"},
                      {"openAvgPx", "2100.5"},     {"qty", "3"},          {"availQty", "3"},     {"lever", "20"},
                      {"liqPx", ""},               {"mgn", "31.5"},       {"im", "31.5"},        {"upl", "1.2"},
                      {"markPx", "2096.5"},        {"state", "NORMAL"},   {"cTime", "1741116306550"},
                      {"uTime", "1741116306563"}};
  const auto rest = parse_positions(body_of(json::array({rest_row})));
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].qty == "-3"_dec);
  CHECK(rest[0].pos_side == position_side::short_side);
  CHECK(rest[0].mode == margin_mode::isolated);
  CHECK_FALSE(rest[0].liquidation_price.has_value());  // "" is unset
  CHECK(rest[0].leverage == 20);
  CHECK(rest[0].update_time == 1741116306563);
  CHECK(same(parse_positions(body_of(json::array({render_position(rest[0])})))[0], rest[0]));
  CHECK(same(ws_positions(parse_ws(ours.dump()))[0], p));
}

TEST_CASE("poloniex wire: order rows (history, opens, details, WS orders)") {
  const auto hist = parse_orders(gold("orders_history.json"));
  REQUIRE(hist.size() == 1);
  const order& o = hist[0];
  CHECK(o.symbol == "BTC_USDT_PERP");
  CHECK(o.order_id == "420059153596510208");
  CHECK(o.client_id == "polo420059153596510208");  // "polo" + ordId when none was sent (A6)
  CHECK(o.s == side::sell);
  CHECK(o.type == order_type::market);
  CHECK(o.tif == time_in_force::gtc);
  CHECK(o.state == order_state::filled);
  CHECK(o.price == "0"_dec);
  CHECK(o.qty == "1"_dec);
  CHECK(o.filled_qty == "1"_dec);
  CHECK(o.avg_price == "88359.42"_dec);
  CHECK(o.fee == "0.04417971"_dec);
  CHECK(o.fee_asset == "USDT");
  CHECK_FALSE(o.reduce_only);  // the string "false" in this recording
  CHECK(o.create_time == 1741116306539);
  CHECK(o.update_time == 1741116306550);

  row_extras btc;
  btc.contract_size = "0.001"_dec;
  btc.leverage = 75;
  const json rendered = render_order(o, btc);
  // 88359.42 x 1 x 0.001 = 88.35942, the recorded execAmt.
  CHECK(rendered["execAmt"] == "88.35942");
  // The one recorded difference: ccxt's history copy has reduceOnly as a string, opens and WS as bool.
  CHECK(compare_shape(rendered, gold_json("orders_history.json")["data"][0], {}) ==
        std::vector<std::string>{"$.reduceOnly: rendered bool, golden string"});
  CHECK(same(parse_orders(body_of(json::array({rendered})))[0], o));

  const auto open = parse_orders(gold("orders_open.json"));
  REQUIRE(open.size() == 1);
  CHECK(open[0].state == order_state::open);
  CHECK(open[0].type == order_type::limit);
  CHECK(open[0].price == "84000"_dec);
  CHECK(open[0].filled_qty == "0"_dec);
  // ccxt's opens copy has no cancelReason (its history copy and GCT's do).
  CHECK(compare_shape(render_order(open[0], btc), gold_json("orders_open.json")["data"][0], {{}, {"cancelReason"}, {}})
            .empty());

  const auto cancelled = parse_orders(gold("orders_cancelled.json"));
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].state == order_state::cancelled);
  CHECK(cancelled[0].reject_or_cancel_reason == "ORDER_SOURCE_API");
  CHECK(cancelled[0].qty == "2"_dec);
  CHECK(cancelled[0].s == side::sell);
  CHECK(compare_shape(render_order(cancelled[0], btc), gold_json("orders_cancelled.json")["data"][0], {{"actType"}, {}, {}})
            .empty());

  // /details answers one object.
  CHECK(parse_orders(body_of(gold_json("orders_open.json")["data"][0]))[0].order_id == "420059500360601600");

  const auto ws = ws_orders(parse_ws(gold("ws_orders.json")));
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].order_id == "353849510130364416");
  CHECK(ws[0].price == "64999"_dec);
  CHECK(ws[0].create_time == 1725330697421);  // numbers on WS
  const json ws_ours = render_ws_push("orders", json::array({render_order(ws[0], btc, flavor::ws)}));
  INFO(joined(compare_shape(ws_ours, gold_json("ws_orders.json"), {})));
  CHECK(compare_shape(ws_ours, gold_json("ws_orders.json"), {}).empty());

  // States and types (A6): LIMIT_MAKER is post-only; PARTIALLY_CANCELED is final.
  auto with = [&](const char* key, const char* value) {
    json row = gold_json("orders_open.json")["data"][0];
    row[key] = value;
    return parse_orders(body_of(json::array({row})))[0];
  };
  CHECK(with("type", "LIMIT_MAKER").tif == time_in_force::post_only);
  CHECK(with("type", "limit_maker").type == order_type::limit);
  CHECK(with("state", "PARTIALLY_FILLED").state == order_state::partially_filled);
  CHECK(with("state", "PARTIALLY_CANCELED").state == order_state::cancelled);
  CHECK(with("timeInForce", "IOC").tif == time_in_force::ioc);
  CHECK(with("timeInForce", "FOK").tif == time_in_force::fok);
  CHECK_THROWS_WITH(with("state", "LOST"), Catch::Contains("state"));
  CHECK_THROWS_WITH(with("type", "STOP"), Catch::Contains("type"));
  CHECK_THROWS_WITH(with("side", "UP"), Catch::Contains("side"));

  order partial = o;
  partial.state = order_state::expired;
  CHECK(render_order(partial, btc)["state"] == "PARTIALLY_CANCELED");  // Poloniex has no EXPIRED
  partial.filled_qty = decimal::zero();
  CHECK(render_order(partial, btc)["state"] == "CANCELED");
}

TEST_CASE("poloniex wire: fills (REST px/qty, WS fpx/fqty) and bills") {
  const auto fills = parse_fills(gold("fills.json"));
  REQUIRE(fills.size() == 2);
  CHECK(fills[0].trade_id == "105868336");  // trdId: the key the WS trade channel shares
  CHECK(fills[0].order_id == "420059153596510208");
  CHECK(fills[0].client_id == "polo420059153596510208");
  CHECK(fills[0].s == side::sell);
  CHECK(fills[0].price == "88359.42"_dec);
  CHECK(fills[0].qty == "1"_dec);
  CHECK(fills[0].fee == "0.04417971"_dec);
  CHECK(fills[0].fee_asset == "USDT");
  CHECK(fills[0].role == liquidity::taker);
  CHECK(fills[0].time == 1741116306550);
  CHECK(fills[1].price == "81533.970732500"_dec);  // "81533.970732499999973012" rounded half-even
  CHECK(fills[1].qty == "5"_dec);

  row_extras btc;
  btc.contract_size = "0.001"_dec;
  btc.type = order_type::market;
  const json ours = render_fill(fills[0], btc);
  CHECK(ours["value"] == "88.35942");  // 88359.42 x 1 x 0.001
  CHECK(ours["feeRate"] == "0.0005");  // 0.04417971 / 88.35942, the recorded rate
  INFO(joined(compare_shape(ours, gold_json("fills.json")["data"][0], {})));
  CHECK(compare_shape(ours, gold_json("fills.json")["data"][0], {}).empty());
  CHECK(same(parse_fills(body_of(json::array({ours})))[0], fills[0]));

  const auto ws = ws_fills(parse_ws(gold("ws_trade.json")));
  REQUIRE(ws.size() == 1);
  CHECK(ws[0].trade_id == "48");
  CHECK(ws[0].price == "64999"_dec);
  CHECK(ws[0].qty == "1"_dec);
  CHECK(ws[0].fee == "0.259996"_dec);
  CHECK(ws[0].time == 1725330697559);
  CHECK(compare_shape(render_ws_push("trade", json::array({render_fill(ws[0], btc, flavor::ws)})),
                      gold_json("ws_trade.json"), {})
            .empty());

  const auto bills = parse_bills(gold("bills.json"));
  REQUIRE(bills.size() == 3);
  CHECK(bills[0].type == bill_type::transfer);
  CHECK(bills[0].amount == "2"_dec);
  CHECK(bills[0].symbol.empty());
  CHECK(bills[0].time == 1727084809358);
  CHECK(bills[1].type == bill_type::fee);
  CHECK(bills[1].amount == "-0.0002"_dec);
  CHECK(bills[2].type == bill_type::realised_pnl);
  CHECK(bills[2].venue_type == "PNL");
  CHECK(bills[2].id == "361194707487129601");
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(compare_shape(render_bill(bills[i]), gold_json("bills.json")["data"][i], {}).empty());
    CHECK(same(parse_bills(body_of(json::array({render_bill(bills[i])})))[0], bills[i]));
  }
  json funding = gold_json("bills.json")["data"][2];
  funding["type"] = "FUNDING_FEE";
  CHECK(parse_bills(body_of(json::array({funding})))[0].type == bill_type::funding);
  funding["type"] = "LIQ_PNL";
  CHECK(parse_bills(body_of(json::array({funding})))[0].type == bill_type::liquidation);
}

TEST_CASE("poloniex wire: acks, batch items with their own codes, position mode") {
  const order_ack ack = parse_order_ack(gold("place_order_ack.json"));
  CHECK(ack.order_id == "420059153596510208");
  CHECK(ack.client_id == "polo420059153596510208");
  CHECK(render_order_ack(ack) == gold_json("place_order_ack.json")["data"]);

  const auto items = parse_batch(gold("cancel_all.json"));
  REQUIRE(items.size() == 3);
  CHECK(items[0].ok());
  CHECK(items[2].order_id == "331378951199129601");
  CHECK(items[2].client_id == "9e36e89c-6cab-45c6-9c8a-245b7547601a");
  CHECK(render_batch_item(items[1]) == gold_json("cancel_all.json")["data"][1]);
  CHECK(parse_batch(gold("cancel_all_ccxt.json"))[0].order_id == "420069049645752320");

  // A top-level 200 does not mean every item succeeded (A4).
  const json mixed = json::array({render_batch_item({200, "Success", "1", "a"}), render_batch_item({11008, "ORDER_NOT_EXISTS", "", "b"})});
  const auto parsed = parse_batch(body_of(mixed));
  CHECK(parsed[0].ok());
  CHECK_FALSE(parsed[1].ok());
  CHECK(parsed[1].code == 11008);
  CHECK(parsed[1].msg == "ORDER_NOT_EXISTS");

  CHECK(parse_position_mode(gold("position_mode.json")) == position_mode::one_way);
  CHECK(parse_position_mode(body_of(render_position_mode(position_mode::hedge))) == position_mode::hedge);

  // /v3/position/leverages (exchanges.md A6): `lever` as a string (GCT) or a number.
  const auto lev = parse_leverages(body_of(json::array({{{"symbol", "BTC_USDT_PERP"}, {"mgnMode", "CROSS"}, {"posSide", "BOTH"}, {"lever", "3"}},
                                                        {{"symbol", "ETH_USDT_PERP"}, {"mgnMode", "ISOLATED"}, {"posSide", "BOTH"}, {"lever", 20}}})));
  REQUIRE(lev.size() == 2);
  CHECK(lev[0].leverage == 3);
  CHECK(lev[0].mode == margin_mode::cross);
  CHECK(lev[1].symbol == "ETH_USDT_PERP");
  CHECK(lev[1].leverage == 20);
  CHECK(lev[1].mode == margin_mode::isolated);
  CHECK_THROWS_AS(parse_leverages(body_of(json::array({{{"symbol", "X"}, {"mgnMode", "MAYBE"}, {"lever", "3"}}}))), parse_error);
  CHECK_THROWS_AS(parse_leverages(body_of(json::array({{{"symbol", "X"}, {"mgnMode", "CROSS"}}}))), parse_error);
}

TEST_CASE("poloniex wire: WS control messages (exchanges.md A8)") {
  CHECK(parse_ws("pong").kind == ws_kind::pong);
  CHECK(parse_ws(R"({"event":"pong"})").kind == ws_kind::pong);
  CHECK(parse_ws(render_ws_pong().dump()).kind == ws_kind::pong);

  const auto sub = parse_ws(R"({"event":"subscribe","channel":"book_lv2","symbols":["BTC_USDT_PERP","ETH_USDT_PERP"]})");
  CHECK(sub.kind == ws_kind::subscribed);
  CHECK(sub.channel == "book_lv2");
  CHECK(sub.symbols == std::vector<std::string>{"BTC_USDT_PERP", "ETH_USDT_PERP"});
  const auto sub2 = parse_ws(render_ws_subscribed("trades", {"BTC_USDT_PERP"}).dump());
  CHECK(sub2.channel == "trades");
  CHECK(sub2.symbols.size() == 1);

  const auto err = parse_ws(R"({"event":"error","message":"Channel not found"})");
  CHECK(err.kind == ws_kind::error);
  CHECK(err.message == "Channel not found");
  CHECK(parse_ws(render_ws_error("x").dump()).message == "x");

  const auto auth = parse_ws(R"({"channel":"auth","data":{"success":true,"message":"Authenticated successfully","ts":1727081945506}})");
  CHECK(auth.kind == ws_kind::auth);
  CHECK(auth.auth_ok);
  CHECK(auth.message == "Authenticated successfully");
  CHECK_FALSE(parse_ws(render_ws_auth(false, "Authentication failed", 1).dump()).auth_ok);

  CHECK(parse_ws(R"({"event":"unsubscribe","channel":"book"})").kind == ws_kind::unsubscribed);
  CHECK(parse_ws(R"({"event":"list_subscriptions","subscriptions":[]})").kind == ws_kind::other);
  CHECK_THROWS_AS(parse_ws(R"({"channel":"book","data":{}})"), parse_error);  // data must be an array
  CHECK_THROWS_AS(parse_ws(R"({"nothing":1})"), parse_error);
  CHECK_THROWS_AS(parse_ws("ping?"), parse_error);
}

TEST_CASE("poloniex wire: numbers are exact whether sent as strings or JSON numbers") {
  json row = gold_json("fills.json")["data"][1];
  // The same 18-decimal price as a JSON number: it must not pass through a double (a double would
  // give 81533.97073249999...).
  const std::string body = R"({"code":200,"data":[)" + [&] {
    std::string s = row.dump();
    const std::string from = R"("px":"81533.970732499999973012")";
    s.replace(s.find(from), from.size(), R"("px":81533.970732499999973012)");
    return s;
  }() + "]}";
  CHECK(parse_fills(body)[0].price == "81533.970732500"_dec);
  const std::string small = R"({"code":200,"data":{"mPx":0.1,"s":"X_USDT_PERP"}})";
  CHECK(parse_mark_prices(small)[0].mark == "0.1"_dec);
  const std::string exp = R"({"code":200,"data":{"mPx":1.5e3,"s":"X_USDT_PERP"}})";
  CHECK(parse_mark_prices(exp)[0].mark == "1500"_dec);
}

TEST_CASE("poloniex wire: malformed input throws parse_error naming the field, never anything else") {
  CHECK_THROWS_WITH(parse_mark_prices(R"({"code":200,"data":{"mPx":true,"s":"X"}})"), Catch::Contains("mPx"));
  CHECK_THROWS_WITH(parse_mark_prices(R"({"code":200,"data":{"s":"X"}})"), Catch::Contains("missing field 'mPx'"));
  CHECK_THROWS_WITH(parse_candles(R"({"code":200,"data":[["1","2","3"]]})"), Catch::Contains("row too short"));
  CHECK_THROWS_WITH(parse_funding_rate(R"({"code":200,"data":{"s":"X","fR":"0.1","fT":"12x"}})"), Catch::Contains("fT"));
  CHECK_THROWS_WITH(parse_order_book(R"({"code":200,"data":{"asks":[["1e400","1"]],"bids":[]}})", "X"),
                    Catch::Contains("px"));
  CHECK_THROWS_WITH(parse_trades(R"({"code":200,"data":[{"id":1,"side":"buy","px":"1","qty":"1","cT":99999999999999999999}]})", "X"),
                    Catch::Contains("cT"));
  CHECK_THROWS_AS(parse_tickers(R"({"code":200,"data":"nope"})"), parse_error);
  CHECK_THROWS_WITH(parse_balances(std::string(17u << 20, ' ')), Catch::Contains("too large"));
  CHECK_THROWS_WITH(parse_ws(std::string(100, '[') + std::string(100, ']')), Catch::Contains("nesting"));

  // Extremes: the decimal range edge, int64 edges, and renders of them stay defined (UBSan).
  CHECK(parse_mark_prices(R"({"code":200,"data":{"mPx":"9223372036.854775807","s":"X"}})")[0].mark == decimal::max());
  CHECK_THROWS_WITH(parse_mark_prices(R"({"code":200,"data":{"mPx":"9223372036.854775808","s":"X"}})"),
                    Catch::Contains("mPx"));
  const auto edge = parse_tickers(R"({"code":200,"data":{"s":"X","c":"1","o":"0","cT":-9223372036854775808}})");
  CHECK(edge[0].time == std::numeric_limits<std::int64_t>::min());
  CHECK(render_ticker(edge[0])["sT"] == edge[0].time);  // clamped, not overflowed
  CHECK(render_ticker(edge[0])["dC"] == "0");             // open 0: no division
  CHECK_THROWS_AS(parse_positions(R"({"code":200,"data":[{"symbol":"X","qty":"-9223372036.854775808","side":"sell"}]})"),
                  parse_error);
  CHECK_THROWS_AS(parse_trades(R"({"code":200,"data":[{"id":1,"side":"buy","px":"1","qty":"1","cT":9223372036854775808}]})", "X"),
                  parse_error);

  // Every prefix of every golden payload, through every parser: a parse_error or a venue_error,
  // nothing else, no crash.
  int refused = 0;
  auto clean = [&](auto&& f) {
    try {
      f();
    } catch (const parse_error&) {
      ++refused;
    } catch (const venue_error&) {
      ++refused;
    }
  };
  const char* files[] = {"all_instruments.json", "balance.json", "fills.json", "ws_account.json", "ws_book_lv2.json"};
  for (const char* f : files) {
    const std::string text = gold(f);
    for (std::size_t n = 0; n < text.size(); n += 7) {
      const std::string_view prefix(text.data(), n);
      clean([&] { (void)parse_instruments(prefix); });
      clean([&] { (void)parse_balances(prefix); });
      clean([&] { (void)parse_fills(prefix); });
      clean([&] {
        const auto m = parse_ws(prefix);
        clean([&] { (void)ws_account(m); });
        clean([&] { (void)ws_books(m); });
      });
    }
  }
  CHECK(refused > 1000);

  // Reordered keys change nothing.
  const auto doc = nlohmann::ordered_json::parse(gold("orders_open.json"));
  nlohmann::ordered_json reversed = nlohmann::ordered_json::object();
  const auto& src = doc["data"][0];
  std::vector<std::string> keys;
  for (auto it = src.begin(); it != src.end(); ++it) keys.push_back(it.key());
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) reversed[*it] = src[*it];
  const std::string reordered = R"({"data":[)" + reversed.dump() + R"(],"msg":"","code":200})";
  CHECK(same(parse_orders(reordered)[0], parse_orders(gold("orders_open.json"))[0]));
}

TEST_CASE("poloniex wire: parse(render(x)) == x for hand-built values") {
  instrument i;
  i.symbol = "SOL_USDT_PERP";
  i.base = "SOL";
  i.quote = "USDT";
  i.settle = "USDT";
  i.contract_size = "0.1"_dec;
  i.tick = "0.001"_dec;
  i.lot = "1"_dec;
  i.min_qty = "1"_dec;
  i.max_market_qty = "5000"_dec;
  i.max_limit_qty = "100000"_dec;
  i.min_price = "0.001"_dec;
  i.max_price = "100000"_dec;
  i.max_leverage = 20;
  i.initial_margin_rate = "0.05"_dec;
  i.maintenance_margin_rate = "0.027"_dec;
  i.status = instrument_status::cancel_only;
  CHECK(same(parse_instruments(body_of(json::array({render_instrument(i)})))[0], i));
  CHECK(same(ws_instruments(parse_ws(render_ws_push("symbol", json::array({render_instrument(i, flavor::ws)})).dump()))[0], i));

  order o;
  o.symbol = "SOL_USDT_PERP";
  o.order_id = "1234567890123";
  o.client_id = "ptb-abc";
  o.s = side::buy;
  o.type = order_type::limit;
  o.tif = time_in_force::post_only;
  o.state = order_state::partially_filled;
  o.price = "142.5"_dec;
  o.qty = "30"_dec;
  o.filled_qty = "10"_dec;
  o.avg_price = "142.5"_dec;
  o.fee = "0.0285"_dec;
  o.fee_asset = "USDT";
  o.reduce_only = true;
  o.pos_side = position_side::long_side;
  o.create_time = 1741116306539;
  o.update_time = 1741116306999;
  CHECK(same(parse_orders(body_of(json::array({render_order(o)})))[0], o));
  CHECK(same(ws_orders(parse_ws(render_ws_push("orders", json::array({render_order(o, {}, flavor::ws)})).dump()))[0], o));

  fill f;
  f.symbol = "SOL_USDT_PERP";
  f.trade_id = "777";
  f.order_id = o.order_id;
  f.client_id = o.client_id;
  f.s = side::sell;
  f.price = "142.501"_dec;
  f.qty = "7"_dec;
  f.fee = "-0.01"_dec;  // a maker rebate
  f.fee_asset = "USDT";
  f.role = liquidity::maker;
  f.time = 1741116306999;
  CHECK(same(parse_fills(body_of(json::array({render_fill(f)})))[0], f));
  CHECK(same(ws_fills(parse_ws(render_ws_push("trade", json::array({render_fill(f, {}, flavor::ws)})).dump()))[0], f));

  position p;
  p.symbol = "SOL_USDT_PERP";
  p.pos_side = position_side::both;
  p.mode = margin_mode::cross;
  p.qty = "-12"_dec;
  p.entry_price = "143"_dec;
  p.mark_price = "142"_dec;
  p.unrealised_pnl = "1.2"_dec;
  p.liquidation_price = "170.25"_dec;
  p.leverage = 10;
  p.margin = "17.16"_dec;
  p.update_time = 1741116306999;
  CHECK(same(parse_positions(body_of(json::array({render_position(p)})))[0], p));

  ticker t;
  t.symbol = "SOL_USDT_PERP";
  t.last = "143.2"_dec;
  t.open = "140"_dec;
  t.mark = "143.21"_dec;
  t.time = 1741118172284;
  CHECK(same(parse_tickers(body_of(json::array({render_ticker(t)})))[0], t));
  CHECK(same(ws_tickers(parse_ws(render_ws_push("tickers", json::array({render_ticker(t, flavor::ws)})).dump()))[0], t));

  funding_rate r;
  r.symbol = "SOL_USDT_PERP";
  r.rate = "-0.000125"_dec;
  r.time = 1744171200000;
  r.next_rate = "0.0001"_dec;
  r.next_time = 1744200000000;
  CHECK(same(parse_funding_rate(body_of(render_funding_rate(r))), r));
  CHECK(same(ws_funding(parse_ws(render_ws_push("funding_rate", json::array({render_funding_rate(r, flavor::ws)})).dump()))[0], r));

  mark_price m;
  m.symbol = "SOL_USDT_PERP";
  m.mark = "143.228"_dec;
  m.time = 1741118172284;
  CHECK(same(ws_mark_prices(parse_ws(render_ws_push("mark_price", json::array({render_mark_price(m, flavor::ws)})).dump()))[0], m));

  order_book b;
  b.symbol = "SOL_USDT_PERP";
  b.asks = {{"143.706"_dec, "15"_dec}, {"143.8"_dec, "0"_dec}};
  b.bids = {{"142.99"_dec, "349"_dec}};
  b.time = 1741118172284;
  b.update_id = 1001;
  b.prev_update_id = 1000;
  b.snapshot = false;
  CHECK(same(ws_books(parse_ws(render_ws_push("book_lv2", json::array({render_ws_book(b, true)}), "update").dump()))[0], b));

  ws_candle c;
  c.symbol = "SOL_USDT_PERP";
  c.bar.open_time = 1741243200000;
  c.bar.close_time = 1741243259999;
  c.bar.open = "1"_dec;
  c.bar.high = "2"_dec;
  c.bar.low = "0.5"_dec;
  c.bar.close = "1.5"_dec;
  c.bar.volume = "10"_dec;
  c.bar.quote_volume = "1.5"_dec;
  c.bar.trades = 3;
  c.bar.closed = false;
  c.ts = 1741243218348;
  const auto back = ws_candles(parse_ws(render_ws_push("candles_minute_1", json::array({render_ws_candle(c)})).dump()));
  CHECK(back[0].symbol == c.symbol);
  CHECK(same(back[0].bar, c.bar));
  CHECK(back[0].ts == c.ts);

  bill bl;
  bl.id = "9";
  bl.symbol = "SOL_USDT_PERP";
  bl.type = bill_type::funding;
  bl.venue_type = "FUNDING_FEE";
  bl.amount = "-0.0123"_dec;
  bl.asset = "USDT";
  bl.time = 1744171200000;
  CHECK(same(parse_bills(body_of(json::array({render_bill(bl)})))[0], bl));
}

TEST_CASE("poloniex wire: the key/type comparison itself reports what differs") {
  const json golden = json::parse(R"({"a":"1","b":2,"c":[["x"]],"d":true,"only_golden":1})");
  const json ours = json::parse(R"({"a":1,"b":2,"c":[[3]],"d":"true","only_ours":1})");
  const auto problems = compare_shape(ours, golden, {});
  CHECK(problems == std::vector<std::string>{"$.a: rendered number, golden string", "$.c[0][0]: rendered number, golden string",
                                             "$.d: rendered string, golden bool", "$.only_golden: in the golden payload, not rendered",
                                             "$.only_ours: rendered, not in the golden payload"});
  CHECK(compare_shape(ours, golden, {{"only_golden"}, {"only_ours"}, {"a"}}).size() == 2);  // c and d remain
}
