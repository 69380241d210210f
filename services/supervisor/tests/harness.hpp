#pragma once
// Test and bench helpers: run the real supervisor / example binaries against a real
// nats-server, and talk to them with plain nats.c (no CAF in the test binary, and an
// independent client: what passes here passes for any NATS client).
#include <nats/nats.h>
#include <nlohmann/json.hpp>
#include "process.hpp"
#include "testing/servers.hpp"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pt::supervisor::harness {

using namespace std::chrono_literals;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The non-empty lines of `text`.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// A child process with stdout+stderr captured to a file. Started with the supervisor's own
// spawn_process: the log file is opened before the fork and the child only dup2()s and
// execs (this process has nats.c threads, so nothing may allocate between fork and exec),
// and it inherits no other descriptor.
class child {
 public:
  child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, std::string log_path)
      : log_(std::move(log_path)) {
    if (argv.empty()) throw std::invalid_argument("child: empty argv");
    spawn_request r;
    r.command = argv[0];
    r.args.assign(argv.begin() + 1, argv.end());
    r.env = env;
    r.output_path = log_;
    auto res = spawn_process(r);
    if (res.pid <= 0) throw std::runtime_error("child: " + res.error);
    pid_ = res.pid;
  }
  ~child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] std::string output() const { return read_file(log_); }

  // The exit status (code, or 128+signal) once it exits within `limit`; nullopt otherwise.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    if (exited_) return code_;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return code_;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
};

// A raw nats.c connection for requests and collecting messages.
class client {
 public:
  explicit client(const std::string& url) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetSendAsap(o, true);
    auto s = natsConnection_Connect(&nc_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) throw std::runtime_error(std::string("test client cannot connect: ") + natsStatus_GetText(s));
  }
  ~client() {
    for (auto* sub : subs_) natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc_);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  std::optional<nlohmann::json> request(const std::string& subject, const nlohmann::json& body,
                                        std::chrono::milliseconds timeout = 1s) {
    natsMsg* reply = nullptr;
    auto text = body.dump();
    auto s = natsConnection_Request(&reply, nc_, subject.c_str(), text.data(), static_cast<int>(text.size()),
                                    static_cast<int64_t>(timeout.count()));
    if (s != NATS_OK) return std::nullopt;
    auto j = nlohmann::json::parse(std::string(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)), nullptr, false);
    natsMsg_Destroy(reply);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

  // Subscribes synchronously; next() pops messages.
  natsSubscription* subscribe(const std::string& subject) {
    natsSubscription* sub = nullptr;
    if (natsConnection_SubscribeSync(&sub, nc_, subject.c_str()) != NATS_OK)
      throw std::runtime_error("cannot subscribe " + subject);
    natsConnection_Flush(nc_);
    subs_.push_back(sub);
    return sub;
  }
  // The next message on `sub` within `timeout`: (subject, body).
  static std::optional<std::pair<std::string, nlohmann::json>> next(natsSubscription* sub,
                                                                   std::chrono::milliseconds timeout) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, static_cast<int64_t>(timeout.count())) != NATS_OK) return std::nullopt;
    std::pair<std::string, nlohmann::json> out{natsMsg_GetSubject(m),
                                               nlohmann::json::parse(std::string(natsMsg_GetData(m),
                                                                                 natsMsg_GetDataLength(m)),
                                                                     nullptr, false)};
    natsMsg_Destroy(m);
    return out;
  }
  // Waits for a message on `sub` satisfying `pred`.
  static std::optional<std::pair<std::string, nlohmann::json>> wait_for(
      natsSubscription* sub, const std::function<bool(const std::string&, const nlohmann::json&)>& pred,
      std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto m = next(sub, std::max(left, 1ms));
      if (m && pred(m->first, m->second)) return m;
    }
    return std::nullopt;
  }

  // The service entry of ctl.supervisor.status, or null.
  nlohmann::json service_status(const std::string& name) {
    auto r = request("ctl.supervisor.status", nlohmann::json::object());
    if (!r || !r->contains("services")) return nullptr;
    for (const auto& s : (*r)["services"])
      if (s.value("name", "") == name) return s;
    return nullptr;
  }

  // Polls ctl.supervisor.status until `pred` holds for service `name`.
  nlohmann::json wait_status(const std::string& name, const std::function<bool(const nlohmann::json&)>& pred,
                             std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = service_status(name);
      if (!last.is_null() && pred(last)) return last;
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }

 private:
  natsConnection* nc_ = nullptr;
  std::vector<natsSubscription*> subs_;
};

// The real supervisor on a private nats-server, with a test client on the same server.
struct supervisor_run {
  testing::nats_server nats;
  std::string dir = testing::make_temp_dir("pt-sup-run");
  std::unique_ptr<client> bus = std::make_unique<client>(nats.url());
  std::unique_ptr<child> sup;

  // Writes the manifest and starts the supervisor (NATS_URL set to this run's server).
  void start(const std::string& manifest_yaml, std::map<std::string, std::string> env = {},
             const std::vector<std::string>& extra_args = {}) {
    write_file(dir + "/fleet.yaml", manifest_yaml);
    std::vector<std::string> argv{SUPERVISOR_BIN, "--manifest", dir + "/fleet.yaml"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    env["NATS_URL"] = nats.url();
    sup = std::make_unique<child>(argv, env, dir + "/supervisor.log");
  }
  // The pid of service `name` once it is running (and is not `other_than`); 0 after `limit`.
  int running_pid(const std::string& name, int other_than = 0, std::chrono::milliseconds limit = 10s) {
    auto s = bus->wait_status(
        name, [&](const nlohmann::json& j) { return j["state"] == "running" && j["pid"] != other_than; }, limit);
    return s.is_null() ? 0 : s["pid"].get<int>();
  }
  // SIGTERM, then the exit status within `limit` (nullopt if it did not exit). On anything but
  // a clean exit the supervisor's output goes to stderr, so a failing test shows why.
  std::optional<int> stop(std::chrono::milliseconds limit = 15s) {
    ::kill(sup->pid(), SIGTERM);
    auto rc = sup->wait(limit);
    if (rc != 0) std::fprintf(stderr, "supervisor output:\n%s\n", sup->output().c_str());
    return rc;
  }
};

inline bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// VmRSS / VmHWM of a process in KiB (0 when unreadable).
inline std::pair<long, long> rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  long rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
  }
  return {rss, hwm};
}

}  // namespace pt::supervisor::harness
