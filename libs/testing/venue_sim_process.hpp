#pragma once
// venue-sim as a child process for tests: lockstep pace, loopback ports chosen by the OS, the
// accounts given, stderr kept in a temp folder. Header-only; the test target defines VENUE_SIM_BIN
// and POLYTRADE_SOURCE_DIR. Construction throws when venue-sim does not get ready in 30 s.
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pt::testing {

// The recorded data folder ($POLYTRADE_DATA, else <repo>/../shared/data).
inline std::string shared_data_dir(const std::string& source_dir) {
  const char* env = std::getenv("POLYTRADE_DATA");
  return env && *env ? env : source_dir + "/../shared/data";
}

// Whether the recording venue-sim replays by default is there (tests skip cleanly without it).
inline bool has_recorded_data(const std::string& source_dir) {
  return std::filesystem::exists(shared_data_dir(source_dir) + "/freqtrade_marketlab/BTCUSDT_1h.csv");
}

// First statement of a Catch2 test case that needs venue-sim: without the recording it warns and
// returns (a skip), so the test command still runs where ../shared/data is absent. The test
// target must define POLYTRADE_SOURCE_DIR.
#define PT_NEED_RECORDED_DATA()                                        \
  if (!pt::testing::has_recorded_data(POLYTRADE_SOURCE_DIR)) {         \
    WARN("../shared/data is absent: venue-sim cannot start, skipped"); \
    return;                                                            \
  }

class venue_sim_process {
 public:
  venue_sim_process(const std::string& binary, const std::string& source_dir, const std::string& accounts,
                    std::vector<std::string> extra_args = {}) {
    namespace fs = std::filesystem;
    dir_ = fs::temp_directory_path() / ("venue-sim-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    // A folder left by a dead process with a reused pid holds an old `ready` file (old ports).
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string ready = (dir_ / "ready").string();
    const std::string log = (dir_ / "stderr").string();
    const std::string data = shared_data_dir(source_dir);
    std::vector<std::string> args{binary, "--catalog", source_dir + "/docs/markets", "--pace", "lockstep",
                                  "--ready-file", ready};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);  // else the child's freopen writes our buffered output a second time
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a killed test never leaves venue-sim behind
      ::setenv("VENUE_SIM_ACCOUNTS", accounts.c_str(), 1);
      ::setenv("POLYTRADE_DATA", data.c_str(), 1);
      if (!std::freopen(log.c_str(), "w", stderr) || !std::freopen("/dev/null", "w", stdout)) std::_Exit(126);
      ::execv(binary.c_str(), argv.data());
      std::_Exit(127);
    }
    for (int i = 0; i < 600 && !fs::exists(ready); ++i) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("venue-sim exited at start; see " + log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!fs::exists(ready)) throw std::runtime_error("venue-sim did not get ready; see " + log);
    std::ifstream in(ready);
    ports_ = nlohmann::json::parse(in);
  }
  ~venue_sim_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  venue_sim_process(const venue_sim_process&) = delete;
  venue_sim_process& operator=(const venue_sim_process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int port(const char* name) const { return ports_.at(name).get<int>(); }
  [[nodiscard]] std::string url(const char* name) const { return "http://127.0.0.1:" + std::to_string(port(name)); }
  [[nodiscard]] std::int64_t start_market_time() const { return ports_.at("market_time_ms").get<std::int64_t>(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  nlohmann::json ports_;
};

}  // namespace pt::testing
