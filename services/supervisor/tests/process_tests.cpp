// Process control against real processes: fork/exec, process groups, reaping, exit reasons.
#include "fleet.hpp"
#include "process.hpp"
#include "testing/servers.hpp"
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

using namespace pt::supervisor;
using namespace std::chrono_literals;

namespace {

// Collects exits reported by a reaper.
struct exits {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, int> status;
  reaper r{[this](int pid, int st) {
    std::lock_guard<std::mutex> lock(mu);
    status[pid] = st;
    cv.notify_all();
  }};
  std::optional<exit_info> wait(int pid, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return status.count(pid) > 0; })) return std::nullopt;
    return exit_info::from_wait_status(status[pid]);
  }
};

}  // namespace

TEST_CASE("a child's exit code and killing signal are reported by the reaper") {
  exits ex;
  auto a = spawn_process({"/bin/sh", {"-c", "exit 3"}, {}, {}, {}});
  REQUIRE(a.pid > 0);
  auto ea = ex.wait(a.pid);
  REQUIRE(ea);
  CHECK(ea->describe() == "exited with code 3");

  auto b = spawn_process({"sleep", {"30"}, {}, {}, {}});  // bare name: found on PATH
  REQUIRE(b.pid > 0);
  CHECK(::getpgid(b.pid) == b.pid);  // its own process group
  REQUIRE(signal_process(b.pid, SIGKILL));
  auto eb = ex.wait(b.pid);
  REQUIRE(eb);
  CHECK(eb->describe() == "killed by signal 9 (SIGKILL)");
  CHECK_FALSE(signal_process(b.pid, SIGKILL));  // gone
}

TEST_CASE("the child gets this process's environment plus the manifest's, and its cwd") {
  exits ex;
  ::setenv("PT_SUPERVISOR_TEST_INHERITED", "yes", 1);
  auto r = spawn_process({"/bin/sh",
                          {"-c", "test \"$PT_SUPERVISOR_TEST_INHERITED\" = yes && test \"$EXTRA\" = 'a b' && "
                                 "test \"$(pwd)\" = /tmp"},
                          {{"EXTRA", "a b"}},
                          "/tmp",
                          {}});
  REQUIRE(r.pid > 0);
  auto e = ex.wait(r.pid);
  REQUIRE(e);
  CHECK(e->describe() == "exited with code 0");
}

TEST_CASE("a signal to the child reaches its whole process group") {
  exits ex;
  // The shell starts a grandchild and waits; SIGTERM to the group ends both.
  auto r = spawn_process({"/bin/sh", {"-c", "sleep 30 & wait"}, {}, {}, {}});
  REQUIRE(r.pid > 0);
  std::this_thread::sleep_for(100ms);
  REQUIRE(signal_process(r.pid, SIGTERM));
  auto e = ex.wait(r.pid);
  REQUIRE(e);
  CHECK(e->signal == SIGTERM);
  // No member of the group is left.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = ::kill(-r.pid, 0) != 0;
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  CHECK(gone);
}

TEST_CASE("a command that cannot be run is an error, not a child") {
  auto r = spawn_process({"/nonexistent/service", {}, {}, {}, {}});
  CHECK(r.pid == 0);
  CHECK(r.error == "cannot exec '/nonexistent/service': No such file or directory");
  auto p = spawn_process({"no-such-command-anywhere", {}, {}, {}, {}});
  CHECK(p.pid == 0);
  CHECK(p.error.find("not found on PATH") != std::string::npos);
  exits ex;
  auto c = spawn_process({"/bin/true", {}, {}, "/nonexistent-dir", {}});
  CHECK(c.pid == 0);
  CHECK(c.error.find("cannot chdir to '/nonexistent-dir'") == 0);
  auto o = spawn_process({"/bin/true", {}, {}, {}, "/nonexistent-dir/out.log"});
  CHECK(o.pid == 0);
  CHECK(o.error.find("cannot open '/nonexistent-dir/out.log'") == 0);
}

TEST_CASE("with output_path the child's stdout and stderr go to that file, and no other descriptor is inherited") {
  exits ex;
  auto dir = pt::testing::make_temp_dir("pt-sup-out");
  std::string path = dir + "/out.log";
  harness::write_file(path, "stale text that must be truncated\n");
  // An open descriptor of this process (no O_CLOEXEC) that the child must not see.
  int leak = ::open("/dev/null", O_RDONLY);
  REQUIRE(leak > 2);
  auto r = spawn_process({"/bin/sh",
                          {"-c", "echo to-stdout; echo to-stderr >&2; "
                                 "if [ -e /proc/self/fd/" + std::to_string(leak) + " ]; then echo leaked; fi"},
                          {},
                          {},
                          path});
  ::close(leak);
  REQUIRE(r.pid > 0);
  auto e = ex.wait(r.pid);
  REQUIRE(e);
  CHECK(e->describe() == "exited with code 0");
  CHECK(harness::read_file(path) == "to-stdout\nto-stderr\n");
}
