#include "backtest/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace pt::backtest {

namespace {

using core::decimal;
using core::timestamp;
using nlohmann::json;

constexpr double seconds_per_year = 365.25 * 86400.0;  // crypto trades 24/7: calendar time

// a / b for money amounts when only a ratio is wanted (reporting, never money).
double ratio(decimal a, decimal b) { return a.to_double() / b.to_double(); }

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); v.size() >= 2. At or below 1e-10 |mean| it is rounding
// noise (returns of a constant-growth curve differ by an ulp) and is reported as exactly 0:
// otherwise such a curve would show a Sharpe of ~1e16.
double sample_stdev(const std::vector<double>& v, double mean) {
  double ss = 0.0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  return sd <= 1e-10 * std::abs(mean) ? 0.0 : sd;
}

// mean / risk with the documented conventions when risk is 0: a flat series (mean 0) is 0,
// anything else is unbounded, reported as null.
std::optional<double> risk_adjusted(double mean, double risk, double annualisation) {
  if (risk == 0.0) {
    if (mean == 0.0) return 0.0;
    return std::nullopt;
  }
  return mean / risk * annualisation;
}

std::optional<double> finite_or_null(double x) {
  if (std::isfinite(x)) return x;
  return std::nullopt;
}

void validate(const std::vector<equity_point>& curve, const std::vector<trade_record>& trades) {
  if (curve.empty()) throw std::invalid_argument("compute_metrics: the equity curve is empty");
  for (std::size_t i = 0; i < curve.size(); ++i) {
    if (i > 0 && curve[i].at <= curve[i - 1].at)
      throw std::invalid_argument("compute_metrics: equity curve times must be strictly increasing (point " +
                                  std::to_string(i) + " at " + curve[i].at.to_iso8601() + ")");
    // Every point but the last is the base of a return.
    if (i + 1 < curve.size() && !curve[i].equity.is_positive())
      throw std::invalid_argument("compute_metrics: equity must be > 0 at every point but the last (point " +
                                  std::to_string(i) + " has " + curve[i].equity.to_string() + ")");
  }
  for (std::size_t i = 0; i < trades.size(); ++i) {
    const auto& t = trades[i];
    if (t.direction != 1 && t.direction != -1)
      throw std::invalid_argument("compute_metrics: trade " + std::to_string(i) + " has direction " +
                                  std::to_string(t.direction) + " (must be +1 or -1)");
    if (t.exit_time < t.entry_time)
      throw std::invalid_argument("compute_metrics: trade " + std::to_string(i) + " exits (" +
                                  t.exit_time.to_iso8601() + ") before it enters (" +
                                  t.entry_time.to_iso8601() + ")");
  }
}

void curve_metrics(const std::vector<equity_point>& curve, metrics& m) {
  m.start_time = curve.front().at;
  m.end_time = curve.back().at;
  m.start_equity = curve.front().equity;
  m.end_equity = curve.back().equity;
  m.total_return = ratio(m.end_equity - m.start_equity, m.start_equity);

  const double span_s = static_cast<double>((m.end_time - m.start_time).count()) / 1e9;
  if (span_s > 0.0) {
    const double growth = ratio(m.end_equity, m.start_equity);
    // A curve that ends at or below zero lost everything: -100% a year.
    m.cagr = growth <= 0.0 ? -1.0 : std::pow(growth, seconds_per_year / span_s) - 1.0;
    m.cagr = finite_or_null(*m.cagr);  // a big gain over minutes overflows a double
  }

  if (curve.size() >= 2) {
    // Median spacing, so a few gaps (missing bars, weekends of a feed) do not skew it.
    std::vector<std::int64_t> gaps;
    gaps.reserve(curve.size() - 1);
    for (std::size_t i = 1; i < curve.size(); ++i) gaps.push_back((curve[i].at - curve[i - 1].at).count());
    std::sort(gaps.begin(), gaps.end());
    const std::size_t k = gaps.size() / 2;
    const double median_ns = gaps.size() % 2 == 1 ? static_cast<double>(gaps[k])
                                                  : (static_cast<double>(gaps[k - 1]) + static_cast<double>(gaps[k])) / 2.0;
    m.periods_per_year = seconds_per_year * 1e9 / median_ns;

    const std::vector<double> returns = period_returns(curve);  // validate(): no equity <= 0 but the last
    const double mean = mean_of(returns);
    const double annualisation = std::sqrt(*m.periods_per_year);
    if (returns.size() >= 2) m.sharpe = risk_adjusted(mean, sample_stdev(returns, mean), annualisation);
    double down2 = 0.0;
    for (double r : returns) down2 += r < 0.0 ? r * r : 0.0;
    m.sortino = risk_adjusted(mean, std::sqrt(down2 / static_cast<double>(returns.size())), annualisation);
  }

  // Drawdown episodes: from the last point at the running peak until the first point back at
  // or above it (or the end of the curve).
  decimal peak = curve.front().equity;
  timestamp peak_at = curve.front().at;
  bool in_drawdown = false;
  double depth = 0.0, depth_sum = 0.0;
  auto close_episode = [&](timestamp end) {
    m.max_drawdown_duration = std::max(m.max_drawdown_duration, end - peak_at);
    depth_sum += depth;
    ++m.drawdown_episodes;
    in_drawdown = false;
    depth = 0.0;
  };
  for (std::size_t i = 1; i < curve.size(); ++i) {
    const auto& p = curve[i];
    if (p.equity >= peak) {
      if (in_drawdown) close_episode(p.at);
      peak = p.equity;
      peak_at = p.at;
    } else {
      in_drawdown = true;
      depth = std::max(depth, ratio(peak - p.equity, peak));
      m.max_drawdown = std::max(m.max_drawdown, depth);
    }
  }
  if (in_drawdown) close_episode(curve.back().at);
  if (m.drawdown_episodes > 0) m.average_drawdown = depth_sum / m.drawdown_episodes;
  if (m.cagr && m.max_drawdown > 0.0) m.calmar = finite_or_null(*m.cagr / m.max_drawdown);
}

void trade_metrics(const std::vector<trade_record>& trades, const std::vector<equity_point>& curve, metrics& m) {
  m.trades = static_cast<int>(trades.size());
  __int128 held_ns = 0;  // years of holding times many trades can pass int64 nanoseconds
  for (const auto& t : trades) {
    m.net_pnl += t.pnl;
    m.fees_paid += t.fees;
    m.funding_paid += t.funding;
    if (t.pnl.is_positive()) {
      ++m.wins;
      m.gross_profit += t.pnl;
    } else if (t.pnl.is_negative()) {
      ++m.losses;
      m.gross_loss -= t.pnl;
    }
    held_ns += (t.exit_time - t.entry_time).count();
  }
  if (m.trades > 0) {
    m.win_rate = static_cast<double>(m.wins) / m.trades;
    m.expectancy = m.net_pnl / decimal::from_integer(m.trades);
    m.average_holding = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::nanoseconds(static_cast<std::int64_t>(held_ns / m.trades)));
  }
  if (m.wins > 0) m.average_win = m.gross_profit / decimal::from_integer(m.wins);
  if (m.losses > 0) m.average_loss = -(m.gross_loss / decimal::from_integer(m.losses));
  if (m.gross_loss.is_positive()) m.profit_factor = ratio(m.gross_profit, m.gross_loss);

  // Exposure: the union of the trades' [entry, exit] intervals, clipped to the curve's span, so
  // overlapping positions (several symbols) are not counted twice.
  const timestamp lo = curve.front().at, hi = curve.back().at;
  if (hi > lo) {
    std::vector<std::pair<timestamp, timestamp>> spans;
    for (const auto& t : trades) {
      const timestamp a = std::max(t.entry_time, lo), b = std::min(t.exit_time, hi);
      if (a < b) spans.emplace_back(a, b);
    }
    std::sort(spans.begin(), spans.end());
    std::int64_t covered = 0;
    std::optional<std::pair<timestamp, timestamp>> run;
    for (const auto& s : spans) {
      if (run && s.first <= run->second) {
        run->second = std::max(run->second, s.second);
      } else {
        if (run) covered += (run->second - run->first).count();
        run = s;
      }
    }
    if (run) covered += (run->second - run->first).count();
    m.exposure = static_cast<double>(covered) / static_cast<double>((hi - lo).count());
  }
}

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string hex16(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<double> period_returns(const std::vector<equity_point>& curve) {
  std::vector<double> r;
  r.reserve(curve.size());
  for (std::size_t i = 1; i < curve.size(); ++i)
    if (curve[i - 1].equity.is_positive()) r.push_back(ratio(curve[i].equity - curve[i - 1].equity, curve[i - 1].equity));
  return r;
}

metrics compute_metrics(const std::vector<equity_point>& curve, const std::vector<trade_record>& trades) {
  validate(curve, trades);
  metrics m;
  curve_metrics(curve, m);
  trade_metrics(trades, curve, m);
  return m;
}

json to_json(const metrics& m) {
  json j;
  j["start_time"] = m.start_time;
  j["end_time"] = m.end_time;
  j["start_equity"] = m.start_equity;
  j["end_equity"] = m.end_equity;
  j["total_return"] = m.total_return;
  j["cagr"] = or_null(m.cagr);
  j["periods_per_year"] = or_null(m.periods_per_year);
  j["sharpe"] = or_null(m.sharpe);
  j["sortino"] = or_null(m.sortino);
  j["calmar"] = or_null(m.calmar);
  j["max_drawdown"] = m.max_drawdown;
  j["max_drawdown_duration_s"] = static_cast<double>(m.max_drawdown_duration.count()) / 1e9;
  j["average_drawdown"] = m.average_drawdown;
  j["drawdown_episodes"] = m.drawdown_episodes;
  j["trades"] = m.trades;
  j["wins"] = m.wins;
  j["losses"] = m.losses;
  j["win_rate"] = or_null(m.win_rate);
  j["net_pnl"] = m.net_pnl;
  j["gross_profit"] = m.gross_profit;
  j["gross_loss"] = m.gross_loss;
  j["profit_factor"] = or_null(m.profit_factor);
  j["average_win"] = or_null(m.average_win);
  j["average_loss"] = or_null(m.average_loss);
  j["expectancy"] = or_null(m.expectancy);
  j["average_holding_s"] = m.average_holding ? json(m.average_holding->count()) : json(nullptr);
  j["exposure"] = or_null(m.exposure);
  j["fees_paid"] = m.fees_paid;
  j["funding_paid"] = m.funding_paid;
  return j;
}

std::uint64_t fnv1a_64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string canonical_trade_text(const std::vector<trade_record>& trades) {
  // Strings are length-prefixed so no separator inside a symbol or reason can make two
  // different lists render the same.
  std::string out;
  for (const auto& t : trades) {
    out += std::to_string(t.symbol.size()) + ':' + t.symbol;
    out += ',' + std::to_string(t.direction);
    out += ',' + std::to_string(t.entry_time.nanos());
    out += ',' + std::to_string(t.exit_time.nanos());
    for (const decimal& d : {t.entry_price, t.exit_price, t.qty, t.pnl, t.fees, t.funding}) out += ',' + d.to_string();
    out += ',' + std::to_string(t.exit_reason.size()) + ':' + t.exit_reason;
    out += '\n';
  }
  return out;
}

std::string trade_list_hash(const std::vector<trade_record>& trades) { return hex16(fnv1a_64(canonical_trade_text(trades))); }

void write_trades_csv(std::ostream& out, const std::vector<trade_record>& trades) {
  out << "symbol,direction,entry_time,exit_time,entry_price,exit_price,qty,pnl,fees,funding,exit_reason\n";
  for (const auto& t : trades) {
    out << csv_field(t.symbol) << ',' << t.direction << ',' << t.entry_time.to_iso8601() << ','
        << t.exit_time.to_iso8601() << ',' << t.entry_price.to_string() << ',' << t.exit_price.to_string() << ','
        << t.qty.to_string() << ',' << t.pnl.to_string() << ',' << t.fees.to_string() << ','
        << t.funding.to_string() << ',' << csv_field(t.exit_reason) << '\n';
  }
}

void write_equity_csv(std::ostream& out, const std::vector<equity_point>& curve) {
  out << "time,equity\n";
  for (const auto& p : curve) out << p.at.to_iso8601() << ',' << p.equity.to_string() << '\n';
}

}  // namespace pt::backtest
