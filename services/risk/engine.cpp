#include "engine.hpp"

#include "risk/reasons.hpp"
#include "risk/sizing.hpp"
#include "risk/var.hpp"
#include "venue/catalog.hpp"

#include <algorithm>

namespace pt::risk_service {

namespace {

using json = nlohmann::json;

const std::string& str(const json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_string()) throw input_error(std::string("missing or non-string field: ") + key);
  return it->get_ref<const std::string&>();
}

decimal dec(const json& m, const char* key) {
  try {
    return decimal::parse(str(m, key));
  } catch (const core::decimal_error& e) {
    throw input_error(std::string("bad decimal in ") + key + ": " + e.what());
  }
}

std::optional<decimal> opt_dec(const json& m, const char* key) {
  if (!m.contains(key)) return std::nullopt;
  return dec(m, key);
}

timestamp ts_of(const json& m, const char* key = "ts") {
  try {
    return timestamp::parse_iso8601(str(m, key));
  } catch (const core::time_error& e) {
    throw input_error(std::string("bad time in ") + key + ": " + e.what());
  }
}

std::string clip(std::string s, std::size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

json check_json(const std::string& code, bool passed, const std::string& detail) {
  json c{{"code", code}, {"passed", passed}};
  if (!detail.empty()) c["detail"] = clip(detail, 1024);
  return c;
}

}  // namespace

std::map<std::string, risk::instrument> instruments_from_catalog(const std::filesystem::path& file,
                                                                 const std::map<std::string, int>& max_leverage) {
  venue::catalog_options o;
  o.mode = venue::catalog_mode::paper;
  o.now = core::system_clock::instance().now();
  const auto r = venue::load_catalog(file, o);
  if (!r.ok()) {
    std::string all = "catalog " + file.string() + " does not load:";
    for (const auto& e : r.errors) all += " " + e + ";";
    throw std::runtime_error(all);
  }
  std::map<std::string, risk::instrument> out;
  for (const auto& m : r.catalog->markets) {
    if (!m.tick || !m.lot) continue;  // a guessed filter could size a wrong order
    risk::instrument i;
    i.symbol = m.symbol;
    i.contract_size = m.contract_size.value_or(decimal::one());
    i.lot_size = *m.lot;
    i.min_qty = m.min_size.value_or(*m.lot);
    i.min_notional = decimal::zero();
    i.tick_size = *m.tick;
    i.max_leverage = m.max_leverage ? decimal::from_integer(*m.max_leverage) : decimal::zero();
    for (const auto& t : m.risk_tiers)
      if (t.tier == 1 && t.maintenance_margin_rate) i.maintenance_margin_rate = *t.maintenance_margin_rate;
    out.emplace(m.symbol, i);
  }
  for (const auto& [sym, lev] : max_leverage) {
    auto it = out.find(sym);
    if (it == out.end()) throw std::runtime_error("max_leverage names " + sym + ", which " + file.string() + " does not define with tick and lot");
    it->second.max_leverage = decimal::from_integer(lev);
  }
  return out;
}

engine::engine(engine_config cfg, timestamp start) : cfg_(std::move(cfg)), sm_(cfg_.limits) {
  if (cfg_.autonomous_at_start) sm_.enable_autonomous(start);
}

void engine::on_account(const json& m) {
  const auto ts = ts_of(m);
  equity_ = dec(m, "equity");
  margin_used_ = opt_dec(m, "margin_used").value_or(decimal::zero());
  if (m.contains("reconciled") && m["reconciled"].is_boolean()) reconciled_ = m["reconciled"].get<bool>();
  account_seen_ = true;
  account_sync_id_ = m.contains("sync_id") && m["sync_id"].is_string() ? m["sync_id"].get<std::string>() : std::string();
  market_now_ = std::max(market_now_, ts);
  sm_.on_equity(ts, equity_);
  const auto day = sm_.equity().utc_day();
  if (day != last_day_) {
    last_day_ = day;
    day_closes_.push_back(sm_.equity().day_open());
    if (day_closes_.size() > 400) day_closes_.erase(day_closes_.begin());
  }
}

void engine::restore_equity(const equity_snapshot& s) {
  if (s.day_open.is_positive()) sm_.on_equity(s.at, s.day_open);
  if (s.peak.is_positive()) sm_.on_equity(s.at, s.peak);
  if (sm_.equity().has_value() && sm_.equity().utc_day() != last_day_) {
    last_day_ = sm_.equity().utc_day();
    day_closes_.push_back(sm_.equity().day_open());
  }
}

void engine::on_position(const json& m) {
  const auto& symbol = str(m, "symbol");
  const auto& side = str(m, "side");
  const auto qty = dec(m, "qty");
  const auto ts = ts_of(m);
  const bool was_open = positions_.count(symbol) > 0;
  if (side == "flat" || !qty.is_positive()) {
    positions_.erase(symbol);
    // A position that goes flat is a closed trade for the loss breakers.
    if (was_open) sm_.on_trade_closed(ts, symbol, dec(m, "realized_pnl"), false);
    return;
  }
  position p;
  p.direction = side == "short" ? risk::side::sell : risk::side::buy;
  p.qty = qty;
  p.price = opt_dec(m, "mark_price").value_or(dec(m, "entry_price"));
  positions_[symbol] = p;
  // The approved entry is now a reported position once it is filled in full (a partial fill
  // still counts the approved quantity until the TTL).
  if (auto pe = pending_.find(symbol); pe != pending_.end() && qty >= pe->second.pos.qty) pending_.erase(pe);
}

void engine::on_bar(const json& m) {
  if (str(m, "tf") != cfg_.atr_timeframe) return;
  if (m.contains("closed") && m["closed"].is_boolean() && !m["closed"].get<bool>()) return;
  const auto close_ts = ts_of(m, "close_ts");
  auto& s = md_[str(m, "symbol")];
  if (s.atr && close_ts <= s.last_bar_close) return;  // history older than what the ATR has seen
  if (!s.atr) s.atr.emplace(cfg_.atr_period);
  s.atr->update(dec(m, "high").to_double(), dec(m, "low").to_double(), dec(m, "close").to_double());
  s.last_bar_close = close_ts;
}

void engine::on_mark(const json& m) { md_[str(m, "symbol")].mark = dec(m, "mark_price"); }

void engine::on_funding(const json& m) {
  // md.funding's rate is signed: parse it as a plain decimal.
  md_[str(m, "symbol")].funding = dec(m, "rate");
}

void engine::on_guardian(const json& m, timestamp wall_now) {
  if (!m.contains("mark_fresh") || !m["mark_fresh"].is_boolean()) throw input_error("guardian.status without mark_fresh");
  guardian_at_ = wall_now;
  guardian_fresh_ = m["mark_fresh"].get<bool>();
  if (cfg_.guardian_required) sm_.on_guardian(wall_now, !guardian_fresh_);
}

std::optional<decimal> engine::atr(const std::string& symbol) const {
  auto it = md_.find(symbol);
  if (it == md_.end() || !it->second.atr || !it->second.atr->value()) return std::nullopt;
  // Rounded down: a smaller ATR makes "stop <= 3 x ATR" stricter, never looser.
  return risk::to_decimal(*it->second.atr->value(), core::rounding::down);
}

std::vector<risk::open_position> engine::open_positions() const {
  std::vector<risk::open_position> out;
  std::map<std::string, position> all = positions_;
  for (const auto& [sym, pe] : pending_)
    if (market_now_ < pe.until && (!all.count(sym) || all[sym].qty < pe.pos.qty)) all[sym] = pe.pos;
  for (const auto& [sym, p] : all) {
    auto inst = cfg_.instruments.find(sym);
    const decimal cs = inst == cfg_.instruments.end() ? decimal::one() : inst->second.contract_size;
    // Marked to market, as the leverage and exposure checks need: the newest md mark of the
    // symbol; without one, exec.position's mark_price or (execution sends none) its entry price.
    // Valued at its entry price, a position whose price had risen counted less notional than it
    // carries, and the property test found entries approved over the leverage cap that way.
    decimal px = p.price;
    if (const auto m = md_.find(sym); m != md_.end() && m->second.mark && m->second.mark->is_positive()) px = *m->second.mark;
    out.push_back(risk::open_position{sym, p.direction, core::mul(core::mul(p.qty, cs, core::rounding::ceil), px, core::rounding::ceil)});
  }
  return out;
}

equity_snapshot engine::equity() const {
  const auto& e = sm_.equity();
  // `at` is the start of the tracker's UTC day: restoring it reopens that same day.
  return {e.utc_day(), e.day_open(), e.peak(), e.last(), timestamp::from_seconds(e.utc_day() * 86400)};
}

decision engine::decide(const json& p, timestamp wall_now) {
  decision d;
  json base;
  std::string proposal_ts;
  auto reject = [&](const std::string& code, const std::string& reason, json checks) {
    d.approved = false;
    d.subject = "risk.decision.rejected";
    d.body = base;
    d.body["reason_code"] = code;
    d.body["reason"] = clip(reason, 4096);
    if (!checks.empty()) d.body["checks"] = std::move(checks);
    return d;
  };
  // Identity first: without these there is no decision message to give.
  base = {{"decision_id", "d-" + p.value("proposal_id", std::string("unknown"))},
          {"proposal_id", p.value("proposal_id", std::string("unknown"))},
          {"correlation_id", p.value("correlation_id", p.value("proposal_id", std::string("unknown")))},
          {"venue", p.value("venue", cfg_.venue)},
          {"symbol", p.value("symbol", std::string("unknown"))},
          {"ts", p.value("ts", wall_now.to_iso8601())}};
  timestamp now;
  risk::side dir{};
  risk::order_type type{};
  decimal stop;
  std::optional<decimal> entry_given, tp;
  std::string symbol;
  try {
    now = ts_of(p);
    symbol = str(p, "symbol");
    (void)str(p, "proposal_id");
    const auto& s = str(p, "side");
    if (s != "buy" && s != "sell") throw input_error("side must be buy or sell");
    dir = s == "buy" ? risk::side::buy : risk::side::sell;
    const auto& ot = str(p, "order_type");
    if (ot != "market" && ot != "limit") throw input_error("order_type must be market or limit");
    type = ot == "market" ? risk::order_type::market : risk::order_type::limit;
    stop = dec(p, "stop_loss");
    entry_given = opt_dec(p, "entry_price");
    tp = opt_dec(p, "take_profit");
    if (str(p, "venue") != cfg_.venue) throw input_error("venue " + str(p, "venue") + " is not this risk service's " + cfg_.venue);
  } catch (const input_error& e) {
    return reject(std::string(risk::to_string(risk::reason_code::invalid_input)), e.what(), json::array());
  }
  market_now_ = std::max(market_now_, now);
  // Cooldowns that ended by the proposal's market time end now, not whenever the next periodic
  // tick or exec.account arrives (wall-clock timers): the same replay then decides the same way.
  sm_.tick(now);
  auto inst_it = cfg_.instruments.find(symbol);
  if (inst_it == cfg_.instruments.end())
    return reject("INVALID_INPUT", "no instrument data (lot, contract size) for " + symbol, json::array());
  const auto& inst = inst_it->second;
  const auto mit = md_.find(symbol);
  std::optional<decimal> mark, funding;
  if (mit != md_.end()) {
    mark = mit->second.mark;
    funding = mit->second.funding;
  }
  const auto entry = entry_given ? entry_given : mark;
  if (!entry || !entry->is_positive())
    return reject("INVALID_INPUT", "no entry price: the proposal has none and no mark price is known for " + symbol, json::array());
  if (!account_seen_) return reject("INVALID_INPUT", "no exec.account received yet: equity unknown", json::array());

  const auto open = open_positions();
  risk::sizing_request sr;
  sr.equity = equity_;
  sr.direction = dir;
  sr.entry = *entry;
  sr.stop = stop;
  sr.inst = inst;
  sr.open = open;
  sr.funding_rate = funding;
  const auto sz = risk::size_position(cfg_.limits, sr);

  risk::checklist_input ci;
  ci.now = now;
  ci.entries_allowed = sm_.allows_entry();
  ci.order.symbol = symbol;
  ci.order.direction = dir;
  ci.order.type = type;
  ci.order.quantity = sz.ok() ? sz.quantity : decimal::zero();
  ci.order.price = *entry;
  ci.order.stop = stop;
  ci.inst = inst;
  ci.account.equity = equity_;
  ci.account.day_open_equity = sm_.equity().has_value() ? sm_.equity().day_open() : decimal::zero();
  ci.account.peak_equity = sm_.equity().has_value() ? sm_.equity().peak() : decimal::zero();
  ci.account.maintenance_margin = margin_used_;  // initial margin >= maintenance: conservative
  ci.account.positions = open;
  ci.losses = sm_.stats(now, symbol);
  ci.market.atr = atr(symbol);
  ci.market.funding_rate = funding;
  const auto res = risk::evaluate_checklist(cfg_.limits, ci);

  json checks = json::array();
  std::vector<std::pair<std::string, std::string>> failures;  // code, detail
  for (const auto& c : res.checks) {
    checks.push_back(check_json(std::string(risk::to_string(c.code)), c.passed, c.detail));
    // With no size the order checks fail only because of the size: sizing says why.
    const bool from_size = !sz.ok() && (c.code == risk::reason_code::order_quantity || c.code == risk::reason_code::order_notional);
    if (!c.passed && !from_size) failures.emplace_back(std::string(risk::to_string(c.code)), c.detail);
  }
  if (cfg_.guardian_required) {
    const bool fresh = guardian_at_ && wall_now - *guardian_at_ <= cfg_.guardian_max_age && guardian_fresh_;
    const std::string detail = !guardian_at_ ? "no guardian.status received"
                               : !guardian_fresh_ ? "guardian reports its mark stream stale"
                               : fresh ? "guardian fresh" : "guardian.status older than " + std::to_string(cfg_.guardian_max_age.count()) + " ms";
    checks.push_back(check_json("GUARDIAN_PROTECTION", fresh, detail));
    if (!fresh) failures.emplace_back("GUARDIAN_PROTECTION", detail);
  }
  checks.push_back(check_json("RECONCILIATION", reconciled_, reconciled_ ? "account reconciled" : "execution reports a reconciliation difference"));
  if (!reconciled_) failures.emplace_back("RECONCILIATION", "execution reports a reconciliation difference");
  {
    std::string steps;
    for (const auto& s : sz.steps) steps += (steps.empty() ? "" : "; ") + s;
    const std::string code = sz.ok() ? "SIZING" : std::string(risk::to_string(*sz.reject));
    checks.push_back(check_json(code, sz.ok(), sz.ok() ? steps : sz.detail));
    if (!sz.ok()) failures.emplace_back(code, sz.detail);
  }

  if (!failures.empty()) {
    std::string text;
    for (const auto& [code, detail] : failures) text += (text.empty() ? "" : "; ") + code + ": " + detail;
    return reject(failures.front().first, text, std::move(checks));
  }
  d.approved = true;
  for (auto it = pending_.begin(); it != pending_.end();) it = market_now_ < it->second.until ? std::next(it) : pending_.erase(it);
  pending_[symbol] = {position{dir, sz.quantity, *entry}, now + cfg_.pending_entry_ttl};
  d.subject = "risk.decision.approved";
  d.body = base;
  d.body["side"] = dir == risk::side::buy ? "buy" : "sell";
  d.body["order_type"] = type == risk::order_type::market ? "market" : "limit";
  d.body["quantity"] = sz.quantity.to_string();
  d.body["price"] = entry->to_string();
  d.body["stop_loss"] = stop.to_string();
  if (tp) d.body["take_profit"] = tp->to_string();
  d.body["risk_amount"] = sz.risk_amount.to_string();
  d.body["leverage"] = sz.leverage.to_string();
  d.body["checks"] = std::move(checks);
  return d;
}

json engine::metrics(timestamp now) const {
  const auto& e = sm_.equity();
  const bool known = e.has_value();
  const decimal eq = known ? e.last() : decimal::zero();
  const decimal peak = known ? e.peak() : decimal::zero();
  const decimal open = known ? e.day_open() : decimal::zero();
  json m{{"venue", cfg_.venue},
         {"equity", eq.to_string()},
         {"peak_equity", peak.to_string()},
         {"drawdown_pct", (peak.is_positive() ? core::mul(risk::current_drawdown(peak, eq), decimal::from_integer(100), core::rounding::ceil)
                                              : decimal::zero()).to_string()},
         {"daily_pnl", (eq - open).to_string()},
         {"state", std::string(risk::to_string(sm_.state()))},
         {"open_positions", positions_.size()},
         {"consecutive_losses", sm_.stats(market_now_, "").consecutive_losses},
         {"ts", now.to_iso8601()}};
  if (known) m["day_open_equity"] = open.to_string();
  if (!account_sync_id_.empty()) m["account_sync_id"] = account_sync_id_;
  // VaR of the account from its own daily equity returns (day open to day open, then to now).
  std::vector<std::vector<double>> returns;
  std::vector<double> closes;
  for (const auto& c : day_closes_) closes.push_back(c.to_double());
  if (known) closes.push_back(eq.to_double());
  for (std::size_t i = 1; i < closes.size(); ++i)
    if (closes[i - 1] > 0) returns.push_back({closes[i] / closes[i - 1] - 1.0});
  m["var_observations"] = returns.size();
  if (returns.size() >= 2 && eq.is_positive()) {
    try {
      m["var_historical_99"] = risk::historical_var(returns, std::vector<decimal>{eq}).to_string();
      m["var_parametric_99"] = risk::parametric_var(returns, std::vector<decimal>{eq}).to_string();
    } catch (const std::exception&) {
      // Not enough usable history: the figures are left out rather than guessed.
    }
  }
  return m;
}

json engine::status() const {
  json breakers = json::array();
  for (const auto& b : sm_.breakers()) breakers.push_back(std::string(risk::to_string(b.id)));
  json s{{"state", std::string(risk::to_string(sm_.state()))},
         {"entries_allowed", sm_.allows_entry()},
         {"kill_switch", sm_.must_flatten()},
         {"breakers", breakers},
         {"venue", cfg_.venue}};
  if (sm_.kill_reason()) s["kill_reason"] = *sm_.kill_reason();
  if (sm_.equity().has_value()) {
    s["equity"] = sm_.equity().last().to_string();
    s["day_open_equity"] = sm_.equity().day_open().to_string();
    s["peak_equity"] = sm_.equity().peak().to_string();
  }
  return s;
}

}  // namespace pt::risk_service
