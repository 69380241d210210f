// research: a sweep worker. Takes jobs from the JetStream work queue research.jobs (durable
// consumer "research-workers", deliver group "research": run as many processes as there are
// cores), evaluates each point with the CLI's code (study.hpp), writes the result into
// PostgreSQL (sweep.hpp), acks, and announces it on research.results.<job>. One job at a time
// per process: a backtest is single-core work, scale is more processes.
//
// A job that cannot succeed (bad study, unknown kind, data missing) is stored as 'failed',
// announced, and terminated (never redelivered). A worker killed mid-job never acks: the
// server redelivers the job after ack_wait to another worker.
//
// Config (YAML, all optional): ledger.url (DATABASE_URL; required), research.ack_wait (2m),
// research.max_ack_pending (64), research.job_delay (0; tests use it to kill a worker mid-job),
// research.data_dir / research.catalog (replace the job's paths: a container's /data).
#include "bus/bus.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "service/service.hpp"
#include "sweep.hpp"

#include <caf/all.hpp>

#include <thread>

namespace {

using json = nlohmann::json;

struct worker_config {
  std::string pg_url;
  std::chrono::milliseconds ack_wait{120000};
  std::int64_t max_ack_pending = 64;
  std::chrono::milliseconds job_delay{0};
  // Where this worker's data and catalog are (a container's /data): they replace the paths the
  // driver resolved on its own machine. Empty: the job's paths are used as given.
  std::string data_dir, catalog;
};

struct worker_state {
  worker_config cfg;
  std::string name;
  pt::bus::bus* bus = nullptr;
  std::unique_ptr<pt::research::result_store> store;
  pt::research::data_cache data;
  std::uint64_t done = 0, failed = 0, redelivered = 0;

  static std::string now() {
    return pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601();
  }

  void announce(const std::string& job_id, const std::string& status, const json& result, const std::string& error) {
    json body{{"job_id", job_id}, {"status", status}, {"ts", now()}};
    if (!result.is_null()) body["result"] = result;
    if (!error.empty()) body["error"] = error.substr(0, 4000);
    // The job id has no dots (sweep.hpp), so it is one subject token.
    if (auto err = bus->publish("research.results." + job_id, body))
      pt::log::warn("research result not announced", {{"job_id", job_id}, {"error", pt::bus::describe(err)}});
  }

  void on_job(const pt::bus::envelope& e) {
    pt::research::job j;
    try {
      j = pt::research::parse_job(e.body);
    } catch (const std::exception& ex) {
      // Not even a job we can name a row for: log, terminate, keep serving.
      pt::log::error("research job refused", {{"error", ex.what()}, {"msg_id", e.msg_id}});
      ++failed;
      (void)e.term();
      return;
    }
    if (e.deliveries > 1) {
      ++redelivered;
      pt::log::info("research job redelivered", {{"job_id", j.job_id}, {"deliveries", e.deliveries}});
    }
    pt::log::info("research job started", {{"job_id", j.job_id}, {"deliveries", e.deliveries}});
    if (cfg.job_delay.count() > 0) std::this_thread::sleep_for(cfg.job_delay);
    if (!cfg.data_dir.empty()) j.study["data"]["dir"] = cfg.data_dir;
    if (!cfg.catalog.empty()) j.study["data"]["catalog"] = cfg.catalog;
    json result;
    std::string status = "done", error;
    try {
      const auto s = pt::research::parse_study(j.study, "");
      result = pt::research::evaluate_point(s, data.get(s), j.point);
    } catch (const std::exception& ex) {
      status = "failed";
      error = ex.what();
      result = {{"error", error}, {"point", j.point}};
    }
    try {
      const bool first = store->store(j, status, result, name, e.deliveries);
      if (!first) pt::log::info("research job already stored (redelivery)", {{"job_id", j.job_id}});
    } catch (const std::exception& ex) {
      // PostgreSQL down: no ack, so the job comes back after ack_wait. Nothing is lost.
      pt::log::error("research result not stored; the job will be redelivered",
                     {{"job_id", j.job_id}, {"error", ex.what()}});
      (void)e.nak();
      return;
    }
    if (status == "done") {
      ++done;
      (void)e.ack();
      announce(j.job_id, status, {{"objective", result["objective"]}, {"hash", result["hash"]}, {"trades", result["trades"]}}, "");
    } else {
      ++failed;
      pt::log::warn("research job failed", {{"job_id", j.job_id}, {"error", error}});
      (void)e.term();
      announce(j.job_id, status, nullptr, error);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  worker_config cfg;
  pt::service::options opt;
  opt.default_name = "research";
  opt.summary = "sweep worker: research.jobs (JetStream work queue) -> backtest -> PostgreSQL";
  opt.configure = [&](const pt::service::context& ctx) {
    ctx.config.require_only("research", {"ack_wait", "max_ack_pending", "job_delay", "data_dir", "catalog"});
    ctx.config.mark_secret("ledger.url");
    cfg.pg_url = ctx.config.get_string("ledger.url", "");
    if (cfg.pg_url.empty()) ctx.config.fail("ledger.url", "is required (or DATABASE_URL): results go to PostgreSQL");
    cfg.ack_wait = ctx.config.get_duration("research.ack_wait", std::chrono::seconds(1), std::chrono::hours(2), cfg.ack_wait);
    cfg.max_ack_pending = ctx.config.get_int("research.max_ack_pending", 1, 100000, cfg.max_ack_pending);
    cfg.data_dir = ctx.config.get_string("research.data_dir", "");
    cfg.catalog = ctx.config.get_string("research.catalog", "");
    cfg.job_delay = ctx.config.get_duration("research.job_delay", std::chrono::milliseconds(0), std::chrono::minutes(10), cfg.job_delay);
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto st = std::make_shared<worker_state>();
    st->cfg = cfg;
    st->name = rt.ctx().name;
    st->bus = &rt.bus();
    try {
      st->store = std::make_unique<pt::research::result_store>(cfg.pg_url);
      st->store->ensure_schema();
    } catch (const std::exception& e) {
      throw pt::service::startup_error(pt::service::exit_ledger_unreachable, e.what());
    }
    pt::bus::stream_config sc;
    sc.name = pt::research::jobs_stream;
    sc.subjects = {pt::research::jobs_subject};
    sc.work_queue = true;
    if (auto err = rt.bus().ensure_stream(sc))
      throw pt::service::startup_error(pt::service::exit_failure, "research stream: " + pt::bus::describe(err));
    // Detached: a job blocks its thread for as long as the backtest runs. The state goes in as a
    // spawn argument (CAF 0.17 aborts under UBSan on argument-less spawns).
    auto consumer = rt.system().spawn<caf::detached>(
        [](caf::event_based_actor*, std::shared_ptr<worker_state> s) -> caf::behavior {
          return {[s](const pt::bus::envelope& e) { s->on_job(e); }};
        },
        st);
    rt.manage(consumer);
    pt::bus::consumer_config cc;
    cc.stream = pt::research::jobs_stream;
    cc.durable = pt::research::jobs_consumer;
    cc.filter_subject = pt::research::jobs_subject;
    cc.queue = pt::research::jobs_queue;
    cc.ack_wait = cfg.ack_wait;
    cc.max_ack_pending = cfg.max_ack_pending;
    if (auto s = rt.bus().js_consume(cc, consumer); !s)
      throw pt::service::startup_error(pt::service::exit_failure, "research.jobs consumer: " + pt::bus::describe(s.error()));
    rt.on_stop([st] {
      pt::log::info("research worker stopping", {{"done", st->done}, {"failed", st->failed}, {"redelivered", st->redelivered}});
    });
    pt::log::info("research worker ready", {{"stream", pt::research::jobs_stream}, {"queue", pt::research::jobs_queue}});
  });
}
