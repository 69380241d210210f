// ledger_bench: batched append rate (unique event_id in place, projection updated in the same
// transaction) and replay rate to decoded events, each over several runs, printed as median
// [min-max]. Starts its own PostgreSQL (pt::testing::postgres_server runs fsync=off); unless
// --quick it also repeats the append on a private cluster with fsync=on and
// synchronous_commit=on so the durable figure is on record too.
//
//   ledger_bench            full run (about a minute)
//   ledger_bench --quick    smoke run for ctest: a few thousand events, one run each
#include "core/log.hpp"
#include "ledger/appender.hpp"
#include "ledger/store.hpp"
#include "testing/servers.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <uuid/uuid.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
using pt::ledger::event;

struct params {
  bool quick = false;
  int runs = 5;
  std::size_t events = 200000;
  std::size_t batch = 5000;
  int replay_connections = 2;
};

std::string new_uuid() {
  uuid_t u;
  uuid_generate_random(u);
  char buf[37];
  uuid_unparse_lower(u, buf);
  return buf;
}

// ~300-byte payloads shaped like the spec's OrderPlaced example.
std::vector<event> make_events(std::size_t n) {
  std::vector<event> v;
  v.reserve(n);
  const char* types[] = {"OrderPlaced", "OrderFilled", "PositionUpdated", "SignalComputed"};
  for (std::size_t i = 0; i < n; ++i) {
    event e;
    e.event_id = new_uuid();
    e.type = pt::ledger::parse_event_type(types[i % 4]);
    e.stream_id = "order:BTCUSDT:" + std::to_string(i % 1000);
    e.correlation_id = "signal-" + std::to_string(i / 10);
    e.occurred_at_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 1000;
    e.payload = R"({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": "42000.00", )"
                R"("order_type": "LIMIT", "client_order_id": "TREND_BTCUSDT_BUY_1704067200000_)" +
                std::to_string(100000 + i % 900000) +
                R"(", "stop_price": null, "reduce_only": false, "strategy": "trend_4h", )"
                R"("note": "bench payload padded to about three hundred bytes ......"})";
    v.push_back(std::move(e));
  }
  return v;
}

struct stats {
  std::vector<double> xs;
  void add(double x) { xs.push_back(x); }
  std::string str() const {
    auto s = xs;
    std::sort(s.begin(), s.end());
    double med = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%10.0f /s  [%.0f - %.0f]  (%zu runs)", med, s.front(), s.back(), s.size());
    return buf;
  }
};

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

// One event appended and waited for, as a service on the decision path does (appender append +
// flush): "p50 / p99 / max ms" over n events. `batch_path` appends two events per call to store
// (the same event twice: the second is a duplicate) to time the multi-statement batch protocol.
std::string one_event_latency(const std::string& url, std::size_t n, bool synchronous_commit, bool batch_path) {
  std::vector<double> ms;
  ms.reserve(n);
  auto evs = make_events(n);
  if (batch_path || std::getenv("BENCH_STORE")) {
    pt::ledger::store s(url, {.migrate = true, .synchronous_commit = synchronous_commit});
    for (auto& e : evs) {
      const event two[] = {e, e};
      auto t0 = clk::now();
      s.append(std::span<const event>(two, batch_path ? 2 : 1));
      ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
    }
  } else {
    pt::ledger::config c;
    c.url = url;
    c.synchronous_commit = synchronous_commit;
    pt::ledger::appender a(c);
    for (auto& e : evs) {
      auto t0 = clk::now();
      a.append(std::move(e), std::chrono::seconds(5));
      if (!a.flush(std::chrono::seconds(5))) throw std::runtime_error("flush timed out");
      ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  char buf[128];
  std::snprintf(buf, sizeof buf, "p50 %.3f  p99 %.3f  max %.3f ms  (%zu events)", at(0.5), at(0.99), ms.back(), ms.size());
  return buf;
}

double bench_append(const std::string& url, const std::vector<event>& evs, std::size_t batch) {
  pt::ledger::store s(url);
  auto t0 = clk::now();
  for (std::size_t i = 0; i < evs.size(); i += batch) {
    auto n = std::min(batch, evs.size() - i);
    auto r = s.append(std::span<const event>(evs.data() + i, n));
    if (r.appended != n) throw std::runtime_error("append lost rows");
  }
  double dt = seconds_since(t0);
  if (s.head() != static_cast<std::int64_t>(evs.size())) throw std::runtime_error("head mismatch");
  return static_cast<double>(evs.size()) / dt;
}

// The same rows COPYed into an unindexed table: the ceiling the append path pays for.
double bench_raw_copy(const std::string& url, const std::vector<event>& evs) {
  pqxx::connection c(url);
  {
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE IF NOT EXISTS raw_copy (ord integer, event_id uuid, type text, stream_id text,"
            " correlation_id text, causation_id text, payload jsonb, occurred_at_ns bigint)");
  }
  auto t0 = clk::now();
  pqxx::work tx(c);
  pqxx::stream_to out(tx, "raw_copy",
                      std::vector<std::string>{"ord", "event_id", "type", "stream_id", "correlation_id",
                                               "causation_id", "payload", "occurred_at_ns"});
  int ord = 0;
  for (const auto& e : evs)
    out << std::forward_as_tuple(ord++, e.event_id, pt::ledger::to_string(e.type).data(), e.stream_id,
                                 e.correlation_id.c_str(), nullptr, e.payload, e.occurred_at_ns);
  out.complete();
  tx.commit();
  return static_cast<double>(evs.size()) / seconds_since(t0);
}

double bench_appender(const std::string& url, const std::vector<event>& evs, std::size_t batch) {
  pt::ledger::config cfg;
  cfg.url = url;
  cfg.batch_size = batch;
  cfg.queue_capacity = std::max<std::size_t>(batch * 4, 20000);
  pt::ledger::appender a(cfg);
  auto t0 = clk::now();
  for (const auto& e : evs) a.append(e, std::chrono::seconds(30));
  if (!a.flush(std::chrono::minutes(5))) throw std::runtime_error("appender flush timed out");
  double dt = seconds_since(t0);
  if (a.stats().appended != evs.size()) throw std::runtime_error("appender lost rows");
  return static_cast<double>(evs.size()) / dt;
}

double bench_replay(pt::ledger::store& s, pt::ledger::replay_method m, std::size_t expect, bool parse_json,
                    int connections = 1) {
  pt::ledger::replay_options o;
  o.method = m;
  o.connections = connections;
  std::size_t n = 0;
  std::int64_t check = 0;
  auto t0 = clk::now();
  s.replay(
      1,
      [&](const event& e) {
        ++n;
        check += e.occurred_at_ns & 1;
        if (parse_json) check += static_cast<std::int64_t>(nlohmann::json::parse(e.payload).size());
      },
      o);
  double dt = seconds_since(t0);
  if (n != expect) throw std::runtime_error("replay count mismatch");
  if (check < 0) std::puts("");  // keep the work observable
  return static_cast<double>(n) / dt;
}

// A private cluster with PostgreSQL's durable defaults (fsync=on, synchronous_commit=on).
struct durable_cluster {
  std::string dir = pt::testing::make_temp_dir("pt-pg-durable");
  int port = pt::testing::free_port();
  std::string prefix = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
  std::string bin = POLYTRADE_PG_BIN;
  durable_cluster() {
    if (::geteuid() == 0) pt::testing::run_or_throw("chown postgres:postgres " + dir);
    pt::testing::run_or_throw(prefix + bin + "/initdb -D " + dir + "/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8");
    pt::testing::run_or_throw(prefix + bin + "/pg_ctl -D " + dir + "/data -l " + dir + "/server.log -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p " +
                              std::to_string(port) + " -c unix_socket_directories=" + dir +
                              " -c fsync=on -c synchronous_commit=on\" start");
  }
  ~durable_cluster() {
    try {
      pt::testing::run_or_throw(prefix + bin + "/pg_ctl -D " + dir + "/data -m fast -w stop");
      pt::testing::run_or_throw("rm -rf " + dir);
    } catch (...) {
    }
  }
  std::string create_database(const std::string& name) {
    pqxx::connection c("postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres");
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + name);
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/" + name;
  }
};

std::string show(const std::string& url, const char* setting) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  return tx.exec1(std::string("SHOW ") + setting)[0].as<std::string>();
}

// Other work on the machine skews every figure: print the load next to them.
std::string read_loadavg() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "unknown\n";
  char buf[128] = {};
  if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
  std::fclose(f);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  params p;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      p.quick = true;
      p.runs = 1;
      p.events = 3000;
      p.batch = 1000;
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      p.runs = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--replay-connections") && i + 1 < argc) {
      p.replay_connections = std::max(2, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--events") && i + 1 < argc) {
      p.events = std::max<std::size_t>(1000, std::strtoull(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--runs N] [--events N] [--replay-connections N]\n", argv[0]);
      return 2;
    }
  }
  pt::log::init("ledger_bench", pt::log::level::warn);
  try {
    pt::testing::postgres_server pg;
    auto evs = make_events(p.events);
    double bytes = 0;
    for (const auto& e : evs) bytes += static_cast<double>(e.payload.size());
    std::printf("ledger_bench: %zu events per run, payload %.0f bytes avg, batch %zu, %d runs\n", p.events,
                bytes / static_cast<double>(evs.size()), p.batch, p.runs);
    std::printf("load average at start: %s", read_loadavg().c_str());
    std::printf("test cluster: fsync=%s synchronous_commit=%s (PostgreSQL 15, loopback, same machine)\n\n",
                show(pg.url(), "fsync").c_str(), show(pg.url(), "synchronous_commit").c_str());

    stats raw, app, appr, rep_copy, rep_cursor, rep_json, rep_par2, rep_par2_json;
    std::string replay_url;
    for (int r = 0; r < p.runs; ++r) {
      raw.add(bench_raw_copy(pg.create_database("raw" + std::to_string(r)), evs));
      replay_url = pg.create_database("app" + std::to_string(r));
      app.add(bench_append(replay_url, evs, p.batch));
    }
    for (int r = 0; r < std::max(1, p.runs - 2); ++r) {
      auto fresh = make_events(p.events);  // new ids: every event is appended, none is a duplicate
      appr.add(bench_appender(pg.create_database("appender" + std::to_string(r)), fresh, p.batch));
    }
    {
      pt::ledger::store s(replay_url, {.migrate = false});
      bench_replay(s, pt::ledger::replay_method::copy, evs.size(), false);  // warm the cache
      for (int r = 0; r < p.runs; ++r) {
        rep_copy.add(bench_replay(s, pt::ledger::replay_method::copy, evs.size(), false));
        rep_cursor.add(bench_replay(s, pt::ledger::replay_method::cursor, evs.size(), false));
        rep_json.add(bench_replay(s, pt::ledger::replay_method::copy, evs.size(), true));
        rep_par2.add(bench_replay(s, pt::ledger::replay_method::copy, evs.size(), false, p.replay_connections));
        rep_par2_json.add(bench_replay(s, pt::ledger::replay_method::copy, evs.size(), true, p.replay_connections));
      }
    }
    std::printf("append, fsync=off:\n");
    std::printf("  raw COPY, unindexed table (ceiling)     %s\n", raw.str().c_str());
    std::printf("  store::append (unique key, projection)  %s\n", app.str().c_str());
    std::printf("  appender (1 producer thread)            %s\n", appr.str().c_str());
    std::printf("replay to decoded events (%zu events):\n", evs.size());
    std::printf("  COPY TO STDOUT, payload as raw text     %s\n", rep_copy.str().c_str());
    std::printf("  cursor FETCH 20000, payload raw text    %s\n", rep_cursor.str().c_str());
    std::printf("  COPY + payload parsed to nlohmann::json %s\n", rep_json.str().c_str());
    std::printf("  COPY over %d connections, raw text       %s\n", p.replay_connections, rep_par2.str().c_str());
    std::printf("  COPY over %d connections + json parse    %s\n", p.replay_connections, rep_par2_json.str().c_str());

    if (!p.quick) {
      durable_cluster d;
      auto durl = "postgresql://postgres@127.0.0.1:" + std::to_string(d.port) + "/postgres";
      stats dur;
      int druns = std::max(1, p.runs - 2);
      for (int r = 0; r < druns; ++r) dur.add(bench_append(d.create_database("dur" + std::to_string(r)), evs, p.batch));
      std::printf("append, fsync=%s synchronous_commit=%s (durable cluster):\n", show(durl, "fsync").c_str(),
                  show(durl, "synchronous_commit").c_str());
      std::printf("  store::append (unique key, projection)  %s\n", dur.str().c_str());
    }
    // The decision path's case: one event, waited for.
    const std::size_t one = p.quick ? 200 : 2000;
    std::printf("one event appended and flushed (appender), the decision path's wait:\n");
    std::printf("  fsync=off cluster                       %s\n",
                one_event_latency(pg.create_database("one_off"), one, true, false).c_str());
    std::printf("  same, batch protocol (2 events a call)  %s\n",
                one_event_latency(pg.create_database("one_batch"), one, true, true).c_str());
    if (!p.quick) {
      durable_cluster d;
      std::printf("  fsync=on, synchronous_commit=on         %s\n",
                  one_event_latency(d.create_database("one_sync"), one, true, false).c_str());
      std::printf("  fsync=on, synchronous_commit=off        %s\n",
                  one_event_latency(d.create_database("one_async"), one, false, false).c_str());
      std::printf("  fsync=on, sync on, batch protocol       %s\n",
                  one_event_latency(d.create_database("one_sync_batch"), one, true, true).c_str());
    }
    std::printf("load average at end: %s", read_loadavg().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ledger_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
