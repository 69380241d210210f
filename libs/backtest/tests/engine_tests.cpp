// The event-driven engine. Synthetic tests (adverse-first, fees and funding) build bars in memory
// with a one-tick book so every fill price is known by hand; the recorded-data tests (determinism,
// look-ahead) replay BTCUSDT 1h from ../shared/data/freqtrade_marketlab ($POLYTRADE_DATA wins)
// and skip with a WARN when the data is absent.
#include "backtest/engine.hpp"

#include "replay/data_files.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>

namespace pt::backtest::test {

namespace {

using core::decimal;
using core::timestamp;

decimal d(const char* s) { return decimal::parse(s); }

constexpr std::int64_t hour = 3600LL * 1000;
constexpr std::int64_t t0 = 1704067200000;  // 2024-01-01T00:00:00Z

venue::instrument test_instrument() {
  venue::instrument i;
  i.symbol = "TESTUSDT";
  i.base = "TEST";
  i.quote = i.settle = "USDT";
  i.tick = d("0.1");
  i.lot = d("0.001");
  i.min_qty = d("0.001");
  i.min_notional = d("5");
  i.max_leverage = 20;
  i.maintenance_margin_rate = d("0.005");
  i.maker_fee = d("0.0002");
  i.taker_fee = d("0.0005");
  return i;
}

replay::bar mk(std::int64_t open_ms, const char* o, const char* h, const char* l, const char* c) {
  return replay::bar{open_ms, d(o), d(h), d(l), d(c), decimal::zero(), std::nullopt, std::nullopt};
}

// What the scripted strategy does at a bar close (keyed by the close time in ms).
struct action {
  enum { go_long, go_short, close } what = go_long;
  decimal entry, stop;
  std::optional<decimal> tp;
};

class scripted final : public pt::strategy::strategy {
 public:
  explicit scripted(std::map<std::int64_t, action> script) : script_(std::move(script)) {}
  std::string_view name() const override { return "scripted"; }
  std::vector<pt::strategy::output> on_bar(const pt::strategy::bar& b, pt::strategy::timeframe tf, timestamp now) override {
    if (tf != pt::strategy::timeframe::h1) return {};
    const auto it = script_.find(now.millis());
    if (it == script_.end()) return {};
    pt::strategy::output o;
    o.signal.ts = now;
    o.signal.price = b.close;
    const action& a = it->second;
    if (a.what == action::close) {
      if (!in_position_) return {};
      o.exit = pt::strategy::exit_request{pt::strategy::exit_kind::close, pt::strategy::exit_reason::signal_exit, std::nullopt, "script"};
    } else {
      pt::strategy::trade_proposal p;
      p.s = a.what == action::go_long ? pt::strategy::side::buy : pt::strategy::side::sell;
      p.entry_price = a.entry;
      p.stop_loss = a.stop;
      p.take_profit = a.tp;
      p.ts = now;
      o.proposal = p;
    }
    return {o};
  }
  void on_position(const std::optional<pt::strategy::position>& p, timestamp) override { in_position_ = p.has_value(); }
  void on_funding(double, timestamp) override {}
  void on_model(const std::optional<pt::strategy::model_prediction>&) override {}
  void on_news(const std::optional<pt::strategy::news_risk>&) override {}

 private:
  std::map<std::int64_t, action> script_;
  bool in_position_ = false;
};

engine_config synthetic_config(std::map<std::int64_t, action> script) {
  engine_config cfg;
  cfg.symbols = {"TESTUSDT"};
  cfg.base_timeframe = "1h";
  cfg.book = book_model::tick_spread;
  cfg.slippage_bps = decimal::zero();
  cfg.run_checklist = false;
  cfg.factory = [script](const pt::strategy::context&, const std::vector<symbol_data>&) {
    return std::make_unique<scripted>(script);
  };
  return cfg;
}

symbol_data synthetic(std::vector<replay::bar> bars, std::vector<replay::funding_point> funding = {}) {
  return symbol_data{"TESTUSDT", std::move(bars), std::move(funding), test_instrument()};
}

// ---- recorded data ----

std::optional<std::string> data_dir() {
  const auto dir = replay::find_data_dir(std::filesystem::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir || !std::filesystem::exists(*dir / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) return std::nullopt;
  return dir->string();
}

#define NEED_RECORDED_DATA()                                         \
  const auto dir = data_dir();                                       \
  if (!dir) {                                                        \
    WARN("../shared/data is absent: recorded-data test skipped");   \
    return;                                                          \
  }

const std::string catalog = std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json";

// BTCUSDT 1h, 2025-01-01 .. 2025-05-01 (bars after that are dropped), trading from 2025-02-01.
engine_config btc_config() {
  engine_config cfg;
  cfg.symbols = {"BTCUSDT"};
  cfg.base_timeframe = "1h";
  cfg.start = timestamp::parse_iso8601("2025-02-01T00:00:00Z");
  cfg.end = timestamp::parse_iso8601("2025-05-01T00:00:00Z");
  cfg.params = pt::strategy::trend_following_params{};
  cfg.seed = 7;
  return cfg;
}

std::vector<symbol_data> btc_data(const std::string& dir, const engine_config& cfg) {
  auto data = load_recorded(cfg, dir, catalog, "freqtrade_marketlab");
  // Keep only the test window (plus nothing earlier than 2025): the run stays short.
  for (auto& s : data) {
    std::vector<replay::bar> keep;
    for (const auto& b : s.bars)
      if (b.open_time_ms >= timestamp::parse_iso8601("2025-01-01T00:00:00Z").millis() &&
          b.open_time_ms < cfg.end->millis())
        keep.push_back(b);
    s.bars = std::move(keep);
  }
  return data;
}

// Deliberately cheats: reads the next bar's close from the data the engine was given.
class peeker final : public pt::strategy::strategy {
 public:
  explicit peeker(const std::vector<symbol_data>& data) : data_(data) {}
  std::string_view name() const override { return "peeker"; }
  std::vector<pt::strategy::output> on_bar(const pt::strategy::bar& b, pt::strategy::timeframe tf, timestamp now) override {
    if (tf != pt::strategy::timeframe::h1) return {};
    const auto& bars = data_.front().bars;
    std::optional<decimal> next;
    for (std::size_t k = 0; k + 1 < bars.size(); ++k)
      if (bars[k].open_time_ms == b.open_time.millis()) next = bars[k + 1].close;
    if (!next) return {};
    pt::strategy::output o;
    o.signal.ts = now;
    if (in_position_) {
      o.exit = pt::strategy::exit_request{pt::strategy::exit_kind::close, pt::strategy::exit_reason::signal_exit, std::nullopt,
                                      "next close " + next->to_string()};
    } else {
      pt::strategy::trade_proposal p;
      p.s = *next > b.close ? pt::strategy::side::buy : pt::strategy::side::sell;
      p.entry_price = *next;  // the future, as the reference price
      p.stop_loss = *next > b.close ? core::mul(b.close, d("0.98"), core::rounding::half_even)
                                    : core::mul(b.close, d("1.02"), core::rounding::half_even);
      p.ts = now;
      o.proposal = p;
    }
    return {o};
  }
  void on_position(const std::optional<pt::strategy::position>& p, timestamp) override { in_position_ = p.has_value(); }
  void on_funding(double, timestamp) override {}
  void on_model(const std::optional<pt::strategy::model_prediction>&) override {}
  void on_news(const std::optional<pt::strategy::news_risk>&) override {}

 private:
  const std::vector<symbol_data>& data_;
  bool in_position_ = false;
};

}  // namespace

TEST_CASE("engine: one bar touching stop and take-profit closes a long at the stop", "[backtest][engine]") {
  // Decision at the close of bar 0 (t0 + 1h): long, reference 100, stop 95, take-profit 105.
  // Entry at bar 1's open (100): buys at the ask 100.1. Bar 2 spans 94..106, touching both; the
  // long walks it low first (O 100 -> L 94 -> H 106 -> C 100), so the stop (sell trigger 95)
  // fires at 94 and sells at the bid 93.9. High first would have sold at 105.9.
  const auto cfg = synthetic_config({{t0 + hour, {action::go_long, d("100"), d("95"), d("105")}}});
  const auto data = synthetic({mk(t0, "100", "100", "100", "100"), mk(t0 + hour, "100", "100", "100", "100"),
                               mk(t0 + 2 * hour, "100", "106", "94", "100"), mk(t0 + 3 * hour, "100", "100", "100", "100")});
  const auto r = run_backtest(cfg, {data});
  REQUIRE(r.trades.size() == 1);
  const auto& t = r.trades.front();
  CHECK(t.direction == 1);
  CHECK(t.entry_price == d("100.1"));
  CHECK(t.exit_reason == "stop_loss");
  CHECK(t.exit_price == d("93.9"));
  // Risk 1 % of 10000 = 100 over a stop distance of 5: 20 units.
  CHECK(t.qty == d("20"));
  CHECK(t.exit_time == timestamp::from_millis(t0 + 2 * hour + hour / 3));
}

TEST_CASE("engine: one bar touching stop and take-profit closes a short at the stop", "[backtest][engine]") {
  // Mirror: short at bar 1's open sells at the bid 99.9; bar 2 walks high first for a short and
  // the buy stop (trigger 105) fires at 106, buying at the ask 106.1.
  const auto cfg = synthetic_config({{t0 + hour, {action::go_short, d("100"), d("105"), d("95")}}});
  const auto data = synthetic({mk(t0, "100", "100", "100", "100"), mk(t0 + hour, "100", "100", "100", "100"),
                               mk(t0 + 2 * hour, "100", "106", "94", "100"), mk(t0 + 3 * hour, "100", "100", "100", "100")});
  const auto r = run_backtest(cfg, {data});
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades.front().direction == -1);
  CHECK(r.trades.front().entry_price == d("99.9"));
  CHECK(r.trades.front().exit_reason == "stop_loss");
  CHECK(r.trades.front().exit_price == d("106.1"));
}

TEST_CASE("engine: fees and funding of a long match the hand computation", "[backtest][engine]") {
  // Long decided at t0+1h (reference 100, stop 90: qty = 100 / 10 = 10), bought at bar 1's open
  // at the ask 100.1. Funding 0.0001 at t0+2h on the mark 100 (bar 1's close): the long pays
  // 10 x 100 x 0.0001 = 0.1. Close decided at t0+3h, sold at bar 3's open (110) at the bid 109.9.
  //   gross   = (109.9 - 100.1) x 10                = 98
  //   fees    = 0.0005 x (1001 + 1099)              = 1.05
  //   pnl     = 98 - 1.05 - 0.1                     = 96.85
  const std::vector<replay::bar> bars{mk(t0, "100", "100", "100", "100"), mk(t0 + hour, "100", "100", "100", "100"),
                                      mk(t0 + 2 * hour, "100", "100", "100", "100"),
                                      mk(t0 + 3 * hour, "110", "110", "110", "110"),
                                      mk(t0 + 4 * hour, "110", "110", "110", "110")};
  const std::vector<replay::funding_point> funding{{t0 + 2 * hour, d("0.0001"), std::nullopt}};
  auto cfg = synthetic_config({{t0 + hour, {action::go_long, d("100"), d("90"), std::nullopt}},
                               {t0 + 3 * hour, {action::close, {}, {}, std::nullopt}}});
  SECTION("no extra slippage") {
    const auto r = run_backtest(cfg, {synthetic(bars, funding)});
    REQUIRE(r.trades.size() == 1);
    const auto& t = r.trades.front();
    CHECK(t.qty == d("10"));
    CHECK(t.entry_price == d("100.1"));
    CHECK(t.exit_price == d("109.9"));
    CHECK(t.fees == d("1.05"));
    CHECK(t.funding == d("0.1"));
    CHECK(t.pnl == d("96.85"));
    CHECK(t.exit_reason == "signal_exit");
    CHECK(r.end_equity == d("10096.85"));
  }
  SECTION("10 bp slippage on both taker fills") {
    // + 0.001 x (1001 + 1099) = 2.1 more cost: fees 3.15, pnl 94.75.
    cfg.slippage_bps = d("10");
    const auto r = run_backtest(cfg, {synthetic(bars, funding)});
    REQUIRE(r.trades.size() == 1);
    CHECK(r.trades.front().fees == d("3.15"));
    CHECK(r.trades.front().pnl == d("94.75"));
    CHECK(r.end_equity == d("10094.75"));
  }
  SECTION("fee rates from the config override the instrument") {
    // taker 0.001: fees 2.1, pnl 98 - 2.1 - 0.1 = 95.8.
    cfg.taker_fee = d("0.001");
    const auto r = run_backtest(cfg, {synthetic(bars, funding)});
    REQUIRE(r.trades.size() == 1);
    CHECK(r.trades.front().fees == d("2.1"));
    CHECK(r.trades.front().pnl == d("95.8"));
  }
}

TEST_CASE("engine: a short receives positive funding", "[backtest][engine]") {
  // Short decided at t0+1h (reference 100, stop 120: qty = 100 / 20 = 5), sold at the bid 99.9.
  // Funding 0.0001 at t0+2h on the mark 100: the short receives 5 x 100 x 0.0001 = 0.05.
  // Closed at bar 3's open (110): bought at the ask 110.1.
  //   gross = (99.9 - 110.1) x 5 = -51; fees = 0.0005 x (499.5 + 550.5) = 0.525
  //   pnl   = -51 - 0.525 + 0.05 = -51.475
  const std::vector<replay::bar> bars{mk(t0, "100", "100", "100", "100"), mk(t0 + hour, "100", "100", "100", "100"),
                                      mk(t0 + 2 * hour, "100", "100", "100", "100"),
                                      mk(t0 + 3 * hour, "110", "110", "110", "110"),
                                      mk(t0 + 4 * hour, "110", "110", "110", "110")};
  const auto cfg = synthetic_config({{t0 + hour, {action::go_short, d("100"), d("120"), std::nullopt}},
                                     {t0 + 3 * hour, {action::close, {}, {}, std::nullopt}}});
  const auto r = run_backtest(cfg, {synthetic(bars, {{t0 + 2 * hour, d("0.0001"), std::nullopt}})});
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades.front().qty == d("5"));
  CHECK(r.trades.front().fees == d("0.525"));
  CHECK(r.trades.front().funding == d("-0.05"));
  CHECK(r.trades.front().pnl == d("-51.475"));
}

TEST_CASE("engine: latency delays the fill to the first path point after it", "[backtest][engine]") {
  // 30 min latency: the entry decided at t0+1h reaches the core at bar 1's first extreme
  // (t0+1h+20min is before it; t0+1h+40min is the next point). Bar 1: O 100 H 102 L 99 C 101;
  // flat at the open: the nearest extreme first (H, 2 away vs L, 1 away -> L first): L at 20 min,
  // H at 40 min. The buy fills at 102 + 0.1 = 102.1.
  auto cfg = synthetic_config({{t0 + hour, {action::go_long, d("100"), d("90"), std::nullopt}}});
  cfg.latency_ms = 30 * 60 * 1000;
  cfg.close_at_end = true;
  const auto r = run_backtest(cfg, {synthetic({mk(t0, "100", "100", "100", "100"),
                                               mk(t0 + hour, "100", "102", "99", "101"),
                                               mk(t0 + 2 * hour, "101", "101", "101", "101")})});
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades.front().entry_price == d("102.1"));
  CHECK(r.trades.front().entry_time == timestamp::from_millis(t0 + hour + 2 * (hour / 3)));
  CHECK(r.trades.front().exit_reason == "end_of_data");
}

TEST_CASE("engine: same data and seed give the same trades on BTCUSDT 1h", "[backtest][engine][recorded]") {
  NEED_RECORDED_DATA();
  const auto cfg = btc_config();
  const auto data = btc_data(*dir, cfg);
  const auto a = run_backtest(cfg, data);
  const auto b = run_backtest(cfg, data);
  CHECK(a.trades.size() > 0);
  CHECK(a.hash == b.hash);
  CHECK(canonical_trade_text(a.trades) == canonical_trade_text(b.trades));
  CHECK(a.decisions == b.decisions);
  CHECK(a.end_equity == b.end_equity);
  REQUIRE(a.stats.has_value());
  CHECK(a.stats->trades == static_cast<int>(a.trades.size()));
  // One equity point per traded base bar: Feb 1 .. May 1 2025 is 89 days.
  CHECK(a.equity.size() == 89u * 24u);
  WARN("BTCUSDT 1h trend_following 2025-02-01..2025-05-01: trades " << a.trades.size() << " hash " << a.hash
                                                                     << " net pnl " << a.stats->net_pnl.to_string()
                                                                     << " end equity " << a.end_equity.to_string());
}

TEST_CASE("engine: decisions up to t do not change when the data after t does", "[backtest][engine][recorded]") {
  NEED_RECORDED_DATA();
  const auto cfg = btc_config();
  const auto data = btc_data(*dir, cfg);
  const timestamp t = timestamp::parse_iso8601("2025-03-20T12:00:00Z");
  const auto altered = alter_after(data, t, d("1.5"));
  REQUIRE(altered.front().bars.back().close != data.front().bars.back().close);
  const auto rep = check_lookahead(cfg, data, altered, t);
  INFO(rep.first_difference);
  CHECK(rep.identical);
  CHECK(rep.compared_decisions > 0);
}

TEST_CASE("engine: a strategy that peeks at the next bar fails the look-ahead check", "[backtest][engine][recorded]") {
  NEED_RECORDED_DATA();
  auto cfg = btc_config();
  cfg.factory = [](const pt::strategy::context&, const std::vector<symbol_data>& data) {
    return std::make_unique<peeker>(data);
  };
  const auto data = btc_data(*dir, cfg);
  const timestamp t = timestamp::parse_iso8601("2025-03-20T12:00:00Z");
  const auto rep = check_lookahead(cfg, data, alter_after(data, t, d("1.5")), t);
  CHECK_FALSE(rep.identical);
  CHECK_FALSE(rep.first_difference.empty());
}


TEST_CASE("engine: the consecutive-loss breaker halts entries for its cooldown and then lets them resume", "[backtest][engine]") {
  // Every entry loses: each bar opens at 100 and dips to 98 before closing at 100, and the
  // script goes long at every close with a stop at 99. The risk service's rules then say: a
  // 4 h cooldown after every loss, a 4 h halt after 3 in a row (the streak resets after it), a
  // 24 h halt after 5 within 24 h. Entries must therefore resume after each halt: a streak
  // counter that only a win resets would stop trading for good after the third loss.
  std::vector<replay::bar> bars;
  std::vector<replay::funding_point> funding;
  std::map<std::int64_t, action> script;
  for (std::int64_t k = 0; k < 200; ++k) {
    bars.push_back(mk(t0 + k * hour, "100", "100.5", "98", "100"));
    script[t0 + (k + 1) * hour] = action{action::go_long, d("100"), d("99"), std::nullopt};
    if (k % 8 == 0) funding.push_back({t0 + k * hour, d("0.0001"), std::nullopt});
  }
  auto cfg = synthetic_config(script);
  cfg.run_checklist = true;
  cfg.risk_percent = d("0.5");  // three losses stay under the 3 % daily-loss breaker
  cfg.start = timestamp::from_millis(t0 + 60 * hour);  // 14 closed 4h bars for the ATR first
  const auto r = run_backtest(cfg, {synthetic(bars, funding)});
  REQUIRE(r.trades.size() > 5);
  for (const auto& t : r.trades) CHECK(t.pnl.is_negative());
  // No entry inside a cooldown: consecutive trades are >= 4 h apart (entry to previous exit).
  for (std::size_t k = 1; k < r.trades.size(); ++k)
    CHECK(r.trades[k].entry_time - r.trades[k - 1].exit_time >= std::chrono::hours(4));
  bool streak_refusal = false, window_refusal = false;
  for (const auto& dr : r.decisions) {
    streak_refusal |= dr.kind == "reject" && dr.text.find("CONSECUTIVE_LOSSES") != std::string::npos;
    window_refusal |= dr.kind == "reject" && dr.text.find("LOSSES_24H") != std::string::npos;
  }
  CHECK(streak_refusal);
  CHECK(window_refusal);
  // The trade after the sixth loss comes at least 24 h after the fifth one's exit.
  CHECK(r.trades[5].entry_time - r.trades[4].exit_time >= std::chrono::hours(24));
}

}  // namespace pt::backtest::test
