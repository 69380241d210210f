#include "core/trace.hpp"

#include <chrono>
#include <string>

namespace pt::core::trace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void stamp(nlohmann::json& body, std::string_view stage, std::int64_t ns) {
  if (ns <= 0 || !body.is_object()) return;
  auto& t = body["trace"];
  if (!t.is_object()) t = nlohmann::json::object();
  t[std::string(stage)] = ns;
}

void carry(const nlohmann::json& from, nlohmann::json& to) {
  if (!from.is_object() || !to.is_object()) return;
  auto it = from.find("trace");
  if (it == from.end() || !it->is_object()) return;
  for (const auto& [k, v] : it->items())
    if (v.is_number_integer()) stamp(to, k, v.get<std::int64_t>());
}

std::int64_t get(const nlohmann::json& body, std::string_view stage) {
  if (!body.is_object()) return 0;
  auto it = body.find("trace");
  if (it == body.end() || !it->is_object()) return 0;
  auto s = it->find(std::string(stage));
  return s != it->end() && s->is_number_integer() ? s->get<std::int64_t>() : 0;
}

nlohmann::json without(nlohmann::json body) {
  if (body.is_object()) body.erase("trace");
  return body;
}

}  // namespace pt::core::trace
