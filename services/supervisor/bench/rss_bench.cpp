// Idle memory of the supervisor and of the example service it runs (target < 30 MB each).
// Starts a private nats-server, the supervisor with a one-service manifest, waits until the
// example is running and the fleet has been idle for a while, then prints VmRSS and VmHWM
// from /proc/<pid>/status. `--quick` idles 1 s instead of 3 s (the ctest smoke run).
#include "../tests/harness.hpp"
#include "testing/servers.hpp"

#include <cstring>
#include <iostream>

using namespace pt::supervisor::harness;

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  auto idle = quick ? 1s : 3s;
  pt::testing::nats_server nats;
  auto dir = pt::testing::make_temp_dir("pt-sup-rss");
  write_file(dir + "/fleet.yaml", std::string(R"(
services:
  - name: example
    command: )") + EXAMPLE_BIN + "\n");
  child sup({SUPERVISOR_BIN, "--manifest", dir + "/fleet.yaml", "--log-level", "warn"},
            {{"NATS_URL", nats.url()}}, dir + "/supervisor.log");
  client c(nats.url());
  auto ex = c.wait_status("example", [](const nlohmann::json& s) { return s["state"] == "running"; }, 10s);
  if (ex.is_null()) {
    std::cerr << "rss_bench: the example never reached running\n" << sup.output();
    return 1;
  }
  int example_pid = ex["pid"].get<int>();
  std::this_thread::sleep_for(idle);
  auto [sup_rss, sup_hwm] = rss_kib(sup.pid());
  auto [ex_rss, ex_hwm] = rss_kib(example_pid);
  auto mb = [](long kib) { return static_cast<double>(kib) / 1024.0; };
  std::printf("idle %llds after the example reached running\n", static_cast<long long>(idle.count()));
  std::printf("%-12s %8s %10s %10s\n", "process", "pid", "VmRSS MB", "VmHWM MB");
  std::printf("%-12s %8d %10.1f %10.1f\n", "supervisor", sup.pid(), mb(sup_rss), mb(sup_hwm));
  std::printf("%-12s %8d %10.1f %10.1f\n", "example", example_pid, mb(ex_rss), mb(ex_hwm));
  std::printf("target: < 30 MB each -> %s\n", mb(sup_rss) < 30 && mb(ex_rss) < 30 ? "met" : "NOT met");
  ::kill(sup.pid(), SIGTERM);
  auto rc = sup.wait(10s);
  if (!rc || *rc != 0) {
    std::cerr << "rss_bench: supervisor did not stop cleanly\n" << sup.output();
    return 1;
  }
  if (sup_rss == 0 || ex_rss == 0) return 1;
  return 0;
}
