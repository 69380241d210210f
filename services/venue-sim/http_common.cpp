#include "http_common.hpp"

#include "core/log.hpp"

#include <thread>

namespace pt::venue_sim {

void reply(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

std::optional<std::string> field(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_number()) return it->dump();
  return std::nullopt;
}

void install_fault_hooks(httplib::Server& server, world& w, protocol p, protocol_errors errors) {
  auto shared = std::make_shared<protocol_errors>(std::move(errors));
  server.set_pre_routing_handler([&w, shared](const httplib::Request& req, httplib::Response& res) {
    auto& faults = w.faults();
    const bool order = shared->is_order && shared->is_order(req);
    if (auto f = faults.take(fault_kind::latency, order)) std::this_thread::sleep_for(std::chrono::milliseconds(f->value));
    if (faults.take(fault_kind::rate_limit, order)) {
      res.set_header("Retry-After", "1");
      reply(res, shared->rate_limited(), 429);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (faults.take(fault_kind::server_error, order)) {
      reply(res, shared->server_error(), shared->server_error_status);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (faults.take(fault_kind::maintenance, order)) {
      reply(res, shared->maintenance(), shared->maintenance_status);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_post_routing_handler([&w](const httplib::Request&, httplib::Response& res) {
    // A complete HTTP answer whose JSON is cut in half (Content-Length is already set here).
    if (res.status == 200 && w.faults().take(fault_kind::malformed_json, false)) {
      res.body.resize(res.body.size() / 2);
      res.headers.erase("Content-Length");
      res.set_header("Content-Length", std::to_string(res.body.size()));
    }
  });
  server.set_exception_handler([p](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    pt::log::error("venue-sim request failed", {{"protocol", to_string(p)}, {"path", req.path}, {"error", what}});
    reply(res, json{{"code", p == protocol::poloniex ? 500 : -1000}, {"msg", "internal error"}}, 500);
  });
}

bool apply_order_faults(world& w, httplib::Response& res, const json& ambiguous_body) {
  if (auto f = w.faults().take(fault_kind::hold_ack, true))
    std::this_thread::sleep_for(std::chrono::milliseconds(f->value));
  if (w.faults().take(fault_kind::unknown_executed, true)) {
    reply(res, ambiguous_body, 503);
    return true;
  }
  return false;
}

}  // namespace pt::venue_sim
