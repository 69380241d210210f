#include "health_http.hpp"

#include "core/log.hpp"

#include <httplib.h>

#include <stdexcept>
#include <thread>

namespace pt::service {

struct health_http::impl {
  httplib::Server server;
  std::thread thread;
};

health_http::health_http(const std::string& bind, int port, probe p) : impl_(std::make_unique<impl>()) {
  auto& s = impl_->server;
  s.Get("/health", [p](const httplib::Request&, httplib::Response& res) {
    auto [healthy, body] = p();
    res.status = healthy ? 200 : 503;
    res.set_content(body.dump(), "application/json");
  });
  // Anything else is a clear 404, never a crash (bad HTTP requests are input like any other).
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // our own 503 keeps its body
    nlohmann::json body{{"error", res.status == 404 ? "not found" : "bad request"}, {"path", req.path},
                        {"try", "/health"}};
    res.set_content(body.dump(), "application/json");
  });
  if (port == 0) {
    port_ = s.bind_to_any_port(bind);
    if (port_ <= 0) throw std::runtime_error("health: cannot bind " + bind + " to a free port");
  } else {
    if (!s.bind_to_port(bind, port))
      throw std::runtime_error("health: cannot listen on " + bind + ":" + std::to_string(port) +
                               " (port in use or address not local)");
    port_ = port;
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  log::info("health endpoint listening", {{"bind", bind}, {"port", port_}, {"path", "/health"}});
}

health_http::~health_http() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace pt::service
