// Walk-forward: the windows by hand, and a short walk-forward of the trend strategy on recorded
// BTCUSDT 1h (skipped with a WARN without ../shared/data): out-of-sample trades only inside their
// fold's test window, each fold's choice the best of its own train search, chained equity, and
// the same result twice.
#include "backtest/walkforward.hpp"

#include "replay/data_files.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

namespace pt::backtest::test {

namespace {

using core::timestamp;
using namespace std::chrono_literals;

timestamp day(int n) { return timestamp::from_millis(1735689600000LL + n * 86400000LL); }  // day 0 = 2025-01-01

std::optional<std::string> data_dir() {
  const auto dir = replay::find_data_dir(std::filesystem::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir || !std::filesystem::exists(*dir / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) return std::nullopt;
  return dir->string();
}

walkforward_config trend_config() {
  walkforward_config w;
  w.base.symbols = {"BTCUSDT"};
  w.base.base_timeframe = "1h";
  w.base.seed = 7;
  w.space = {{"initial_stop_atr", 1.5, 3.0, false}, {"take_profit_atr", 2.0, 5.0, false}};
  w.params_of = [](const point& x) {
    strategy::trend_following_params p;
    p.initial_stop_atr = x[0];
    p.take_profit_atr = x[1];
    return strategy::any_params{p};
  };
  w.train = std::chrono::hours(24 * 60);
  w.test = std::chrono::hours(24 * 30);
  w.warmup = std::chrono::hours(24 * 30);
  w.method = search_method::random;
  w.budget = 4;
  w.seed = 11;
  w.min_trades = 1;
  w.max_drawdown = 0.5;
  return w;
}

}  // namespace

TEST_CASE("plan_folds lays the train and test windows out by hand") {
  // Data days 0..200, warm-up 10 d, train 60 d, test 30 d: train starts at 10, 40, 70, 100;
  // the next would test [190 + 30) = 220 > 200 and is left out.
  walkforward_config w;
  w.warmup = std::chrono::hours(24 * 10);
  w.train = std::chrono::hours(24 * 60);
  w.test = std::chrono::hours(24 * 30);
  const auto folds = plan_folds(w, day(0), day(200));
  REQUIRE(folds.size() == 4);
  for (std::size_t k = 0; k < folds.size(); ++k) {
    const int s = 10 + 30 * static_cast<int>(k);
    CHECK(folds[k].train_start == day(s));
    CHECK(folds[k].train_end == day(s + 60));
    CHECK(folds[k].test_start == day(s + 60));
    CHECK(folds[k].test_end == day(s + 90));
    if (k > 0) CHECK(folds[k].test_start == folds[k - 1].test_end);  // out-of-sample windows tile the time
  }
  w.first_start = day(150);
  CHECK_THROWS_AS(plan_folds(w, day(0), day(200)), std::invalid_argument);  // 150 + 90 > 200
}

TEST_CASE("constrained_sharpe refuses a run outside the drawdown and win-rate limits") {
  walkforward_config w;
  w.max_drawdown = 0.2;
  w.min_win_rate = 0.5;
  w.min_trades = 2;
  engine_result r;
  metrics m;
  m.sharpe = 1.3;
  m.trades = 4;
  m.win_rate = 0.5;
  m.max_drawdown = 0.2;
  r.stats = m;
  CHECK(constrained_sharpe(r, w) == 1.3);  // on every limit: still feasible
  r.stats->max_drawdown = 0.21;
  CHECK_FALSE(constrained_sharpe(r, w));
  r.stats->max_drawdown = 0.1;
  r.stats->win_rate = 0.49;
  CHECK_FALSE(constrained_sharpe(r, w));
  r.stats->win_rate = 0.6;
  r.stats->trades = 1;
  CHECK_FALSE(constrained_sharpe(r, w));
  r.stats->trades = 2;
  r.stats->sharpe.reset();
  CHECK_FALSE(constrained_sharpe(r, w));
}

TEST_CASE("walk-forward of the trend strategy on BTCUSDT 1h: out-of-sample only and reproducible") {
  const auto dir = data_dir();
  if (!dir) {
    WARN("../shared/data is absent: recorded-data test skipped");
    return;
  }
  auto w = trend_config();
  auto data = load_recorded(w.base, *dir, std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json",
                            "freqtrade_marketlab");
  for (auto& s : data) {  // 2025-01-01 .. 2025-07-01: three folds
    std::vector<replay::bar> keep;
    for (const auto& b : s.bars)
      if (b.open_time_ms >= day(0).millis() && b.open_time_ms < day(181).millis()) keep.push_back(b);
    s.bars = std::move(keep);
  }
  const auto r = run_walkforward(w, data);
  REQUIRE(r.folds.size() == 3);
  std::size_t trades = 0, chosen = 0;
  for (const auto& f : r.folds) {
    CHECK(f.trials == 4);
    if (f.best.empty()) continue;
    ++chosen;
    // The choice is what its train window says: re-running it there gives the recorded objective.
    auto c = w.base;
    c.params = w.params_of(f.best);
    c.start = f.train_start;
    c.end = f.train_end;
    CHECK(constrained_sharpe(run_backtest(c, data), w) == f.train_objective);
    trades += f.test_trades;
  }
  CHECK(chosen > 0);
  CHECK(r.oos_trades.size() == trades);
  // Every out-of-sample trade was entered inside a test window (never in the train window that chose it).
  for (const auto& t : r.oos_trades) {
    bool inside = false;
    for (const auto& f : r.folds)
      inside = inside || (!f.best.empty() && t.entry_time >= f.test_start && t.entry_time < f.test_end);
    CHECK(inside);
  }
  for (std::size_t i = 1; i < r.oos_equity.size(); ++i) CHECK(r.oos_equity[i - 1].at < r.oos_equity[i].at);
  const auto again = run_walkforward(w, data);
  CHECK(again.oos_hash == r.oos_hash);
  REQUIRE(again.folds.size() == r.folds.size());
  for (std::size_t k = 0; k < r.folds.size(); ++k) CHECK(again.folds[k].best == r.folds[k].best);
  WARN("walk-forward BTCUSDT 1h 2025-01..06: " << r.oos_trades.size() << " out-of-sample trades, hash " << r.oos_hash
                                               << ", end equity "
                                               << (r.oos_equity.empty() ? std::string("-") : r.oos_equity.back().equity.to_string()));
}

TEST_CASE("walk-forward with nothing feasible trades nothing out of sample") {
  const auto dir = data_dir();
  if (!dir) {
    WARN("../shared/data is absent: recorded-data test skipped");
    return;
  }
  auto w = trend_config();
  w.min_trades = 1000;  // no train window can pass
  w.budget = 2;
  auto data = load_recorded(w.base, *dir, std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json",
                            "freqtrade_marketlab");
  for (auto& s : data) {
    std::vector<replay::bar> keep;
    for (const auto& b : s.bars)
      if (b.open_time_ms >= day(0).millis() && b.open_time_ms < day(121).millis()) keep.push_back(b);
    s.bars = std::move(keep);
  }
  const auto r = run_walkforward(w, data);
  REQUIRE_FALSE(r.folds.empty());
  for (const auto& f : r.folds) {
    CHECK(f.best.empty());
    CHECK_FALSE(f.train_objective);
  }
  CHECK(r.oos_trades.empty());
  CHECK(r.oos_equity.empty());
  CHECK_FALSE(r.oos_stats);
}

}  // namespace pt::backtest::test
