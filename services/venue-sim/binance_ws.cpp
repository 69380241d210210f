#include "binance_ws.hpp"

#include "core/log.hpp"
#include "venue/binance_wire.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

namespace pt::venue_sim {

namespace bw = pt::venue::binance;
using json = nlohmann::json;

namespace {

constexpr const char* listen_key_prefix = "sim-listen-key-";  // what POST /fapi/v1/listenKey returns
constexpr std::size_t diff_depth = 1000;

enum class entry { public_, market, private_ };

enum class stream_kind { depth_partial, depth_diff, book_ticker, kline, mark_price, mark_price_all, agg_trade, ticker,
                         unknown };

struct stream_spec {
  std::string name;  // as the client wrote it (echoed in combined frames and LIST_SUBSCRIPTIONS)
  stream_kind kind = stream_kind::unknown;
  entry home = entry::market;
  std::string symbol;  // venue spelling, BTCUSDT
  int levels = 0;
  std::int64_t interval_ms = 0;  // 0: an interval venue-sim cannot build (acknowledged, silent)
  std::string interval;
};

bool is_speed_suffix(std::string_view s) {
  // "@100ms", "@250ms", "@500ms", "@0ms", "@1s"
  if (s.empty()) return true;
  if (s == "@1s") return true;
  if (s.size() < 4 || s[0] != '@' || s.substr(s.size() - 2) != "ms") return false;
  for (char c : s.substr(1, s.size() - 3))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

stream_spec parse_stream(const std::string& name) {
  stream_spec s;
  s.name = name;
  const auto at = name.find('@');
  if (at == std::string::npos || at == 0) return s;
  const std::string sym = name.substr(0, at);
  const std::string_view rest = std::string_view(name).substr(at + 1);
  if (sym == "!markPrice") {
    if (rest == "arr" || rest == "arr@1s") s.kind = stream_kind::mark_price_all;
    return s;
  }
  s.symbol = ascii_upper(sym);
  if (rest.substr(0, 5) == "depth") {
    s.home = entry::public_;
    std::string_view tail = rest.substr(5);
    std::size_t digits = 0;
    while (digits < tail.size() && std::isdigit(static_cast<unsigned char>(tail[digits]))) ++digits;
    if (!is_speed_suffix(tail.substr(digits))) return s;
    if (digits == 0) {
      s.kind = stream_kind::depth_diff;
    } else {
      const std::string n(tail.substr(0, digits));
      if (n != "5" && n != "10" && n != "20") return s;
      s.kind = stream_kind::depth_partial;
      s.levels = std::stoi(n);
    }
    return s;
  }
  if (rest == "bookTicker") {
    s.home = entry::public_;
    s.kind = stream_kind::book_ticker;
  } else if (rest.substr(0, 6) == "kline_") {
    s.kind = stream_kind::kline;
    s.interval = std::string(rest.substr(6));
    try {
      s.interval_ms = venue::duration_of(venue::from_binance_interval(s.interval)).count();
    } catch (const std::exception&) {
      s.interval_ms = 0;
    }
  } else if (rest == "markPrice" || rest == "markPrice@1s") {
    s.kind = stream_kind::mark_price;
  } else if (rest == "aggTrade") {
    s.kind = stream_kind::agg_trade;
  } else if (rest == "ticker") {
    s.kind = stream_kind::ticker;
  }
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto next = s.find(sep, pos);
    const auto item = s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (!item.empty()) out.emplace_back(item);
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

// What an upgrade URL asks for.
struct target {
  entry ep = entry::market;
  bool combined = false;
  std::vector<std::string> streams;
  std::string listen_key;
  std::optional<std::set<std::string>> events;
};

std::optional<target> parse_target(const ws_request& req) {
  const auto parts = split(req.path, '/');
  if (parts.size() < 2) return std::nullopt;  // the legacy /ws and /stream are gone (B1)
  target t;
  if (parts[0] == "public") t.ep = entry::public_;
  else if (parts[0] == "market") t.ep = entry::market;
  else if (parts[0] == "private") t.ep = entry::private_;
  else return std::nullopt;
  if (parts[1] == "ws") {
    t.streams.assign(parts.begin() + 2, parts.end());
  } else if (parts[1] == "stream" && parts.size() == 2) {
    t.combined = true;
    t.streams = split(req.arg("streams"), '/');
  } else {
    return std::nullopt;
  }
  if (t.ep == entry::private_) {
    t.listen_key = req.arg("listenKey");
    // /private/ws/<listenKey> and /private/stream?streams=<listenKey> name the key in the path.
    for (auto it = t.streams.begin(); it != t.streams.end();) {
      if (it->rfind(listen_key_prefix, 0) == 0) {
        if (t.listen_key.empty()) t.listen_key = *it;
        it = t.streams.erase(it);
      } else {
        ++it;
      }
    }
    if (req.has_arg("events")) {
      const auto ev = split(req.arg("events"), '/');
      t.events = std::set<std::string>(ev.begin(), ev.end());
    }
  }
  return t;
}

// Text of a frame. Stream names come from clients (a URL may decode to invalid UTF-8): replace,
// never throw.
std::string frame_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json request_error(int code, const std::string& msg, const json& id) {
  // No renderer in the codec for a refused stream request; shape as the venue answers it.
  return json{{"error", {{"code", code}, {"msg", msg}}}, {"id", id}};
}

}  // namespace

struct binance_ws::impl final : ws_handler {
  world& w;
  binance_ws_options options;
  ws_server server;
  bool detached = false;

  struct conn {
    entry ep = entry::market;
    bool combined = false;
    std::vector<stream_spec> streams;
    std::optional<sim::account_id> account;
    std::string listen_key;
    std::optional<std::set<std::string>> events;
    [[nodiscard]] bool wants(const char* event) const { return !events || events->count(event) > 0; }
  };
  // Guarded by the world mutex (see poloniex_ws.cpp).
  std::unordered_map<conn_id, conn> conns;

  struct depth_state {
    venue::order_book last;  // as pushed
    std::int64_t u = 0;      // the last pushed (or skipped) `u`
    bool live = false;
  };
  std::map<std::string, depth_state> depth;
  std::map<std::pair<std::string, int>, std::int64_t> partial_u;
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> kline_open;

  // When each listen key was last kept alive (POST/PUT, or the first stream that used it). The
  // keys are fixed per account, so an expired key is simply forgotten: the next POST or stream
  // starts a new hour. (The venue would refuse a stream on a deleted key until the next POST;
  // venue-sim learns of REST calls only after answering them, so it does not refuse.)
  std::map<sim::account_id, std::chrono::steady_clock::time_point> keys;

  // ORDER_TRADE_UPDATE / ACCOUNT_UPDATE are assembled from the exchange's separate events.
  struct account_events {
    std::optional<venue::order> pending_trade;  // the order update that announces a fill
    std::vector<venue::position> positions;     // since the last ACCOUNT_UPDATE
    bool filled = false;                        // a fill since the last ACCOUNT_UPDATE
    std::optional<core::decimal> wallet;        // as last reported
  };
  std::map<sim::account_id, account_events> pending;

  impl(world& wr, binance_ws_options o) : w(wr), options(o), server(make_options(o), *this) {}

  static ws_server_options make_options(const binance_ws_options& o) {
    ws_server_options s;
    s.bind = o.bind;
    s.name = "binance-ws";
    s.port = o.port;
    s.max_queue_bytes = o.max_queue_bytes;
    return s;  // no idle timeout: Binance pings the client instead (and that is skipped here)
  }

  world::venue_state* vs() { return w.venue(protocol::binance); }

  std::optional<sim::account_id> account_of_key(const std::string& key) {
    if (key.rfind(listen_key_prefix, 0) != 0 || vs() == nullptr) return std::nullopt;
    for (const auto& [acct, id] : vs()->keys)
      if (key == listen_key_prefix + std::to_string(id)) return id;
    return std::nullopt;
  }

  // ---- connections (service thread) ----------------------------------------------------------
  bool accept(const ws_request& req) override {
    const auto t = parse_target(req);
    if (!t) return false;
    if (w.faults().take(fault_kind::drop_websockets, false)) {
      pt::log::info("venue-sim: binance WebSocket refused (drop_websockets)", {{"path", req.path}});
      return false;
    }
    if (t->ep == entry::private_ && !t->listen_key.empty()) {
      std::lock_guard lock(w.mutex());
      if (!account_of_key(t->listen_key)) return false;
    }
    return true;
  }

  void on_open(conn_id id, const ws_request& req) override {
    const auto t = parse_target(req);
    std::lock_guard lock(w.mutex());
    if (!t || vs() == nullptr) return;
    conn c;
    c.ep = t->ep;
    c.combined = t->combined;
    c.events = t->events;
    for (const auto& s : t->streams) add_stream(c, s);
    if (t->ep == entry::private_ && !t->listen_key.empty()) {
      c.account = account_of_key(t->listen_key);
      c.listen_key = t->listen_key;
      if (c.account && !keys.count(*c.account)) keys[*c.account] = std::chrono::steady_clock::now();
    }
    conns[id] = std::move(c);
  }

  void on_close(conn_id id) override {
    std::lock_guard lock(w.mutex());
    conns.erase(id);
  }

  void add_stream(conn& c, const std::string& name) {
    for (const auto& s : c.streams)
      if (s.name == name) return;
    stream_spec spec = parse_stream(name);
    // A diff stream's ids start where the subscriber can fetch the REST snapshot.
    if (spec.kind == stream_kind::depth_diff && spec.home == c.ep && vs()->exchange->find_instrument(spec.symbol))
      depth_live(spec.symbol);
    c.streams.push_back(std::move(spec));
  }

  void on_message(conn_id id, std::string_view text) override {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      server.send(id, frame_text(request_error(3, "Invalid JSON", nullptr)));
      return;
    }
    const json req_id = j.value("id", json());
    if (!req_id.is_number_unsigned() && !req_id.is_null()) {
      server.send(id, frame_text(request_error(2, "Invalid request: request ID must be an unsigned integer", nullptr)));
      return;
    }
    const std::string method = j.contains("method") && j["method"].is_string() ? j["method"].get<std::string>() : "";
    const json params = j.contains("params") ? j["params"] : json::array();
    std::lock_guard lock(w.mutex());
    auto it = conns.find(id);
    if (it == conns.end()) return;
    conn& c = it->second;
    const std::int64_t rid = req_id.is_null() ? 0 : req_id.get<std::int64_t>();
    if (method == "SUBSCRIBE" || method == "UNSUBSCRIBE") {
      if (!params.is_array()) {
        server.send(id, frame_text(request_error(2, "Invalid request: params must be an array of stream names", req_id)));
        return;
      }
      for (const auto& p : params)
        if (!p.is_string()) {
          server.send(id, frame_text(request_error(2, "Invalid request: stream names must be strings", req_id)));
          return;
        }
      for (const auto& p : params) {
        const auto name = p.get<std::string>();
        if (method == "SUBSCRIBE") add_stream(c, name);
        else
          c.streams.erase(std::remove_if(c.streams.begin(), c.streams.end(), [&](const stream_spec& s) { return s.name == name; }),
                          c.streams.end());
      }
      server.send(id, frame_text(bw::render_ws_reply(rid)));
    } else if (method == "LIST_SUBSCRIPTIONS") {
      json names = json::array();
      for (const auto& s : c.streams) names.push_back(s.name);
      server.send(id, frame_text(json{{"result", names}, {"id", req_id}}));
    } else if (method == "SET_PROPERTY" && params.is_array() && params.size() == 2 && params[0] == "combined" &&
               params[1].is_boolean()) {
      c.combined = params[1].get<bool>();
      server.send(id, frame_text(bw::render_ws_reply(rid)));
    } else if (method == "GET_PROPERTY" && params.is_array() && params.size() == 1 && params[0] == "combined") {
      server.send(id, frame_text(json{{"result", c.combined}, {"id", req_id}}));
    } else {
      server.send(id, frame_text(request_error(2, "Invalid request: unknown method", req_id)));
    }
  }

  void on_tick() override {
    std::lock_guard lock(w.mutex());
    const auto now = std::chrono::steady_clock::now();
    std::vector<sim::account_id> lapsed;
    for (const auto& [a, keepalive] : keys)
      if (now - keepalive > options.listen_key_validity) lapsed.push_back(a);
    for (auto a : lapsed) expire(a);
  }

  // listenKeyExpired to every stream of that key, then the stream closes (B9).
  void expire(sim::account_id a) {
    keys.erase(a);
    const std::string key = listen_key_prefix + std::to_string(a);
    const auto frame = make_frame(frame_text(bw::render_listen_key_expired(key, w.server_now())));
    for (const auto& [id, c] : conns) {
      if (!c.account || *c.account != a) continue;
      if (c.wants("listenKeyExpired")) send_user(id, c, frame, key);
      server.close(id, 1000, "listenKey expired", true);
    }
  }

  void send_user(conn_id id, const conn& c, const ws_frame_ptr& raw, const std::string& payload_stream) {
    if (!c.combined) return server.send(id, raw);
    server.send(id, frame_text(bw::render_combined(payload_stream, json::parse(raw->text()))));
  }

  // ---- market pushes (world mutex held) ------------------------------------------------------
  venue::order_book current_book(const std::string& s, std::size_t levels) {
    return vs()->exchange->book(s, levels, w.market_now());
  }

  depth_state& depth_live(const std::string& s) {
    depth_state& st = depth[s];
    if (!st.live) {
      st.last = current_book(s, diff_depth);
      st.u = w.replay_events();
      st.live = true;
    }
    return st;
  }

  std::vector<json> depth_diff(const std::string& s) {
    depth_state& st = depth[s];
    if (!st.live) {
      depth_live(s);
      return {};
    }
    venue::order_book next = current_book(s, diff_depth);
    venue::order_book d = book_diff(st.last, next);
    if (d.bids.empty() && d.asks.empty()) return {};
    const std::int64_t pu = st.u;
    const std::int64_t u = std::max(w.replay_events(), pu + 1);
    st.last = std::move(next);
    st.u = u;
    if (w.faults().take(fault_kind::book_gap, false)) return {};
    // U = pu, not pu + 1: a REST snapshot taken between two pushes has lastUpdateId = pu, and the
    // documented procedure wants the first event with U <= lastUpdateId <= u.
    d.first_update_id = pu;
    d.update_id = u;
    d.prev_update_id = pu;
    d.time = w.market_now();
    return {bw::render_depth_update(d, w.market_now())};
  }

  std::vector<json> depth_partial(const std::string& s, int levels) {
    venue::order_book b = current_book(s, static_cast<std::size_t>(levels));
    auto& last = partial_u[{s, levels}];
    const std::int64_t u = std::max(w.replay_events(), last + 1);
    b.first_update_id = last == 0 ? u : last;
    b.prev_update_id = last;
    b.update_id = u;
    b.time = w.market_now();
    last = u;
    return {bw::render_depth_update(b, w.market_now())};
  }

  std::vector<json> book_ticker(const std::string& s) {
    const auto b = current_book(s, 1);
    if (b.bids.empty() || b.asks.empty()) return {};
    // The codec has no bookTicker renderer: the stream's fields (B8) written here.
    const auto now = w.market_now();
    return {json{{"e", "bookTicker"},
                 {"u", w.replay_events()},
                 {"E", now},
                 {"T", now},
                 {"s", s},
                 {"b", b.bids[0].price.to_string()},
                 {"B", b.bids[0].qty.to_string()},
                 {"a", b.asks[0].price.to_string()},
                 {"A", b.asks[0].qty.to_string()}}};
  }

  std::vector<json> klines(const stream_spec& spec) {
    std::vector<json> out;
    if (spec.interval_ms <= 0) return out;
    const auto rows = vs()->replayer->candles(spec.symbol, spec.interval_ms, std::nullopt, std::nullopt, 2);
    if (rows.empty()) return out;
    auto& last_open = kline_open[{spec.symbol, spec.interval_ms}];
    if (rows.back().open_time < last_open) return out;  // see poloniex_ws.cpp candle_pushes
    const auto now = w.market_now();
    // The bar that just ended goes out once more, final, with x = true.
    if (rows.size() == 2 && rows[0].closed && last_open == rows[0].open_time)
      out.push_back(bw::render_kline_event(spec.symbol, spec.interval, rows[0], now));
    last_open = rows.back().open_time;
    out.push_back(bw::render_kline_event(spec.symbol, spec.interval, rows.back(), now));
    return out;
  }

  std::optional<venue::mark_price> mark_of(const std::string& s) {
    const auto m = vs()->exchange->mark(s);
    if (!m) return std::nullopt;
    venue::mark_price mp;
    mp.symbol = s;
    mp.mark = *m;
    mp.index = *m;
    mp.time = w.market_now();
    if (const auto f = vs()->replayer->current_funding(s)) {
      mp.funding_rate = f->next_rate.value_or(f->rate);
      mp.next_funding_time = f->next_time;
    }
    return mp;
  }

  std::vector<json> ticker(const std::string& s) {
    const auto t = vs()->replayer->ticker(s);
    if (!t) return {};
    // The 24hrTicker stream carries the REST ticker's figures under one-letter keys.
    const json r = bw::render_ticker(*t);
    return {json{{"e", "24hrTicker"},          {"E", w.market_now()},          {"s", s},
                 {"p", r["priceChange"]},      {"P", r["priceChangePercent"]}, {"w", r["weightedAvgPrice"]},
                 {"c", r["lastPrice"]},        {"Q", r["lastQty"]},            {"o", r["openPrice"]},
                 {"h", r["highPrice"]},        {"l", r["lowPrice"]},           {"v", r["volume"]},
                 {"q", r["quoteVolume"]},      {"O", r["openTime"]},           {"C", r["closeTime"]},
                 {"F", r["firstId"]},          {"L", r["lastId"]},             {"n", r["count"]}}};
  }

  // One key per piece of state, so two spellings of a stream (btcusdt@depth, btcusdt@depth@100ms)
  // read the same diff instead of the second seeing none.
  static std::string state_key(const stream_spec& s) {
    switch (s.kind) {
      case stream_kind::depth_partial: return "dp:" + s.symbol + ":" + std::to_string(s.levels);
      case stream_kind::depth_diff: return "dd:" + s.symbol;
      case stream_kind::book_ticker: return "bt:" + s.symbol;
      case stream_kind::kline: return "kl:" + s.symbol + ":" + std::to_string(s.interval_ms);
      case stream_kind::mark_price: return "mp:" + s.symbol;
      case stream_kind::mark_price_all: return "mpa";
      case stream_kind::ticker: return "tk:" + s.symbol;
      default: return {};
    }
  }

  std::vector<json> payloads(const stream_spec& s) {
    switch (s.kind) {
      case stream_kind::depth_partial: return depth_partial(s.symbol, s.levels);
      case stream_kind::depth_diff: return depth_diff(s.symbol);
      case stream_kind::book_ticker: return book_ticker(s.symbol);
      case stream_kind::kline: return klines(s);
      case stream_kind::mark_price:
        if (auto m = mark_of(s.symbol)) return {bw::render_mark_price_update(*m)};
        return {};
      case stream_kind::mark_price_all: {
        json all = json::array();
        for (const auto& i : vs()->exchange->instruments())
          if (auto m = mark_of(i.symbol)) all.push_back(bw::render_mark_price_update(*m));
        return {all};
      }
      case stream_kind::ticker: return ticker(s.symbol);
      default: return {};
    }
  }

  void on_market(const std::vector<std::string>& moved) {
    if (detached) return;
    const std::set<std::string> moved_set(moved.begin(), moved.end());
    // Diff state only lives while someone reads it.
    std::set<std::string> diff_readers;
    for (const auto& [id, c] : conns)
      if (c.ep == entry::public_)
        for (const auto& s : c.streams)
          if (s.kind == stream_kind::depth_diff) diff_readers.insert(s.symbol);
    for (auto& [sym, st] : depth)
      if (!diff_readers.count(sym)) st.live = false;

    std::map<std::string, std::vector<ws_frame_ptr>> raw;  // by state key
    std::map<std::string, std::vector<json>> data;
    std::map<std::string, std::vector<ws_frame_ptr>> combined;  // by stream name
    for (const auto& [id, c] : conns) {
      if (c.ep == entry::private_) continue;
      for (const auto& s : c.streams) {
        if (s.home != c.ep || s.kind == stream_kind::agg_trade) continue;  // wrong entry point: silent
        if (s.kind != stream_kind::mark_price_all && !moved_set.count(s.symbol)) continue;
        const std::string key = state_key(s);
        if (key.empty()) continue;
        auto it = data.find(key);
        if (it == data.end()) {
          it = data.emplace(key, payloads(s)).first;
          auto& frames = raw[key];
          for (const auto& p : it->second) frames.push_back(make_frame(frame_text(p)));
        }
        if (!c.combined) {
          for (const auto& f : raw[key]) server.send(id, f);
          continue;
        }
        auto cit = combined.find(s.name);
        if (cit == combined.end()) {
          std::vector<ws_frame_ptr> frames;
          for (const auto& p : it->second) frames.push_back(make_frame(frame_text(bw::render_combined(s.name, p))));
          cit = combined.emplace(s.name, std::move(frames)).first;
        }
        for (const auto& f : cit->second) server.send(id, f);
      }
    }
  }

  void on_trade(const venue::public_trade& t) {
    if (detached) return;
    std::optional<json> payload;
    for (const auto& [id, c] : conns) {
      if (c.ep != entry::market) continue;
      for (const auto& s : c.streams) {
        if (s.kind != stream_kind::agg_trade || s.symbol != t.symbol) continue;
        if (!payload) payload = bw::render_agg_trade_event(t, w.market_now());
        server.send(id, frame_text(c.combined ? bw::render_combined(s.name, *payload) : *payload));
      }
    }
  }

  // ---- user data stream (world mutex held) ---------------------------------------------------
  void push_user(sim::account_id a, const char* event, const json& payload) {
    if (detached) return;
    ws_frame_ptr raw;
    for (const auto& [id, c] : conns) {
      if (!c.account || *c.account != a || !c.wants(event)) continue;
      if (c.combined) {
        server.send(id, frame_text(bw::render_combined(c.listen_key, payload)));
        continue;
      }
      if (!raw) raw = make_frame(frame_text(payload));
      server.send(id, raw);
    }
  }

  bool has_user_stream(sim::account_id a) const {
    for (const auto& [id, c] : conns)
      if (c.account && *c.account == a) return true;
    return false;
  }

  static const char* execution_type(const venue::order& o) {
    switch (o.state) {
      case venue::order_state::cancelled: return "CANCELED";
      case venue::order_state::expired:
      case venue::order_state::rejected: return "EXPIRED";
      default: return "NEW";
    }
  }

  void order_update(sim::account_id a, const venue::order& o, const std::optional<venue::fill>& f, const char* x) {
    push_user(a, "ORDER_TRADE_UPDATE", bw::render_order_trade_update(o, f, x, w.market_now()));
  }

  // An order update that announced a fill but saw none (a liquidation closes at mark without a
  // fill event): Binance calls that execution CALCULATED.
  void flush_pending(sim::account_id a) {
    auto& p = pending[a];
    if (!p.pending_trade) return;
    const venue::order o = std::move(*p.pending_trade);
    p.pending_trade.reset();
    order_update(a, o, std::nullopt, "CALCULATED");
  }

  void on_order(sim::account_id a, const venue::order& o) {
    if (detached) return;
    flush_pending(a);
    const bool from_fill = (o.state == venue::order_state::partially_filled || o.state == venue::order_state::filled) &&
                           o.filled_qty.is_positive();
    if (from_fill) {
      pending[a].pending_trade = o;  // the fill follows at once (sim::listener's causal order)
      return;
    }
    order_update(a, o, std::nullopt, execution_type(o));
  }

  void on_fill(sim::account_id a, const venue::fill& f) {
    if (detached) return;
    auto& p = pending[a];
    p.filled = true;
    if (p.pending_trade && p.pending_trade->order_id == f.order_id) {
      const venue::order o = std::move(*p.pending_trade);
      p.pending_trade.reset();
      order_update(a, o, f, "TRADE");
      return;
    }
    flush_pending(a);
    if (auto o = vs()->exchange->query(a, f.symbol, f.order_id, "")) order_update(a, *o, f, "TRADE");
  }

  void on_position(sim::account_id a, const venue::position& pos) {
    if (detached) return;
    flush_pending(a);
    pending[a].positions.push_back(pos);
  }

  // ACCOUNT_UPDATE when the wallet or a position changed: reason ORDER after a fill, else
  // FUNDING_FEE (the only other thing that moves a wallet here); nothing for a mere cancel.
  void on_balance(sim::account_id a, const venue::balance& b) {
    if (detached) return;
    flush_pending(a);
    auto& p = pending[a];
    const core::decimal before = p.wallet.value_or(b.wallet);
    const bool wallet_moved = p.wallet && *p.wallet != b.wallet;
    p.wallet = b.wallet;
    std::vector<venue::position> positions = std::move(p.positions);
    p.positions.clear();
    const bool filled = p.filled;
    p.filled = false;
    if (!filled && !wallet_moved && positions.empty()) return;
    if (!has_user_stream(a)) return;
    const std::string reason = filled ? "ORDER" : (wallet_moved ? "FUNDING_FEE" : "ORDER");
    bw::wallet_update wu;
    wu.asset = b.asset;
    wu.wallet = b.wallet;
    wu.cross_wallet = b.wallet;
    wu.change = reason == "FUNDING_FEE" ? b.wallet - before : core::decimal::zero();
    if (reason == "FUNDING_FEE") {
      // Under cross margin a funding push carries only the balance (B9).
      positions.erase(std::remove_if(positions.begin(), positions.end(),
                                     [](const venue::position& x) { return x.mode == venue::margin_mode::cross; }),
                      positions.end());
    }
    push_user(a, "ACCOUNT_UPDATE", bw::render_account_update(reason, {wu}, positions, w.market_now()));
  }
};

binance_ws::binance_ws(world& w, binance_ws_options options) : impl_(std::make_shared<impl>(w, options)) {
  auto self = impl_;
  world_events ev;
  ev.on_market = [self](protocol p, const std::vector<std::string>& syms) {
    if (p == protocol::binance) self->on_market(syms);
  };
  ev.on_trade = [self](protocol p, const venue::public_trade& t) {
    if (p == protocol::binance) self->on_trade(t);
  };
  ev.on_order = [self](protocol p, sim::account_id a, const venue::order& o) {
    if (p == protocol::binance) self->on_order(a, o);
  };
  ev.on_fill = [self](protocol p, sim::account_id a, const venue::fill& f) {
    if (p == protocol::binance) self->on_fill(a, f);
  };
  ev.on_position = [self](protocol p, sim::account_id a, const venue::position& pos) {
    if (p == protocol::binance) self->on_position(a, pos);
  };
  ev.on_balance = [self](protocol p, sim::account_id a, const venue::balance& b) {
    if (p == protocol::binance) self->on_balance(a, b);
  };
  w.add_events(std::move(ev));
}

binance_ws::~binance_ws() { stop(); }

void binance_ws::start() { impl_->server.start(); }

void binance_ws::stop() {
  {
    std::lock_guard lock(impl_->w.mutex());
    impl_->detached = true;
  }
  impl_->server.stop();
}

int binance_ws::port() const { return impl_->server.port(); }

void binance_ws::drop_all() { impl_->server.close_all(1001, "drop_websockets"); }

const ws_server& binance_ws::server() const { return impl_->server; }

void binance_ws::listen_key_call(const std::string& api_key, const std::string& method) {
  std::lock_guard lock(impl_->w.mutex());
  if (impl_->detached) return;
  auto* vs = impl_->vs();
  const auto* acct = vs ? vs->find_key(api_key) : nullptr;
  if (acct == nullptr) return;
  if (method == "DELETE") impl_->expire(acct->second);
  else impl_->keys[acct->second] = std::chrono::steady_clock::now();
}

}  // namespace pt::venue_sim
