// The marketdata binary end to end: a private nats-server, venue-sim replaying the recorded
// Binance BTCUSDT 1m candles (lockstep: the market moves only when the test steps it), the
// service as a child process on the Poloniex or the Binance protocol, and a plain nats.c client (no CAF, no
// libs/bus: an independent reader) collecting md.<venue>.<symbol>.bar.*, once per protocol. Every bar that
// comes out must equal the recorded 1m candles grouped here by hand (first open, max high, min
// low, last close, summed volume; Poloniex volumes are contracts of 0.001 BTC, docs/markets).
#include "core/time.hpp"
#include "replay/data_files.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"
#include "testing/venue_sim_process.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <httplib.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pt;
using namespace std::chrono_literals;
using core::decimal;
using json = nlohmann::json;

namespace {

constexpr std::int64_t M = 60000;

using pt::testing::service_process;
using pt::testing::slurp;

struct nats_reader {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  explicit nats_reader(const std::string& url, const std::string& subject) {
    REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
    REQUIRE(natsConnection_SubscribeSync(&sub, nc, subject.c_str()) == NATS_OK);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  }
  ~nats_reader() {
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
  }
  std::optional<std::pair<std::string, json>> next(std::chrono::milliseconds t) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, t.count()) != NATS_OK) return std::nullopt;
    std::pair<std::string, json> out{natsMsg_GetSubject(m),
                                     json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)), nullptr, false)};
    natsMsg_Destroy(m);
    return out;
  }
};

struct expect_bar {
  decimal open, high, low, close, volume;
  std::int64_t n = 0;
};

struct venue_case {
  const char* venue;
  const char* rest_port;
  const char* ws_port;
  const char* ws_path;  // Poloniex: the public socket; Binance: the base URL
  const char* symbol;
  const char* subject_symbol;
  const char* ct_val;  // volume unit in base asset: Poloniex contracts, Binance base
};

void run_case(const venue_case& vc) {
  const auto data = testing::shared_data_dir(POLYTRADE_SOURCE_DIR);
  const std::filesystem::path file = std::filesystem::path(data) / "freqtrade_1m_two_sources" / "BTCUSDT_1m.csv.gz";
  if (!std::filesystem::exists(file)) {
    WARN("no recorded data at " << file.string() << ": skipped");
    return;
  }
  testing::nats_server nats(false);
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "md-key:md-secret:1000",
                                 {"--symbols", "BTC", "--source", "freqtrade_1m_two_sources", "--timeframe", "1m"});
  const std::int64_t t0 = sim.start_market_time();
  httplib::Client control("127.0.0.1", sim.port("control"));
  auto step = [&](std::int64_t ms) {
    auto r = control.Post("/sim/clock", json{{"step_ms", ms}}.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  };

  const auto dir = testing::make_temp_dir("marketdata-test");
  const std::string cfg = dir + "/marketdata.yaml";
  {
    std::ofstream y(cfg);
    y << "bus:\n  url: " << nats.url() << "\n"
      << "heartbeat:\n  interval: 1s\n"
      << "marketdata:\n"
      << "  venue: " << vc.venue << "\n"
      << "  rest_url: " << sim.url(vc.rest_port) << "\n"
      << "  ws_url: ws://127.0.0.1:" << sim.port(vc.ws_port) << vc.ws_path << "\n"
      << "  symbols: [" << vc.symbol << "]\n"
      << "  timeframes: [1m, 5m, 15m, 1h, 4h, 1d]\n"
      << "  backfill: {5m: 4, 1h: 3}\n"  // history before the aggregated day: over REST klines of 5m, 1h
      << "  stale_after: 1h\n"  // lockstep: market time stands still between steps
      << "  check_interval: 500ms\n";
  }
  nats_reader reader(nats.url(), std::string("md.") + vc.venue + "." + vc.subject_symbol + ".>");
  service_process svc({MARKETDATA_BIN, "--config", cfg}, dir + "/marketdata.log");
  // Subscribed on the venue's socket before the market moves.
  for (int i = 0; i < 200 && svc.output().find("stream connected") == std::string::npos; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(svc.output().find("stream connected") != std::string::npos);

  // 17 minutes of market time, a minute at a time.
  const int steps = 17;
  for (int i = 0; i < steps; ++i) {
    step(M);
    std::this_thread::sleep_for(50ms);
  }
  step(M / 2);  // into the next bar, so its first push closes the last whole minute
  const std::int64_t market_end = t0 + steps * M + M / 2;

  std::map<std::string, std::map<std::int64_t, json>> got;  // tf -> open -> body
  const std::int64_t last_5m_end = market_end / (5 * M) * (5 * M);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto have_all = [&] {
    auto it = got.find("5m");
    return it != got.end() && !it->second.empty() && it->second.rbegin()->first + 5 * M >= last_5m_end;
  };
  std::size_t duplicates = 0, marks = 0;
  auto count_mark = [&](const std::string& subject, const json& body) {
    if (subject.size() < 5 || subject.compare(subject.size() - 5, 5, ".mark") != 0) return;
    ++marks;
    CHECK(body.at("symbol") == vc.symbol);
    CHECK(decimal::parse(body.at("mark_price").get<std::string>()).is_positive());
  };
  while (!have_all() && std::chrono::steady_clock::now() < deadline) {
    auto m = reader.next(500ms);
    if (!m) continue;
    const auto& [subject, body] = *m;
    count_mark(subject, body);
    if (subject.find(".bar.") == std::string::npos) continue;
    REQUIRE(body.is_object());
    const auto open = core::timestamp::parse_iso8601(body.at("open_ts").get<std::string>()).millis();
    auto& slot = got[body.at("tf").get<std::string>()];
    duplicates += slot.count(open);
    slot[open] = body;
  }
  // Late stragglers of the same burst.
  while (auto m = reader.next(300ms)) {
    count_mark(m->first, m->second);
    if (m->first.find(".bar.") != std::string::npos) {
      const auto open = core::timestamp::parse_iso8601(m->second.at("open_ts").get<std::string>()).millis();
      auto& slot = got[m->second.at("tf").get<std::string>()];
      duplicates += slot.count(open);
      slot[open] = m->second;
    }
  }
  INFO(svc.output());
  REQUIRE(have_all());
  CHECK(duplicates == 0);
  CHECK(marks > 0);
  // Every payload passed the bus's schema check (an invalid one is logged, never sent).
  CHECK(svc.output().find("publish failed") == std::string::npos);
  CHECK(svc.output().find("\"level\":\"error\"") == std::string::npos);

  // The expected bars, by hand from the recording.
  const std::int64_t day0 = t0 / 86'400'000 * 86'400'000;
  std::vector<replay::bar> m1;
  for (const auto& r : replay::load_candles(file))
    if (r.open_time_ms >= day0 - 3 * 60 * M && r.open_time_ms < market_end) m1.push_back(r);
  const decimal ct_val = decimal::parse(vc.ct_val);
  std::size_t compared = 0;
  for (const auto& [tf, bars] : got) {
    const std::int64_t period = tf == "1m" ? M : tf == "5m" ? 5 * M : tf == "15m" ? 15 * M : tf == "1h" ? 60 * M : tf == "4h" ? 240 * M : 1440 * M;
    std::map<std::int64_t, expect_bar> expect;
    for (const auto& r : m1) {
      auto& e = expect[r.open_time_ms / period * period];
      if (e.n++ == 0) {
        e.open = r.open;
        e.high = r.high;
        e.low = r.low;
      }
      e.high = std::max(e.high, r.high);
      e.low = std::min(e.low, r.low);
      e.close = r.close;
      e.volume += r.volume;
    }
    for (const auto& [open, body] : bars) {
      INFO("tf " << tf << " open " << body.at("open_ts"));
      CHECK(body.at("venue") == vc.venue);
      CHECK(body.at("symbol") == vc.symbol);
      CHECK(body.at("closed") == true);
      CHECK(core::timestamp::parse_iso8601(body.at("close_ts").get<std::string>()).millis() == open + period);
      CHECK(open + period <= market_end);  // never a bar that has not ended
      REQUIRE(expect.count(open) == 1);
      const auto& e = expect.at(open);
      CHECK(e.n * M == period);  // the recording has the whole period
      CHECK(decimal::parse(body.at("open").get<std::string>()) == e.open);
      CHECK(decimal::parse(body.at("high").get<std::string>()) == e.high);
      CHECK(decimal::parse(body.at("low").get<std::string>()) == e.low);
      CHECK(decimal::parse(body.at("close").get<std::string>()) == e.close);
      CHECK(decimal::parse(body.at("volume").get<std::string>()) * ct_val == e.volume);
      ++compared;
    }
  }
  // Since 00:00 UTC of the start day (the 1m backfill's start): every 1h bar that ended.
  const std::int64_t hour_end = market_end / (60 * M) * (60 * M);
  // Plus the history asked in the config: 3 hours, 4 five-minute bars before it.
  CHECK(got["1h"].size() == static_cast<std::size_t>((hour_end - day0) / (60 * M)) + 3);
  CHECK(got["1h"].begin()->first == day0 - 3 * 60 * M);
  CHECK(got["5m"].size() >= static_cast<std::size_t>((last_5m_end - day0) / (5 * M) - 1) + 4);
  CHECK(got["5m"].begin()->first == day0 - 4 * 5 * M);
  CHECK(got["1m"].begin()->first == day0);
  CHECK(got["1m"].size() >= static_cast<std::size_t>((market_end / M * M - day0) / M - 1));
  CHECK(compared > 0);
  CHECK(svc.stop() == 0);
}

}  // namespace

TEST_CASE("service on poloniex publishes bars equal to the recorded candles aggregated by hand, through backfill and stream") {
  run_case({"poloniex", "poloniex", "poloniex_ws", "/ws/v3/public", "BTC_USDT_PERP", "btc_usdt_perp", "0.001"});
}

TEST_CASE("service on binance publishes bars equal to the recorded candles aggregated by hand, through backfill and stream") {
  run_case({"binance", "binance", "binance_ws", "", "BTCUSDT", "btcusdt", "1"});
}
