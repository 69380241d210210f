// The WebSocket side of the connectors. Against venue-sim on loopback (lockstep: the market moves
// only when a test steps the clock): public and private events for both venues, reconnect and
// resubscribe after drop_websockets, book resync after book_gap, stale-stream reconnects, the
// maintenance status. Against a scripted server written here on a plain socket (sharing nothing
// with libwebsockets): the generic client's backoff, resubscribe, pings and malformed frames.
//
// Expected values come from the recorded CSV (candles, mark path points), from what the test
// itself sent (orders), from the venue's rules (id chains), and from venue-sim's REST answers (the
// book after the pushes), a code path separate from its WebSocket side.
#include "binance_connector.hpp"
#include "poloniex_connector.hpp"
#include "testing/venue_sim_process.hpp"
#include "venue/poloniex_wire.hpp"
#include "ws_client.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace pt;
using namespace std::chrono_literals;
using core::decimal;
using json = nlohmann::json;

namespace {

// ---- venue-sim -----------------------------------------------------------------------------------------

const char* const accounts = "sk-1:ss-secret-1:100000,sk-2:ss-secret-2:100000";

testing::venue_sim_process& sim() {
  static testing::venue_sim_process p(VENUE_SIM_BIN, POLYTRADE_SOURCE_DIR, accounts, {"--symbols", "BTC,ETH"});
  return p;
}

std::string ws_url(const char* port_name, const std::string& path) {
  return "ws://127.0.0.1:" + std::to_string(sim().port(port_name)) + path;
}

// Fast timings for loopback: quick reconnects, no stale kills unless a test asks.
connectors::ws_options fast_ws() {
  connectors::ws_options o;
  o.ping_interval = 1000ms;
  o.stale_timeout = 20000ms;
  o.backoff_base = 100ms;
  o.backoff_cap = 800ms;
  o.seed = 5;
  return o;
}

connectors::poloniex_config polo_config() {
  connectors::poloniex_config c;
  c.rest_url = sim().url("poloniex");
  c.ws_public_url = ws_url("poloniex_ws", "/ws/v3/public");
  c.ws_private_url = ws_url("poloniex_ws", "/ws/v3/private");
  c.api_key = "sk-1";
  c.api_secret = "ss-secret-1";
  c.seed = 3;
  c.retry.base = 20ms;
  c.retry.cap = 200ms;
  c.retry.rate_limit_floor = 50ms;
  c.timeout = 3000ms;
  c.stream.ws = fast_ws();
  return c;
}

connectors::binance_config binance_config() {
  connectors::binance_config c;
  c.rest_url = sim().url("binance");
  c.ws_base_url = "ws://127.0.0.1:" + std::to_string(sim().port("binance_ws"));
  c.api_key = "sk-1";
  c.api_secret = "ss-secret-1";
  c.seed = 4;
  c.retry.base = 20ms;
  c.retry.cap = 200ms;
  c.retry.rate_limit_floor = 50ms;
  c.timeout = 3000ms;
  c.stream.ws = fast_ws();
  c.stream.snapshot_retry = 200ms;
  return c;
}

json control(const std::string& method, const std::string& path, const json& body = json::object()) {
  httplib::Client c("127.0.0.1", sim().port("control"));
  auto r = method == "POST" ? c.Post(path, body.dump(), "application/json") : (method == "DELETE" ? c.Delete(path) : c.Get(path));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}
void fault(const json& f) { control("POST", "/sim/faults", f); }
std::int64_t market_now() { return control("GET", "/sim/status")["market_time_ms"].get<std::int64_t>(); }
void step(std::int64_t ms) { control("POST", "/sim/clock", {{"step_ms", ms}}); }

// One recorded bar, read straight from the CSV text.
struct csv_bar {
  decimal open, high, low, close, volume;
};
std::optional<csv_bar> recorded_bar(const std::string& base, std::int64_t open_time) {
  std::ifstream csv(testing::shared_data_dir(POLYTRADE_SOURCE_DIR) + "/freqtrade_marketlab/" + base + "USDT_1h.csv");
  std::string row;
  std::getline(csv, row);  // header: open_time_ms,open_time_utc,open,high,low,close,volume
  const std::string key = std::to_string(open_time) + ",";
  while (std::getline(csv, row)) {
    if (row.rfind(key, 0) != 0) continue;
    std::vector<std::string> f;
    std::stringstream ss(row);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    return csv_bar{decimal::parse(f[2]), decimal::parse(f[3]), decimal::parse(f[4]), decimal::parse(f[5]), decimal::parse(f[6])};
  }
  return std::nullopt;
}

// price -> qty per side, as a client keeps a book from snapshots and updates.
struct local_book {
  std::map<decimal, decimal> bids, asks;
  std::int64_t last_id = 0;
  int snapshots = 0, updates = 0;
  void apply(const venue::order_book& b) {
    if (b.snapshot) {
      bids.clear();
      asks.clear();
      ++snapshots;
    } else {
      ++updates;
    }
    for (const auto& l : b.bids) l.qty.is_zero() ? void(bids.erase(l.price)) : void(bids[l.price] = l.qty);
    for (const auto& l : b.asks) l.qty.is_zero() ? void(asks.erase(l.price)) : void(asks[l.price] = l.qty);
    last_id = b.update_id;
  }
  [[nodiscard]] bool same_levels(const venue::order_book& rest) const {
    local_book r;
    r.apply(rest);
    return r.bids == bids && r.asks == asks;
  }
};

// Everything the streams deliver, for the test thread to wait on.
struct recorder {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, bool>> conn;
  std::vector<std::string> resyncs, errors;
  std::vector<venue::venue_status> statuses;
  std::vector<std::pair<venue::candle, std::string>> candles;
  std::vector<venue::mark_price> marks;
  std::vector<venue::funding_rate> fundings;
  std::vector<venue::ticker> tickers;
  std::vector<venue::order> orders;
  std::vector<venue::fill> fills;
  std::vector<venue::position> positions;
  std::vector<venue::balance> balances;
  std::map<std::string, local_book> books;
  int book_events = 0;
  std::int64_t trades = 0;

  template <class F>
  void with(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
  template <class P>
  bool wait(P pred, std::chrono::milliseconds timeout = 8000ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
  // The on_connection history of one stream, e.g. {true, false, true}. Caller holds mu.
  [[nodiscard]] std::vector<bool> history(const std::string& stream) const {
    std::vector<bool> out;
    for (const auto& [s, c] : conn)
      if (s == stream) out.push_back(c);
    return out;
  }
  [[nodiscard]] bool up(const std::string& stream) const {
    const auto h = history(stream);
    return !h.empty() && h.back();
  }
  // Waits until no book event came for `quiet`.
  void settle_books(std::chrono::milliseconds quiet = 600ms) {
    for (int i = 0; i < 40; ++i) {
      int before = 0;
      with([&] { before = book_events; });
      std::this_thread::sleep_for(quiet);
      int after = 0;
      with([&] { after = book_events; });
      if (after == before) return;
    }
  }

  venue::stream_events events() {
    venue::stream_events e;
    e.on_connection = [this](const std::string& s, bool c) { with([&] { conn.emplace_back(s, c); }); };
    e.on_book_resync = [this](const std::string& s) { with([&] { resyncs.push_back(s); }); };
    e.on_status = [this](const venue::venue_status& s) { with([&] { statuses.push_back(s); }); };
    e.on_error = [this](const std::string& w) { with([&] { errors.push_back(w); }); };
    return e;
  }
  venue::public_handlers pub() {
    venue::public_handlers h;
    h.on_candle = [this](const venue::candle& c, const std::string& s) { with([&] { candles.emplace_back(c, s); }); };
    h.on_book = [this](const venue::order_book& b) {
      with([&] {
        books[b.symbol].apply(b);
        ++book_events;
      });
    };
    h.on_trade = [this](const venue::public_trade&) { with([&] { ++trades; }); };
    h.on_ticker = [this](const venue::ticker& t) { with([&] { tickers.push_back(t); }); };
    h.on_mark_price = [this](const venue::mark_price& m) { with([&] { marks.push_back(m); }); };
    h.on_funding = [this](const venue::funding_rate& f) { with([&] { fundings.push_back(f); }); };
    return h;
  }
  venue::private_handlers priv() {
    venue::private_handlers h;
    h.on_order = [this](const venue::order& o) { with([&] { orders.push_back(o); }); };
    h.on_fill = [this](const venue::fill& f) { with([&] { fills.push_back(f); }); };
    h.on_position = [this](const venue::position& p) { with([&] { positions.push_back(p); }); };
    h.on_balance = [this](const venue::balance& b) { with([&] { balances.push_back(b); }); };
    return h;
  }
};

venue::order_request order(const std::string& symbol, const std::string& cid, venue::side s, venue::order_type t,
                           const char* qty, const char* px = nullptr) {
  venue::order_request r;
  r.symbol = symbol;
  r.client_id = cid;
  r.s = s;
  r.type = t;
  r.qty = decimal::parse(qty);
  if (px) r.price = decimal::parse(px);
  return r;
}

// ---- a scripted WebSocket server on a plain socket -----------------------------------------------------

std::string accept_key(const std::string& key) {
  const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 section 1.3
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), md, &n, EVP_sha1(), nullptr);
  unsigned char out[64];
  const int len = EVP_EncodeBlock(out, md, static_cast<int>(n));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
}

// A self-signed certificate (its own CA) for `san`, e.g. "IP:127.0.0.1", and a server TLS context
// using it; the PEM goes to a file for the client's ca_file.
struct test_tls {
  SSL_CTX* server = nullptr;
  std::string ca_file;
  explicit test_tls(const std::string& san) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("polytrade test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, {NID_basic_constraints, std::string("critical,CA:TRUE")}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, key, EVP_sha256());
    server = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(server, x);
    SSL_CTX_use_PrivateKey(server, key);
    ca_file = (std::filesystem::temp_directory_path() / ("pt-ws-ca-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem"))
                  .string();
    FILE* f = std::fopen(ca_file.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
  }
  ~test_tls() {
    SSL_CTX_free(server);
    std::filesystem::remove(ca_file);
  }
  test_tls(const test_tls&) = delete;
  test_tls& operator=(const test_tls&) = delete;
};

class peer {
 public:
  struct frame {
    int op = 0;
    std::string payload;
  };
  explicit peer(int fd, SSL_CTX* tls = nullptr) : fd_(fd) {
    if (tls != nullptr) {
      ssl_ = SSL_new(tls);
      SSL_set_fd(ssl_, fd_);
    }
  }
  ~peer() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  bool handshake() {
    if (ssl_ != nullptr && SSL_accept(ssl_) != 1) return false;  // the client refused us, or we it
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!fill(deadline)) return false;
    const auto end = buf_.find("\r\n\r\n");
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    path = head.substr(4, head.find(' ', 4) - 4);
    std::string lowered = head;
    for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto k = lowered.find("sec-websocket-key:");
    if (k == std::string::npos) return false;
    auto v = head.substr(k + 18, head.find("\r\n", k) - k - 18);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                 accept_key(v) + "\r\n\r\n");
  }
  bool send_text(std::string_view text) { return send_frame(0x1, text); }
  bool send_frame(int op, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | op));
    const std::size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xff));
    } else {
      f.push_back(static_cast<char>(127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    f.append(payload);
    return write(f);
  }
  // The next frame from the client (unmasked), or nullopt on timeout or close.
  std::optional<frame> recv(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = parse()) {
        if (f->op == 0x8) return std::nullopt;
        return f;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }
  // The next text message, answering pings on the way.
  std::optional<std::string> recv_text(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto f = recv(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
      if (f->op == 0x9) {
        ++pings;
        send_frame(0xA, f->payload);
        continue;
      }
      if (f->op == 0x1) return f->payload;
    }
    return std::nullopt;
  }
  bool closed = false;
  int pings = 0;
  std::string path;

 private:
  bool write(std::string_view d) {
    while (!d.empty()) {
      const auto n = ssl_ != nullptr ? SSL_write(ssl_, d.data(), static_cast<int>(d.size()))
                                     : ::send(fd_, d.data(), d.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      d.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || closed) return false;
    pollfd p{fd_, POLLIN, 0};
    if ((ssl_ == nullptr || SSL_pending(ssl_) == 0) && ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char tmp[65536];
    const auto n = ssl_ != nullptr ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  std::optional<frame> parse() {
    if (buf_.size() < 2) return std::nullopt;
    const auto b0 = static_cast<unsigned char>(buf_[0]), b1 = static_cast<unsigned char>(buf_[1]);
    std::size_t len = b1 & 0x7f, off = 2;
    if (len == 126) {
      if (buf_.size() < 4) return std::nullopt;
      len = (static_cast<std::size_t>(static_cast<unsigned char>(buf_[2])) << 8) | static_cast<unsigned char>(buf_[3]);
      off = 4;
    } else if (len == 127) {
      if (buf_.size() < 10) return std::nullopt;
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[i]);
      off = 10;
    }
    const bool masked = (b1 & 0x80) != 0;
    if (buf_.size() < off + (masked ? 4 : 0) + len) return std::nullopt;
    std::string payload = buf_.substr(off + (masked ? 4 : 0), len);
    if (masked)
      for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ buf_[off + i % 4]);
    buf_.erase(0, off + (masked ? 4 : 0) + len);
    return frame{b0 & 0x0f, std::move(payload)};
  }
  int fd_;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// Accepts connections one after the other and runs `script` on each (its index counts from 0).
class script_server {
 public:
  using script = std::function<void(peer&, int index)>;
  explicit script_server(script s, SSL_CTX* tls = nullptr) : script_(std::move(s)), tls_(tls) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~script_server() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  [[nodiscard]] std::string url(const std::string& path = "/") const { return "ws://127.0.0.1:" + std::to_string(port_) + path; }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  std::atomic<bool> stop_{false};

 private:
  void loop() {
    int index = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++accepted_;
      {
        peer pr(c, tls_);
        if (pr.handshake()) script_(pr, index++);
      }
      ::close(c);
    }
  }
  script script_;
  SSL_CTX* tls_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> accepted_{0};
};

}  // namespace

// ==== the generic client against the scripted server ===================================================

TEST_CASE("ws client: URLs parse into host, port and path, anything else is refused") {
  const auto a = connectors::ws_url::parse("wss://fstream.binance.com/market/stream?streams=btcusdt@kline_1m");
  CHECK(a.tls);
  CHECK(a.host == "fstream.binance.com");
  CHECK(a.port == 443);
  CHECK(a.path == "/market/stream?streams=btcusdt@kline_1m");
  const auto b = connectors::ws_url::parse("ws://127.0.0.1:8080");
  CHECK_FALSE(b.tls);
  CHECK(b.port == 8080);
  CHECK(b.path == "/");
  CHECK(connectors::ws_url::parse("WS://[::1]:9/x").host == "::1");
  CHECK_THROWS_AS(connectors::ws_url::parse("https://x/"), std::invalid_argument);
  CHECK_THROWS_AS(connectors::ws_url::parse("ws://:80/"), std::invalid_argument);
  CHECK_THROWS_AS(connectors::ws_url::parse("ws://h:99999/"), std::invalid_argument);
  CHECK_THROWS_AS(connectors::ws_url::parse("ws://user@h/"), std::invalid_argument);
  CHECK_THROWS_AS(connectors::ws_url::parse("no scheme"), std::invalid_argument);
}

TEST_CASE("ws client: resubscribes on every connect, pings, and reconnects after the server hangs up") {
  std::mutex mu;
  std::vector<std::string> server_saw;  // what each connection's first text message was
  std::atomic<int> pings_seen{0};
  script_server server([&](peer& p, int index) {
    const auto first = p.recv_text(2000ms);
    {
      std::lock_guard lock(mu);
      server_saw.push_back(first.value_or("<none>"));
    }
    p.send_text("hello " + std::to_string(index));
    if (index == 0) return;  // hang up at once: the client must come back
    while (!server.stop_ && !p.closed) {
      p.recv_text(100ms);
      pings_seen = p.pings;
    }
  });
  std::atomic<int> opens{0}, closes{0};
  std::vector<std::string> got;
  connectors::ws_options o;
  o.ping_interval = 200ms;
  o.stale_timeout = 5000ms;
  o.backoff_base = 100ms;
  o.backoff_cap = 400ms;
  o.seed = 1;
  connectors::ws_client* self = nullptr;
  connectors::ws_client::callbacks cb;
  cb.url = [&] { return server.url("/feed?x=1"); };
  cb.on_open = [&] {
    ++opens;
    self->send("subscribe #" + std::to_string(opens.load()));
  };
  cb.on_message = [&](std::string_view t) {
    std::lock_guard lock(mu);
    got.emplace_back(t);
  };
  cb.on_close = [&](bool was_open, const std::string&) {
    if (was_open) ++closes;
  };
  connectors::ws_client client("test", o, cb);
  self = &client;
  const auto t0 = std::chrono::steady_clock::now();
  client.start();
  for (int i = 0; i < 100 && (opens < 2 || pings_seen < 2); ++i) std::this_thread::sleep_for(50ms);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(opens == 2);
  CHECK(closes == 1);
  CHECK(pings_seen >= 2);  // WebSocket ping frames every 200 ms
  // The retry waited at least half the base delay (jitter never goes below it).
  CHECK(elapsed >= 50ms);
  {
    std::lock_guard lock(mu);
    CHECK(server_saw == std::vector<std::string>{"subscribe #1", "subscribe #2"});
    CHECK(got == std::vector<std::string>{"hello 0", "hello 1"});
  }
  const auto st = client.counters();
  CHECK(st.connects == 2);
  CHECK(st.drops == 1);
  CHECK(st.messages_in == 2);
  CHECK(st.pings_out >= 2);
  client.stop();
  CHECK(closes == 2);  // stop() closes the open connection and says so
  CHECK_FALSE(client.is_open());
  server.stop_ = true;
}

TEST_CASE("ws client: a silent connection is killed after the stale timeout, failed attempts back off") {
  script_server silent([](peer& p, int) {
    while (!p.closed && p.recv(100ms)) {
    }
    // Reads until the client goes; never writes.
    while (!p.closed) p.recv(100ms);
  });
  connectors::ws_options o;
  o.ping_interval = 0ms;
  o.stale_timeout = 300ms;
  o.backoff_base = 50ms;
  o.backoff_cap = 100ms;
  connectors::ws_client::callbacks cb;
  cb.url = [&] { return silent.url(); };
  connectors::ws_client client("silent", o, cb);
  client.start();
  std::this_thread::sleep_for(1600ms);
  const auto st = client.counters();
  client.stop();
  CHECK(st.stale_kills >= 3);  // about one per 300 ms + reconnect
  CHECK(st.connects >= 3);
  silent.stop_ = true;

  // Nothing listens here: attempts fail and the waits double (50, 100, 200, 400 ms...).
  int closed_port = 0;
  {
    script_server gone([](peer&, int) {});
    closed_port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  connectors::ws_options b;
  b.backoff_base = 50ms;
  b.backoff_cap = 10000ms;
  std::atomic<int> failures{0}, url_calls{0};
  connectors::ws_client::callbacks fcb;
  fcb.url = [&] {
    if (++url_calls == 2) throw std::runtime_error("no key today");  // counts as a failed attempt
    return "ws://127.0.0.1:" + std::to_string(closed_port) + "/";
  };
  fcb.on_close = [&](bool was_open, const std::string&) {
    if (!was_open) ++failures;
  };
  connectors::ws_client refused("refused", b, fcb);
  refused.start();
  std::this_thread::sleep_for(1500ms);
  refused.stop();
  // Without backoff this would be dozens; with it: 0, ~50, ~100, ~200, ~400, ~800 ms.
  CHECK(failures >= 3);
  CHECK(failures <= 7);
  CHECK(refused.counters().connects == 0);
}

TEST_CASE("ws client: wss verifies the server certificate and its name against the CA file") {
  std::signal(SIGPIPE, SIG_IGN);  // the TLS server writes with write(), not send(MSG_NOSIGNAL)
  test_tls good("IP:127.0.0.1");
  test_tls misnamed("DNS:example.invalid");
  auto echo = [](peer& p, int) {
    while (auto t = p.recv_text(2000ms)) p.send_text("echo " + *t);
  };
  script_server server(echo, good.server);
  script_server wrong_name(echo, misnamed.server);
  struct outcome {
    std::vector<std::string> got;
    std::string why;
    connectors::ws_client::stats st;
  };
  auto run = [](const std::string& url, const std::string& ca) {
    auto out = std::make_shared<outcome>();
    auto mu = std::make_shared<std::mutex>();
    connectors::ws_options o;
    o.ca_file = ca;
    o.backoff_base = 200ms;
    o.backoff_cap = 200ms;
    connectors::ws_client* self = nullptr;
    connectors::ws_client::callbacks cb;
    cb.url = [url] { return url; };
    cb.on_open = [&self] { self->send("over tls"); };
    cb.on_message = [out, mu](std::string_view t) {
      std::lock_guard lock(*mu);
      out->got.emplace_back(t);
    };
    cb.on_close = [out, mu](bool, const std::string& why) {
      std::lock_guard lock(*mu);
      if (out->why.empty()) out->why = why;
    };
    connectors::ws_client c("tls", o, cb);
    self = &c;
    c.start();
    for (int i = 0; i < 40; ++i) {
      {
        std::lock_guard lock(*mu);
        if (!out->got.empty() || !out->why.empty()) break;
      }
      std::this_thread::sleep_for(50ms);
    }
    c.stop();
    out->st = c.counters();
    return out;
  };
  const auto ok = run(server.url("/").replace(0, 2, "wss"), good.ca_file);
  CHECK(ok->got == std::vector<std::string>{"echo over tls"});
  CHECK(ok->st.connects == 1);
  // The system store does not know our CA; the other server's certificate names another host.
  const auto untrusted = run(server.url("/").replace(0, 2, "wss"), "");
  CHECK(untrusted->st.connects == 0);
  CHECK(untrusted->st.failed_attempts >= 1);
  const auto misnamed_out = run(wrong_name.url("/").replace(0, 2, "wss"), misnamed.ca_file);
  CHECK(misnamed_out->st.connects == 0);
  CHECK(misnamed_out->st.failed_attempts >= 1);
  CHECK_THROWS_AS(connectors::ws_client("x", [] {
                    connectors::ws_options o;
                    o.ca_file = "/nonexistent/ca.pem";
                    return o;
                  }(), {}).start(),
                  std::runtime_error);
  server.stop_ = true;
  wrong_name.stop_ = true;
}

TEST_CASE("streams poloniex: a malformed frame is reported and the stream goes on, PAUSED is a status") {
  // A hand-made Poloniex public socket: acks, pong, then a broken frame, a good push and a
  // symbol snapshot with the instrument paused.
  script_server server([](peer& p, int index) {
    if (index > 0) {
      while (!p.closed) p.recv(100ms);
      return;
    }
    for (;;) {
      const auto t = p.recv_text(3000ms);
      if (!t) return;
      const auto j = json::parse(*t);
      if (j["event"] == "subscribe") {
        p.send_text(json{{"event", "subscribe"}, {"channel", j["channel"][0]}, {"symbols", j["symbols"]}}.dump());
      } else if (j["event"] == "ping") {
        p.send_text(R"({"event":"pong"})");
        break;
      }
    }
    p.send_text("{not json");
    p.send_text(R"({"channel":"mark_price","data":[{"ts":1700000000123,"s":"BTC_USDT_PERP","mPx":"oops"}]})");
    p.send_text(R"({"channel":"mark_price","data":[{"ts":1700000000456,"s":"BTC_USDT_PERP","mPx":"123.45"}]})");
    venue::instrument i;
    i.symbol = "BTC_USDT_PERP";
    i.base = "BTC";
    i.quote = i.settle = "USDT";
    i.contract_size = decimal::parse("0.001");
    i.tick = decimal::parse("0.01");
    i.lot = i.min_qty = decimal::one();
    i.max_leverage = 75;
    i.status = venue::instrument_status::paused;
    p.send_text(venue::poloniex::render_ws_push("symbol", json::array({venue::poloniex::render_instrument(i, venue::poloniex::flavor::ws)}),
                                                "snapshot")
                    .dump());
    while (!p.closed) p.recv(100ms);
  });
  connectors::poloniex_config c;
  c.rest_url = "http://127.0.0.1:1";  // never called here
  c.ws_public_url = server.url("/ws/v3/public");
  c.stream.ws = fast_ws();
  connectors::poloniex_connector v(c);
  recorder r;
  v.set_stream_events(r.events());
  venue::public_subscription sub;
  sub.symbols = {"BTC_USDT_PERP"};
  sub.mark_price = true;
  v.subscribe_public(sub, r.pub());
  REQUIRE(r.wait([&] { return !r.marks.empty() && !r.statuses.empty(); }));
  v.close_streams();
  std::lock_guard lock(r.mu);
  CHECK(r.history("poloniex/public") == std::vector<bool>{true, false});
  REQUIRE(r.errors.size() == 2);  // the broken frame and the bad price; neither stopped the stream
  CHECK(r.errors[0].find("malformed frame") != std::string::npos);
  CHECK(r.errors[1].find("mark_price") != std::string::npos);
  REQUIRE(r.marks.size() == 1);
  CHECK(r.marks[0].mark == decimal::parse("123.45"));
  CHECK(r.marks[0].time == 1700000000456);
  REQUIRE(r.statuses.size() == 1);
  CHECK(r.statuses[0].kind == venue::venue_status_kind::maintenance);
  CHECK(r.statuses[0].symbol == "BTC_USDT_PERP");
  server.stop_ = true;
}

// ==== against venue-sim ===================================================================================

TEST_CASE("streams poloniex public: candles and mark price as recorded, book_lv2 rebuilt equals the REST book") {
  PT_NEED_RECORDED_DATA();
  auto v = connectors::poloniex_connector(polo_config());
  recorder r;
  v.set_stream_events(r.events());
  venue::public_subscription sub;
  sub.symbols = {"BTC_USDT_PERP"};
  sub.candle_intervals = {"1h"};
  sub.book = sub.mark_price = sub.trades = sub.ticker = sub.funding = true;
  v.subscribe_public(sub, r.pub());
  REQUIRE(r.wait([&] { return r.up("poloniex/public") && r.books.count("BTC_USDT_PERP"); }));
  const auto before = market_now();
  step(3600000);
  REQUIRE(r.wait([&] {
    for (const auto& [c, s] : r.candles)
      if (c.open_time == before + 3600000) return !r.marks.empty();
    return false;
  }));
  r.settle_books();
  const auto rest_book = v.book("BTC_USDT_PERP", 20);
  const auto bar = recorded_bar("BTC", before);
  const auto next = recorded_bar("BTC", before + 3600000);
  REQUIRE(bar);
  REQUIRE(next);
  v.close_streams();

  std::lock_guard lock(r.mu);
  CHECK(r.errors.empty());
  // The last push of the bar that ended carries its final figures: the recorded bar.
  std::optional<venue::candle> final_bar;
  for (const auto& [c, s] : r.candles) {
    CHECK(s == "BTC_USDT_PERP");
    if (c.open_time == before) final_bar = c;
  }
  REQUIRE(final_bar);
  CHECK(final_bar->open == bar->open);
  CHECK(final_bar->high == bar->high);
  CHECK(final_bar->low == bar->low);
  CHECK(final_bar->close == bar->close);
  CHECK(final_bar->volume * decimal::parse("0.001") == bar->volume);  // contracts x ctVal (catalog) = base
  // The mark is the walked price: a point of the recorded path (the next bar's open included).
  const std::set<decimal> path{bar->open, bar->high, bar->low, bar->close, next->open};
  for (const auto& m : r.marks) {
    CHECK(m.symbol == "BTC_USDT_PERP");
    CHECK(path.count(m.mark) == 1);
  }
  REQUIRE(!r.tickers.empty());
  CHECK(r.tickers.back().symbol == "BTC_USDT_PERP");
  const auto& book = r.books.at("BTC_USDT_PERP");
  CHECK(book.snapshots == 1);
  CHECK(book.updates >= 3);  // the bar is walked in four points
  CHECK(book.same_levels(rest_book));
  CHECK(r.resyncs.empty());
  CHECK(r.history("poloniex/public") == std::vector<bool>{true, false});
}

TEST_CASE("streams binance public: kline, mark price and funding as recorded, the local depth book equals REST") {
  PT_NEED_RECORDED_DATA();
  auto v = connectors::binance_connector(binance_config());
  recorder r;
  v.set_stream_events(r.events());
  venue::public_subscription sub;
  sub.symbols = {"BTCUSDT"};
  sub.candle_intervals = {"1h"};
  sub.book = sub.mark_price = sub.funding = sub.ticker = sub.trades = true;
  v.subscribe_public(sub, r.pub());
  REQUIRE(r.wait([&] { return r.up("binance/public") && r.up("binance/market") && r.books.count("BTCUSDT"); }));
  const auto before = market_now();
  step(3600000);
  REQUIRE(r.wait([&] {
    for (const auto& [c, s] : r.candles)
      if (c.open_time == before && c.closed) return !r.marks.empty();
    return false;
  }));
  // Pushed until the book's last u is the REST snapshot's lastUpdateId.
  venue::order_book rest_book;
  for (int i = 0; i < 50; ++i) {
    rest_book = v.book("BTCUSDT", 1000);
    bool caught_up = false;
    r.with([&] { caught_up = r.books["BTCUSDT"].last_id == rest_book.update_id; });
    if (caught_up) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto bar = recorded_bar("BTC", before);
  const auto next = recorded_bar("BTC", before + 3600000);
  REQUIRE(bar);
  REQUIRE(next);
  v.close_streams();

  std::lock_guard lock(r.mu);
  CHECK(r.errors.empty());
  std::optional<venue::candle> closed;
  for (const auto& [c, s] : r.candles) {
    CHECK(s == "BTCUSDT");
    if (c.closed) closed = c;
  }
  REQUIRE(closed);  // x = true once, for the bar that ended
  CHECK(closed->open_time == before);
  CHECK(closed->open == bar->open);
  CHECK(closed->high == bar->high);
  CHECK(closed->low == bar->low);
  CHECK(closed->close == bar->close);
  CHECK(closed->volume == bar->volume);  // base asset on Binance
  const std::set<decimal> path{bar->open, bar->high, bar->low, bar->close, next->open};
  REQUIRE(!r.marks.empty());
  for (const auto& m : r.marks) CHECK(path.count(m.mark) == 1);
  REQUIRE(!r.fundings.empty());  // from the mark price stream's r and T
  CHECK(r.fundings.back().symbol == "BTCUSDT");
  CHECK(r.fundings.back().time % (8 * 3600000) == 0);  // a settlement on the 8-hour grid
  REQUIRE(!r.tickers.empty());
  CHECK(r.tickers.back().symbol == "BTCUSDT");
  const auto& book = r.books.at("BTCUSDT");
  CHECK(book.snapshots == 1);
  CHECK(book.updates >= 3);
  CHECK(book.last_id == rest_book.update_id);
  CHECK(book.same_levels(rest_book));
  CHECK(r.resyncs.empty());
}

TEST_CASE("streams poloniex private: a REST order and a fill arrive as order, fill, position and balance events") {
  PT_NEED_RECORDED_DATA();
  auto v = connectors::poloniex_connector(polo_config());
  recorder r;
  v.set_stream_events(r.events());
  v.subscribe_private(r.priv());
  REQUIRE(r.wait([&] { return r.up("poloniex/private"); }));
  const auto resting = v.place_order(order("BTC_USDT_PERP", "st-p-rest", venue::side::buy, venue::order_type::limit, "2", "1000"));
  REQUIRE(r.wait([&] {
    for (const auto& o : r.orders)
      if (o.client_id == "st-p-rest") return true;
    return false;
  }));
  v.place_order(order("BTC_USDT_PERP", "st-p-mkt", venue::side::buy, venue::order_type::market, "1"));
  REQUIRE(r.wait([&] {
    for (const auto& f : r.fills)
      if (f.client_id == "st-p-mkt") return !r.positions.empty() && !r.balances.empty();
    return false;
  }));
  const auto rest_fills = v.fills("BTC_USDT_PERP", std::nullopt);
  v.cancel_order("BTC_USDT_PERP", "st-p-rest");
  REQUIRE(r.wait([&] {
    for (const auto& o : r.orders)
      if (o.client_id == "st-p-rest" && o.state == venue::order_state::cancelled) return true;
    return false;
  }));
  auto close = order("BTC_USDT_PERP", "st-p-close", venue::side::sell, venue::order_type::market, "1");
  close.reduce_only = true;
  v.place_order(close);
  v.close_streams();

  std::lock_guard lock(r.mu);
  CHECK(r.errors.empty());
  const venue::order* first = nullptr;
  for (const auto& o : r.orders)
    if (o.client_id == "st-p-rest" && !first) first = &o;
  REQUIRE(first);
  CHECK(first->order_id == resting.order_id);
  CHECK(first->state == venue::order_state::open);
  CHECK(first->s == venue::side::buy);
  CHECK(first->price == decimal::from_integer(1000));
  CHECK(first->qty == decimal::from_integer(2));
  const venue::fill* fl = nullptr;
  for (const auto& f : r.fills)
    if (f.client_id == "st-p-mkt") fl = &f;
  REQUIRE(fl);
  CHECK(fl->qty == decimal::one());
  CHECK(fl->s == venue::side::buy);
  bool in_rest = false;
  for (const auto& f : rest_fills)
    if (f.trade_id == fl->trade_id) in_rest = f.price == fl->price && f.qty == fl->qty;
  CHECK(in_rest);  // the pushed fill is the one REST lists
  bool long_one = false;
  for (const auto& pos : r.positions) long_one = long_one || (pos.symbol == "BTC_USDT_PERP" && pos.qty == decimal::one());
  CHECK(long_one);
  CHECK(r.balances.back().asset == "USDT");
}

TEST_CASE("streams binance private: listenKey stream gives orders and fills, an expired key is replaced") {
  PT_NEED_RECORDED_DATA();
  auto cfg = binance_config();
  cfg.stream.listen_key_keepalive = 300ms;  // PUTs run during the test
  auto v = connectors::binance_connector(cfg);
  recorder r;
  v.set_stream_events(r.events());
  v.subscribe_private(r.priv());
  REQUIRE(r.wait([&] { return r.up("binance/private"); }));
  v.place_order(order("BTCUSDT", "st-b-mkt", venue::side::buy, venue::order_type::market, "0.01"));
  REQUIRE(r.wait([&] {
    for (const auto& f : r.fills)
      if (f.client_id == "st-b-mkt") return !r.positions.empty() && !r.balances.empty();
    return false;
  }));
  std::this_thread::sleep_for(700ms);  // a couple of keep-alives

  // DELETE ends the key: the venue sends listenKeyExpired and closes; the stream comes back with
  // a key from a new POST and the next order arrives on it.
  {
    httplib::Client c("127.0.0.1", sim().port("binance"));
    auto d = c.Delete("/fapi/v1/listenKey", httplib::Headers{{"X-MBX-APIKEY", "sk-1"}});
    REQUIRE(d);
    REQUIRE(d->status == 200);
  }
  REQUIRE(r.wait([&] { return r.history("binance/private").size() >= 3 && r.up("binance/private"); }));
  v.place_order(order("BTCUSDT", "st-b-lim", venue::side::buy, venue::order_type::limit, "0.01", "1000"));
  REQUIRE(r.wait([&] {
    for (const auto& o : r.orders)
      if (o.client_id == "st-b-lim") return true;
    return false;
  }));
  v.cancel_order("BTCUSDT", "st-b-lim");
  auto close = order("BTCUSDT", "st-b-close", venue::side::sell, venue::order_type::market, "0.01");
  close.reduce_only = true;
  v.place_order(close);
  const auto rest_fills = v.fills("BTCUSDT", std::nullopt);
  v.close_streams();

  std::lock_guard lock(r.mu);
  CHECK(r.history("binance/private") == std::vector<bool>{true, false, true, false});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("listenKey expired") != std::string::npos);
  const venue::fill* fl = nullptr;
  for (const auto& f : r.fills)
    if (f.client_id == "st-b-mkt") fl = &f;
  REQUIRE(fl);
  CHECK(fl->qty == decimal::parse("0.01"));
  CHECK(fl->s == venue::side::buy);
  bool in_rest = false;
  for (const auto& f : rest_fills)
    if (f.trade_id == fl->trade_id) in_rest = f.price == fl->price && f.qty == fl->qty;
  CHECK(in_rest);
  bool long_one = false;
  for (const auto& pos : r.positions) long_one = long_one || (pos.symbol == "BTCUSDT" && pos.qty == decimal::parse("0.01"));
  CHECK(long_one);
  CHECK(r.balances.back().asset == "USDT");
  const venue::order* lim = nullptr;
  for (const auto& o : r.orders)
    if (o.client_id == "st-b-lim" && !lim) lim = &o;
  REQUIRE(lim);
  CHECK(lim->state == venue::order_state::open);
  CHECK(lim->price == decimal::from_integer(1000));
}

TEST_CASE("streams: drop_websockets closes every stream, each reconnects, resubscribes and data flows again") {
  PT_NEED_RECORDED_DATA();
  auto p = connectors::poloniex_connector(polo_config());
  auto b = connectors::binance_connector(binance_config());
  recorder r;
  p.set_stream_events(r.events());
  b.set_stream_events(r.events());
  venue::public_subscription ps;
  ps.symbols = {"ETH_USDT_PERP"};
  ps.mark_price = true;
  p.subscribe_public(ps, r.pub());
  p.subscribe_private(r.priv());
  venue::public_subscription bs;
  bs.symbols = {"ETHUSDT"};
  bs.mark_price = true;
  b.subscribe_public(bs, r.pub());
  const std::vector<std::string> streams{"poloniex/public", "poloniex/private", "binance/market"};
  REQUIRE(r.wait([&] {
    for (const auto& s : streams)
      if (!r.up(s)) return false;
    return true;
  }));
  // Closes all, and the first new connection is refused too.
  fault({{"kind", "drop_websockets"}, {"count", 1}});
  REQUIRE(r.wait(
      [&] {
        for (const auto& s : streams)
          if (r.history(s) != std::vector<bool>{true, false, true}) return false;
        return true;
      },
      10000ms));
  r.with([&] { r.marks.clear(); });
  step(3600000);
  REQUIRE(r.wait([&] {
    bool polo = false, bin = false;
    for (const auto& m : r.marks) {
      polo = polo || m.symbol == "ETH_USDT_PERP";
      bin = bin || m.symbol == "ETHUSDT";
    }
    return polo && bin;
  }));
  // The private stream logged in again and subscribed: an order shows up.
  p.place_order(order("ETH_USDT_PERP", "st-drop-1", venue::side::buy, venue::order_type::limit, "1", "100"));
  REQUIRE(r.wait([&] {
    for (const auto& o : r.orders)
      if (o.client_id == "st-drop-1") return true;
    return false;
  }));
  p.cancel_order("ETH_USDT_PERP", "st-drop-1");
  p.close_streams();
  b.close_streams();
  std::lock_guard lock(r.mu);
  CHECK(r.errors.empty());
}

TEST_CASE("streams: book_gap is detected on both venues, the book is resynced over REST and stays consistent") {
  PT_NEED_RECORDED_DATA();
  auto p = connectors::poloniex_connector(polo_config());
  auto b = connectors::binance_connector(binance_config());
  recorder r;
  p.set_stream_events(r.events());
  b.set_stream_events(r.events());
  venue::public_subscription ps;
  ps.symbols = {"ETH_USDT_PERP"};
  ps.book = true;
  p.subscribe_public(ps, r.pub());
  REQUIRE(r.wait([&] { return r.up("poloniex/public") && r.books.count("ETH_USDT_PERP"); }));
  fault({{"kind", "book_gap"}, {"count", 1}});
  step(3600000);
  REQUIRE(r.wait([&] { return !r.resyncs.empty(); }));
  step(3600000);  // updates continue from the fresh snapshot
  r.settle_books();
  const auto polo_rest = p.book("ETH_USDT_PERP", 20);
  p.close_streams();
  {
    std::lock_guard lock(r.mu);
    CHECK(r.resyncs == std::vector<std::string>{"ETH_USDT_PERP"});
    const auto& book = r.books.at("ETH_USDT_PERP");
    CHECK(book.snapshots == 3);  // subscribe, REST after the gap, the resubscription's
    CHECK(book.same_levels(polo_rest));
    r.resyncs.clear();
  }

  venue::public_subscription bs;
  bs.symbols = {"ETHUSDT"};
  bs.book = true;
  b.subscribe_public(bs, r.pub());
  REQUIRE(r.wait([&] { return r.up("binance/public") && r.books.count("ETHUSDT"); }));
  step(3600000);  // past the first event after the snapshot: the gap below breaks the pu chain
  REQUIRE(r.wait([&] { return r.books["ETHUSDT"].updates >= 2; }));
  fault({{"kind", "book_gap"}, {"count", 1}});
  step(3600000);
  REQUIRE(r.wait([&] { return !r.resyncs.empty(); }));
  step(3600000);
  venue::order_book bin_rest;
  for (int i = 0; i < 50; ++i) {
    bin_rest = b.book("ETHUSDT", 1000);
    bool caught_up = false;
    r.with([&] { caught_up = r.books["ETHUSDT"].last_id == bin_rest.update_id; });
    if (caught_up) break;
    std::this_thread::sleep_for(100ms);
  }
  b.close_streams();
  std::lock_guard lock(r.mu);
  CHECK(r.resyncs == std::vector<std::string>{"ETHUSDT"});
  const auto& book = r.books.at("ETHUSDT");
  CHECK(book.snapshots == 2);  // at subscribe, after the gap
  CHECK(book.last_id == bin_rest.update_id);
  CHECK(book.same_levels(bin_rest));
  CHECK(r.errors.empty());
}

TEST_CASE("streams: a stream silent past its stale timeout is reconnected (lockstep, no steps, no pings)") {
  PT_NEED_RECORDED_DATA();
  auto pc = polo_config();
  pc.stream.ws.ping_interval = 0ms;
  pc.stream.ws.stale_timeout = 700ms;
  auto bc = binance_config();
  bc.stream.ws.ping_interval = 0ms;
  bc.stream.ws.stale_timeout = 700ms;
  auto p = connectors::poloniex_connector(pc);
  auto b = connectors::binance_connector(bc);
  recorder r;
  p.set_stream_events(r.events());
  b.set_stream_events(r.events());
  venue::public_subscription ps;
  ps.symbols = {"BTC_USDT_PERP"};
  ps.mark_price = true;
  p.subscribe_public(ps, r.pub());
  venue::public_subscription bs;
  bs.symbols = {"BTCUSDT"};
  bs.mark_price = true;
  b.subscribe_public(bs, r.pub());
  REQUIRE(r.wait([&] { return r.history("poloniex/public").size() >= 5 && r.history("binance/market").size() >= 5; }, 10000ms));
  p.close_streams();
  b.close_streams();
  std::lock_guard lock(r.mu);
  for (const char* s : {"poloniex/public", "binance/market"}) {
    const auto h = r.history(s);
    for (std::size_t i = 0; i < h.size(); ++i) CHECK(h[i] == (i % 2 == 0));  // up, down, up, down...
  }
}

TEST_CASE("streams binance: a 503 on the depth snapshot is maintenance, the snapshot is retried and normal follows") {
  PT_NEED_RECORDED_DATA();
  auto b = connectors::binance_connector(binance_config());
  recorder r;
  b.set_stream_events(r.events());
  fault({{"kind", "maintenance"}, {"duration_ms", 1500}});
  venue::public_subscription bs;
  bs.symbols = {"BTCUSDT"};
  bs.book = true;
  b.subscribe_public(bs, r.pub());
  REQUIRE(r.wait([&] { return r.books.count("BTCUSDT") > 0; }, 15000ms));
  b.close_streams();
  control("DELETE", "/sim/faults");
  std::lock_guard lock(r.mu);
  REQUIRE(r.statuses.size() == 2);
  CHECK(r.statuses[0].kind == venue::venue_status_kind::maintenance);
  CHECK(r.statuses[1].kind == venue::venue_status_kind::normal);
  CHECK(r.books.at("BTCUSDT").snapshots == 1);
  CHECK(!r.errors.empty());  // each failed snapshot is reported
  CHECK(r.resyncs.empty());
}

// ==== throughput (hidden: run with connector_tests "[.bench]") ==========================================

TEST_CASE("streams bench: Poloniex pushes parsed and dispatched per second over loopback", "[.bench]") {
  constexpr int frames = 200000;
  script_server server([](peer& p, int) {
    for (;;) {
      const auto t = p.recv_text(3000ms);
      if (!t) return;
      if (t->find("ping") != std::string::npos) break;
    }
    p.send_text(R"({"event":"pong"})");
    for (int i = 0; i < frames; ++i)
      p.send_text(R"({"channel":"mark_price","data":[{"ts":)" + std::to_string(1700000000000 + i) +
                  R"(,"s":"BTC_USDT_PERP","mPx":"64123.45"}]})");
    while (!p.closed) p.recv(100ms);
  });
  connectors::poloniex_config c;
  c.rest_url = "http://127.0.0.1:1";
  c.ws_public_url = server.url("/ws/v3/public");
  c.stream.ws = fast_ws();
  connectors::poloniex_connector v(c);
  std::atomic<int> n{0};
  std::chrono::steady_clock::time_point t0, t1;
  venue::public_subscription sub;
  sub.symbols = {"BTC_USDT_PERP"};
  sub.mark_price = true;
  venue::public_handlers h;
  h.on_mark_price = [&](const venue::mark_price&) {
    if (n.fetch_add(1) == 0) t0 = std::chrono::steady_clock::now();
    if (n.load() == frames) t1 = std::chrono::steady_clock::now();
  };
  v.subscribe_public(sub, h);
  for (int i = 0; i < 600 && n.load() < frames; ++i) std::this_thread::sleep_for(50ms);
  v.close_streams();
  REQUIRE(n.load() == frames);
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  WARN("poloniex mark_price frames/s through ws_client + codec + dispatch: " << static_cast<long long>(frames / secs));
  server.stop_ = true;
}
