// signal: md.<venue>.*.bar.* and .funding in, the strategies of libs/strategy (one instance per
// strategy and symbol) in between, signal.<strategy>.<symbol> (core), trade.proposed and
// trade.exit (JetStream) out; exec.position.* (JetStream, durable signal-positions) tells the
// strategies what is held. One CAF actor owns the engine (engine.hpp): no shared state. See
// README.md. Exits 2 with one line on a bad config (a params file included).
#include "bus/bus.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "engine.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <memory>
#include <regex>
#include <set>
#include <thread>

namespace {

namespace sg = pt::signal_service;
namespace st = pt::strategy;
using namespace std::chrono_literals;

using report_atom = caf::atom_constant<caf::atom("sig_report")>;

struct signal_config {
  std::string venue = "sim";
  std::vector<std::string> symbols;
  std::vector<std::string> strategy_files;
  std::vector<st::any_params> strategies;
  std::chrono::milliseconds report_interval{60000};
};

struct signal_context {
  pt::bus::bus* bus = nullptr;
  signal_config cfg;
};

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// JetStream publish with a few quick retries: the message id makes a retry that did land harmless.
// True when the server stored it (or had it already: a duplicate within its window).
bool js_send(const signal_context& ctx, const sg::outbound& m) {
  for (int attempt = 1;; ++attempt) {
    auto ack = ctx.bus->js_publish(m.subject, m.body, m.msg_id);
    if (ack) {
      pt::log::info(ack->duplicate ? "duplicate dropped by the server" : "published",
                    {{"subject", m.subject}, {"msg_id", m.msg_id}, {"seq", ack->sequence}});
      return !ack->duplicate;  // a duplicate was delivered before: nothing new will arrive
    }
    if (attempt >= 3 || pt::bus::is(ack.error(), pt::bus::errc::schema_violation)) {
      pt::log::error("js publish failed", {{"subject", m.subject}, {"msg_id", m.msg_id},
                                           {"error", pt::bus::describe(ack.error())}});
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

struct signal_state {
  std::unique_ptr<sg::signal_engine> engine;
  nlohmann::json last_report;
};

caf::behavior signal_actor(caf::stateful_actor<signal_state>* self, std::shared_ptr<signal_context> ctx) {
  self->state.engine = std::make_unique<sg::signal_engine>(
      sg::engine_config{ctx->cfg.venue, ctx->cfg.symbols, ctx->cfg.strategies});
  self->delayed_send(self, ctx->cfg.report_interval, report_atom::value);
  return {
      [=](const pt::bus::envelope& e) {
        auto& eng = *self->state.engine;
        // Nothing a message carries may end the actor: a bad payload is logged, counted, dropped.
        const bool is_bar = e.subject.find(".bar.") != std::string::npos;
        nlohmann::json published = nlohmann::json::array();
        try {
          std::vector<sg::outbound> out;
          if (starts_with(e.subject, "exec.position.")) {
            eng.on_position_message(e.body);
            pt::log::info("position update", {{"subject", e.subject}, {"side", e.body.value("side", "")},
                                              {"qty", e.body.value("qty", "")}, {"ts", e.body.value("ts", "")}});
          }
          else if (ends_with(e.subject, ".funding")) eng.on_funding_message(e.body);
          else if (is_bar) out = eng.on_bar_message(e.body);
          for (auto& m : out) {
            if (m.k == sg::outbound::kind::proposal && pt::core::trace::get(e.body, "md_recv") > 0) {
              pt::core::trace::carry(e.body, m.body);
              pt::core::trace::stamp(m.body, "signal_recv", e.received_ns);
              pt::core::trace::stamp(m.body, "signal_pub", pt::core::trace::now_ns());
            }
            if (m.jetstream()) {
              if (js_send(*ctx, m)) published.push_back(m.msg_id);
            } else if (auto err = ctx->bus->publish(m.subject, m.body)) {
              pt::log::warn("publish failed", {{"subject", m.subject}, {"error", pt::bus::describe(err)}});
            }
          }
        } catch (const sg::input_error& x) {
          pt::log::warn("bad message dropped", {{"subject", e.subject}, {"error", x.what()}});
        } catch (const std::exception& x) {
          pt::log::error("message not processed", {{"subject", e.subject}, {"error", x.what()}});
        }
        for (const auto& err : eng.take_errors()) pt::log::warn("strategy refused input", {{"error", err}});
        // Every bar message is acknowledged once handled (fed, ignored or refused), after what it
        // produced went out: a lockstep conductor (paperrun) waits for this before the next step,
        // instead of guessing from a quiet spell that nothing more is coming.
        if (is_bar && e.body.is_object() && e.body.contains("symbol") && e.body.contains("tf") && e.body.contains("close_ts"))
          try {
            nlohmann::json ack{{"venue", e.body.value("venue", ctx->cfg.venue)}, {"symbol", e.body["symbol"]}, {"tf", e.body["tf"]},
                               {"close_ts", e.body["close_ts"]}, {"published", published}};
            if (auto err = ctx->bus->publish("signal.processed", ack))
              pt::log::warn("signal.processed not published", {{"error", pt::bus::describe(err)}});
          } catch (const std::exception& x) {
            pt::log::warn("signal.processed not built", {{"error", x.what()}});
          }
        // Positions: the in-memory effect is done; a redelivery is harmless (older ts ignored).
        if (e.needs_ack())
          if (auto err = e.ack()) pt::log::warn("ack failed", {{"subject", e.subject}, {"error", pt::bus::describe(err)}});
      },
      [=](report_atom) {
        self->delayed_send(self, ctx->cfg.report_interval, report_atom::value);
        auto now = sg::to_json(self->state.engine->counters());
        if (now == self->state.last_report) return;
        self->state.last_report = now;
        auto mt = self->state.engine->market_time();
        pt::log::info("counters", {{"counters", now}, {"market_time", mt ? mt->to_iso8601() : ""}});
      },
  };
}

signal_config read_config(const pt::config::document& c) {
  signal_config s;
  c.require_only("signal", {"venue", "symbols", "strategies", "report_interval"});
  s.venue = c.get_enum("signal.venue", {"poloniex", "binance", "sim"}, s.venue);
  if (!c.has("signal.symbols")) c.fail("signal.symbols", "required: the symbols to trade (venue spelling)");
  s.symbols = c.get_string_list("signal.symbols");
  if (s.symbols.empty()) c.fail("signal.symbols", "must not be empty");
  static const std::regex symbol_re("^[A-Za-z0-9][A-Za-z0-9_\\-]{0,31}$");  // a subject token: no '.'
  std::set<std::string> seen;
  for (const auto& sym : s.symbols) {
    if (!std::regex_match(sym, symbol_re)) c.fail("signal.symbols", "'" + sym + "' is not a venue symbol");
    if (!seen.insert(sym).second) c.fail("signal.symbols", "'" + sym + "' twice");
  }
  if (!c.has("signal.strategies")) c.fail("signal.strategies", "required: the strategy params files");
  s.strategy_files = c.get_string_list("signal.strategies");
  if (s.strategy_files.empty()) c.fail("signal.strategies", "must not be empty");
  std::set<std::string> names;
  for (const auto& file : s.strategy_files) {
    try {
      s.strategies.push_back(st::load_params_file(file));
    } catch (const std::exception& e) {
      c.fail("signal.strategies", file + ": " + e.what());
    }
    // Two instances of one strategy would publish the same ids.
    if (!names.insert(std::string(st::strategy_name(s.strategies.back()))).second)
      c.fail("signal.strategies", file + ": strategy '" + std::string(st::strategy_name(s.strategies.back())) + "' twice");
  }
  s.report_interval = c.get_duration("signal.report_interval", 1s, 24h, s.report_interval);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  signal_config cfg;
  pt::service::options opt;
  opt.default_name = "signal";
  opt.summary = "md bars -> strategies -> signal.*, trade.proposed, trade.exit";
  opt.configure = [&](const pt::service::context& ctx) { cfg = read_config(ctx.config); };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto& bus = rt.bus();
    if (auto err = bus.ensure_fleet_streams())
      throw pt::service::startup_error(pt::service::exit_bus_unreachable, "JetStream streams: " + pt::bus::describe(err));
    auto ctx = std::make_shared<signal_context>();
    ctx->bus = &bus;
    ctx->cfg = cfg;
    // Detached: a JetStream publish blocks for the server's ack.
    auto actor = rt.system().spawn<caf::detached>(signal_actor, ctx);
    rt.manage(actor);

    std::vector<std::string> subjects{"md." + cfg.venue + ".*.bar.*", "md." + cfg.venue + ".*.funding"};
    for (const auto& s : subjects)
      if (auto sub = bus.subscribe(s, actor); !sub)
        throw pt::service::startup_error(pt::service::exit_failure, "subscribe " + s + ": " + pt::bus::describe(sub.error()));
    pt::bus::consumer_config cc;
    cc.stream = "EXEC";
    cc.durable = "signal-positions";
    cc.filter_subject = "exec.position.*";
    if (auto sub = bus.js_consume(cc, actor); !sub)
      throw pt::service::startup_error(pt::service::exit_failure, "consume exec.position.*: " + pt::bus::describe(sub.error()));
    if (auto err = bus.flush()) pt::log::warn("flush failed", {{"error", pt::bus::describe(err)}});

    nlohmann::json strategies = nlohmann::json::array();
    for (const auto& p : cfg.strategies) {
      nlohmann::json tfs = nlohmann::json::array();
      for (auto tf : sg::timeframes_of(p)) tfs.push_back(std::string(st::to_string(tf)));
      strategies.push_back({{"strategy", std::string(st::strategy_name(p))}, {"timeframes", tfs}});
    }
    pt::log::info("subscribed", {{"venue", cfg.venue}, {"symbols", cfg.symbols}, {"strategies", strategies}});
  });
}
