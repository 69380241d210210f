// polytrade: the research command line.
//   polytrade backtest    STUDY.json [--out DIR]
//   polytrade optimize    STUDY.json [--out DIR]
//   polytrade walkforward STUDY.json [--out DIR] [--models DIR]
//   polytrade montecarlo  STUDY.json [--out DIR] [--of backtest|walkforward]
//   polytrade sweep       STUDY.json [--out DIR] [--nats URL] [--pg URL] [--sweep-id ID] [--timeout SEC]
// Any command also takes `--set key.sub=value` (repeatable) to override a study key, e.g.
// --set symbols='["ETHUSDT"]' --set data.source=freqtrade_cyft_trader.
// Files go to --out (default research-out/<command>-<study name>); the summary is printed as
// JSON on stdout, a progress bar on stderr (a line per 10 % when stderr is not a terminal).
// sweep publishes one job per point on research.jobs and waits for the `research` workers'
// rows in PostgreSQL (NATS_URL / DATABASE_URL when the flags are absent).
// Exit codes: 0 done, 1 failed at run time, 2 bad arguments or study, 3 NATS or PostgreSQL
// unreachable, 4 sweep timed out.
#include "bus/bus.hpp"
#include "commands.hpp"
#include "core/config.hpp"
#include "core/time.hpp"
#include "sweep.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

int usage(const char* why) {
  if (why) std::fprintf(stderr, "polytrade: %s\n", why);
  std::fprintf(stderr,
               "usage: polytrade backtest|optimize|walkforward|montecarlo|sweep STUDY.json [--out DIR] [--set key=value]...\n"
               "         walkforward: [--models DIR]   montecarlo: [--of backtest|walkforward]\n"
               "         sweep: [--nats URL] [--pg URL] [--sweep-id ID] [--timeout SEC]\n"
               "       a study file: services/research/README.md; examples in services/research/studies/\n");
  return 2;
}

// A progress bar on a terminal, else a line every 10 %: CI logs stay short.
class progress_bar {
 public:
  explicit progress_bar(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) == 1) {}
  void operator()(std::size_t done, std::size_t total) {
    if (total == 0) return;
    const int pct = static_cast<int>(100 * done / total);
    if (tty_) {
      const int filled = pct * 30 / 100;
      std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %zu/%zu", label_.c_str(), filled, "##############################",
                   30 - filled, "", pct, done, total);
      if (done >= total) std::fputc('\n', stderr);
    } else if (pct / 10 != last_ / 10 || done >= total) {
      if (pct != last_) std::fprintf(stderr, "%s %d%% (%zu/%zu)\n", label_.c_str(), pct, done, total);
    }
    last_ = pct;
    std::fflush(stderr);
  }

 private:
  std::string label_;
  bool tty_;
  int last_ = -1;
};

std::string today() {
  const auto iso = pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601();
  return iso.substr(0, 10);
}

int run_sweep(const pt::research::study& s, const std::map<std::string, std::string>& flags, const std::string& out_dir) {
  const auto env = [](const char* k) { const char* v = std::getenv(k); return std::string(v ? v : ""); };
  const std::string nats = flags.count("--nats") ? flags.at("--nats") : env("NATS_URL");
  const std::string pg = flags.count("--pg") ? flags.at("--pg") : env("DATABASE_URL");
  if (nats.empty() || pg.empty()) return usage("sweep needs --nats and --pg (or NATS_URL and DATABASE_URL)");
  const std::string sweep_id = flags.count("--sweep-id") ? flags.at("--sweep-id") : pt::research::default_sweep_id(s);
  if (!pt::research::valid_sweep_id(sweep_id)) return usage("--sweep-id must be 1-64 characters of A-Z a-z 0-9 _ -");
  const auto timeout = std::chrono::seconds(flags.count("--timeout") ? std::atoll(flags.at("--timeout").c_str()) : 3600);
  const auto points = pt::research::sweep_points(s);

  std::unique_ptr<pt::research::result_store> store;
  try {
    store = std::make_unique<pt::research::result_store>(pg);
    store->ensure_schema();
    store->record_sweep(sweep_id, s, points.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polytrade: %s\n", e.what());
    return 3;
  }
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  std::unique_ptr<pt::bus::bus> bus;
  pt::bus::options o;
  o.url = nats;
  o.name = "polytrade-sweep";
  try {
    bus = pt::bus::bus::connect(sys, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polytrade: %s\n", e.what());
    return 3;
  }
  pt::bus::stream_config sc;
  sc.name = pt::research::jobs_stream;
  sc.subjects = {pt::research::jobs_subject};
  sc.work_queue = true;
  if (auto err = bus->ensure_stream(sc)) {
    std::fprintf(stderr, "polytrade: research stream: %s\n", pt::bus::describe(err).c_str());
    return 1;
  }
  const auto doc = pt::research::resolved_json(s);
  const auto ts = pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601();
  std::size_t duplicates = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto body = pt::research::job_body(sweep_id, i, points[i], doc, ts);
    auto ack = bus->js_publish(pt::research::jobs_subject, body, pt::research::job_id(sweep_id, i));
    if (!ack) {
      std::fprintf(stderr, "polytrade: publishing job %zu failed: %s\n", i, pt::bus::describe(ack.error()).c_str());
      return 1;
    }
    duplicates += ack->duplicate ? 1 : 0;
  }
  std::fprintf(stderr, "polytrade: sweep %s: %zu jobs on %s%s\n", sweep_id.c_str(), points.size(), pt::research::jobs_subject,
               duplicates ? (" (" + std::to_string(duplicates) + " already queued)").c_str() : "");
  progress_bar bar("sweep " + sweep_id);
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + timeout;
  std::size_t have = 0;
  while ((have = store->count(sweep_id)) < points.size()) {
    bar(have, points.size());
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "polytrade: sweep %s timed out with %zu of %zu results (are research workers running?)\n",
                   sweep_id.c_str(), have, points.size());
      return 4;
    }
    std::this_thread::sleep_for(100ms);
  }
  bar(have, points.size());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto rows = store->rows(sweep_id);
  json results = json::array();
  std::map<std::string, std::size_t> per_worker;
  std::optional<std::size_t> best;
  std::size_t failed = 0, redelivered = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    ++per_worker[r.worker];
    failed += r.status == "failed";
    redelivered += r.deliveries > 1;
    results.push_back({{"index", r.index}, {"status", r.status}, {"result", r.result}, {"deliveries", r.deliveries}});
    const auto& obj = r.result.value("objective", json(nullptr));
    if (r.status == "done" && obj.is_number() &&
        (!best || obj.get<double>() > rows[*best].result["objective"].get<double>()))
      best = k;
  }
  json out{{"command", "sweep"},
           {"study", s.name},
           {"sweep_id", sweep_id},
           {"jobs", points.size()},
           {"failed", failed},
           {"redelivered", redelivered},
           {"workers", per_worker},
           {"wall_seconds", wall},
           {"results_hash", pt::research::results_hash(rows)},
           {"best", best ? rows[*best].result : json(nullptr)}};
  std::filesystem::create_directories(out_dir);
  std::ofstream(std::filesystem::path(out_dir) / "metrics.json") << out.dump(2) << "\n";
  std::ofstream(std::filesystem::path(out_dir) / "results.json") << results.dump(2) << "\n";
  std::cout << out.dump(2) << std::endl;
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage(argc == 2 && std::string(argv[1]) != "--help" ? "a study file is required" : nullptr);
  const std::string cmd = argv[1], study_path = argv[2];
  static const std::map<std::string, std::vector<std::string>> allowed{
      {"backtest", {"--out"}},
      {"optimize", {"--out"}},
      {"walkforward", {"--out", "--models"}},
      {"montecarlo", {"--out", "--of"}},
      {"sweep", {"--out", "--nats", "--pg", "--sweep-id", "--timeout"}}};
  if (!allowed.count(cmd)) return usage(("unknown command '" + cmd + "'").c_str());
  std::map<std::string, std::string> flags;
  std::vector<std::string> sets;  // --set key=value, any number, in order
  for (int i = 3; i < argc; i += 2) {
    const std::string f = argv[i];
    const auto& ok = allowed.at(cmd);
    if (f == "--set") {
      if (i + 1 >= argc) return usage("option --set needs key=value");
      sets.emplace_back(argv[i + 1]);
      continue;
    }
    if (std::find(ok.begin(), ok.end(), f) == ok.end()) return usage(("unknown option '" + f + "' for " + cmd).c_str());
    if (i + 1 >= argc) return usage(("option " + f + " needs a value").c_str());
    flags[f] = argv[i + 1];
  }
  if (flags.count("--of") && flags["--of"] != "backtest" && flags["--of"] != "walkforward")
    return usage("--of must be backtest or walkforward");

  pt::research::study s;
  try {
    s = pt::research::load_study_file(study_path, sets);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polytrade: %s\n", e.what());
    return 2;
  }
  const std::string out_dir = flags.count("--out") ? flags["--out"] : "research-out/" + cmd + "-" + s.name;
  if (cmd == "sweep") {
    try {
      return run_sweep(s, flags, out_dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "polytrade: sweep failed: %s\n", pt::config::redact_url(e.what()).c_str());
      return 1;
    }
  }
  pt::research::data_cache cache;
  const std::vector<pt::backtest::symbol_data>* data = nullptr;
  try {
    data = &cache.get(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polytrade: cannot load the data: %s\n", e.what());
    return 2;
  }
  progress_bar bar(cmd + " " + s.name);
  pt::research::command_options opt;
  opt.out_dir = out_dir;
  opt.models_dir = flags.count("--models") ? flags["--models"] : "";
  opt.today = today();
  opt.progress = [&bar](std::size_t d, std::size_t t) { bar(d, t); };
  try {
    json out;
    if (cmd == "backtest") out = pt::research::run_backtest_command(s, *data, opt);
    else if (cmd == "optimize") out = pt::research::run_optimize_command(s, *data, opt);
    else if (cmd == "walkforward") out = pt::research::run_walkforward_command(s, *data, opt);
    else out = pt::research::run_montecarlo_command(s, *data, opt, flags.count("--of") && flags["--of"] == "walkforward");
    if (cmd == "optimize") out.erase("all_trials");  // in trials.csv and metrics.json; too long for a terminal
    out["out_dir"] = out_dir;
    std::cout << out.dump(2) << std::endl;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polytrade: %s failed: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  return 0;
}
