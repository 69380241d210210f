#include "protection_book.hpp"

#include "core/time.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace pt::guardian {

namespace {

constexpr std::size_t finished_memory = 4096;

std::string iso(std::int64_t ms) { return core::timestamp::from_millis(ms).to_iso8601(); }

bool crosses_stop(const protection& p, decimal mark) {
  return p.side == pos_side::long_side ? mark <= p.stop : mark >= p.stop;
}
bool crosses_tp(const protection& p, decimal mark) {
  if (!p.take_profit) return false;
  return p.side == pos_side::long_side ? mark >= *p.take_profit : mark <= *p.take_profit;
}
// The venue's position belongs to this protection when it is open on the same side.
bool open_for(const protection& p, decimal qty) {
  return p.side == pos_side::long_side ? qty > decimal::zero() : qty < decimal::zero();
}

pos_side parse_side(const std::string& s) {
  if (s == "long") return pos_side::long_side;
  if (s == "short") return pos_side::short_side;
  throw state_error("guardian state: bad side '" + s + "'");
}

}  // namespace

const char* to_string(pos_side s) { return s == pos_side::long_side ? "long" : "short"; }

std::string guard_client_id(const std::string& protection_id, std::uint32_t attempt) {
  const std::string in = protection_id + ":guard-" + std::to_string(attempt);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(in.data(), in.size(), md, &n, EVP_sha256(), nullptr) != 1) throw std::runtime_error("sha256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out = "pt";
  for (unsigned i = 0; i < n && out.size() < 32; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out.substr(0, 32);
}

void protection_book::queue(const protection& p, const std::string& state, std::int64_t now_ms,
                            const std::string& detail, std::optional<decimal> mark) {
  nlohmann::json b{{"protection_id", p.id}, {"venue", p.venue.empty() ? venue_ : p.venue}, {"symbol", p.symbol},
                   {"state", state}, {"ts", iso(now_ms)}};
  if (!p.correlation_id.empty()) b["correlation_id"] = p.correlation_id;
  if (state != "failed" || p.stop > decimal::zero()) {
    b["position_side"] = to_string(p.side);
    if (p.stop > decimal::zero()) b["stop_price"] = p.stop.to_string();
    if (p.take_profit) b["take_profit"] = p.take_profit->to_string();
  }
  if (mark && !mark->is_negative()) b["mark_price"] = mark->to_string();
  if (!detail.empty()) b["detail"] = detail.substr(0, 4000);
  outbox_.push_back({p.id + ":" + state, std::move(b)});
  touch();
}

void protection_book::finish(const std::string& id) {
  protections_.erase(id);
  if (finished_.insert(id).second) {
    finished_order_.push_back(id);
    while (finished_order_.size() > finished_memory) {
      finished_.erase(finished_order_.front());
      finished_order_.pop_front();
    }
  }
  touch();
}

arm_result protection_book::arm(const arm_request& r, std::int64_t now_ms, std::string* why) {
  if (auto it = protections_.find(r.protection_id); it != protections_.end()) {
    // The same protection armed again with another stop: execution moved it (a trailing stop,
    // the kill switch's tightened stop). Applied while still armed; checked against the last mark
    // at once. A redelivery of the same arm changes nothing.
    protection& p = it->second;
    if (p.ph != phase::armed || !r.stop || *r.stop <= decimal::zero() || *r.stop == p.stop ||
        (r.side && *r.side != p.side))
      return arm_result::duplicate;
    if (r.stop_version && *r.stop_version <= p.stop_version) return arm_result::duplicate;  // an older arm
    const std::optional<decimal> tp = r.take_profit ? r.take_profit : p.take_profit;
    if (tp && (p.side == pos_side::long_side ? *tp <= *r.stop : *tp >= *r.stop)) {
      if (why) *why = "moved stop on the wrong side of take_profit";
      // Answered (with the stop kept), so the sender does not wait for an armed that never comes.
      queue(p, "armed", now_ms, "move refused: stop past the take-profit; stop kept");
      outbox_.back().msg_id += ":refused:" + r.stop->to_string();
      return arm_result::move_refused;
    }
    if (r.stop_version) p.stop_version = *r.stop_version;
    p.stop = *r.stop;
    p.take_profit = tp;
    queue(p, "armed", now_ms, "stop moved");
    outbox_.back().msg_id += ":" + p.stop.to_string();  // one report per move (JetStream dedupes by id)
    if (auto m = marks_.find(p.symbol); m != marks_.end()) check(p.symbol, m->second.price, now_ms);
    return arm_result::moved;
  }
  if (finished_.count(r.protection_id)) return arm_result::finished;
  protection p;
  p.id = r.protection_id;
  p.correlation_id = r.correlation_id;
  p.venue = r.venue;
  p.symbol = r.symbol;
  if (r.side) p.side = *r.side;
  if (r.stop) p.stop = *r.stop;
  p.stop_version = r.stop_version.value_or(0);
  p.take_profit = r.take_profit;
  p.armed_at_ms = now_ms;
  std::string reason;
  if (killswitch_)
    reason = "kill switch active: no new protections";
  else if (r.venue != venue_)
    reason = "this guardian holds " + venue_ + " stops, not " + r.venue;
  else if (!r.side)
    reason = "position_side missing";
  else if (!r.stop || *r.stop <= decimal::zero())
    reason = "stop_price missing or not positive";
  else if (r.take_profit && (r.side == pos_side::long_side ? *r.take_profit <= *r.stop : *r.take_profit >= *r.stop))
    reason = "take_profit on the wrong side of stop_price";
  if (!reason.empty()) {
    if (why) *why = reason;
    queue(p, "failed", now_ms, reason);
    finish(p.id);  // a redelivery of the same arm must not be judged twice
    return arm_result::refused;
  }
  protections_.emplace(p.id, p);
  queue(p, "armed", now_ms);
  // A mark already past the stop triggers at once.
  if (auto it = marks_.find(p.symbol); it != marks_.end()) check(p.symbol, it->second.price, now_ms);
  return arm_result::armed;
}

bool protection_book::release(const std::string& id, std::int64_t now_ms) {
  auto it = protections_.find(id);
  if (it == protections_.end()) {
    if (!finished_.count(id)) finish(id);
    return false;
  }
  queue(it->second, "released", now_ms);
  finish(id);
  return true;
}

std::vector<std::string> protection_book::on_mark(const std::string& symbol, decimal mark, std::int64_t now_ms) {
  marks_[symbol] = {mark, now_ms};
  return check(symbol, mark, now_ms);
}

std::vector<std::string> protection_book::check(const std::string& symbol, decimal mark, std::int64_t now_ms) {
  std::vector<std::string> out;
  for (auto& [id, p] : protections_) {
    if (p.symbol != symbol || p.ph != phase::armed) continue;
    const bool stop = crosses_stop(p, mark);
    const bool tp = !stop && crosses_tp(p, mark);
    if (!stop && !tp) continue;
    p.ph = phase::triggered;
    p.reason = stop ? "stop" : "take_profit";
    p.trigger_mark = mark;
    queue(p, "triggered", now_ms, p.reason == "stop" ? "stop crossed" : "take-profit crossed", mark);
    out.push_back(id);
  }
  return out;
}

std::vector<protection> protection_book::on_position(const std::string& symbol, decimal qty, std::int64_t now_ms) {
  positions_[symbol] = qty;
  std::vector<protection> closed;
  std::vector<std::string> drop;
  for (auto& [id, p] : protections_) {
    if (p.symbol != symbol) continue;
    const bool open = open_for(p, qty);
    if (p.ph == phase::triggered) {
      if (open) {
        if (p.order_live) ++p.open_polls_after_order;
        continue;
      }
      // Ours went out (or the position went away meanwhile): either way it is flat now.
      if (p.order_live || ++p.flat_polls >= 2) {
        queue(p, "closed", now_ms, p.order_live ? "position flat after the guardian's close" : "position flat",
              p.trigger_mark);
        drop.push_back(id);
      }
      continue;
    }
    if (open) {
      p.flat_polls = 0;
      continue;
    }
    if (++p.flat_polls >= 2) {
      queue(p, "closed", now_ms, "position flat by other means");
      drop.push_back(id);
    } else {
      touch();
    }
  }
  for (const auto& id : drop) {
    closed.push_back(protections_.at(id));
    finish(id);
  }
  return closed;
}

std::vector<close_request> protection_book::due_closes() const {
  std::vector<close_request> out;
  std::set<std::string> symbols_busy;
  for (const auto& [id, p] : protections_) {
    if (p.ph != phase::triggered) continue;
    auto pos = positions_.find(p.symbol);
    if (pos == positions_.end() || !open_for(p, pos->second)) continue;
    // One closing order per symbol at a time: the first reduce-only closes the whole position.
    if (!symbols_busy.insert(p.symbol).second) continue;
    // A live order gets two polls to show in the position before it is looked at again.
    if (p.order_live && p.open_polls_after_order < 2) continue;
    close_request c;
    c.protection_id = id;
    c.symbol = p.symbol;
    c.side = p.side;
    c.qty = core::abs(pos->second);
    c.attempt = p.attempt;
    c.client_id = guard_client_id(id, p.attempt);
    c.query_first = true;  // cheap, and the only safe way after a crash or an ambiguous answer
    out.push_back(std::move(c));
  }
  return out;
}

void protection_book::order_result(const std::string& protection_id, order_outcome o) {
  auto it = protections_.find(protection_id);
  if (it == protections_.end()) return;
  auto& p = it->second;
  switch (o) {
    case order_outcome::live:
      if (!p.order_live) p.open_polls_after_order = 0;
      p.order_live = true;
      break;
    case order_outcome::dead:
      ++p.attempt;
      p.order_live = false;
      p.open_polls_after_order = 0;
      break;
    case order_outcome::unknown:
      break;
  }
  touch();
}

status_view protection_book::status(std::int64_t now_ms, std::int64_t stale_after_ms,
                                    const std::vector<std::string>& configured) const {
  status_view s;
  s.armed = protections_.size();
  std::set<std::string> symbols = armed_symbols();
  if (symbols.empty()) symbols.insert(configured.begin(), configured.end());
  for (const auto& sym : symbols) {
    auto age = mark_age_ms(sym, now_ms);
    if (!age || *age > stale_after_ms) s.stale_symbols.push_back(sym);
  }
  s.mark_fresh = s.stale_symbols.empty();
  return s;
}

std::set<std::string> protection_book::armed_symbols() const {
  std::set<std::string> s;
  for (const auto& [id, p] : protections_) s.insert(p.symbol);
  return s;
}

std::optional<std::int64_t> protection_book::mark_age_ms(const std::string& symbol, std::int64_t now_ms) const {
  auto it = marks_.find(symbol);
  if (it == marks_.end()) return std::nullopt;
  return now_ms - it->second.at_ms;
}

std::optional<decimal> protection_book::mark(const std::string& symbol) const {
  auto it = marks_.find(symbol);
  if (it == marks_.end()) return std::nullopt;
  return it->second.price;
}

void protection_book::pop_report(const std::string& msg_id) {
  if (!outbox_.empty() && outbox_.front().msg_id == msg_id) {
    outbox_.pop_front();
    touch();
  }
}

nlohmann::json protection_book::to_json() const {
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& [id, p] : protections_) {
    nlohmann::json j{{"id", p.id},
                     {"correlation_id", p.correlation_id},
                     {"venue", p.venue},
                     {"symbol", p.symbol},
                     {"side", to_string(p.side)},
                     {"stop", p.stop.to_string()},
                     {"phase", p.ph == phase::armed ? "armed" : "triggered"},
                     {"reason", p.reason},
                     {"trigger_mark", p.trigger_mark.to_string()},
                     {"attempt", p.attempt},
                     {"order_live", p.order_live},
                     {"flat_polls", p.flat_polls},
                     {"armed_at_ms", p.armed_at_ms},
                     {"stop_version", p.stop_version}};
    if (p.take_profit) j["take_profit"] = p.take_profit->to_string();
    ps.push_back(std::move(j));
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : outbox_) out.push_back({{"msg_id", r.msg_id}, {"body", r.body}});
  return {{"version", 1},
          {"venue", venue_},
          {"killswitch", killswitch_},
          {"protections", ps},
          {"finished", finished_order_},
          {"outbox", out}};
}

void protection_book::from_json(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.at("version").get<int>() != 1) throw state_error("guardian state: unknown version");
    if (j.at("venue").get<std::string>() != venue_)
      throw state_error("guardian state: written for venue " + j.at("venue").get<std::string>() + ", not " + venue_);
    std::map<std::string, protection> ps;
    for (const auto& x : j.at("protections")) {
      protection p;
      p.id = x.at("id").get<std::string>();
      p.correlation_id = x.at("correlation_id").get<std::string>();
      p.venue = x.at("venue").get<std::string>();
      p.symbol = x.at("symbol").get<std::string>();
      p.side = parse_side(x.at("side").get<std::string>());
      p.stop = decimal::parse(x.at("stop").get<std::string>());
      if (x.contains("take_profit")) p.take_profit = decimal::parse(x.at("take_profit").get<std::string>());
      p.ph = x.at("phase").get<std::string>() == "triggered" ? phase::triggered : phase::armed;
      p.reason = x.at("reason").get<std::string>();
      p.trigger_mark = decimal::parse(x.at("trigger_mark").get<std::string>());
      p.attempt = x.at("attempt").get<std::uint32_t>();
      p.order_live = x.at("order_live").get<bool>();
      p.flat_polls = x.at("flat_polls").get<int>();
      p.armed_at_ms = x.at("armed_at_ms").get<std::int64_t>();
      p.stop_version = x.value("stop_version", std::int64_t{0});
      ps.emplace(p.id, p);
    }
    std::deque<report> ob;
    for (const auto& x : j.at("outbox")) ob.push_back({x.at("msg_id").get<std::string>(), x.at("body")});
    protections_ = std::move(ps);
    outbox_ = std::move(ob);
    finished_.clear();
    finished_order_.clear();
    for (const auto& id : j.at("finished")) {
      finished_order_.push_back(id.get<std::string>());
      finished_.insert(finished_order_.back());
    }
    killswitch_ = j.at("killswitch").get<bool>();
    touch();
  } catch (const state_error&) {
    throw;
  } catch (const std::exception& e) {
    throw state_error(std::string("guardian state: ") + e.what());
  }
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp);
  std::size_t off = 0;
  while (off < text.size()) {
    const auto n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("write failed: " + tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("rename failed: " + path);
}

}  // namespace pt::guardian
