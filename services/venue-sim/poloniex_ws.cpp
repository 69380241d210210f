#include "poloniex_ws.hpp"

#include "core/log.hpp"
#include "venue/poloniex_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <unordered_map>

namespace pt::venue_sim {

namespace pw = pt::venue::poloniex;
using json = nlohmann::json;

namespace {

constexpr const char* public_path = "/ws/v3/public";
constexpr const char* private_path = "/ws/v3/private";
constexpr std::int64_t auth_window_ms = 60000;  // signTimestamp within a minute of server time
constexpr std::size_t lv2_depth = 20;
constexpr std::size_t book_depth = 5;

enum class channel_kind { symbol, book, book_lv2, tickers, trades, mark_price, funding_rate, candles,
                          orders, trade, positions, account };

struct channel_info {
  channel_kind kind;
  bool is_private = false;
  std::int64_t interval_ms = 0;  // candles
};

std::optional<channel_info> classify(const std::string& name) {
  static const std::map<std::string, channel_kind, std::less<>> fixed = {
      {"symbol", channel_kind::symbol},         {"book", channel_kind::book},
      {"book_lv2", channel_kind::book_lv2},     {"tickers", channel_kind::tickers},
      {"trades", channel_kind::trades},         {"mark_price", channel_kind::mark_price},
      {"funding_rate", channel_kind::funding_rate}, {"orders", channel_kind::orders},
      {"trade", channel_kind::trade},           {"positions", channel_kind::positions},
      {"account", channel_kind::account}};
  if (auto it = fixed.find(name); it != fixed.end()) {
    const auto k = it->second;
    const bool priv = k == channel_kind::orders || k == channel_kind::trade || k == channel_kind::positions ||
                      k == channel_kind::account;
    return channel_info{k, priv, 0};
  }
  for (auto tf : venue::all_timeframes()) {
    if (!venue::poloniex_supports(tf)) continue;
    if (venue::to_poloniex_candle_channel(tf) == name)
      return channel_info{channel_kind::candles, false, venue::duration_of(tf).count()};
  }
  return std::nullopt;
}

// Text of a frame. Invalid UTF-8 (a client string cut short in an error) is replaced, not thrown.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The venue's answers to control messages the codec has no renderer for (exchanges.md A8 lists
// the messages; the shapes follow the Poloniex v3 spot/futures WS pages).
json unsubscribed_ack(const std::string& channel, const std::vector<std::string>& symbols) {
  return json{{"event", "unsubscribe"}, {"channel", channel}, {"symbols", symbols}};
}
json unsubscribe_all_ack() { return json{{"event", "unsubscribe_all"}, {"channel", "ALL"}}; }

}  // namespace

struct poloniex_ws::impl final : ws_handler {
  world& w;
  poloniex_ws_options options;
  ws_server server;
  bool detached = false;  // under w.mutex(): no more pushes after stop()

  struct conn {
    bool is_private = false;
    std::optional<sim::account_id> account;
    std::set<std::pair<std::string, std::string>> subs;  // (channel, symbol or "all")
  };
  // Everything below is guarded by the world mutex: the service thread takes it for client
  // messages, and world events arrive holding it.
  std::unordered_map<conn_id, conn> conns;

  struct lv2_state {
    venue::order_book last;  // as pushed (top 20)
    std::int64_t id = 0, lid = 0;
    bool live = false;
  };
  std::map<std::string, lv2_state> lv2;
  std::map<std::string, std::int64_t> lv2_seq;   // per symbol, never reset
  std::map<std::string, std::int64_t> book_seq;  // `book` ids
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> candle_open;  // last pushed bar start

  impl(world& wr, poloniex_ws_options o)
      : w(wr), options(o), server(make_options(o), *this) {}

  static ws_server_options make_options(const poloniex_ws_options& o) {
    ws_server_options s;
    s.bind = o.bind;
    s.name = "poloniex-ws";
    s.port = o.port;
    s.idle_timeout = o.idle_timeout;
    s.max_queue_bytes = o.max_queue_bytes;
    return s;
  }

  world::venue_state* vs() { return w.venue(protocol::poloniex); }

  // ---- connections (service thread) ----------------------------------------------------------
  bool accept(const ws_request& req) override {
    if (req.path != public_path && req.path != private_path) return false;
    // While the fault is armed every new connection is refused (each refusal spends one count).
    if (w.faults().take(fault_kind::drop_websockets, false)) {
      pt::log::info("venue-sim: poloniex WebSocket refused (drop_websockets)", {{"path", req.path}});
      return false;
    }
    return true;
  }

  void on_open(conn_id id, const ws_request& req) override {
    std::lock_guard lock(w.mutex());
    conn c;
    c.is_private = req.path == private_path;
    conns[id] = std::move(c);
  }

  void on_close(conn_id id) override {
    std::lock_guard lock(w.mutex());
    conns.erase(id);
  }

  void send(conn_id id, const json& j) { server.send(id, dump(j)); }
  void error(conn_id id, const std::string& message) { send(id, pw::render_ws_error(message)); }

  void on_message(conn_id id, std::string_view text) override {
    if (text.size() == 4 && ascii_lower(text) == "ping") {  // plain-text ping (A8)
      send(id, pw::render_ws_pong());
      return;
    }
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string()) {
      error(id, "Bad request");
      return;
    }
    const std::string event = j["event"].get<std::string>();
    if (event == "ping") {
      send(id, pw::render_ws_pong());
      return;
    }
    std::lock_guard lock(w.mutex());
    auto it = conns.find(id);
    if (it == conns.end() || vs() == nullptr) return;
    conn& c = it->second;
    if (event == "subscribe") subscribe(id, c, j);
    else if (event == "unsubscribe") unsubscribe(id, c, j);
    else if (event == "unsubscribe_all") {
      c.subs.clear();
      send(id, unsubscribe_all_ack());
    } else if (event == "list_subscriptions") {
      std::set<std::string> names;
      for (const auto& s : c.subs) names.insert(s.first);
      send(id, json{{"subscriptions", std::vector<std::string>(names.begin(), names.end())}});
    } else {
      error(id, "Bad request");
    }
  }

  // Reads "channel" (array or one string) and "symbols" (default ["all"]).
  static bool read_lists(const json& j, std::vector<std::string>& channels, std::vector<std::string>& symbols) {
    const auto strings = [](const json& v, std::vector<std::string>& out) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
        return true;
      }
      if (!v.is_array()) return false;
      for (const auto& e : v) {
        if (!e.is_string()) return false;
        out.push_back(e.get<std::string>());
      }
      return true;
    };
    if (!j.contains("channel") || !strings(j["channel"], channels) || channels.empty()) return false;
    if (j.contains("symbols") && !j["symbols"].is_null()) {
      if (!strings(j["symbols"], symbols)) return false;
    }
    if (symbols.empty()) symbols.push_back("all");
    return true;
  }

  void subscribe(conn_id id, conn& c, const json& j) {
    std::vector<std::string> channels, symbols;
    if (!read_lists(j, channels, symbols)) return error(id, "Bad request");
    for (const auto& ch : channels) {
      if (ch == "auth") {
        authenticate(id, c, j);
        continue;
      }
      const auto info = classify(ch);
      if (!info) {
        error(id, "Subscription failed: unknown channel " + ch.substr(0, 40));
        continue;
      }
      // The endpoints only allow their own channels (A8).
      if (info->is_private != c.is_private) {
        error(id, std::string("Subscription failed: ") + ch + (c.is_private ? " is a public channel" : " is a private channel"));
        continue;
      }
      if (info->is_private && !c.account) {
        error(id, "Subscription failed: authenticate first");
        continue;
      }
      bool bad_symbol = false, already = false;
      for (const auto& s : symbols) {
        if (s != "all" && vs()->exchange->find_instrument(s) == nullptr) bad_symbol = true;
        if (c.subs.count({ch, s})) already = true;
      }
      if (bad_symbol) {
        error(id, "Subscription failed: unknown symbol");
        continue;
      }
      if (already) {
        error(id, "Already subscribed");
        continue;
      }
      for (const auto& s : symbols) c.subs.insert({ch, s});
      send(id, pw::render_ws_subscribed(ch, symbols));
      initial_push(id, *info, ch, symbols);
    }
  }

  std::vector<std::string> expand(const std::vector<std::string>& symbols) {
    std::vector<std::string> out;
    for (const auto& s : symbols) {
      if (s != "all") {
        out.push_back(s);
        continue;
      }
      for (const auto& i : vs()->exchange->instruments()) out.push_back(i.symbol);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // What a new subscriber gets at once: the book_lv2 snapshot (updates continue from its id), a
  // first top-5 book, and the instrument rows.
  void initial_push(conn_id id, const channel_info& info, const std::string& ch, const std::vector<std::string>& symbols) {
    if (info.kind == channel_kind::book_lv2) {
      for (const auto& s : expand(symbols)) {
        lv2_state& st = lv2_live(s);
        venue::order_book b = st.last;
        b.update_id = st.id;
        b.prev_update_id = st.lid;
        send(id, pw::render_ws_push(ch, json::array({pw::render_ws_book(b, true)}), "snapshot"));
      }
    } else if (info.kind == channel_kind::book) {
      for (const auto& s : expand(symbols)) send(id, pw::render_ws_push(ch, json::array({render_book(s)})));
    } else if (info.kind == channel_kind::symbol) {
      json data = json::array();
      for (const auto& s : expand(symbols))
        if (const auto* i = vs()->exchange->find_instrument(s)) data.push_back(pw::render_instrument(*i, pw::flavor::ws));
      send(id, pw::render_ws_push(ch, std::move(data), "snapshot"));
    }
  }

  void unsubscribe(conn_id id, conn& c, const json& j) {
    std::vector<std::string> channels, symbols;
    if (!read_lists(j, channels, symbols)) return error(id, "Bad request");
    for (const auto& ch : channels) {
      std::size_t removed = 0;
      for (const auto& s : symbols) {
        if (s == "all") {
          for (auto it = c.subs.begin(); it != c.subs.end();)
            it = it->first == ch ? (++removed, c.subs.erase(it)) : std::next(it);
        } else {
          removed += c.subs.erase({ch, s});
        }
      }
      if (removed == 0) error(id, "Not subscribed");
      else send(id, unsubscribed_ack(ch, symbols));
    }
  }

  void authenticate(conn_id id, conn& c, const json& j) {
    const std::int64_t now = w.server_now();
    if (!c.is_private) return error(id, "Subscription failed: auth is for the private endpoint");
    const json params = j.value("params", json::object());
    const auto key = field_text(params, "key");
    const auto ts_text = field_text(params, "signTimestamp");
    const auto signature = field_text(params, "signature");
    if (!key || !ts_text || !signature) return send(id, pw::render_ws_auth(false, "Missing key, signTimestamp or signature", now));
    std::int64_t ts = 0;
    try {
      std::size_t used = 0;
      ts = std::stoll(*ts_text, &used);
      if (used != ts_text->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return send(id, pw::render_ws_auth(false, "Invalid signTimestamp", now));
    }
    const auto* acct = vs()->find_key(*key);
    if (acct == nullptr) return send(id, pw::render_ws_auth(false, "Invalid API key", now));
    if (ts > now + auth_window_ms || now - ts > auth_window_ms)
      return send(id, pw::render_ws_auth(false, "signTimestamp is outside the allowed window", now));
    if (venue::poloniex_ws_signature(ts, acct->first.secret) != *signature) {
      pt::log::warn("venue-sim: poloniex WebSocket signature mismatch", {{"key", *key}});
      return send(id, pw::render_ws_auth(false, "Authentication failed", now));
    }
    c.account = acct->second;
    send(id, pw::render_ws_auth(true, "Authenticated successfully", now));
  }

  static std::optional<std::string> field_text(const json& obj, const char* k) {
    if (!obj.is_object() || !obj.contains(k)) return std::nullopt;
    const json& v = obj[k];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    return std::nullopt;
  }

  // ---- market pushes (world mutex held) ------------------------------------------------------
  venue::order_book current_book(const std::string& s, std::size_t depth) {
    return vs()->exchange->book(s, depth, w.market_now());
  }

  json render_book(const std::string& s) {
    venue::order_book b = current_book(s, book_depth);
    b.update_id = ++book_seq[s];
    return pw::render_ws_book(b, false);
  }

  lv2_state& lv2_live(const std::string& s) {
    lv2_state& st = lv2[s];
    if (!st.live) {
      st.last = current_book(s, lv2_depth);
      st.lid = lv2_seq[s];
      st.id = ++lv2_seq[s];
      st.live = true;
    }
    return st;
  }

  // The next book_lv2 update for a symbol, or nothing when the book did not change or the
  // book_gap fault swallowed it (the ids still advance, so the next update's lid jumps).
  std::optional<json> lv2_update(const std::string& s) {
    lv2_state& st = lv2[s];
    if (!st.live) {
      lv2_live(s);
      return std::nullopt;
    }
    venue::order_book next = current_book(s, lv2_depth);
    venue::order_book diff = book_diff(st.last, next);
    if (diff.bids.empty() && diff.asks.empty()) return std::nullopt;
    st.last = std::move(next);
    st.lid = st.id;
    st.id = ++lv2_seq[s];
    if (w.faults().take(fault_kind::book_gap, false)) return std::nullopt;
    diff.update_id = st.id;
    diff.prev_update_id = st.lid;
    diff.time = w.market_now();
    return pw::render_ws_push("book_lv2", json::array({pw::render_ws_book(diff, true)}), "update");
  }

  std::vector<json> candle_pushes(const std::string& ch, const std::string& s, std::int64_t interval_ms) {
    std::vector<json> out;
    const auto rows = vs()->replayer->candles(s, interval_ms, std::nullopt, std::nullopt, 2);
    if (rows.empty()) return out;
    auto& last_open = candle_open[{s, interval_ms}];
    // Between a bar's last path point and its end the replayer has no running bar (candles()
    // returns the previous one): never push a bar older than the last one pushed.
    if (rows.back().open_time < last_open) return out;
    const std::int64_t ts = w.market_now();
    // A bar that ended since the last push goes out once more with its final figures.
    if (rows.size() == 2 && last_open == rows[0].open_time)
      out.push_back(pw::render_ws_push(ch, json::array({pw::render_ws_candle({s, rows[0], ts})})));
    last_open = rows.back().open_time;
    out.push_back(pw::render_ws_push(ch, json::array({pw::render_ws_candle({s, rows.back(), ts})})));
    return out;
  }

  std::vector<json> render_market(const std::string& ch, const channel_info& info, const std::string& s) {
    std::vector<json> out;
    switch (info.kind) {
      case channel_kind::book:
        out.push_back(pw::render_ws_push(ch, json::array({render_book(s)})));
        break;
      case channel_kind::tickers:
        if (auto t = vs()->replayer->ticker(s)) out.push_back(pw::render_ws_push(ch, json::array({pw::render_ticker(*t, pw::flavor::ws)})));
        break;
      case channel_kind::mark_price: {
        venue::mark_price m;
        m.symbol = s;
        m.mark = vs()->exchange->mark(s).value_or(core::decimal::zero());
        m.time = w.market_now();
        out.push_back(pw::render_ws_push(ch, json::array({pw::render_mark_price(m, pw::flavor::ws)})));
        break;
      }
      case channel_kind::funding_rate:
        if (auto f = vs()->replayer->current_funding(s))
          out.push_back(pw::render_ws_push(ch, json::array({pw::render_funding_rate(*f, pw::flavor::ws)})));
        break;
      case channel_kind::candles:
        return candle_pushes(ch, s, info.interval_ms);
      default:
        break;
    }
    return out;
  }

  void on_market(const std::vector<std::string>& moved) {
    if (detached) return;
    const std::set<std::string> moved_set(moved.begin(), moved.end());
    // Who wants what: (channel, symbol) -> subscribers, "all" expanded to the moved symbols.
    std::map<std::pair<std::string, std::string>, std::vector<conn_id>> wanted;
    for (const auto& [id, c] : conns) {
      for (const auto& [ch, s] : c.subs) {
        if (s == "all") {
          for (const auto& m : moved) wanted[{ch, m}].push_back(id);
        } else if (moved_set.count(s)) {
          wanted[{ch, s}].push_back(id);
        }
      }
    }
    // book_lv2 state only lives while someone reads it.
    for (auto& [s, st] : lv2)
      if (st.live && !wanted.count({"book_lv2", s})) st.live = false;
    if (wanted.empty()) return;
    for (auto& [key, ids] : wanted) {
      const auto& [ch, s] = key;
      const auto info = classify(ch);
      if (!info || info->is_private) continue;
      std::vector<json> pushes;
      if (info->kind == channel_kind::book_lv2) {
        if (auto u = lv2_update(s)) pushes.push_back(std::move(*u));
      } else {
        pushes = render_market(ch, *info, s);
      }
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      for (const auto& p : pushes) {
        const auto frame = make_frame(dump(p));
        for (auto id : ids) server.send(id, frame);
      }
    }
  }

  void on_trade(const venue::public_trade& t) {
    if (detached) return;
    ws_frame_ptr frame;
    for (const auto& [id, c] : conns) {
      if (!c.subs.count({"trades", t.symbol}) && !c.subs.count({"trades", "all"})) continue;
      if (!frame) {
        const auto* inst = vs()->exchange->find_instrument(t.symbol);
        const auto cs = inst ? inst->contract_size : core::decimal::one();
        frame = make_frame(dump(pw::render_ws_push("trades", json::array({pw::render_trade(t, cs, pw::flavor::ws)}))));
      }
      server.send(id, frame);
    }
  }

  // ---- private pushes (world mutex held) -----------------------------------------------------
  pw::row_extras extras(sim::account_id a, const std::string& symbol, venue::position_side ps, venue::order_type type) {
    pw::row_extras x;
    const auto& ex = *vs()->exchange;
    if (const auto* i = ex.find_instrument(symbol)) x.contract_size = i->contract_size;
    x.leverage = ex.leverage(a, symbol);
    x.mode = ex.margin_mode_of(a, symbol);
    x.pos_side = ps;
    x.type = type;
    return x;
  }

  template <class Render>
  void push_private(sim::account_id a, const char* channel, const std::string& symbol, Render&& render) {
    if (detached) return;
    ws_frame_ptr frame;
    for (const auto& [id, c] : conns) {
      if (!c.account || *c.account != a) continue;
      if (!c.subs.count({channel, "all"}) && (symbol.empty() || !c.subs.count({channel, symbol}))) continue;
      if (!frame) frame = make_frame(dump(pw::render_ws_push(channel, json::array({render()}))));
      server.send(id, frame);
    }
  }

  void on_order(sim::account_id a, const venue::order& o) {
    push_private(a, "orders", o.symbol, [&] {
      return pw::render_order(o, extras(a, o.symbol, o.pos_side, o.type), pw::flavor::ws);
    });
  }
  void on_fill(sim::account_id a, const venue::fill& f) {
    push_private(a, "trade", f.symbol, [&] {
      return pw::render_fill(f, extras(a, f.symbol, venue::position_side::both, venue::order_type::limit), pw::flavor::ws);
    });
  }
  void on_position(sim::account_id a, const venue::position& p) {
    push_private(a, "positions", p.symbol, [&] { return pw::render_position(p, pw::flavor::ws); });
  }
  void on_balance(sim::account_id a, const venue::balance& b) {
    push_private(a, "account", "", [&] { return pw::render_balances({b}, w.market_now(), pw::flavor::ws); });
  }
};

poloniex_ws::poloniex_ws(world& w, poloniex_ws_options options) : impl_(std::make_shared<impl>(w, options)) {
  // The listener holds the state alive for as long as the world may call it.
  auto self = impl_;
  world_events ev;
  ev.on_market = [self](protocol p, const std::vector<std::string>& syms) {
    if (p == protocol::poloniex) self->on_market(syms);
  };
  ev.on_trade = [self](protocol p, const venue::public_trade& t) {
    if (p == protocol::poloniex) self->on_trade(t);
  };
  ev.on_order = [self](protocol p, sim::account_id a, const venue::order& o) {
    if (p == protocol::poloniex) self->on_order(a, o);
  };
  ev.on_fill = [self](protocol p, sim::account_id a, const venue::fill& f) {
    if (p == protocol::poloniex) self->on_fill(a, f);
  };
  ev.on_position = [self](protocol p, sim::account_id a, const venue::position& pos) {
    if (p == protocol::poloniex) self->on_position(a, pos);
  };
  ev.on_balance = [self](protocol p, sim::account_id a, const venue::balance& b) {
    if (p == protocol::poloniex) self->on_balance(a, b);
  };
  w.add_events(std::move(ev));
}

poloniex_ws::~poloniex_ws() { stop(); }

void poloniex_ws::start() { impl_->server.start(); }

void poloniex_ws::stop() {
  {
    std::lock_guard lock(impl_->w.mutex());
    impl_->detached = true;
  }
  impl_->server.stop();
}

int poloniex_ws::port() const { return impl_->server.port(); }

void poloniex_ws::drop_all() { impl_->server.close_all(1001, "drop_websockets"); }

const ws_server& poloniex_ws::server() const { return impl_->server; }

}  // namespace pt::venue_sim
