#include "universe/universe.hpp"

#include <algorithm>
#include <unordered_map>

namespace pt::universe {

const char* to_string(exclusion_reason r) {
  switch (r) {
    case exclusion_reason::not_trading: return "NOT_TRADING";
    case exclusion_reason::wrong_quote: return "WRONG_QUOTE";
    case exclusion_reason::no_ticker: return "NO_TICKER";
    case exclusion_reason::not_a_candidate: return "NOT_A_CANDIDATE";
    case exclusion_reason::low_volume: return "LOW_VOLUME";
    case exclusion_reason::order_too_large: return "ORDER_TOO_LARGE";
    case exclusion_reason::no_funding: return "NO_FUNDING";
    case exclusion_reason::extreme_funding: return "EXTREME_FUNDING";
    case exclusion_reason::ranked_out: return "RANKED_OUT";
  }
  return "UNKNOWN";
}

decimal min_order_notional(const venue::instrument& i, decimal price) {
  const decimal by_qty = core::mul(core::mul(i.min_qty, i.contract_size, core::rounding::ceil), price, core::rounding::ceil);
  return i.min_notional ? std::max(*i.min_notional, by_qty) : by_qty;
}

universe select_universe(const universe_config& config, const universe_input& in) {
  universe out;
  std::unordered_map<std::string, const venue::ticker*> tickers;
  for (const auto& t : in.tickers) tickers[t.symbol] = &t;

  struct row {
    const venue::instrument* inst;
    const venue::ticker* tick;
    decimal volume;
    std::size_t input_index;
  };
  std::vector<row> eligible;
  std::vector<std::pair<std::size_t, excluded_symbol>> excluded;  // input index, for input order
  auto exclude = [&](std::size_t idx, const std::string& sym, exclusion_reason r, std::string detail) {
    excluded.push_back({idx, {sym, r, std::move(detail)}});
  };
  for (std::size_t k = 0; k < in.instruments.size(); ++k) {
    const auto& i = in.instruments[k];
    if (i.status != venue::instrument_status::trading) {
      exclude(k, i.symbol, exclusion_reason::not_trading, "status is not trading");
      continue;
    }
    if (i.quote != config.quote) {
      exclude(k, i.symbol, exclusion_reason::wrong_quote, "quoted in " + i.quote);
      continue;
    }
    const auto it = tickers.find(i.symbol);
    if (it == tickers.end() || !it->second->quote_volume) {
      exclude(k, i.symbol, exclusion_reason::no_ticker, "no 24 h quote volume");
      continue;
    }
    eligible.push_back({&i, it->second, *it->second->quote_volume, k});
  }
  // §6 2: the top candidates by 24 h quote volume (ties: symbol, so the result is deterministic).
  std::sort(eligible.begin(), eligible.end(), [](const row& a, const row& b) {
    return a.volume != b.volume ? a.volume > b.volume : a.inst->symbol < b.inst->symbol;
  });
  const decimal budget = core::mul(core::mul(in.equity, decimal::from_integer(std::max(in.max_leverage, 0)), core::rounding::down),
                                   config.min_order_fit, core::rounding::down);
  std::vector<selected_symbol> passed;
  for (std::size_t n = 0; n < eligible.size(); ++n) {
    const auto& r = eligible[n];
    const std::string& sym = r.inst->symbol;
    if (n >= config.candidates) {
      exclude(r.input_index, sym, exclusion_reason::not_a_candidate, "volume rank " + std::to_string(n + 1));
      continue;
    }
    if (r.volume < config.min_quote_volume) {
      exclude(r.input_index, sym, exclusion_reason::low_volume,
              r.volume.to_string() + " < " + config.min_quote_volume.to_string());
      continue;
    }
    const decimal min_order = min_order_notional(*r.inst, r.tick->last);
    if (min_order > budget) {
      exclude(r.input_index, sym, exclusion_reason::order_too_large,
              "smallest order " + min_order.to_string() + " > " + budget.to_string());
      continue;
    }
    const auto f = in.funding.find(sym);
    if (f == in.funding.end()) {
      exclude(r.input_index, sym, exclusion_reason::no_funding, "no funding rate");
      continue;
    }
    if (core::abs(f->second) >= config.max_abs_funding) {
      exclude(r.input_index, sym, exclusion_reason::extreme_funding,
              "|" + f->second.to_string() + "| >= " + config.max_abs_funding.to_string());
      continue;
    }
    selected_symbol s{sym, r.volume, f->second, min_order, std::nullopt, false};
    if (r.tick->bid && r.tick->ask && r.tick->bid->is_positive() && *r.tick->ask >= *r.tick->bid) {
      const decimal mid = core::div(*r.tick->bid + *r.tick->ask, decimal::from_integer(2), core::rounding::half_even);
      s.spread = core::div(*r.tick->ask - *r.tick->bid, mid, core::rounding::half_even);
      s.wide_spread = *s.spread > config.max_spread;
    }
    passed.push_back(s);
  }
  // A wide spread moves a symbol behind the tight ones; volume order otherwise (stable).
  std::stable_partition(passed.begin(), passed.end(), [](const selected_symbol& s) { return !s.wide_spread; });
  for (std::size_t n = 0; n < passed.size(); ++n) {
    if (n < config.size) {
      out.selected.push_back(passed[n]);
    } else {
      const auto& s = passed[n];
      std::size_t idx = 0;
      for (const auto& r : eligible)
        if (r.inst->symbol == s.symbol) idx = r.input_index;
      exclude(idx, s.symbol, exclusion_reason::ranked_out, "universe full (" + std::to_string(config.size) + ")");
    }
  }
  std::stable_sort(excluded.begin(), excluded.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [idx, e] : excluded) out.excluded.push_back(std::move(e));
  return out;
}

}  // namespace pt::universe
