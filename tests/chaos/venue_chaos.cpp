// Chaos session: a connector trades against venue-sim while a fault of every kind is armed in
// turn. Orders use deterministic client ids; an ambiguous answer (timeout, 5xx, "503 but
// executed") leaves the intent in flight until a query by client id settles it — never a blind
// re-send. At the end, with faults cleared, the connector's view of open orders, positions and
// balance must equal venue-sim's own, and venue-sim must hold exactly one order per client id
// the session ever sent. The public and private WebSocket streams run throughout: they must come
// back after every drop, report only orders the session sent, and settle ambiguous intents too.
//   venue_chaos --venue poloniex|binance --seconds N --fault-every S [--seed N]
// Exit 0 when everything agrees; 1 with the differences.
#include "binance_connector.hpp"
#include "core/log.hpp"
#include "poloniex_connector.hpp"
#include "testing/venue_sim_process.hpp"
#include "venue/client_order_id.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace pt;
using json = nlohmann::json;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  std::string venue = "poloniex";
  int seconds = 60;
  int fault_every = 5;
  std::uint64_t seed = 1;
};

json control(int port, const std::string& method, const std::string& path, const json& body = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10);
  auto r = method == "POST" ? c.Post(path, body.dump(), "application/json") : method == "DELETE" ? c.Delete(path) : c.Get(path);
  if (!r) throw std::runtime_error("control endpoint unreachable: " + path);
  return json::parse(r->body, nullptr, false);
}

// Each kind with the size that makes it bite without stalling the session for long.
json fault_for(int i) {
  switch (i % 10) {
    case 0: return {{"kind", "rate_limit"}, {"count", 3}};
    case 1: return {{"kind", "latency"}, {"value", 800}, {"count", 4}};
    case 2: return {{"kind", "server_error"}, {"count", 2}};
    case 3: return {{"kind", "malformed_json"}, {"count", 2}};
    case 4: return {{"kind", "clock_skew"}, {"value", 7000}, {"duration_ms", 4000}};
    case 5: return {{"kind", "maintenance"}, {"count", 2}};
    case 6: return {{"kind", "hold_ack"}, {"value", 4000}, {"count", 1}, {"orders_only", true}};
    case 7: return {{"kind", "unknown_executed"}, {"count", 1}, {"orders_only", true}};
    case 8: return {{"kind", "drop_websockets"}, {"duration_ms", 1000}};
    default: return {{"kind", "book_gap"}, {"count", 1}};  // a skipped book update: resync over REST
  }
}

// What the streams reported, written on their threads, read by the session.
struct stream_view {
  std::mutex mu;
  std::map<std::string, int> connects, drops;  // per stream name
  std::map<std::string, bool> up;
  int resyncs = 0;
  std::map<std::string, venue::order_state> order_state;  // client id -> last state seen
  int order_events = 0, fills = 0, candles = 0, marks = 0, books = 0, book_snapshots = 0, errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--venue") o.venue = v;
    else if (a == "--seconds") o.seconds = std::stoi(v);
    else if (a == "--fault-every") o.fault_every = std::stoi(v);
    else if (a == "--seed") o.seed = std::stoull(v);
  }
  log::set_min_level(log::level::error);  // retries are expected here; keep the output readable
  const bool polo = o.venue == "poloniex";
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "chaos-key:chaos-secret-1:100000",
                                 {"--symbols", "BTC", "--protocols", o.venue, "--timeframe", "5m", "--pace", "60x"});
  const int ctl = sim.port("control");
  std::unique_ptr<venue::venue> v;
  const std::string symbol = polo ? "BTC_USDT_PERP" : "BTCUSDT";
  if (polo) {
    connectors::poloniex_config c;
    c.rest_url = sim.url("poloniex");
    c.api_key = "chaos-key";
    c.api_secret = "chaos-secret-1";
    c.timeout = std::chrono::milliseconds(2500);
    c.seed = o.seed;
    const std::string ws = "ws://127.0.0.1:" + std::to_string(sim.port("poloniex_ws"));
    c.ws_public_url = ws + "/ws/v3/public";
    c.ws_private_url = ws + "/ws/v3/private";
    v = std::make_unique<connectors::poloniex_connector>(c);
  } else {
    connectors::binance_config c;
    c.rest_url = sim.url("binance");
    c.api_key = "chaos-key";
    c.api_secret = "chaos-secret-1";
    c.timeout = std::chrono::milliseconds(2500);
    c.seed = o.seed;
    c.ws_base_url = "ws://127.0.0.1:" + std::to_string(sim.port("binance_ws"));
    v = std::make_unique<connectors::binance_connector>(c);
  }
  stream_view sv;
  v->set_stream_events({.on_connection =
                            [&](const std::string& stream, bool connected) {
                              std::lock_guard l(sv.mu);
                              ++(connected ? sv.connects : sv.drops)[stream];
                              sv.up[stream] = connected;
                            },
                        .on_book_resync =
                            [&](const std::string&) {
                              std::lock_guard l(sv.mu);
                              ++sv.resyncs;
                            },
                        .on_status = nullptr,
                        .on_error =
                            [&](const std::string&) {
                              std::lock_guard l(sv.mu);
                              ++sv.errors;
                            }});
  venue::public_subscription sub;
  sub.symbols = {symbol};
  sub.candle_intervals = {"5m"};  // the sim's bar size below
  sub.mark_price = true;
  sub.book = true;  // Binance: its own /public socket; both: a book that must resync after a drop
  venue::public_handlers pub;
  pub.on_candle = [&](const venue::candle&, const std::string&) {
    std::lock_guard l(sv.mu);
    ++sv.candles;
  };
  pub.on_book = [&](const venue::order_book& b) {
    std::lock_guard l(sv.mu);
    ++sv.books;
    sv.book_snapshots += b.snapshot ? 1 : 0;
  };
  pub.on_mark_price = [&](const venue::mark_price&) {
    std::lock_guard l(sv.mu);
    ++sv.marks;
  };
  v->subscribe_public(sub, pub);
  venue::private_handlers priv;
  priv.on_order = [&](const venue::order& x) {
    std::lock_guard l(sv.mu);
    ++sv.order_events;
    sv.order_state[x.client_id] = x.state;
  };
  priv.on_fill = [&](const venue::fill&) {
    std::lock_guard l(sv.mu);
    ++sv.fills;
  };
  v->subscribe_private(priv);
  int drops_armed = 0;
  std::mt19937_64 rng(o.seed);
  std::set<std::string> sent;       // every client id handed to place_order
  std::set<std::string> in_flight;  // ambiguous: not yet settled by a query
  std::map<std::string, int> outcome_counts;
  const char* qty = polo ? "1" : "0.01";
  const auto t_end = clk::now() + std::chrono::seconds(o.seconds);
  auto next_fault = clk::now() + std::chrono::seconds(o.fault_every);
  int faults = 0, intent = 0;
  auto count = [&](const std::string& k) { ++outcome_counts[k]; };
  std::vector<std::string> failures_seen;  // the first few failed calls, for the report

  while (clk::now() < t_end) {
    if (clk::now() >= next_fault) {
      const json f = fault_for(faults++);
      if (f["kind"] == "drop_websockets") ++drops_armed;
      control(ctl, "POST", "/sim/faults", f);
      next_fault += std::chrono::seconds(o.fault_every);
    }
    try {
      // Settle the in-flight ones first: the venue is the truth.
      for (auto it = in_flight.begin(); it != in_flight.end();) {
        bool streamed = false;
        {
          std::lock_guard l(sv.mu);
          streamed = sv.order_state.count(*it) > 0;
        }
        if (streamed) {
          count("settled_by_stream");
          it = in_flight.erase(it);
        } else if (v->query_order(symbol, *it)) {
          count("settled_found");
          it = in_flight.erase(it);
        } else {
          ++it;  // absent for now; the venue may still be holding the ack
        }
      }
      const int action = static_cast<int>(rng() % 10);
      if (action < 5) {
        // A resting buy far under the market (it never fills) or a small market order.
        venue::order_request r;
        r.symbol = symbol;
        r.s = action == 4 ? venue::side::sell : venue::side::buy;
        venue::order_intent in;
        in.strategy = "chaos";
        in.symbol = symbol;
        in.side = r.s == venue::side::buy ? venue::order_side::buy : venue::order_side::sell;
        in.signal_id = std::to_string(o.seed) + "-" + std::to_string(intent++);
        in.leg = "entry";
        r.client_id = venue::make_client_order_id(in);
        r.type = action >= 3 ? venue::order_type::market : venue::order_type::limit;
        r.qty = core::decimal::parse(qty);
        if (r.type == venue::order_type::limit) r.price = core::decimal::parse("1000");
        sent.insert(r.client_id);
        try {
          v->place_order(r);
          count("placed");
        } catch (const venue::venue_error& e) {
          if (e.kind() == venue::outcome_class::ambiguous) {
            in_flight.insert(r.client_id);
            count("ambiguous");
          } else {
            count(std::string("refused_") + to_string(e.kind()).data());
          }
        }
      } else if (action < 7) {
        auto open = v->open_orders(symbol);
        if (!open.empty()) {
          v->cancel_order(symbol, open[rng() % open.size()].client_id);
          count("cancelled");
        }
      } else {
        (void)v->positions();
        (void)v->balances();
        count("queried");
      }
    } catch (const venue::venue_error& e) {
      count(std::string("call_failed_") + to_string(e.kind()).data());
      if (failures_seen.size() < 5)
        failures_seen.push_back(std::string(e.what()) + " (code " + std::to_string(e.code().value_or(0)) + ", HTTP " +
                                std::to_string(e.http_status()) + ")");
    } catch (const venue::parse_error&) {
      count("malformed_answer");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }

  // Calm: no faults; settle every ambiguous intent by client id (the ack holds last 4 s at most).
  control(ctl, "DELETE", "/sim/faults");
  std::this_thread::sleep_for(std::chrono::seconds(5));
  int unresolved_absent = 0;
  for (const auto& id : in_flight) {
    try {
      if (v->query_order(symbol, id)) count("settled_found");
      else ++unresolved_absent;  // never reached the venue: safe to place again with the same id
    } catch (const venue::venue_error& e) {
      std::printf("settle %s failed: %s (code %lld)\n", id.c_str(), e.what(), static_cast<long long>(e.code().value_or(0)));
      return 1;
    }
  }

  // Compare the connector's view with venue-sim's own accounts.
  const json truth = control(ctl, "GET", "/sim/accounts?protocol=" + o.venue).at(0);
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) {
      ++failures;
      std::printf("MISMATCH %s\n", what.c_str());
    }
  };
  const auto open = v->open_orders(symbol);
  std::set<std::string> mine, theirs;
  for (const auto& x : open) mine.insert(x.client_id);
  for (const auto& x : truth["open_orders"]) theirs.insert(x["clientId"].get<std::string>());
  expect(mine == theirs, "open orders: connector " + std::to_string(mine.size()) + " vs venue " + std::to_string(theirs.size()));
  const auto pos = v->positions();
  core::decimal my_qty, their_qty;
  for (const auto& p : pos) my_qty += p.qty;
  for (const auto& p : truth["positions"]) their_qty += core::decimal::parse(p["qty"].get<std::string>());
  expect(my_qty == their_qty, "position: connector " + my_qty.to_string() + " vs venue " + their_qty.to_string());
  const auto bal = v->balances().at(0);
  expect(bal.wallet == core::decimal::parse(truth["wallet"].get<std::string>()),
         "wallet: connector " + bal.wallet.to_string() + " vs venue " + truth["wallet"].get<std::string>());
  // Exactly one venue order per client id, and none the session did not send.
  const auto ids = truth["client_ids"];
  std::map<std::string, int> per_id;
  for (const auto& id : ids) ++per_id[id.get<std::string>()];
  for (const auto& [id, n] : per_id) {
    expect(n == 1, "client id " + id + " has " + std::to_string(n) + " venue orders");
    expect(sent.count(id) == 1, "venue order " + id + " was never sent by the session");
  }
  expect(static_cast<int>(per_id.size()) + unresolved_absent <= static_cast<int>(sent.size()), "more venue orders than intents");

  // The streams: back after every drop, connected now, and only this session's orders on them.
  {
    std::lock_guard l(sv.mu);
    for (const auto& [name, n] : sv.connects) {
      expect(sv.up[name], "stream " + name + " is not connected at the end");
      expect(n >= 1 + drops_armed, "stream " + name + " connected " + std::to_string(n) + " times after " +
                                       std::to_string(drops_armed) + " drops");
    }
    // Each (re)connection starts the book from a snapshot, never from stale updates.
    expect(sv.book_snapshots >= 1 + drops_armed, std::to_string(sv.book_snapshots) + " book snapshots after " +
                                                     std::to_string(drops_armed) + " drops");
    const auto gaps = control(ctl, "GET", "/sim/status")["fired"]["book_gap"].get<int>();
    expect(sv.resyncs >= gaps, std::to_string(gaps) + " book gaps but " + std::to_string(sv.resyncs) + " resyncs");
    expect(sv.connects.size() >= (polo ? 2u : 3u), "only " + std::to_string(sv.connects.size()) + " streams ever connected");
    for (const auto& [id, st] : sv.order_state) expect(sent.count(id) == 1, "stream reported order " + id + " the session never sent");
    expect(sv.order_events > 0 && sv.candles > 0 && sv.marks > 0, "a stream delivered nothing");
    std::printf("streams: ");
    for (const auto& [name, n] : sv.connects) std::printf("%s connected %d, dropped %d; ", name.c_str(), n, sv.drops[name]);
    std::printf("\n  %d order events, %d fills, %d candles, %d marks, %d books (%d snapshots, %d resyncs), %d stream errors\n",
                sv.order_events, sv.fills, sv.candles, sv.marks, sv.books, sv.book_snapshots, sv.resyncs, sv.errors);
  }
  v->close_streams();

  std::printf("chaos %s: %d s, %d faults, %zu intents, %zu venue orders, %d never reached the venue\n", o.venue.c_str(),
              o.seconds, faults, sent.size(), per_id.size(), unresolved_absent);
  for (const auto& [k, n] : outcome_counts) std::printf("  %-28s %d\n", k.c_str(), n);
  for (const auto& f : failures_seen) std::printf("  failed call: %s\n", f.c_str());
  const json status = control(ctl, "GET", "/sim/status");
  std::printf("  faults fired: %s\n", status["fired"].dump().c_str());
  std::printf("%s\n", failures == 0 ? "chaos: connector view == venue-sim, one order per client id" : "chaos: FAILED");
  return failures == 0 ? 0 : 1;
}
