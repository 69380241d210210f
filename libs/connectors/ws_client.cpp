#include "ws_client.hpp"

#include "core/log.hpp"

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <utility>

namespace pt::connectors {

namespace {

constexpr lws_usec_t tick_us = 50 * 1000;

// lws logs errors and warnings into our JSON log (lws is chatty below that). Process-wide.
void lws_log_sink(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (level & LLL_ERR) pt::log::warn("ws client: lws error", {{"line", text}});
  else pt::log::debug("ws client: lws", {{"line", text}});
}

int callback_trampoline(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  lws_context* ctx = wsi ? lws_get_context(wsi) : nullptr;
  auto* self = ctx ? static_cast<ws_client*>(lws_context_user(ctx)) : nullptr;
  if (self == nullptr) return lws_callback_http_dummy(wsi, reason, user, in, len);
  return self->on_callback(wsi, static_cast<int>(reason), user, in, len);
}

constexpr const char* protocol_name = "polytrade-ws-client";
const lws_protocols protocols[] = {
    {protocol_name, callback_trampoline, 0, 65536, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

// Client TLS contexts, one per CA source for the whole process: they verify the peer (lws checks
// the host name per connection). Shared and never freed, because lws 4.1 leaks the one it builds
// itself whenever two lws contexts are alive at once (and would load the CA store per stream).
SSL_CTX* shared_client_tls(const std::string& ca_file) {
  static std::mutex mu;
  static auto* const by_ca = new std::map<std::string, SSL_CTX*>;  // outlives every static destructor
  std::lock_guard lock(mu);
  if (auto it = by_ca->find(ca_file); it != by_ca->end()) return it->second;
  SSL_CTX* c = SSL_CTX_new(TLS_client_method());
  if (c == nullptr) throw std::runtime_error("ws client: cannot create a TLS context");
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(c)
                                     : SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    SSL_CTX_free(c);
    throw std::runtime_error("ws client: cannot load the CA certificates" + (ca_file.empty() ? "" : " from " + ca_file));
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  by_ca->emplace(ca_file, c);
  return c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

// ---- URL ---------------------------------------------------------------------------------------------

ws_url ws_url::parse(std::string_view url) {
  ws_url u;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) throw std::invalid_argument("ws url: no scheme");
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme == "wss") u.tls = true;
  else if (scheme != "ws") throw std::invalid_argument("ws url: scheme must be ws or wss");
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.path.empty() && u.path[0] == '?') u.path.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    throw std::invalid_argument("ws url: bad host");
  u.port = u.tls ? 443 : 80;
  if (authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("ws url: bad IPv6 host");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') throw std::invalid_argument("ws url: bad host");
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {  // ":port"
    const std::string_view digits = authority.substr(1);
    if (digits.empty() || digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw std::invalid_argument("ws url: bad port");
    u.port = std::stoi(std::string(digits));
    if (u.port <= 0 || u.port > 65535) throw std::invalid_argument("ws url: bad port");
  }
  if (u.host.empty()) throw std::invalid_argument("ws url: bad host");
  return u;
}

// ---- client ------------------------------------------------------------------------------------------

struct ws_client::tick_timer {
  lws_sorted_usec_list_t sul;  // first member: the callback gets its address
  ws_client* self = nullptr;
};

void ws_client::on_timer(lws_sorted_usec_list_t* sul) { reinterpret_cast<tick_timer*>(sul)->self->tick(); }

ws_client::ws_client(std::string name, ws_options options, callbacks cb)
    : name_(std::move(name)), options_(options), cb_(std::move(cb)), timer_(std::make_unique<tick_timer>()) {
  std::memset(&timer_->sul, 0, sizeof timer_->sul);
  timer_->self = this;
  const std::uint64_t seed = options_.seed != 0 ? options_.seed
                                                : static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
  rng_.seed(seed);
}

ws_client::~ws_client() { stop(); }

void ws_client::start() {
  if (thread_.joinable()) return;
  static std::once_flag log_once;
  std::call_once(log_once, [] { lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_sink); });
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.user = this;
  info.gid = static_cast<gid_t>(-1);
  info.uid = static_cast<uid_t>(-1);
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.provided_client_ssl_ctx = shared_client_tls(options_.ca_file);
  info.fd_limit_per_thread = 16;  // one connection; the default sizes tables by ulimit -n
  info.timeout_secs = static_cast<unsigned int>(std::max<std::int64_t>(1, options_.connect_timeout.count()));
  {
    std::lock_guard lock(ctx_mu_);
    ctx_ = lws_create_context(&info);
  }
  if (ctx_ == nullptr) throw std::runtime_error("ws client " + name_ + ": cannot create the libwebsockets context");
  stopping_ = false;
  next_attempt_ = clock::now();
  lws_sul_schedule(ctx_, 0, &timer_->sul, &ws_client::on_timer, 1);
  thread_ = std::thread([this] { run(); });
}

void ws_client::run() {
  thread_id_.store(std::this_thread::get_id());
  while (!stopping_.load()) {
    if (lws_service(ctx_, 0) < 0) {
      pt::log::error("ws client: libwebsockets service failed, the stream stops", {{"stream", name_}});
      break;
    }
  }
  // Destroying the context closes the connection; its CLIENT_CLOSED arrives here, on this thread.
  std::lock_guard lock(ctx_mu_);
  lws_context_destroy(ctx_);
  ctx_ = nullptr;
}

void ws_client::wake() {
  std::lock_guard lock(ctx_mu_);
  if (ctx_ != nullptr) lws_cancel_service(ctx_);
}

void ws_client::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  open_ = false;
}

bool ws_client::send(std::string text) {
  if (!open_.load()) return false;
  {
    std::lock_guard lock(mu_);
    outq_.push_back({std::move(text), false});
  }
  if (on_service_thread()) {
    if (wsi_ != nullptr) lws_callback_on_writable(wsi_);
  } else {
    wake();
  }
  return true;
}

void ws_client::reconnect(std::string why) {
  if (on_service_thread()) {
    kill_current(why);
    return;
  }
  {
    std::lock_guard lock(mu_);
    kill_request_ = std::move(why);
  }
  wake();
}

ws_client::stats ws_client::counters() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::optional<std::string> ws_client::take_kill_request() {
  std::lock_guard lock(mu_);
  return std::exchange(kill_request_, std::nullopt);
}

void ws_client::kill_current(const std::string& why) {
  if (wsi_ == nullptr) return;
  if (pending_close_why_.empty()) pending_close_why_ = why;
  // Asynchronous: a dead peer cannot hold us up with a close handshake.
  lws_set_timeout(wsi_, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void ws_client::schedule_retry() {
  // Exponential backoff with jitter: the n-th consecutive failure waits base*2^n/2 .. base*2^n.
  const auto base = std::max<std::int64_t>(1, options_.backoff_base.count());
  const auto cap = std::max<std::int64_t>(base, options_.backoff_cap.count());
  std::int64_t d = base;
  for (int i = 0; i < failures_ && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  std::uniform_int_distribution<std::int64_t> jitter(d / 2, d);
  next_attempt_ = clock::now() + std::chrono::milliseconds(jitter(rng_));
}

void ws_client::try_connect() {
  std::string url;
  try {
    if (!cb_.url) throw std::runtime_error("no URL");
    url = cb_.url();
    target_ = ws_url::parse(url);
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      ++stats_.failed_attempts;
    }
    ++failures_;
    schedule_retry();
    if (cb_.on_close) cb_.on_close(false, std::string("no URL for the next attempt: ") + e.what());
    return;
  }
  const bool default_port = target_.port == (target_.tls ? 443 : 80);
  host_storage_ = default_port ? target_.host : target_.host + ":" + std::to_string(target_.port);
  url_storage_ = target_.path;
  lws_client_connect_info ci;
  std::memset(&ci, 0, sizeof ci);
  ci.context = ctx_;
  ci.address = target_.host.c_str();
  ci.port = target_.port;
  ci.path = url_storage_.c_str();
  ci.host = host_storage_.c_str();
  ci.origin = target_.host.c_str();
  ci.ssl_connection = target_.tls ? LCCSCF_USE_SSL : 0;
  ci.local_protocol_name = protocol_name;
  if (target_.tls) ci.alpn = "http/1.1";  // a WebSocket upgrade is HTTP/1.1, never h2
  connecting_ = true;
  was_open_ = false;
  pending_close_why_.clear();
  lws* w = lws_client_connect_via_info(&ci);
  if (!connecting_) return;  // failed inside the call (CONNECTION_ERROR already handled it)
  if (w == nullptr) {
    connection_ended(nullptr, "connect failed");
    return;
  }
  wsi_ = w;
}

void ws_client::connection_ended(lws* wsi, const std::string& why_default) {
  if (!connecting_ && !open_.load()) return;          // already handled
  if (wsi != nullptr && wsi_ != nullptr && wsi != wsi_) return;  // an older connection
  const bool was_open = was_open_;
  std::string why = pending_close_why_.empty() ? why_default : pending_close_why_;
  pending_close_why_.clear();
  wsi_ = nullptr;
  connecting_ = false;
  was_open_ = false;
  open_ = false;
  rx_.clear();
  {
    std::lock_guard lock(mu_);
    outq_.clear();
    if (!stopping_.load()) {
      if (was_open) ++stats_.drops;
      else ++stats_.failed_attempts;
    }
  }
  if (was_open && healthy_) failures_ = 0;
  else ++failures_;
  if (!stopping_.load()) schedule_retry();
  if (stopping_.load() && why == why_default) why = "stopped";
  if (cb_.on_close) {
    try {
      cb_.on_close(was_open, why);
    } catch (const std::exception& e) {
      pt::log::error("ws client: on_close failed", {{"stream", name_}, {"error", e.what()}});
    }
  }
}

void ws_client::deliver(std::string_view text) {
  {
    std::lock_guard lock(mu_);
    ++stats_.messages_in;
    stats_.bytes_in += static_cast<std::int64_t>(text.size());
  }
  if (!cb_.on_message) return;
  try {
    cb_.on_message(text);
  } catch (const std::exception& e) {
    pt::log::error("ws client: message handler failed", {{"stream", name_}, {"error", e.what()}});
  }
}

void ws_client::tick() {
  if (stopping_.load()) return;
  const auto now = clock::now();
  if (auto why = take_kill_request()) kill_current(*why);
  if (wsi_ == nullptr && !connecting_ && now >= next_attempt_) try_connect();
  if (open_.load() && wsi_ != nullptr) {
    if (options_.ping_interval.count() > 0 && now - last_ping_ >= options_.ping_interval) {
      last_ping_ = now;
      {
        std::lock_guard lock(mu_);
        outq_.push_back({cb_.ping_text, cb_.ping_text.empty()});
      }
      lws_callback_on_writable(wsi_);
    }
    if (options_.stale_timeout.count() > 0 && now - last_rx_ > options_.stale_timeout) {
      {
        std::lock_guard lock(mu_);
        ++stats_.stale_kills;
      }
      last_rx_ = now;  // one kill per silence
      kill_current("stale: nothing received for " + std::to_string(options_.stale_timeout.count()) + " ms");
    }
  }
  if (cb_.on_tick) {
    try {
      cb_.on_tick();
    } catch (const std::exception& e) {
      pt::log::error("ws client: tick handler failed", {{"stream", name_}, {"error", e.what()}});
    }
  }
  if (!stopping_.load()) lws_sul_schedule(ctx_, 0, &timer_->sul, &ws_client::on_timer, tick_us);
}

int ws_client::on_callback(lws* wsi, int reason_int, void* user, void* in, std::size_t len) {
  const auto reason = static_cast<lws_callback_reasons>(reason_int);
  switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
      if (!connecting_) return -1;
      wsi_ = wsi;
      connecting_ = false;
      was_open_ = true;
      healthy_ = false;
      rx_.clear();
      last_rx_ = last_ping_ = clock::now();
      {
        std::lock_guard lock(mu_);
        outq_.clear();
        ++stats_.connects;
      }
      open_ = true;
      if (cb_.on_open) {
        try {
          cb_.on_open();
        } catch (const std::exception& e) {
          pt::log::error("ws client: on_open failed", {{"stream", name_}, {"error", e.what()}});
        }
      }
      return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE: {
      if (wsi != wsi_) return 0;
      last_rx_ = clock::now();
      if (rx_.size() + len > options_.max_message_bytes) {
        if (pending_close_why_.empty()) pending_close_why_ = "message larger than " + std::to_string(options_.max_message_bytes) + " bytes";
        return -1;
      }
      rx_.append(static_cast<const char*>(in), len);
      if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        std::string msg;
        msg.swap(rx_);
        if (!lws_frame_is_binary(wsi)) deliver(msg);
      }
      return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
      if (wsi == wsi_) last_rx_ = clock::now();
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
      if (wsi != wsi_) return 0;
      out_msg m;
      bool more = false;
      {
        std::lock_guard lock(mu_);
        if (outq_.empty()) return 0;
        m = std::move(outq_.front());
        outq_.pop_front();
        more = !outq_.empty();
        if (m.ping) ++stats_.pings_out;
        else ++stats_.messages_out;
      }
      const std::string payload = m.ping ? std::string("pt") : std::move(m.text);
      std::string buf(LWS_PRE + payload.size(), '\0');
      std::memcpy(buf.data() + LWS_PRE, payload.data(), payload.size());
      const int n = lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, payload.size(),
                              m.ping ? LWS_WRITE_PING : LWS_WRITE_TEXT);
      if (n < static_cast<int>(payload.size())) {
        if (pending_close_why_.empty()) pending_close_why_ = "write failed";
        return -1;
      }
      if (more) lws_callback_on_writable(wsi);
      return 0;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
      if (wsi != wsi_) return 0;
      int code = 0;
      std::string text;
      if (len >= 2) {
        const auto* p = static_cast<const unsigned char*>(in);
        code = (p[0] << 8) | p[1];
        text.assign(reinterpret_cast<const char*>(p) + 2, len - 2);
      }
      if (pending_close_why_.empty())
        pending_close_why_ = "closed by the server (" + std::to_string(code) + (text.empty() ? "" : " " + text) + ")";
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
      std::string why = "connect failed";
      if (in != nullptr && len > 0) why += ": " + std::string(static_cast<const char*>(in), len);
      else if (in != nullptr) why += std::string(": ") + static_cast<const char*>(in);
      if (connecting_ && (wsi_ == nullptr || wsi_ == wsi)) connection_ended(nullptr, why);
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
      if (wsi == wsi_) connection_ended(wsi, "connection closed");
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      // The last word on a connection, whatever path closed it.
      if (wsi != nullptr && wsi == wsi_) connection_ended(wsi, "connection closed");
      return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
      if (auto why = take_kill_request()) kill_current(*why);
      bool pending = false;
      {
        std::lock_guard lock(mu_);
        pending = !outq_.empty();
      }
      if (pending && wsi_ != nullptr && open_.load()) lws_callback_on_writable(wsi_);
      return 0;
    }
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

}  // namespace pt::connectors
