// The HTML report: monthly returns and drawdown series on hand-built curves (answers worked out
// in the comments), the min/max downsampling, escaping, and what a rendered page must and must
// not contain (self-contained: no script, no link, no URL but the SVG namespace).
#include "backtest/report.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace bt = pt::backtest;
using Catch::Detail::Approx;
using pt::core::decimal;
using pt::core::timestamp;
using namespace std::chrono_literals;

const timestamp t0 = timestamp::parse_iso8601("2024-01-01T00:00:00Z");

decimal d(const char* s) { return decimal::parse(s); }
timestamp at(const char* iso) { return timestamp::parse_iso8601(iso); }

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++n;
  return n;
}

bt::trade_record trade(const char* symbol, int direction, timestamp entry, const char* entry_price, timestamp exit,
                       const char* exit_price, const char* pnl) {
  bt::trade_record t;
  t.symbol = symbol;
  t.direction = direction;
  t.entry_time = entry;
  t.exit_time = exit;
  t.entry_price = d(entry_price);
  t.exit_price = d(exit_price);
  t.qty = d("0.01");
  t.pnl = d(pnl);
  t.fees = d("0.5");
  t.funding = d("0.1");
  t.exit_reason = "take_profit";
  return t;
}

// A small but complete run: 4 daily equity points, one symbol with closes, two trades.
bt::report_input small_input() {
  bt::report_input in;
  in.title = "trend <b>& 'co'";
  in.config = {{"strategy", "trend_following"}, {"symbols", {"BTCUSDT"}}, {"note", "<script>"}};
  in.equity = {{t0, d("10000")}, {t0 + 24h, d("10100")}, {t0 + 48h, d("9999")}, {t0 + 72h, d("10500")}};
  in.trades = {trade("BTCUSDT", 1, t0 + 1h, "42000.5", t0 + 30h, "43000", "9.5"),
               trade("BTCUSDT", -1, t0 + 40h, "43100", t0 + 60h, "43500.25", "-4.25")};
  in.stats = bt::compute_metrics(in.equity, in.trades);
  std::vector<std::pair<timestamp, double>> closes;
  for (int i = 0; i < 72; ++i) closes.emplace_back(t0 + std::chrono::hours(i), 42000.0 + 20.0 * i);
  in.prices = {{"BTCUSDT", closes}};
  in.hash = "0123456789abcdef";
  in.notes = {{"verdict", "promote"}};
  return in;
}

}  // namespace

TEST_CASE("monthly returns of a hand built curve across a year end", "[report]") {
  // Dec 2023: first point 100, last 105          -> 105 / 100 - 1  = +0.05
  // Jan 2024: last 84 (90 in between)            -> 84 / 105 - 1   = -0.20
  // Feb 2024: no point                           -> absent
  // Mar 2024: last 100.8, measured against Jan   -> 100.8 / 84 - 1 = +0.20
  const std::vector<bt::equity_point> curve = {
      {at("2023-12-01T00:00:00Z"), d("100")},         {at("2023-12-31T23:59:59Z"), d("105")},
      {at("2024-01-01T00:00:00Z"), d("90")},          {at("2024-01-31T23:00:00Z"), d("84")},
      {at("2024-03-01T00:00:00Z"), d("95")},          {at("2024-03-31T12:00:00Z"), d("100.8")},
  };
  const auto m = bt::monthly_returns(curve);
  REQUIRE(m.size() == 3);
  CHECK(m[0].year == 2023);
  CHECK(m[0].month == 12);
  CHECK(m[0].ret == Approx(0.05));
  CHECK(m[1].year == 2024);
  CHECK(m[1].month == 1);
  CHECK(m[1].ret == Approx(-0.20));
  CHECK(m[2].year == 2024);
  CHECK(m[2].month == 3);
  CHECK(m[2].ret == Approx(0.20));
}

TEST_CASE("monthly returns of empty and single point curves", "[report]") {
  CHECK(bt::monthly_returns({}).empty());
  const auto one = bt::monthly_returns({{t0, d("100")}});
  REQUIRE(one.size() == 1);
  CHECK(one[0].year == 2024);
  CHECK(one[0].month == 1);
  CHECK(one[0].ret == 0.0);
  // A zero base has no return: that month is skipped and the next is measured from it.
  const auto zero = bt::monthly_returns({{t0, d("0")}, {at("2024-02-10T00:00:00Z"), d("50")}});
  CHECK(zero.empty());
}

TEST_CASE("drawdown series by hand", "[report]") {
  // 100 120 90 150 135: peaks 100 120 120 150 150 -> 0 0 30/120 0 15/150
  const std::vector<bt::equity_point> curve = {
      {t0, d("100")}, {t0 + 1h, d("120")}, {t0 + 2h, d("90")}, {t0 + 3h, d("150")}, {t0 + 4h, d("135")}};
  const auto dd = bt::drawdown_series(curve);
  REQUIRE(dd.size() == 5);
  CHECK(dd[0].first == t0);
  CHECK(dd[4].first == t0 + 4h);
  CHECK(dd[0].second == 0.0);
  CHECK(dd[1].second == 0.0);
  CHECK(dd[2].second == Approx(0.25));
  CHECK(dd[3].second == 0.0);
  CHECK(dd[4].second == Approx(0.1));
  CHECK(bt::drawdown_series({}).empty());
}

TEST_CASE("downsample keeps the global extremes and the end points", "[report]") {
  std::vector<std::pair<double, double>> pts;
  for (int i = 0; i < 100'000; ++i) pts.emplace_back(i, std::sin(i * 0.001));
  pts[31'337].second = -500.0;
  pts[77'777].second = 900.0;
  const auto ds = bt::downsample_minmax(pts, 2000);
  CHECK(ds.size() <= 2000);
  CHECK(ds.size() >= 1000);
  CHECK(ds.front() == pts.front());
  CHECK(ds.back() == pts.back());
  bool has_min = false, has_max = false, increasing = true;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (ds[i] == pts[31'337]) has_min = true;
    if (ds[i] == pts[77'777]) has_max = true;
    if (i > 0 && !(ds[i].first > ds[i - 1].first)) increasing = false;
  }
  CHECK(has_min);
  CHECK(has_max);
  CHECK(increasing);
}

TEST_CASE("downsample leaves short series alone and clamps tiny budgets", "[report]") {
  const std::vector<std::pair<double, double>> pts = {{0, 1}, {1, 5}, {2, -3}, {3, 2}, {4, 0}, {5, 7}, {6, 1}};
  CHECK(bt::downsample_minmax(pts, 10) == pts);
  CHECK(bt::downsample_minmax({}, 10).empty());
  // Budget 0 acts as 4: first, last, and the min and max of the one interior bucket.
  const auto ds = bt::downsample_minmax(pts, 0);
  const std::vector<std::pair<double, double>> expected = {{0, 1}, {2, -3}, {5, 7}, {6, 1}};
  CHECK(ds == expected);
}

TEST_CASE("html escape of the five special characters", "[report]") {
  CHECK(bt::html_escape("a&b<c>\"d'e") == "a&amp;b&lt;c&gt;&quot;d&#39;e");
  CHECK(bt::html_escape("plain text") == "plain text");
  CHECK(bt::html_escape("").empty());
}

TEST_CASE("report of a small run contains every piece", "[report]") {
  const auto in = small_input();
  const std::string html = bt::render_html_report(in);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.ends_with("</html>\n"));
  // title escaped, raw never
  CHECK(html.find("trend &lt;b&gt;&amp; &#39;co&#39;") != std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;") != std::string::npos);  // the config note, escaped
  // one svg per chart: equity, drawdown, BTCUSDT price
  CHECK(count_of(html, "<svg") == 3);
  CHECK(count_of(html, "</svg>") == 3);
  CHECK(html.find(in.hash) != std::string::npos);
  CHECK(html.find("<td>verdict</td>") == std::string::npos);
  CHECK(html.find("<th>verdict</th><td>promote</td>") != std::string::npos);
  // a trade row and both kinds of entry marker
  CHECK(html.find("<td>BTCUSDT</td><td class=\"el\">&#9650; long</td><td>2024-01-01T01:00:00Z</td><td>42000.5</td>") !=
        std::string::npos);
  CHECK(html.find("&#9660; short") != std::string::npos);
  CHECK(count_of(html, "class=\"el\"><title>") == 1);
  CHECK(count_of(html, "class=\"es\"><title>") == 1);
  CHECK(count_of(html, "class=\"tx\"") == 2);
  // every metrics field
  const nlohmann::json fields = bt::to_json(*in.stats);
  for (const auto& [key, v] : fields.items()) {
    INFO(key);
    CHECK(html.find("<tr><th>" + key + "</th>") != std::string::npos);
  }
  // monthly table: one month, 10500 / 10000 - 1
  CHECK(html.find("+5.00%") != std::string::npos);
  // self-contained
  std::string rest = html;
  for (auto pos = rest.find("http://www.w3.org/2000/svg"); pos != std::string::npos;
       pos = rest.find("http://www.w3.org/2000/svg"))
    rest.erase(pos, 26);
  CHECK(rest.find("http://") == std::string::npos);
  CHECK(rest.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("nan") == std::string::npos);
  CHECK(html.find("inf,") == std::string::npos);
  CHECK(html.find(",inf") == std::string::npos);
}

TEST_CASE("report is deterministic", "[report]") {
  const auto in = small_input();
  CHECK(bt::render_html_report(in) == bt::render_html_report(in));
}

TEST_CASE("empty report renders with placeholders", "[report]") {
  const bt::report_input in;
  std::string html;
  REQUIRE_NOTHROW(html = bt::render_html_report(in));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.ends_with("</html>\n"));
  CHECK(html.find("no metrics") != std::string::npos);
  CHECK(count_of(html, "no data") >= 5);  // equity, drawdown, monthly, prices, trades (+ config)
  CHECK(html.find("<svg") == std::string::npos);

  // One equity point, a price series of one point, a symbol with an empty series.
  bt::report_input one;
  one.equity = {{t0, d("100")}};
  one.prices = {{"ETHUSDT", {{t0, 3000.0}}}, {"SOLUSDT", {}}};
  REQUIRE_NOTHROW(html = bt::render_html_report(one));
  CHECK(count_of(html, "<svg") == 3);
  CHECK(html.find("nan") == std::string::npos);
  CHECK(html.find("inf,") == std::string::npos);
  CHECK(html.find(",inf") == std::string::npos);

  // Trades without any price series get a chart of markers.
  bt::report_input orphan;
  orphan.trades = {trade("XRPUSDT", -1, t0, "0.5", t0 + 1h, "0.4", "1")};
  REQUIRE_NOTHROW(html = bt::render_html_report(orphan));
  CHECK(count_of(html, "<svg") == 1);
  CHECK(html.find("<h3>XRPUSDT</h3>") != std::string::npos);
}

TEST_CASE("stability heatmap cells are coloured and infeasible ones grey", "[report]") {
  bt::report_input in;
  in.stability = bt::report_input::heatmap{
      "fast", "slow", {10, 20, 30}, {50, 100}, {{1.25, std::nullopt, 0.5}, {-0.75, 2.0}}};  // last cell missing
  const std::string html = bt::render_html_report(in);
  CHECK(html.find("Parameter stability") != std::string::npos);
  CHECK(count_of(html, "class=\"infeasible\"") == 2);
  CHECK(html.find(">1.25</td>") != std::string::npos);
  CHECK(html.find(">-0.75</td>") != std::string::npos);
  CHECK(html.find("hsl(0,") != std::string::npos);                           // the worst: red
  CHECK(html.find("hsl(120,65%,72%)\" class=\"best\">2</td>") != std::string::npos);  // the best
  CHECK(html.find("slow \\ fast") != std::string::npos);
  CHECK(bt::render_html_report(bt::report_input{}).find("Parameter stability") == std::string::npos);
}

TEST_CASE("trade list is capped at 500 rows", "[report]") {
  bt::report_input in;
  for (int i = 0; i < 620; ++i)
    in.trades.push_back(trade("BTCUSDT", i % 2 == 0 ? 1 : -1, t0 + std::chrono::hours(2 * i), "100",
                              t0 + std::chrono::hours(2 * i + 1), "101", "1"));
  const std::string html = bt::render_html_report(in);
  CHECK(html.find("<tr><td>500</td>") != std::string::npos);
  CHECK(html.find("<tr><td>501</td>") == std::string::npos);
  CHECK(html.find("&#8230; 120 more trades not shown") != std::string::npos);
}

TEST_CASE("report of a 100000 point curve stays small", "[report]") {
  bt::report_input in;
  in.title = "long curve";
  std::vector<std::pair<timestamp, double>> closes;
  for (int i = 0; i < 100'000; ++i) {
    const double v = 10000.0 + 500.0 * std::sin(i * 0.0005);
    in.equity.push_back({t0 + std::chrono::minutes(i), decimal::from_units(static_cast<std::int64_t>(v * 1e9))});
    closes.emplace_back(t0 + std::chrono::minutes(i), 40000.0 + v);
  }
  in.equity[40'000].equity = d("20000");
  in.equity[60'000].equity = d("5000");
  in.prices = {{"BTCUSDT", closes}};
  in.stats = bt::compute_metrics(in.equity, in.trades);
  const std::string html = bt::render_html_report(in);
  CHECK(html.size() < 1'000'000);
  CHECK(count_of(html, "<svg") == 3);
  // The equity polyline still reaches the global max and min. y range [5000, 20000] padded by 5 %
  // each side over a 256 px plot area from y = 14: max at 14 + 256 * 0.05 / 1.1 = 25.6,
  // min at 14 + 256 * 1.05 / 1.1 = 258.4.
  const auto poly = html.find("<polyline");
  REQUIRE(poly != std::string::npos);
  const std::string points = html.substr(poly, html.find("/>", poly) - poly);
  CHECK(points.find(",25.6 ") != std::string::npos);
  CHECK(points.find(",258.4 ") != std::string::npos);
  // The drawdown caption names the deepest point: 1 - 5000 / 20000.
  CHECK(html.find("max drawdown -75.00%") != std::string::npos);
}

TEST_CASE("one year of hourly equity renders compactly", "[report]") {
  bt::report_input in;
  in.title = "trend_following BTCUSDT 1h 2024";
  std::vector<std::pair<timestamp, double>> closes;
  double e = 10000.0;
  for (int i = 0; i < 24 * 366; ++i) {
    e *= 1.0 + 0.002 * std::sin(i * 0.37) + 0.0001;
    in.equity.push_back({t0 + std::chrono::hours(i), decimal::from_units(static_cast<std::int64_t>(e * 1e6) * 1000)});
    closes.emplace_back(t0 + std::chrono::hours(i), 40000.0 + 4000.0 * std::sin(i * 0.01));
  }
  for (int i = 0; i < 300; ++i)
    in.trades.push_back(trade("BTCUSDT", i % 3 == 0 ? -1 : 1, t0 + std::chrono::hours(29 * i), "40000",
                              t0 + std::chrono::hours(29 * i + 10), "40100", i % 2 == 0 ? "12" : "-7"));
  in.stats = bt::compute_metrics(in.equity, in.trades);
  in.prices = {{"BTCUSDT", closes}};
  in.hash = bt::trade_list_hash(in.trades);
  const std::string html = bt::render_html_report(in);
  CAPTURE(html.size());
  CHECK(html.size() < 500'000);
  CHECK(count_of(html, "<tr><th>2024</th>") == 1);  // one row of the monthly table
}
