#include "servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#ifndef POLYTRADE_NATS_SERVER
#define POLYTRADE_NATS_SERVER "/usr/sbin/nats-server"
#endif
#ifndef POLYTRADE_PG_BIN
#define POLYTRADE_PG_BIN "/usr/lib/postgresql/15/bin"
#endif

namespace pt::testing {
namespace {

using namespace std::chrono_literals;

bool wait_until(const auto& ready, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return ready();
}

// 127.0.0.1:port (0: any free port when bound).
sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// GET /healthz on the nats monitor port; true on "200".
bool http_ok(int port, const char* path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr = loopback(port);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = std::string("GET ") + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      auto n = ::recv(fd, buf, sizeof buf - 1, 0);
      ok = n > 12 && std::string(buf, static_cast<size_t>(n)).find(" 200 ") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("make_temp_dir: mkdtemp failed for " + tmpl);
  ::chmod(tmpl.c_str(), 0755);
  return tmpl;
}

std::string run_or_throw(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + command + "\n" + out);
  return out;
}

// ---------------------------------------------------------------- nats

nats_server::nats_server(bool jetstream)
    : jetstream_(jetstream), port_(free_port()), monitor_port_(free_port()), dir_(make_temp_dir("pt-nats")) {
  start();
}

nats_server::~nats_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string nats_server::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

void nats_server::start() {
  if (pid_ > 0) return;
  std::vector<std::string> args{POLYTRADE_NATS_SERVER, "-a", "127.0.0.1", "-p", std::to_string(port_),
                                "-m", std::to_string(monitor_port_), "-l", dir_ + "/nats.log"};
  if (jetstream_) {
    args.insert(args.end(), {"-js", "-sd", dir_ + "/js"});
  }
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("nats_server: fork failed");
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (!wait_until([&] { return http_ok(monitor_port_, "/healthz"); }, 10s)) {
    stop();
    throw std::runtime_error("nats_server: not ready within 10 s on port " + std::to_string(port_));
  }
}

void nats_server::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 5s);
  if (!done) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

// ---------------------------------------------------------------- postgres

postgres_server::postgres_server() : port_(free_port()), dir_(make_temp_dir("pt-pg")) {
  if (is_root()) run_or_throw("chown postgres:postgres " + dir_);
  run_or_throw(as_owner(std::string(POLYTRADE_PG_BIN) + "/initdb -D " + dir_ +
                        "/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync"));
  start();
}

postgres_server::~postgres_server() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

postgres_server& postgres_server::shared() {
  static postgres_server s;
  return s;
}

std::string postgres_server::as_owner(const std::string& command) const {
  return is_root() ? "runuser -u postgres -- " + command : command;
}

void postgres_server::start() {
  if (running_) return;
  // fsync off: test clusters are throwaway, and the tests measure logic, not the disk.
  run_or_throw(as_owner(std::string(POLYTRADE_PG_BIN) + "/pg_ctl -D " + dir_ + "/data -l " + dir_ +
                        "/server.log -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                        " -c unix_socket_directories=" + dir_ + " -c fsync=off -c max_connections=200\" start"));
  running_ = true;
}

void postgres_server::stop() {
  if (!running_) return;
  run_or_throw(as_owner(std::string(POLYTRADE_PG_BIN) + "/pg_ctl -D " + dir_ + "/data -m fast -w stop"));
  running_ = false;
}

std::string postgres_server::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string postgres_server::create_database(const std::string& name) {
  const std::string psql = std::string(POLYTRADE_PG_BIN) + "/psql -qtA -h 127.0.0.1 -p " + std::to_string(port_) +
                           " -U postgres -d postgres -v ON_ERROR_STOP=1 -c ";
  if (run_or_throw(psql + "\"SELECT 1 FROM pg_database WHERE datname='" + name + "'\"").find('1') == std::string::npos)
    run_or_throw(psql + "'CREATE DATABASE \"" + name + "\"'");
  return url(name);
}

}  // namespace pt::testing
