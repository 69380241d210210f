#include "selection.hpp"

#include "core/time.hpp"

#include <algorithm>
#include <climits>

namespace pt::marketdata {

namespace {

using core::decimal;
constexpr std::int64_t hour_ms = 3'600'000;
constexpr std::int64_t day_ms = 24 * hour_ms;

std::string iso(std::int64_t ms) { return core::timestamp::from_millis(ms).to_iso8601(); }

// A venue's error text can be long (a whole body): keep the message readable.
std::string clip(std::string s, std::size_t n = 300) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

struct estimate {
  decimal quote_volume;
  decimal last;
  bool capped = false;
};

// The 24 newest closed 1h bars before `now`: their quote volume when the venue gives it, else
// volume x contract size x close. nullopt when there is no closed bar.
std::optional<estimate> klines_estimate(const market_source& src, const venue::instrument& inst, std::int64_t now) {
  venue::kline_query q;
  q.symbol = inst.symbol;
  q.interval = "1h";
  const std::int64_t from = now / hour_ms * hour_ms - day_ms;
  q.start = from;
  q.end = now - 1;
  q.limit = 30;
  auto bars = src.klines(q);
  std::sort(bars.begin(), bars.end(), [](const venue::candle& a, const venue::candle& b) { return a.open_time < b.open_time; });
  __int128 sum = 0;
  bool capped = false, any = false;
  std::int64_t last_open = INT64_MIN;
  decimal last;
  for (const auto& c : bars) {
    if (c.open_time < from || c.open_time + hour_ms > now || c.open_time == last_open) continue;
    decimal v;
    try {
      if (c.quote_volume && c.quote_volume->is_positive()) v = *c.quote_volume;
      else v = core::mul(core::mul(c.volume, inst.contract_size, core::rounding::half_even), c.close, core::rounding::half_even);
    } catch (const core::decimal_overflow&) {
      capped = true;
      v = decimal::max();
    }
    sum += v.units();
    any = true;
    last_open = c.open_time;
    last = c.close;
  }
  if (!any) return std::nullopt;
  if (sum > INT64_MAX) {
    capped = true;
    sum = INT64_MAX;
  }
  return estimate{decimal::from_units(static_cast<std::int64_t>(sum)), last, capped};
}

}  // namespace

const char* to_string(universe_mode m) {
  switch (m) {
    case universe_mode::fixed: return "fixed";
    case universe_mode::report: return "report";
    case universe_mode::selected: return "selected";
  }
  return "fixed";
}

selection run_selection(const market_source& src, const universe_settings& s, decimal equity,
                        const std::string& equity_source, std::optional<std::int64_t> market_now, std::int64_t wall_now) {
  selection out;
  out.equity = equity;
  out.equity_source = equity_source;
  out.max_leverage = s.max_leverage;
  universe::universe_input in;
  in.instruments = src.instruments();  // no instrument list: no selection (the caller retries)
  in.equity = equity;
  in.max_leverage = s.max_leverage;

  std::map<std::string, std::string> ticker_errors, funding_errors;
  struct need {
    const venue::instrument* inst;
    std::optional<venue::ticker> t;
  };
  std::vector<need> needs;
  std::int64_t newest = INT64_MIN;
  for (const auto& i : in.instruments) {
    // The rules the library applies first: no venue call for what they exclude anyway.
    if (i.status != venue::instrument_status::trading || i.quote != s.rules.quote) continue;
    std::optional<venue::ticker> t;
    try {
      t = src.ticker(i.symbol);
    } catch (const std::exception& e) {
      ticker_errors[i.symbol] = "ticker: " + clip(e.what());
    }
    if (t && t->time > 0) newest = std::max(newest, t->time);
    const bool has_volume =
        t && t->quote_volume && (t->quote_volume->is_positive() || !(t->volume && t->volume->is_positive()));
    if (has_volume) {
      out.volume_source[i.symbol] = "ticker";
      in.tickers.push_back(*t);
    } else {
      needs.push_back({&i, t});
    }
  }
  const std::int64_t now = market_now ? *market_now : newest != INT64_MIN ? newest : wall_now;
  out.market_time = now;
  for (auto& n : needs) {
    const std::string& sym = n.inst->symbol;
    std::string& err = ticker_errors[sym];
    try {
      const auto e = klines_estimate(src, *n.inst, now);
      if (!e) {
        err += std::string(err.empty() ? "" : "; ") + "no closed 1h klines to estimate it";
        continue;
      }
      venue::ticker t = n.t ? *n.t : venue::ticker{};
      t.symbol = sym;
      if (!n.t) t.last = e->last;
      t.quote_volume = e->quote_volume;
      in.tickers.push_back(t);
      out.volume_source[sym] = "klines_1h";
      if (e->capped) out.volume_capped.insert(sym);
    } catch (const std::exception& x) {
      err += std::string(err.empty() ? "" : "; ") + "klines: " + clip(x.what());
    }
  }
  // Funding only where it decides: the symbols that passed every other rule come back as
  // NO_FUNDING from a first pass without any rate.
  const auto first = universe::select_universe(s.rules, in);
  for (const auto& e : first.excluded) {
    if (e.reason != universe::exclusion_reason::no_funding) continue;
    try {
      in.funding[e.symbol] = src.funding(e.symbol).rate;
    } catch (const std::exception& x) {
      funding_errors[e.symbol] = clip(x.what());
    }
  }
  out.result = universe::select_universe(s.rules, in);
  for (auto& e : out.result.excluded) {
    const auto& errs = e.reason == universe::exclusion_reason::no_ticker    ? ticker_errors
                       : e.reason == universe::exclusion_reason::no_funding ? funding_errors
                                                                            : std::map<std::string, std::string>{};
    if (auto it = errs.find(e.symbol); it != errs.end() && !it->second.empty()) e.detail += " (" + it->second + ")";
  }
  return out;
}

std::int64_t next_refresh(std::int64_t last_ms, std::int64_t refresh_at_ms) {
  const std::int64_t day = (last_ms >= 0 ? last_ms / day_ms : (last_ms - day_ms + 1) / day_ms) * day_ms;
  std::int64_t t = day + refresh_at_ms;
  while (t <= last_ms) t += day_ms;
  return t;
}

std::optional<std::int64_t> parse_time_of_day(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (std::size_t k : {0u, 1u, 3u, 4u})
    if (text[k] < '0' || text[k] > '9') return std::nullopt;
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return (std::int64_t{h} * 60 + m) * 60'000;
}

nlohmann::json universe_body(const std::string& venue, const std::string& trigger, universe_mode mode,
                             const universe::universe_config& rules, const selection& sel,
                             const std::vector<std::string>& followed, const std::vector<std::string>& added) {
  nlohmann::json selected = nlohmann::json::array();
  for (std::size_t n = 0; n < sel.result.selected.size(); ++n) {
    const auto& s = sel.result.selected[n];
    nlohmann::json j{{"symbol", s.symbol},
                     {"rank", n + 1},
                     {"quote_volume", s.quote_volume.to_string()},
                     {"volume_source", sel.volume_source.count(s.symbol) ? sel.volume_source.at(s.symbol) : "ticker"},
                     {"funding", s.funding.to_string()},
                     {"min_order_notional", s.min_order_notional.to_string()},
                     {"wide_spread", s.wide_spread}};
    if (s.spread) j["spread"] = s.spread->to_string();
    if (sel.volume_capped.count(s.symbol)) j["quote_volume_capped"] = true;
    selected.push_back(std::move(j));
  }
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& e : sel.result.excluded)
    excluded.push_back({{"symbol", e.symbol}, {"reason", universe::to_string(e.reason)}, {"detail", clip(e.detail, 1000)}});
  return {{"venue", venue},
          {"ts", iso(sel.market_time)},
          {"trigger", trigger},
          {"mode", to_string(mode)},
          {"equity", sel.equity.to_string()},
          {"equity_source", sel.equity_source},
          {"max_leverage", sel.max_leverage},
          {"rules",
           {{"quote", rules.quote},
            {"min_quote_volume", rules.min_quote_volume.to_string()},
            {"min_order_fit", rules.min_order_fit.to_string()},
            {"max_abs_funding", rules.max_abs_funding.to_string()},
            {"max_spread", rules.max_spread.to_string()},
            {"candidates", rules.candidates},
            {"size", rules.size}}},
          {"selected", selected},
          {"excluded", excluded},
          {"followed", followed},
          {"added", added}};
}

}  // namespace pt::marketdata
