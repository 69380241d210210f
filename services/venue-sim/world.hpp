#pragma once
// venue-sim's state: per protocol a simulated exchange and its replayer, fed from the recorded
// data by one replay thread on one clock; the accounts (API key + secret from the environment);
// and the fault plan. Every protocol handler takes `mutex` for the whole request, so the market
// and the accounts only ever change between requests.
//
// Two clocks, on purpose: the *market* time is the replay clock (the past being replayed), while
// the *server* time (/timestamp, /fapi/v1/time and the signature timestamp checks) is the wall
// clock plus any injected skew, as a real venue's would be — clients sign with their own clock.
#include "faults.hpp"
#include "replay/replay_clock.hpp"
#include "sim/cancel_countdown.hpp"
#include "sim/exchange.hpp"
#include "sim/replayer.hpp"
#include "venue/types.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pt::venue_sim {

enum class protocol { poloniex, binance };
[[nodiscard]] const char* to_string(protocol p);

struct api_account {
  std::string key;
  std::string secret;
  core::decimal balance;
  // What Binance's /sapi/v1/account/apiRestrictions reports for the key: a careful trading key by
  // default; POST /sim/keys changes it (tests of the live self-check).
  venue::key_permissions permissions{.reading = true, .futures_trading = true, .withdrawals = false, .ip_restricted = true};
};

struct world_options {
  std::string data_dir;                            // recorded data (../shared/data)
  std::string catalog_dir;                         // docs/markets
  std::vector<std::string> bases{"BTC", "ETH", "SOL"};  // replayed markets, quote USDT
  std::string base_timeframe = "1h";
  // The recording all markets come from (one period for every symbol); see ../shared/data/README.md.
  std::string source = "freqtrade_marketlab";
  std::optional<std::int64_t> start_ms;  // default: 30 days after the data starts
  replay::pace pace = replay::pace::realtime();
  std::uint64_t seed = 1;
  std::vector<api_account> accounts;
  std::vector<protocol> protocols{protocol::poloniex, protocol::binance};
  std::int64_t poloniex_default_leverage = 5;
  // Multiplies the request limits venue-sim publishes (Binance exchangeInfo rateLimits), which
  // clients pace themselves by. A lockstep replay runs market time a thousand times faster than
  // the venue's per-minute budgets assume: a fleet that asks for its account every 1h step would
  // otherwise wait out a minute's window every ~470 steps.
  std::int64_t rate_limit_scale = 1;
};

// Reads VENUE_SIM_ACCOUNTS="key:secret:balance[,key:secret:balance...]" (the only place secrets
// come from). Throws std::invalid_argument naming the entry (never its secret) when malformed.
[[nodiscard]] std::vector<api_account> accounts_from_env(const char* value);

// Events for the WebSocket layer: what changed, for whom.
struct world_events {
  std::function<void(protocol, sim::account_id, const venue::order&)> on_order;
  std::function<void(protocol, sim::account_id, const venue::fill&)> on_fill;
  std::function<void(protocol, sim::account_id, const venue::position&)> on_position;
  std::function<void(protocol, sim::account_id, const venue::balance&)> on_balance;
  std::function<void(protocol, const venue::public_trade&)> on_trade;
  // After each replay step: the market moved (books, tickers, candles may be pushed).
  std::function<void(protocol, const std::vector<std::string>& symbols)> on_market;
};

// A countdownCancelAll timer that ran out (kept for /sim/accounts).
struct countdown_fired {
  sim::account_id account = 0;
  std::string symbol;
  std::size_t cancelled = 0;  // regular open orders cancelled
  std::int64_t server_time_ms = 0;
  std::int64_t market_time_ms = 0;
};

class world {
 public:
  struct venue_state {
    protocol proto;
    std::unique_ptr<sim::exchange> exchange;
    std::unique_ptr<sim::market_replayer> replayer;
    std::vector<std::pair<api_account, sim::account_id>> keys;
    std::unique_ptr<sim::listener> listener;
    // Binance's countdownCancelAll timers, on countdown_now()'s clock; the last 256 that fired.
    sim::cancel_countdown countdowns;
    std::deque<countdown_fired> countdowns_fired;
    [[nodiscard]] const std::pair<api_account, sim::account_id>* find_key(std::string_view key) const;
  };

  explicit world(world_options options);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  // set_events replaces every listener; add_events adds one more (the WebSocket layers of both
  // protocols listen side by side). Each is called under mutex(), in the order added.
  void set_events(world_events events);
  void add_events(world_events events);
  // Starts the replay thread (pacing per the clock) and the countdown thread; stop() joins them.
  void start();
  void stop();

  [[nodiscard]] std::mutex& mutex() { return mutex_; }
  [[nodiscard]] venue_state* venue(protocol p);
  [[nodiscard]] replay::replay_clock& clock() { return *clock_; }
  [[nodiscard]] fault_plan& faults() { return faults_; }
  [[nodiscard]] const world_options& options() const { return options_; }

  // Market time (the replay position) and server time (wall clock + injected skew), in ms.
  [[nodiscard]] std::int64_t market_now() const;
  [[nodiscard]] std::int64_t server_now() const;
  // Lockstep: advance the market to t, replaying every event up to t here, under the world's lock:
  // an order arriving meanwhile waits for the whole step (deterministic fills).
  std::int64_t advance_to(std::int64_t t);
  [[nodiscard]] std::int64_t replay_events() const { return events_done_.load(); }
  // Market time of the newest replayed event (what the last stream pushes were stamped with);
  // market_now() may be past it after a lockstep step that ends between events.
  [[nodiscard]] std::int64_t last_event_time() const { return last_event_.load(); }
  // Every recorded event has been replayed; the market stands still from here.
  [[nodiscard]] bool replay_exhausted() const { return exhausted_.load(); }

  // countdownCancelAll (Binance): arms, re-arms or (countdown_ms <= 0) disarms the timer of
  // (account, symbol); when it runs out, the countdown thread cancels that account's regular open
  // orders of the symbol (exchange::cancel_all; conditional orders stay). The caller holds mutex().
  // The clock is the wall clock (monotonic), not market time: the heartbeat measures whether the
  // client is alive, and in lockstep market time stands still between steps (README).
  void set_countdown(protocol p, sim::account_id account, const std::string& symbol, std::int64_t countdown_ms);
  // The countdowns' clock: steady_clock in ms.
  [[nodiscard]] static std::int64_t countdown_now();

 private:
  void run(std::stop_token stop);
  void run_countdowns(std::stop_token stop);

  world_options options_;
  // Every venue's events at `at`, then the market listeners. Caller holds mutex_.
  void replay_at_locked(std::int64_t at);
  // The earliest event time still to replay over all venues (nullopt: exhausted). Caller holds mutex_.
  [[nodiscard]] std::optional<std::int64_t> next_event_locked() const;
  std::mutex mutex_;
  std::unique_ptr<replay::replay_clock> clock_;
  std::vector<venue_state> venues_;
  fault_plan faults_;
  std::vector<world_events> events_;
  std::condition_variable_any countdown_cv_;  // waits on mutex_
  bool countdown_changed_ = false;            // guarded by mutex_
  std::jthread thread_;
  std::jthread countdown_thread_;
  std::atomic<std::int64_t> events_done_{0};
  std::atomic<std::int64_t> market_now_{0};
  std::atomic<std::int64_t> last_event_{0};
  std::atomic<bool> exhausted_{false};
};

}  // namespace pt::venue_sim
