#include "appender.hpp"

#include "core/log.hpp"

#include <algorithm>

namespace pt::ledger {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

std::int64_t steady_ns() {
  return duration_cast<nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

appender::appender(config cfg, appender_hooks hooks) : cfg_(std::move(cfg)), hooks_(std::move(hooks)) {
  if (cfg_.batch_size == 0) throw error("ledger: batch_size must be at least 1");
  if (cfg_.queue_capacity == 0) throw error("ledger: queue_capacity must be at least 1");
  store_options so;
  so.connect_timeout = cfg_.connect_timeout;
  so.synchronous_commit = cfg_.synchronous_commit;
  so.validate_json = false;  // append()/try_append() validate on the producer's thread
  store_ = std::make_unique<store>(cfg_.url, so);  // throws ledger::unavailable: fail at start
  writer_ = std::thread([this] { run(); });
}

appender::~appender() {
  try {
    stop();
  } catch (...) {
  }
}

void appender::append(event e, milliseconds wait) {
  validate(e);
  std::unique_lock lk(mu_);
  auto room = [&] { return queue_.size() < cfg_.queue_capacity || stopping_; };
  if (!space_cv_.wait_for(lk, wait, room)) {
    auto down_ms = unavailable_for().count();
    throw backpressure("ledger: append queue full (" + std::to_string(queue_.size() + in_flight_) +
                       " events buffered, writes failing for " + std::to_string(down_ms) + " ms); event " +
                       e.event_id + " not queued");
  }
  if (stopping_) throw error("ledger: appender is stopping; event " + e.event_id + " not queued");
  queue_.push_back({std::move(e), clock::now()});
  ++enqueued_;
  work_cv_.notify_one();
}

bool appender::try_append(event e) {
  validate(e);
  std::lock_guard lk(mu_);
  if (stopping_) throw error("ledger: appender is stopping; event " + e.event_id + " not queued");
  if (queue_.size() >= cfg_.queue_capacity) return false;
  queue_.push_back({std::move(e), clock::now()});
  ++enqueued_;
  work_cv_.notify_one();
  return true;
}

bool appender::flush(milliseconds timeout) {
  std::unique_lock lk(mu_);
  const auto target = enqueued_;
  ++flush_waiters_;
  work_cv_.notify_one();
  bool ok = done_cv_.wait_for(lk, timeout, [&] { return done_ >= target || stopped_; });
  --flush_waiters_;
  return ok && done_ >= target;
}

std::size_t appender::stop(milliseconds timeout) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = clock::now() + timeout;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  std::lock_guard lk(mu_);
  if (!stopped_) {
    stopped_ = true;
    done_cv_.notify_all();
    if (!unwritten_.empty())
      pt::log::error("ledger: appender stopped with events NOT written to the ledger",
                     {{"unwritten", unwritten_.size()},
                      {"first_event_id", unwritten_.front().event_id},
                      {"last_event_id", unwritten_.back().event_id},
                      {"error", last_error_}});
  }
  return unwritten_.size();
}

std::vector<event> appender::take_unwritten() {
  std::lock_guard lk(mu_);
  return std::move(unwritten_);
}

bool appender::healthy() const {
  auto since = failing_since_ns_.load();
  return since == 0 || steady_ns() - since < duration_cast<nanoseconds>(cfg_.unavailable_alert_after).count();
}

milliseconds appender::unavailable_for() const {
  auto since = failing_since_ns_.load();
  return since == 0 ? milliseconds(0) : duration_cast<milliseconds>(nanoseconds(steady_ns() - since));
}

appender_stats appender::stats() const {
  std::lock_guard lk(mu_);
  auto s = stats_;
  s.buffered = queue_.size() + in_flight_;
  return s;
}

health_report appender::report_locked(bool healthy) const {
  return health_report{healthy, unavailable_for(), queue_.size() + in_flight_, last_error_};
}

void appender::run() {
  std::vector<event> batch;
  batch.reserve(cfg_.batch_size);
  for (;;) {
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, nothing left
      // Coalesce: wait for a full batch, a flush, stop, or the oldest event's deadline.
      if (queue_.size() < cfg_.batch_size && !stopping_ && flush_waiters_ == 0 && cfg_.flush_interval.count() > 0)
        work_cv_.wait_until(lk, queue_.front().at + cfg_.flush_interval, [&] {
          return queue_.size() >= cfg_.batch_size || stopping_ || flush_waiters_ > 0;
        });
      const auto n = std::min(queue_.size(), cfg_.batch_size);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front().ev));
        queue_.pop_front();
      }
      in_flight_ = n;
      space_cv_.notify_all();
    }
    const auto settled = write_batch(batch);
    if (settled < batch.size()) {  // abandoned at the stop deadline: keep what is left, in order
      std::lock_guard lk(mu_);
      unwritten_.assign(std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(settled)),
                        std::make_move_iterator(batch.end()));
      for (auto& q : queue_) unwritten_.push_back(std::move(q.ev));
      queue_.clear();
      in_flight_ = 0;
      break;
    }
    batch.clear();
  }
}

std::size_t appender::write_batch(std::span<const event> batch) {
  std::string reason;
  switch (attempt(batch, reason)) {
    case outcome::written: return batch.size();
    case outcome::abandoned: return 0;
    case outcome::rejected: break;
  }
  if (batch.size() == 1) {
    reject(batch[0], reason);
    return 1;
  }
  // Find the offending event(s) one by one; the others are written in their original order.
  pt::log::warn("ledger: batch refused, retrying event by event", {{"events", batch.size()}, {"error", reason}});
  for (std::size_t i = 0; i < batch.size(); ++i) {
    switch (attempt(batch.subspan(i, 1), reason)) {
      case outcome::written: break;
      case outcome::abandoned: return i;
      case outcome::rejected: reject(batch[i], reason); break;
    }
  }
  return batch.size();
}

appender::outcome appender::attempt(std::span<const event> batch, std::string& reason) {
  auto backoff = cfg_.retry_backoff_initial;
  for (;;) {
    try {
      auto r = store_->append(batch);
      on_success();
      if (hooks_.on_appended) hooks_.on_appended(r);  // before settle: flush() returns after the hook
      settle(batch.size(), &r);
      return outcome::written;
    } catch (const unavailable& e) {
      on_failure(e.what());
    } catch (const error& e) {
      on_success();  // PostgreSQL answered: it is reachable, the data is at fault
      reason = e.what();
      return outcome::rejected;
    } catch (const std::exception& e) {
      // Unexpected: keep the events and retry rather than lose them; the health alert fires.
      on_failure(std::string("ledger: unexpected append failure: ") + e.what());
    }
    if (!sleep_backoff(backoff)) return outcome::abandoned;
    backoff = std::min(backoff * 2, cfg_.retry_backoff_max);
  }
}

bool appender::sleep_backoff(milliseconds d) {
  auto wake = clock::now() + d;
  if (!alerted_) {  // wake in time to raise the alert when it is due
    auto since = failing_since_ns_.load();
    if (since != 0) {
      auto due = clock::time_point(nanoseconds(since)) + cfg_.unavailable_alert_after;
      wake = std::max(clock::now(), std::min(wake, due));
    }
  }
  std::unique_lock lk(mu_);
  for (;;) {
    auto now = clock::now();
    if (stopping_ && now >= stop_deadline_) return false;
    if (now >= wake) return true;
    work_cv_.wait_until(lk, stopping_ ? std::min(wake, stop_deadline_) : wake);
  }
}

void appender::settle(std::size_t n, const append_result* r) {
  {
    std::lock_guard lk(mu_);
    done_ += n;
    if (r) {
      stats_.appended += r->appended;
      stats_.duplicates += r->duplicates;
      ++stats_.batches;
      if (r->last_seq > 0) stats_.last_seq = r->last_seq;
    }
    if (in_flight_ >= n) in_flight_ -= n;
  }
  done_cv_.notify_all();
}

void appender::reject(const event& e, const std::string& reason) {
  pt::log::error("ledger: event rejected by PostgreSQL and NOT stored",
                 {{"event_id", e.event_id}, {"type", std::string(to_string(e.type))}, {"stream_id", e.stream_id},
                  {"error", reason}});
  {
    std::lock_guard lk(mu_);
    ++stats_.rejected;
  }
  if (hooks_.on_rejected) hooks_.on_rejected(e, reason);
  settle(1, nullptr);
}

void appender::on_failure(const std::string& what) {
  const auto now = clock::now();
  std::int64_t expected = 0;
  const bool first = failing_since_ns_.compare_exchange_strong(expected, steady_ns());
  health_report rep;
  bool notify = false;
  {
    std::lock_guard lk(mu_);
    ++stats_.failed_attempts;
    last_error_ = what;
    const auto down = unavailable_for();
    if (!alerted_ && down >= cfg_.unavailable_alert_after) {
      alerted_ = true;
      last_alert_ = now;
      notify = true;
    } else if (alerted_ && now - last_alert_ >= cfg_.alert_repeat) {
      last_alert_ = now;
      notify = true;
    }
    rep = report_locked(!notify && healthy());
  }
  if (first)
    pt::log::warn("ledger: write failed; buffering events and retrying", {{"error", what}, {"buffered", rep.buffered}});
  if (notify) {
    rep.healthy = false;
    pt::log::error("ledger: UNAVAILABLE: cannot write to PostgreSQL; events are buffered in memory",
                   {{"unavailable_ms", rep.unavailable_for.count()},
                    {"buffered", rep.buffered},
                    {"queue_capacity", cfg_.queue_capacity},
                    {"error", what}});
    if (hooks_.on_health) hooks_.on_health(rep);
  }
}

void appender::on_success() {
  const auto since = failing_since_ns_.load();
  if (since == 0) return;
  const auto down = unavailable_for();
  failing_since_ns_.store(0);
  health_report rep;
  {
    std::lock_guard lk(mu_);
    rep = report_locked(true);
    rep.unavailable_for = down;
  }
  const bool was_alerted = alerted_;
  alerted_ = false;
  pt::log::write(was_alerted ? pt::log::level::warn : pt::log::level::info, "ledger: writes succeed again",
                 {{"unavailable_ms", down.count()}, {"buffered", rep.buffered}});
  if (was_alerted && hooks_.on_health) hooks_.on_health(rep);
}

}  // namespace pt::ledger
