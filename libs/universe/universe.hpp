#pragma once
// Trading-universe selection (seed 004 §6; issue 4 item 1), daily at 00:00 UTC and at start:
// trading perpetuals quoted in USDT, 24 h quote volume over a threshold, a minimum order that
// fits the account, |funding| under a cap, then the top N by volume (a wide spread only moves a
// symbol behind the others). Plain function over what the venue reported: no I/O; the
// marketdata service fetches instruments, tickers and funding and publishes the result.
//
// Every symbol that is not selected comes back with the first rule it failed, so the universe
// event says why a market is out.
#include "core/decimal.hpp"
#include "venue/types.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pt::universe {

using core::decimal;

struct universe_config {
  std::string quote = "USDT";
  decimal min_quote_volume = decimal::from_integer(50'000'000);  // 24 h, in quote (§6 3a)
  // The smallest order must cost at most this fraction of equity x max leverage. §6 3b's "$6
  // for a $100 account at 5x" is 100 x 5 x 0.012.
  decimal min_order_fit = decimal::parse("0.012");
  decimal max_abs_funding = decimal::parse("0.001");  // per interval (§6 3d: 0.1 % per 8 h)
  decimal max_spread = decimal::parse("0.001");       // (ask - bid) / mid over this: deprioritized (§6 3c)
  std::size_t candidates = 30;  // by volume, before the filters (§6 2)
  std::size_t size = 5;         // §6 4: top 3-5
};

struct universe_input {
  std::vector<venue::instrument> instruments;
  std::vector<venue::ticker> tickers;        // 24 h: quote_volume, last, bid/ask when known
  std::map<std::string, decimal> funding;    // symbol -> current rate (fraction per interval)
  decimal equity;                            // account equity, quote
  int max_leverage = 1;                      // the leverage the risk service may apply
};

enum class exclusion_reason {
  not_trading,      // instrument status is not `trading`
  wrong_quote,      // not quoted in config.quote
  no_ticker,        // no 24 h ticker, or no quote volume in it
  not_a_candidate,  // outside the top `candidates` by volume
  low_volume,       // 24 h quote volume under the threshold
  order_too_large,  // the smallest order does not fit the account
  no_funding,       // no funding rate known: not selected (never assumed zero)
  extreme_funding,  // |funding| over the cap
  ranked_out,       // passed every filter, but the universe is full
};
[[nodiscard]] const char* to_string(exclusion_reason r);

struct selected_symbol {
  std::string symbol;
  decimal quote_volume;
  decimal funding;
  decimal min_order_notional;      // what the smallest allowed order costs at the last price
  std::optional<decimal> spread;   // (ask - bid) / mid, when the ticker has both
  bool wide_spread = false;        // deprioritized
};

struct excluded_symbol {
  std::string symbol;
  exclusion_reason reason;
  std::string detail;
};

struct universe {
  std::vector<selected_symbol> selected;  // best first
  std::vector<excluded_symbol> excluded;  // every other instrument, in input order
};

[[nodiscard]] universe select_universe(const universe_config& config, const universe_input& in);

// The smallest order the venue takes, in quote: max(min_notional, min_qty x contract_size x price).
[[nodiscard]] decimal min_order_notional(const venue::instrument& i, decimal price);

}  // namespace pt::universe
