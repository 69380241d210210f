// Universe selection, seed 004 §6: each filter by hand, at its boundary, and the ranking.
#include "universe/universe.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace pt;
using core::decimal;
using universe::exclusion_reason;

namespace {

decimal d(const char* s) { return decimal::parse(s); }

venue::instrument inst(const std::string& sym, const char* min_qty = "0.001", const char* ct = "1") {
  venue::instrument i;
  i.symbol = sym;
  i.base = sym.substr(0, 3);
  i.quote = "USDT";
  i.settle = "USDT";
  i.contract_size = d(ct);
  i.tick = d("0.1");
  i.lot = d(min_qty);
  i.min_qty = d(min_qty);
  return i;
}

venue::ticker tick(const std::string& sym, const char* last, const char* qv) {
  venue::ticker t;
  t.symbol = sym;
  t.last = d(last);
  t.quote_volume = d(qv);
  return t;
}

// A $100 account at 5x: the smallest order may cost 100 x 5 x 0.012 = $6 (§6 3b).
universe::universe_input base() {
  universe::universe_input in;
  in.equity = d("100");
  in.max_leverage = 5;
  return in;
}

const universe::excluded_symbol* why(const universe::universe& u, const std::string& sym) {
  for (const auto& e : u.excluded)
    if (e.symbol == sym) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("the top symbols by volume that pass every filter are selected, best first") {
  auto in = base();
  for (const auto& [s, v] : std::vector<std::pair<std::string, const char*>>{
           {"AAAUSDT", "60000000"}, {"BBBUSDT", "900000000"}, {"CCCUSDT", "70000000"}}) {
    in.instruments.push_back(inst(s));
    in.tickers.push_back(tick(s, "100", v));
    in.funding[s] = d("0.0001");
  }
  universe::universe_config cfg;
  cfg.size = 2;
  const auto u = select_universe(cfg, in);
  REQUIRE(u.selected.size() == 2);
  CHECK(u.selected[0].symbol == "BBBUSDT");
  CHECK(u.selected[1].symbol == "CCCUSDT");
  CHECK(u.selected[0].min_order_notional == d("0.1"));  // 0.001 x 1 x 100
  REQUIRE(u.excluded.size() == 1);
  CHECK(u.excluded[0].symbol == "AAAUSDT");
  CHECK(u.excluded[0].reason == exclusion_reason::ranked_out);
}

TEST_CASE("each filter excludes at its boundary with its reason") {
  auto in = base();
  auto add = [&](const std::string& s, const char* last, const char* qv, std::optional<const char*> funding,
                 const char* min_qty = "0.001", const char* ct = "1") {
    in.instruments.push_back(inst(s, min_qty, ct));
    in.tickers.push_back(tick(s, last, qv));
    if (funding) in.funding[s] = d(*funding);
  };
  add("VOLOKUSDT", "100", "50000000", "0.0001");          // exactly the threshold: in
  add("VOLLOWUSDT", "100", "49999999.99", "0.0001");      // a cent under: out
  add("FITOKUSDT", "6000", "60000000", "0.0001");         // 0.001 x 6000 = $6 = the budget: in
  add("FITBIGUSDT", "6000.1", "60000000", "0.0001");      // $6.0001: out
  add("CTSIZEUSDT", "70", "60000000", "0.0001", "1", "0.1");  // Poloniex-style: 1 contract x 0.1 x 70 = $7: out
  add("FUNDOKUSDT", "100", "60000000", "-0.000999");      // |f| just under 0.1 %: in
  add("FUNDHIUSDT", "100", "60000000", "-0.001");         // at the cap: out
  add("NOFUNDUSDT", "100", "60000000", std::nullopt);     // unknown funding: out, never assumed 0
  auto halted = inst("HALTUSDT");
  halted.status = venue::instrument_status::close_only;
  in.instruments.push_back(halted);
  in.tickers.push_back(tick("HALTUSDT", "100", "999999999"));
  auto coin = inst("BTCUSD");
  coin.quote = "USD";
  in.instruments.push_back(coin);
  in.instruments.push_back(inst("NOTICKUSDT"));
  universe::universe_config cfg;
  cfg.size = 10;
  const auto u = select_universe(cfg, in);
  std::set<std::string> sel;
  for (const auto& s : u.selected) sel.insert(s.symbol);
  CHECK(sel == std::set<std::string>{"VOLOKUSDT", "FITOKUSDT", "FUNDOKUSDT"});
  CHECK(why(u, "VOLLOWUSDT")->reason == exclusion_reason::low_volume);
  CHECK(why(u, "FITBIGUSDT")->reason == exclusion_reason::order_too_large);
  CHECK(why(u, "CTSIZEUSDT")->reason == exclusion_reason::order_too_large);
  CHECK(why(u, "FUNDHIUSDT")->reason == exclusion_reason::extreme_funding);
  CHECK(why(u, "NOFUNDUSDT")->reason == exclusion_reason::no_funding);
  CHECK(why(u, "HALTUSDT")->reason == exclusion_reason::not_trading);
  CHECK(why(u, "BTCUSD")->reason == exclusion_reason::wrong_quote);
  CHECK(why(u, "NOTICKUSDT")->reason == exclusion_reason::no_ticker);
  CHECK(u.selected.size() + u.excluded.size() == in.instruments.size());
  CHECK(std::string(to_string(exclusion_reason::order_too_large)) == "ORDER_TOO_LARGE");
}

TEST_CASE("a venue minimum notional counts, and a bigger account fits more") {
  auto in = base();
  auto i = inst("MNUSDT");
  i.min_notional = d("5");  // Binance's MIN_NOTIONAL filter
  in.instruments.push_back(i);
  in.tickers.push_back(tick("MNUSDT", "100", "60000000"));
  in.funding["MNUSDT"] = d("0");
  CHECK(universe::min_order_notional(i, d("100")) == d("5"));
  universe::universe_config cfg;
  cfg.min_order_fit = d("0.009");  // $100 x 5 x 0.009 = $4.5 < $5
  CHECK(why(select_universe(cfg, in), "MNUSDT")->reason == exclusion_reason::order_too_large);
  in.equity = d("112");  // 112 x 5 x 0.009 = $5.04
  CHECK(select_universe(cfg, in).selected.size() == 1);
}

TEST_CASE("only the top candidates by volume are considered, and a wide spread ranks last") {
  auto in = base();
  for (int k = 0; k < 5; ++k) {
    const std::string s = "S" + std::to_string(k) + "USDT";
    in.instruments.push_back(inst(s));
    auto t = tick(s, "100", std::to_string(100'000'000 - k * 1'000'000).c_str());
    t.bid = d("99.99");
    t.ask = d("100.01");  // spread 0.02 / 100 = 0.0002
    if (k == 0) t.bid = d("99.8");  // (100.01 - 99.8) / 99.905 = 0.0021 > 0.001
    in.tickers.push_back(t);
    in.funding[s] = d("0");
  }
  universe::universe_config cfg;
  cfg.candidates = 4;
  cfg.size = 3;
  const auto u = select_universe(cfg, in);
  REQUIRE(u.selected.size() == 3);
  CHECK(u.selected[0].symbol == "S1USDT");  // S0 has the most volume but a wide spread
  CHECK(u.selected[1].symbol == "S2USDT");
  CHECK(u.selected[2].symbol == "S3USDT");
  CHECK(why(u, "S0USDT")->reason == exclusion_reason::ranked_out);
  CHECK(why(u, "S4USDT")->reason == exclusion_reason::not_a_candidate);  // 5th by volume
  REQUIRE(u.selected[0].spread);
  CHECK(*u.selected[0].spread == d("0.0002"));
}
