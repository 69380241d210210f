#include "ws_server.hpp"

#include "core/log.hpp"

#include <libwebsockets.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

namespace pt::venue_sim {

namespace {

// lws logs go to our JSON log (errors and warnings only; lws is chatty below that).
void lws_log_sink(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (level & LLL_ERR) pt::log::warn("venue-sim: lws error", {{"line", text}});
  else pt::log::debug("venue-sim: lws", {{"line", text}});
}

int callback_trampoline(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  lws_context* ctx = lws_get_context(wsi);
  auto* self = ctx ? static_cast<ws_server*>(lws_context_user(ctx)) : nullptr;
  if (self == nullptr) return lws_callback_http_dummy(wsi, reason, user, in, len);
  return self->on_callback(wsi, static_cast<int>(reason), user, in, len);
}

const lws_protocols protocols[] = {
    {"venue-sim", callback_trampoline, sizeof(conn_id), 4096, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

std::string copy_header(lws* wsi, lws_token_indexes token) {
  const int n = lws_hdr_total_length(wsi, token);
  if (n <= 0) return {};
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  const int got = lws_hdr_copy(wsi, out.data(), n + 1, token);
  if (got < 0) return {};
  out.resize(static_cast<std::size_t>(got));
  return out;
}

// The query arguments: lws keeps each '&'-separated argument as one fragment.
std::string copy_args(lws* wsi) {
  const int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  if (total <= 0) return {};
  std::string out;
  std::string buf(static_cast<std::size_t>(total) + 1, '\0');
  for (int i = 0;; ++i) {
    const int n = lws_hdr_copy_fragment(wsi, buf.data(), total + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) break;
    if (!out.empty()) out += '&';
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

ws_request read_request(lws* wsi) {
  ws_request r;
  r.path = copy_header(wsi, WSI_TOKEN_GET_URI);
  r.query = copy_args(wsi);
  return r;
}

}  // namespace

// ---- ws_request ----------------------------------------------------------------------------------

namespace {
std::optional<std::string> find_arg(const std::string& query, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    const auto amp = query.find('&', pos);
    const std::string_view item(query.data() + pos, (amp == std::string::npos ? query.size() : amp) - pos);
    const auto eq = item.find('=');
    if (item.substr(0, eq) == name) return std::string(eq == std::string_view::npos ? "" : item.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}
}  // namespace

std::string ws_request::arg(std::string_view name) const { return find_arg(query, name).value_or(""); }
bool ws_request::has_arg(std::string_view name) const { return find_arg(query, name).has_value(); }

// ---- frames ----------------------------------------------------------------------------------------

ws_frame::ws_frame(std::string_view text) : pre_(LWS_PRE), size_(text.size()) {
  buf_.resize(pre_ + size_);
  std::memcpy(buf_.data() + pre_, text.data(), size_);
}

std::string_view ws_frame::text() const { return std::string_view(buf_.data() + pre_, size_); }

ws_frame_ptr make_frame(std::string_view text) { return std::make_shared<ws_frame>(text); }

// ---- server ----------------------------------------------------------------------------------------

struct ws_server::tick_timer {
  lws_sorted_usec_list_t sul;  // first member: the callback gets its address
  ws_server* self = nullptr;
};

ws_server::ws_server(ws_server_options options, ws_handler& handler)
    : options_(std::move(options)), handler_(handler), timer_(std::make_unique<tick_timer>()) {
  std::memset(&timer_->sul, 0, sizeof timer_->sul);
  timer_->self = this;
}

ws_server::~ws_server() { stop(); }

void ws_server::start() {
  static std::once_flag log_once;
  std::call_once(log_once, [] { lws_set_log_level(LLL_ERR, lws_log_sink); });
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = options_.port;
  info.iface = options_.bind.c_str();
  info.protocols = protocols;
  info.user = this;
  info.gid = static_cast<gid_t>(-1);
  info.uid = static_cast<uid_t>(-1);
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
  ctx_ = lws_create_context(&info);
  if (ctx_ == nullptr) throw std::runtime_error(options_.name + ": cannot create the WebSocket server");
  lws_vhost* vh = lws_get_vhost_by_name(ctx_, "default");
  port_ = vh ? lws_get_vhost_listen_port(vh) : -1;
  if (port_ <= 0) {
    lws_context_destroy(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error(options_.name + ": cannot listen on " + options_.bind + ":" + std::to_string(options_.port));
  }
  lws_sul_schedule(ctx_, 0, &timer_->sul, &ws_server::tick_trampoline, LWS_US_PER_SEC);
  thread_ = std::thread([this] { run(); });
}

void ws_server::run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (lws_service(ctx_, 0) < 0) break;
  }
}

void ws_server::stop() {
  if (ctx_ == nullptr) return;
  {
    // From here on send() and close() queue nothing and never touch the context.
    std::lock_guard lock(mu_);
    stopping_ = true;
    lws_cancel_service(ctx_);
  }
  if (thread_.joinable()) thread_.join();
  // Destroying the context closes every connection; the handler hears on_close for each.
  lws_context_destroy(ctx_);
  ctx_ = nullptr;
}

// Under mu_, so that stop() cannot destroy the context meanwhile; it only writes an eventfd.
void ws_server::wake_locked() {
  if (!wake_pending_ && ctx_ != nullptr && !stopping_) {
    wake_pending_ = true;
    lws_cancel_service(ctx_);
  }
}

void ws_server::mark_dirty_locked(conn_id id, outbox& o) {
  if (!o.dirty) {
    o.dirty = true;
    dirty_.push_back(id);
  }
  wake_locked();
}

void ws_server::send(conn_id id, std::string_view text) { send(id, make_frame(text)); }

void ws_server::send(conn_id id, const ws_frame_ptr& frame) {
  std::lock_guard lock(mu_);
  auto it = out_.find(id);
  if (it == out_.end() || it->second.close || stopping_) return;
  {
    outbox& o = it->second;
    if (o.bytes + frame->size() > options_.max_queue_bytes) {
      pt::log::warn("venue-sim: WebSocket client too slow, dropped",
                    {{"server", options_.name}, {"conn", id}, {"queued_bytes", o.bytes}});
      o.close = true;
      o.flush = false;
      o.code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
      o.reason = "too slow";
    } else {
      o.q.push_back(frame);
      o.bytes += frame->size();
    }
    mark_dirty_locked(id, o);
  }
}

void ws_server::close(conn_id id, int code, std::string reason, bool flush) {
  std::lock_guard lock(mu_);
  auto it = out_.find(id);
  if (it == out_.end() || it->second.close || stopping_) return;
  it->second.close = true;
  it->second.flush = flush;
  it->second.code = code;
  it->second.reason = std::move(reason);
  mark_dirty_locked(id, it->second);
}

void ws_server::close_all(int code, std::string reason) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  close_all_ = true;
  close_all_code_ = code;
  close_all_reason_ = std::move(reason);
  wake_locked();
}

std::size_t ws_server::connections() const {
  std::lock_guard lock(mu_);
  return out_.size();
}

void ws_server::tick_trampoline(lws_sorted_usec_list_t* sul) {
  auto* t = reinterpret_cast<tick_timer*>(sul);
  t->self->tick();
}

void ws_server::tick() {
  if (options_.idle_timeout.count() > 0) {
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [id, c] : live_)
      if (now - c.last_rx > options_.idle_timeout) close(id, LWS_CLOSE_STATUS_NORMAL, "idle");
  }
  handler_.on_tick();
  std::lock_guard lock(mu_);
  if (!stopping_) lws_sul_schedule(ctx_, 0, &timer_->sul, &ws_server::tick_trampoline, LWS_US_PER_SEC);
}

int ws_server::writeable(lws* wsi, conn_id id) {
  // Several frames per callback while the socket takes them; lws buffers a partial write itself
  // and then reports the pipe choked.
  for (int n = 0; n < 64; ++n) {
    ws_frame_ptr frame;
    bool more = false;
    {
      std::lock_guard lock(mu_);
      auto it = out_.find(id);
      if (it == out_.end()) return -1;
      outbox& o = it->second;
      const bool empty = o.head >= o.q.size();
      if (o.close && (!o.flush || empty)) {
        lws_close_reason(wsi, static_cast<lws_close_status>(o.code),
                         reinterpret_cast<unsigned char*>(o.reason.data()), o.reason.size());
        return -1;
      }
      if (empty) return 0;
      frame = std::move(o.q[o.head++]);
      o.bytes -= frame->size();
      if (o.head == o.q.size()) {
        o.q.clear();
        o.head = 0;
      } else if (o.head > 1024 && o.head * 2 > o.q.size()) {
        o.q.erase(o.q.begin(), o.q.begin() + static_cast<std::ptrdiff_t>(o.head));
        o.head = 0;
      }
      more = o.head < o.q.size() || o.close;
    }
    const int wrote = lws_write(wsi, frame->payload(), frame->size(), LWS_WRITE_TEXT);
    if (wrote < static_cast<int>(frame->size())) return -1;
    ++frames_sent_;
    bytes_sent_ += static_cast<std::int64_t>(frame->size());
    if (!more) return 0;
    if (lws_send_pipe_choked(wsi)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  lws_callback_on_writable(wsi);
  return 0;
}

int ws_server::on_callback(lws* wsi, int reason_int, void* user, void* in, std::size_t len) {
  const auto reason = static_cast<lws_callback_reasons>(reason_int);
  auto* pss = static_cast<conn_id*>(user);
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return 1;
      }
      try {
        return handler_.accept(read_request(wsi)) ? 0 : 1;
      } catch (const std::exception& e) {
        pt::log::warn("venue-sim: WebSocket upgrade refused", {{"server", options_.name}, {"error", e.what()}});
        return 1;
      }
    }
    case LWS_CALLBACK_ESTABLISHED: {
      const conn_id id = next_id_++;
      *pss = id;
      live_conn c;
      c.wsi = wsi;
      c.last_rx = std::chrono::steady_clock::now();
      live_.emplace(id, std::move(c));
      {
        std::lock_guard lock(mu_);
        out_.emplace(id, outbox{});
      }
      handler_.on_open(id, read_request(wsi));
      return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
      if (pss == nullptr || *pss == 0) return -1;
      auto it = live_.find(*pss);
      if (it == live_.end()) return -1;
      live_conn& c = it->second;
      c.last_rx = std::chrono::steady_clock::now();
      if (c.rx.size() + len > options_.max_message_bytes) {
        const char msg[] = "message too big";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         reinterpret_cast<unsigned char*>(const_cast<char*>(msg)), sizeof msg - 1);
        return -1;
      }
      c.rx.append(static_cast<const char*>(in), len);
      if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        std::string msg;
        msg.swap(c.rx);
        if (!lws_frame_is_binary(wsi)) {
          try {
            handler_.on_message(*pss, msg);
          } catch (const std::exception& e) {
            pt::log::error("venue-sim: WebSocket message handler failed",
                           {{"server", options_.name}, {"error", e.what()}});
          }
        }
      }
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
      if (pss == nullptr || *pss == 0) return 0;
      return writeable(wsi, *pss);
    case LWS_CALLBACK_CLOSED: {
      if (pss == nullptr || *pss == 0) return 0;
      const conn_id id = *pss;
      *pss = 0;
      live_.erase(id);
      try {
        handler_.on_close(id);
      } catch (const std::exception& e) {
        pt::log::error("venue-sim: WebSocket close handler failed", {{"server", options_.name}, {"error", e.what()}});
      }
      std::lock_guard lock(mu_);
      out_.erase(id);
      return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
      std::vector<conn_id> ready;
      bool drop_all = false;
      int code = 1001;
      std::string why;
      {
        std::lock_guard lock(mu_);
        wake_pending_ = false;
        ready.swap(dirty_);
        for (auto id : ready)
          if (auto it = out_.find(id); it != out_.end()) it->second.dirty = false;
        if (close_all_) {
          drop_all = true;
          close_all_ = false;
          code = close_all_code_;
          why = close_all_reason_;
          for (auto& [id, o] : out_) {
            o.close = true;
            o.flush = false;
            o.code = code;
            o.reason = why;
          }
        }
      }
      if (drop_all) {
        for (const auto& [id, c] : live_) lws_callback_on_writable(c.wsi);
        return 0;
      }
      for (auto id : ready)
        if (auto it = live_.find(id); it != live_.end()) lws_callback_on_writable(it->second.wsi);
      return 0;
    }
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

// ---- helpers -----------------------------------------------------------------------------------------

namespace {
// price -> qty for one side; the comparator only orders the map (sides are re-sorted on output).
using side_map = std::map<core::decimal, core::decimal>;

side_map to_map(const std::vector<venue::book_level>& levels) {
  side_map m;
  for (const auto& l : levels) m[l.price] = l.qty;
  return m;
}

std::vector<venue::book_level> side_diff(const std::vector<venue::book_level>& before,
                                         const std::vector<venue::book_level>& after, bool bids) {
  const side_map a = to_map(before), b = to_map(after);
  std::vector<venue::book_level> out;
  for (const auto& [px, qty] : b) {
    auto it = a.find(px);
    if (it == a.end() || it->second != qty) out.push_back({px, qty});
  }
  for (const auto& [px, qty] : a)
    if (!b.count(px)) out.push_back({px, core::decimal::zero()});
  std::sort(out.begin(), out.end(), [bids](const venue::book_level& x, const venue::book_level& y) {
    return bids ? y.price < x.price : x.price < y.price;
  });
  return out;
}
}  // namespace

venue::order_book book_diff(const venue::order_book& before, const venue::order_book& after) {
  venue::order_book d;
  d.symbol = after.symbol;
  d.time = after.time;
  d.snapshot = false;
  d.bids = side_diff(before.bids, after.bids, true);
  d.asks = side_diff(before.asks, after.asks, false);
  return d;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return out;
}

}  // namespace pt::venue_sim
