// Connector figures (PERFORMANCE.md):
//   1. parse rate of WS frames built from the recorded Binance L2 capture (depthUpdate and the
//      same levels as Poloniex book_lv2 frames), frames/s and MB/s;
//   2. order build + sign time (Poloniex JSON body + base64 HMAC; Binance query + hex HMAC);
//   3. place-order round trip p50/p99 against venue-sim on loopback, both protocols: the REST
//      answer, and the order's acknowledgement on the private WebSocket stream (from the moment
//      the request leaves until the stream reports the order open, and after a cancel, cancelled).
//      Order entry itself is REST: Poloniex v3 has no WebSocket order entry, and Binance's
//      WebSocket trading API (ws-fapi) is not built yet.
// --quick runs a small slice of each (ctest smoke). Needs ../shared/data (or $POLYTRADE_DATA);
// skips what needs it when absent.
#include "binance_connector.hpp"
#include "poloniex_connector.hpp"
#include "replay/data_files.hpp"
#include "testing/venue_sim_process.hpp"
#include "venue/binance_wire.hpp"
#include "venue/poloniex_wire.hpp"
#include "venue/signing.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace pt;
using clk = std::chrono::steady_clock;

namespace {

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

struct frames {
  std::vector<std::string> binance, poloniex;
  std::size_t bytes_binance = 0, bytes_poloniex = 0;
};

frames build_frames(const std::string& data, std::size_t max_messages) {
  frames out;
  const auto rows = replay::load_depth_updates(data + "/hftbacktest_binance_usdm/BTCUSDT_depth_updates.csv.gz");
  std::size_t i = 0;
  while (i < rows.size() && out.binance.size() < max_messages) {
    venue::order_book b;
    b.symbol = "BTCUSDT";
    b.snapshot = false;
    const auto& first = rows[i];
    b.first_update_id = static_cast<std::int64_t>(first.first_update_id);
    b.update_id = static_cast<std::int64_t>(first.final_update_id);
    b.prev_update_id = static_cast<std::int64_t>(first.prev_final_update_id);
    b.time = first.transaction_time_ms;
    for (; i < rows.size() && rows[i].final_update_id == first.final_update_id; ++i) {
      auto& side = rows[i].side == replay::book_side::bid ? b.bids : b.asks;
      side.push_back({rows[i].price, rows[i].qty});
    }
    out.binance.push_back(venue::binance::render_depth_update(b, first.event_time_ms).dump());
    b.symbol = "BTC_USDT_PERP";
    out.poloniex.push_back(venue::poloniex::render_ws_push("book_lv2", nlohmann::json::array({venue::poloniex::render_ws_book(b, true)}), "update").dump());
    out.bytes_binance += out.binance.back().size();
    out.bytes_poloniex += out.poloniex.back().size();
  }
  return out;
}

void bench_parse(const std::string& data, bool quick) {
  const auto f = build_frames(data, quick ? 500 : 6551);
  for (int round = 0; round < (quick ? 1 : 3); ++round) {
    std::size_t levels = 0;
    auto t0 = clk::now();
    for (const auto& s : f.binance) levels += venue::binance::parse_market_event(s).book.bids.size();
    const double bn = std::chrono::duration<double>(clk::now() - t0).count();
    t0 = clk::now();
    for (const auto& s : f.poloniex) levels += venue::poloniex::ws_books(venue::poloniex::parse_ws(s)).at(0).asks.size();
    const double po = std::chrono::duration<double>(clk::now() - t0).count();
    std::printf("parse  binance depthUpdate: %zu frames  %.0f frames/s  %.1f MB/s | poloniex book_lv2: %.0f frames/s  %.1f MB/s (levels %zu)\n",
                f.binance.size(), static_cast<double>(f.binance.size()) / bn, static_cast<double>(f.bytes_binance) / bn / 1e6,
                static_cast<double>(f.poloniex.size()) / po, static_cast<double>(f.bytes_poloniex) / po / 1e6, levels);
  }
}

void bench_sign(bool quick) {
  const int n = quick ? 2000 : 200000;
  std::vector<double> po, bn;
  std::size_t sink = 0;
  for (int i = 0; i < n; ++i) {
    auto t0 = clk::now();
    nlohmann::json body{{"symbol", "BTC_USDT_PERP"}, {"side", "BUY"}, {"type", "LIMIT"}, {"px", "50000.12"},
                        {"sz", "2"}, {"mgnMode", "CROSS"}, {"posSide", "BOTH"}, {"clOrdId", "ptb-bench-" + std::to_string(i)}};
    const auto auth = venue::poloniex_auth("key", "POST", "/v3/trade/order", {}, body.dump(), 1700000000000 + i, "secret-bench");
    sink += auth.signature.size();
    po.push_back(std::chrono::duration<double, std::nano>(clk::now() - t0).count());
    t0 = clk::now();
    const auto q = venue::binance_signed_query({{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"quantity", "0.012"},
                                                {"price", "50000.1"}, {"timeInForce", "GTC"},
                                                {"newClientOrderId", "ptb-bench-" + std::to_string(i)}},
                                               1700000000000 + i, 5000, "secret-bench");
    sink += q.size();
    bn.push_back(std::chrono::duration<double, std::nano>(clk::now() - t0).count());
  }
  std::printf("sign   build+sign p50/p99 ns: poloniex %.0f / %.0f   binance %.0f / %.0f   (n=%d, %zu)\n", pct(po, 0.5),
              pct(po, 0.99), pct(bn, 0.5), pct(bn, 0.99), n, sink % 10);
}

// The private stream's view of the bench orders: when each client id was last seen open or
// cancelled. Written on the stream thread.
struct stream_acks {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, clk::time_point> opened, cancelled;

  void on_order(const venue::order& o) {
    std::lock_guard l(mu);
    if (o.state == venue::order_state::open) opened.emplace(o.client_id, clk::now());
    if (o.state == venue::order_state::cancelled) cancelled.emplace(o.client_id, clk::now());
    cv.notify_all();
  }
  // Microseconds from t0 until the stream reported `id` in `seen`; -1 after 2 s.
  double wait(std::map<std::string, clk::time_point>& seen, const std::string& id, clk::time_point t0) {
    std::unique_lock l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(2), [&] { return seen.count(id) > 0; })) return -1;
    return std::chrono::duration<double, std::micro>(seen[id] - t0).count();
  }
};

template <class Connector>
void round_trips(const char* name, Connector& c, const std::string& symbol, const char* qty, const char* px, int n) {
  stream_acks acks;
  std::mutex up_mu;
  std::condition_variable up_cv;
  bool up = false;
  venue::stream_events ev;
  ev.on_connection = [&](const std::string& stream, bool connected) {
    if (stream.find("private") == std::string::npos) return;
    std::lock_guard l(up_mu);
    up = connected;
    up_cv.notify_all();
  };
  c.set_stream_events(ev);
  venue::private_handlers h;
  h.on_order = [&](const venue::order& o) { acks.on_order(o); };
  c.subscribe_private(h);
  {
    std::unique_lock l(up_mu);
    if (!up_cv.wait_for(l, std::chrono::seconds(10), [&] { return up; })) {
      std::printf("rtt    %-8s FAILED: the private stream did not connect\n", name);
      c.close_streams();
      return;
    }
  }
  std::vector<double> place, cancel, ws_ack, ws_cancel;
  int missed = 0;
  for (int i = 0; i < n; ++i) {
    venue::order_request r;
    r.symbol = symbol;
    r.client_id = std::string("bench-") + name + "-" + std::to_string(i);
    r.s = venue::side::buy;
    r.type = venue::order_type::limit;
    r.qty = core::decimal::parse(qty);
    r.price = core::decimal::parse(px);
    auto t0 = clk::now();
    c.place_order(r);
    place.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    const double a = acks.wait(acks.opened, r.client_id, t0);
    a < 0 ? ++missed : (ws_ack.push_back(a), 0);
    t0 = clk::now();
    c.cancel_order(symbol, r.client_id);
    cancel.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    const double b = acks.wait(acks.cancelled, r.client_id, t0);
    b < 0 ? ++missed : (ws_cancel.push_back(b), 0);
  }
  c.close_streams();
  std::printf("rtt    %-8s REST place p50 %.0f us p99 %.0f us | cancel(+query) p50 %.0f us p99 %.0f us (n=%d)\n", name,
              pct(place, 0.5), pct(place, 0.99), pct(cancel, 0.5), pct(cancel, 0.99), n);
  std::printf("rtt    %-8s WS ack: open on the private stream p50 %.0f us p99 %.0f us | cancelled p50 %.0f us p99 %.0f us"
              " (missed %d)\n",
              name, pct(ws_ack, 0.5), pct(ws_ack, 0.99), pct(ws_cancel, 0.5), pct(ws_cancel, 0.99), missed);
}

void bench_rtt(bool quick) {
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "bench-key:bench-secret-1:1000000",
                                 {"--symbols", "BTC"});
  const int n = quick ? 20 : 1000;
  connectors::poloniex_config pc;
  pc.rest_url = sim.url("poloniex");
  pc.api_key = "bench-key";
  pc.api_secret = "bench-secret-1";
  pc.ws_private_url = "ws://127.0.0.1:" + std::to_string(sim.port("poloniex_ws")) + "/ws/v3/private";
  connectors::poloniex_connector po(pc);
  po.instruments();
  round_trips("poloniex", po, "BTC_USDT_PERP", "1", "10000", n);
  connectors::binance_config bc;
  bc.rest_url = sim.url("binance");
  bc.api_key = "bench-key";
  bc.api_secret = "bench-secret-1";
  bc.ws_base_url = "ws://127.0.0.1:" + std::to_string(sim.port("binance_ws"));
  connectors::binance_connector bn(bc);
  bn.instruments();
  round_trips("binance", bn, "BTCUSDT", "0.01", "10000", n);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const std::string data = testing::shared_data_dir(POLYTRADE_SOURCE_DIR);
  bench_sign(quick);
  if (!std::filesystem::exists(data + "/hftbacktest_binance_usdm/BTCUSDT_depth_updates.csv.gz")) {
    std::printf("SKIP parse and round trips: no recorded data at %s\n", data.c_str());
    return 0;
  }
  bench_parse(data, quick);
  bench_rtt(quick);
  return 0;
}
