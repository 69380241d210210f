#pragma once
// The connections one stream object (poloniex_stream, binance_stream) holds: each session is
// started before it is added, stopped (and its thread joined) by stop_all(), and their counters
// are summed. Sessions are started and stopped outside the lock, so a handler that calls back
// into the stream never deadlocks on it.
#include "ws_client.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pt::connectors {

template <class Session>
class stream_sessions {
 public:
  void add(std::unique_ptr<Session> s) {
    s->start();
    std::lock_guard lock(mu_);
    items_.push_back(std::move(s));
  }

  void stop_all() {
    std::vector<std::unique_ptr<Session>> all;
    {
      std::lock_guard lock(mu_);
      all.swap(items_);
    }
    for (auto& s : all) s->stop();
  }

  [[nodiscard]] ws_client::stats counters() const {
    ws_client::stats sum;
    std::lock_guard lock(mu_);
    for (const auto& s : items_) sum += s->counters();
    return sum;
  }

  // "" for the first subscribe_public call, then "#2", "#3" ...: each call opens its own
  // connections, and their names must differ.
  [[nodiscard]] std::string next_public_suffix() {
    std::lock_guard lock(mu_);
    const int n = ++public_count_;
    return n == 1 ? "" : "#" + std::to_string(n);
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Session>> items_;
  int public_count_ = 0;
};

}  // namespace pt::connectors
