#pragma once
// A service binary as a child process for tests: stdout and stderr go to a log file the test
// reads (output(), wait_for()); SIGTERM and a wait on stop() or destruction. Header-only, like
// venue_sim_process.hpp. The service tests of marketdata, signal, risk and guardian share it.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace pt::testing {

// The whole file ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class service_process {
 public:
  // args[0] is the binary's path; `env` is set in the child on top of this process's
  // environment. Throws std::runtime_error when the log cannot be created.
  service_process(std::vector<std::string> args, std::string log,
                  const std::vector<std::pair<std::string, std::string>>& env = {})
      : log_(std::move(log)) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("service_process: cannot create the log " + log_);
    std::fflush(nullptr);  // else the child's output repeats what this process had buffered
    pid_ = ::fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fd);
  }
  ~service_process() { stop(); }
  service_process(const service_process&) = delete;
  service_process& operator=(const service_process&) = delete;

  // SIGTERM, wait, and the exit code (128 + signal when killed); the code again once stopped.
  int stop() { return signal_and_wait(SIGTERM); }
  // SIGKILL (no shutdown code runs: a crash) and the wait; 128 + 9.
  int kill_hard() { return signal_and_wait(SIGKILL); }
  [[nodiscard]] bool running() { return exited(std::chrono::milliseconds(0)) == -1; }
  // Exit code once it has exited by itself within `wait` (-1 while it runs).
  int exited(std::chrono::milliseconds wait) {
    const auto end = std::chrono::steady_clock::now() + wait;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pid_ > 0 ? -1 : code_;
  }
  [[nodiscard]] std::string output() const { return slurp(log_); }
  // Whether `needle` shows in the log within `t`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds t) const {
    const auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
      if (output().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  int signal_and_wait(int sig) {
    if (pid_ <= 0) return code_;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return code_;
  }

  std::string log_;
  pid_t pid_ = -1;
  int code_ = -1;
};

}  // namespace pt::testing
