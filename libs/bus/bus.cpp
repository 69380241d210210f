// The bus: one nats.c connection, its subscriptions and counters (class core), and the CAF
// actor that owns it (async requests, watchers, the actor interface).
//
// Threading: nats.c calls on_msg / the connection callbacks on its own threads. Those only
// parse, validate, count and anon_send; they never touch actor state.
#include "bus/bus.hpp"

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"

#include <caf/all.hpp>

#include <cstdlib>
#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string_view>
#include <unordered_map>

namespace pt::bus {

bool is_urgent_subject(std::string_view subject) {
  return subject.rfind("ctl.", 0) == 0 || subject == "risk.killswitch";
}

// ---- errors -------------------------------------------------------------------------------------

namespace {
const caf::atom_value error_category = caf::atom("pt_bus");

const char* errc_name(errc c) {
  switch (c) {
    case errc::not_connected: return "not_connected";
    case errc::timeout: return "timeout";
    case errc::no_responders: return "no_responders";
    case errc::schema_violation: return "schema_violation";
    case errc::unknown_subject: return "unknown_subject";
    case errc::bad_json: return "bad_json";
    case errc::decode_failed: return "decode_failed";
    case errc::nats_error: return "nats_error";
    case errc::jetstream_error: return "jetstream_error";
  }
  return "unknown";
}

std::string nats_text(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string text = natsStatus_GetText(s);
  if (detail != nullptr && *detail != '\0' && text.find(detail) == std::string::npos && last == s)
    text += std::string(" (") + detail + ")";
  return text;
}

caf::error from_status(natsStatus s, const std::string& what) {
  switch (s) {
    case NATS_TIMEOUT: return make_error(errc::timeout, what + ": timeout");
    case NATS_NO_RESPONDERS: return make_error(errc::no_responders, what + ": no responders");
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_INSUFFICIENT_BUFFER:
      return make_error(errc::not_connected, what + ": " + natsStatus_GetText(s));
    default: return make_error(errc::nats_error, what + ": " + nats_text(s));
  }
}

std::once_flag nats_open_once;
}  // namespace

std::string default_proto_dir() {
  const char* env = std::getenv("POLYTRADE_PROTO_DIR");
  return env && *env ? env : POLYTRADE_PROTO_DIR;
}

caf::error make_error(errc code, std::string text) {
  return caf::error(static_cast<std::uint8_t>(code), error_category, caf::make_message(std::move(text)));
}

bool is(const caf::error& e, errc code) {
  return e && e.category() == error_category && e.code() == static_cast<std::uint8_t>(code);
}

std::string describe(const caf::error& e) {
  if (!e) return "ok";
  if (e.category() == error_category) {
    std::string text = errc_name(static_cast<errc>(e.code()));
    if (e.context().match_elements<std::string>()) text += ": " + e.context().get_as<std::string>(0);
    return text;
  }
  return caf::to_string(e);
}

const char* to_string(connection_state s) {
  switch (s) {
    case connection_state::connected: return "connected";
    case connection_state::disconnected: return "disconnected";
    case connection_state::reconnected: return "reconnected";
    case connection_state::closed: return "closed";
  }
  return "unknown";
}

// ---- config -------------------------------------------------------------------------------------

options options_from_config(const pt::config::document& cfg, const std::string& prefix) {
  using namespace std::chrono_literals;
  options o;
  auto key = [&](const char* k) { return prefix + "." + k; };
  cfg.require_only(prefix, {"url", "name", "send_asap", "reconnect_min", "reconnect_max", "max_reconnects",
                            "retry_on_failed_connect", "reconnect_buffer_bytes", "connect_timeout"});
  if (cfg.has(key("url"))) {
    o.url = cfg.get_string(key("url"));
    if (o.url.rfind("nats://", 0) != 0 && o.url.rfind("tls://", 0) != 0)
      cfg.fail(key("url"), "must start with nats:// or tls://");
    cfg.mark_secret(key("url"));  // registers the password part, if any
  }
  if (cfg.has(key("name"))) o.name = cfg.get_string(key("name"));
  if (cfg.has(key("send_asap"))) o.send_asap = cfg.get_bool(key("send_asap"));
  if (cfg.has(key("reconnect_min"))) o.reconnect_min = cfg.get_duration(key("reconnect_min"), 1ms, 60000ms);
  if (cfg.has(key("reconnect_max"))) o.reconnect_max = cfg.get_duration(key("reconnect_max"), 1ms, 600000ms);
  if (o.reconnect_max < o.reconnect_min) cfg.fail(key("reconnect_max"), "must be >= reconnect_min");
  if (cfg.has(key("max_reconnects")))
    o.max_reconnects = static_cast<int>(cfg.get_int(key("max_reconnects"), -1, 1000000));
  if (cfg.has(key("retry_on_failed_connect")))
    o.retry_on_failed_connect = cfg.get_bool(key("retry_on_failed_connect"));
  if (cfg.has(key("reconnect_buffer_bytes")))
    o.reconnect_buffer_bytes = static_cast<int>(cfg.get_int(key("reconnect_buffer_bytes"), 0, 1 << 30));
  if (cfg.has(key("connect_timeout"))) o.connect_timeout = cfg.get_duration(key("connect_timeout"), 10ms, 60000ms);
  return o;
}

// ---- JetStream message handle -------------------------------------------------------------------

namespace detail {
struct js_message {
  natsMsg* msg = nullptr;
  std::atomic<bool> settled{false};
  ~js_message() { natsMsg_Destroy(msg); }
};
}  // namespace detail

namespace {
caf::error settle(const std::shared_ptr<detail::js_message>& js, const char* what,
                  natsStatus (*fn)(natsMsg*, jsOptions*)) {
  if (!js) return make_error(errc::jetstream_error, std::string(what) + ": not a JetStream delivery");
  if (js->settled.exchange(true)) return {};  // acked twice: the first one counts
  natsStatus s = fn(js->msg, nullptr);
  if (s != NATS_OK) {
    js->settled = false;
    return from_status(s, what);
  }
  return {};
}
}  // namespace

caf::error envelope::ack() const { return settle(js, "ack", natsMsg_Ack); }
caf::error envelope::nak() const { return settle(js, "nak", natsMsg_Nak); }
caf::error envelope::term() const { return settle(js, "term", natsMsg_Term); }

// ---- core ---------------------------------------------------------------------------------------

namespace {
using reply_in_atom = caf::atom_constant<caf::atom("bus_rin")>;
using req_timeout_atom = caf::atom_constant<caf::atom("bus_rto")>;
}  // namespace

class core : public std::enable_shared_from_this<core> {
 public:
  struct sub_record {
    core* owner = nullptr;
    subscription_id id = 0;
    natsSubscription* sub = nullptr;
    caf::actor target;
    bool jetstream = false;
    bool inbox = false;  // the async-request reply inbox: raw hand-off to the bus actor
    std::weak_ptr<core> self_ref;
  };

  options opts;
  std::shared_ptr<const catalog> cat;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::string inbox_prefix;  // "_INBOX.<nuid>" for async requests
  std::string safe_url;  // opts.url with the password hidden: URLs reach logs and errors

  // The nats.c objects are freed only here, when the last owner (the bus, its actors, an
  // envelope's origin) is gone: until then nc stays valid and calls on it fail cleanly
  // with NATS_CONNECTION_CLOSED after close().
  ~core() {
    close();
    std::unique_lock lock(mu_);
    if (nc != nullptr && !(closed_cb_ && live_subs_ == 0)) {
      // close() timed out and logged it: handlers may still run and point at us.
      return;
    }
    auto records = std::move(records_);
    lock.unlock();
    // Subscriptions before the connection they belong to.
    for (auto& [id, rec] : records)
      if (rec->sub != nullptr) natsSubscription_Destroy(rec->sub);
    records.clear();
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  void connect() {
    std::call_once(nats_open_once, [] { nats_Open(-1); });
    safe_url = pt::config::redact_url(opts.url);
    natsOptions* no = nullptr;
    auto check = [&](natsStatus s, const char* what) {
      if (s != NATS_OK) {
        natsOptions_Destroy(no);
        throw connect_error(std::string("bus: bad option ") + what + ": " + natsStatus_GetText(s));
      }
    };
    check(natsOptions_Create(&no), "create");
    check(natsOptions_SetURL(no, opts.url.c_str()), "url");
    check(natsOptions_SetName(no, opts.name.c_str()), "name");
    check(natsOptions_SetSendAsap(no, opts.send_asap), "send_asap");
    check(natsOptions_SetMaxReconnect(no, opts.max_reconnects), "max_reconnects");
    check(natsOptions_SetCustomReconnectDelay(no, &core::reconnect_delay, this), "reconnect delay");
    check(natsOptions_SetReconnectBufSize(no, opts.reconnect_buffer_bytes), "reconnect_buffer_bytes");
    check(natsOptions_SetTimeout(no, opts.connect_timeout.count()), "connect_timeout");
    check(natsOptions_SetDisconnectedCB(no, &core::on_disconnected, this), "disconnected cb");
    check(natsOptions_SetReconnectedCB(no, &core::on_reconnected, this), "reconnected cb");
    check(natsOptions_SetClosedCB(no, &core::on_closed, this), "closed cb");
    check(natsOptions_SetErrorHandler(no, &core::on_async_error, this), "error handler");
    if (opts.retry_on_failed_connect)
      check(natsOptions_SetRetryOnFailedConnect(no, true, &core::on_connected, this), "retry");
    natsStatus s = natsConnection_Connect(&nc, no);
    natsOptions_Destroy(no);
    if (s == NATS_NOT_YET_CONNECTED) {
      state_ = connection_state::disconnected;
      pt::log::warn("bus: nats not reachable yet, retrying in background", {{"url", safe_url}});
    } else if (s != NATS_OK) {
      nc = nullptr;
      throw connect_error("bus: cannot connect to " + safe_url + ": " + nats_text(s));
    } else {
      state_ = connection_state::connected;
      pt::log::info("bus: connected", {{"url", safe_url}, {"name", opts.name}, {"send_asap", opts.send_asap}});
      notify({connection_state::connected, safe_url, {}});
    }
    if (auto js_s = natsConnection_JetStream(&js, nc, nullptr); js_s != NATS_OK)
      throw connect_error("bus: jetstream context for " + safe_url + ": " + nats_text(js_s));
    natsInbox* inbox = nullptr;
    natsInbox_Create(&inbox);
    inbox_prefix = inbox;  // natsInbox is a char*
    natsInbox_Destroy(inbox);
  }

  // Closes the connection but frees nothing (see ~core): other threads may still hold nc.
  void close() {
    std::unique_lock lock(mu_);
    if (closed_ || nc == nullptr) {
      closed_ = true;
      return;
    }
    closed_ = true;
    lock.unlock();
    natsConnection_Close(nc);
    lock.lock();
    // Wait until nats.c has delivered the closed event and every subscription handler has
    // returned (on-complete callbacks): only then may ~core free what they point at.
    bool done = cv_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_cb_ && live_subs_ == 0; });
    if (!done) {
      pt::log::error("bus: close did not complete in 5 s; leaking subscription state", {{"url", safe_url}});
    } else {
      // No handler runs any more: drop the actor handles, or an actor holding an envelope
      // (whose origin holds us) would keep itself alive through our records.
      for (auto& [id, rec] : records_) rec->target = caf::actor{};
    }
    watchers_.clear();
  }

  [[nodiscard]] connection_state state() const { return state_.load(); }

  void add_watcher(const caf::actor& a) {
    std::lock_guard g(mu_);
    watchers_.push_back(a);
  }

  // ---- counters ----
  void count_out(const std::string& subject, size_t bytes) {
    std::lock_guard g(counters_mu_);
    auto& c = counters_[subject];
    ++c.out;
    c.bytes_out += bytes;
  }
  void count_in(const std::string& subject, size_t bytes) {
    std::lock_guard g(counters_mu_);
    auto& c = counters_[subject];
    ++c.in;
    c.bytes_in += bytes;
  }
  void count_rejected(const std::string& subject, size_t bytes) {
    std::lock_guard g(counters_mu_);
    auto& c = counters_[subject];
    ++c.rejected;
    c.bytes_in += bytes;
  }
  counters_snapshot snapshot() const {
    std::lock_guard g(counters_mu_);
    return counters_snapshot(counters_.begin(), counters_.end());
  }

  void reject(const std::string& subject, size_t bytes, const std::string& reason, const char* direction) {
    count_rejected(subject, bytes);
    pt::log::warn("bus: message rejected",
                  {{"subject", subject}, {"direction", direction}, {"reason", reason}});
  }

  // ---- publish ----
  caf::error publish_raw(const std::string& subject, const std::string& count_as, const std::string& data,
                         const char* reply = nullptr) {
    if (nc == nullptr || closed_) {
      auto err = make_error(errc::not_connected, "publish " + count_as + ": bus is closed");
      pt::log::warn("bus: publish failed", {{"subject", count_as}, {"reason", describe(err)}});
      return err;
    }
    natsStatus s = reply == nullptr
                       ? natsConnection_Publish(nc, subject.c_str(), data.data(), static_cast<int>(data.size()))
                       : natsConnection_PublishRequest(nc, subject.c_str(), reply, data.data(),
                                                       static_cast<int>(data.size()));
    if (s != NATS_OK) {
      auto err = from_status(s, "publish " + count_as);
      pt::log::warn("bus: publish failed", {{"subject", count_as}, {"reason", describe(err)}});
      return err;
    }
    count_out(count_as, data.size());
    return {};
  }

  caf::error check_outbound(const std::string& subject, const nlohmann::json& body, bool is_reply,
                            const std::string& catalog_subject) {
    auto why = is_reply ? cat->validate_reply(catalog_subject, body) : cat->validate(catalog_subject, body);
    if (!why) return {};
    count_rejected(catalog_subject, 0);
    auto code = cat->find(catalog_subject) == nullptr ? errc::unknown_subject : errc::schema_violation;
    pt::log::error("bus: outbound message rejected",
                   {{"subject", subject}, {"catalog_subject", catalog_subject}, {"reason", *why}});
    return make_error(code, catalog_subject + ": " + *why);
  }

  caf::error publish(const std::string& subject, const nlohmann::json& body) {
    if (auto err = check_outbound(subject, body, false, subject)) return err;
    return publish_raw(subject, subject, body.dump());
  }

  caf::error reply(const envelope& request, const nlohmann::json& body) {
    if (request.reply.empty())
      return make_error(errc::nats_error, request.subject + ": message has no reply subject");
    if (auto err = check_outbound(request.reply, body, true, request.subject)) return err;
    return publish_raw(request.reply, request.subject, body.dump());
  }

  // Parses + validates an inbound payload; counts and logs a rejection.
  std::optional<nlohmann::json> accept(const char* data, int len, bool is_reply, const std::string& catalog_subject) {
    auto body = nlohmann::json::parse(data, data + len, nullptr, false);
    if (body.is_discarded()) {
      reject(catalog_subject, static_cast<size_t>(len), "payload is not valid JSON",
             is_reply ? "reply" : "in");
      return std::nullopt;
    }
    auto why = is_reply ? cat->validate_reply(catalog_subject, body) : cat->validate(catalog_subject, body);
    if (why) {
      reject(catalog_subject, static_cast<size_t>(len), *why, is_reply ? "reply" : "in");
      return std::nullopt;
    }
    count_in(catalog_subject, static_cast<size_t>(len));
    return body;
  }

  caf::expected<envelope> request(const std::string& subject, const nlohmann::json& body,
                                  std::chrono::milliseconds timeout) {
    if (auto err = check_outbound(subject, body, false, subject)) return err;
    if (nc == nullptr || closed_) return make_error(errc::not_connected, subject + ": bus is closed");
    auto data = body.dump();
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_Request(&reply, nc, subject.c_str(), data.data(), static_cast<int>(data.size()),
                                          timeout.count());
    if (s != NATS_OK) return from_status(s, "request " + subject);
    count_out(subject, data.size());
    envelope env;
    env.subject = natsMsg_GetSubject(reply);
    auto accepted = accept(natsMsg_GetData(reply), natsMsg_GetDataLength(reply), true, subject);
    natsMsg_Destroy(reply);
    if (!accepted) return make_error(errc::schema_violation, subject + ": reply rejected (see log)");
    env.body = std::move(*accepted);
    return env;
  }

  // ---- subscriptions ----
  caf::expected<subscription_id> subscribe(const std::string& subject, const caf::actor& target,
                                           const std::string& queue, bool inbox = false) {
    if (!target) return make_error(errc::nats_error, "subscribe " + subject + ": no target actor");
    auto rec = new_record(target, false, inbox);
    natsStatus s = queue.empty()
                       ? natsConnection_Subscribe(&rec->sub, nc, subject.c_str(), &core::on_msg, rec)
                       : natsConnection_QueueSubscribe(&rec->sub, nc, subject.c_str(), queue.c_str(),
                                                       &core::on_msg, rec);
    return finish_subscribe(rec, s, subject);
  }

  caf::expected<subscription_id> js_consume(const consumer_config& cfg, const caf::actor& target) {
    if (!target) return make_error(errc::jetstream_error, "js_consume: no target actor");
    if (cfg.filter_subject.empty() || cfg.stream.empty() || cfg.durable.empty())
      return make_error(errc::jetstream_error, "js_consume: stream, durable and filter_subject are required");
    // Create (or update) the durable explicitly, then bind to it: a consumer that js_Subscribe
    // creates itself is deleted by natsSubscription_Unsubscribe, even a durable one (nats.c 3.4).
    const std::string deliver = "_pt.deliver." + cfg.stream + "." + cfg.durable;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = cfg.durable.c_str();
    cc.DeliverSubject = deliver.c_str();
    if (!cfg.queue.empty()) cc.DeliverGroup = cfg.queue.c_str();
    cc.FilterSubject = cfg.filter_subject.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.ack_wait).count();
    cc.MaxDeliver = cfg.max_deliver;
    cc.MaxAckPending = cfg.max_ack_pending;
    cc.DeliverPolicy = cfg.deliver_new ? js_DeliverNew : js_DeliverAll;
    jsConsumerInfo* ci = nullptr;
    jsErrCode cerr = static_cast<jsErrCode>(0);
    natsStatus cs = js_AddConsumer(&ci, js, cfg.stream.c_str(), &cc, nullptr, &cerr);
    if (cs != NATS_OK && cerr != 0) {
      // Exists with another config: update what the server allows (ack wait, max deliver...).
      jsConsumerInfo_Destroy(ci);
      ci = nullptr;
      cerr = static_cast<jsErrCode>(0);
      cs = js_UpdateConsumer(&ci, js, cfg.stream.c_str(), &cc, nullptr, &cerr);
    }
    jsConsumerInfo_Destroy(ci);
    if (cs != NATS_OK)
      return make_error(errc::jetstream_error, "js_consume: consumer " + cfg.durable + " on " + cfg.stream + ": " +
                                                   nats_text(cs) + (cerr ? " (jetstream error " + std::to_string(cerr) + ")" : ""));
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg.stream.c_str();
    so.Consumer = cfg.durable.c_str();
    so.ManualAck = true;
    if (!cfg.queue.empty()) so.Queue = cfg.queue.c_str();
    auto rec = new_record(target, true, false);
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_Subscribe(&rec->sub, js, cfg.filter_subject.c_str(), &core::on_msg, rec, nullptr, &so, &jerr);
    if (s != NATS_OK && jerr != 0) {
      drop_record(rec);
      return make_error(errc::jetstream_error, "js_consume " + cfg.durable + " on " + cfg.filter_subject + ": " +
                                                   nats_text(s) + " (jetstream error " + std::to_string(jerr) + ")");
    }
    return finish_subscribe(rec, s, cfg.filter_subject);
  }

  caf::error unsubscribe(subscription_id id) {
    if (closed_) return {};  // closing the connection ended every subscription
    natsSubscription* sub = nullptr;
    bool jetstream = false;
    {
      std::lock_guard g(mu_);
      auto it = records_.find(id);
      if (it == records_.end() || it->second->sub == nullptr) return {};
      sub = it->second->sub;
      jetstream = it->second->jetstream;
      // natsSubscription_Unsubscribe deletes a JetStream consumer that nats.c believes it
      // created, durable or not (seen with nats.c 3.4.1); natsSubscription_Destroy clears that
      // flag before it unsubscribes, so the durable survives. The record itself lives until
      // close(): the handler may still be running right now.
      if (jetstream) it->second->sub = nullptr;
    }
    if (jetstream) {
      natsSubscription_Destroy(sub);
      return {};
    }
    natsStatus s = natsSubscription_Unsubscribe(sub);
    if (s != NATS_OK && s != NATS_INVALID_SUBSCRIPTION) return from_status(s, "unsubscribe");
    return {};
  }

  // ---- JetStream ----
  caf::error ensure_stream(const stream_config& c) {
    if (c.name.empty() || c.subjects.empty())
      return make_error(errc::jetstream_error, "ensure_stream: name and subjects are required");
    std::vector<const char*> subjects;
    for (const auto& s : c.subjects) subjects.push_back(s.c_str());
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = c.name.c_str();
    sc.Subjects = subjects.data();
    sc.SubjectsLen = static_cast<int>(subjects.size());
    sc.Retention = c.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
    sc.Storage = c.memory ? js_MemoryStorage : js_FileStorage;
    sc.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(c.max_age).count();
    sc.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(c.duplicate_window).count();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, js, &sc, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
      // Exists with another config: bring it to ours (allowed changes only; the server says which).
      s = js_UpdateStream(&si, js, &sc, nullptr, &jerr);
    }
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK)
      return make_error(errc::jetstream_error, "ensure_stream " + c.name + ": " + nats_text(s) +
                                                   (jerr ? " (jetstream error " + std::to_string(jerr) + ")" : ""));
    return {};
  }

  caf::expected<js_ack> js_publish(const std::string& subject, const nlohmann::json& body, const std::string& msg_id) {
    if (auto err = check_outbound(subject, body, false, subject)) return err;
    if (nc == nullptr || closed_) return make_error(errc::not_connected, subject + ": bus is closed");
    auto data = body.dump();
    jsPubOptions po;
    jsPubOptions_Init(&po);
    if (!msg_id.empty()) po.MsgId = msg_id.c_str();
    jsPubAck* pa = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&pa, js, subject.c_str(), data.data(), static_cast<int>(data.size()), &po, &jerr);
    if (s != NATS_OK) {
      auto err = s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS
                     ? from_status(s, "js_publish " + subject)
                     : make_error(errc::jetstream_error, "js_publish " + subject + ": " + nats_text(s));
      pt::log::warn("bus: jetstream publish failed", {{"subject", subject}, {"reason", describe(err)}});
      return err;
    }
    js_ack ack{pa->Stream ? pa->Stream : "", pa->Sequence, pa->Duplicate};
    jsPubAck_Destroy(pa);
    if (!ack.duplicate) count_out(subject, data.size());
    return ack;
  }

 private:
  sub_record* new_record(const caf::actor& target, bool jetstream, bool inbox) {
    auto rec = std::make_unique<sub_record>();
    rec->owner = this;
    rec->target = target;
    rec->jetstream = jetstream;
    rec->inbox = inbox;
    rec->self_ref = weak_from_this();
    std::lock_guard g(mu_);
    rec->id = next_id_++;
    auto* raw = rec.get();
    records_.emplace(raw->id, std::move(rec));
    return raw;
  }

  void drop_record(sub_record* rec) {
    std::lock_guard g(mu_);
    records_.erase(rec->id);
  }

  caf::expected<subscription_id> finish_subscribe(sub_record* rec, natsStatus s, const std::string& subject) {
    if (s != NATS_OK) {
      drop_record(rec);
      return from_status(s, "subscribe " + subject);
    }
    {
      std::lock_guard g(mu_);
      ++live_subs_;
    }
    natsSubscription_SetOnCompleteCB(rec->sub, &core::on_sub_complete, rec);
    // Bulk subscribers must not drop messages silently (nats.c default: 65536 msgs / 64 MB).
    natsSubscription_SetPendingLimits(rec->sub, -1, -1);
    pt::log::debug("bus: subscribed", {{"subject", subject}, {"id", rec->id}});
    return rec->id;
  }

  static void on_sub_complete(void* closure) {
    auto* rec = static_cast<sub_record*>(closure);
    auto* self = rec->owner;
    std::lock_guard g(self->mu_);
    --self->live_subs_;
    self->cv_.notify_all();
  }

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* rec = static_cast<sub_record*>(closure);
    try {
      rec->owner->deliver(*rec, msg);
    } catch (const std::exception& e) {
      // Never let an exception unwind into nats.c.
      pt::log::error("bus: delivery failed", {{"reason", e.what()}});
    }
  }

  void deliver(sub_record& rec, natsMsg* msg) {
    if (rec.inbox) {
      // Async request reply: the token is the last subject token; the bus actor validates.
      std::string subject = natsMsg_GetSubject(msg);
      auto dot = subject.rfind('.');
      std::uint64_t token = std::strtoull(subject.c_str() + dot + 1, nullptr, 10);
      bool no_responders = natsMsg_IsNoResponders(msg);
      std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
      natsMsg_Destroy(msg);
      caf::anon_send(rec.target, reply_in_atom::value, token, std::move(data), no_responders);
      return;
    }
    envelope env;
    env.received_ns = pt::core::trace::now_ns();
    env.subject = natsMsg_GetSubject(msg);
    if (const char* r = natsMsg_GetReply(msg); r != nullptr && !rec.jetstream) env.reply = r;
    auto body = accept(natsMsg_GetData(msg), natsMsg_GetDataLength(msg), false, env.subject);
    if (!body) {
      // Redelivering a message that fails its schema cannot help: terminate it.
      if (rec.jetstream) natsMsg_Term(msg, nullptr);
      natsMsg_Destroy(msg);
      return;
    }
    env.body = std::move(*body);
    env.origin = rec.self_ref.lock();
    if (rec.jetstream) {
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        env.stream_seq = meta->Sequence.Stream;
        env.deliveries = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
      }
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) env.msg_id = id;
      env.js = std::make_shared<detail::js_message>();
      env.js->msg = msg;
    } else {
      natsMsg_Destroy(msg);
    }
    if (is_urgent_subject(env.subject)) caf::anon_send<caf::message_priority::high>(rec.target, std::move(env));
    else caf::anon_send(rec.target, std::move(env));
  }

  void notify(const connection_event& ev) {
    if (opts.on_state) {
      try {
        opts.on_state(ev);
      } catch (const std::exception& e) {
        pt::log::error("bus: on_state callback threw", {{"reason", e.what()}});
      }
    }
    std::vector<caf::actor> watchers;
    {
      std::lock_guard g(mu_);
      watchers = watchers_;
    }
    for (auto& w : watchers) caf::anon_send(w, ev);
  }

  std::string last_error_text() {
    if (nc == nullptr) return {};
    const char* text = nullptr;
    natsStatus s = natsConnection_GetLastError(nc, &text);
    if (s == NATS_OK) return {};
    return text != nullptr && *text ? text : natsStatus_GetText(s);
  }

  static int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
    auto* self = static_cast<core*>(closure);
    thread_local std::mt19937_64 rng{std::random_device{}()};
    int64_t base = self->opts.reconnect_min.count();
    int64_t cap = self->opts.reconnect_max.count();
    int shift = std::min(attempts > 0 ? attempts - 1 : 0, 20);
    int64_t delay = std::min(cap, base << shift);
    int64_t jitter = delay / 4 > 0 ? std::uniform_int_distribution<int64_t>(0, delay / 4)(rng) : 0;
    return delay + jitter;
  }

  static void on_connected(natsConnection*, void* closure) {
    auto* self = static_cast<core*>(closure);
    self->state_ = connection_state::connected;
    pt::log::info("bus: connected", {{"url", self->safe_url}, {"name", self->opts.name}});
    self->notify({connection_state::connected, self->safe_url, {}});
  }
  static void on_disconnected(natsConnection*, void* closure) {
    auto* self = static_cast<core*>(closure);
    if (self->closed_) return;
    self->state_ = connection_state::disconnected;
    auto detail = self->last_error_text();
    pt::log::warn("bus: disconnected, reconnecting", {{"url", self->safe_url}, {"detail", detail}});
    self->notify({connection_state::disconnected, self->safe_url, detail});
  }
  static void on_reconnected(natsConnection*, void* closure) {
    auto* self = static_cast<core*>(closure);
    self->state_ = connection_state::reconnected;
    pt::log::info("bus: reconnected; subscriptions restored", {{"url", self->safe_url}});
    self->notify({connection_state::reconnected, self->safe_url, {}});
  }
  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<core*>(closure);
    self->state_ = connection_state::closed;
    pt::log::info("bus: connection closed", {{"url", self->safe_url}});
    self->notify({connection_state::closed, self->safe_url, {}});
    std::lock_guard g(self->mu_);
    self->closed_cb_ = true;
    self->cv_.notify_all();
  }
  static void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* self = static_cast<core*>(closure);
    pt::log::warn("bus: async error", {{"url", self->safe_url}, {"reason", natsStatus_GetText(err)}});
  }

  std::atomic<connection_state> state_{connection_state::disconnected};
  std::atomic<bool> closed_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_cb_ = false;
  int live_subs_ = 0;
  subscription_id next_id_ = 1;
  std::unordered_map<subscription_id, std::unique_ptr<sub_record>> records_;
  std::vector<caf::actor> watchers_;
  mutable std::mutex counters_mu_;
  std::unordered_map<std::string, subject_counters> counters_;
};

// ---- the bus actor --------------------------------------------------------------------------------

namespace {

struct pending_request {
  caf::response_promise promise;
  std::string subject;
};

struct bus_state {
  std::shared_ptr<core> c;
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, pending_request> pending;
  caf::actor js_worker;
  static inline const char* name = "pt.bus";
};

// Blocking JetStream calls run here so they never stall the bus actor's request path.
caf::behavior js_worker_fun(caf::event_based_actor*, std::shared_ptr<core> c) {
  return {
      [c](js_pub_atom, const std::string& subject, const nlohmann::json& body,
          const std::string& msg_id) -> caf::result<js_ack> {
        auto r = c->js_publish(subject, body, msg_id);
        if (!r) return r.error();
        return *r;
      },
  };
}

caf::behavior bus_actor_fun(caf::stateful_actor<bus_state>* self, std::shared_ptr<core> c) {
  self->state.c = c;
  self->state.js_worker = self->spawn<caf::detached + caf::linked>(js_worker_fun, c);
  return {
      [self](publish_atom, const std::string& subject, const nlohmann::json& body) -> caf::result<caf::unit_t> {
        if (auto err = self->state.c->publish(subject, body)) return err;
        return caf::unit;
      },
      [self](reply_atom, const envelope& request, const nlohmann::json& body) -> caf::result<caf::unit_t> {
        if (auto err = self->state.c->reply(request, body)) return err;
        return caf::unit;
      },
      [self](request_atom, const std::string& subject, const nlohmann::json& body,
             caf::timespan timeout) -> caf::response_promise {
        auto rp = self->make_response_promise();
        auto& st = self->state;
        if (auto err = st.c->check_outbound(subject, body, false, subject)) {
          rp.deliver(std::move(err));
          return rp;
        }
        auto token = st.next_token++;
        auto inbox = st.c->inbox_prefix + "." + std::to_string(token);
        if (auto err = st.c->publish_raw(subject, subject, body.dump(), inbox.c_str())) {
          rp.deliver(std::move(err));
          return rp;
        }
        st.pending.emplace(token, pending_request{rp, subject});
        self->delayed_send(self, timeout, req_timeout_atom::value, token,
                           std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
        return rp;
      },
      [self](reply_in_atom, std::uint64_t token, const std::string& data, bool no_responders) {
        auto& st = self->state;
        auto it = st.pending.find(token);
        if (it == st.pending.end()) return;  // late reply after a timeout
        auto p = std::move(it->second);
        st.pending.erase(it);
        if (no_responders) {
          p.promise.deliver(make_error(errc::no_responders, "request " + p.subject + ": no responders"));
          return;
        }
        auto body = st.c->accept(data.data(), static_cast<int>(data.size()), true, p.subject);
        if (!body) {
          p.promise.deliver(make_error(errc::schema_violation, p.subject + ": reply rejected (see log)"));
          return;
        }
        envelope env;
        env.subject = st.c->inbox_prefix + "." + std::to_string(token);
        env.body = std::move(*body);
        p.promise.deliver(std::move(env));
      },
      [self](req_timeout_atom, std::uint64_t token, std::int64_t ms) {
        auto& st = self->state;
        auto it = st.pending.find(token);
        if (it == st.pending.end()) return;
        auto p = std::move(it->second);
        st.pending.erase(it);
        p.promise.deliver(make_error(errc::timeout, "request " + p.subject + ": no reply in " +
                                                        std::to_string(ms) + " ms"));
      },
      [self](subscribe_atom, const std::string& subject, const std::string& queue,
             const caf::actor& target) -> caf::result<subscription_id> {
        auto r = self->state.c->subscribe(subject, target, queue);
        if (!r) return r.error();
        return *r;
      },
      [self](unsub_atom, subscription_id id) -> caf::result<caf::unit_t> {
        if (auto err = self->state.c->unsubscribe(id)) return err;
        return caf::unit;
      },
      [self](js_pub_atom a, const std::string& subject, const nlohmann::json& body, const std::string& msg_id) {
        return self->delegate(self->state.js_worker, a, subject, body, msg_id);
      },
      [self](watch_atom, const caf::actor& target) { self->state.c->add_watcher(target); },
      [self](counters_atom) { return self->state.c->snapshot(); },
  };
}

}  // namespace

void publish(const caf::actor& bus, std::string subject, nlohmann::json body) {
  caf::anon_send(bus, publish_atom::value, std::move(subject), std::move(body));
}

void reply(const caf::actor& bus, const envelope& request, nlohmann::json body) {
  if (request.origin) {
    (void)request.origin->reply(request, body);  // logs its own failures
    return;
  }
  caf::anon_send(bus, reply_atom::value, request, std::move(body));
}

void tune_scheduler_for_latency(caf::actor_system_config& cfg) {
  cfg.set("work-stealing.moderate-poll-attempts", 0);
}

// ---- bus ----------------------------------------------------------------------------------------

std::unique_ptr<bus> bus::connect(caf::actor_system& sys, options opts) {
  auto c = std::make_shared<core>();
  c->cat = catalog::load(opts.proto_dir);
  c->opts = std::move(opts);
  c->connect();
  auto a = sys.spawn(bus_actor_fun, c);
  // The reply inbox for async requests from actors: one wildcard subscription per connection.
  auto inbox = c->subscribe(c->inbox_prefix + ".*", a, {}, true);
  if (!inbox) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    throw connect_error("bus: cannot subscribe the reply inbox: " + describe(inbox.error()));
  }
  return std::unique_ptr<bus>(new bus(std::move(c), std::move(a)));
}

bus::bus(std::shared_ptr<core> c, caf::actor a) : core_(std::move(c)), actor_(std::move(a)) {}

bus::~bus() {
  // Stop the actor first so no message of its own is mid-publish while the connection closes
  // (a js_worker or an envelope's origin may still hold core_: its calls then fail cleanly).
  {
    caf::scoped_actor self{actor_.home_system()};
    self->monitor(actor_);
    self->send_exit(actor_, caf::exit_reason::user_shutdown);
    bool stopped = false;
    self->receive([&](const caf::down_msg&) { stopped = true; },
                  caf::after(std::chrono::seconds(5)) >> [] {});
    if (!stopped) pt::log::error("bus: actor did not stop within 5 s", {{"url", core_->safe_url}});
  }
  core_->close();
}

const catalog& bus::subjects() const { return *core_->cat; }
const options& bus::opts() const { return core_->opts; }
connection_state bus::state() const { return core_->state(); }

caf::error bus::publish(const std::string& subject, const nlohmann::json& body) {
  return core_->publish(subject, body);
}
caf::error bus::reply(const envelope& request, const nlohmann::json& body) { return core_->reply(request, body); }
caf::expected<subscription_id> bus::subscribe(const std::string& subject, const caf::actor& target,
                                              const std::string& queue) {
  return core_->subscribe(subject, target, queue);
}
caf::error bus::unsubscribe(subscription_id id) { return core_->unsubscribe(id); }
caf::expected<envelope> bus::request(const std::string& subject, const nlohmann::json& body,
                                     std::chrono::milliseconds timeout) {
  return core_->request(subject, body, timeout);
}
caf::error bus::flush(std::chrono::milliseconds timeout) {
  if (core_->nc == nullptr) return make_error(errc::not_connected, "flush: bus is closed");
  natsStatus s = natsConnection_FlushTimeout(core_->nc, timeout.count());
  return s == NATS_OK ? caf::error{} : from_status(s, "flush");
}
void bus::watch(const caf::actor& target) { core_->add_watcher(target); }
caf::error bus::ensure_stream(const stream_config& cfg) { return core_->ensure_stream(cfg); }

caf::error bus::ensure_fleet_streams() {
  for (const auto& c : fleet_streams())
    if (auto err = core_->ensure_stream(c)) return err;
  return {};
}

std::vector<stream_config> fleet_streams() {
  using namespace std::chrono_literals;
  auto make = [](std::string name, std::vector<std::string> subjects) {
    stream_config c;
    c.name = std::move(name);
    c.subjects = std::move(subjects);
    c.max_age = std::chrono::hours(24 * 7);  // the ledger keeps history; the stream only bridges outages
    c.duplicate_window = 120s;
    return c;
  };
  return {
      make("TRADE", {"trade.proposed", "trade.exit"}),
      make("RISK", {"risk.decision.approved", "risk.decision.rejected", "risk.breaker.*", "risk.killswitch"}),
      make("EXEC", {"exec.order.*", "exec.fill", "exec.position.*", "exec.reconciliation"}),
      make("GUARDIAN", {"guardian.protect", "guardian.protection"}),
  };
}
caf::expected<js_ack> bus::js_publish(const std::string& subject, const nlohmann::json& body,
                                      const std::string& msg_id) {
  return core_->js_publish(subject, body, msg_id);
}
caf::expected<subscription_id> bus::js_consume(const consumer_config& cfg, const caf::actor& target) {
  return core_->js_consume(cfg, target);
}
counters_snapshot bus::counters() const { return core_->snapshot(); }

}  // namespace pt::bus
