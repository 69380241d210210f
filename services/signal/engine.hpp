#pragma once
// The signal service's logic without NATS or CAF: md.* bars, funding and exec.position payloads in,
// the messages to publish out (TradingSignal, trade.proposed, trade.exit) with their subjects and
// JetStream message ids. One pt::strategy instance per (strategy, symbol). See README.md.
//
// History rule (issue 4 contracts): a bar with `backfilled: true`, or one whose close is older
// than the newest market time seen (the newest bar close of any symbol and timeframe), warms the
// strategies but produces nothing. Only a bar at the live edge publishes its signal, proposal or
// exit. A bar that is not newer than the last one fed for its (symbol, tf) (a redelivery, a
// re-published history) is dropped before the strategies see it (they refuse out-of-order bars).
//
// Ids (contracts): signal_id = <strategy>-<symbol>-<tf>-<bar open ms>, proposal_id = signal_id +
// "-p", exit_id = signal_id + "-x"; correlation_id of a proposal = its signal_id.
#include "strategy/strategy.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt::signal_service {

namespace st = pt::strategy;

// A payload the engine cannot use (bad decimal, bad time, inconsistent bar, unknown timeframe).
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct engine_config {
  std::string venue = "sim";             // subject token and payload `venue`
  std::vector<std::string> symbols;      // venue spelling (BTC_USDT_PERP, BTCUSDT)
  std::vector<st::any_params> strategies;
};

// One message to publish.
struct outbound {
  enum class kind { signal, proposal, exit };
  kind k = kind::signal;
  std::string subject;
  nlohmann::json body;
  std::string msg_id;  // Nats-Msg-Id for JetStream (proposal_id / exit_id); "" for core
  [[nodiscard]] bool jetstream() const { return k != kind::signal; }
};

struct engine_counters {
  std::uint64_t bars_live = 0;       // fed at the live edge
  std::uint64_t bars_history = 0;    // fed as history (backfilled or behind the market time)
  std::uint64_t bars_duplicate = 0;  // not newer than the last fed for its (symbol, tf): dropped
  std::uint64_t ignored = 0;         // another venue, a symbol not configured, a bar not closed
  std::uint64_t bad = 0;             // payloads refused (input_error) or refused by a strategy
  std::uint64_t funding = 0, positions = 0;
  std::uint64_t signals = 0, proposals = 0, exits = 0;
};
nlohmann::json to_json(const engine_counters& c);

// The timeframes a parameter set decides on (trend_following: 1d trend + 4h entries).
std::vector<st::timeframe> timeframes_of(const st::any_params& p);
// "BTC_USDT_PERP" -> "btc_usdt_perp" (the subject token).
std::string subject_token(const std::string& symbol);
// signal_id per the contracts.
std::string make_signal_id(std::string_view strategy, const std::string& symbol, st::timeframe tf,
                           std::int64_t open_ms);

class signal_engine {
 public:
  explicit signal_engine(engine_config cfg);

  // md.bar.json payload. Throws input_error (counted as bad; nothing changed) on a bad payload.
  std::vector<outbound> on_bar_message(const nlohmann::json& body);
  // md.funding.json payload. Throws input_error.
  void on_funding_message(const nlohmann::json& body);
  // exec.position.json payload (flat -> on_position(nullopt)). Throws input_error.
  void on_position_message(const nlohmann::json& body);

  // The decoded bar: open_time, OHLCV; `now` is its close (market time).
  std::vector<outbound> on_bar(const std::string& symbol, st::timeframe tf, const st::bar& b, bool backfilled);

  [[nodiscard]] const engine_counters& counters() const { return counters_; }
  [[nodiscard]] std::optional<st::timestamp> market_time() const { return market_time_; }
  // Strategy refusals (text) since the last call, for the log.
  std::vector<std::string> take_errors();

 private:
  struct instance {
    std::string strategy;
    std::string symbol;
    std::vector<st::timeframe> tfs;
    std::unique_ptr<st::strategy> impl;
    std::string last_correlation;  // of the last proposal: an exit request carries it
  };
  struct held_position {
    st::direction dir = st::direction::flat;
    st::timestamp entry_time;
    st::timestamp last_ts;
  };

  std::vector<outbound> map_output(instance& in, const st::output& o, st::timeframe tf, const st::bar& b);
  void bad(const std::string& what);

  engine_config cfg_;
  std::vector<instance> instances_;
  std::map<std::pair<std::string, st::timeframe>, st::timestamp> last_open_;
  std::map<std::string, held_position> positions_;
  std::optional<st::timestamp> market_time_;
  engine_counters counters_;
  std::vector<std::string> errors_;
};

}  // namespace pt::signal_service
