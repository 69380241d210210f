// panic: flattens and cancels everything on one venue account over REST, with nothing else
// running (no NATS, no PostgreSQL, no fleet). The last resort when the fleet cannot be trusted or
// reached: cancel every open order (Binance: every Algo Service order too), close every position
// with a reduce-only market order, read the account back, repeat until flat (--rounds). Exit 0
// only when the account is verified flat with no open order; 1 when not; 2 on a usage error.
//
//   panic --venue poloniex|binance [--rest-url URL] [--symbols A,B] [--rounds N]
//
// Keys only from the environment (POLONIEX_API_KEY/SECRET, BINANCE_API_KEY/SECRET). A URL that is
// not loopback is a live account: refused unless POLYTRADE_LIVE=1.
#include "connectors/make_connector.hpp"
#include "core/log.hpp"
#include "venue/loopback.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pv = pt::venue;

namespace {

constexpr int exit_flat = 0, exit_not_flat = 1, exit_usage = 2;

struct options {
  std::string venue;
  std::string rest_url;
  std::set<std::string> symbols;  // empty: all
  int rounds = 3;
};

std::string env(const char* k) {
  const char* v = std::getenv(k);
  return v ? v : "";
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "panic: %s\nusage: panic --venue poloniex|binance [--rest-url URL] [--symbols A,B] [--rounds N]\n",
               why.c_str());
  std::exit(exit_usage);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--venue") o.venue = next();
    else if (a == "--rest-url") o.rest_url = next();
    else if (a == "--symbols") {
      std::stringstream ss(next());
      for (std::string s; std::getline(ss, s, ',');)
        if (!s.empty()) o.symbols.insert(s);
    } else if (a == "--rounds") {
      try {
        o.rounds = std::stoi(next());
      } catch (const std::exception&) {
        usage("--rounds must be a number");
      }
      if (o.rounds < 1 || o.rounds > 20) usage("--rounds must be 1..20");
    } else if (a == "--help" || a == "-h") {
      usage("flattens and cancels everything on one venue account");
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.venue != "poloniex" && o.venue != "binance") usage("--venue must be poloniex or binance");
  return o;
}

class panic_run {
 public:
  explicit panic_run(options o) : o_(std::move(o)) {}

  int run() {
    const bool polo = o_.venue == "poloniex";
    std::string url = o_.rest_url.empty() ? (polo ? "https://api.poloniex.com" : "https://fapi.binance.com") : o_.rest_url;
    if (!pt::venue::is_loopback_url(url) && env("POLYTRADE_LIVE") != "1")
      usage(url + " is not loopback (a live account): set POLYTRADE_LIVE=1 to flatten it");
    auto keys = pt::connectors::keys_from_env(o_.venue);
    if (keys.empty()) {
      if (!pt::venue::is_loopback_url(url)) usage(std::string("no keys: set ") + (polo ? "POLONIEX_API_KEY/SECRET" : "BINANCE_API_KEY/SECRET"));
      keys = {"venue-sim-key", "venue-sim-secret"};  // venue-sim's default account
      say("no keys in the environment: using venue-sim's default account");
    }
    pt::connectors::connector_options co;
    co.venue = o_.venue;
    co.rest_url = url;
    co.api_key = keys.key;
    co.api_secret = keys.secret;
    auto made = pt::connectors::make_connector(co);
    binance_ = made.binance;
    venue_ = made.venue;
    say("flattening " + o_.venue + " at " + url + (o_.symbols.empty() ? " (all symbols)" : " (some symbols)"));
    for (int round = 1; round <= o_.rounds; ++round) {
      cancel_orders();
      cancel_algos();
      close_positions(round);
      if (verify_flat()) {
        say("FLAT: no position, no open order (round " + std::to_string(round) + ")");
        return exit_flat;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    say("NOT FLAT after " + std::to_string(o_.rounds) + " rounds: check the account by hand");
    return exit_not_flat;
  }

 private:
  bool wanted(const std::string& symbol) const { return o_.symbols.empty() || o_.symbols.count(symbol) > 0; }
  static void say(const std::string& line) {
    std::printf("panic: %s\n", pt::log::redact(line).c_str());
    std::fflush(stdout);
  }

  // Each step reports and carries on: one failure must not stop the rest of the flattening.
  void cancel_orders() {
    std::vector<pv::order> open;
    try {
      open = venue_->open_orders("");
    } catch (const std::exception& e) {
      say(std::string("open orders not read: ") + e.what());
      return;
    }
    for (const auto& ord : open) {
      if (!wanted(ord.symbol)) continue;
      if (ord.client_id.empty()) {
        say("order " + ord.order_id + " on " + ord.symbol + " has no client id: cancel it by hand");
        continue;
      }
      try {
        venue_->cancel_order(ord.symbol, ord.client_id);
        say("cancelled " + ord.symbol + " " + pv::to_string(ord.s) + " " + ord.qty.to_string() + " (" + ord.client_id + ")");
      } catch (const std::exception& e) {
        say("cancel of " + ord.client_id + " failed: " + e.what());
      }
    }
  }

  std::set<std::string> open_algo_symbols() {
    std::set<std::string> out;
    if (!binance_) return out;
    const auto algos = binance_->algo_call("GET", "/fapi/v1/openAlgoOrders", {}, pv::request_kind::query);
    for (const auto& a : algos.is_array() ? algos : nlohmann::json::array())
      if (a.contains("symbol") && a["symbol"].is_string() && wanted(a["symbol"].get<std::string>()))
        out.insert(a["symbol"].get<std::string>());
    return out;
  }

  void cancel_algos() {
    if (!binance_) return;
    try {
      for (const auto& s : open_algo_symbols()) {
        binance_->algo_call("DELETE", "/fapi/v1/algoOpenOrders", {{"symbol", s}}, pv::request_kind::idempotent_write);
        say("cancelled every algo (conditional) order on " + s);
      }
    } catch (const std::exception& e) {
      say(std::string("algo orders not cancelled: ") + e.what());
    }
  }

  void close_positions(int round) {
    std::vector<pv::position> ps;
    try {
      ps = venue_->positions();
    } catch (const std::exception& e) {
      say(std::string("positions not read: ") + e.what());
      return;
    }
    const auto stamp = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    int n = 0;
    for (const auto& p : ps) {
      if (p.qty.is_zero() || !wanted(p.symbol)) continue;
      pv::order_request r;
      r.symbol = p.symbol;
      // Short (Poloniex takes 32 characters) and unique per position and round.
      r.client_id = "panic" + std::to_string(stamp) + "r" + std::to_string(round) + "n" + std::to_string(n++);
      r.s = p.qty.is_positive() ? pv::side::sell : pv::side::buy;
      r.type = pv::order_type::market;
      r.qty = p.qty.is_negative() ? -p.qty : p.qty;
      r.reduce_only = true;
      r.mode = p.mode;
      r.pos_side = p.pos_side;
      try {
        const auto o = venue_->place_order(r);
        say("closing " + p.symbol + " " + p.qty.to_string() + ": " + pv::to_string(r.s) + " " + r.qty.to_string() +
            " reduce-only market, " + pv::to_string(o.state) + " (" + r.client_id + ")");
      } catch (const std::exception& e) {
        say("close of " + p.symbol + " failed: " + e.what());
      }
    }
  }

  bool verify_flat() {
    try {
      bool flat = true;
      for (const auto& p : venue_->positions())
        if (!p.qty.is_zero() && wanted(p.symbol)) {
          say("still open: " + p.symbol + " " + p.qty.to_string());
          flat = false;
        }
      for (const auto& ord : venue_->open_orders(""))
        if (wanted(ord.symbol)) {
          say("still open: order " + ord.client_id + " on " + ord.symbol);
          flat = false;
        }
      for (const auto& s : open_algo_symbols()) {
        say("still open: algo orders on " + s);
        flat = false;
      }
      return flat;
    } catch (const std::exception& e) {
      say(std::string("cannot verify: ") + e.what());
      return false;
    }
  }

  options o_;
  std::shared_ptr<pv::venue> venue_;
  pt::connectors::binance_connector* binance_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    return panic_run(parse(argc, argv)).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "panic: %s\n", pt::log::redact(e.what()).c_str());
    return exit_not_flat;
  }
}
