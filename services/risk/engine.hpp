#pragma once
// The risk service's decision engine, without NATS or PostgreSQL: it folds the inputs
// (exec.account, exec.position.*, md bars/mark/funding, guardian.status, operator commands) into
// libs/risk's state machine and answers each trade.proposed with the approved or rejected
// decision message (risk.decision.*.json). main.cpp adds the bus, the ledger and idempotency.
//
// Time: decisions use market time (the proposal's ts); the UTC day of the equity tracker is
// exec.account's ts; guardian freshness uses the wall clock the caller passes.
#include "core/decimal.hpp"
#include "core/time.hpp"
#include "indicators/indicators.hpp"
#include "risk/checklist.hpp"
#include "risk/limits.hpp"
#include "risk/state.hpp"
#include "risk/types.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pt::risk_service {

using core::decimal;
using core::timestamp;

// A message the engine cannot use (missing or malformed field). The caller logs and drops it.
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct engine_config {
  std::string venue = "poloniex";      // bus venue name (poloniex | binance | sim)
  risk::risk_config limits;            // only tighter than libs/risk's hard caps
  bool autonomous_at_start = false;
  bool guardian_required = false;      // poloniex: entries need a fresh guardian.status
  std::chrono::milliseconds guardian_max_age{3000};  // wall clock since the last guardian.status
  // An approved entry counts as an open position until execution reports the position (or this
  // much market time passes: refused, unfilled), so a second proposal decided before the first
  // entry's exec.position cannot pass the position, leverage and exposure limits twice.
  std::chrono::milliseconds pending_entry_ttl{120000};
  std::string atr_timeframe = "4h";
  int atr_period = 14;
  std::map<std::string, risk::instrument> instruments;  // by venue symbol
};

// Venue filters from a market catalog (docs/markets/*.json, venue::load_catalog). Markets
// without tick or lot are left out; a missing max leverage stays 0 (unknown: no entry) unless
// `max_leverage` names the symbol. Throws std::runtime_error naming the file and the problems.
[[nodiscard]] std::map<std::string, risk::instrument> instruments_from_catalog(
    const std::filesystem::path& file, const std::map<std::string, int>& max_leverage = {});

struct decision {
  bool approved = false;
  std::string subject;  // risk.decision.approved | risk.decision.rejected
  nlohmann::json body;  // valid against the subject's schema
  [[nodiscard]] std::string decision_id() const { return body.value("decision_id", ""); }
};

// What the equity tracker knew, for the ledger and the restart.
struct equity_snapshot {
  std::int64_t utc_day = 0;
  decimal day_open, peak, last;
  timestamp at;
};

class engine {
 public:
  // `start` stamps the autonomous_at_start enable; market time starts at the first input.
  explicit engine(engine_config cfg, timestamp start);

  // Inputs; each throws input_error for a message it cannot use.
  void on_account(const nlohmann::json& m);
  void on_position(const nlohmann::json& m);
  void on_bar(const nlohmann::json& m);  // only closed bars of atr_timeframe count
  void on_mark(const nlohmann::json& m);
  void on_funding(const nlohmann::json& m);
  void on_guardian(const nlohmann::json& m, timestamp wall_now);
  void on_exit() { ++exits_; }

  // Restart: the day-open and peak equity the ledger recorded; s.at must lie in s.utc_day (a
  // later exec.account on another UTC day opens a new day as usual).
  void restore_equity(const equity_snapshot& s);

  // Sizing + checklist for one trade.proposed. Never throws for a bad proposal: it is rejected
  // (INVALID_INPUT) with the reason.
  [[nodiscard]] decision decide(const nlohmann::json& proposal, timestamp wall_now);

  // Operator commands (already authenticated).
  void enable_autonomous(timestamp now) { sm_.enable_autonomous(now); }
  void disable_autonomous(timestamp now) { sm_.disable_autonomous(now); }
  void trigger_kill_switch(timestamp now, std::string reason) { sm_.trigger_kill_switch(now, std::move(reason)); }
  void reset_kill_switch(timestamp now) { sm_.reset_kill_switch(now); }
  void safe_stop(timestamp now) { sm_.safe_stop(now); }
  void tick(timestamp now) { sm_.tick(now); }

  [[nodiscard]] const risk::trading_state_machine& state() const { return sm_; }
  [[nodiscard]] std::vector<risk::state_event> take_events() { return sm_.take_events(); }
  [[nodiscard]] equity_snapshot equity() const;
  [[nodiscard]] bool has_equity() const { return sm_.equity().has_value(); }
  [[nodiscard]] timestamp market_now() const { return market_now_; }
  // risk.metrics body at `now` (wall clock for ts).
  [[nodiscard]] nlohmann::json metrics(timestamp now) const;
  // ctl.reply `state` object.
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] const engine_config& config() const { return cfg_; }
  [[nodiscard]] std::optional<decimal> atr(const std::string& symbol) const;

 private:
  struct symbol_market {
    std::optional<indicators::atr> atr;
    timestamp last_bar_close;
    std::optional<decimal> mark, funding;
  };
  struct position {
    risk::side direction = risk::side::buy;
    decimal qty, price;  // venue units; mark (or entry) price
  };
  [[nodiscard]] std::vector<risk::open_position> open_positions() const;

  engine_config cfg_;
  risk::trading_state_machine sm_;
  std::map<std::string, symbol_market> md_;
  std::map<std::string, position> positions_;
  struct pending_entry {
    position pos;
    timestamp until;  // market time
  };
  std::map<std::string, pending_entry> pending_;  // approved, not yet reported by execution
  decimal equity_, margin_used_;
  bool account_seen_ = false;
  std::string account_sync_id_;  // the newest exec.account's sync_id (metrics name it: a conductor waits for it)
  bool reconciled_ = true;
  timestamp market_now_;  // newest market time seen (proposal or account ts)
  std::optional<timestamp> guardian_at_;  // wall clock of the last guardian.status
  bool guardian_fresh_ = false;
  std::vector<decimal> day_closes_;  // equity at each UTC day open, for VaR (oldest first)
  std::int64_t last_day_ = 0;
  std::uint64_t exits_ = 0;
};

}  // namespace pt::risk_service
