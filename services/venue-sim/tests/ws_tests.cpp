// venue-sim's WebSocket side as a process on loopback, read by a minimal hand-written client
// (RFC 6455 upgrade and framing over a plain socket, not libwebsockets, so the server is checked
// by code that shares nothing with it). Expected values come from the venues' rules (ids chain,
// the documented local-book procedure) and from venue-sim's REST answers, a separate code path:
// the book rebuilt from a snapshot plus pushed updates must equal the REST book afterwards.
#include "core/decimal.hpp"
#include "testing/venue_sim_process.hpp"
#include "venue/signing.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using json = nlohmann::json;
namespace venue = pt::venue;
using pt::core::decimal;
using namespace std::chrono_literals;

namespace {

const std::string accounts = "test-key:test-secret-0123:10000,other-key:other-secret-0123:10000";

pt::testing::venue_sim_process& sim() {
  static pt::testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, accounts, {"--symbols", "BTC,ETH"});
  return p;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- a minimal WebSocket client --------------------------------------------------------------------

class ws_client {
 public:
  ws_client(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!write_all(req)) return;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!fill(deadline)) return;
    }
    const auto end = buf_.find("\r\n\r\n");
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    upgraded_ = head.rfind("HTTP/1.1 101", 0) == 0;
    // RFC 6455 section 1.3's example key has this accept value.
    if (upgraded_ && head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos) upgraded_ = false;
  }
  ~ws_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  [[nodiscard]] bool upgraded() const { return upgraded_; }
  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] int close_code() const { return close_code_; }

  void send_text(std::string_view text) { send_frame(0x1, text); }
  void send_json(const json& j) { send_text(j.dump()); }

  // The next text message, or nullopt after `timeout` (or when the connection ended).
  std::optional<std::string> recv(std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string message;
    while (!closed_) {
      while (true) {
        auto frame = parse_frame();
        if (!frame) break;
        auto [fin, op, payload] = std::move(*frame);
        if (op == 0x9) {
          send_frame(0xA, payload);
          continue;
        }
        if (op == 0xA) continue;
        if (op == 0x8) {
          closed_ = true;
          if (payload.size() >= 2)
            close_code_ = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
          return std::nullopt;
        }
        message += payload;
        if (fin) return message;
      }
      if (!fill(deadline)) return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<json> recv_json(std::chrono::milliseconds timeout = 2000ms) {
    auto t = recv(timeout);
    if (!t) return std::nullopt;
    return json::parse(*t);
  }

  // Everything until the stream has been quiet for `quiet`.
  std::vector<json> drain(std::chrono::milliseconds quiet = 600ms) {
    std::vector<json> out;
    while (auto j = recv_json(quiet)) out.push_back(std::move(*j));
    return out;
  }

  // Waits for the server to end the connection (close frame or EOF).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    return closed_;
  }

 private:
  bool write_all(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Clients mask every frame (RFC 6455 5.3).
  void send_frame(int opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    const std::size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xff));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    write_all(f);
  }

  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  struct frame {
    bool fin;
    int op;
    std::string payload;
  };
  std::optional<frame> parse_frame() {
    if (buf_.size() < 2) return std::nullopt;
    const auto b0 = static_cast<unsigned char>(buf_[0]), b1 = static_cast<unsigned char>(buf_[1]);
    std::size_t len = b1 & 0x7f, off = 2;
    if (len == 126) {
      if (buf_.size() < 4) return std::nullopt;
      len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]);
      off = 4;
    } else if (len == 127) {
      if (buf_.size() < 10) return std::nullopt;
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[i]);
      off = 10;
    }
    REQUIRE((b1 & 0x80) == 0);  // a server never masks
    if (buf_.size() < off + len) return std::nullopt;
    frame f{(b0 & 0x80) != 0, b0 & 0x0f, buf_.substr(off, len)};
    buf_.erase(0, off + len);
    return f;
  }

  int fd_ = -1;
  std::string buf_;
  bool upgraded_ = false;
  bool closed_ = false;
  int close_code_ = 0;
};

// ---- REST helpers ------------------------------------------------------------------------------------

json control(const std::string& method, const std::string& path, const json& body = json::object()) {
  httplib::Client c("127.0.0.1", sim().port("control"));
  httplib::Result r = method == "POST" ? c.Post(path, body.dump(), "application/json")
                                       : (method == "DELETE" ? c.Delete(path) : c.Get(path));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

void step_hour() { control("POST", "/sim/clock", {{"step_ms", 3600000}}); }

json polo_rest(const std::string& method, const std::string& path, const std::string& body, const std::string& key = "test-key",
               const std::string& secret = "test-secret-0123", const venue::query_params& q = {}) {
  httplib::Client c("127.0.0.1", sim().port("poloniex"));
  const auto auth = venue::poloniex_auth(key, method, path, q, body, now_ms(), secret);
  httplib::Headers h;
  for (const auto& [k, v] : auth.as_list()) h.emplace(k, v);
  std::string target = path;
  for (std::size_t i = 0; i < q.size(); ++i) target += (i == 0 ? "?" : "&") + q[i].first + "=" + venue::percent_encode(q[i].second);
  httplib::Result r = method == "GET" ? c.Get(target, h)
                                      : (method == "POST" ? c.Post(target, h, body, "application/json")
                                                          : c.Delete(target, h, body, "application/json"));
  REQUIRE(r);
  return json::parse(r->body);
}

json binance_rest(const std::string& method, const std::string& path, const venue::query_params& q,
                  const std::string& key = "test-key", const std::string& secret = "test-secret-0123") {
  httplib::Client c("127.0.0.1", sim().port("binance"));
  const std::string qs = venue::binance_signed_query(q, now_ms(), 5000, secret);
  httplib::Headers h{{"X-MBX-APIKEY", key}};
  httplib::Result r = method == "GET" ? c.Get(path + "?" + qs, h)
                                      : (method == "POST" ? c.Post(path, h, qs, "application/x-www-form-urlencoded")
                                                          : c.Delete(path + "?" + qs, h));
  REQUIRE(r);
  return json::parse(r->body);
}

json binance_public(const std::string& target) {
  httplib::Client c("127.0.0.1", sim().port("binance"));
  auto r = c.Get(target);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

std::string listen_key(const std::string& method, const std::string& key = "test-key") {
  httplib::Client c("127.0.0.1", sim().port("binance"));
  httplib::Headers h{{"X-MBX-APIKEY", key}};
  auto r = method == "POST" ? c.Post("/fapi/v1/listenKey", h, "", "application/x-www-form-urlencoded")
                            : c.Delete("/fapi/v1/listenKey", h);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body).value("listenKey", "");
}

// ---- books -----------------------------------------------------------------------------------------

// price -> qty for both sides, as a client keeps it.
struct local_book {
  std::map<decimal, decimal> bids, asks;
  static void apply(std::map<decimal, decimal>& side, const json& levels) {
    for (const auto& l : levels) {
      const auto px = decimal::parse(l[0].get<std::string>());
      const auto qty = decimal::parse(l[1].get<std::string>());
      if (qty.is_zero()) side.erase(px);
      else side[px] = qty;
    }
  }
  void apply(const json& bid_levels, const json& ask_levels) {
    apply(bids, bid_levels);
    apply(asks, ask_levels);
  }
  static local_book of(const json& bid_levels, const json& ask_levels) {
    local_book b;
    b.apply(bid_levels, ask_levels);
    return b;
  }
  bool operator==(const local_book&) const = default;
};

std::vector<json> of_channel(const std::vector<json>& frames, const std::string& channel) {
  std::vector<json> out;
  for (const auto& f : frames)
    if (f.value("channel", "") == channel && f.contains("data")) out.push_back(f);
  return out;
}

// Binance subscribes URL streams when the connection opens, just after the 101: one request
// round trip makes sure that happened before the test moves the market.
void sync(ws_client& c) {
  c.send_json({{"method", "LIST_SUBSCRIPTIONS"}, {"id", 999}});
  const auto r = c.recv_json();
  REQUIRE(r);
  REQUIRE((*r)["id"] == 999);
}

std::string polo_auth(const std::string& key, const std::string& secret, std::int64_t ts) {
  return venue::poloniex_ws_auth_message(key, ts, secret);
}

}  // namespace

TEST_CASE("ws poloniex: ping/pong, subscribe ack, book_lv2 snapshot then updates whose lid chains the ids") {
  PT_NEED_RECORDED_DATA();
  ws_client ws(sim().port("poloniex_ws"), "/ws/v3/public");
  REQUIRE(ws.upgraded());
  ws.send_json({{"event", "ping"}});
  CHECK(ws.recv_json() == json{{"event", "pong"}});
  ws.send_text("PING");  // plain text, any case (A8)
  CHECK(ws.recv_json() == json{{"event", "pong"}});

  ws.send_json({{"event", "subscribe"}, {"channel", {"book_lv2"}}, {"symbols", {"BTC_USDT_PERP"}}});
  const auto ack = ws.recv_json();
  REQUIRE(ack);
  CHECK((*ack)["event"] == "subscribe");
  CHECK((*ack)["channel"] == "book_lv2");
  CHECK((*ack)["symbols"] == json::array({"BTC_USDT_PERP"}));
  const auto snap = ws.recv_json();
  REQUIRE(snap);
  REQUIRE((*snap)["channel"] == "book_lv2");
  REQUIRE((*snap)["action"] == "snapshot");
  const json& s0 = (*snap)["data"][0];
  CHECK(s0["s"] == "BTC_USDT_PERP");
  CHECK(s0["bids"].size() == 20);
  CHECK(s0["asks"].size() == 20);
  CHECK(decimal::parse(s0["bids"][0][0].get<std::string>()) < decimal::parse(s0["asks"][0][0].get<std::string>()));
  local_book book = local_book::of(s0["bids"], s0["asks"]);
  std::int64_t last_id = s0["id"].get<std::int64_t>();

  // A second subscribe to the same pair is refused, as the venue does.
  ws.send_json({{"event", "subscribe"}, {"channel", {"book_lv2"}}, {"symbols", {"BTC_USDT_PERP"}}});
  CHECK(ws.recv_json().value()["event"] == "error");
  ws.send_json({{"event", "subscribe"}, {"channel", {"no_such_channel"}}, {"symbols", {"BTC_USDT_PERP"}}});
  CHECK(ws.recv_json().value()["event"] == "error");
  ws.send_json({{"event", "subscribe"}, {"channel", {"orders"}}, {"symbols", {"all"}}});
  CHECK(ws.recv_json().value()["event"] == "error");  // a private channel on the public endpoint
  ws.send_text("{not json");
  CHECK(ws.recv_json().value()["event"] == "error");

  step_hour();
  const auto updates = of_channel(ws.drain(), "book_lv2");
  REQUIRE(updates.size() >= 3);  // an hour bar is walked in four points
  for (const auto& u : updates) {
    CHECK(u["action"] == "update");
    const json& d = u["data"][0];
    CHECK(d["lid"].get<std::int64_t>() == last_id);
    CHECK(d["id"].get<std::int64_t>() > last_id);
    last_id = d["id"].get<std::int64_t>();
    book.apply(d["bids"], d["asks"]);
  }
  // The book built from the pushes is the book REST serves now.
  const auto rest = polo_rest("GET", "/v3/market/orderBook", "", "test-key", "test-secret-0123",
                              {{"symbol", "BTC_USDT_PERP"}, {"limit", "20"}});
  REQUIRE(rest["code"] == 200);
  CHECK(book == local_book::of(rest["data"]["bids"], rest["data"]["asks"]));

  ws.send_json({{"event", "list_subscriptions"}});
  CHECK(ws.recv_json().value()["subscriptions"] == json::array({"book_lv2"}));
  ws.send_json({{"event", "unsubscribe"}, {"channel", {"book_lv2"}}, {"symbols", {"BTC_USDT_PERP"}}});
  const auto unsub = ws.recv_json();
  REQUIRE(unsub);
  CHECK((*unsub)["event"] == "unsubscribe");
  step_hour();
  CHECK(of_channel(ws.drain(400ms), "book_lv2").empty());
}

TEST_CASE("ws poloniex: public channels push after a step (book, tickers, mark price, candles, symbol)") {
  PT_NEED_RECORDED_DATA();
  ws_client ws(sim().port("poloniex_ws"), "/ws/v3/public");
  REQUIRE(ws.upgraded());
  ws.send_json({{"event", "subscribe"},
                {"channel", {"book", "tickers", "mark_price", "candles_hour_1", "symbol"}},
                {"symbols", {"ETH_USDT_PERP"}}});
  auto first = ws.drain();
  std::map<std::string, int> acks;
  for (const auto& f : first)
    if (f.value("event", "") == "subscribe") ++acks[f["channel"].get<std::string>()];
  CHECK(acks.size() == 5);
  REQUIRE(of_channel(first, "symbol").size() == 1);
  CHECK(of_channel(first, "symbol")[0]["data"][0]["symbol"] == "ETH_USDT_PERP");
  const auto before = control("GET", "/sim/status")["market_time_ms"].get<std::int64_t>();
  step_hour();
  const auto frames = ws.drain();
  const auto book = of_channel(frames, "book");
  REQUIRE(!book.empty());
  CHECK(book.back()["data"][0]["bids"].size() == 5);
  CHECK(book.back()["data"][0]["s"] == "ETH_USDT_PERP");
  const auto tickers = of_channel(frames, "tickers");
  REQUIRE(!tickers.empty());
  CHECK(tickers.back()["data"][0]["s"] == "ETH_USDT_PERP");
  REQUIRE(!of_channel(frames, "mark_price").empty());
  const auto candles = of_channel(frames, "candles_hour_1");
  REQUIRE(!candles.empty());
  // [s,l,h,o,c,amt,qty,tC,sT,cT,ts]: the last push of the bar that ended at the step carries its
  // final figures, which REST serves for that bar; the running bar follows.
  std::optional<json> final_row;
  for (const auto& c : candles) {
    const json& row = c["data"][0];
    CHECK(row[0] == "ETH_USDT_PERP");
    CHECK(row[8].get<std::int64_t>() >= before);
    CHECK(row[8].get<std::int64_t>() <= before + 3600000);
    if (row[8].get<std::int64_t>() == before) final_row = row;
  }
  REQUIRE(final_row);
  CHECK(candles.back()["data"][0][8].get<std::int64_t>() == before + 3600000);
  httplib::Client rc("127.0.0.1", sim().port("poloniex"));
  auto r = rc.Get("/v3/market/candles?symbol=ETH_USDT_PERP&interval=HOUR_1&limit=2");
  REQUIRE(r);
  const auto rows = json::parse(r->body)["data"];
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][7].get<std::string>() == std::to_string(before));  // REST rows: [l,h,o,c,amt,qty,tC,sT,cT]
  for (int i = 0; i < 4; ++i)
    CHECK(decimal::parse((*final_row)[1 + i].get<std::string>()) == decimal::parse(rows[0][i].get<std::string>()));
}

TEST_CASE("ws poloniex private: auth with a bad signature is refused, a signed login sees only its own orders") {
  PT_NEED_RECORDED_DATA();
  ws_client pub(sim().port("poloniex_ws"), "/ws/v3/public");
  REQUIRE(pub.upgraded());
  pub.send_text(polo_auth("test-key", "test-secret-0123", now_ms()));
  CHECK(pub.recv_json().value()["event"] == "error");  // auth belongs to the private endpoint

  ws_client ws(sim().port("poloniex_ws"), "/ws/v3/private");
  REQUIRE(ws.upgraded());
  ws.send_text(polo_auth("test-key", "wrong-secret", now_ms()));
  auto bad = ws.recv_json();
  REQUIRE(bad);
  CHECK((*bad)["channel"] == "auth");
  CHECK((*bad)["data"]["success"] == false);
  ws.send_text(polo_auth("test-key", "test-secret-0123", now_ms() - 120000));  // stale by 2 min
  CHECK(ws.recv_json().value()["data"]["success"] == false);
  ws.send_json({{"event", "subscribe"}, {"channel", {"orders"}}, {"symbols", {"all"}}});
  CHECK(ws.recv_json().value()["event"] == "error");  // not logged in

  ws.send_text(polo_auth("test-key", "test-secret-0123", now_ms()));
  auto ok = ws.recv_json();
  REQUIRE(ok);
  CHECK((*ok)["channel"] == "auth");
  CHECK((*ok)["data"]["success"] == true);
  ws.send_json({{"event", "subscribe"}, {"channel", {"orders", "trade", "positions", "account"}}, {"symbols", {"all"}}});
  for (int i = 0; i < 4; ++i) CHECK(ws.recv_json().value()["event"] == "subscribe");
  ws.send_json({{"event", "subscribe"}, {"channel", {"book"}}, {"symbols", {"BTC_USDT_PERP"}}});
  CHECK(ws.recv_json().value()["event"] == "error");  // a public channel on the private endpoint

  // Another account's order is not ours to see.
  const auto theirs = polo_rest("POST", "/v3/trade/order",
                                R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","px":"1000","sz":"1","clOrdId":"other-ws-1"})",
                                "other-key", "other-secret-0123");
  REQUIRE(theirs["code"] == 200);
  CHECK(ws.drain(400ms).empty());

  const auto placed = polo_rest("POST", "/v3/trade/order",
                                R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"LIMIT","px":"1000","sz":"2","clOrdId":"ws-ord-1"})");
  REQUIRE(placed["code"] == 200);
  auto frames = ws.drain();
  auto orders = of_channel(frames, "orders");
  REQUIRE(orders.size() == 1);
  const json& o = orders[0]["data"][0];
  CHECK(o["clOrdId"] == "ws-ord-1");
  CHECK(o["ordId"] == placed["data"]["ordId"]);
  CHECK(o["symbol"] == "BTC_USDT_PERP");
  CHECK(o["side"] == "BUY");
  CHECK(o["state"] == "NEW");
  CHECK(decimal::parse(o["px"].get<std::string>()) == decimal::from_integer(1000));
  CHECK(decimal::parse(o["sz"].get<std::string>()) == decimal::from_integer(2));

  polo_rest("DELETE", "/v3/trade/order", R"({"symbol":"BTC_USDT_PERP","clOrdId":"ws-ord-1"})");
  orders = of_channel(ws.drain(), "orders");
  REQUIRE(orders.size() == 1);
  CHECK(orders[0]["data"][0]["state"] == "CANCELED");

  // A market order fills: the order, the fill (trade channel), the position and the account.
  const auto mkt = polo_rest("POST", "/v3/trade/order",
                             R"({"symbol":"BTC_USDT_PERP","side":"BUY","type":"MARKET","sz":"1","clOrdId":"ws-mkt-1"})");
  REQUIRE(mkt["code"] == 200);
  frames = ws.drain();
  const auto fills = of_channel(frames, "trade");
  REQUIRE(fills.size() == 1);
  CHECK(fills[0]["data"][0]["clOrdId"] == "ws-mkt-1");
  CHECK(decimal::parse(fills[0]["data"][0]["fqty"].get<std::string>()) == decimal::one());
  const auto positions = of_channel(frames, "positions");
  REQUIRE(!positions.empty());
  CHECK(positions.back()["data"][0]["qty"] == "1");
  CHECK(!of_channel(frames, "account").empty());
  polo_rest("POST", "/v3/trade/positionAll", "");
  polo_rest("DELETE", "/v3/trade/allOrders", R"({"symbol":"BTC_USDT_PERP"})", "other-key", "other-secret-0123");
}

TEST_CASE("ws binance: combined depth diff keeps U/u/pu continuous from the REST snapshot, kline closes its bar") {
  PT_NEED_RECORDED_DATA();
  ws_client depth(sim().port("binance_ws"), "/public/stream?streams=btcusdt@depth@100ms");
  ws_client kline(sim().port("binance_ws"), "/market/stream?streams=btcusdt@kline_1h");
  REQUIRE(depth.upgraded());
  REQUIRE(kline.upgraded());
  sync(depth);
  sync(kline);
  // The documented procedure: subscribe, then fetch the snapshot, then apply events from the one
  // with U <= lastUpdateId <= u, each event's pu being the previous u.
  const auto snap = binance_public("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  const std::int64_t last_update_id = snap["lastUpdateId"].get<std::int64_t>();
  local_book book = local_book::of(snap["bids"], snap["asks"]);
  const auto before = control("GET", "/sim/status")["market_time_ms"].get<std::int64_t>();
  step_hour();
  const auto events = depth.drain();
  REQUIRE(events.size() >= 3);
  std::optional<std::int64_t> prev_u;
  for (const auto& e : events) {
    REQUIRE(e["stream"] == "btcusdt@depth@100ms");
    const json& d = e["data"];
    CHECK(d["e"] == "depthUpdate");
    CHECK(d["s"] == "BTCUSDT");
    const auto U = d["U"].get<std::int64_t>(), u = d["u"].get<std::int64_t>(), pu = d["pu"].get<std::int64_t>();
    CHECK(U <= u);
    if (!prev_u) {
      CHECK(U <= last_update_id);
      CHECK(u >= last_update_id);
    } else {
      CHECK(pu == *prev_u);
    }
    prev_u = u;
    book.apply(d["b"], d["a"]);
  }
  const auto after = binance_public("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  CHECK(after["lastUpdateId"].get<std::int64_t>() == *prev_u);
  CHECK(book == local_book::of(after["bids"], after["asks"]));

  const auto klines = kline.drain();
  REQUIRE(!klines.empty());
  std::optional<json> closed;
  for (const auto& e : klines) {
    CHECK(e["stream"] == "btcusdt@kline_1h");
    CHECK(e["data"]["e"] == "kline");
    CHECK(e["data"]["k"]["i"] == "1h");
    if (e["data"]["k"]["x"] == true) closed = e["data"]["k"];
  }
  REQUIRE(closed);
  CHECK((*closed)["t"].get<std::int64_t>() == before);
  const auto rest = binance_public("/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime=" + std::to_string(before) + "&limit=1");
  REQUIRE(rest.size() == 1);
  CHECK(rest[0][0].get<std::int64_t>() == before);
  CHECK(decimal::parse((*closed)["o"].get<std::string>()) == decimal::parse(rest[0][1].get<std::string>()));
  CHECK(decimal::parse((*closed)["h"].get<std::string>()) == decimal::parse(rest[0][2].get<std::string>()));
  CHECK(decimal::parse((*closed)["l"].get<std::string>()) == decimal::parse(rest[0][3].get<std::string>()));
  CHECK(decimal::parse((*closed)["c"].get<std::string>()) == decimal::parse(rest[0][4].get<std::string>()));
  // The running bar that follows is not closed.
  CHECK(klines.back()["data"]["k"]["x"] == false);
  CHECK(klines.back()["data"]["k"]["t"].get<std::int64_t>() == before + 3600000);
}

TEST_CASE("ws binance: a stream sent to the wrong entry point is acknowledged but delivers nothing") {
  PT_NEED_RECORDED_DATA();
  ws_client market(sim().port("binance_ws"), "/market/ws");
  ws_client pub_path(sim().port("binance_ws"), "/public/ws/btcusdt@kline_1h");  // kline lives on /market
  ws_client right(sim().port("binance_ws"), "/public/ws");
  REQUIRE(market.upgraded());
  REQUIRE(pub_path.upgraded());
  REQUIRE(right.upgraded());
  sync(pub_path);
  market.send_json({{"method", "SUBSCRIBE"}, {"params", {"btcusdt@depth", "btcusdt@bookTicker"}}, {"id", 5}});
  CHECK(market.recv_json() == json{{"result", nullptr}, {"id", 5}});
  right.send_json({{"method", "SUBSCRIBE"}, {"params", {"btcusdt@bookTicker"}}, {"id", 6}});
  CHECK(right.recv_json() == json{{"result", nullptr}, {"id", 6}});
  market.send_json({{"method", "LIST_SUBSCRIPTIONS"}, {"id", 7}});
  CHECK(market.recv_json() == json{{"result", {"btcusdt@depth", "btcusdt@bookTicker"}}, {"id", 7}});
  market.send_json({{"method", "NOPE"}, {"id", 8}});
  CHECK(market.recv_json().value().contains("error"));
  step_hour();
  const auto delivered = right.drain();
  REQUIRE(!delivered.empty());  // the step did produce book tickers
  CHECK(delivered[0]["e"] == "bookTicker");
  CHECK(market.drain(300ms).empty());
  CHECK(pub_path.drain(300ms).empty());
  // The legacy entry points are gone (decommissioned 2026-04-23), and so are unknown ones.
  CHECK_FALSE(ws_client(sim().port("binance_ws"), "/ws/btcusdt@depth").upgraded());
  CHECK_FALSE(ws_client(sim().port("binance_ws"), "/stream?streams=btcusdt@depth").upgraded());
  CHECK_FALSE(ws_client(sim().port("poloniex_ws"), "/ws/v3/elsewhere").upgraded());
}

TEST_CASE("ws binance user stream: ORDER_TRADE_UPDATE carries the fill, events allow-list, listenKeyExpired") {
  PT_NEED_RECORDED_DATA();
  const std::string key = listen_key("POST");
  REQUIRE(!key.empty());
  CHECK_FALSE(ws_client(sim().port("binance_ws"), "/private/ws?listenKey=not-a-key").upgraded());
  ws_client filtered(sim().port("binance_ws"), "/private/ws?listenKey=" + key + "&events=ORDER_TRADE_UPDATE/listenKeyExpired");
  ws_client all(sim().port("binance_ws"), "/private/ws?listenKey=" + key);
  ws_client other(sim().port("binance_ws"), "/private/ws?listenKey=" + listen_key("POST", "other-key"));
  REQUIRE(filtered.upgraded());
  REQUIRE(all.upgraded());
  REQUIRE(other.upgraded());
  sync(filtered);
  sync(all);
  sync(other);

  const auto placed = binance_rest("POST", "/fapi/v1/order",
                                   {{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "MARKET"}, {"quantity", "0.01"},
                                    {"newClientOrderId", "ws-bn-1"}, {"newOrderRespType", "RESULT"}});
  REQUIRE(placed.contains("orderId"));
  REQUIRE(placed["status"] == "FILLED");
  const auto events = filtered.drain();
  REQUIRE(events.size() == 2);  // NEW, then TRADE; ACCOUNT_UPDATE is not on the list
  CHECK(events[0]["e"] == "ORDER_TRADE_UPDATE");
  CHECK(events[0]["o"]["x"] == "NEW");
  CHECK(events[0]["o"]["c"] == "ws-bn-1");
  const json& t = events[1]["o"];
  CHECK(events[1]["e"] == "ORDER_TRADE_UPDATE");
  CHECK(t["x"] == "TRADE");
  CHECK(t["X"] == "FILLED");
  CHECK(t["c"] == "ws-bn-1");
  CHECK(t["i"] == placed["orderId"]);
  CHECK(decimal::parse(t["l"].get<std::string>()) == decimal::parse("0.01"));
  CHECK(decimal::parse(t["z"].get<std::string>()) == decimal::parse("0.01"));
  CHECK(decimal::parse(t["L"].get<std::string>()) == decimal::parse(placed["avgPrice"].get<std::string>()));
  CHECK(decimal::parse(t["n"].get<std::string>()).is_positive());  // the taker fee

  const auto every = all.drain();
  bool account_update = false;
  for (const auto& e : every) {
    if (e["e"] != "ACCOUNT_UPDATE") continue;
    account_update = true;
    CHECK(e["a"]["m"] == "ORDER");
    REQUIRE(e["a"]["P"].size() == 1);
    CHECK(e["a"]["P"][0]["s"] == "BTCUSDT");
    CHECK(decimal::parse(e["a"]["P"][0]["pa"].get<std::string>()) == decimal::parse("0.01"));
  }
  CHECK(account_update);
  CHECK(other.drain(300ms).empty());  // another account's stream saw nothing

  binance_rest("POST", "/fapi/v1/order",
               {{"symbol", "BTCUSDT"}, {"side", "SELL"}, {"type", "MARKET"}, {"quantity", "0.01"}, {"reduceOnly", "true"}});
  filtered.drain(300ms);
  // DELETE ends the key: listenKeyExpired, then the streams close.
  listen_key("DELETE");
  const auto expired = filtered.recv_json();
  REQUIRE(expired);
  CHECK((*expired)["e"] == "listenKeyExpired");
  CHECK((*expired)["listenKey"] == key);
  CHECK(filtered.wait_closed(2000ms));
  CHECK(all.wait_closed(2000ms));
  CHECK_FALSE(other.closed());  // another account's key lives on
  CHECK(listen_key("POST") == key);  // one key per account, as POST answers
  ws_client again(sim().port("binance_ws"), "/private/stream?listenKey=" + key);  // combined form
  REQUIRE(again.upgraded());
  sync(again);
  binance_rest("POST", "/fapi/v1/order",
               {{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"}, {"quantity", "0.01"},
                {"price", "1000"}, {"newClientOrderId", "ws-bn-2"}});
  const auto wrapped = again.recv_json();
  REQUIRE(wrapped);
  CHECK((*wrapped)["stream"] == key);
  CHECK((*wrapped)["data"]["e"] == "ORDER_TRADE_UPDATE");
  CHECK((*wrapped)["data"]["o"]["x"] == "NEW");
  CHECK((*wrapped)["data"]["o"]["c"] == "ws-bn-2");
  binance_rest("DELETE", "/fapi/v1/allOpenOrders", {{"symbol", "BTCUSDT"}});
}

TEST_CASE("ws faults: drop_websockets closes every socket and refuses new ones while armed") {
  PT_NEED_RECORDED_DATA();
  ws_client p(sim().port("poloniex_ws"), "/ws/v3/public");
  ws_client b(sim().port("binance_ws"), "/market/ws/btcusdt@kline_1h");
  REQUIRE(p.upgraded());
  REQUIRE(b.upgraded());
  const auto fired_before = control("GET", "/sim/status")["fired"]["drop_websockets"].get<std::int64_t>();
  control("POST", "/sim/faults", {{"kind", "drop_websockets"}, {"count", 2}});
  CHECK(p.wait_closed(2000ms));
  CHECK(b.wait_closed(2000ms));
  // Two refusals (the count), then connections are accepted again.
  CHECK_FALSE(ws_client(sim().port("poloniex_ws"), "/ws/v3/public").upgraded());
  CHECK_FALSE(ws_client(sim().port("binance_ws"), "/market/ws").upgraded());
  ws_client back(sim().port("poloniex_ws"), "/ws/v3/public");
  CHECK(back.upgraded());
  // The drop itself, then the two refusals.
  CHECK(control("GET", "/sim/status")["fired"]["drop_websockets"].get<std::int64_t>() == fired_before + 3);
  back.send_json({{"event", "ping"}});
  CHECK(back.recv_json() == json{{"event", "pong"}});

  control("POST", "/sim/faults", {{"kind", "drop_websockets"}, {"duration_ms", 800}});
  CHECK(back.wait_closed(2000ms));
  CHECK_FALSE(ws_client(sim().port("poloniex_ws"), "/ws/v3/public").upgraded());
  std::this_thread::sleep_for(1000ms);
  CHECK(ws_client(sim().port("poloniex_ws"), "/ws/v3/public").upgraded());
}

TEST_CASE("ws faults: book_gap makes book_lv2 ids and Binance depth pu jump once per count") {
  PT_NEED_RECORDED_DATA();
  std::this_thread::sleep_for(200ms);  // earlier tests' sockets are gone from the server
  const auto fired_before = control("GET", "/sim/status")["fired"]["book_gap"].get<std::int64_t>();
  {
    ws_client ws(sim().port("poloniex_ws"), "/ws/v3/public");
    REQUIRE(ws.upgraded());
    ws.send_json({{"event", "subscribe"}, {"channel", {"book_lv2"}}, {"symbols", {"BTC_USDT_PERP"}}});
    ws.recv_json();
    const auto snap = ws.recv_json();
    REQUIRE(snap);
    std::int64_t last = (*snap)["data"][0]["id"].get<std::int64_t>();
    control("POST", "/sim/faults", {{"kind", "book_gap"}, {"count", 1}});
    step_hour();
    int gaps = 0, updates = 0;
    for (const auto& u : of_channel(ws.drain(), "book_lv2")) {
      const json& d = u["data"][0];
      ++updates;
      if (d["lid"].get<std::int64_t>() != last) ++gaps;
      last = d["id"].get<std::int64_t>();
    }
    CHECK(updates >= 2);
    CHECK(gaps == 1);
  }
  std::this_thread::sleep_for(200ms);
  {
    ws_client ws(sim().port("binance_ws"), "/public/ws/ethusdt@depth");
    REQUIRE(ws.upgraded());
    sync(ws);
    // The chain starts at the REST snapshot's lastUpdateId; each event's pu must be the last u.
    std::int64_t prev = binance_public("/fapi/v1/depth?symbol=ETHUSDT&limit=1000")["lastUpdateId"].get<std::int64_t>();
    control("POST", "/sim/faults", {{"kind", "book_gap"}, {"count", 1}});
    step_hour();
    int gaps = 0;
    const auto events = ws.drain();
    CHECK(events.size() >= 2);
    for (const auto& e : events) {
      if (e["pu"].get<std::int64_t>() != prev) ++gaps;
      prev = e["u"].get<std::int64_t>();
    }
    CHECK(gaps == 1);
    CHECK(control("GET", "/sim/status")["fired"]["book_gap"].get<std::int64_t>() == fired_before + 2);
  }
}

TEST_CASE("ws poloniex: a socket silent past the idle timeout is closed, one that pings stays") {
  PT_NEED_RECORDED_DATA();
  pt::testing::venue_sim_process quick(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, accounts,
                                       {"--symbols", "BTC", "--protocols", "poloniex", "--poloniex-ws-idle-ms", "1500"});
  ws_client silent(quick.port("poloniex_ws"), "/ws/v3/public");
  ws_client chatty(quick.port("poloniex_ws"), "/ws/v3/public");
  REQUIRE(silent.upgraded());
  REQUIRE(chatty.upgraded());
  const auto t0 = std::chrono::steady_clock::now();
  bool closed_early = false;
  for (int i = 0; i < 12; ++i) {  // about 3.6 s of pings every 300 ms
    chatty.send_json({{"event", "ping"}});
    CHECK(chatty.recv_json(1000ms) == json{{"event", "pong"}});
    silent.recv(1ms);
    if (silent.closed() && std::chrono::steady_clock::now() - t0 < 1400ms) closed_early = true;
    std::this_thread::sleep_for(300ms);
  }
  CHECK_FALSE(closed_early);
  CHECK(silent.wait_closed(1000ms));
  CHECK_FALSE(chatty.closed());
}
