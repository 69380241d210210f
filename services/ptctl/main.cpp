// ptctl: the operator's command line onto the bus. Sends control requests (ctl.*) and prints
// the reply; exits 0 only when a well-formed reply came back.
//   ptctl status [--wait 10s]                 fleet health from the supervisor
//   ptctl ping <service> [--wait 2s]          a service's liveness (ctl.<service>.ping)
//   ptctl request <subject> <json> [--wait 2s]
//   ptctl publish <subject> <json>
//   ptctl autonomous enable|disable|status [--reason TEXT]     signed operator commands
//   ptctl killswitch trigger|reset [--reason TEXT]             (libs/control, POLYTRADE_CTL_TOKEN)
//   ptctl reconciliation ack [--reason TEXT]
// NATS_URL (or --url) says where the bus is.
#include "bus/bus.hpp"
#include "control/control.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

int usage() {
  std::fprintf(stderr,
               "usage: ptctl [--url nats://host:port] [--wait DURATION] <command>\n"
               "  status                    fleet health (ctl.supervisor.status)\n"
               "  ping <service>            request ctl.<service>.ping\n"
               "  request <subject> <json>  any request/reply subject\n"
               "  publish <subject> <json>  publish one message\n"
               "  autonomous enable|disable|status [--reason TEXT]   signed with POLYTRADE_CTL_TOKEN\n"
               "  killswitch trigger|reset [--reason TEXT]\n"
               "  reconciliation ack [--reason TEXT]\n");
  return 2;
}

std::chrono::milliseconds parse_wait(const std::string& s) {
  auto d = pt::config::parse_duration(s);
  if (!d) throw std::invalid_argument("bad duration '" + s + "' (e.g. 500ms, 2s)");
  return *d;
}

std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

// A list of objects prints as a table, everything else as indented JSON.
void print_status(const nlohmann::json& body) {
  const nlohmann::json* rows = nullptr;
  if (body.is_object() && body.contains("services") && body["services"].is_array()) rows = &body["services"];
  bool table = rows && !rows->empty() &&
               std::all_of(rows->begin(), rows->end(), [](const nlohmann::json& r) { return r.is_object(); });
  if (!table) {
    std::cout << body.dump(2) << "\n";
    return;
  }
  std::vector<std::string> cols;
  for (auto& [k, _] : (*rows)[0].items()) cols.push_back(k);
  std::vector<std::size_t> width(cols.size());
  for (std::size_t c = 0; c < cols.size(); ++c) {
    width[c] = cols[c].size();
    for (const auto& r : *rows) width[c] = std::max(width[c], cell(r.value(cols[c], nlohmann::json())).size());
  }
  auto line = [&](auto get) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      auto s = get(c);
      std::cout << s << std::string(width[c] - s.size() + 2, ' ');
    }
    std::cout << "\n";
  };
  for (auto& [k, v] : body.items())
    if (k != "services") std::cout << k << ": " << cell(v) << "\n";
  line([&](std::size_t c) { return cols[c]; });
  for (const auto& r : *rows) line([&](std::size_t c) { return cell(r.value(cols[c], nlohmann::json())); });
}

}  // namespace

int run(int argc, char** argv);

int main(int argc, char** argv) {
  // A reply of an unexpected shape (or any other surprise) is an error line, never an abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptctl: %s\n", e.what());
    return 1;
  }
}

int run(int argc, char** argv) {
  pt::log::init("ptctl", pt::log::level::warn);
  std::vector<std::string> args(argv + 1, argv + argc);
  pt::bus::options opts;
  if (const char* url = std::getenv("NATS_URL")) opts.url = url;
  if (const char* dir = std::getenv("POLYTRADE_PROTO_DIR")) opts.proto_dir = dir;
  opts.name = "ptctl";
  std::chrono::milliseconds wait = 2s;
  std::string reason;
  std::vector<std::string> rest;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--url" && i + 1 < args.size()) opts.url = args[++i];
      else if (args[i] == "--wait" && i + 1 < args.size()) wait = parse_wait(args[++i]);
      else if (args[i] == "--reason" && i + 1 < args.size()) reason = args[++i];
      else if (args[i] == "-h" || args[i] == "--help") return usage();
      else rest.push_back(args[i]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptctl: %s\n", e.what());
    return 2;
  }
  if (rest.empty()) return usage();

  std::string subject;
  nlohmann::json body = nlohmann::json::object();
  bool is_publish = false;
  bool signed_command = false;
  const auto& cmd = rest[0];
  try {
    const bool operator_cmd =
        rest.size() == 2 && ((cmd == "autonomous" && (rest[1] == "enable" || rest[1] == "disable" || rest[1] == "status")) ||
                             (cmd == "killswitch" && (rest[1] == "trigger" || rest[1] == "reset")) ||
                             (cmd == "reconciliation" && rest[1] == "ack"));
    if (operator_cmd) {
      // Signed over subject, ts, nonce and request id: a captured command cannot be replayed.
      const char* token = std::getenv("POLYTRADE_CTL_TOKEN");
      if (!token || !*token) {
        std::fprintf(stderr, "ptctl: POLYTRADE_CTL_TOKEN is not set: operator commands must be signed\n");
        return 2;
      }
      subject = "ctl." + cmd + "." + rest[1];
      const char* user = std::getenv("USER");
      body = pt::control::make_command(token, subject, std::string("ptctl:") + (user && *user ? user : "operator"), reason,
                                       pt::core::timestamp::from_sys_time(std::chrono::system_clock::now()));
      signed_command = true;
    } else if (cmd == "status" && rest.size() == 1) {
      subject = "ctl.supervisor.status";
    } else if (cmd == "ping" && rest.size() == 2) {
      subject = "ctl." + rest[1] + ".ping";
    } else if ((cmd == "request" || cmd == "publish") && rest.size() == 3) {
      subject = rest[1];
      body = nlohmann::json::parse(rest[2]);
      is_publish = cmd == "publish";
    } else {
      return usage();
    }
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "ptctl: the payload is not JSON: %s\n", e.what());
    return 2;
  }

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  std::unique_ptr<pt::bus::bus> bus;
  // The fleet may still be starting: retry the connection until the wait is used up.
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!bus) {
    try {
      bus = pt::bus::bus::connect(sys, opts);
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() >= deadline) {
        std::fprintf(stderr, "ptctl: %s\n", e.what());
        return 3;
      }
      std::this_thread::sleep_for(200ms);
    }
  }
  if (is_publish) {
    if (auto err = bus->publish(subject, body); err || (err = bus->flush())) {
      std::fprintf(stderr, "ptctl: publish %s failed: %s\n", subject.c_str(), pt::bus::describe(err).c_str());
      return 1;
    }
    return 0;
  }
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto res = bus->request(subject, body, std::max(left, std::chrono::milliseconds(500)));
    if (res) {
      print_status(res->body);
      // A signed command is done only when the service accepted it.
      if (signed_command && !(res->body.is_object() && res->body.value("ok", false))) return 1;
      return 0;
    }
    // No responder yet (service starting): retry until the deadline.
    if (pt::bus::is(res.error(), pt::bus::errc::no_responders) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(200ms);
      continue;
    }
    std::fprintf(stderr, "ptctl: %s: %s\n", subject.c_str(), pt::bus::describe(res.error()).c_str());
    return 1;
  }
}
