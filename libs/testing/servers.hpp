#pragma once
// Real servers for tests: a private nats-server (JetStream on) and a private PostgreSQL 15
// cluster, each on a free loopback port with its own data folder, torn down on destruction.
// No mocks: the tests talk to the same servers production uses.
#include <sys/types.h>

#include <string>
#include <vector>

namespace pt::testing {

// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
[[nodiscard]] int free_port();
// True once a TCP connect to 127.0.0.1:port succeeds.
[[nodiscard]] bool port_open(int port);
// A fresh directory under $TMPDIR (or /tmp), mode 0755 so a non-root server can enter it.
[[nodiscard]] std::string make_temp_dir(const std::string& prefix);
// Runs a shell command; throws std::runtime_error with its output when it fails.
std::string run_or_throw(const std::string& command);

class nats_server {
 public:
  explicit nats_server(bool jetstream = true);
  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const { return port_; }
  // Stop and start again on the same port and store (reconnect tests).
  void stop();
  void start();
  [[nodiscard]] bool running() const { return pid_ > 0; }

 private:
  bool jetstream_;
  int port_;
  int monitor_port_;
  std::string dir_;
  pid_t pid_ = -1;
};

class postgres_server {
 public:
  postgres_server();
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  // One cluster per test binary is enough for most tests (initdb costs ~0.5 s).
  static postgres_server& shared();

  // URL of the `postgres` database, or of `database` (created when missing).
  [[nodiscard]] std::string url(const std::string& database = "postgres") const;
  std::string create_database(const std::string& name);
  [[nodiscard]] int port() const { return port_; }
  void stop();   // fast shutdown; clients see errors until start()
  void start();
  [[nodiscard]] bool running() const { return running_; }

 private:
  std::string as_owner(const std::string& command) const;
  int port_;
  std::string dir_;
  bool running_ = false;
};

}  // namespace pt::testing
