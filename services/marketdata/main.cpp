// marketdata: the venue's public streams in, md.* out. 1m candles from the WebSocket feed the bar
// pipeline (pipeline.hpp), which builds 5m..1d and asks for REST backfills at start and after
// every hole; closed bars, mark prices and funding go out on md.<venue>.<symbol>.*, a quiet stream
// raises alerts.warning. See README.md. Exits 2 with one line on a bad config.
#include "bus/bus.hpp"
#include "connectors/make_connector.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "pipeline.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::venue::candle)

namespace {

namespace md = pt::marketdata;
namespace pv = pt::venue;
using namespace std::chrono_literals;

using candle_atom = caf::atom_constant<caf::atom("md_candle")>;
using clock_atom = caf::atom_constant<caf::atom("md_clock")>;
using tick_atom = caf::atom_constant<caf::atom("md_tick")>;
using lost_atom = caf::atom_constant<caf::atom("md_lost")>;

struct md_config {
  std::string venue = "poloniex";
  std::string rest_url;  // "" = the live venue
  std::string ws_url;    // Poloniex: the public socket URL; Binance: the ws base URL
  std::vector<std::string> symbols;
  std::vector<std::string> timeframes{"1m", "5m", "15m", "1h", "4h", "1d"};
  // The stream's candle period: 1m live; a replay of recorded 1h bars (the main job) uses 1h and
  // builds 4h and 1d from it. Every timeframe must be a multiple of it.
  std::string base_timeframe = "1m";
  std::map<std::string, int> backfill;  // tf -> closed bars of history at start
  bool mark_price = true;
  bool funding = true;
  std::chrono::milliseconds stale_after{120000};  // 2 bar periods past due
  std::chrono::milliseconds check_interval{5000};
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string iso(std::int64_t ms) { return pt::core::timestamp::from_millis(ms).to_iso8601(); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

nlohmann::json bar_body(const std::string& venue, const std::string& symbol, const md::published_bar& p) {
  nlohmann::json j{{"venue", venue},
                   {"symbol", symbol},
                   {"tf", p.tf},
                   {"open_ts", iso(p.b.open_time_ms)},
                   {"close_ts", iso(p.b.open_time_ms + p.period.count())},  // the period's end (exclusive)
                   {"open", p.b.open.to_string()},
                   {"high", p.b.high.to_string()},
                   {"low", p.b.low.to_string()},
                   {"close", p.b.close.to_string()},
                   {"volume", p.b.volume.to_string()},
                   {"closed", true}};
  if (p.backfilled) j["backfilled"] = true;
  return j;
}

struct md_state {
  std::map<std::string, md::bar_pipeline> pipes;
  std::map<std::string, bool> stale;
  std::int64_t market_seen = INT64_MIN;  // newest venue time seen on the streams
  std::chrono::steady_clock::time_point seen_at{};
};

// Holds the connector (its stream threads call back into the actor) and does the blocking REST.
struct md_context {
  md_config cfg;
  std::string service;
  pt::bus::bus* bus = nullptr;
  std::shared_ptr<pv::venue> venue;
  std::string venue_name;

  std::string subject(const std::string& symbol, const std::string& rest) const {
    return "md." + venue_name + "." + lower(symbol) + "." + rest;
  }
  void publish(const std::string& subject, const nlohmann::json& body) const {
    if (auto err = bus->publish(subject, body))
      pt::log::warn("publish failed", {{"subject", subject}, {"error", pt::bus::describe(err)}});
  }
  void publish_bars(const std::string& symbol, const std::vector<md::published_bar>& bars) const {
    for (const auto& p : bars) publish(subject(symbol, "bar." + p.tf), bar_body(venue_name, symbol, p));
  }

  // Base-period klines [from, to), paged; throws venue_error / parse_error.
  std::vector<pv::candle> klines_base(const std::string& symbol, std::int64_t from, std::int64_t to) const {
    const std::int64_t base = md::timeframe_period(cfg.base_timeframe).count();
    std::vector<pv::candle> out;
    std::int64_t start = from;
    for (int page = 0; page < 100 && start < to; ++page) {
      pv::kline_query q;
      q.symbol = symbol;
      q.interval = cfg.base_timeframe;
      q.start = start;
      q.end = to - 1;
      q.limit = 500;
      auto got = venue->klines(q);
      std::int64_t newest = INT64_MIN;
      for (auto& c : got) {
        newest = std::max(newest, c.open_time);
        out.push_back(c);
      }
      if (got.empty() || newest + base <= start) break;
      start = newest + base;
    }
    return out;
  }

  // At start, before the aggregated history: `depth` closed bars of each timeframe ending by `until`.
  void history(const std::string& symbol, std::int64_t until) const {
    for (const auto& tf : cfg.timeframes) {
      auto it = cfg.backfill.find(tf);
      if (it == cfg.backfill.end() || it->second <= 0) continue;
      const auto period = md::timeframe_period(tf).count();
      try {
        pv::kline_query q;
        q.symbol = symbol;
        q.interval = tf;
        q.start = until - it->second * period;
        q.end = until - 1;
        q.limit = it->second;
        auto got = venue->klines(q);
        std::sort(got.begin(), got.end(), [](const pv::candle& a, const pv::candle& b) { return a.open_time < b.open_time; });
        int n = 0;
        for (const auto& c : got) {
          if (c.open_time + period > until || c.open_time < until - it->second * period) continue;
          md::published_bar p{tf, std::chrono::milliseconds(period), {}, true};
          p.b.open_time_ms = c.open_time;
          p.b.open = c.open;
          p.b.high = c.high;
          p.b.low = c.low;
          p.b.close = c.close;
          p.b.volume = c.volume;
          publish(subject(symbol, "bar." + tf), bar_body(venue_name, symbol, p));
          ++n;
        }
        pt::log::info("history published", {{"symbol", symbol}, {"tf", tf}, {"bars", n}});
      } catch (const std::exception& e) {
        pt::log::warn("history backfill failed", {{"symbol", symbol}, {"tf", tf}, {"error", e.what()}});
      }
    }
  }

  // Runs the backfills the pipeline asks for until it asks none.
  void serve_backfills(const std::string& symbol, md::bar_pipeline& pipe) const {
    for (int round = 0; round < 1000; ++round) {
      const auto req = pipe.pending();
      if (!req) break;
      if (!pipe.first_fed()) history(symbol, req->from_ms);
      std::vector<md::published_bar> bars;
      try {
        auto got = klines_base(symbol, req->from_ms, req->to_ms);
        pt::log::info("backfill", {{"symbol", symbol}, {"from", iso(req->from_ms)}, {"to", iso(req->to_ms)}, {"candles", got.size()}});
        bars = pipe.on_backfill(*req, std::move(got));
      } catch (const std::exception& e) {
        pt::log::warn("backfill failed", {{"symbol", symbol}, {"from", iso(req->from_ms)}, {"to", iso(req->to_ms)}, {"error", e.what()}});
        bars = pipe.backfill_failed(*req);
      }
      publish_bars(symbol, bars);
    }
    for (const auto& g : pipe.take_gaps())
      pt::log::warn("gap not filled", {{"symbol", symbol}, {"from", iso(g.from_ms)}, {"to", iso(g.to_ms)}});
    for (const auto& e : pipe.take_errors()) pt::log::warn("bad candle dropped", {{"symbol", symbol}, {"error", e}});
  }
};

caf::behavior md_actor(caf::stateful_actor<md_state>* self, std::shared_ptr<md_context> ctx) {
  for (const auto& s : ctx->cfg.symbols) self->state.pipes.emplace(s, md::bar_pipeline(ctx->cfg.timeframes, 0, md::timeframe_period(ctx->cfg.base_timeframe)));
  self->delayed_send(self, ctx->cfg.check_interval, tick_atom::value);
  auto note_clock = [self](std::int64_t t) {
    if (t > self->state.market_seen) {
      self->state.market_seen = t;
      self->state.seen_at = std::chrono::steady_clock::now();
    }
  };
  return {
      [=](candle_atom, const pv::candle& c, const std::string& symbol) {
        auto it = self->state.pipes.find(symbol);
        if (it == self->state.pipes.end()) return;
        // An exception must not end the actor (that would silently stop every symbol's bars).
        try {
          note_clock(c.open_time);
          ctx->publish_bars(symbol, it->second.on_stream(c));
          ctx->serve_backfills(symbol, it->second);
        } catch (const std::exception& e) {
          pt::log::error("candle not processed", {{"symbol", symbol}, {"error", e.what()}});
        }
      },
      [=](clock_atom, std::int64_t t) { note_clock(t); },
      [=](lost_atom) {
        for (auto& [symbol, pipe] : self->state.pipes) pipe.stream_lost();
      },
      [=](tick_atom) {
        self->delayed_send(self, ctx->cfg.check_interval, tick_atom::value);
        if (self->state.market_seen == INT64_MIN) return;
        // The venue's clock, estimated from its newest event (venue-sim's market time lags the wall clock).
        const auto now = self->state.market_seen +
                         std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - self->state.seen_at).count();
        const auto horizon = now - ctx->cfg.stale_after.count();
        for (auto& [symbol, pipe] : self->state.pipes) try {
          auto r = pipe.on_time(horizon);
          bool& was = self->state.stale[symbol];
          if (r.stale && !was) {
            const auto last = pipe.last_fed();
            pt::log::warn("stream stale: no base bar", {{"symbol", symbol}, {"last_bar", last ? iso(*last) : ""}});
            nlohmann::json details{{"venue", ctx->venue_name}, {"symbol", symbol}, {"stale_after_ms", ctx->cfg.stale_after.count()}};
            if (last) details["last_bar_open"] = iso(*last);
            ctx->publish("alerts.warning", {{"severity", "warning"},
                                            {"source", ctx->service},
                                            {"code", "MD_STREAM_STALE"},
                                            {"message", "no " + ctx->cfg.base_timeframe + " bar for " + symbol + " for stale_after past due"},
                                            {"ts", iso(wall_ms())},
                                            {"details", details}});
          } else if (!r.stale && was) {
            pt::log::info("stream live again", {{"symbol", symbol}});
          }
          was = r.stale;
          ctx->publish_bars(symbol, r.bars);
          ctx->serve_backfills(symbol, pipe);
        } catch (const std::exception& e) {
          pt::log::error("stale check failed", {{"symbol", symbol}, {"error", e.what()}});
        }
      },
  };
}

md_config read_config(const pt::config::document& c) {
  md_config m;
  c.require_only("marketdata", {"venue", "rest_url", "ws_url", "symbols", "timeframes", "backfill", "mark_price",
                                "funding", "stale_after", "check_interval", "base_timeframe"});
  m.venue = c.get_enum("marketdata.venue", {"poloniex", "binance"}, m.venue);
  m.rest_url = c.get_string("marketdata.rest_url", "");
  m.ws_url = c.get_string("marketdata.ws_url", "");
  if (!c.has("marketdata.symbols")) c.fail("marketdata.symbols", "required: the symbols to follow (venue spelling)");
  m.symbols = c.get_string_list("marketdata.symbols");
  if (m.symbols.empty()) c.fail("marketdata.symbols", "must not be empty");
  if (c.has("marketdata.timeframes")) m.timeframes = c.get_string_list("marketdata.timeframes");
  m.base_timeframe = c.get_string("marketdata.base_timeframe", m.base_timeframe);
  try {
    (void)md::timeframe_period(m.base_timeframe);
  } catch (const std::exception& e) {
    c.fail("marketdata.base_timeframe", e.what());
  }
  for (const auto& tf : m.timeframes) {
    try {
      (void)md::timeframe_period(tf);
    } catch (const std::exception& e) {
      c.fail("marketdata.timeframes", e.what());
    }
  }
  try {
    md::bar_pipeline check(m.timeframes, 0, md::timeframe_period(m.base_timeframe));
  } catch (const std::exception& e) {
    c.fail("marketdata.timeframes", e.what());
  }
  for (const auto& tf : c.child_keys("marketdata.backfill")) {
    if (std::find(m.timeframes.begin(), m.timeframes.end(), tf) == m.timeframes.end())
      c.fail("marketdata.backfill." + tf, "not one of marketdata.timeframes");
    m.backfill[tf] = static_cast<int>(c.get_int("marketdata.backfill." + tf, 0, 1500));
  }
  m.mark_price = c.get_bool("marketdata.mark_price", m.mark_price);
  m.funding = c.get_bool("marketdata.funding", m.funding);
  m.stale_after = c.get_duration("marketdata.stale_after", 1s, 24h, m.stale_after);
  m.check_interval = c.get_duration("marketdata.check_interval", 100ms, 1h, m.check_interval);
  return m;
}

std::shared_ptr<pv::venue> make_venue(const md_config& m) {
  pt::connectors::connector_options o;  // public streams only: no keys
  o.venue = m.venue;
  o.rest_url = m.rest_url;
  o.ws_url = m.ws_url;
  return pt::connectors::make_connector(o).venue;
}

}  // namespace

int main(int argc, char** argv) {
  md_config cfg;
  pt::service::options opt;
  opt.default_name = "marketdata";
  opt.summary = "venue public streams -> bars 1m..1d, mark and funding on md.*";
  opt.configure = [&](const pt::service::context& ctx) { cfg = read_config(ctx.config); };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto ctx = std::make_shared<md_context>();
    ctx->cfg = cfg;
    ctx->service = rt.ctx().name;
    ctx->bus = &rt.bus();
    ctx->venue = make_venue(cfg);
    ctx->venue_name = cfg.venue;
    auto actor = rt.system().spawn<caf::detached>(md_actor, ctx);
    rt.manage(actor);
    auto venue = ctx->venue;
    rt.on_stop([venue] { venue->close_streams(); });

    pv::stream_events ev;
    const caf::actor a = actor;
    ev.on_connection = [a](const std::string& stream, bool up) {
      pt::log::info(up ? "stream connected" : "stream disconnected", {{"stream", stream}});
      if (!up) caf::anon_send(a, lost_atom::value);
    };
    ev.on_error = [](const std::string& what) { pt::log::warn("stream error", {{"error", what}}); };
    ev.on_status = [](const pv::venue_status&) { pt::log::info("venue status changed"); };
    venue->set_stream_events(ev);

    pv::public_subscription sub;
    sub.symbols = cfg.symbols;
    sub.candle_intervals = {cfg.base_timeframe};
    sub.mark_price = cfg.mark_price;
    sub.funding = cfg.funding;
    pv::public_handlers h;
    h.on_candle = [a](const pv::candle& c, const std::string& symbol) { caf::anon_send(a, candle_atom::value, c, symbol); };
    if (cfg.mark_price)
      h.on_mark_price = [ctx, a](const pv::mark_price& m) {
        caf::anon_send(a, clock_atom::value, m.time);
        try {
          nlohmann::json j{{"venue", ctx->venue_name}, {"symbol", m.symbol}, {"ts", iso(m.time)}, {"mark_price", m.mark.to_string()}};
          if (m.index && !m.index->is_negative()) j["index_price"] = m.index->to_string();
          ctx->publish(ctx->subject(m.symbol, "mark"), j);
        } catch (const std::exception& e) {
          pt::log::warn("bad mark price dropped", {{"symbol", m.symbol}, {"error", e.what()}});
        }
      };
    if (cfg.funding)
      h.on_funding = [ctx](const pv::funding_rate& f) {
        try {
          ctx->publish(ctx->subject(f.symbol, "funding"), {{"venue", ctx->venue_name},
                                                           {"symbol", f.symbol},
                                                           {"ts", iso(f.time)},
                                                           {"rate", f.rate.to_string()},
                                                           {"next_funding_ts", iso(f.next_time.value_or(f.time))}});
        } catch (const std::exception& e) {
          pt::log::warn("bad funding dropped", {{"symbol", f.symbol}, {"error", e.what()}});
        }
      };
    venue->subscribe_public(sub, h);
    pt::log::info("subscribed", {{"venue", cfg.venue}, {"symbols", cfg.symbols}});
  });
}
