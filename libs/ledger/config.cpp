#include "config.hpp"

#include "core/config.hpp"

namespace pt::ledger {

config config::from(const pt::config::document& doc) {
  using std::chrono::milliseconds;
  doc.require_only("ledger", {"url", "batch_size", "flush_interval", "queue_capacity", "unavailable_alert_after",
                              "retry_backoff_max", "synchronous_commit"});
  doc.mark_secret("ledger.url");
  config c;
  c.url = doc.get_string("ledger.url");
  c.batch_size = static_cast<std::size_t>(doc.get_int("ledger.batch_size", 1, 100000, 2000));
  c.flush_interval = doc.get_duration("ledger.flush_interval", milliseconds(0), milliseconds(10000), milliseconds(5));
  c.queue_capacity = static_cast<std::size_t>(doc.get_int("ledger.queue_capacity", 1, 100000000, 100000));
  c.unavailable_alert_after =
      doc.get_duration("ledger.unavailable_alert_after", milliseconds(100), milliseconds(3600000), milliseconds(5000));
  c.retry_backoff_max =
      doc.get_duration("ledger.retry_backoff_max", milliseconds(10), milliseconds(600000), milliseconds(2000));
  c.synchronous_commit = doc.get_bool("ledger.synchronous_commit", true);
  if (c.queue_capacity < c.batch_size)
    doc.fail("ledger.queue_capacity", "must be at least ledger.batch_size (" + std::to_string(c.batch_size) + ")");
  return c;
}

}  // namespace pt::ledger
