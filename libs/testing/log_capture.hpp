#pragma once
// Captures every log line (all threads) while it lives, for assertions on what was logged.
#include "core/log.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace pt::testing {

class log_capture {
 public:
  log_capture() {
    pt::log::set_sink([this](std::string_view l) {
      std::lock_guard g(mu_);
      lines_.emplace_back(l);
    });
  }
  ~log_capture() { pt::log::set_sink(nullptr); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  [[nodiscard]] std::vector<std::string> lines() {
    std::lock_guard g(mu_);
    return lines_;
  }
  // Lines that contain every one of `needles`.
  [[nodiscard]] std::size_t matching(const std::vector<std::string>& needles) {
    std::lock_guard g(mu_);
    std::size_t n = 0;
    for (const auto& l : lines_) {
      bool all = true;
      for (const auto& s : needles) all = all && l.find(s) != std::string::npos;
      n += all;
    }
    return n;
  }
  [[nodiscard]] std::size_t count(const std::string& needle) { return matching({needle}); }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace pt::testing
