#include "sweep.hpp"

#include "backtest/metrics.hpp"
#include "core/config.hpp"

#include <pqxx/pqxx>

#include <cctype>


namespace pt::research {

namespace {
using json = nlohmann::json;
constexpr long long schema_lock_key = 0x72657365617263;  // "researc": one lock for the DDL
}  // namespace

bool valid_sweep_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
}

std::string default_sweep_id(const study& s) {
  std::string name = s.name.substr(0, 40);
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  return name + "-" + backtest::hex16(backtest::fnv1a_64(resolved_json(s).dump())).substr(0, 8);
}

std::string job_id(const std::string& sweep_id, std::size_t index) { return sweep_id + "-" + std::to_string(index); }

json job_body(const std::string& sweep_id, std::size_t index, const backtest::point& x, const json& resolved_study,
              const std::string& ts) {
  return {{"job_id", job_id(sweep_id, index)},
          {"kind", "backtest"},
          {"params", {{"sweep_id", sweep_id}, {"index", index}, {"point", x}, {"study", resolved_study}}},
          {"requested_by", "polytrade sweep"},
          {"ts", ts}};
}

job parse_job(const json& body) {
  job j;
  try {
    j.job_id = body.at("job_id").get<std::string>();
    if (body.at("kind").get<std::string>() != "backtest")
      throw study_error("research job " + j.job_id + ": kind " + body.at("kind").dump() + " is not served (only backtest)");
    const auto& p = body.at("params");
    j.sweep_id = p.at("sweep_id").get<std::string>();
    j.index = p.at("index").get<std::size_t>();
    j.point = p.at("point").get<backtest::point>();
    j.study = p.at("study");
  } catch (const study_error&) {
    throw;
  } catch (const std::exception& e) {
    throw study_error("research job " + j.job_id + ": bad params: " + e.what());
  }
  if (!valid_sweep_id(j.sweep_id) || j.job_id != job_id(j.sweep_id, j.index))
    throw study_error("research job " + j.job_id + ": job_id must be <sweep_id>-<index>");
  return j;
}

struct result_store::pg {
  explicit pg(const std::string& url) : c(url) {}
  pqxx::connection c;
};

result_store::result_store(const std::string& url) {
  try {
    conn_ = std::make_unique<pg>(url);
  } catch (const std::exception& e) {
    // libpq's reason names host and port, not the password; redact anyway in case it quotes the URL.
    std::string why = pt::config::redact_url(e.what());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw std::runtime_error("research: cannot connect to PostgreSQL (" + pt::config::redact_url(url) + "): " + why);
  }
}

result_store::~result_store() = default;

void result_store::ensure_schema() {
  pqxx::work tx(conn_->c);
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", schema_lock_key);
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS research_sweeps ("
      " sweep_id text PRIMARY KEY, name text NOT NULL, study jsonb NOT NULL, jobs integer NOT NULL,"
      " created_at timestamptz NOT NULL DEFAULT now())");
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS research_results ("
      " job_id text PRIMARY KEY, sweep_id text NOT NULL, idx integer NOT NULL,"
      " status text NOT NULL CHECK (status IN ('done', 'failed')), result jsonb NOT NULL,"
      " worker text NOT NULL, deliveries integer NOT NULL, finished_at timestamptz NOT NULL DEFAULT now())");
  tx.exec0("CREATE INDEX IF NOT EXISTS research_results_sweep ON research_results (sweep_id, idx)");
  tx.commit();
}

void result_store::record_sweep(const std::string& sweep_id, const study& s, std::size_t jobs) {
  pqxx::work tx(conn_->c);
  tx.exec_params(
      "INSERT INTO research_sweeps (sweep_id, name, study, jobs) VALUES ($1, $2, $3::jsonb, $4)"
      " ON CONFLICT (sweep_id) DO NOTHING",
      sweep_id, s.name, resolved_json(s).dump(), static_cast<long long>(jobs));
  tx.commit();
}

bool result_store::store(const job& j, const std::string& status, const json& result, const std::string& worker,
                         std::uint64_t deliveries) {
  pqxx::work tx(conn_->c);
  const auto r = tx.exec_params(
      "INSERT INTO research_results (job_id, sweep_id, idx, status, result, worker, deliveries)"
      " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (job_id) DO NOTHING",
      j.job_id, j.sweep_id, static_cast<long long>(j.index), status, result.dump(), worker,
      static_cast<long long>(deliveries));
  tx.commit();
  return r.affected_rows() == 1;
}

std::size_t result_store::count(const std::string& sweep_id) {
  pqxx::nontransaction tx(conn_->c);
  const auto r = tx.exec_params("SELECT count(*) FROM research_results WHERE sweep_id = $1", sweep_id);
  return r[0][0].as<std::size_t>();
}

std::vector<result_store::row> result_store::rows(const std::string& sweep_id) {
  pqxx::nontransaction tx(conn_->c);
  const auto r = tx.exec_params(
      "SELECT job_id, idx, status, result::text, worker, deliveries FROM research_results WHERE sweep_id = $1"
      " ORDER BY idx",
      sweep_id);
  std::vector<row> out;
  for (const auto& x : r) {
    row o;
    o.job_id = x[0].as<std::string>();
    o.index = x[1].as<std::size_t>();
    o.status = x[2].as<std::string>();
    o.result = json::parse(x[3].as<std::string>());
    o.worker = x[4].as<std::string>();
    o.deliveries = x[5].as<std::uint64_t>();
    out.push_back(std::move(o));
  }
  return out;
}

std::string results_hash(const std::vector<result_store::row>& rows) {
  std::string text;
  for (const auto& r : rows) text += std::to_string(r.index) + "|" + r.status + "|" + r.result.dump() + "\n";
  return backtest::hex16(backtest::fnv1a_64(text));
}

}  // namespace pt::research
