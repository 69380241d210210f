// signal_engine without NATS: md.bar payloads in, the messages to publish out. Expected ids come
// from the contracts (/tmp/contracts "Ids": <strategy>-<symbol>-<tf>-<bar open ms>, -p, -x) with
// the open times written out by hand; stops from a naive ATR loop here; payloads are checked
// against proto/schemas with the bus's schema catalog.
#include "engine.hpp"
#include "helpers.hpp"
#include "strategy/params.hpp"

#include <cmath>
#include <set>

using namespace pt::signal_service;
using namespace pt::signal_service::test;
namespace st = pt::strategy;

namespace {

constexpr std::int64_t T0 = 1735689600000;  // 2025-01-01T00:00:00Z

st::any_params params(const std::string& name) {
  return st::load_params_file(std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/" + name + ".v1.json");
}

signal_engine make_engine(const std::vector<std::string>& strategies, std::vector<std::string> symbols = {"BTCUSDT"}) {
  engine_config c;
  c.venue = "sim";
  c.symbols = std::move(symbols);
  for (const auto& s : strategies) c.strategies.push_back(params(s));
  return signal_engine(std::move(c));
}

// 4h closes alternating 100 / 101 (even i: 100), range +-0.5 around open/close: highs <= 101.5,
// lows >= 99.5, so no breakout while it lasts.
std::vector<rec_bar> alternating(int n) {
  std::vector<rec_bar> out;
  double prev = 101;
  for (int i = 0; i < n; ++i) {
    const double c = i % 2 == 0 ? 100 : 101;
    out.push_back(make_rec("4h", T0 + i * 4 * H, prev, std::max(prev, c) + 0.5, std::min(prev, c) - 0.5, c));
    prev = c;
  }
  return out;
}

// Wilder ATR(n) by a plain loop (TA-Lib seeding: mean of the first n true ranges from bar 2).
double naive_atr(const std::vector<rec_bar>& bars, int n) {
  std::vector<double> tr;
  for (std::size_t i = 1; i < bars.size(); ++i) {
    const double h = bars[i].high.to_double(), l = bars[i].low.to_double(), pc = bars[i - 1].close.to_double();
    tr.push_back(std::max({h - l, std::fabs(h - pc), std::fabs(l - pc)}));
  }
  double atr = 0;
  for (int i = 0; i < n; ++i) atr += tr[static_cast<std::size_t>(i)];
  atr /= n;
  for (std::size_t i = static_cast<std::size_t>(n); i < tr.size(); ++i) atr = (atr * (n - 1) + tr[i]) / n;
  return atr;
}

std::vector<outbound> feed(signal_engine& e, const std::vector<rec_bar>& bars, bool backfilled = false,
                           const std::string& symbol = "BTCUSDT") {
  std::vector<outbound> last;
  for (const auto& b : bars) last = e.on_bar_message(bar_json("sim", symbol, b, backfilled));
  return last;
}

const outbound* find(const std::vector<outbound>& v, outbound::kind k) {
  for (const auto& m : v)
    if (m.k == k) return &m;
  return nullptr;
}

std::string schema_of(const outbound& m) {
  return m.k == outbound::kind::signal ? "signal.json" : m.k == outbound::kind::proposal ? "trade.proposed.json" : "trade.exit.json";
}

nlohmann::json position_json(const std::string& side, const std::string& qty, const std::string& entry, std::int64_t ts_ms) {
  return {{"venue", "sim"},          {"symbol", "BTCUSDT"},     {"side", side},
          {"qty", qty},              {"entry_price", entry},    {"unrealized_pnl", "0"},
          {"realized_pnl", "0"},     {"ts", timestamp::from_millis(ts_ms).to_iso8601()}};
}

}  // namespace

TEST_CASE("a live breakout bar publishes its signal and a proposal with the contract ids", "[engine]") {
  auto e = make_engine({"breakout"});
  auto bars = alternating(30);
  REQUIRE(find(feed(e, bars), outbound::kind::proposal) == nullptr);
  bars.push_back(make_rec("4h", T0 + 30 * 4 * H, 101, 103.5, 100.5, 103));
  const auto out = feed(e, {bars.back()});
  REQUIRE(out.size() == 2);

  const auto* sig = find(out, outbound::kind::signal);
  REQUIRE(sig);
  CHECK(sig->subject == "signal.breakout.btcusdt");
  CHECK_FALSE(sig->jetstream());
  // Open 2025-01-06T00:00:00Z = 1735689600000 + 30 * 14400000.
  CHECK(sig->body["signal_id"] == "breakout-BTCUSDT-4h-1736121600000");
  CHECK(sig->body["direction"] == "long");
  CHECK(sig->body["timeframe"] == "4h");
  CHECK(sig->body["features"].contains("reason"));
  CHECK(timestamp::parse_iso8601(sig->body["ts"].get<std::string>()) == timestamp::parse_iso8601("2025-01-06T04:00:00Z"));
  CHECK(validate("signal.json", sig->body) == "");

  const auto* p = find(out, outbound::kind::proposal);
  REQUIRE(p);
  CHECK(p->subject == "trade.proposed");
  CHECK(p->jetstream());
  CHECK(p->msg_id == "breakout-BTCUSDT-4h-1736121600000-p");
  CHECK(p->body["proposal_id"] == p->msg_id);
  CHECK(p->body["signal_id"] == "breakout-BTCUSDT-4h-1736121600000");
  CHECK(p->body["correlation_id"] == "breakout-BTCUSDT-4h-1736121600000");
  CHECK(p->body["side"] == "buy");
  CHECK(p->body["entry_price"] == "103");
  CHECK(decimal::parse(p->body["stop_loss"].get<std::string>()).to_double() == Approx(103 - 2 * naive_atr(bars, 14)).epsilon(1e-9));
  CHECK(timestamp::parse_iso8601(p->body["ts"].get<std::string>()) == timestamp::parse_iso8601("2025-01-06T04:00:00Z"));
  CHECK(validate("trade.proposed.json", p->body) == "");
  CHECK(e.counters().proposals == 1);
}

TEST_CASE("history bars warm the strategies but never publish", "[engine]") {
  auto breakout_bar = make_rec("4h", T0 + 30 * 4 * H, 101, 103.5, 100.5, 103);

  SECTION("backfilled: true") {
    auto e = make_engine({"breakout"});
    (void)feed(e, alternating(30));
    const auto signals = e.counters().signals;  // the live series made flat signals
    CHECK(signals > 0);
    CHECK(feed(e, {breakout_bar}, true).empty());
    CHECK(e.counters().bars_history == 1);
    CHECK(e.counters().signals == signals);
    CHECK(e.counters().proposals == 0);
  }
  SECTION("behind the newest market time (another symbol's later bar came first)") {
    auto e = make_engine({"breakout"}, {"BTCUSDT", "ETHUSDT"});
    (void)feed(e, alternating(30));
    // ETHUSDT's bar of the next period closed already: BTC's breakout bar is behind the edge.
    (void)feed(e, {make_rec("4h", T0 + 31 * 4 * H, 10, 11, 9, 10)}, false, "ETHUSDT");
    CHECK(feed(e, {breakout_bar}).empty());
    CHECK(e.counters().proposals == 0);
  }
  SECTION("history warms: a backfilled series then a live breakout proposes") {
    auto e = make_engine({"breakout"});
    CHECK(feed(e, alternating(30), true).empty());
    CHECK(e.counters().bars_history == 30);
    CHECK(e.counters().bars_live == 0);
    const auto out = feed(e, {breakout_bar});
    REQUIRE(find(out, outbound::kind::proposal));
    CHECK(find(out, outbound::kind::proposal)->msg_id == "breakout-BTCUSDT-4h-1736121600000-p");
  }
  SECTION("a bar closing at the same instant as the newest is at the live edge") {
    auto e = make_engine({"breakout"});
    (void)feed(e, alternating(30));
    // A 1h bar closing at the same instant as the breakout bar (04:00) came first: still live.
    (void)e.on_bar_message(bar_json("sim", "BTCUSDT", make_rec("1h", T0 + 30 * 4 * H + 3 * H, 101, 102, 100, 101)));
    CHECK(find(feed(e, {breakout_bar}), outbound::kind::proposal) != nullptr);
  }
}

TEST_CASE("re-published bars are dropped and the ids are deterministic", "[engine]") {
  auto bars = alternating(30);
  bars.push_back(make_rec("4h", T0 + 30 * 4 * H, 101, 103.5, 100.5, 103));
  auto a = make_engine({"breakout", "mean_reversion"});
  auto b = make_engine({"breakout", "mean_reversion"});
  const auto out_a = feed(a, bars);
  const auto out_b = feed(b, bars);
  REQUIRE(out_a.size() == out_b.size());
  for (std::size_t i = 0; i < out_a.size(); ++i) {
    CHECK(out_a[i].subject == out_b[i].subject);
    CHECK(out_a[i].msg_id == out_b[i].msg_id);
    CHECK(out_a[i].body == out_b[i].body);
  }
  // The same bars again (a marketdata restart, a redelivery): nothing reaches the strategies.
  CHECK(feed(a, bars).empty());
  CHECK(a.counters().bars_duplicate == bars.size());
  CHECK(a.counters().proposals == 1);
  CHECK(a.counters().bad == 0);
}

TEST_CASE("a held position gets its exit request on trade.exit", "[engine]") {
  auto e = make_engine({"breakout"});
  auto bars = alternating(30);  // lows >= 99.5
  (void)feed(e, bars);
  const auto entry_bar = make_rec("4h", T0 + 30 * 4 * H, 100, 100.5, 97.5, 98);
  auto out = feed(e, {entry_bar});
  const auto* p = find(out, outbound::kind::proposal);
  REQUIRE(p);
  CHECK(p->body["side"] == "sell");
  CHECK(decimal::parse(p->body["stop_loss"].get<std::string>()) > decimal::parse("98"));  // a short's stop is above

  const auto pos = position_json("short", "1", "98", entry_bar.close_ms);
  REQUIRE(validate("exec.position.json", pos) == "");
  e.on_position_message(pos);
  CHECK(e.counters().positions == 1);
  // A close above the previous 10 bars' high (101.5) exits the short (turtle channel).
  const auto exit_bar = make_rec("4h", T0 + 31 * 4 * H, 98, 102.5, 98, 102);
  out = feed(e, {exit_bar});
  const auto* x = find(out, outbound::kind::exit);
  REQUIRE(x);
  CHECK(x->subject == "trade.exit");
  CHECK(x->jetstream());
  // Open 1735689600000 + 31 * 14400000 = 1736136000000.
  CHECK(x->msg_id == "breakout-BTCUSDT-4h-1736136000000-x");
  CHECK(x->body["exit_id"] == x->msg_id);
  CHECK(x->body["correlation_id"] == "breakout-BTCUSDT-4h-1736121600000");  // the entry's chain
  CHECK(x->body["kind"] == "close");
  CHECK(validate("trade.exit.json", x->body) == "");
}

TEST_CASE("a flat position report means no exit", "[engine]") {
  auto e = make_engine({"breakout"});
  (void)feed(e, alternating(30));
  const auto entry_bar = make_rec("4h", T0 + 30 * 4 * H, 100, 100.5, 97.5, 98);
  (void)feed(e, {entry_bar});
  e.on_position_message(position_json("short", "1", "98", entry_bar.close_ms));
  e.on_position_message(position_json("flat", "0", "0", entry_bar.close_ms + 1000));
  const auto out = feed(e, {make_rec("4h", T0 + 31 * 4 * H, 98, 102.5, 98, 102)});
  CHECK(find(out, outbound::kind::exit) == nullptr);
  // An older report redelivered after the newer one does not reopen the position.
  e.on_position_message(position_json("short", "1", "98", entry_bar.close_ms));
  CHECK(e.counters().ignored == 1);
}

TEST_CASE("bad messages are refused, counted, and the engine goes on", "[engine]") {
  auto e = make_engine({"breakout"});
  const auto good = bar_json("sim", "BTCUSDT", make_rec("4h", T0, 100, 101, 99, 100));
  std::vector<nlohmann::json> bad;
  bad.push_back(nlohmann::json::array());
  auto j = good; j.erase("close"); bad.push_back(j);
  j = good; j["close"] = "1e5"; bad.push_back(j);
  j = good; j["close"] = 100; bad.push_back(j);  // a number, not a decimal string
  j = good; j["high"] = "98"; bad.push_back(j);   // high < low
  j = good; j["close_ts"] = "2025-01-01T05:00:00Z"; bad.push_back(j);  // not open + 4h
  j = good; j["open_ts"] = "yesterday"; bad.push_back(j);
  j = good; j["tf"] = "2h"; bad.push_back(j);
  for (const auto& b : bad) CHECK_THROWS_AS(e.on_bar_message(b), input_error);
  CHECK_THROWS_AS(e.on_funding_message({{"venue", "sim"}, {"symbol", "BTCUSDT"}, {"ts", "x"}, {"rate", "0.0001"}}), input_error);
  auto pos = position_json("sideways", "1", "98", T0);
  CHECK_THROWS_AS(e.on_position_message(pos), input_error);
  CHECK(e.counters().bad == bad.size() + 2);

  // Not ours: ignored, not bad.
  j = good; j["venue"] = "binance"; CHECK(e.on_bar_message(j).empty());
  j = good; j["symbol"] = "ETHUSDT"; CHECK(e.on_bar_message(j).empty());
  j = good; j["closed"] = false; CHECK(e.on_bar_message(j).empty());
  CHECK(e.counters().ignored == 3);
  CHECK(e.counters().bars_live + e.counters().bars_history == 0);

  // Still works: the breakout series proposes as in the first case.
  auto bars = alternating(30);
  bars.push_back(make_rec("4h", T0 + 30 * 4 * H, 101, 103.5, 100.5, 103));
  CHECK(find(feed(e, bars), outbound::kind::proposal) != nullptr);
}

TEST_CASE("recorded BTCUSDT: trend_following proposes at the live edge only, every payload valid", "[engine][data]") {
  if (!have_btc_data()) {
    WARN("SKIP: no BTCUSDT_1h.csv / BTCUSDT_1d.csv under " << data_dir() << " (set POLYTRADE_DATA)");
    return;
  }
  const auto bars = recorded_btc();
  REQUIRE(bars.size() > 2000);
  std::map<std::int64_t, decimal> close_4h;
  for (const auto& b : bars)
    if (b.tf == "4h") close_4h[b.open_ms] = b.close;

  // Live: every bar at its close, as marketdata publishes in real time. A minimal execution: a
  // proposal opens a position at its entry price, a close exit ends it (so exits are made too).
  auto e = make_engine({"trend_following"});
  std::set<std::string> proposal_ids;
  std::size_t exits = 0, signals = 0;
  bool held = false;
  for (const auto& b : bars) {
    for (const auto& m : e.on_bar_message(bar_json("sim", "BTCUSDT", b))) {
      INFO(m.body.dump());
      CHECK(validate(schema_of(m), m.body) == "");
      if (m.k == outbound::kind::signal) {
        ++signals;
        CHECK(m.body["signal_id"] == "trend_following-BTCUSDT-" + b.tf + "-" + std::to_string(b.open_ms));
      } else if (m.k == outbound::kind::proposal) {
        CHECK(m.msg_id == "trend_following-BTCUSDT-4h-" + std::to_string(b.open_ms) + "-p");
        CHECK(proposal_ids.insert(m.msg_id).second);
        const auto entry = decimal::parse(m.body["entry_price"].get<std::string>());
        const auto stop = decimal::parse(m.body["stop_loss"].get<std::string>());
        CHECK(entry == close_4h.at(b.open_ms));  // the recorded 4h close
        if (m.body["side"] == "buy") CHECK(stop < entry);
        else CHECK(stop > entry);
        if (!held) {
          held = true;
          e.on_position_message(position_json(m.body["side"] == "buy" ? "long" : "short", "1",
                                               m.body["entry_price"].get<std::string>(), b.close_ms));
        }
      } else {
        ++exits;
        CHECK(m.msg_id == "trend_following-BTCUSDT-4h-" + std::to_string(b.open_ms) + "-x");
        if (m.body["kind"] == "close" && held) {
          held = false;
          e.on_position_message(position_json("flat", "0", "0", b.close_ms));
        }
      }
    }
  }
  CHECK(e.counters().bad == 0);
  CHECK(signals > 100);
  CHECK(!proposal_ids.empty());
  CHECK(exits > 0);
  WARN("recorded BTCUSDT 2025: " << proposal_ids.size() << " proposals, " << exits << " exits, " << signals << " signals");

  // The same year as history (marketdata's backfill): it warms, publishes nothing.
  auto h = make_engine({"trend_following"});
  for (const auto& b : bars) CHECK(h.on_bar_message(bar_json("sim", "BTCUSDT", b, true)).empty());
  CHECK(h.counters().bars_history == bars.size());
  CHECK(h.counters().proposals == 0);
}
