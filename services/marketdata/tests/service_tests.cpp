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
#include <functional>
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

// One lockstep step of venue-sim (POST /sim/clock).
void step_sim(httplib::Client& control, std::int64_t ms) {
  auto r = control.Post("/sim/clock", json{{"step_ms", ms}}.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

// The start of a marketdata config on venue-sim's Poloniex protocol: bus, heartbeat, URLs.
std::string poloniex_config_head(const std::string& nats_url, testing::venue_sim_process& sim) {
  return "bus:\n  url: " + nats_url + "\nheartbeat:\n  interval: 1s\nmarketdata:\n  venue: poloniex\n  rest_url: " +
         sim.url("poloniex") + "\n  ws_url: ws://127.0.0.1:" + std::to_string(sim.port("poloniex_ws")) + "/ws/v3/public\n";
}

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
  auto step = [&](std::int64_t ms) { step_sim(control, ms); };

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

// ---- Universe selection and the stale alert, end to end ----------------------------------------

namespace {

constexpr std::int64_t H = 3'600'000;

std::int64_t ms_of(const char* iso) { return core::timestamp::parse_iso8601(iso).millis(); }

// The 24 h quote volume as the test reckons it, straight from the recording: the 24 hourly bars
// that closed by `t`, volume (base) x close each. In raw decimal units, wide enough for BTC
// (1.5e10 USDT a day, past the decimal's 9.2e9).
__int128 quote_volume_units(const std::vector<replay::bar>& bars, std::int64_t t) {
  __int128 sum = 0;
  for (const auto& b : bars)
    if (b.open_time_ms >= t - 24 * H && b.open_time_ms + H <= t)
      sum += core::mul(b.volume, b.close, core::rounding::half_even).units();
  return sum;
}

const replay::bar& bar_at(const std::vector<replay::bar>& bars, std::int64_t open) {
  for (const auto& b : bars)
    if (b.open_time_ms == open) return b;
  FAIL("no recorded bar at " << open);
  return bars.front();
}

// How many stream sessions the Poloniex connector reports subscribed (after the venue's answer).
std::size_t subscribed_sessions(const service_process& svc) {
  const std::string out = svc.output(), needle = "poloniex stream: subscribed";
  std::size_t n = 0;
  for (auto at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1)) ++n;
  return n;
}

bool wait_subscribed(const service_process& svc, std::size_t sessions, std::chrono::milliseconds t) {
  const auto end = std::chrono::steady_clock::now() + t;
  while (subscribed_sessions(svc) < sessions && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(50ms);
  return subscribed_sessions(svc) >= sessions;
}

const json* excluded_entry(const json& u, const std::string& symbol) {
  for (const auto& e : u.at("excluded"))
    if (e.at("symbol") == symbol) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("service selects the universe at start and at midnight UTC market time from the recorded data and follows what it adds") {
  PT_NEED_RECORDED_DATA();
  namespace fs = std::filesystem;
  const fs::path rec = fs::path(testing::shared_data_dir(POLYTRADE_SOURCE_DIR)) / "freqtrade_marketlab";
  const std::int64_t t0 = ms_of("2025-01-30T22:00:00Z"), midnight = ms_of("2025-01-31T00:00:00Z");

  // ---- The expectation, from the recording alone (docs/markets: Poloniex contracts of 0.001 BTC,
  // 0.01 ETH, 0.1 SOL; venue-sim's minimum order is one contract).
  std::map<std::string, std::vector<replay::bar>> bars;
  for (const char* b : {"BTC", "ETH", "SOL"}) bars[b] = replay::load_candles(rec / (std::string(b) + "USDT_1h.csv"));
  const __int128 btc0 = quote_volume_units(bars["BTC"], t0), eth0 = quote_volume_units(bars["ETH"], t0),
                 sol0 = quote_volume_units(bars["SOL"], t0);
  const __int128 btc1 = quote_volume_units(bars["BTC"], midnight), eth1 = quote_volume_units(bars["ETH"], midnight),
                 sol1 = quote_volume_units(bars["SOL"], midnight);
  // BTC trades the most, then ETH, then SOL, on both days; a threshold between SOL and ETH.
  REQUIRE(btc0 > eth0);
  REQUIRE(btc1 > eth1);
  const __int128 sol_max = std::max(sol0, sol1), eth_min = std::min(eth0, eth1);
  REQUIRE(sol_max < eth_min);
  const decimal threshold = decimal::from_units(static_cast<std::int64_t>((sol_max + eth_min) / 2));
  // Equity 1000 at 5x: the smallest order may cost 1000 x 5 x 0.012 = 60. One BTC contract
  // (0.001 x ~105k) does not fit, one ETH contract (0.01 x ~3.2k) does; with 10000 (exec.account)
  // the budget is 600 and BTC fits.
  for (std::int64_t open : {t0 - H, t0, midnight - H, midnight}) {
    const auto& b = bar_at(bars["BTC"], open);
    const auto& e = bar_at(bars["ETH"], open);
    REQUIRE(core::mul(decimal::parse("0.001"), b.low, core::rounding::down) > decimal::from_integer(60));
    REQUIRE(core::mul(decimal::parse("0.001"), b.high, core::rounding::down) < decimal::from_integer(600));
    REQUIRE(core::mul(decimal::parse("0.01"), e.high, core::rounding::down) < decimal::from_integer(60));
  }
  // Funding far under the 0.1 % cap around both selections.
  for (const char* b : {"BTC", "ETH", "SOL"})
    for (const auto& f : replay::load_funding(rec / (std::string(b) + "USDT_funding_rate.csv")))
      if (f.time_ms >= t0 - 24 * H && f.time_ms <= midnight + 24 * H) REQUIRE(core::abs(f.rate) < decimal::parse("0.0005"));

  // ---- The run.
  testing::nats_server nats(false);
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "md-key:md-secret:1000",
                                 {"--protocols", "poloniex", "--symbols", "BTC,ETH,SOL", "--source", "freqtrade_marketlab",
                                  "--timeframe", "1h", "--start", "2025-01-30T22:00:00Z"});
  REQUIRE(sim.start_market_time() == t0);
  httplib::Client control("127.0.0.1", sim.port("control"));
  auto step = [&](std::int64_t ms) { step_sim(control, ms); };
  const auto dir = testing::make_temp_dir("marketdata-universe");
  const std::string cfg = dir + "/marketdata.yaml";
  {
    std::ofstream y(cfg);
    y << poloniex_config_head(nats.url(), sim)
      << "  base_timeframe: 1h\n"
      << "  timeframes: [1h, 4h, 1d]\n"
      << "  stale_after: 24h\n"
      << "  check_interval: 200ms\n"
      << "  universe:\n"
      << "    mode: selected\n"
      << "    min_quote_volume: " << threshold.to_string() << "\n"
      << "    size: 1\n"
      << "    equity: 1000\n"
      << "    max_leverage: 5\n";
  }
  nats_reader reader(nats.url(), "md.poloniex.>");
  service_process svc({MARKETDATA_BIN, "--config", cfg}, dir + "/marketdata.log");

  std::vector<json> universes;
  std::map<std::string, std::map<std::int64_t, json>> bars_1h;  // symbol -> open -> body
  auto pump = [&](std::chrono::milliseconds budget, const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + budget;
    while (!done() && std::chrono::steady_clock::now() < end) {
      auto m = reader.next(100ms);
      if (!m) continue;
      if (m->first == "md.poloniex.universe") {
        // The same universe repeated (republish) carries the same ts.
        if (universes.empty() || universes.back().at("ts") != m->second.at("ts")) universes.push_back(m->second);
      } else if (m->first.size() > 7 && m->first.compare(m->first.size() - 7, 7, ".bar.1h") == 0) {
        bars_1h[m->second.at("symbol").get<std::string>()]
               [core::timestamp::parse_iso8601(m->second.at("open_ts").get<std::string>()).millis()] = m->second;
      }
    }
    return done();
  };

  auto need = [&](bool ok, const char* what) {
    if (!ok) FAIL(what << "\n--- marketdata log ---\n" << svc.output());
  };
  // At start: ETH only (BTC's order is too large for 1000, SOL trades too little).
  need(pump(20s, [&] { return !universes.empty(); }), "no universe at start");
  {
    const json& u = universes[0];
    INFO(u.dump(2));
    CHECK(u.at("trigger") == "start");
    CHECK(ms_of(u.at("ts").get<std::string>().c_str()) == t0);
    CHECK(u.at("equity") == "1000");
    CHECK(u.at("equity_source") == "config");
    REQUIRE(u.at("selected").size() == 1);
    const json& eth = u.at("selected")[0];
    CHECK(eth.at("symbol") == "ETH_USDT_PERP");
    CHECK(eth.at("volume_source") == "klines_1h");  // the recording has no quote volume: venue-sim's ticker neither
    CHECK(decimal::parse(eth.at("quote_volume").get<std::string>()) == decimal::from_units(static_cast<std::int64_t>(eth0)));
    REQUIRE(excluded_entry(u, "BTC_USDT_PERP"));
    CHECK(excluded_entry(u, "BTC_USDT_PERP")->at("reason") == "ORDER_TOO_LARGE");
    REQUIRE(excluded_entry(u, "SOL_USDT_PERP"));
    CHECK(excluded_entry(u, "SOL_USDT_PERP")->at("reason") == "LOW_VOLUME");
    CHECK(u.at("followed") == json::array({"ETH_USDT_PERP"}));
    CHECK(u.at("added") == json::array({"ETH_USDT_PERP"}));
  }
  // Subscribed on the venue's socket before the market moves.
  need(wait_subscribed(svc, 1, 10s), "ETH's streams not subscribed");

  // One hour: ETH's 22:00 bar closes and its bars flow (the day from 00:00 backfilled first).
  step(H);
  need(pump(15s, [&] { return bars_1h["ETH_USDT_PERP"].count(t0) == 1; }), "no ETH bar");
  // The account reports 10000: the next selection (00:00 UTC of the replay) lets BTC in.
  natsConnection_PublishString(reader.nc, "exec.account",
                               json{{"venue", "poloniex"}, {"equity", "10000"}, {"wallet_balance", "10000"},
                                    {"available", "10000"}, {"unrealized_pnl", "0"}, {"ts", "2025-01-30T23:00:00Z"}}
                                   .dump()
                                   .c_str());
  REQUIRE(natsConnection_Flush(reader.nc) == NATS_OK);
  std::this_thread::sleep_for(300ms);
  step(H);  // to 00:00
  need(pump(15s, [&] { return universes.size() >= 2; }), "no daily universe");
  {
    const json& u = universes[1];
    INFO(u.dump(2));
    CHECK(u.at("trigger") == "daily");
    CHECK(ms_of(u.at("ts").get<std::string>().c_str()) == midnight);
    CHECK(u.at("equity") == "10000");
    CHECK(u.at("equity_source") == "account");
    REQUIRE(u.at("selected").size() == 1);
    CHECK(u.at("selected")[0].at("symbol") == "BTC_USDT_PERP");
    // Past the decimal's range: reported at its largest value and flagged.
    CHECK(u.at("selected")[0].value("quote_volume_capped", false) == (btc1 > INT64_MAX));
    REQUIRE(excluded_entry(u, "ETH_USDT_PERP"));
    CHECK(excluded_entry(u, "ETH_USDT_PERP")->at("reason") == "RANKED_OUT");
    CHECK(excluded_entry(u, "SOL_USDT_PERP")->at("reason") == "LOW_VOLUME");
    // ETH left the universe but stays followed (a position may be open there).
    CHECK(u.at("followed") == json::array({"BTC_USDT_PERP", "ETH_USDT_PERP"}));
    CHECK(u.at("added") == json::array({"BTC_USDT_PERP"}));
  }
  // BTC's new stream session, then two more hours: BTC bars from 00:00, ETH's go on.
  need(wait_subscribed(svc, 2, 10s), "BTC's streams not subscribed");
  step(H);
  step(H);
  need(pump(15s, [&] { return bars_1h["BTC_USDT_PERP"].count(midnight + H) == 1 && bars_1h["ETH_USDT_PERP"].count(midnight + H) == 1; }),
       "no BTC or ETH bar after the daily selection");
  pump(500ms, [] { return false; });
  for (const auto& [symbol, got] : bars_1h) {
    const auto& rec_bars = bars[symbol.substr(0, 3)];
    const decimal ct = decimal::parse(symbol == "BTC_USDT_PERP" ? "0.001" : "0.01");
    for (const auto& [open, body] : got) {
      INFO(symbol << " " << body.dump());
      const auto& b = bar_at(rec_bars, open);
      CHECK(decimal::parse(body.at("open").get<std::string>()) == b.open);
      CHECK(decimal::parse(body.at("high").get<std::string>()) == b.high);
      CHECK(decimal::parse(body.at("low").get<std::string>()) == b.low);
      CHECK(decimal::parse(body.at("close").get<std::string>()) == b.close);
      CHECK(core::mul(decimal::parse(body.at("volume").get<std::string>()), ct, core::rounding::half_even) == b.volume);
    }
  }
  CHECK(bars_1h.count("SOL_USDT_PERP") == 0);  // never selected, never followed
  CHECK(bars_1h["BTC_USDT_PERP"].begin()->first == midnight);  // from the day it entered
  CHECK(bars_1h["ETH_USDT_PERP"].count(midnight) == 1);
  CHECK(svc.output().find("publish failed") == std::string::npos);
  CHECK(svc.output().find("\"level\":\"error\"") == std::string::npos);
  CHECK(svc.stop() == 0);
}

TEST_CASE("service raises MD_STREAM_STALE on alerts.warning when venue-sim stops advancing") {
  const auto data = testing::shared_data_dir(POLYTRADE_SOURCE_DIR);
  if (!std::filesystem::exists(std::filesystem::path(data) / "freqtrade_1m_two_sources" / "BTCUSDT_1m.csv.gz")) {
    WARN("no recorded 1m data: skipped");
    return;
  }
  testing::nats_server nats(false);
  testing::venue_sim_process sim(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, "md-key:md-secret:1000",
                                 {"--protocols", "poloniex", "--symbols", "BTC", "--source", "freqtrade_1m_two_sources",
                                  "--timeframe", "1m"});
  const std::int64_t t0 = sim.start_market_time();
  httplib::Client control("127.0.0.1", sim.port("control"));
  auto step = [&](std::int64_t ms) { step_sim(control, ms); };
  const auto dir = testing::make_temp_dir("marketdata-stale");
  const std::string cfg = dir + "/marketdata.yaml";
  {
    std::ofstream y(cfg);
    y << poloniex_config_head(nats.url(), sim)
      << "  symbols: [BTC_USDT_PERP]\n"
      << "  timeframes: [1m]\n"
      << "  stale_after: 3s\n"
      << "  check_interval: 200ms\n";
  }
  nats_reader alerts(nats.url(), "alerts.warning");
  nats_reader bars(nats.url(), "md.poloniex.btc_usdt_perp.bar.1m");
  service_process svc({MARKETDATA_BIN, "--config", cfg}, dir + "/marketdata.log");
  auto need = [&](bool ok, const char* what) {
    if (!ok) FAIL(what << "\n--- marketdata log ---\n" << svc.output());
  };
  need(wait_subscribed(svc, 1, 10s), "streams not subscribed");
  // One minute closes the t0 bar; then the market stops on the last path point of the next bar
  // (t0 + 1m59.999s, venue-sim walks each bar at 0, D/3, 2D/3, D-1) and is not stepped again. The
  // venue's clock as marketdata estimates it (newest event time + wall time since) passes the due
  // time of the bar opened at t0 + 1m (t0 + 2m) plus stale_after 3 s about 3 s later.
  step(60'000);
  step(59'999);
  const auto stopped = std::chrono::steady_clock::now();
  auto first_bar = bars.next(10s);
  REQUIRE(first_bar);
  CHECK(first_bar->second.at("open_ts") == core::timestamp::from_millis(t0).to_iso8601());
  std::optional<std::pair<std::string, json>> alert;
  while (!alert && std::chrono::steady_clock::now() - stopped < 20s) {
    auto m = alerts.next(500ms);
    if (m && m->second.value("code", "") == "MD_STREAM_STALE") alert = m;
  }
  const auto waited = std::chrono::steady_clock::now() - stopped;
  need(alert.has_value(), "no MD_STREAM_STALE");
  const json& a = alert->second;
  INFO(a.dump(2));
  CHECK(a.at("severity") == "warning");
  CHECK(a.at("source") == "marketdata");
  CHECK(a.at("details").at("venue") == "poloniex");
  CHECK(a.at("details").at("symbol") == "BTC_USDT_PERP");
  CHECK(a.at("details").at("stale_after_ms") == 3000);
  CHECK(a.at("details").at("last_bar_open") == core::timestamp::from_millis(t0).to_iso8601());
  CHECK(waited >= 2s);  // not at once: about stale_after (3 s) after the last event

  CHECK(waited < 15s);
  // Once per episode; the market moves again and the stream is live again.
  CHECK_FALSE(alerts.next(1s));
  step(60'000);
  need(svc.wait_for("stream live again", 10s), "not live again");
  CHECK(svc.stop() == 0);
}

TEST_CASE("service refuses a bad universe config with exit 2 and one line naming the key") {
  const auto dir = testing::make_temp_dir("marketdata-config");
  struct bad_case {
    const char* yaml;
    const char* key;
    const char* why;
  };
  const bad_case cases[] = {
      {"  universe: {mode: selected}\n", "marketdata.universe.equity", "required with mode selected"},
      {"  symbols: [BTC_USDT_PERP]\n  universe: {mode: report, equity: -5}\n", "marketdata.universe.equity", "must be positive"},
      {"  universe: {mode: selected, equity: 100, min_order_fit: abc}\n", "marketdata.universe.min_order_fit", "not a decimal"},
      {"  universe: {mode: selected, equity: 100, size: 40}\n", "marketdata.universe.size", "larger than marketdata.universe.candidates"},
      {"  universe: {mode: selected, equity: 100, refresh_at: '25:00'}\n", "marketdata.universe.refresh_at", "HH:MM"},
      {"  universe: {mode: sometimes}\n", "marketdata.universe.mode", ""},
      {"  universe: {mode: selected, equity: 100, max_volume: 3}\n", "marketdata.universe.max_volume", "unknown key"},
      {"  symbols: []\n  universe: {mode: report, equity: 100}\n", "marketdata.symbols", "must not be empty"},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string cfg = dir + "/bad" + std::to_string(n++) + ".yaml";
    {
      std::ofstream y(cfg);
      y << "bus:\n  url: nats://127.0.0.1:1\nmarketdata:\n  venue: poloniex\n" << c.yaml;
    }
    service_process svc({MARKETDATA_BIN, "--config", cfg}, cfg + ".log");
    const int code = svc.exited(10s);
    const std::string out = svc.output();
    INFO(c.yaml << "\n" << out);
    CHECK(code == 2);
    CHECK(out.find(c.key) != std::string::npos);
    CHECK(out.find(c.why) != std::string::npos);
  }
  // Mode selected needs no symbols: the config passes and the bus (unreachable here) is next.
  const std::string ok = dir + "/ok.yaml";
  {
    std::ofstream y(ok);
    y << "bus:\n  url: nats://127.0.0.1:1\nmarketdata:\n  venue: poloniex\n  universe: {mode: selected, equity: 100}\n";
  }
  service_process svc({MARKETDATA_BIN, "--config", ok}, ok + ".log");
  INFO(svc.output());
  CHECK(svc.exited(10s) == 3);
}
