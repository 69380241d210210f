#include "process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

extern char** environ;

namespace pt::supervisor {
namespace {

bool executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Resolved before fork: between fork and exec only async-signal-safe calls are allowed.
std::string resolve(const std::string& command, std::string& error) {
  if (command.find('/') != std::string::npos) {
    if (!executable(command)) error = "cannot exec '" + command + "': " + (::access(command.c_str(), F_OK) == 0 ? "not an executable file" : std::strerror(ENOENT));
    return command;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (executable(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  error = "cannot exec '" + command + "': not found on PATH";
  return command;
}

void mark_all_cloexec_from(int first) {
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = first; fd < 4096; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

}  // namespace

spawn_result spawn_process(const spawn_request& r) {
  spawn_result res;
  std::string path = resolve(r.command, res.error);
  if (!res.error.empty()) return res;

  std::vector<std::string> argv_s{r.command};
  argv_s.insert(argv_s.end(), r.args.begin(), r.args.end());
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(static_cast<const char*>(*e), eq)] = eq + 1;
  }
  for (const auto& [k, v] : r.env) env[k] = v;
  std::vector<std::string> envp_s;
  envp_s.reserve(env.size());
  for (const auto& [k, v] : env) envp_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : envp_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out = -1;
  if (!r.output_path.empty()) {
    out = ::open(r.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
      res.error = "cannot open '" + r.output_path + "': " + std::strerror(errno);
      return res;
    }
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    res.error = std::string("pipe2: ") + std::strerror(errno);
    if (out >= 0) ::close(out);
    return res;
  }
  const pid_t parent = ::getpid();
  const char* cwd = r.cwd.empty() ? nullptr : r.cwd.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    res.error = std::string("fork: ") + std::strerror(errno);
    if (out >= 0) ::close(out);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return res;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);  // the supervisor died before prctl took effect
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT}) ::signal(sig, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      if (devnull != 0) ::close(devnull);
    }
    if (out >= 0) {
      for (int target : {1, 2}) {
        if (out == target) ::fcntl(out, F_SETFD, 0);  // dup2 onto itself would keep FD_CLOEXEC
        else ::dup2(out, target);                     // the copy does not inherit FD_CLOEXEC
      }
    }
    mark_all_cloexec_from(3);
    int failure[2] = {0, 0};  // {stage: 1 chdir, 2 exec; errno}
    if (cwd && ::chdir(cwd) != 0) {
      failure[0] = 1;
    } else {
      ::execve(path.c_str(), argv.data(), envp.data());
      failure[0] = 2;
    }
    failure[1] = errno;
    ssize_t ignored = ::write(pipefd[1], failure, sizeof failure);
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so a signal sent right after return reaches the group
  if (out >= 0) ::close(out);
  ::close(pipefd[1]);
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(pipefd[0], failure, sizeof failure);  // EOF: exec closed the pipe, it worked
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    // The child exits 127 on its own; the reaper collects it (an unknown pid to the fleet).
    if (failure[0] == 1) res.error = "cannot chdir to '" + r.cwd + "': " + std::strerror(failure[1]);
    else res.error = "cannot exec '" + path + "': " + std::strerror(failure[1]);
    return res;
  }
  res.pid = pid;
  return res;
}

bool signal_process(int pid, int sig) {
  if (pid <= 0) return false;
  if (::kill(-pid, sig) == 0) return true;
  return ::kill(pid, sig) == 0;
}

void block_child_signal() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

reaper::reaper(callback cb) : cb_(std::move(cb)) { thread_ = std::thread([this] { run(); }); }

reaper::~reaper() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void reaper::run() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  while (!stop_) {
    // Woken at once by SIGCHLD when the signal is blocked everywhere (block_child_signal);
    // the 50 ms timeout also covers a process where some thread lets it through.
    timespec ts{0, 50'000'000};
    ::sigtimedwait(&set, nullptr, &ts);
    while (true) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      cb_(pid, status);
    }
  }
}

}  // namespace pt::supervisor
