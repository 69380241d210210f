// Binance USD-M wire codec. Expected values are read by hand from the recorded payloads and doc
// examples under golden/binance (sources in golden/README.md) or computed by hand in the comments.
#include "venue/binance_wire.hpp"

#include "venue/rate_limiter.hpp"
#include "wire_test_support.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace pt::venue;
using namespace pt::venue::binance;
using namespace pt::core::literals;
using wire_test::compare_shape;
using wire_test::golden_json;
using wire_test::golden_text;
using wire_test::joined;
using wire_test::same;
using wire_test::shape_rules;

namespace {

std::string gold(const std::string& name) { return golden_text("binance/" + name); }
json gold_json(const std::string& name) { return golden_json("binance/" + name); }

// Keys ccxt's Binance fixtures store as strings although fapi sends integers (golden/README.md).
const std::set<std::string> ccxt_ints{"orderId", "id", "time", "updateTime", "goodTillDate", "lastUpdateId",
                                      "E",       "T",  "tranId", "adl"};

void expect_shape(const json& ours, const json& golden, const shape_rules& rules = {}) {
  const auto problems = compare_shape(ours, golden, rules);
  INFO(joined(problems));
  CHECK(problems.empty());
}

outcome_class failure_kind(std::string_view body, int status, request_kind kind = request_kind::query) {
  try {
    check_response(body, status, kind);
  } catch (const venue_error& e) {
    return e.kind();
  }
  return outcome_class::success;
}

}  // namespace

TEST_CASE("binance wire: error bodies and HTTP statuses become venue_error through retry.hpp") {
  const auto err = parse_api_error(gold("error_invalid_symbol.json"));
  REQUIRE(err.has_value());
  CHECK(err->code == -1121);
  CHECK(err->msg == "Invalid symbol.");
  CHECK(render_api_error(-1121, "Invalid symbol.") == gold_json("error_invalid_symbol.json"));
  CHECK_FALSE(parse_api_error(gold("premium_index.json")).has_value());
  CHECK_FALSE(parse_api_error("<html>502</html>").has_value());

  try {
    check_response(gold("error_invalid_symbol.json"), 400);
    FAIL("no throw");
  } catch (const venue_error& e) {
    CHECK(e.kind() == outcome_class::reject);
    CHECK(e.code() == -1121);
    CHECK(e.http_status() == 400);
    CHECK_THAT(e.what(), Catch::Contains("Invalid symbol."));
  }
  CHECK(failure_kind(R"({"code":-1003,"msg":"Too many requests"})", 429) == outcome_class::retry);
  CHECK(failure_kind("", 418) == outcome_class::retry);
  CHECK(failure_kind(R"({"code":-1000,"msg":"Unknown error, please check your request or try again later."})", 503,
                     request_kind::place_order) == outcome_class::ambiguous);
  CHECK(failure_kind(R"({"code":-4046,"msg":"No need to change margin type."})", 400) == outcome_class::success);
  CHECK(failure_kind(R"({"code":-2019,"msg":"Margin is insufficient."})", 400, request_kind::place_order) ==
        outcome_class::reject);
  CHECK(failure_kind(R"({"code":200,"msg":"The operation of cancel all open order is done."})", 200) ==
        outcome_class::success);
  CHECK(failure_kind(gold("premium_index.json"), 200) == outcome_class::success);

  // A data parser handed an error body reports the venue's refusal, not a bad payload.
  CHECK_THROWS_AS(parse_klines(gold("error_invalid_symbol.json")), venue_error);
  CHECK_THROWS_AS(parse_orders(R"({"code":-2013,"msg":"Order does not exist."})"), venue_error);
}

TEST_CASE("binance wire: exchangeInfo (doc example) -> instruments and rateLimits") {
  const exchange_info info = parse_exchange_info(gold("exchange_info.json"));
  CHECK(info.server_time == 1565613908500);
  REQUIRE(info.rate_limits.size() == 2);
  CHECK(info.rate_limits[0].type == "REQUEST_WEIGHT");
  CHECK(info.rate_limits[0].interval == "MINUTE");
  CHECK(info.rate_limits[0].interval_num == 1);
  CHECK(info.rate_limits[0].limit == 2400);
  CHECK(info.rate_limits[1].type == "ORDERS");
  CHECK(info.rate_limits[1].limit == 1200);
  // The limiter takes our rendering of them.
  CHECK(rate_limiter::limits_from_binance(render_rate_limits(info.rate_limits)).size() == 2);
  CHECK(render_rate_limits(info.rate_limits) == gold_json("exchange_info.json")["rateLimits"]);

  REQUIRE(info.instruments.size() == 1);
  const instrument& i = info.instruments[0];
  CHECK(i.symbol == "BLZUSDT");
  CHECK(i.base == "BLZ");
  CHECK(i.quote == "USDT");
  CHECK(i.settle == "USDT");
  CHECK(i.contract_size == "1"_dec);
  CHECK(i.tick == "0.0001"_dec);
  CHECK(i.min_price == "0.0001"_dec);
  CHECK(i.max_price == "300"_dec);
  CHECK(i.lot == "1"_dec);
  CHECK(i.min_qty == "1"_dec);
  CHECK(i.max_limit_qty == "10000000"_dec);
  CHECK(i.max_market_qty == "590119"_dec);
  CHECK(i.min_notional == "5"_dec);
  CHECK(i.status == instrument_status::trading);

  // Shape: the symbol object without filters, then each filter by type.
  const json ours = render_exchange_info(info);
  json ours_symbol = ours["symbols"][0];
  json golden_symbol = gold_json("exchange_info.json")["symbols"][0];
  const json ours_filters = ours_symbol["filters"];
  const json golden_filters = golden_symbol["filters"];
  ours_symbol.erase("filters");
  golden_symbol.erase("filters");
  // "OrderType" is the doc page's spelling; the live API and the other recording say "orderTypes".
  expect_shape(ours_symbol, golden_symbol, {{"OrderType"}, {"orderTypes"}, {}});
  std::map<std::string, json> by_type;
  for (const auto& f : golden_filters) by_type[f["filterType"].get<std::string>()] = f;
  for (const auto& f : ours_filters) {
    REQUIRE(by_type.count(f["filterType"].get<std::string>()) == 1);
    expect_shape(f, by_type[f["filterType"].get<std::string>()]);
  }
  json top = ours;
  json golden_top = gold_json("exchange_info.json");
  top.erase("symbols");
  golden_top.erase("symbols");
  expect_shape(top, golden_top);
  CHECK(same(parse_exchange_info(ours.dump()).instruments[0], i));

  // Quarterlies are skipped; "0.10" ticks read as 0.1.
  const exchange_info q = parse_exchange_info(gold("exchange_info_quarterly.json"));
  REQUIRE(q.instruments.size() == 1);
  CHECK(q.instruments[0].symbol == "BTCUSDT");
  CHECK(q.instruments[0].tick == "0.1"_dec);
  CHECK(q.instruments[0].lot == "0.001"_dec);
  CHECK(q.instruments[0].min_notional == "5"_dec);
  CHECK_FALSE(q.instruments[0].max_market_qty.has_value());
  CHECK(q.rate_limits.empty());
}

TEST_CASE("binance wire: klines, depth, trades, 24hr ticker, premiumIndex, funding history") {
  const auto k = parse_klines(gold("klines.json"));
  REQUIRE(k.size() == 3);
  CHECK(k[0].open_time == 1712738460000);
  CHECK(k[0].open == "71481.9"_dec);
  CHECK(k[0].volume == "0.002"_dec);
  CHECK(k[0].close_time == 1712738519999);
  CHECK(k[0].quote_volume == "142.9638"_dec);
  CHECK(k[0].trades == 1);
  CHECK(k[1].open == "71471"_dec);
  CHECK(k[1].high == "71471"_dec);
  CHECK(k[1].low == "70459.4"_dec);
  CHECK(k[1].close == "70459.4"_dec);
  CHECK(k[2].high == "71470.9"_dec);
  CHECK(k[2].volume == "1.542"_dec);
  CHECK(k[2].trades == 8);
  expect_shape(render_kline(k[1]), gold_json("klines.json")[1]);  // times and count integers, the rest strings
  CHECK(same(parse_klines(json::array({render_kline(k[2])}).dump())[0], k[2]));

  const order_book d = parse_depth(gold("depth.json"), "BTCUSDT");
  CHECK(d.update_id == 35263532345);  // a string in ccxt's copy
  CHECK(d.time == 1706803917258);
  CHECK(d.bids[0].price == "42651.1"_dec);
  CHECK(d.bids[0].qty == "470.672"_dec);
  CHECK(d.asks[2].price == "42980.9"_dec);
  CHECK(d.snapshot);
  expect_shape(render_depth(d, 1706803917264), gold_json("depth.json"), {{}, {}, ccxt_ints});
  CHECK(same(parse_depth(render_depth(d, 1).dump(), "BTCUSDT"), d));

  const auto agg = parse_agg_trades(gold("agg_trades.json"), "BTCUSDT");
  REQUIRE(agg.size() == 1);
  CHECK(agg[0].id == "26129");
  CHECK(agg[0].price == "0.01633102"_dec);
  CHECK(agg[0].qty == "4.70443515"_dec);
  CHECK(agg[0].time == 1498793709153);
  CHECK(agg[0].taker_side == side::sell);  // m: the buyer was the maker
  expect_shape(render_agg_trade(agg[0]), gold_json("agg_trades.json")[0]);
  CHECK(same(parse_agg_trades(json::array({render_agg_trade(agg[0])}).dump(), "BTCUSDT")[0], agg[0]));

  public_trade t{"BTCUSDT", "28457", side::buy, "4.000001"_dec, "12"_dec, 1499865549590};
  const auto back = parse_trades(json::array({render_trade(t)}).dump(), "BTCUSDT");
  CHECK(same(back[0], t));
  CHECK(render_trade(t)["quoteQty"] == "48.000012");

  const auto tick = parse_tickers(gold("ticker_24hr.json"));
  REQUIRE(tick.size() == 1);
  CHECK(tick[0].last == "4.000002"_dec);
  CHECK(tick[0].open == "99"_dec);
  CHECK(tick[0].high == "100"_dec);
  CHECK(tick[0].low == "0.1"_dec);
  CHECK(tick[0].volume == "8913.3"_dec);
  CHECK(tick[0].quote_volume == "15.3"_dec);
  CHECK(tick[0].time == 1499869899040);
  const json rt = render_ticker(tick[0]);
  expect_shape(rt, gold_json("ticker_24hr.json"));
  // 4.000002 - 99 = -94.999998 and -94.999998 / 99 x 100 = -95.9596 -> -95.960: the doc's values.
  CHECK(pt::core::decimal::parse(rt["priceChange"].get<std::string>()) == "-94.999998"_dec);
  CHECK(pt::core::decimal::parse(rt["priceChangePercent"].get<std::string>()) == "-95.96"_dec);
  CHECK(rt["openTime"] == 1499783499040);  // closeTime - 24 h, as in the doc
  CHECK(same(parse_tickers(rt.dump())[0], tick[0]));

  const auto mp = parse_premium_index(gold("premium_index.json"));
  REQUIRE(mp.size() == 1);
  CHECK(mp[0].symbol == "BTCUSDT");
  CHECK(mp[0].mark == "11793.63104562"_dec);
  CHECK(mp[0].index == "11781.8049597"_dec);
  CHECK(mp[0].funding_rate == "0.00038246"_dec);
  CHECK(mp[0].next_funding_time == 1597392000000);
  CHECK(mp[0].time == 1597370495002);
  expect_shape(render_premium_index(mp[0]), gold_json("premium_index.json"));
  CHECK(same(parse_premium_index(json::array({render_premium_index(mp[0])}).dump())[0], mp[0]));

  const auto fh = parse_funding_history(gold("funding_rate_history.json"));
  REQUIRE(fh.size() == 2);
  CHECK(fh[0].rate == "-0.0375"_dec);
  CHECK(fh[0].time == 1570608000000);
  CHECK(fh[0].mark == "34287.54619963"_dec);
  CHECK(fh[1].rate == "0.0001"_dec);
  CHECK(fh[1].time - fh[0].time == 8 * 3600 * 1000);
  expect_shape(render_funding_row(fh[1]), gold_json("funding_rate_history.json")[1]);
  CHECK(same(parse_funding_history(json::array({render_funding_row(fh[0])}).dump())[0], fh[0]));

  CHECK(parse_server_time(R"({"serverTime":1499827319559})") == 1499827319559);
  CHECK(parse_server_time(render_server_time(42).dump()) == 42);
}

TEST_CASE("binance wire: symbolConfig, positionSide/dual and apiRestrictions (the self-check's reads)") {
  // BDOC "Symbol Configuration" sample row.
  const auto rows = parse_symbol_config(
      R"([{"symbol":"BTCUSDT","marginType":"CROSSED","isAutoAddMargin":"false","leverage":21,"maxNotionalValue":"1000000"}])");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].symbol == "BTCUSDT");
  CHECK(rows[0].leverage == 21);
  CHECK(rows[0].mode == margin_mode::cross);
  const auto iso = parse_symbol_config(json::array({render_symbol_config({"ETHUSDT", 3, margin_mode::isolated})}).dump());
  REQUIRE(iso.size() == 1);
  CHECK(iso[0].leverage == 3);
  CHECK(iso[0].mode == margin_mode::isolated);
  CHECK_THROWS_AS(parse_symbol_config(R"([{"symbol":"BTCUSDT","marginType":"SOMETHING","leverage":2}])"), parse_error);
  CHECK_THROWS_AS(parse_symbol_config(R"([{"symbol":"BTCUSDT","marginType":"CROSSED","leverage":0}])"), parse_error);
  CHECK_THROWS_AS(parse_symbol_config(R"({"symbol":"BTCUSDT"})"), parse_error);

  CHECK(parse_position_side_dual(R"({"dualSidePosition":true})") == position_mode::hedge);
  CHECK(parse_position_side_dual(R"({"dualSidePosition":false})") == position_mode::one_way);
  CHECK_THROWS_AS(parse_position_side_dual(R"({})"), parse_error);

  // BDOC "Get API Key Permission" sample.
  const auto k = parse_api_restrictions(
      R"({"ipRestrict":false,"createTime":1698645219000,"enableReading":true,"enableWithdrawals":false,)"
      R"("enableInternalTransfer":false,"enableMargin":false,"enableFutures":false,"permitsUniversalTransfer":false,)"
      R"("enableVanillaOptions":false,"enableFixApiTrade":false,"enableFixReadOnly":true,"enableSpotAndMarginTrading":false,)"
      R"("enablePortfolioMarginTrading":true})");
  CHECK(k.reading);
  CHECK_FALSE(k.withdrawals);
  CHECK_FALSE(k.futures_trading);
  CHECK_FALSE(k.ip_restricted);
  const auto back = parse_api_restrictions(render_api_restrictions({true, true, true, true}, 1).dump());
  CHECK(back.withdrawals);
  CHECK(back.futures_trading);
  CHECK(back.ip_restricted);
  // A flag nobody stated must not read as "off".
  CHECK_THROWS_AS(parse_api_restrictions(R"({"enableReading":true,"enableFutures":true,"ipRestrict":true})"), parse_error);
}

TEST_CASE("binance wire: account v2/v3 balances and positionRisk") {
  const auto b = parse_account_balances(gold("account_v3.json"));
  REQUIRE(b.size() == 2);
  CHECK(b[0].asset == "USDT");
  CHECK(b[0].wallet == "3.72964781"_dec);
  CHECK(b[0].unrealised_pnl == "0.54238506"_dec);
  CHECK(b[0].equity == "4.27203287"_dec);
  CHECK(b[0].equity == b[0].wallet + b[0].unrealised_pnl);  // marginBalance = wallet + upl, by hand
  CHECK(b[0].available == "18.65856952"_dec);
  CHECK(b[0].initial_margin == "7.59444356"_dec);
  CHECK(b[0].maintenance_margin == "2.43022194"_dec);
  CHECK(b[1].asset == "USDC");
  CHECK(b[1].wallet == "22"_dec);

  const auto risk = parse_position_risk(gold("position_risk_v3.json"));
  REQUIRE(risk.size() == 1);
  const position& p = risk[0];
  CHECK(p.symbol == "BTCUSDT");
  CHECK(p.pos_side == position_side::both);
  CHECK(p.qty == "0.009"_dec);
  CHECK(p.entry_price == "67445.9"_dec);
  CHECK(p.mark_price == "67502.68519858"_dec);
  CHECK(p.unrealised_pnl == "0.51106678"_dec);
  CHECK(p.liquidation_price == "64846.9875379"_dec);
  CHECK(p.mode == margin_mode::cross);  // isolatedWallet 0
  CHECK(p.margin == "7.59405208"_dec);  // initialMargin
  CHECK(p.leverage == 1);               // v3 carries none
  CHECK(p.update_time == 1722161166529);
  expect_shape(render_position_risk(p), gold_json("position_risk_v3.json")[0], {{}, {}, ccxt_ints});
  CHECK(same(parse_position_risk(json::array({render_position_risk(p)}).dump())[0], p));

  expect_shape(render_account(b, risk, 1722161166529), gold_json("account_v3.json"), {{}, {}, ccxt_ints});
  CHECK(same(parse_account_balances(render_account(b, risk, 1).dump())[1], b[1]));

  const auto v2 = parse_account_balances(gold("account_v2.json"));
  REQUIRE(v2.size() == 1);
  CHECK(v2[0].wallet == "31.022612"_dec);
  CHECK(v2[0].available == "31.022612"_dec);
  // v2-only account fields we do not render (we render v3).
  expect_shape(render_account(v2, {}, 1701270042059), gold_json("account_v2.json"),
               {{"feeTier", "canTrade", "canDeposit", "canWithdraw", "tradeGroupId", "updateTime", "multiAssetsMargin",
                 "marginAvailable"},
                {},
                ccxt_ints});

  // v2 rows: leverage and marginType present.
  position iso;
  iso.symbol = "ETHUSDT";
  iso.pos_side = position_side::short_side;
  iso.mode = margin_mode::isolated;
  iso.qty = "-1.5"_dec;
  iso.entry_price = "2100"_dec;
  iso.mark_price = "2090"_dec;
  iso.unrealised_pnl = "15"_dec;
  iso.leverage = 20;
  iso.margin = "157.5"_dec;
  iso.update_time = 1722161166529;
  const json v2row = render_position_risk(iso, api_version::v2);
  CHECK(v2row["marginType"] == "isolated");
  CHECK(v2row["leverage"] == "20");
  CHECK(v2row["liquidationPrice"] == "0");  // none: Binance writes "0"
  CHECK(same(parse_position_risk(json::array({v2row}).dump())[0], iso));
  CHECK(parse_position_risk(json::array({render_position_risk(iso)}).dump())[0].margin == iso.margin);
}

TEST_CASE("binance wire: order rows, user trades, income, listenKey") {
  const auto created = parse_orders(gold("order_create_swap.json"));
  REQUIRE(created.size() == 1);
  const order& o = created[0];
  CHECK(o.order_id == "4087922044");
  CHECK(o.client_id == "x-xcKtGhcu04075babaeb34c55af79ba");
  CHECK(o.symbol == "BTCUSDT");
  CHECK(o.s == side::sell);
  CHECK(o.type == order_type::limit);
  CHECK(o.tif == time_in_force::gtc);
  CHECK(o.state == order_state::open);
  CHECK(o.price == "110001"_dec);
  CHECK(o.qty == "0.2"_dec);
  CHECK(o.filled_qty == "0"_dec);
  CHECK_FALSE(o.reduce_only);
  CHECK(o.pos_side == position_side::both);
  CHECK(o.update_time == 1739781831932);
  CHECK(o.create_time == 1739781831932);  // no "time" in a placement answer
  // "time" is on query rows (the open-order recording has it), not on this placement answer.
  expect_shape(render_order(o), gold_json("order_create_swap.json")[0], {{}, {"time"}, {}});
  CHECK(same(parse_orders(render_order(o).dump())[0], o));

  const auto gtx = parse_orders(gold("order_open_gtx.json"));
  CHECK(gtx[0].tif == time_in_force::post_only);
  CHECK(gtx[0].create_time == 1707907323983);
  CHECK(gtx[0].update_time == 1707907323991);
  expect_shape(render_order(gtx[0]), gold_json("order_open_gtx.json"), {{}, {"cumQty"}, ccxt_ints});

  const auto filled = parse_orders(gold("order_filled_market.json"));
  CHECK(filled[0].state == order_state::filled);
  CHECK(filled[0].type == order_type::market);
  CHECK(filled[0].avg_price == "47279.4"_dec);
  CHECK(filled[0].filled_qty == "0.01"_dec);
  CHECK(filled[0].pos_side == position_side::long_side);
  CHECK(render_order(filled[0])["cumQuote"] == "472.794");  // 47279.4 x 0.01, the recorded cumQuote

  auto with = [&](const char* key, const char* value) {
    json row = gold_json("order_create_swap.json")[0];
    row[key] = value;
    return parse_orders(row.dump())[0];
  };
  CHECK(with("status", "EXPIRED").state == order_state::expired);
  CHECK(with("status", "EXPIRED_IN_MATCH").state == order_state::expired);
  CHECK(with("status", "CANCELED").state == order_state::cancelled);
  CHECK(with("status", "PARTIALLY_FILLED").state == order_state::partially_filled);
  CHECK(with("status", "NEW_INSURANCE").state == order_state::open);
  CHECK(with("type", "STOP_MARKET").type == order_type::market);
  CHECK(with("type", "TAKE_PROFIT").type == order_type::limit);
  CHECK(with("timeInForce", "IOC").tif == time_in_force::ioc);
  CHECK(with("timeInForce", "FOK").tif == time_in_force::fok);
  CHECK(with("timeInForce", "GTD").tif == time_in_force::gtc);
  CHECK_THROWS_WITH(with("status", "GONE"), Catch::Contains("status"));
  CHECK_THROWS_WITH(with("type", "ICEBERG"), Catch::Contains("type"));
  CHECK_THROWS_WITH(with("timeInForce", "XYZ"), Catch::Contains("timeInForce"));

  const auto trades = parse_user_trades(gold("user_trades.json"));
  REQUIRE(trades.size() == 1);
  const fill& f = trades[0];
  CHECK(f.trade_id == "272536245");
  CHECK(f.order_id == "3524852987");
  CHECK(f.s == side::buy);
  CHECK(f.price == "36567.1"_dec);
  CHECK(f.qty == "0.01"_dec);
  CHECK(f.realised_pnl == "0"_dec);
  CHECK(f.fee == "0.1462684"_dec);
  CHECK(f.fee_asset == "USDT");
  CHECK(f.role == liquidity::taker);
  CHECK(f.time == 1699972836419);
  const json rf = render_user_trade(f);
  CHECK(rf["quoteQty"] == "365.671");  // 36567.1 x 0.01, the recorded quoteQty
  expect_shape(rf, gold_json("user_trades.json")[0], {{}, {}, ccxt_ints});
  CHECK(same(parse_user_trades(json::array({rf}).dump())[0], f));

  const auto inc = parse_income(gold("income.json"));
  REQUIRE(inc.size() == 2);
  CHECK(inc[0].type == bill_type::transfer);
  CHECK(inc[0].symbol.empty());
  CHECK(inc[0].amount == "-0.375"_dec);
  CHECK(inc[0].id == "9689322392");
  CHECK(inc[0].time == 1570608000000);
  CHECK(inc[1].type == bill_type::fee);
  CHECK(inc[1].venue_type == "COMMISSION");
  expect_shape(render_income(inc[1]), gold_json("income.json")[1]);
  CHECK(same(parse_income(json::array({render_income(inc[1])}).dump())[0], inc[1]));
  const auto funding = parse_income(gold("income_funding_papi.json"));
  CHECK(funding[0].type == bill_type::funding);
  CHECK(funding[0].id == "8082457372019390060");  // above 2^53: ids stay text
  CHECK(funding[0].amount == "-0.04618913"_dec);
  expect_shape(render_income(funding[0]), gold_json("income_funding_papi.json")[0], {{}, {}, ccxt_ints});

  CHECK(parse_listen_key(R"({"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"})").size() == 64);
  CHECK(parse_listen_key(render_listen_key("abc").dump()) == "abc");
  CHECK_THROWS_AS(parse_listen_key(R"({"listenKey":""})"), parse_error);
  CHECK_THROWS_AS(parse_listen_key(R"({"code":-1125,"msg":"This listenKey does not exist."})"), venue_error);
}

TEST_CASE("binance wire: market stream events (depth, aggTrade, kline, markPrice, combined)") {
  const market_event d = parse_market_event(gold("ws_depth_update.json"));
  CHECK(d.kind == market_event_kind::depth);
  CHECK(d.symbol == "BTCUSDT");
  CHECK(d.event_time == 123456789);
  CHECK(d.book.first_update_id == 157);
  CHECK(d.book.update_id == 160);
  CHECK(d.book.prev_update_id == 149);
  CHECK(d.book.time == 123456788);
  CHECK_FALSE(d.book.snapshot);
  CHECK(d.book.bids[0].price == "0.0024"_dec);
  CHECK(d.book.bids[0].qty == "10"_dec);
  CHECK(d.book.asks[0].qty == "100"_dec);
  CHECK(render_depth_update(d.book, d.event_time) == gold_json("ws_depth_update.json"));

  const market_event a = parse_market_event(gold("ws_agg_trade.json"));
  CHECK(a.kind == market_event_kind::agg_trade);
  CHECK(a.trade.id == "5933014");
  CHECK(a.trade.price == "0.001"_dec);
  CHECK(a.trade.qty == "100"_dec);
  CHECK(a.trade.time == 123456785);
  CHECK(a.trade.taker_side == side::sell);
  expect_shape(render_agg_trade_event(a.trade, a.event_time), gold_json("ws_agg_trade.json"));

  const market_event k = parse_market_event(gold("ws_kline.json"));
  CHECK(k.kind == market_event_kind::kline);
  CHECK(k.symbol == "BTCUSDT");
  CHECK(k.interval == "1m");
  CHECK(k.bar.open_time == 1638747660000);
  CHECK(k.bar.close_time == 1638747719999);
  CHECK(k.bar.open == "0.001"_dec);
  CHECK(k.bar.close == "0.002"_dec);
  CHECK(k.bar.high == "0.0025"_dec);
  CHECK(k.bar.low == "0.0015"_dec);
  CHECK(k.bar.volume == "1000"_dec);
  CHECK(k.bar.quote_volume == "1"_dec);
  CHECK(k.bar.trades == 100);
  CHECK_FALSE(k.bar.closed);
  expect_shape(render_kline_event(k.symbol, k.interval, k.bar, k.event_time), gold_json("ws_kline.json"));

  const market_event m = parse_market_event(gold("ws_mark_price.json"));
  CHECK(m.kind == market_event_kind::mark_price);
  REQUIRE(m.marks.size() == 1);
  CHECK(m.marks[0].mark == "11794.15"_dec);
  CHECK(m.marks[0].index == "11784.62659091"_dec);
  CHECK(m.marks[0].funding_rate == "0.00038167"_dec);
  CHECK(m.marks[0].next_funding_time == 1562306400000);
  CHECK(m.marks[0].time == 1562305380000);
  // "st" is not in the doc's field list (B8) and we do not model it.
  expect_shape(render_mark_price_update(m.marks[0]), gold_json("ws_mark_price.json"), {{"st"}, {}, {}});

  const market_event wrapped =
      parse_market_event(render_combined("btcusdt@depth@100ms", gold_json("ws_depth_update.json")).dump());
  CHECK(wrapped.stream == "btcusdt@depth@100ms");
  CHECK(same(wrapped.book, d.book));
  const std::string arr = "[" + gold("ws_mark_price.json") + "," + gold("ws_mark_price.json") + "]";
  CHECK(parse_market_event(arr).marks.size() == 2);  // !markPrice@arr
  const market_event reply = parse_market_event(render_ws_reply(7).dump());
  CHECK(reply.kind == market_event_kind::reply);
  CHECK(reply.request_id == 7);
  const market_event bad = parse_market_event(R"({"error":{"code":2,"msg":"Invalid request"},"id":3})");
  CHECK(bad.kind == market_event_kind::reply);
  CHECK(bad.error == "Invalid request");
  CHECK(parse_market_event(R"({"e":"bookTicker","s":"BTCUSDT","b":"1"})").kind == market_event_kind::other);
  const market_event tr = parse_market_event(R"({"e":"trade","E":1,"T":2,"s":"BTCUSDT","t":99,"p":"1.5","q":"2","X":"MARKET","m":false})");
  CHECK(tr.kind == market_event_kind::trade);
  CHECK(tr.trade.id == "99");
  CHECK(tr.trade.taker_side == side::buy);
}

TEST_CASE("binance wire: user stream events (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE, ALGO_UPDATE, expiry)") {
  const user_event u = parse_user_event(gold("ws_order_trade_update.json"));
  CHECK(u.kind == user_event_kind::order_update);
  CHECK(u.event_time == 1568879465651);
  CHECK(u.execution_type == "TRADE");
  CHECK(u.ord.symbol == "BTCUSDT");
  CHECK(u.ord.client_id == "TEST");
  CHECK(u.ord.s == side::buy);
  CHECK(u.ord.type == order_type::limit);
  CHECK(u.ord.qty == "0.001"_dec);
  CHECK(u.ord.price == "7100.5"_dec);
  CHECK(u.ord.avg_price == "7100.5"_dec);
  CHECK(u.ord.state == order_state::partially_filled);
  CHECK(u.ord.order_id == "8886774");
  CHECK(u.ord.filled_qty == "0.001"_dec);
  CHECK(u.ord.pos_side == position_side::long_side);
  CHECK(u.ord.update_time == 1568879465651);
  REQUIRE(u.trade.has_value());
  CHECK(u.trade->trade_id == "12345678");
  CHECK(u.trade->price == "7100.5"_dec);
  CHECK(u.trade->qty == "0.001"_dec);
  CHECK(u.trade->fee == "0.01"_dec);
  CHECK(u.trade->fee_asset == "USDT");
  CHECK(u.trade->role == liquidity::maker);
  CHECK(u.trade->realised_pnl == "12.34"_dec);
  const json ours = render_order_trade_update(u.ord, u.trade, "TRADE", u.event_time);
  expect_shape(ours, gold_json("ws_order_trade_update.json"));
  const user_event back = parse_user_event(ours.dump());
  CHECK(same(back.ord, u.ord));
  CHECK(same(*back.trade, *u.trade));

  json canceled = gold_json("ws_order_trade_update.json");
  canceled["o"]["x"] = "CANCELED";
  canceled["o"]["X"] = "CANCELED";
  const user_event c = parse_user_event(canceled.dump());
  CHECK_FALSE(c.trade.has_value());
  CHECK(c.ord.state == order_state::cancelled);
  json expired = canceled;
  expired["o"]["X"] = "EXPIRED_IN_MATCH";
  CHECK(parse_user_event(expired.dump()).ord.state == order_state::expired);

  const user_event acc = parse_user_event(gold("ws_account_update.json"));
  CHECK(acc.kind == user_event_kind::account_update);
  CHECK(acc.reason == "ORDER");
  REQUIRE(acc.wallets.size() == 1);
  CHECK(acc.wallets[0].asset == "USDT");
  CHECK(acc.wallets[0].wallet == "122624.12345678"_dec);
  CHECK(acc.wallets[0].cross_wallet == "100.12345678"_dec);
  CHECK(acc.wallets[0].change == "50.12345678"_dec);
  REQUIRE(acc.positions.size() == 3);
  CHECK(acc.positions[1].pos_side == position_side::long_side);
  CHECK(acc.positions[1].qty == "20"_dec);
  CHECK(acc.positions[1].entry_price == "6563.6"_dec);
  CHECK(acc.positions[1].unrealised_pnl == "2850.212"_dec);
  CHECK(acc.positions[1].mode == margin_mode::isolated);
  CHECK(acc.positions[1].margin == "13200.70726908"_dec);
  CHECK(acc.positions[2].qty == "-10"_dec);
  CHECK(acc.positions[2].update_time == 1564745798939);
  // "ma" (margin asset) is in the B9 field list but not in this doc example.
  const json acc_ours = render_account_update(acc.reason, acc.wallets, acc.positions, acc.event_time);
  expect_shape(acc_ours, gold_json("ws_account_update.json"), {{}, {"ma"}, {}});
  const user_event acc_back = parse_user_event(acc_ours.dump());
  CHECK(same(acc_back.positions[2], acc.positions[2]));
  CHECK(acc_back.wallets[0].change == acc.wallets[0].change);

  const user_event algo = parse_user_event(gold("ws_algo_update.json"));
  CHECK(algo.kind == user_event_kind::algo_update);
  CHECK(algo.algo.client_algo_id == "Q5xaq5EGKgXXa0fD7fs0Ip");
  CHECK(algo.algo.algo_id == "2148719");
  CHECK(algo.algo.order_type == "TAKE_PROFIT");
  CHECK(algo.algo.symbol == "BNBUSDT");
  CHECK(algo.algo.s == side::sell);
  CHECK(algo.algo.status == "NEW");
  CHECK(algo.algo.qty == "0.01"_dec);
  CHECK(algo.algo.trigger_price == "750"_dec);
  CHECK(algo.algo.price == "750"_dec);
  CHECK(algo.algo.reason == "Reduce Only reject");
  expect_shape(render_algo_update(algo.algo, algo.event_time), gold_json("ws_algo_update.json"));

  // E arrives as a number or as a string.
  const user_event expired_key = parse_user_event(R"({"e":"listenKeyExpired","E":"1736996475556","listenKey":"WsCMN0a4"})");
  CHECK(expired_key.kind == user_event_kind::listen_key_expired);
  CHECK(expired_key.event_time == 1736996475556);
  CHECK(expired_key.listen_key == "WsCMN0a4");
  CHECK(parse_user_event(render_listen_key_expired("k", 5).dump()).listen_key == "k");
  CHECK(parse_user_event(render_combined("abc", gold_json("ws_algo_update.json")).dump()).stream == "abc");
  CHECK(parse_user_event(R"({"e":"MARGIN_CALL","E":1})").kind == user_event_kind::other);
}

TEST_CASE("binance wire: malformed input throws parse_error naming the field, never anything else") {
  CHECK_THROWS_WITH(parse_klines(R"([[1,"a"]])"), Catch::Contains("open"));
  CHECK_THROWS_WITH(parse_premium_index(R"({"symbol":"X","markPrice":[1]})"), Catch::Contains("markPrice"));
  CHECK_THROWS_WITH(parse_user_trades(R"([{"symbol":"X","id":1,"orderId":2,"side":"BUY","price":"1","qty":"1"}])"),
                    Catch::Contains("time"));
  CHECK_THROWS_WITH(parse_exchange_info(R"({"symbols":[{"symbol":"X","baseAsset":"X","quoteAsset":"USDT","filters":[]}]})"),
                    Catch::Contains("PRICE_FILTER"));
  CHECK_THROWS_WITH(parse_market_event(R"({"e":"depthUpdate","s":"X","U":"x"})"), Catch::Contains("U"));
  CHECK_THROWS_WITH(parse_user_event(R"({"e":"ORDER_TRADE_UPDATE","o":{"s":"X"}})"), Catch::Contains("c"));
  CHECK_THROWS_WITH(parse_user_event(std::string(17u << 20, ' ')), Catch::Contains("too large"));
  CHECK_THROWS_WITH(parse_market_event(std::string(70, '[') + std::string(70, ']')), Catch::Contains("nesting"));
  CHECK_THROWS_AS(parse_user_event("[]"), parse_error);
  CHECK_THROWS_AS(parse_depth("{\"lastUpdateId\":1,\"bids\":[[\"1\",\"2\"]]", "X"), parse_error);  // truncated

  // JSON numbers in decimal fields are exact (no double): 17 significant digits.
  CHECK(parse_premium_index(R"({"symbol":"X","markPrice":12345678.123456789})")[0].mark == "12345678.123456789"_dec);

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
  const char* files[] = {"exchange_info.json", "account_v3.json", "ws_order_trade_update.json", "ws_account_update.json",
                         "klines.json"};
  for (const char* name : files) {
    const std::string text = gold(name);
    for (std::size_t n = 0; n < text.size(); n += 5) {
      const std::string_view prefix(text.data(), n);
      clean([&] { (void)parse_exchange_info(prefix); });
      clean([&] { (void)parse_account_balances(prefix); });
      clean([&] { (void)parse_klines(prefix); });
      clean([&] { (void)parse_user_event(prefix); });
      clean([&] { (void)parse_market_event(prefix); });
    }
  }
  CHECK(refused > 1000);
}

TEST_CASE("binance wire: parse(render(x)) == x for hand-built values") {
  exchange_info info;
  info.server_time = 1700000000000;
  info.rate_limits = {{"REQUEST_WEIGHT", "MINUTE", 1, 2400}, {"ORDERS", "SECOND", 10, 300}};
  instrument i;
  i.symbol = "ETHUSDC";
  i.base = "ETH";
  i.quote = "USDC";
  i.settle = "USDC";
  i.tick = "0.01"_dec;
  i.lot = "0.001"_dec;
  i.min_qty = "0.001"_dec;
  i.max_market_qty = "2000"_dec;
  i.max_limit_qty = "10000"_dec;
  i.min_notional = "20"_dec;
  i.min_price = "39.86"_dec;
  i.max_price = "306177"_dec;
  i.status = instrument_status::closed;
  info.instruments = {i};
  const exchange_info back = parse_exchange_info(render_exchange_info(info).dump());
  REQUIRE(back.instruments.size() == 1);
  CHECK(same(back.instruments[0], i));
  CHECK(back.server_time == info.server_time);
  CHECK(back.rate_limits[1].interval_num == 10);
  CHECK(back.rate_limits[1].limit == 300);

  order o;
  o.symbol = "ETHUSDC";
  o.order_id = "8389765519";
  o.client_id = "ptb-0123456789abcdefghijklmnop";
  o.s = side::buy;
  o.type = order_type::limit;
  o.tif = time_in_force::ioc;
  o.state = order_state::expired;
  o.price = "2100.5"_dec;
  o.qty = "1.5"_dec;
  o.filled_qty = "0.5"_dec;
  o.avg_price = "2100.4"_dec;
  o.reduce_only = true;
  o.pos_side = position_side::both;
  o.create_time = 1700000000000;
  o.update_time = 1700000000123;
  CHECK(same(parse_orders(render_order(o).dump())[0], o));
  const user_event ev = parse_user_event(render_order_trade_update(o, std::nullopt, "EXPIRED", 1700000000124).dump());
  CHECK(ev.execution_type == "EXPIRED");
  CHECK_FALSE(ev.trade.has_value());
  order expect = o;
  expect.create_time = o.update_time;  // the event carries one time
  CHECK(same(ev.ord, expect));

  fill f;
  f.symbol = "ETHUSDC";
  f.trade_id = "99";
  f.order_id = o.order_id;
  f.s = side::sell;
  f.price = "2100.4"_dec;
  f.qty = "0.5"_dec;
  f.fee = "-0.02"_dec;
  f.fee_asset = "USDC";
  f.role = liquidity::maker;
  f.realised_pnl = "-1.25"_dec;
  f.time = 1700000000123;
  CHECK(same(parse_user_trades(json::array({render_user_trade(f)}).dump())[0], f));

  candle c;
  c.open_time = 1700000040000;
  c.close_time = 1700000099999;
  c.open = "1"_dec;
  c.high = "3"_dec;
  c.low = "0.5"_dec;
  c.close = "2"_dec;
  c.volume = "10.5"_dec;
  c.quote_volume = "21"_dec;
  c.trades = 42;
  c.closed = true;
  const market_event k = parse_market_event(render_kline_event("ETHUSDC", "1m", c, 1700000100000).dump());
  CHECK(same(k.bar, c));
  CHECK(k.interval == "1m");

  mark_price m;
  m.symbol = "ETHUSDC";
  m.mark = "2100.12345678"_dec;
  m.index = "2100.2"_dec;
  m.funding_rate = "-0.0001"_dec;
  m.next_funding_time = 1700006400000;
  m.time = 1700000000000;
  CHECK(same(parse_market_event(render_mark_price_update(m).dump()).marks[0], m));

  public_trade t{"ETHUSDC", "123456", side::buy, "2100.4"_dec, "0.5"_dec, 1700000000123};
  CHECK(same(parse_market_event(render_trade_event(t, 1700000000124).dump()).trade, t));
  CHECK(same(parse_market_event(render_agg_trade_event(t, 1700000000124).dump()).trade, t));

  order_book b;
  b.symbol = "ETHUSDC";
  b.bids = {{"2100.4"_dec, "0"_dec}};
  b.asks = {{"2100.5"_dec, "3.2"_dec}};
  b.first_update_id = 11;
  b.update_id = 15;
  b.prev_update_id = 10;
  b.time = 1700000000123;
  b.snapshot = false;
  CHECK(same(parse_market_event(render_depth_update(b, 1700000000124).dump()).book, b));

  algo_update a;
  a.client_algo_id = "pts-stop-1";
  a.algo_id = "2148719";
  a.symbol = "ETHUSDC";
  a.status = "TRIGGERED";
  a.order_type = "STOP_MARKET";
  a.s = side::sell;
  a.qty = "1.5"_dec;
  a.trigger_price = "1990"_dec;
  a.price = "0"_dec;
  a.reduce_only = true;
  const user_event ae = parse_user_event(render_algo_update(a, 1).dump());
  CHECK(ae.algo.client_algo_id == a.client_algo_id);
  CHECK(ae.algo.algo_id == a.algo_id);
  CHECK(ae.algo.status == a.status);
  CHECK(ae.algo.trigger_price == a.trigger_price);
  CHECK(ae.algo.reduce_only);

  bill bl;
  bl.id = "9689322392";
  bl.symbol = "ETHUSDC";
  bl.type = bill_type::realised_pnl;
  bl.venue_type = "REALIZED_PNL";
  bl.amount = "12.5"_dec;
  bl.asset = "USDC";
  bl.time = 1700000000000;
  CHECK(same(parse_income(json::array({render_income(bl)}).dump())[0], bl));

  balance bal;
  bal.asset = "USDC";
  bal.wallet = "1000"_dec;
  bal.unrealised_pnl = "-12.5"_dec;
  bal.equity = "987.5"_dec;
  bal.available = "900"_dec;
  bal.initial_margin = "87.5"_dec;
  bal.maintenance_margin = "10"_dec;
  CHECK(same(parse_account_balances(render_account({bal}, {}, 1).dump())[0], bal));
}

TEST_CASE("binance wire: leverage brackets, as a list and as the one object sent for a symbol") {
  for (const char* file : {"leverage_bracket.json", "leverage_bracket_symbol.json"}) {
    INFO(file);
    const auto all = parse_leverage_brackets(gold(file));
    REQUIRE(all.size() == 1);
    const auto& s = all[0];
    CHECK(s.symbol == "ETHUSDT");
    REQUIRE(s.brackets.size() == 1);
    CHECK(s.brackets[0].bracket == 1);
    CHECK(s.brackets[0].initial_leverage == 75);
    CHECK(s.brackets[0].notional_cap == "10000"_dec);
    CHECK(s.brackets[0].notional_floor == "0"_dec);
    CHECK(s.brackets[0].maint_margin_ratio == "0.0065"_dec);  // from the JSON number, exactly
    CHECK(s.brackets[0].cum == "0"_dec);
    CHECK(s.max_leverage() == 75);
    const json ours = render_leverage_brackets(s);
    const json golden = gold_json(file).is_array() ? gold_json(file)[0] : gold_json(file);
    expect_shape(ours, golden);
    expect_shape(ours["brackets"][0], golden["brackets"][0]);
    const auto back = parse_leverage_brackets(ours.dump());
    REQUIRE(back.size() == 1);
    CHECK(back[0].brackets[0].maint_margin_ratio == s.brackets[0].maint_margin_ratio);
  }
  // Several brackets: the cap is the highest initial leverage, whatever the order.
  const auto two = parse_leverage_brackets(
      R"([{"symbol":"X","brackets":[{"bracket":2,"initialLeverage":20,"notionalCap":50000,"notionalFloor":10000,"maintMarginRatio":0.01,"cum":35},)"
      R"({"bracket":1,"initialLeverage":50,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.005,"cum":0}]}])");
  CHECK(two.at(0).max_leverage() == 50);
  CHECK_THROWS_AS(parse_leverage_brackets(R"([{"symbol":"X","brackets":[{"bracket":1}]}])"), parse_error);
  CHECK_THROWS_AS(parse_leverage_brackets(R"({"symbol":"X","brackets":[{"bracket":1,"initialLeverage":0,"notionalCap":1,"notionalFloor":0,"maintMarginRatio":0.1}]})"),
                  parse_error);
}
