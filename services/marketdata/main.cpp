// marketdata: the venue's public streams in, md.* out. 1m candles from the WebSocket feed the bar
// pipeline (pipeline.hpp), which builds 5m..1d and asks for REST backfills at start and after
// every hole; closed bars, mark prices and funding go out on md.<venue>.<symbol>.*, a quiet stream
// raises alerts.warning. With marketdata.universe the trading universe is selected at start and
// daily (selection.hpp, libs/universe), published on md.<venue>.universe, and the symbols it adds
// are followed from then on. See README.md. Exits 2 with one line on a bad config.
#include "bus/bus.hpp"
#include "connectors/make_connector.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "core/time.hpp"
#include "pipeline.hpp"
#include "selection.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::venue::candle)

namespace {

namespace md = pt::marketdata;
namespace pv = pt::venue;
using namespace std::chrono_literals;

using candle_atom = caf::atom_constant<caf::atom("md_candle")>;
using clock_atom = caf::atom_constant<caf::atom("md_clock")>;
using tick_atom = caf::atom_constant<caf::atom("md_tick")>;
using lost_atom = caf::atom_constant<caf::atom("md_lost")>;
using start_atom = caf::atom_constant<caf::atom("md_start")>;
using pt::core::decimal;

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
  md::universe_settings universe;  // mode fixed: `symbols` only
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string iso(std::int64_t ms) { return pt::core::timestamp::from_millis(ms).to_iso8601(); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// recv_ns: when the stream frame that completed the bar arrived (0: history, not traced).
nlohmann::json bar_body(const std::string& venue, const std::string& symbol, const md::published_bar& p,
                        std::int64_t recv_ns = 0) {
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
  if (recv_ns > 0 && !p.backfilled) {
    pt::core::trace::stamp(j, "md_recv", recv_ns);
    pt::core::trace::stamp(j, "md_pub", pt::core::trace::now_ns());
  }
  return j;
}

struct md_state {
  std::map<std::string, md::bar_pipeline> pipes;  // one per followed symbol
  std::map<std::string, bool> stale;
  std::int64_t market_seen = INT64_MIN;  // newest venue time seen on the streams
  std::chrono::steady_clock::time_point seen_at{};
  // Universe selection (modes report and selected).
  std::optional<decimal> account_equity;           // the newest exec.account of this venue
  std::set<std::string> selected;                  // the last selection
  std::int64_t universe_due = INT64_MAX;           // market time of the next daily selection
  std::string failed_trigger;                      // non-empty: the last selection failed, retried
  std::chrono::steady_clock::time_point failed_at{}, published_at{};
  std::optional<nlohmann::json> universe_msg;      // the last md.<venue>.universe
};

// Holds the connector (its stream threads call back into the actor) and does the blocking REST.
struct md_context : std::enable_shared_from_this<md_context> {
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
  void publish_bars(const std::string& symbol, const std::vector<md::published_bar>& bars, std::int64_t recv_ns = 0) const {
    for (const auto& p : bars) publish(subject(symbol, "bar." + p.tf), bar_body(venue_name, symbol, p, recv_ns));
  }
  void alert(const std::string& code, const std::string& message, const nlohmann::json& details) const {
    publish("alerts.warning", {{"severity", "warning"},
                               {"source", service},
                               {"code", code},
                               {"message", message},
                               {"ts", iso(wall_ms())},
                               {"details", details}});
  }

  // The venue calls of the universe selection.
  md::market_source source() const {
    auto v = venue;
    return {[v] { return v->instruments(); }, [v](const std::string& s) { return v->get_ticker(s); },
            [v](const std::string& s) { return v->get_funding_rate(s); },
            [v](const pv::kline_query& q) { return v->klines(q); }};
  }

  // Subscribes the public streams of `symbols` (one more stream session each call: the
  // connectors add, never replace). Candles go to the actor `a`; marks and funding are published
  // from the stream thread.
  void subscribe(const std::vector<std::string>& symbols, const caf::actor& a) {
    pv::public_subscription sub;
    sub.symbols = symbols;
    sub.candle_intervals = {cfg.base_timeframe};
    sub.mark_price = cfg.mark_price;
    sub.funding = cfg.funding;
    pv::public_handlers h;
    h.on_candle = [a](const pv::candle& c, const std::string& symbol) { caf::anon_send(a, candle_atom::value, c, symbol); };
    auto ctx = shared_from_this();
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
    pt::log::info("subscribed", {{"venue", cfg.venue}, {"symbols", symbols}});
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
  // The configured symbols (main subscribes them); the universe adds more later.
  for (const auto& s : ctx->cfg.symbols) self->state.pipes.emplace(s, md::bar_pipeline(ctx->cfg.timeframes, 0, md::timeframe_period(ctx->cfg.base_timeframe)));
  self->delayed_send(self, ctx->cfg.check_interval, tick_atom::value);
  const auto& cfg = ctx->cfg;
  const auto mode = cfg.universe.mode;
  auto note_clock = [self](std::int64_t t) {
    if (t > self->state.market_seen) {
      self->state.market_seen = t;
      self->state.seen_at = std::chrono::steady_clock::now();
    }
  };
  // Starts following `symbols` (those not followed yet): a pipeline each, then the streams.
  // Symbols are never dropped during a run (see README: a position may still be open there).
  auto follow = [self, ctx](const std::vector<std::string>& symbols) -> std::vector<std::string> {
    std::vector<std::string> added;
    for (const auto& s : symbols)
      if (!self->state.pipes.count(s) && std::find(added.begin(), added.end(), s) == added.end()) added.push_back(s);
    if (added.empty()) return added;
    for (const auto& s : added)
      self->state.pipes.emplace(s, md::bar_pipeline(ctx->cfg.timeframes, 0, md::timeframe_period(ctx->cfg.base_timeframe)));
    try {
      ctx->subscribe(added, caf::actor_cast<caf::actor>(self));
    } catch (...) {
      for (const auto& s : added) self->state.pipes.erase(s);
      throw;
    }
    return added;
  };
  auto followed = [self] {
    std::vector<std::string> out;
    for (const auto& [s, p] : self->state.pipes) out.push_back(s);
    return out;
  };
  // One selection (start, daily, or a retry of either): publish md.<venue>.universe and, in mode
  // selected, follow what it adds. A failure keeps the previous universe and is retried.
  auto select = [=](const std::string& trigger) {
    auto& st = self->state;
    const bool from_account = cfg.universe.use_account && st.account_equity.has_value();
    const decimal equity = from_account ? *st.account_equity : cfg.universe.equity;
    std::optional<std::int64_t> market_now;
    if (st.market_seen != INT64_MIN) market_now = st.market_seen;
    try {
      const auto sel = md::run_selection(ctx->source(), cfg.universe, equity, from_account ? "account" : "config",
                                         market_now, wall_ms());
      std::vector<std::string> chosen;
      for (const auto& s : sel.result.selected) chosen.push_back(s.symbol);
      std::vector<std::string> added;
      if (mode == md::universe_mode::selected) added = follow(chosen);
      for (const auto& s : st.selected)
        if (std::find(chosen.begin(), chosen.end(), s) == chosen.end())
          pt::log::info("symbol left the universe", {{"symbol", s}, {"followed", st.pipes.count(s) > 0}});
      st.selected = std::set<std::string>(chosen.begin(), chosen.end());
      nlohmann::json excluded = nlohmann::json::object();
      for (const auto& e : sel.result.excluded) excluded[e.symbol] = pt::universe::to_string(e.reason);
      pt::log::info("universe selected", {{"trigger", trigger},
                                          {"market_time", iso(sel.market_time)},
                                          {"equity", equity.to_string()},
                                          {"equity_source", sel.equity_source},
                                          {"selected", chosen},
                                          {"excluded", excluded},
                                          {"added", added}});
      st.universe_msg = md::universe_body(ctx->venue_name, trigger, mode, cfg.universe.rules, sel, followed(), added);
      ctx->publish("md." + ctx->venue_name + ".universe", *st.universe_msg);
      st.published_at = std::chrono::steady_clock::now();
      st.universe_due = md::next_refresh(sel.market_time, cfg.universe.refresh_at_ms);
      st.failed_trigger.clear();
    } catch (const std::exception& e) {
      pt::log::error("universe selection failed", {{"trigger", trigger}, {"error", e.what()}});
      if (st.failed_trigger.empty())
        ctx->alert("MD_UNIVERSE_FAILED", "universe selection failed on " + ctx->venue_name + "; retried every " +
                                             std::to_string(cfg.universe.retry.count()) + " ms",
                   {{"venue", ctx->venue_name}, {"trigger", trigger}, {"error", std::string(e.what()).substr(0, 500)}});
      st.failed_trigger = trigger;
      st.failed_at = std::chrono::steady_clock::now();
    }
  };
  // The daily selection runs on the venue's clock (the replay's in paper runs): the first stream
  // event at or after refresh_at.
  auto maybe_daily = [=] {
    auto& st = self->state;
    if (mode == md::universe_mode::fixed || !st.failed_trigger.empty()) return;
    if (st.market_seen != INT64_MIN && st.market_seen >= st.universe_due) select("daily");
  };
  return {
      [=](start_atom) {
        if (mode != md::universe_mode::fixed) select("start");
      },
      [=](candle_atom, const pv::candle& c, const std::string& symbol) {
        note_clock(c.open_time);
        maybe_daily();
        auto it = self->state.pipes.find(symbol);
        if (it == self->state.pipes.end()) return;
        // An exception must not end the actor (that would silently stop every symbol's bars).
        try {
          ctx->publish_bars(symbol, it->second.on_stream(c), c.received_ns);
          ctx->serve_backfills(symbol, it->second);
        } catch (const std::exception& e) {
          pt::log::error("candle not processed", {{"symbol", symbol}, {"error", e.what()}});
        }
      },
      [=](clock_atom, std::int64_t t) {
        note_clock(t);
        maybe_daily();
      },
      [=](lost_atom) {
        for (auto& [symbol, pipe] : self->state.pipes) pipe.stream_lost();
      },
      // exec.account (equity for the order-fit rule) and exec.position.* (mode selected: a symbol
      // with an open position is followed, whatever the universe says).
      [=](const pt::bus::envelope& e) {
        try {
          if (!e.body.is_object() || e.body.value("venue", std::string()) != ctx->venue_name) return;
          if (e.subject == "exec.account") {
            self->state.account_equity = decimal::parse(e.body.at("equity").get<std::string>());
          } else if (e.subject.rfind("exec.position.", 0) == 0 && mode == md::universe_mode::selected) {
            const auto symbol = e.body.at("symbol").get<std::string>();
            if (decimal::parse(e.body.at("qty").get<std::string>()).is_positive() && !self->state.pipes.count(symbol)) {
              pt::log::info("open position: following its symbol", {{"symbol", symbol}});
              (void)follow({symbol});
            }
          }
        } catch (const std::exception& x) {
          pt::log::warn("message ignored", {{"subject", e.subject}, {"error", x.what()}});
        }
      },
      [=](tick_atom) {
        self->delayed_send(self, ctx->cfg.check_interval, tick_atom::value);
        auto& st = self->state;
        const auto wall_now = std::chrono::steady_clock::now();
        if (mode != md::universe_mode::fixed) {
          if (!st.failed_trigger.empty() && wall_now - st.failed_at >= cfg.universe.retry) {
            select(st.failed_trigger);
          } else if (st.universe_msg && cfg.universe.republish.count() > 0 && wall_now - st.published_at >= cfg.universe.republish) {
            ctx->publish("md." + ctx->venue_name + ".universe", *st.universe_msg);
            st.published_at = wall_now;
          }
        }
        if (st.market_seen == INT64_MIN) return;
        // The venue's clock, estimated from its newest event (venue-sim's market time lags the wall clock).
        const auto now = st.market_seen +
                         std::chrono::duration_cast<std::chrono::milliseconds>(wall_now - st.seen_at).count();
        const auto horizon = now - ctx->cfg.stale_after.count();
        for (auto& [symbol, pipe] : st.pipes) try {
          auto r = pipe.on_time(horizon);
          bool& was = st.stale[symbol];
          if (r.stale && !was) {
            const auto last = pipe.last_fed();
            pt::log::warn("stream stale: no base bar", {{"symbol", symbol}, {"last_bar", last ? iso(*last) : ""}});
            nlohmann::json details{{"venue", ctx->venue_name}, {"symbol", symbol}, {"stale_after_ms", ctx->cfg.stale_after.count()}};
            if (last) details["last_bar_open"] = iso(*last);
            ctx->alert("MD_STREAM_STALE", "no " + ctx->cfg.base_timeframe + " bar for " + symbol + " for stale_after past due", details);
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

// A decimal key; nullopt when absent. Money and thresholds stay decimal text (never a double).
std::optional<decimal> get_decimal(const pt::config::document& c, const std::string& key) {
  if (!c.has(key)) return std::nullopt;
  const auto text = c.get_string(key);
  const auto d = decimal::try_parse(text);
  if (!d) c.fail(key, "not a decimal: '" + text + "' (digits with an optional '.', at most 9 after it)");
  return d;
}

md::universe_settings read_universe(const pt::config::document& c) {
  md::universe_settings u;
  const std::string p = "marketdata.universe.";
  c.require_only("marketdata.universe", {"mode", "quote", "min_quote_volume", "min_order_fit", "max_abs_funding", "max_spread",
                                         "candidates", "size", "equity", "use_account", "max_leverage", "refresh_at",
                                         "retry", "republish"});
  const auto mode = c.get_enum(p + "mode", {"fixed", "report", "selected"}, "fixed");
  u.mode = mode == "selected" ? md::universe_mode::selected : mode == "report" ? md::universe_mode::report : md::universe_mode::fixed;
  u.rules.quote = c.get_string(p + "quote", u.rules.quote);
  if (u.rules.quote.empty()) c.fail(p + "quote", "must not be empty");
  auto positive = [&](const std::string& key, decimal& out, bool zero_ok) {
    if (auto d = get_decimal(c, p + key)) {
      if (d->is_negative() || (!zero_ok && d->is_zero())) c.fail(p + key, zero_ok ? "must not be negative" : "must be positive");
      out = *d;
    }
  };
  positive("min_quote_volume", u.rules.min_quote_volume, true);
  positive("min_order_fit", u.rules.min_order_fit, false);
  positive("max_abs_funding", u.rules.max_abs_funding, false);
  positive("max_spread", u.rules.max_spread, false);
  u.rules.candidates = static_cast<std::size_t>(c.get_int(p + "candidates", 1, 1000, static_cast<std::int64_t>(u.rules.candidates)));
  u.rules.size = static_cast<std::size_t>(c.get_int(p + "size", 1, 1000, static_cast<std::int64_t>(u.rules.size)));
  if (u.rules.size > u.rules.candidates)
    c.fail(p + "size", "is larger than marketdata.universe.candidates (" + std::to_string(u.rules.candidates) + ")");
  u.max_leverage = static_cast<int>(c.get_int(p + "max_leverage", 1, 125, u.max_leverage));
  u.use_account = c.get_bool(p + "use_account", u.use_account);
  if (u.mode != md::universe_mode::fixed) {
    if (!c.has(p + "equity"))
      c.fail(p + "equity", "required with mode " + mode + ": the account equity (quote) until an exec.account arrives");
    positive("equity", u.equity, false);
  } else if (c.has(p + "equity")) {
    positive("equity", u.equity, false);
  }
  const auto at = c.get_string(p + "refresh_at", "00:00");
  const auto ms = md::parse_time_of_day(at);
  if (!ms) c.fail(p + "refresh_at", "expected HH:MM (UTC, the venue's clock), got '" + at + "'");
  u.refresh_at_ms = *ms;
  u.retry = c.get_duration(p + "retry", 1s, 24h, u.retry);
  u.republish = c.get_duration(p + "republish", 0ms, 24h, u.republish);
  if (u.republish.count() > 0 && u.republish < 1s) c.fail(p + "republish", "must be 0 (off) or at least 1s");
  return u;
}

md_config read_config(const pt::config::document& c) {
  md_config m;
  c.require_only("marketdata", {"venue", "rest_url", "ws_url", "symbols", "timeframes", "backfill", "mark_price",
                                "funding", "stale_after", "check_interval", "base_timeframe", "universe"});
  m.venue = c.get_enum("marketdata.venue", {"poloniex", "binance"}, m.venue);
  m.rest_url = c.get_string("marketdata.rest_url", "");
  m.ws_url = c.get_string("marketdata.ws_url", "");
  m.universe = read_universe(c);
  // Mode selected: `symbols` are followed besides the universe and may be empty.
  const bool selected = m.universe.mode == md::universe_mode::selected;
  if (!c.has("marketdata.symbols") && !selected)
    c.fail("marketdata.symbols", "required: the symbols to follow (venue spelling)");
  if (c.has("marketdata.symbols")) m.symbols = c.get_string_list("marketdata.symbols");
  if (m.symbols.empty() && !selected)
    c.fail("marketdata.symbols", "must not be empty (unless marketdata.universe.mode is selected)");
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
  opt.summary = "venue public streams -> bars 1m..1d, mark, funding and the trading universe on md.*";
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

    // exec.account: the equity of the order-fit rule; exec.position.*: symbols with a position
    // stay followed (mode selected). Core subscriptions: a missed message only delays either.
    if (cfg.universe.mode != md::universe_mode::fixed) {
      std::vector<std::string> subjects;
      if (cfg.universe.use_account) subjects.push_back("exec.account");
      if (cfg.universe.mode == md::universe_mode::selected) subjects.push_back("exec.position.*");
      for (const auto& s : subjects)
        if (auto id = rt.bus().subscribe(s, a); !id)
          pt::log::warn("subscribe failed", {{"subject", s}, {"error", pt::bus::describe(id.error())}});
    }
    if (!cfg.symbols.empty()) ctx->subscribe(cfg.symbols, a);
    // Modes report and selected: the first selection (the actor subscribes what it adds).
    caf::anon_send(a, start_atom::value);
  });
}
