// venue-sim: a local exchange on loopback that speaks the Poloniex Futures v3 and Binance USD-M
// REST and WebSocket protocols, matches orders against a synthetic book around recorded market
// data, and takes faults at run time. See README.md in this folder.
//
//   venue-sim [--protocols poloniex,binance] [--poloniex-port N] [--binance-port N] [--control-port N]
//             [--poloniex-ws-port N] [--binance-ws-port N] [--poloniex-ws-idle-ms N]
//             [--data DIR] [--catalog DIR] [--symbols BTC,ETH,SOL] [--timeframe 1h] [--source freqtrade_marketlab] [--start ISO8601]
//             [--pace realtime|lockstep|unthrottled|<k>x] [--seed N] [--ready-file PATH] [--rate-limit-scale K]
// Ports default to 0 (a free port); the chosen ones are printed as one JSON line on stdout and
// written to --ready-file. API accounts come from VENUE_SIM_ACCOUNTS=key:secret:balance[,...].
#include "binance_api.hpp"
#include "binance_ws.hpp"
#include "control_api.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "poloniex_api.hpp"
#include "poloniex_ws.hpp"
#include "replay/data_files.hpp"
#include "world.hpp"

#include <chrono>
#include <csignal>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

using namespace pt;
using namespace pt::venue_sim;

namespace {

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "venue-sim: " << error << "\n"
            << "usage: venue-sim [--protocols poloniex,binance] [--poloniex-port N] [--binance-port N]\n"
               "                 [--poloniex-ws-port N] [--binance-ws-port N] [--poloniex-ws-idle-ms N]\n"
               "                 [--control-port N] [--data DIR] [--catalog DIR] [--symbols BTC,ETH,SOL]\n"
               "                 [--timeframe 1h] [--source DIR] [--start ISO8601] [--pace realtime|lockstep|unthrottled|<k>x]\n"
               "                 [--seed N] [--ready-file PATH] [--bind ADDR (default 127.0.0.1)] [--rate-limit-scale K]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

replay::pace parse_pace(const std::string& p) {
  if (p == "realtime") return replay::pace::realtime();
  if (p == "lockstep") return replay::pace::lockstep();
  if (p == "unthrottled") return replay::pace::unthrottled();
  if (p.size() > 1 && p.back() == 'x') return replay::pace::multiple(std::stod(p.substr(0, p.size() - 1)));
  throw std::invalid_argument("bad --pace " + p);
}

int parse_port(const std::string& v) {
  const int p = std::stoi(v);
  if (p < 0 || p > 65535) throw std::invalid_argument("port out of range");
  return p;
}

struct server_slot {
  std::string name;
  std::unique_ptr<httplib::Server> server;
  int port = 0;
  std::thread thread;
};

}  // namespace

int main(int argc, char** argv) {
  log::init("venue-sim");
  world_options opt;
  const char* env_data = std::getenv("POLYTRADE_DATA");
  opt.data_dir = env_data && *env_data ? env_data : "../shared/data";
  opt.catalog_dir = "docs/markets";
  int poloniex_port = 0, binance_port = 0, control_port = 0, poloniex_ws_port = 0, binance_ws_port = 0;
  std::int64_t poloniex_ws_idle_ms = 30000;  // the venue closes a socket silent for 30 s (A8)
  std::string ready_file;
  // Loopback by default; a container (compose, Railway) binds its private interface (0.0.0.0 / ::)
  // so the fleet's other containers reach it. Never a public address: it is a simulator.
  std::string bind = "127.0.0.1";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) usage(a + " needs a value");
        return argv[++i];
      };
      if (a == "--protocols") {
        opt.protocols.clear();
        for (const auto& p : split(next())) {
          if (p == "poloniex") opt.protocols.push_back(protocol::poloniex);
          else if (p == "binance") opt.protocols.push_back(protocol::binance);
          else usage("unknown protocol " + p);
        }
      } else if (a == "--poloniex-port") poloniex_port = parse_port(next());
      else if (a == "--binance-port") binance_port = parse_port(next());
      else if (a == "--control-port") control_port = parse_port(next());
      else if (a == "--poloniex-ws-port") poloniex_ws_port = parse_port(next());
      else if (a == "--binance-ws-port") binance_ws_port = parse_port(next());
      else if (a == "--poloniex-ws-idle-ms") {
        poloniex_ws_idle_ms = std::stoll(next());
        if (poloniex_ws_idle_ms < 0) throw std::invalid_argument("--poloniex-ws-idle-ms must be >= 0");
      }
      else if (a == "--data") opt.data_dir = next();
      else if (a == "--catalog") opt.catalog_dir = next();
      else if (a == "--symbols") opt.bases = split(next());
      else if (a == "--timeframe") opt.base_timeframe = next();
      else if (a == "--source") opt.source = next();
      else if (a == "--start") opt.start_ms = core::timestamp::parse_iso8601(next()).nanos() / 1'000'000;
      else if (a == "--pace") opt.pace = parse_pace(next());
      else if (a == "--seed") opt.seed = std::stoull(next());
      else if (a == "--rate-limit-scale") {
        opt.rate_limit_scale = std::stoll(next());
        if (opt.rate_limit_scale < 1 || opt.rate_limit_scale > 100000) usage("--rate-limit-scale must be 1 .. 100000");
      }
      else if (a == "--ready-file") ready_file = next();
      else if (a == "--bind") bind = next();
      else if (a == "--help" || a == "-h") usage("help");
      else usage("unknown argument " + a);
    }
    opt.accounts = accounts_from_env(std::getenv("VENUE_SIM_ACCOUNTS"));
  } catch (const std::exception& e) {
    usage(e.what());
  }
  if (opt.accounts.empty()) {
    // Simulator-only credentials: they open nothing anywhere else.
    opt.accounts.push_back({"venue-sim-key", "venue-sim-secret", core::decimal::from_integer(10000)});
    log::warn("venue-sim: VENUE_SIM_ACCOUNTS not set; serving the default simulator account");
  }

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<world> w;
  try {
    w = std::make_unique<world>(opt);
  } catch (const std::exception& e) {
    log::error("venue-sim: cannot start", {{"error", e.what()}});
    return 2;
  }

  // The WebSocket side listens to the world; it is stopped before the world is.
  std::unique_ptr<poloniex_ws> polo_ws;
  std::unique_ptr<binance_ws> bin_ws;
  std::vector<std::pair<std::string, int>> ws_ports;
  try {
    if (w->venue(protocol::poloniex)) {
      poloniex_ws_options o;
      o.port = poloniex_ws_port;
      o.bind = bind;
      o.idle_timeout = std::chrono::milliseconds(poloniex_ws_idle_ms);
      polo_ws = std::make_unique<poloniex_ws>(*w, o);
      polo_ws->start();
      ws_ports.emplace_back("poloniex_ws", polo_ws->port());
    }
    if (w->venue(protocol::binance)) {
      binance_ws_options o;
      o.port = binance_ws_port;
      o.bind = bind;
      bin_ws = std::make_unique<binance_ws>(*w, o);
      bin_ws->start();
      ws_ports.emplace_back("binance_ws", bin_ws->port());
    }
  } catch (const std::exception& e) {
    log::error("venue-sim: cannot listen", {{"error", e.what()}});
    return 3;
  }
  auto drop_websockets = [&] {
    if (polo_ws) polo_ws->drop_all();
    if (bin_ws) bin_ws->drop_all();
  };

  std::vector<server_slot> slots;
  auto add = [&](const std::string& name, int port, auto mount) {
    server_slot s;
    s.name = name;
    s.server = std::make_unique<httplib::Server>();
    // Accepted sockets inherit TCP_NODELAY from the listener: without it a reply written in two
    // parts waits for the client's delayed ACK (about 40 ms per request).
    s.server->set_socket_options([](socket_t sock) {
      httplib::default_socket_options(sock);
      int one = 1;
      ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    });
    mount(*s.server);
    s.port = port == 0 ? s.server->bind_to_any_port(bind) : (s.server->bind_to_port(bind, port) ? port : -1);
    if (s.port <= 0) throw std::runtime_error("cannot bind " + name + " port " + std::to_string(port));
    slots.push_back(std::move(s));
  };
  try {
    if (w->venue(protocol::poloniex))
      add("poloniex", poloniex_port, [&](httplib::Server& s) { mount_poloniex(s, *w); });
    if (w->venue(protocol::binance))
      add("binance", binance_port, [&](httplib::Server& s) {
        mount_binance(s, *w);
        // The user data stream follows the listen-key calls the REST side answered.
        s.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
          if (bin_ws && req.path == "/fapi/v1/listenKey" && res.status == 200)
            bin_ws->listen_key_call(req.get_header_value("X-MBX-APIKEY"), req.method);
        });
      });
    add("control", control_port, [&](httplib::Server& s) { mount_control(s, *w, drop_websockets); });
  } catch (const std::exception& e) {
    log::error("venue-sim: cannot listen", {{"error", e.what()}});
    return 3;
  }
  for (auto& s : slots) s.thread = std::thread([srv = s.server.get()] { srv->listen_after_bind(); });
  w->start();

  nlohmann::json ready = nlohmann::json::object();
  for (const auto& s : slots) ready[s.name] = s.port;
  for (const auto& [name, port] : ws_ports) ready[name] = port;
  ready["market_time_ms"] = w->market_now();
  std::cout << ready.dump() << std::endl;
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << ready.dump() << "\n";
    std::rename(tmp.c_str(), ready_file.c_str());
  }
  log::info("venue-sim ready", {{"ports", ready.dump()}, {"pace", replay::to_string(opt.pace)}});

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("venue-sim stopping", {{"signal", sig}});
  for (auto& s : slots) s.server->stop();
  for (auto& s : slots)
    if (s.thread.joinable()) s.thread.join();
  if (polo_ws) polo_ws->stop();
  if (bin_ws) bin_ws->stop();
  w->stop();
  return 0;
}
