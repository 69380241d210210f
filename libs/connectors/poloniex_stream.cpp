#include "poloniex_stream.hpp"

#include "core/log.hpp"
#include "core/trace.hpp"
#include "poloniex_connector.hpp"
#include "venue/poloniex_wire.hpp"
#include "venue/signing.hpp"
#include "venue/symbols.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <stdexcept>

namespace pt::connectors {

namespace pw = pt::venue::poloniex;
using json = nlohmann::json;

namespace {

constexpr const char* ping_frame = R"({"event":"ping"})";
constexpr std::int64_t code_maintenance = 1002;  // SYSTEM_MAINTENANCE (exchanges.md A4)

std::string control_frame(const char* event, const std::string& channel, const std::vector<std::string>& symbols) {
  return json{{"event", event}, {"channel", json::array({channel})}, {"symbols", symbols}}.dump();
}

pv::epoch_ms wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

pv::venue_status_kind status_kind(pv::instrument_status s) {
  switch (s) {
    case pv::instrument_status::trading: return pv::venue_status_kind::normal;
    case pv::instrument_status::cancel_only: return pv::venue_status_kind::cancel_only;
    case pv::instrument_status::close_only: return pv::venue_status_kind::close_only;
    case pv::instrument_status::closed: return pv::venue_status_kind::delisting;
    case pv::instrument_status::paused: break;
  }
  return pv::venue_status_kind::maintenance;
}

const char* status_text(pv::venue_status_kind k) {
  switch (k) {
    case pv::venue_status_kind::normal: return "normal";
    case pv::venue_status_kind::maintenance: return "maintenance";
    case pv::venue_status_kind::cancel_only: return "cancel_only";
    case pv::venue_status_kind::close_only: return "close_only";
    case pv::venue_status_kind::delisting: return "delisting";
  }
  return "?";
}

}  // namespace

class poloniex_stream::session {
 public:
  session(std::string name, poloniex_connector& rest, const stream_events_hub& events, std::string url,
          const ws_options& ws)
      : name_(std::move(name)), rest_(rest), events_(events), url_(std::move(url)), client_(name_, ws, callbacks()) {}
  virtual ~session() = default;
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() { client_.start(); }
  void stop() { client_.stop(); }
  [[nodiscard]] ws_client::stats counters() const { return client_.counters(); }

 protected:
  virtual void opened() = 0;
  virtual void data(const pw::ws_message& m) = 0;
  std::int64_t frame_ns_ = 0;  // steady clock when the frame being handled arrived
  virtual void auth(const pw::ws_message&) {}

  void send(const std::string& text) { client_.send(text); }
  // Sent after the subscriptions: its pong says the venue has taken them.
  void expect_ready() {
    awaiting_ready_ = true;
    send(ping_frame);
  }
  void error(const std::string& what) const {
    pt::log::warn("poloniex stream: " + what, {{"stream", name_}});
    events_.error(name_ + ": " + what);
  }
  // A REST call failed: SYSTEM_MAINTENANCE is the venue's status, not just an error.
  void rest_failed(const std::string& what, const std::exception& e) {
    if (const auto* ve = dynamic_cast<const pv::venue_error*>(&e); ve && ve->code() == code_maintenance) {
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
  poloniex_connector& rest_;
  const stream_events_hub& events_;
  std::string url_;

 private:
  ws_client::callbacks callbacks() {
    ws_client::callbacks cb;
    cb.url = [this] { return url_; };
    cb.on_open = [this] {
      awaiting_ready_ = false;
      opened();
    };
    cb.on_message = [this](std::string_view text) { message(text); };
    cb.on_close = [this](bool was_open, const std::string& why) { closed(was_open, why); };
    cb.ping_text = ping_frame;
    return cb;
  }

  void message(std::string_view text) {
    frame_ns_ = pt::core::trace::now_ns();  // arrival, before parsing (decision-path tracing)
    pw::ws_message m;
    try {
      m = pw::parse_ws(text);
    } catch (const std::exception& e) {
      error(std::string("malformed frame: ") + e.what());
      return;
    }
    switch (m.kind) {
      case pw::ws_kind::pong:
        if (awaiting_ready_) {
          awaiting_ready_ = false;
          announced_ = true;
          client_.mark_healthy();
          pt::log::info("poloniex stream: subscribed", {{"stream", name_}});
          events_.connection(name_, true);
        }
        return;
      case pw::ws_kind::error:
        error("venue error: " + m.message);
        return;
      case pw::ws_kind::auth:
        auth(m);
        return;
      case pw::ws_kind::data:
        try {
          data(m);
        } catch (const pv::parse_error& e) {
          error("malformed " + m.channel + " push: " + e.what());
        }
        return;
      default:
        return;
    }
  }

  void closed(bool was_open, const std::string& why) {
    awaiting_ready_ = false;
    // Our own close_streams() is routine; anything else is worth a warning.
    if (was_open && why == "stopped") pt::log::info("poloniex stream: closed", {{"stream", name_}});
    else if (was_open) pt::log::warn("poloniex stream: connection ended", {{"stream", name_}, {"why", why}});
    else pt::log::info("poloniex stream: connection attempt failed", {{"stream", name_}, {"why", why}});
    if (announced_) {
      announced_ = false;
      events_.connection(name_, false);
    }
  }

  bool awaiting_ready_ = false;
  bool announced_ = false;
  bool maintenance_ = false;

 protected:
  ws_client client_;  // last: its thread may call into everything above
};

namespace {

class public_session final : public poloniex_stream::session {
 public:
  public_session(std::string name, poloniex_connector& rest, const stream_events_hub& events, std::string url,
                 const pv::public_subscription& sub, pv::public_handlers h, const poloniex_stream_options& opt)
      : session(std::move(name), rest, events, std::move(url), opt.ws), h_(std::move(h)), depth_(opt.resync_depth) {
    symbols_ = sub.symbols.empty() ? std::vector<std::string>{"all"} : sub.symbols;
    if (h_.on_candle) {
      for (const auto& iv : sub.candle_intervals) {
        const auto tf = pv::parse_timeframe(iv);
        if (!pv::poloniex_supports(tf)) throw std::invalid_argument("poloniex streams no " + iv + " candles");
        channels_.push_back(pv::to_poloniex_candle_channel(tf));
      }
    }
    if (sub.book && h_.on_book) channels_.push_back("book_lv2");
    if (sub.trades && h_.on_trade) channels_.push_back("trades");
    if (sub.ticker && h_.on_ticker) channels_.push_back("tickers");
    if (sub.mark_price && h_.on_mark_price) channels_.push_back("mark_price");
    if (sub.funding && h_.on_funding) channels_.push_back("funding_rate");
    channels_.push_back("symbol");  // instrument status changes (on_status)
  }
  ~public_session() override { stop(); }  // the thread goes before the members it reads

 private:
  struct book_state {
    bool have = false;  // a snapshot was seen; updates chain from last_id
    std::int64_t last_id = 0;
  };

  void opened() override {
    books_.clear();
    for (const auto& ch : channels_) send(control_frame("subscribe", ch, symbols_));
    expect_ready();
  }

  void data(const pw::ws_message& m) override {
    const std::string& ch = m.channel;
    if (ch.rfind("candles_", 0) == 0) {
      if (!h_.on_candle) return;
      for (auto& c : pw::ws_candles(m)) {
        c.bar.received_ns = frame_ns_;
        h_.on_candle(c.bar, c.symbol);
      }
    } else if (ch == "book_lv2") {
      if (!h_.on_book) return;
      for (auto& b : pw::ws_books(m)) book(std::move(b));
    } else if (ch == "trades") {
      if (!h_.on_trade) return;
      for (const auto& t : pw::ws_trades(m)) h_.on_trade(t);
    } else if (ch == "tickers") {
      if (!h_.on_ticker) return;
      for (const auto& t : pw::ws_tickers(m)) h_.on_ticker(t);
    } else if (ch == "mark_price") {
      if (!h_.on_mark_price) return;
      for (const auto& p : pw::ws_mark_prices(m)) h_.on_mark_price(p);
    } else if (ch == "funding_rate") {
      if (!h_.on_funding) return;
      for (const auto& f : pw::ws_funding(m)) h_.on_funding(f);
    } else if (ch == "symbol") {
      for (const auto& i : pw::ws_instruments(m)) instrument_status(i);
    }
  }

  void book(pv::order_book b) {
    book_state& st = books_[b.symbol];
    if (b.snapshot) {
      st.have = true;
      st.last_id = b.update_id;
      h_.on_book(b);
      return;
    }
    if (!st.have) return;  // after a gap or a (re)subscribe: wait for the venue's snapshot
    if (b.prev_update_id != st.last_id) {
      resync(b.symbol, st.last_id, b.prev_update_id);
      return;
    }
    st.last_id = b.update_id;
    h_.on_book(b);
  }

  // A book_lv2 gap: the REST book now, then a fresh subscription whose snapshot the updates
  // continue from.
  void resync(const std::string& symbol, std::int64_t expected, std::int64_t got) {
    pt::log::warn("poloniex stream: book_lv2 sequence gap, resyncing",
                  {{"stream", name_}, {"symbol", symbol}, {"expected_lid", expected}, {"lid", got}});
    const bool all = symbols_.size() == 1 && symbols_[0] == "all";
    if (all) books_.clear();
    else books_[symbol].have = false;
    try {
      pv::order_book rb = rest_.book(symbol, depth_);
      rest_ok();
      rb.symbol = symbol;
      rb.snapshot = true;
      h_.on_book(rb);
    } catch (const std::exception& e) {
      rest_failed("book resync over REST failed for " + symbol, e);
    }
    const std::vector<std::string> which = all ? symbols_ : std::vector<std::string>{symbol};
    send(control_frame("unsubscribe", "book_lv2", which));
    send(control_frame("subscribe", "book_lv2", which));
    events_.book_resync(symbol);
  }

  void instrument_status(const pv::instrument& i) {
    const auto kind = status_kind(i.status);
    const auto it = status_.find(i.symbol);
    const bool changed = it == status_.end() ? kind != pv::venue_status_kind::normal : it->second != kind;
    status_[i.symbol] = kind;
    if (!changed) return;
    events_.status({kind, i.symbol, std::string("instrument status ") + status_text(kind), wall_ms()});
  }

  pv::public_handlers h_;
  int depth_;
  std::vector<std::string> symbols_;
  std::vector<std::string> channels_;
  std::map<std::string, book_state> books_;
  std::map<std::string, pv::venue_status_kind> status_;
};

class private_session final : public poloniex_stream::session {
 public:
  private_session(std::string name, poloniex_connector& rest, const stream_events_hub& events, std::string url,
                  std::string key, std::string secret, pv::private_handlers h, const poloniex_stream_options& opt)
      : session(std::move(name), rest, events, std::move(url), opt.ws),
        key_(std::move(key)),
        secret_(std::move(secret)),
        h_(std::move(h)) {
    if (h_.on_order) channels_.push_back("orders");
    if (h_.on_fill) channels_.push_back("trade");
    if (h_.on_position) channels_.push_back("positions");
    if (h_.on_balance) channels_.push_back("account");
  }
  ~private_session() override { stop(); }

 private:
  void opened() override {
    // The login is signed with the venue's clock as the REST session keeps it (A8).
    send(pv::poloniex_ws_auth_message(key_, rest_.session().server_now_ms(), secret_));
  }

  void auth(const pw::ws_message& m) override {
    if (!m.auth_ok) {
      error("login refused: " + m.message);
      try {
        rest_.sync_clock();  // the usual cause is a drifted clock
      } catch (const std::exception& e) {
        rest_failed("clock resync failed", e);
      }
      client_.reconnect("login refused");
      return;
    }
    for (const auto& ch : channels_) send(control_frame("subscribe", ch, {"all"}));
    expect_ready();
  }

  void data(const pw::ws_message& m) override {
    const std::string& ch = m.channel;
    if (ch == "orders" && h_.on_order) {
      for (const auto& o : pw::ws_orders(m)) h_.on_order(o);
    } else if (ch == "trade" && h_.on_fill) {
      for (const auto& f : pw::ws_fills(m)) h_.on_fill(f);
    } else if (ch == "positions" && h_.on_position) {
      for (const auto& p : pw::ws_positions(m)) h_.on_position(p);
    } else if (ch == "account" && h_.on_balance) {
      for (const auto& b : pw::ws_account(m)) h_.on_balance(b);
    }
  }

  std::string key_, secret_;
  pv::private_handlers h_;
  std::vector<std::string> channels_;
};

}  // namespace

poloniex_stream::poloniex_stream(poloniex_connector& rest, std::string public_url, std::string private_url,
                                 std::string api_key, std::string api_secret, poloniex_stream_options options)
    : rest_(rest),
      public_url_(std::move(public_url)),
      private_url_(std::move(private_url)),
      api_key_(std::move(api_key)),
      api_secret_(std::move(api_secret)),
      options_(std::move(options)) {}

poloniex_stream::~poloniex_stream() { close(); }

void poloniex_stream::set_events(pv::stream_events events) { events_.set(std::move(events)); }

void poloniex_stream::subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) {
  sessions_.add(std::make_unique<public_session>("poloniex/public" + sessions_.next_public_suffix(), rest_, events_,
                                                 public_url_, sub, std::move(handlers), options_));
}

void poloniex_stream::subscribe_private(pv::private_handlers handlers) {
  if (api_key_.empty() || api_secret_.empty())
    throw pv::venue_error(pv::outcome_class::reject, "poloniex: no API key configured for the private stream");
  rest_.sync_clock();
  auto s = std::make_unique<private_session>("poloniex/private", rest_, events_, private_url_, api_key_, api_secret_,
                                             std::move(handlers), options_);
  sessions_.add(std::move(s));
}

void poloniex_stream::close() { sessions_.stop_all(); }

ws_client::stats poloniex_stream::counters() const { return sessions_.counters(); }

}  // namespace pt::connectors
