#pragma once
// A distributed sweep: the points of a study (grid or random, fixed up front) become one job
// each on the JetStream work queue research.jobs; any number of `research` workers take them,
// evaluate the point (study.hpp's evaluate_point, the same code the CLI runs) and write the
// result into PostgreSQL; the driver waits until every job has a row and reads them in point
// order. A job's result depends only on (study, point), so 1 or N workers give the same rows.
//
// Exactly-once effect over at-least-once delivery: a redelivered job (its worker died before
// the ack, or the ack was lost) is evaluated again and its INSERT ... ON CONFLICT (job_id) DO
// NOTHING keeps the first row. The job id is <sweep_id>-<index>, also the Nats-Msg-Id, so a
// driver that re-publishes a sweep inside the duplicate window adds nothing.
//
// Tables (created on first use, under an advisory lock so concurrent workers do not race):
//   research_sweeps  (sweep_id PK, name, study jsonb, jobs, created_at)
//   research_results (job_id PK, sweep_id, idx, status 'done'|'failed', result jsonb,
//                     worker, deliveries, finished_at)
#include "study.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace pt::research {

inline constexpr const char* jobs_subject = "research.jobs";
inline constexpr const char* jobs_stream = "RESEARCH";
inline constexpr const char* jobs_consumer = "research-workers";
inline constexpr const char* jobs_queue = "research";

// [A-Za-z0-9_-]{1,64}: a NATS subject token and a job-id prefix (no dots: research.results.<job>).
[[nodiscard]] bool valid_sweep_id(const std::string& id);
// <name with other characters as '_'>-<8 hex of the resolved study>: re-running the same study
// reuses its results.
[[nodiscard]] std::string default_sweep_id(const study& s);
[[nodiscard]] std::string job_id(const std::string& sweep_id, std::size_t index);

// The research.jobs body of one point (kind "backtest"; params: sweep_id, index, point, study).
[[nodiscard]] nlohmann::json job_body(const std::string& sweep_id, std::size_t index, const backtest::point& x,
                                      const nlohmann::json& resolved_study, const std::string& ts);

struct job {
  std::string job_id, sweep_id;
  std::size_t index = 0;
  backtest::point point;
  nlohmann::json study;
};
// Throws study_error naming what is wrong (kind not backtest, missing params, a bad id).
[[nodiscard]] job parse_job(const nlohmann::json& body);

class result_store {
 public:
  // Connects (throws std::runtime_error without the URL, which may hold a password).
  explicit result_store(const std::string& url);
  ~result_store();
  void ensure_schema();
  void record_sweep(const std::string& sweep_id, const study& s, std::size_t jobs);
  // false when a row for job_id already existed (a redelivery).
  bool store(const job& j, const std::string& status, const nlohmann::json& result, const std::string& worker,
             std::uint64_t deliveries);
  [[nodiscard]] std::size_t count(const std::string& sweep_id);
  struct row {
    std::string job_id;
    std::size_t index = 0;
    std::string status;
    nlohmann::json result;
    std::string worker;
    std::uint64_t deliveries = 0;
  };
  [[nodiscard]] std::vector<row> rows(const std::string& sweep_id);

 private:
  struct pg;  // the pqxx connection (pqxx 6's connection is a typedef: no forward declaration)
  std::unique_ptr<pg> conn_;
};

// FNV-1a hash (16 hex) of the rows' index, status and result in index order: equal across runs
// exactly when every job's result is equal.
[[nodiscard]] std::string results_hash(const std::vector<result_store::row>& rows);

}  // namespace pt::research
