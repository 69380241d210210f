#pragma once
// Ledger settings, read from the `ledger.` keys of a pt::config::document.
#include <chrono>
#include <cstddef>
#include <string>

namespace pt::config {
class document;
}

namespace pt::ledger {

struct config {
  std::string url;                                         // ledger.url (alias DATABASE_URL); a secret
  std::size_t batch_size = 2000;                           // ledger.batch_size: most events per append transaction
  std::chrono::milliseconds flush_interval{5};             // ledger.flush_interval: longest an event waits for a batch
  std::size_t queue_capacity = 100000;                     // ledger.queue_capacity: buffered events before backpressure
  std::chrono::milliseconds unavailable_alert_after{5000}; // ledger.unavailable_alert_after
  std::chrono::milliseconds retry_backoff_max{2000};       // ledger.retry_backoff_max
  // ledger.synchronous_commit: false = commits do not wait for the WAL fsync (store_options).
  bool synchronous_commit = true;
  // Not configurable from YAML (tests shorten them):
  std::chrono::milliseconds retry_backoff_initial{50};
  std::chrono::milliseconds alert_repeat{3000};            // how often the "still unavailable" error repeats
  std::chrono::milliseconds connect_timeout{3000};

  // Reads and validates ledger.* (unknown keys under ledger. are rejected), marks ledger.url secret.
  static config from(const pt::config::document& doc);
};

}  // namespace pt::ledger
