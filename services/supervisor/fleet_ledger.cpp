#include "fleet_ledger.hpp"

#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "ledger/appender.hpp"
#include "ledger/config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace pt::supervisor {
namespace {

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ledger_health from_report(const ledger::health_report& r) {
  return {r.healthy, r.unavailable_for, r.buffered, r.last_error};
}

nlohmann::json to_json(const ledger::event& e) {
  auto payload = nlohmann::json::parse(e.payload, nullptr, false);
  return {{"event_id", e.event_id},
          {"type", std::string(ledger::to_string(e.type))},
          {"stream_id", e.stream_id},
          {"correlation_id", e.correlation_id},
          {"causation_id", e.causation_id},
          {"payload", payload.is_discarded() ? nlohmann::json(e.payload) : payload},
          {"occurred_at_ns", e.occurred_at_ns}};
}

}  // namespace

fleet_ledger::fleet_ledger(const ledger::config& cfg) : run_id_(core::uuid::random().to_string()) {
  ledger::appender_hooks hooks;
  hooks.on_health = [this](const ledger::health_report& r) {
    std::function<void(const ledger_health&)> fn;
    {
      std::lock_guard lock(mu_);
      fn = on_health_;
    }
    if (fn) fn(from_report(r));
  };
  appender_ = std::make_unique<ledger::appender>(cfg, std::move(hooks));
}

fleet_ledger::~fleet_ledger() { stop(std::chrono::seconds(10)); }

std::unique_ptr<fleet_ledger> fleet_ledger::open(const config::document& doc) {
  if (!doc.has("ledger.url") || doc.get_string("ledger.url").empty()) return nullptr;
  return std::make_unique<fleet_ledger>(ledger::config::from(doc));
}

std::string fleet_ledger::record(ledger::event_type type, const std::string& service, const nlohmann::json& payload,
                                 const std::string& causation) {
  ledger::event e;
  // The run's id is SystemStarted's own id: "every event of this run" is one correlation_id.
  e.event_id = type == ledger::event_type::system_started ? run_id_ : core::uuid::random().to_string();
  e.type = type;
  e.stream_id = service.empty() ? "fleet" : "fleet." + service;
  e.correlation_id = run_id_;
  e.causation_id = causation;
  e.payload = payload.dump();
  e.occurred_at_ns = wall_ns();
  std::string id = e.event_id;
  std::string why;
  try {
    if (appender_->try_append(std::move(e))) return id;
    why = "append queue full (the ledger has been unavailable too long)";
  } catch (const std::exception& ex) {
    why = ex.what();
  }
  ++lost_;
  log::error("ledger: fleet event NOT recorded",
             {{"type", std::string(ledger::to_string(type))}, {"child", service}, {"error", why}, {"lost", lost_.load()}});
  return id;
}

void fleet_ledger::record_stopped(const nlohmann::json& payload) {
  if (stopped_recorded_.exchange(true)) return;
  record(ledger::event_type::system_stopped, "", payload);
}

void fleet_ledger::on_health(std::function<void(const ledger_health&)> fn) {
  std::lock_guard lock(mu_);
  on_health_ = std::move(fn);
}

ledger_health fleet_ledger::health() const {
  ledger_health h;
  h.healthy = appender_->healthy();
  h.unavailable_for = appender_->unavailable_for();
  h.queued = appender_->stats().buffered;
  return h;
}

const std::string& fleet_ledger::url() const { return appender_->settings().url; }

std::size_t fleet_ledger::stop(std::chrono::milliseconds timeout) {
  on_health(nullptr);
  return appender_->stop(timeout);
}

std::size_t fleet_ledger::finish(std::chrono::milliseconds timeout, const std::string& spill_dir) {
  std::size_t failed = stop(timeout);
  auto unwritten = appender_->take_unwritten();
  if (unwritten.empty()) return failed;
  std::string path = spill_dir + "/supervisor-unwritten-" + run_id_ + ".jsonl";
  {
    std::ofstream out(path, std::ios::app);
    for (const auto& e : unwritten) out << to_json(e).dump() << '\n';
    out.flush();
    if (out) {
      log::error("ledger: fleet events NOT recorded in the ledger; spilled to a file",
                 {{"file", path}, {"count", unwritten.size()}, {"run_id", run_id_}});
      return unwritten.size();
    }
  }
  // Last resort: the log line is the only record left.
  std::string why = errno != 0 ? std::strerror(errno) : "write failed";
  for (const auto& e : unwritten)
    log::error("ledger: fleet event NOT recorded (spill file unwritable)", {{"file", path}, {"error", why}, {"event", to_json(e)}});
  return unwritten.size();
}

}  // namespace pt::supervisor
