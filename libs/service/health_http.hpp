#pragma once
// A tiny HTTP health endpoint for platforms that probe over HTTP (Railway's healthcheckPath,
// load balancers): GET /health answers 200 with a JSON body while the probe says healthy, 503
// otherwise. Off unless health.http_port (or Railway's PORT) is set. cpp-httplib from Debian.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace pt::service {

class health_http {
 public:
  // (healthy, body) for each request; called on the server's thread.
  using probe = std::function<std::pair<bool, nlohmann::json>()>;

  // Binds and starts serving; throws std::runtime_error naming bind:port when the port
  // cannot be bound. port 0 picks a free port (tests).
  health_http(const std::string& bind, int port, probe p);
  ~health_http();  // stops and joins
  health_http(const health_http&) = delete;
  health_http& operator=(const health_http&) = delete;

  [[nodiscard]] int port() const { return port_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int port_ = 0;
};

}  // namespace pt::service
