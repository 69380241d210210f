#pragma once
// What both protocol servers share: JSON replies, lenient field access, and the fault hooks that
// run around every request (latency, 429 storms, 5xx, maintenance before the handler; truncated
// JSON after it). Each protocol supplies its own error bodies.
#include "world.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace pt::venue_sim {

using json = nlohmann::json;

struct protocol_errors {
  std::function<json()> rate_limited;  // body of a 429
  std::function<json()> server_error;  // body of a definite 5xx
  int server_error_status = 500;
  std::function<json()> maintenance;
  int maintenance_status = 503;
  std::function<bool(const httplib::Request&)> is_order;  // order placements
};

void reply(httplib::Response& res, const json& body, int status = 200);

// The string form of a JSON string, number or bool member; nullopt when absent or null.
[[nodiscard]] std::optional<std::string> field(const json& obj, const char* key);

// Installs the pre/post-routing fault hooks and a logger for bad requests on `server`.
void install_fault_hooks(httplib::Server& server, world& w, protocol p, protocol_errors errors);

// The order-placement faults that act after the order executed: hold the answer, or replace it by
// an ambiguous 503. Returns true when the response was replaced.
bool apply_order_faults(world& w, httplib::Response& res, const json& ambiguous_body);

}  // namespace pt::venue_sim
