// The HTML report writer (report.hpp). Everything is appended to one std::string; numbers go
// through printf formats with fixed precision (the "C" locale: this library never sets one), so
// the same input gives the same bytes. Charts are inline SVG built here; no script anywhere.
#include "backtest/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

namespace pt::backtest {

namespace {

constexpr std::size_t max_polyline_points = 2000;  // per series, after downsample_minmax
constexpr std::size_t max_trade_rows = 500;        // trade list table
constexpr std::size_t max_marked_trades = 1000;    // markers per price chart

constexpr std::int64_t ns_per_day = 86'400'000'000'000LL;

// Appends printf-formatted text (any length).
[[gnu::format(printf, 2, 3)]] void put(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<std::size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<std::size_t>(n));
    return;
  }
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<std::size_t>(n));
  out += big;
}

// `digits` significant digits ("%.*g"); "n/a" for NaN / infinity.
std::string general(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  std::string s;
  put(s, "%.*g", digits, v + 0.0);  // + 0.0: no "-0"
  return s;
}

// Signed percentage with `digits` decimals: 0.0512 -> "+5.12%".
std::string percent(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  std::string s;
  const double p = v * 100.0 + 0.0;
  if (p == 0.0)
    put(s, "%.*f%%", digits, 0.0);
  else
    put(s, "%+.*f%%", digits, p);
  return s;
}

double seconds_of(core::timestamp t) { return static_cast<double>(t.nanos()) / 1e9; }

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

core::civil civil_of(core::timestamp t) { return core::civil_from_days(floor_div(t.nanos(), ns_per_day)); }

// ISO-8601 from core::timestamp::to_iso8601, with the fraction's trailing zeros (and a zero
// fraction altogether) dropped: "2024-01-15T10:30:00Z", "2024-01-15T10:30:00.25Z".
std::string time_text(core::timestamp t) {
  std::string s = t.to_iso8601();
  const auto dot = s.find('.');
  if (dot == std::string::npos) return s;
  std::size_t end = s.size() - 1;  // the 'Z'
  std::size_t last = end;
  while (last > dot + 1 && s[last - 1] == '0') --last;
  if (last == dot + 1) last = dot;  // all zeros: drop the '.'
  return s.substr(0, last) + s.substr(end);
}

// Axis label for a time given as seconds since the epoch.
std::string date_label(double secs, bool with_time) {
  if (!std::isfinite(secs) || std::abs(secs) > 1.0e10) return "";
  const auto s = static_cast<std::int64_t>(std::floor(secs));
  const std::int64_t days = floor_div(s, 86'400);
  const std::int64_t sod = s - days * 86'400;
  const core::civil c = core::civil_from_days(days);
  std::string out;
  if (with_time)
    put(out, "%02u-%02u %02lld:%02lld", c.month, c.day, static_cast<long long>(sod / 3600),
        static_cast<long long>((sod / 60) % 60));
  else
    put(out, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
  return out;
}

const char* const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// ---------------------------------------------------------------------------------------------
// SVG charts

enum class y_labels { number, percent };

// Pixel mapping of one chart: data ranges [x0, x1] x [y0, y1] (non-empty) into the plot area.
struct plot {
  int w = 960, h = 280;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  static constexpr double left = 78, right = 14, top = 14, bottom = 30;
  [[nodiscard]] double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  [[nodiscard]] double py(double y) const { return top + (y1 - y) / (y1 - y0) * (h - top - bottom); }
};

// A usable range from [lo, hi]: a degenerate one is opened around its value, a proper one padded
// by `pad` of its width on both sides.
void widen(double& lo, double& hi, double pad) {
  if (!(hi > lo) || !std::isfinite(hi - lo)) {
    const double d = std::abs(lo) > 0 ? std::abs(lo) * 0.01 : 1.0;
    lo -= d;
    hi += d;
    return;
  }
  const double d = (hi - lo) * pad;
  lo -= d;
  hi += d;
}

void svg_open(std::string& out, const plot& p, std::string_view label) {
  put(out,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
      "height=\"%d\" role=\"img\" aria-label=\"",
      p.w, p.h, p.w, p.h);
  out += html_escape(label);
  out += "\">\n";
}

// Frame, horizontal grid with y labels, x labels (dates) at five positions.
void svg_axes(std::string& out, const plot& p, y_labels kind) {
  put(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" stroke=\"#bbb\"/>\n",
      plot::left, plot::top, p.w - plot::left - plot::right, p.h - plot::top - plot::bottom);
  for (int i = 0; i <= 4; ++i) {
    const double v = p.y0 + (p.y1 - p.y0) * i / 4.0;
    const double y = p.py(v);
    put(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", plot::left, y,
        p.w - plot::right, y);
    const std::string text = kind == y_labels::percent ? percent(v, 1) : general(v, 6);
    put(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%s</text>\n", plot::left - 6, y + 4, text.c_str());
  }
  const bool with_time = (p.x1 - p.x0) < 3 * 86'400.0;
  for (int i = 0; i <= 4; ++i) {
    const double v = p.x0 + (p.x1 - p.x0) * i / 4.0;
    const char* anchor = i == 0 ? "start" : i == 4 ? "end" : "middle";
    put(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"xl\" text-anchor=\"%s\">%s</text>\n", p.px(v), p.h - 10.0,
        anchor, date_label(v, with_time).c_str());
  }
}

void svg_points(std::string& out, const plot& p, const std::vector<std::pair<double, double>>& pts) {
  bool first = true;
  for (const auto& [x, y] : pts) {
    put(out, first ? "%.1f,%.1f" : " %.1f,%.1f", p.px(x), p.py(y));
    first = false;
  }
}

void nodata(std::string& out) { out += "<p class=\"nodata\">no data</p>\n"; }

// Finite points only (a NaN would poison ranges and paths).
std::vector<std::pair<double, double>> finite_only(std::vector<std::pair<double, double>> pts) {
  std::erase_if(pts, [](const auto& q) { return !std::isfinite(q.first) || !std::isfinite(q.second); });
  return pts;
}

void range_of(const std::vector<std::pair<double, double>>& pts, double& x0, double& x1, double& y0, double& y1) {
  for (const auto& [x, y] : pts) {
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, y);
    y1 = std::max(y1, y);
  }
}

constexpr double inf = std::numeric_limits<double>::infinity();

void equity_chart(std::string& out, const std::vector<equity_point>& equity) {
  std::vector<std::pair<double, double>> pts;
  pts.reserve(equity.size());
  for (const auto& e : equity) pts.emplace_back(seconds_of(e.at), e.equity.to_double());
  pts = finite_only(std::move(pts));
  if (pts.empty()) return nodata(out);
  const auto ds = downsample_minmax(pts, max_polyline_points);
  plot p;
  p.h = 300;
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  range_of(ds, x0, x1, y0, y1);
  widen(x0, x1, 0.0);
  widen(y0, y1, 0.05);
  p.x0 = x0, p.x1 = x1, p.y0 = y0, p.y1 = y1;
  svg_open(out, p, "equity curve");
  svg_axes(out, p, y_labels::number);
  out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.3\" points=\"";
  svg_points(out, p, ds);
  out += "\"/>\n</svg>\n";
  put(out, "<p class=\"cap\">%zu points", equity.size());
  if (ds.size() < pts.size()) put(out, " (drawn: %zu, min/max per bucket)", ds.size());
  out += "</p>\n";
}

void drawdown_chart(std::string& out, const std::vector<equity_point>& equity) {
  const auto dd = drawdown_series(equity);
  std::vector<std::pair<double, double>> pts;
  pts.reserve(dd.size());
  for (const auto& [t, v] : dd) pts.emplace_back(seconds_of(t), -v);
  pts = finite_only(std::move(pts));
  if (pts.empty()) return nodata(out);
  const auto ds = downsample_minmax(pts, max_polyline_points);
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  range_of(ds, x0, x1, y0, y1);
  std::size_t deepest = 0;  // first point of the deepest drawdown
  for (std::size_t i = 1; i < dd.size(); ++i)
    if (dd[i].second > dd[deepest].second) deepest = i;
  widen(x0, x1, 0.0);
  plot p;
  p.h = 220;
  p.x0 = x0, p.x1 = x1;
  p.y0 = y0 < 0 ? y0 * 1.05 : -0.01;
  p.y1 = 0;
  svg_open(out, p, "drawdown");
  svg_axes(out, p, y_labels::percent);
  put(out, "<polygon fill=\"#d62728\" fill-opacity=\"0.3\" stroke=\"#d62728\" stroke-width=\"1\" points=\"%.1f,%.1f ",
      p.px(ds.front().first), p.py(0));
  svg_points(out, p, ds);
  put(out, " %.1f,%.1f\"/>\n</svg>\n", p.px(ds.back().first), p.py(0));
  out += "<p class=\"cap\">max drawdown " + percent(-dd[deepest].second, 2) + " at " +
         time_text(dd[deepest].first) + "</p>\n";
}

void price_chart(std::string& out, const std::string& symbol, const std::vector<std::pair<core::timestamp, double>>* series,
                 const std::vector<const trade_record*>& trades) {
  std::vector<std::pair<double, double>> pts;
  if (series != nullptr) {
    pts.reserve(series->size());
    for (const auto& [t, v] : *series) pts.emplace_back(seconds_of(t), v);
  }
  pts = finite_only(std::move(pts));
  const auto ds = downsample_minmax(pts, max_polyline_points);
  const std::size_t marked = std::min(trades.size(), max_marked_trades);
  // (entry, exit) positions of the marked trades
  std::vector<std::pair<double, double>> ends;
  for (std::size_t i = 0; i < marked; ++i) {
    ends.emplace_back(seconds_of(trades[i]->entry_time), trades[i]->entry_price.to_double());
    ends.emplace_back(seconds_of(trades[i]->exit_time), trades[i]->exit_price.to_double());
  }
  out += "<h3>" + html_escape(symbol) + "</h3>\n";
  if (ds.empty() && ends.empty()) return nodata(out);
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  range_of(ds, x0, x1, y0, y1);
  range_of(finite_only(ends), x0, x1, y0, y1);
  widen(x0, x1, 0.0);
  widen(y0, y1, 0.05);
  plot p;
  p.h = 320;
  p.x0 = x0, p.x1 = x1, p.y0 = y0, p.y1 = y1;
  svg_open(out, p, "price " + symbol);
  svg_axes(out, p, y_labels::number);
  if (!ds.empty()) {
    out += "<polyline fill=\"none\" stroke=\"#555\" stroke-width=\"1\" points=\"";
    svg_points(out, p, ds);
    out += "\"/>\n";
  }
  std::string lines, exits, entries;
  for (std::size_t i = 0; i < marked; ++i) {
    const auto [ex, ey] = ends[2 * i];
    const auto [xx, xy] = ends[2 * i + 1];
    if (!std::isfinite(ex) || !std::isfinite(ey) || !std::isfinite(xx) || !std::isfinite(xy)) continue;
    const double ax = p.px(ex), ay = p.py(ey), bx = p.px(xx), by = p.py(xy);
    const trade_record& t = *trades[i];
    put(lines, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>\n", ax, ay, bx, by,
        t.pnl.is_positive() ? "tw" : "tl");
    put(exits, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" class=\"tx\"/>\n", bx, by);
    if (t.direction < 0)
      put(entries, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" class=\"es\">", ax, ay + 6, ax + 5, ay - 4, ax - 5,
          ay - 4);
    else
      put(entries, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" class=\"el\">", ax, ay - 6, ax + 5, ay + 4, ax - 5,
          ay + 4);
    entries += "<title>" + std::string(t.direction < 0 ? "short " : "long ") + time_text(t.entry_time) + " @ " +
               t.entry_price.to_string() + " &#8594; " + time_text(t.exit_time) + " @ " + t.exit_price.to_string() +
               " pnl " + t.pnl.to_string() + "</title></path>\n";
  }
  out += lines;
  out += exits;
  out += entries;
  put(out,
      "<text x=\"%.1f\" y=\"%.1f\" class=\"lg\"><tspan class=\"el\">&#9650; long entry</tspan>  "
      "<tspan class=\"es\">&#9660; short entry</tspan>  <tspan>&#9675; exit</tspan></text>\n",
      plot::left + 8, plot::top + 14);
  out += "</svg>\n";
  put(out, "<p class=\"cap\">%zu closes", pts.size());
  if (ds.size() < pts.size()) put(out, " (drawn: %zu, min/max per bucket)", ds.size());
  put(out, ", %zu trades", trades.size());
  if (marked < trades.size()) put(out, " (first %zu marked)", marked);
  out += "</p>\n";
}

// ---------------------------------------------------------------------------------------------
// Tables

void metrics_table(std::string& out, const std::optional<metrics>& stats) {
  if (!stats) {
    out += "<p class=\"nodata\">no metrics</p>\n";
    return;
  }
  const nlohmann::json j = to_json(*stats);
  out += "<table class=\"kv\">\n";
  for (const auto& [key, v] : j.items()) {
    std::string text;
    if (v.is_null())
      text = "n/a";
    else if (v.is_string())
      text = html_escape(v.get<std::string>());
    else if (v.is_number_integer())
      put(text, "%lld", static_cast<long long>(v.get<std::int64_t>()));
    else if (v.is_number_unsigned())
      put(text, "%llu", static_cast<unsigned long long>(v.get<std::uint64_t>()));
    else if (v.is_number_float())
      text = general(v.get<double>(), 10);
    else
      text = html_escape(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out += "<tr><th>" + html_escape(key) + "</th><td>" + text + "</td></tr>\n";
  }
  out += "</table>\n";
}

// Background for a signed value scaled by `maxabs` (> 0): green up, red down, stronger when larger.
std::string signed_cell_style(double v, double maxabs) {
  if (!std::isfinite(v) || v == 0.0 || !(maxabs > 0)) return "";
  const double a = 0.12 + 0.68 * std::min(1.0, std::abs(v) / maxabs);
  std::string s;
  put(s, " style=\"background:rgba(%s,%.3f)\"", v > 0 ? "0,150,60" : "214,39,40", a);
  return s;
}

void monthly_table(std::string& out, const std::vector<equity_point>& equity) {
  const auto months = monthly_returns(equity);
  if (months.empty()) return nodata(out);
  // year -> month -> return (std::map: years in order, deterministic)
  std::map<int, std::map<int, double>> grid;
  double maxabs = 0;
  for (const auto& m : months) {
    grid[m.year][m.month] = m.ret;
    if (std::isfinite(m.ret)) maxabs = std::max(maxabs, std::abs(m.ret));
  }
  out += "<table class=\"monthly\">\n<tr><th>Year</th>";
  for (const char* name : month_names) out += std::string("<th>") + name + "</th>";
  out += "<th>Total</th></tr>\n";
  for (const auto& [year, row] : grid) {
    put(out, "<tr><th>%d</th>", year);
    double total = 1.0;
    for (int m = 1; m <= 12; ++m) {
      const auto it = row.find(m);
      if (it == row.end()) {
        out += "<td></td>";
        continue;
      }
      total *= 1.0 + it->second;
      out += "<td" + signed_cell_style(it->second, maxabs) + ">" + percent(it->second, 2) + "</td>";
    }
    total -= 1.0;
    out += "<td class=\"tot\"" + signed_cell_style(total, maxabs) + ">" + percent(total, 2) + "</td></tr>\n";
  }
  out += "</table>\n";
}

void heatmap_table(std::string& out, const report_input::heatmap& h) {
  if (h.xs.empty() || h.ys.empty()) return nodata(out);
  auto cell = [&h](std::size_t iy, std::size_t ix) -> std::optional<double> {
    if (iy >= h.values.size() || ix >= h.values[iy].size()) return std::nullopt;
    const auto& v = h.values[iy][ix];
    if (v && !std::isfinite(*v)) return std::nullopt;
    return v;
  };
  double lo = inf, hi = -inf;
  for (std::size_t iy = 0; iy < h.ys.size(); ++iy)
    for (std::size_t ix = 0; ix < h.xs.size(); ++ix)
      if (const auto v = cell(iy, ix)) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
  out += "<table class=\"heat\">\n<tr><th>" + html_escape(h.y_name) + " \\ " + html_escape(h.x_name) + "</th>";
  for (const double x : h.xs) out += "<th>" + general(x, 6) + "</th>";
  out += "</tr>\n";
  for (std::size_t iy = 0; iy < h.ys.size(); ++iy) {
    out += "<tr><th>" + general(h.ys[iy], 6) + "</th>";
    for (std::size_t ix = 0; ix < h.xs.size(); ++ix) {
      const auto v = cell(iy, ix);
      if (!v) {
        out += "<td class=\"infeasible\" title=\"infeasible\">&#8212;</td>";
        continue;
      }
      const double t = hi > lo ? (*v - lo) / (hi - lo) : 0.5;  // 0 worst (red) .. 1 best (green)
      put(out, "<td style=\"background:hsl(%.0f,65%%,72%%)\"%s>%s</td>", 120.0 * t,
          (hi > lo && *v == hi) ? " class=\"best\"" : "", general(*v, 4).c_str());
    }
    out += "</tr>\n";
  }
  out += "</table>\n";
  if (hi >= lo) out += "<p class=\"cap\">range " + general(lo, 6) + " .. " + general(hi, 6) + "; grey: infeasible</p>\n";
}

void trades_table(std::string& out, const std::vector<trade_record>& trades) {
  if (trades.empty()) return nodata(out);
  out +=
      "<table class=\"trades\">\n<tr><th>#</th><th>Symbol</th><th>Side</th><th>Entry time</th><th>Entry price</th>"
      "<th>Exit time</th><th>Exit price</th><th>Qty</th><th>PnL</th><th>Fees</th><th>Funding</th>"
      "<th>Exit reason</th></tr>\n";
  const std::size_t shown = std::min(trades.size(), max_trade_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    const trade_record& t = trades[i];
    put(out, "<tr><td>%zu</td>", i + 1);
    out += "<td>" + html_escape(t.symbol) + "</td>";
    out += t.direction < 0 ? "<td class=\"es\">&#9660; short</td>" : "<td class=\"el\">&#9650; long</td>";
    out += "<td>" + time_text(t.entry_time) + "</td><td>" + t.entry_price.to_string() + "</td>";
    out += "<td>" + time_text(t.exit_time) + "</td><td>" + t.exit_price.to_string() + "</td>";
    out += "<td>" + t.qty.to_string() + "</td>";
    out += std::string("<td class=\"") + (t.pnl.is_positive() ? "pos" : t.pnl.is_negative() ? "neg" : "") + "\">" +
           t.pnl.to_string() + "</td>";
    out += "<td>" + t.fees.to_string() + "</td><td>" + t.funding.to_string() + "</td>";
    out += "<td>" + html_escape(t.exit_reason) + "</td></tr>\n";
  }
  if (shown < trades.size())
    put(out, "<tr><td colspan=\"12\" class=\"more\">&#8230; %zu more trades not shown</td></tr>\n",
        trades.size() - shown);
  out += "</table>\n";
}

constexpr const char* style_sheet =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px auto;"
    "max-width:1000px;padding:0 16px;color:#222;background:#fafafa}\n"
    "h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #ddd}"
    "h3{font-size:1em;margin:16px 0 4px}\n"
    "table{border-collapse:collapse;font-size:0.85em;margin:6px 0}"
    "th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;white-space:nowrap}"
    "th{background:#f0f0f0}\n"
    "table.kv th{text-align:left}table.kv td{text-align:left;font-family:monospace}\n"
    "table.heat td.infeasible{background:#c8c8c8;color:#666;text-align:center}"
    "table.heat td.best{font-weight:bold;outline:2px solid #333}\n"
    "td.pos{color:#137a3a}td.neg{color:#b3261e}td.more{text-align:center;color:#666}"
    "td.tot{font-weight:bold}\n"
    "svg.chart{width:100%;height:auto;display:block;background:#fff}\n"
    "svg .yl{font-size:11px;fill:#555;text-anchor:end}svg .xl{font-size:11px;fill:#555}"
    "svg .lg{font-size:12px;fill:#333}\n"
    "svg .el,td.el{fill:#1f77b4;color:#1f77b4}svg .es,td.es{fill:#ff7f0e;color:#ff7f0e}"
    "svg .tx{fill:#fff;stroke:#333;stroke-width:1.2}\n"
    "svg .tw{stroke:#2ca02c;stroke-width:1.2;stroke-dasharray:3 2}"
    "svg .tl{stroke:#d62728;stroke-width:1.2;stroke-dasharray:3 2}\n"
    "p.nodata{color:#888;font-style:italic}p.cap{color:#666;font-size:0.8em;margin:2px 0 10px}\n"
    "pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto;font-size:0.85em}\n"
    "code{font-size:1em}\n";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::pair<double, double>> downsample_minmax(const std::vector<std::pair<double, double>>& points,
                                                         std::size_t max_points) {
  const std::size_t cap = std::max<std::size_t>(max_points, 4);
  const std::size_t n = points.size();
  if (n <= cap) return points;
  const std::size_t interior = n - 2;            // points[1 .. n-2]
  const std::size_t buckets = (cap - 2) / 2;     // >= 1; interior > 2 * buckets: none empty
  std::vector<std::pair<double, double>> out;
  out.reserve(2 + 2 * buckets);
  out.push_back(points.front());
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = 1 + b * interior / buckets;
    const std::size_t hi = 1 + (b + 1) * interior / buckets;
    if (lo >= hi) continue;
    std::size_t imin = lo, imax = lo;
    for (std::size_t i = lo + 1; i < hi; ++i) {
      if (points[i].second < points[imin].second) imin = i;
      if (points[i].second > points[imax].second) imax = i;
    }
    out.push_back(points[std::min(imin, imax)]);
    if (imin != imax) out.push_back(points[std::max(imin, imax)]);
  }
  out.push_back(points.back());
  return out;
}

std::vector<monthly_return> monthly_returns(const std::vector<equity_point>& equity) {
  std::vector<monthly_return> out;
  if (equity.empty()) return out;
  double base = equity.front().equity.to_double();
  std::size_t i = 0;
  while (i < equity.size()) {
    const core::civil c = civil_of(equity[i].at);
    std::size_t j = i;
    while (j + 1 < equity.size()) {
      const core::civil d = civil_of(equity[j + 1].at);
      if (d.year != c.year || d.month != c.month) break;
      ++j;
    }
    const double last = equity[j].equity.to_double();
    if (base > 0) out.push_back({static_cast<int>(c.year), static_cast<int>(c.month), last / base - 1.0});
    base = last;
    i = j + 1;
  }
  return out;
}

std::vector<std::pair<core::timestamp, double>> drawdown_series(const std::vector<equity_point>& equity) {
  std::vector<std::pair<core::timestamp, double>> out;
  out.reserve(equity.size());
  double peak = 0;
  bool have_peak = false;
  for (const auto& e : equity) {
    const double v = e.equity.to_double();
    if (!have_peak || v > peak) {
      peak = v;
      have_peak = true;
    }
    out.emplace_back(e.at, peak > 0 ? (peak - v) / peak : 0.0);
  }
  return out;
}

std::string render_html_report(const report_input& in) {
  std::string out;
  out.reserve(64 * 1024);
  const std::string title = html_escape(in.title.empty() ? std::string("backtest report") : in.title);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + title + "</title>\n<style>\n";
  out += style_sheet;
  out += "</style>\n</head>\n<body>\n";
  out += "<h1>" + title + "</h1>\n";
  out += "<p>Trade list hash: <code>" + (in.hash.empty() ? std::string("n/a") : html_escape(in.hash)) + "</code></p>\n";
  if (!in.notes.empty()) {
    out += "<table class=\"kv notes\">\n";
    for (const auto& [k, v] : in.notes) out += "<tr><th>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>\n";
    out += "</table>\n";
  }

  out += "<h2>Metrics</h2>\n";
  metrics_table(out, in.stats);

  out += "<h2>Equity</h2>\n";
  equity_chart(out, in.equity);

  out += "<h2>Drawdown</h2>\n";
  drawdown_chart(out, in.equity);

  out += "<h2>Monthly returns</h2>\n";
  monthly_table(out, in.equity);

  out += "<h2>Prices and trades</h2>\n";
  {
    // Trades per symbol, in input order; symbols with a series first (input order), then the
    // remaining traded symbols (sorted).
    std::map<std::string, std::vector<const trade_record*>> by_symbol;
    for (const auto& t : in.trades) by_symbol[t.symbol].push_back(&t);
    std::set<std::string> drawn;
    static const std::vector<const trade_record*> none;
    for (const auto& [symbol, series] : in.prices) {
      if (!drawn.insert(symbol).second) continue;  // a repeated symbol is drawn once
      const auto it = by_symbol.find(symbol);
      price_chart(out, symbol, &series, it == by_symbol.end() ? none : it->second);
    }
    for (const auto& [symbol, trades] : by_symbol)
      if (!drawn.contains(symbol)) price_chart(out, symbol, nullptr, trades);
    if (in.prices.empty() && by_symbol.empty()) nodata(out);
  }

  if (in.stability) {
    out += "<h2>Parameter stability</h2>\n";
    heatmap_table(out, *in.stability);
  }

  out += "<h2>Trades</h2>\n";
  trades_table(out, in.trades);

  out += "<h2>Config</h2>\n";
  if (in.config.is_null())
    nodata(out);
  else
    out += "<pre>" + html_escape(in.config.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) + "</pre>\n";

  out += "</body>\n</html>\n";
  return out;
}

}  // namespace pt::backtest
