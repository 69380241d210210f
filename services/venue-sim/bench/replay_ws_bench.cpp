// How fast venue-sim pushes a replay to one WebSocket subscriber: the world replays BTC at the
// unthrottled pace while one client reads, over loopback,
//   poloniex: one socket on candles_hour_1 + book_lv2 (BTC_USDT_PERP)
//   binance:  /market/ws/btcusdt@kline_1h and /public/ws/btcusdt@depth@100ms (the 2026 host split
//             puts the two on different entry points, so the subscriber holds two sockets)
// and the clock stops when the data is exhausted and the client has read every frame the server
// wrote. Also the replay alone (no subscriber) for comparison. The client only frames the bytes
// (no JSON parsing), so the figure is the server's cost plus the socket's.
//
// Run: build/<dir>/services/venue-sim/replay_ws_bench [--quick] (figures go to PERFORMANCE.md).
// --quick replays about 200 bars (the ctest smoke run); the default replays the whole recording
// from 30 days in (~8,000 one-hour bars). Needs ../shared/data or $POLYTRADE_DATA.
#include "binance_ws.hpp"
#include "core/log.hpp"
#include "poloniex_ws.hpp"
#include "world.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace pt;
using namespace pt::venue_sim;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

std::string data_dir() {
  const char* env = std::getenv("POLYTRADE_DATA");
  return env && *env ? env : std::string(POLYTRADE_SOURCE_DIR) + "/../shared/data";
}

// A reading-only WebSocket client: upgrade, one subscribe message, then count frames.
class reader {
 public:
  reader(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    write("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!fill(2000)) throw std::runtime_error("no upgrade answer for " + target);
    }
    if (buf_.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("upgrade refused for " + target);
    buf_.erase(0, buf_.find("\r\n\r\n") + 4);
  }
  ~reader() { ::close(fd_); }
  [[nodiscard]] int fd() const { return fd_; }

  void send_text(const std::string& text) {
    std::string f;
    f.push_back(static_cast<char>(0x81));
    if (text.size() < 126) {
      f.push_back(static_cast<char>(0x80 | text.size()));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(text.size() >> 8));
      f.push_back(static_cast<char>(text.size() & 0xff));
    }
    f.append(4, '\0');  // a zero mask: the payload goes as is
    f += text;
    write(f);
  }

  // Reads what is there (waiting up to `ms`); counts whole frames.
  bool pump(int ms) {
    if (!fill(ms)) return false;
    count();
    return true;
  }
  // Waits for a text frame containing `needle` (setup only).
  void expect(const std::string& needle) {
    const auto deadline = steady::now() + 5s;
    while (steady::now() < deadline) {
      if (last_.find(needle) != std::string::npos) return;
      pump(100);
    }
    throw std::runtime_error("no frame with " + needle);
  }

  std::int64_t frames = 0;
  std::int64_t bytes = 0;

 private:
  void write(const std::string& s) {
    if (::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size())) throw std::runtime_error("send");
  }
  bool fill(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char tmp[1 << 16];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) throw std::runtime_error("the server closed the connection after " + std::to_string(frames) + " frames");
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  void count() {
    std::size_t pos = 0;
    while (buf_.size() - pos >= 2) {
      const auto b1 = static_cast<unsigned char>(buf_[pos + 1]);
      std::size_t len = b1 & 0x7f, off = 2;
      if (len == 126) {
        if (buf_.size() - pos < 4) break;
        len = (static_cast<unsigned char>(buf_[pos + 2]) << 8) | static_cast<unsigned char>(buf_[pos + 3]);
        off = 4;
      } else if (len == 127) {
        if (buf_.size() - pos < 10) break;
        len = 0;
        for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[pos + i]);
        off = 10;
      }
      if (buf_.size() - pos < off + len) break;
      ++frames;
      bytes += static_cast<std::int64_t>(len);
      if (frames <= 16) last_.assign(buf_, pos + off, len);  // setup frames only
      pos += off + len;
    }
    buf_.erase(0, pos);
  }

  int fd_ = -1;
  std::string buf_;
  std::string last_;
};

world_options options_for(protocol p, bool quick) {
  world_options o;
  o.data_dir = data_dir();
  o.catalog_dir = std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets";
  o.bases = {"BTC"};
  o.protocols = {p};
  o.pace = replay::pace::unthrottled();
  o.accounts = {{"bench-key", "bench-secret", core::decimal::from_integer(10000)}};
  if (quick) o.start_ms = core::timestamp::parse_iso8601("2025-12-23T00:00:00Z").nanos() / 1'000'000;
  return o;
}

bool exhausted(world& w, protocol p) {
  std::lock_guard lock(w.mutex());
  return !w.venue(p)->replayer->next_event_time().has_value();
}

struct result {
  double seconds = 0;
  double bars = 0;
  std::int64_t frames = 0, bytes = 0;
};

// The replay alone.
result run_bare(protocol p, bool quick) {
  world w(options_for(p, quick));
  const auto start = w.market_now();
  const auto t0 = steady::now();
  w.start();
  while (!exhausted(w, p)) std::this_thread::sleep_for(1ms);
  result r;
  r.seconds = std::chrono::duration<double>(steady::now() - t0).count();
  r.bars = static_cast<double>(w.market_now() - start) / 3.6e6;
  w.stop();
  return r;
}

template <class Server>
result run_ws(protocol p, bool quick) {
  world w(options_for(p, quick));
  Server ws(w);
  ws.start();
  std::vector<std::unique_ptr<reader>> readers;
  if (p == protocol::poloniex) {
    readers.push_back(std::make_unique<reader>(ws.port(), "/ws/v3/public"));
    readers[0]->send_text(R"({"event":"subscribe","channel":["candles_hour_1","book_lv2"],"symbols":["BTC_USDT_PERP"]})");
    readers[0]->expect("snapshot");
  } else {
    readers.push_back(std::make_unique<reader>(ws.port(), "/market/ws/btcusdt@kline_1h"));
    readers.push_back(std::make_unique<reader>(ws.port(), "/public/ws/btcusdt@depth@100ms"));
    for (auto& r : readers) {
      r->send_text(R"({"method":"LIST_SUBSCRIPTIONS","id":1})");
      r->expect("\"id\":1");
    }
  }
  std::int64_t setup_frames = 0, setup_bytes = 0;
  for (auto& r : readers) {
    setup_frames += r->frames;
    setup_bytes += r->bytes;
  }
  // The server counts a frame once lws_write returns, which can be after the client read it.
  while (ws.server().frames_sent() < setup_frames) std::this_thread::sleep_for(1ms);
  const std::int64_t sent_before = ws.server().frames_sent();
  const auto start = w.market_now();
  const auto t0 = steady::now();
  w.start();
  std::vector<pollfd> fds;
  for (auto& r : readers) fds.push_back({r->fd(), POLLIN, 0});
  auto received = [&] {
    std::int64_t n = 0;
    for (auto& r : readers) n += r->frames;
    return n;
  };
  while (true) {
    if (::poll(fds.data(), fds.size(), 50) > 0) {
      for (std::size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents & POLLIN) readers[i]->pump(0);
      continue;
    }
    // Quiet for 50 ms: done once the data is exhausted and every written frame was read.
    if (exhausted(w, p) && received() - setup_frames == ws.server().frames_sent() - sent_before) break;
  }
  result r;
  r.seconds = std::chrono::duration<double>(steady::now() - t0).count() - 0.05;  // the last quiet poll
  r.bars = static_cast<double>(w.market_now() - start) / 3.6e6;
  r.frames = received() - setup_frames;
  for (auto& rd : readers) r.bytes += rd->bytes;
  r.bytes -= setup_bytes;
  w.stop();
  ws.stop();
  return r;
}

void print(const char* what, const result& r) {
  std::printf("%-44s %8.0f bars %7.3f s %10.0f bars/s", what, r.bars, r.seconds, r.bars / r.seconds);
  if (r.frames > 0)
    std::printf(" %10.0f frames/s %7.1f MB/s %6.0f B/frame", static_cast<double>(r.frames) / r.seconds,
                static_cast<double>(r.bytes) / r.seconds / 1e6, static_cast<double>(r.bytes) / static_cast<double>(r.frames));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  log::init("replay_ws_bench", log::level::warn);
  if (!std::filesystem::exists(std::filesystem::path(data_dir()) / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) {
    std::printf("replay_ws_bench: shared data not found under %s, skipped\n", data_dir().c_str());
    return 0;
  }
  try {
    std::printf("replay of BTC (1h bars, 4 path points each), pace unthrottled, one subscriber on loopback\n");
    print("poloniex: replay alone", run_bare(protocol::poloniex, quick));
    const auto pr = run_ws<poloniex_ws>(protocol::poloniex, quick);
    print("poloniex: candles_hour_1 + book_lv2 (1 socket)", pr);
    print("binance: replay alone", run_bare(protocol::binance, quick));
    const auto br = run_ws<binance_ws>(protocol::binance, quick);
    print("binance: kline_1h + depth@100ms (2 sockets)", br);
    if (pr.frames == 0 || br.frames == 0) {
      std::printf("replay_ws_bench: no frame reached the subscriber\n");
      return 1;
    }
  } catch (const std::exception& e) {
    std::printf("replay_ws_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
