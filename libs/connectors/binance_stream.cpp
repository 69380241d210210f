#include "binance_stream.hpp"

#include "binance_connector.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "venue/binance_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <stdexcept>

namespace pt::connectors {

namespace bw = pt::venue::binance;
using json = nlohmann::json;

namespace {

constexpr std::int64_t code_listen_key_missing = -1125;  // "This listenKey does not exist." (B9)

pv::epoch_ms wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string request_frame(const char* method, std::int64_t id) { return json{{"method", method}, {"id", id}}.dump(); }

// The 24hrTicker stream (B8 lists it with the market streams; the codec does not decode it).
std::optional<pv::ticker> ticker_of(std::string_view frame) {
  const json doc = json::parse(frame, nullptr, false);
  if (!doc.is_object()) throw pv::parse_error("binance ticker: not a JSON object");
  const json& p = doc.contains("data") ? doc["data"] : doc;
  if (!p.is_object() || p.value("e", "") != "24hrTicker") return std::nullopt;
  auto dec = [&](const char* k) -> std::optional<pv::decimal> {
    if (!p.contains(k)) return std::nullopt;
    const json& v = p[k];
    if (!v.is_string()) throw pv::parse_error(std::string("binance ticker: field '") + k + "' is not a string");
    try {
      return pv::decimal::parse(v.get<std::string>());
    } catch (const std::exception& e) {
      throw pv::parse_error(std::string("binance ticker: field '") + k + "': " + e.what());
    }
  };
  pv::ticker t;
  if (!p.contains("s") || !p["s"].is_string()) throw pv::parse_error("binance ticker: no symbol");
  t.symbol = p["s"].get<std::string>();
  const auto last = dec("c");
  if (!last) throw pv::parse_error("binance ticker: no last price 'c'");
  t.last = *last;
  t.open = dec("o");
  t.high = dec("h");
  t.low = dec("l");
  t.volume = dec("v");
  t.quote_volume = dec("q");
  if (p.contains("E") && p["E"].is_number_integer()) t.time = p["E"].get<std::int64_t>();
  return t;
}

}  // namespace

class binance_stream::session {
 public:
  session(std::string name, binance_connector& rest, const stream_events_hub& events, const ws_options& ws)
      : name_(std::move(name)), rest_(rest), events_(events), client_(name_, ws, callbacks()) {}
  virtual ~session() = default;
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() { client_.start(); }
  void stop() { client_.stop(); }
  [[nodiscard]] ws_client::stats counters() const { return client_.counters(); }

 protected:
  virtual std::string url() = 0;
  virtual void opened() = 0;
  virtual void message(std::string_view text) = 0;
  virtual void tick() {}

  // Sent after the upgrade: the venue answers in order, so the reply means the streams are live.
  void expect_ready() {
    ready_id_ = ++request_id_;
    client_.send(request_frame("LIST_SUBSCRIPTIONS", ready_id_));
  }
  // A reply to one of our requests; true when it was the readiness probe.
  bool reply(std::optional<std::int64_t> id, const std::string& err) {
    if (!err.empty()) error("request refused: " + err);
    if (!id || *id != ready_id_ || ready_id_ == 0) return false;
    ready_id_ = 0;
    announced_ = true;
    client_.mark_healthy();
    pt::log::info("binance stream: subscribed", {{"stream", name_}});
    events_.connection(name_, true);
    return true;
  }
  void error(const std::string& what) const {
    pt::log::warn("binance stream: " + what, {{"stream", name_}});
    events_.error(name_ + ": " + what);
  }
  // HTTP 503 is the venue's maintenance answer (exchanges.md B4).
  void rest_failed(const std::string& what, const std::exception& e) {
    if (const auto* ve = dynamic_cast<const pv::venue_error*>(&e); ve && ve->http_status() == 503 && !maintenance_) {
      maintenance_ = true;
      events_.status({pv::venue_status_kind::maintenance, "", ve->what(), wall_ms()});
    }
    error(what + ": " + e.what());
  }
  void rest_ok() {
    if (!maintenance_) return;
    maintenance_ = false;
    events_.status({pv::venue_status_kind::normal, "", "REST answers again", wall_ms()});
  }

  std::string name_;
  binance_connector& rest_;
  const stream_events_hub& events_;

 private:
  ws_client::callbacks callbacks() {
    ws_client::callbacks cb;
    cb.url = [this] { return url(); };
    cb.on_open = [this] {
      ready_id_ = 0;
      opened();
    };
    cb.on_message = [this](std::string_view text) { message(text); };
    cb.on_close = [this](bool was_open, const std::string& why) { closed(was_open, why); };
    cb.on_tick = [this] { tick(); };
    return cb;  // empty ping_text: WebSocket ping frames
  }

  void closed(bool was_open, const std::string& why) {
    ready_id_ = 0;
    // Our own close_streams() is routine; anything else is worth a warning.
    if (was_open && why == "stopped") pt::log::info("binance stream: closed", {{"stream", name_}});
    else if (was_open) pt::log::warn("binance stream: connection ended", {{"stream", name_}, {"why", why}});
    else pt::log::info("binance stream: connection attempt failed", {{"stream", name_}, {"why", why}});
    if (announced_) {
      announced_ = false;
      events_.connection(name_, false);
    }
  }

  std::int64_t request_id_ = 0;
  std::int64_t ready_id_ = 0;
  bool announced_ = false;
  bool maintenance_ = false;

 protected:
  ws_client client_;  // last: its thread may call into everything above
};

namespace {

// One entry point (/public or /market) with the streams of one subscribe_public call.
class market_session final : public binance_stream::session {
 public:
  market_session(std::string name, binance_connector& rest, const stream_events_hub& events, std::string url,
                 std::vector<std::string> depth_symbols, pv::public_handlers h, const binance_stream_options& opt)
      : session(std::move(name), rest, events, opt.ws), url_(std::move(url)), h_(std::move(h)), opt_(opt) {
    for (const auto& s : depth_symbols) depth_[s];
  }
  ~market_session() override { stop(); }

 private:
  using clock = std::chrono::steady_clock;
  enum class phase { waiting, need_first, synced };
  struct depth_state {
    phase ph = phase::waiting;
    std::deque<pv::order_book> buffer;  // while waiting for a snapshot
    std::int64_t snapshot_id = 0;       // lastUpdateId of the snapshot in use
    std::int64_t last_u = 0;            // u of the last event applied
    bool retry = false;                 // a snapshot failed; try again at retry_at
    bool gap = false;                   // the pending snapshot repairs a gap (on_book_resync)
    clock::time_point retry_at{};
  };

  std::string url() override { return url_; }

  void opened() override {
    for (auto& [sym, st] : depth_) st = depth_state{};
    expect_ready();
  }

  void message(std::string_view text) override {
    const std::int64_t arrived_ns = pt::core::trace::now_ns();  // before parsing (decision-path tracing)
    bw::market_event ev;
    try {
      ev = bw::parse_market_event(text);
    } catch (const std::exception& e) {
      error(std::string("malformed frame: ") + e.what());
      return;
    }
    switch (ev.kind) {
      case bw::market_event_kind::reply:
        if (reply(ev.request_id, ev.error))
          for (auto& [sym, st] : depth_) snapshot(sym, false);
        return;
      case bw::market_event_kind::kline:
        ev.bar.received_ns = arrived_ns;
        if (h_.on_candle) h_.on_candle(ev.bar, ev.symbol);
        return;
      case bw::market_event_kind::mark_price:
        for (const auto& m : ev.marks) {
          if (h_.on_mark_price) h_.on_mark_price(m);
          if (h_.on_funding && m.funding_rate) {
            pv::funding_rate f;
            f.symbol = m.symbol;
            f.rate = *m.funding_rate;
            f.time = m.next_funding_time.value_or(m.time);  // the settlement this rate is for
            f.mark = m.mark;
            h_.on_funding(f);
          }
        }
        return;
      case bw::market_event_kind::depth:
        if (h_.on_book) depth_event(std::move(ev.book));
        return;
      case bw::market_event_kind::agg_trade:
      case bw::market_event_kind::trade:
        if (h_.on_trade) h_.on_trade(ev.trade);
        return;
      case bw::market_event_kind::other:
        if (ev.event_type == "24hrTicker" && h_.on_ticker) {
          try {
            if (auto t = ticker_of(text)) h_.on_ticker(*t);
          } catch (const pv::parse_error& e) {
            error(std::string("malformed ticker: ") + e.what());
          }
        }
        return;
    }
  }

  void tick() override {
    const auto now = clock::now();
    for (auto& [sym, st] : depth_)
      if (st.retry && now >= st.retry_at && client_.is_open()) snapshot(sym, st.gap);
  }

  // The documented procedure (B5/B8): buffer, snapshot, drop u < lastUpdateId, first straddles,
  // then pu == previous u.
  void depth_event(pv::order_book b) {
    auto it = depth_.find(b.symbol);
    if (it == depth_.end()) return;
    depth_state& st = it->second;
    switch (st.ph) {
      case phase::waiting:
        if (st.buffer.size() >= opt_.max_buffered_events) st.buffer.pop_front();
        st.buffer.push_back(std::move(b));
        return;
      case phase::need_first:
        if (b.update_id < st.snapshot_id) return;  // already in the snapshot
        if (b.first_update_id > st.snapshot_id) {
          gap(b.symbol, "first event after the snapshot starts past it (U " + std::to_string(b.first_update_id) +
                            " > lastUpdateId " + std::to_string(st.snapshot_id) + ")");
          return;
        }
        break;
      case phase::synced:
        if (b.prev_update_id != st.last_u) {
          gap(b.symbol, "pu " + std::to_string(b.prev_update_id) + " != previous u " + std::to_string(st.last_u));
          return;
        }
        break;
    }
    st.ph = phase::synced;
    st.last_u = b.update_id;
    h_.on_book(b);
  }

  void gap(const std::string& symbol, const std::string& why) {
    pt::log::warn("binance stream: depth sequence gap, resyncing", {{"stream", name_}, {"symbol", symbol}, {"why", why}});
    depth_state& st = depth_[symbol];
    st.ph = phase::waiting;
    st.buffer.clear();
    snapshot(symbol, true);
  }

  // Fetches the REST snapshot, emits it, then replays what was buffered meanwhile.
  void snapshot(const std::string& symbol, bool after_gap) {
    depth_state& st = depth_[symbol];
    st.ph = phase::waiting;
    st.retry = false;
    pv::order_book snap;
    try {
      snap = rest_.book(symbol, opt_.depth_limit);
      rest_ok();
    } catch (const std::exception& e) {
      rest_failed("depth snapshot over REST failed for " + symbol, e);
      st.retry = true;
      st.gap = st.gap || after_gap;
      st.retry_at = clock::now() + opt_.snapshot_retry;
      return;
    }
    snap.symbol = symbol;
    snap.snapshot = true;
    st.snapshot_id = snap.update_id;
    st.last_u = snap.update_id;
    st.ph = phase::need_first;
    const bool repaired_gap = after_gap || st.gap;
    st.gap = false;
    h_.on_book(snap);
    if (repaired_gap) events_.book_resync(symbol);
    std::deque<pv::order_book> buffered;
    buffered.swap(st.buffer);
    for (auto& b : buffered) depth_event(std::move(b));
  }

  std::string url_;
  pv::public_handlers h_;
  binance_stream_options opt_;
  std::map<std::string, depth_state> depth_;
};

class user_session final : public binance_stream::session {
 public:
  user_session(std::string name, binance_connector& rest, const stream_events_hub& events, std::string base,
               pv::private_handlers h, const binance_stream_options& opt)
      : session(std::move(name), rest, events, opt.ws), base_(std::move(base)), h_(std::move(h)), opt_(opt) {}
  ~user_session() override { stop(); }

 private:
  using clock = std::chrono::steady_clock;

  // A key for every attempt: POST answers the live key (or a new one after it expired).
  std::string url() override {
    try {
      key_ = rest_.listen_key(false);
      rest_ok();
    } catch (const std::exception& e) {
      rest_failed("listenKey", e);
      throw;
    }
    next_keepalive_ = clock::now() + opt_.listen_key_keepalive;
    // listenKeyExpired is delivered only when named (B1); ALGO_UPDATE for conditional orders.
    return base_ + "/private/ws?listenKey=" + pv::percent_encode(key_) +
           "&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired/ALGO_UPDATE";
  }

  void opened() override { expect_ready(); }

  void message(std::string_view text) override {
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_object() && doc.contains("id") && !doc.contains("e")) {
      std::optional<std::int64_t> id;
      if (doc["id"].is_number_integer()) id = doc["id"].get<std::int64_t>();
      std::string err;
      if (doc.contains("error")) err = doc["error"].is_object() ? doc["error"].value("msg", "error") : "error";
      reply(id, err);
      return;
    }
    bw::user_event ev;
    try {
      ev = bw::parse_user_event(text);
    } catch (const std::exception& e) {
      error(std::string("malformed frame: ") + e.what());
      return;
    }
    switch (ev.kind) {
      case bw::user_event_kind::order_update:
        if (h_.on_order) h_.on_order(ev.ord);
        if (ev.trade && h_.on_fill) h_.on_fill(*ev.trade);
        return;
      case bw::user_event_kind::account_update:
        if (h_.on_position)
          for (const auto& p : ev.positions) h_.on_position(p);
        if (h_.on_balance && opt_.refresh_balances) {
          std::vector<pv::balance> all;
          try {
            all = rest_.balances();
            rest_ok();
          } catch (const std::exception& e) {
            rest_failed("balances after ACCOUNT_UPDATE", e);
            return;
          }
          for (const auto& b : all) h_.on_balance(b);
        }
        return;
      case bw::user_event_kind::listen_key_expired:
        error("listenKey expired: reconnecting with a new one");
        client_.reconnect("listenKeyExpired");
        return;
      default:
        return;
    }
  }

  void tick() override {
    if (!client_.is_open() || clock::now() < next_keepalive_) return;
    try {
      (void)rest_.listen_key(true);
      rest_ok();
      next_keepalive_ = clock::now() + opt_.listen_key_keepalive;
    } catch (const pv::parse_error&) {
      // The PUT was answered 200 with a body we cannot read ({} on older APIs): kept alive.
      next_keepalive_ = clock::now() + opt_.listen_key_keepalive;
    } catch (const std::exception& e) {
      const auto* ve = dynamic_cast<const pv::venue_error*>(&e);
      if (ve && ve->code() == code_listen_key_missing) {
        error("listenKey no longer exists (-1125): reconnecting with a new one");
        client_.reconnect("listenKey -1125");
        return;
      }
      rest_failed("listenKey keep-alive", e);
      // Try again soon; the key lives 60 min from the last success.
      next_keepalive_ = clock::now() + std::min<std::chrono::milliseconds>(opt_.listen_key_keepalive, std::chrono::minutes(1));
    }
  }

  std::string base_;
  pv::private_handlers h_;
  binance_stream_options opt_;
  std::string key_;
  clock::time_point next_keepalive_{};
};

}  // namespace

binance_stream::binance_stream(binance_connector& rest, std::string ws_base_url, std::string api_key,
                               binance_stream_options options)
    : rest_(rest), base_url_(trim_slash(std::move(ws_base_url))), have_key_(!api_key.empty()), options_(std::move(options)) {}

binance_stream::~binance_stream() { close(); }

void binance_stream::set_events(pv::stream_events events) { events_.set(std::move(events)); }

void binance_stream::subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) {
  if (sub.symbols.empty()) throw std::invalid_argument("binance streams need symbols");
  std::vector<std::string> depth_streams, market_streams, depth_symbols;
  for (const auto& s : sub.symbols) {
    const std::string ls = lower(s);
    if (sub.book && handlers.on_book) {
      depth_streams.push_back(ls + "@depth@100ms");
      depth_symbols.push_back(s);
    }
    if (handlers.on_candle)
      for (const auto& iv : sub.candle_intervals)
        market_streams.push_back(ls + "@kline_" + pv::to_binance_interval(pv::parse_timeframe(iv)));
    if (sub.trades && handlers.on_trade) market_streams.push_back(ls + "@aggTrade");
    if ((sub.mark_price && handlers.on_mark_price) || (sub.funding && handlers.on_funding))
      market_streams.push_back(ls + "@markPrice@1s");
    if (sub.ticker && handlers.on_ticker) market_streams.push_back(ls + "@ticker");
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : "/") + s;
    return out;
  };
  const std::string suffix = sessions_.next_public_suffix();
  // Unused handlers are dropped from each connection so one never answers for the other.
  std::vector<std::unique_ptr<session>> made;
  if (!depth_streams.empty()) {
    pv::public_handlers h;
    h.on_book = handlers.on_book;
    made.push_back(std::make_unique<market_session>("binance/public" + suffix, rest_, events_,
                                                    base_url_ + "/public/stream?streams=" + join(depth_streams),
                                                    depth_symbols, std::move(h), options_));
  }
  if (!market_streams.empty()) {
    handlers.on_book = nullptr;
    if (!sub.mark_price) handlers.on_mark_price = nullptr;
    if (!sub.funding) handlers.on_funding = nullptr;
    if (!sub.trades) handlers.on_trade = nullptr;
    if (!sub.ticker) handlers.on_ticker = nullptr;
    made.push_back(std::make_unique<market_session>("binance/market" + suffix, rest_, events_,
                                                    base_url_ + "/market/stream?streams=" + join(market_streams),
                                                    std::vector<std::string>{}, std::move(handlers), options_));
  }
  for (auto& s : made) sessions_.add(std::move(s));
}

void binance_stream::subscribe_private(pv::private_handlers handlers) {
  if (!have_key_) throw pv::venue_error(pv::outcome_class::reject, "binance: no API key configured for the user stream");
  auto s = std::make_unique<user_session>("binance/private", rest_, events_, base_url_, std::move(handlers), options_);
  sessions_.add(std::move(s));
}

void binance_stream::close() { sessions_.stop_all(); }

ws_client::stats binance_stream::counters() const { return sessions_.counters(); }

}  // namespace pt::connectors
