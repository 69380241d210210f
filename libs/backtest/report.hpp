#pragma once
// A self-contained HTML report of one backtest: one file, no script, no external font, style
// sheet or image (the only URL in it is the SVG namespace). Drawn, top to bottom:
//
//   header   title, trade list hash, free key/value notes (e.g. a promotion verdict);
//   metrics  every field of `metrics`, as to_json spells it (or a "no metrics" line);
//   equity   the equity curve (inline SVG polyline);
//   drawdown the underwater curve: fraction below the running peak, filled down from 0;
//   monthly  year rows x month columns (+ the compounded year), cells green / red by sign,
//            stronger with the magnitude;
//   prices   one chart per symbol: closes as a line, every trade marked (entry triangle up for a
//            long, down for a short, in distinct colours; exit circle; a dashed entry -> exit
//            line, green for a win, red otherwise);
//   stability an objective heatmap over two parameters, when given (infeasible cells grey);
//   trades   the trade list (first 500 rows, then a "... N more" line);
//   config   the run's config as indented JSON.
//
// Long series are downsampled before they become SVG (downsample_minmax): the points are cut
// into buckets and each bucket keeps its lowest and highest point, in time order, plus the very
// first and last points. A line through them has the same envelope as the full series, so the
// global extremes (the deepest drawdown, the equity peak, a price spike) survive exactly, while
// a year of 1m bars still draws with ~2000 vertices instead of half a million.
//
// Empty inputs render a valid page with "no data" placeholders. Output is deterministic: no
// clock, no locale, no unordered container; numbers go through fixed printf formats.
#include "backtest/metrics.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pt::backtest {

struct report_input {
  std::string title;       // e.g. "trend_following BTCUSDT 1h 2025"
  nlohmann::json config;   // echoed in a <pre> block (the run's config)
  std::optional<metrics> stats;  // the metrics table; absent => "no metrics" line
  std::vector<equity_point> equity;  // in time order
  std::vector<trade_record> trades;
  // Price series per symbol for the "trades marked on price" chart: (time, close) points in time
  // order. Trades of a symbol without a series get a chart of their own (markers only).
  std::vector<std::pair<std::string, std::vector<std::pair<core::timestamp, double>>>> prices;
  std::string hash;  // trade list hash, printed
  // Parameter-stability map: a grid of objective values over two parameters.
  struct heatmap {
    std::string x_name, y_name;
    std::vector<double> xs, ys;
    std::vector<std::vector<std::optional<double>>> values;  // values[iy][ix]; nullopt = infeasible
  };
  std::optional<heatmap> stability;
  std::vector<std::pair<std::string, std::string>> notes;  // extra key/value lines
};

// The whole page (UTF-8, ends with "</html>\n"). Never throws for empty or partial input.
[[nodiscard]] std::string render_html_report(const report_input& in);

// One calendar month (UTC) of the equity curve.
struct monthly_return {
  int year;
  int month;   // 1..12
  double ret;  // fraction: 0.05 = +5 %
};

// Month's last equity / previous month's last equity - 1; the first month is measured against the
// curve's first point. Months without a point are absent (the next month is measured against the
// last month that has one). A month whose base equity is <= 0 is skipped (no return exists).
// The curve must be in time order.
[[nodiscard]] std::vector<monthly_return> monthly_returns(const std::vector<equity_point>& equity);

// (time, fraction below the running peak), one per curve point, >= 0 (0 at every new peak and
// while the peak is <= 0).
[[nodiscard]] std::vector<std::pair<core::timestamp, double>> drawdown_series(
    const std::vector<equity_point>& equity);

// At most max(max_points, 4) points of (x, y) `points` (in x order), in the same order: the first
// and last point, and the lowest and highest y of each of (max_points - 2) / 2 equal-count
// buckets of the interior. The global minimum and maximum y are always among them. Returned
// unchanged when already short enough.
[[nodiscard]] std::vector<std::pair<double, double>> downsample_minmax(
    const std::vector<std::pair<double, double>>& points, std::size_t max_points);

// & < > " ' as entities; everything else byte for byte.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace pt::backtest
