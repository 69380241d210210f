#pragma once
// A small blocking HTTP client on libcurl: one easy handle per client, so keep-alive connections are
// reused between requests. Transport failures come back as transport_error (retry.hpp), never as
// exceptions: the caller classifies them (a timeout after sending an order is ambiguous).
#include "venue/retry.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pt::connectors {

struct http_request {
  std::string method = "GET";  // GET POST PUT DELETE
  std::string url;             // full URL including the query string
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // set with a body
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds connect_timeout{3000};
};

struct http_response {
  venue::transport_error transport = venue::transport_error::none;
  std::string transport_detail;  // curl's message when transport != none
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower case
  std::chrono::microseconds elapsed{0};
  [[nodiscard]] const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

class http_client {
 public:
  http_client();
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Not thread-safe: one request at a time per client.
  http_response send(const http_request& r);
  // Bodies above this are cut off and reported as a transport error (a venue never sends that much).
  static constexpr std::size_t max_body = 32 * 1024 * 1024;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pt::connectors
