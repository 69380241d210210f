#pragma once
// Process control for the supervisor: fork/exec a service in its own process group, signal
// it, and reap children on a thread of their own so an exit is seen within milliseconds.
// Plain POSIX, no actors.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace pt::supervisor {

struct spawn_request {
  std::string command;  // a path, or a bare name looked up on PATH
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (and overriding) this process's environment
  std::string cwd;
  std::string output_path;  // empty: stdout/stderr inherited; else both go to this file (truncated)
};

struct spawn_result {
  int pid = 0;        // > 0 on success
  std::string error;  // "cannot exec 'x': No such file or directory" when pid == 0
};

// Starts the child: new process group, stdin from /dev/null, stdout/stderr inherited (or
// output_path, opened here before the fork: the child only dup2()s it), signal
// mask and handlers reset, no inherited descriptors, SIGTERM to it if this process dies.
// Returns only after the exec succeeded or failed.
[[nodiscard]] spawn_result spawn_process(const spawn_request& r);

// Sends `sig` to the child's process group (so its own children go too). False if it is gone.
bool signal_process(int pid, int sig);

// Blocks SIGCHLD in the calling thread; call in main before any thread starts so that every
// thread inherits the mask and only the reaper receives it.
void block_child_signal();

// Reaps every child of this process and reports (pid, wait status) from its own thread.
class reaper {
 public:
  using callback = std::function<void(int pid, int wait_status)>;
  explicit reaper(callback cb);
  ~reaper();
  reaper(const reaper&) = delete;
  reaper& operator=(const reaper&) = delete;

 private:
  void run();
  callback cb_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pt::supervisor
