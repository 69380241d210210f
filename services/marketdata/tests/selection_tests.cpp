// The universe selection driver of marketdata (selection.hpp) with canned venue answers: which
// calls it makes, the 24 h quote volume estimated from 1h klines when the ticker has none, errors
// carried into the exclusion detail, the daily schedule, and the message against its schema.
#include "bus/catalog.hpp"
#include "core/time.hpp"
#include "selection.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>

using namespace pt;
using core::decimal;
using md_mode = marketdata::universe_mode;

namespace {

constexpr std::int64_t H = 3'600'000;
constexpr std::int64_t D = 24 * H;
constexpr std::int64_t T0 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z

decimal d(const char* s) { return decimal::parse(s); }

venue::instrument inst(const std::string& sym, const char* ct, const char* quote = "USDT") {
  venue::instrument i;
  i.symbol = sym;
  i.base = sym.substr(0, 3);
  i.quote = quote;
  i.settle = quote;
  i.contract_size = d(ct);
  i.tick = d("0.01");
  i.lot = d("1");
  i.min_qty = d("1");
  return i;
}

venue::candle bar(std::int64_t open, const char* close, const char* volume, std::optional<const char*> quote = {}) {
  venue::candle c;
  c.open_time = open;
  c.open = c.high = c.low = c.close = d(close);
  c.volume = d(volume);
  if (quote) c.quote_volume = d(*quote);
  return c;
}

// A venue of canned answers that counts its calls.
struct fake_venue {
  std::vector<venue::instrument> instruments;
  std::map<std::string, venue::ticker> tickers;
  std::map<std::string, std::string> ticker_errors;
  std::map<std::string, std::vector<venue::candle>> klines;
  std::map<std::string, decimal> funding;
  std::map<std::string, int> ticker_calls, funding_calls, kline_calls;
  std::vector<venue::kline_query> queries;

  marketdata::market_source source() {
    return {[this] { return instruments; },
            [this](const std::string& s) {
              ++ticker_calls[s];
              if (ticker_errors.count(s)) throw venue::parse_error(ticker_errors.at(s));
              if (!tickers.count(s)) throw venue::venue_error(venue::outcome_class::reject, "unknown symbol " + s);
              return tickers.at(s);
            },
            [this](const std::string& s) {
              ++funding_calls[s];
              if (!funding.count(s)) throw venue::venue_error(venue::outcome_class::retry, "code 24201 Please try again later");
              venue::funding_rate f;
              f.symbol = s;
              f.rate = funding.at(s);
              return f;
            },
            [this](const venue::kline_query& q) {
              ++kline_calls[q.symbol];
              queries.push_back(q);
              return klines[q.symbol];
            }};
  }
};

venue::ticker tick(const std::string& sym, const char* last, std::optional<const char*> qv, std::int64_t time = T0) {
  venue::ticker t;
  t.symbol = sym;
  t.last = d(last);
  if (qv) t.quote_volume = d(*qv);
  t.time = time;
  return t;
}

const universe::excluded_symbol* why(const marketdata::selection& s, const std::string& sym) {
  for (const auto& e : s.result.excluded)
    if (e.symbol == sym) return &e;
  return nullptr;
}

marketdata::universe_settings settings() {
  marketdata::universe_settings s;
  s.mode = md_mode::selected;
  s.rules.min_quote_volume = d("1000");
  s.max_leverage = 5;
  return s;
}

}  // namespace

TEST_CASE("selection takes the ticker's quote volume and asks funding only for symbols that passed every other rule") {
  fake_venue v;
  v.instruments = {inst("AAA_USDT_PERP", "1"), inst("BBB_USDT_PERP", "1"), inst("CCC_USDC_PERP", "1", "USDC")};
  v.instruments.push_back(inst("DDD_USDT_PERP", "1"));
  v.instruments.back().status = venue::instrument_status::paused;
  v.tickers["AAA_USDT_PERP"] = tick("AAA_USDT_PERP", "10", "5000");
  v.tickers["BBB_USDT_PERP"] = tick("BBB_USDT_PERP", "10", "500");  // under 1000
  v.funding["AAA_USDT_PERP"] = d("0.0001");
  // $1000 at 5x: the smallest order may cost 60 (1 contract at 10 fits).
  const auto sel = marketdata::run_selection(v.source(), settings(), d("1000"), "config", std::nullopt, 0);
  REQUIRE(sel.result.selected.size() == 1);
  CHECK(sel.result.selected[0].symbol == "AAA_USDT_PERP");
  CHECK(sel.result.selected[0].quote_volume == d("5000"));
  CHECK(sel.volume_source.at("AAA_USDT_PERP") == "ticker");
  CHECK(sel.market_time == T0);  // the newest ticker time when the streams gave none
  CHECK(why(sel, "BBB_USDT_PERP")->reason == universe::exclusion_reason::low_volume);
  CHECK(why(sel, "CCC_USDC_PERP")->reason == universe::exclusion_reason::wrong_quote);
  CHECK(why(sel, "DDD_USDT_PERP")->reason == universe::exclusion_reason::not_trading);
  // No venue call for what the static rules exclude; funding only for the survivor.
  CHECK(v.ticker_calls.count("CCC_USDC_PERP") == 0);
  CHECK(v.ticker_calls.count("DDD_USDT_PERP") == 0);
  CHECK(v.funding_calls.count("BBB_USDT_PERP") == 0);
  CHECK(v.funding_calls["AAA_USDT_PERP"] == 1);
  CHECK(v.kline_calls.empty());
}

TEST_CASE("selection estimates a missing 24h quote volume from the 24 newest closed 1h klines") {
  fake_venue v;
  v.instruments = {inst("AAA_USDT_PERP", "0.01")};
  v.tickers["AAA_USDT_PERP"] = tick("AAA_USDT_PERP", "100", std::nullopt);
  auto& k = v.klines["AAA_USDT_PERP"];
  k.push_back(bar(T0 - 25 * H, "1", "1000000"));  // older than the window: ignored
  decimal expect;
  for (int n = 24; n >= 1; --n) {
    const std::string close = std::to_string(100 + n);
    k.push_back(bar(T0 - n * H, close.c_str(), "200"));  // 200 contracts of 0.01 = 2 base
    expect += core::mul(d("2"), d(close.c_str()), core::rounding::half_even);
  }
  k.push_back(bar(T0, "999", "999999"));  // the running bar: not closed at T0
  v.funding["AAA_USDT_PERP"] = d("0");
  const auto sel = marketdata::run_selection(v.source(), settings(), d("1000"), "config", T0, 0);
  REQUIRE(sel.result.selected.size() == 1);
  CHECK(sel.result.selected[0].quote_volume == expect);
  CHECK(sel.volume_source.at("AAA_USDT_PERP") == "klines_1h");
  CHECK(sel.volume_capped.empty());
  REQUIRE(v.queries.size() == 1);
  CHECK(v.queries[0].interval == "1h");
  CHECK(v.queries[0].start == T0 - D);
  CHECK(v.queries[0].end == T0 - 1);

  SECTION("a kline's own quote volume wins over the estimate") {
    for (auto& c : k) c.quote_volume = d("100");
    const auto s2 = marketdata::run_selection(v.source(), settings(), d("1000"), "config", T0, 0);
    REQUIRE(s2.result.selected.size() == 1);
    CHECK(s2.result.selected[0].quote_volume == d("2400"));
  }
  SECTION("a zero quote volume beside a positive base volume counts as missing") {
    v.tickers["AAA_USDT_PERP"].quote_volume = d("0");
    v.tickers["AAA_USDT_PERP"].volume = d("4800");
    const auto s2 = marketdata::run_selection(v.source(), settings(), d("1000"), "config", T0, 0);
    CHECK(s2.volume_source.at("AAA_USDT_PERP") == "klines_1h");
  }
  SECTION("a sum past the decimal range is capped and flagged, not an error") {
    for (auto& c : k) c.volume = d("4000000000");  // 4e9 contracts x 0.01 x ~110 per bar
    const auto s2 = marketdata::run_selection(v.source(), settings(), d("1000"), "config", T0, 0);
    REQUIRE(s2.result.selected.size() == 1);
    CHECK(s2.result.selected[0].quote_volume == decimal::max());
    CHECK(s2.volume_capped.count("AAA_USDT_PERP") == 1);
  }
}

TEST_CASE("selection carries ticker and funding errors into the exclusion detail") {
  fake_venue v;
  v.instruments = {inst("AAA_USDT_PERP", "1"), inst("BBB_USDT_PERP", "1"), inst("CCC_USDT_PERP", "1")};
  v.ticker_errors["AAA_USDT_PERP"] = "poloniex tickers: amt out of range";
  // AAA: the ticker fails, klines give both the volume and the last price.
  v.klines["AAA_USDT_PERP"] = {bar(T0 - H, "50", "100")};
  v.funding["AAA_USDT_PERP"] = d("0.0002");
  // BBB: ticker fails and no klines.
  v.ticker_errors["BBB_USDT_PERP"] = "timeout";
  // CCC: passes everything but funding cannot be had.
  v.tickers["CCC_USDT_PERP"] = tick("CCC_USDT_PERP", "10", "2000");
  const auto sel = marketdata::run_selection(v.source(), settings(), d("10000"), "account", T0, 0);
  REQUIRE(sel.result.selected.size() == 1);
  CHECK(sel.result.selected[0].symbol == "AAA_USDT_PERP");
  CHECK(sel.result.selected[0].quote_volume == d("5000"));
  CHECK(sel.result.selected[0].min_order_notional == d("50"));  // 1 x 1 x the kline close
  const auto* b = why(sel, "BBB_USDT_PERP");
  REQUIRE(b);
  CHECK(b->reason == universe::exclusion_reason::no_ticker);
  CHECK(b->detail.find("timeout") != std::string::npos);
  CHECK(b->detail.find("no closed 1h klines") != std::string::npos);
  const auto* c = why(sel, "CCC_USDT_PERP");
  REQUIRE(c);
  CHECK(c->reason == universe::exclusion_reason::no_funding);
  CHECK(c->detail.find("Please try again later") != std::string::npos);
}

TEST_CASE("selection fails as a whole only when the instrument list cannot be had") {
  fake_venue v;
  auto src = v.source();
  src.instruments = []() -> std::vector<venue::instrument> { throw venue::venue_error(venue::outcome_class::retry, "503"); };
  CHECK_THROWS_AS(marketdata::run_selection(src, settings(), d("100"), "config", T0, 0), venue::venue_error);
}

TEST_CASE("the daily selection is due at refresh_at on the market clock") {
  CHECK(marketdata::next_refresh(T0 - 1, 0) == T0);
  CHECK(marketdata::next_refresh(T0, 0) == T0 + D);
  CHECK(marketdata::next_refresh(T0 + 5 * H, 6 * H) == T0 + 6 * H);
  CHECK(marketdata::next_refresh(T0 + 7 * H, 6 * H) == T0 + D + 6 * H);
  CHECK(marketdata::parse_time_of_day("00:00") == 0);
  CHECK(marketdata::parse_time_of_day("23:59") == 23 * H + 59 * 60'000);
  CHECK_FALSE(marketdata::parse_time_of_day("24:00"));
  CHECK_FALSE(marketdata::parse_time_of_day("7:00"));
  CHECK_FALSE(marketdata::parse_time_of_day("07-00"));
}

TEST_CASE("the universe message lists selected and excluded symbols and passes its schema") {
  fake_venue v;
  v.instruments = {inst("AAA_USDT_PERP", "1"), inst("BBB_USDT_PERP", "1"), inst("CCC_USDT_PERP", "1")};
  v.tickers["AAA_USDT_PERP"] = tick("AAA_USDT_PERP", "10", "5000");
  v.tickers["AAA_USDT_PERP"].bid = d("9.99");
  v.tickers["AAA_USDT_PERP"].ask = d("10.01");
  v.tickers["BBB_USDT_PERP"] = tick("BBB_USDT_PERP", "10", "4000");
  v.tickers["CCC_USDT_PERP"] = tick("CCC_USDT_PERP", "10", std::nullopt);
  v.klines["CCC_USDT_PERP"] = {bar(T0 - H, "10", "30000")};
  v.funding = {{"AAA_USDT_PERP", d("-0.0001")}, {"BBB_USDT_PERP", d("0.0001")}, {"CCC_USDT_PERP", d("0.0001")}};
  auto s = settings();
  s.rules.size = 1;
  const auto sel = marketdata::run_selection(v.source(), s, d("1000"), "config", T0, 0);
  const auto body = marketdata::universe_body("poloniex", "start", md_mode::selected, s.rules, sel,
                                              {"AAA_USDT_PERP", "CCC_USDT_PERP"}, {"CCC_USDT_PERP"});
  const auto cat = bus::catalog::load(POLYTRADE_SOURCE_DIR "/proto");
  INFO(body.dump(2));
  CHECK_FALSE(cat->validate("md.poloniex.universe", body));
  CHECK(core::timestamp::parse_iso8601(body.at("ts").get<std::string>()).millis() == T0);
  REQUIRE(body.at("selected").size() == 1);
  CHECK(body.at("selected")[0].at("symbol") == "CCC_USDT_PERP");  // 300000 estimated, the top volume
  CHECK(body.at("selected")[0].at("volume_source") == "klines_1h");
  CHECK(body.at("selected")[0].at("rank") == 1);
  REQUIRE(body.at("excluded").size() == 2);
  for (const auto& e : body.at("excluded")) CHECK(e.at("reason") == "RANKED_OUT");
  CHECK(body.at("rules").at("size") == 1);
  CHECK(body.at("equity") == "1000");
}
