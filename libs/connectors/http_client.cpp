#include "http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace pt::connectors {

namespace {

std::once_flag curl_init;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<http_response*>(user);
  const std::size_t len = size * n;
  if (out->body.size() + len > http_client::max_body) return 0;  // aborts the transfer
  out->body.append(data, len);
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<http_response*>(user);
  const std::size_t len = size * n;
  std::string line(data, len);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const auto b = value.find_first_not_of(" \t");
    const auto e = value.find_last_not_of(" \t\r\n");
    out->headers[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return len;
}

venue::transport_error classify(CURLcode code, bool sent) {
  switch (code) {
    case CURLE_OK: return venue::transport_error::none;
    case CURLE_OPERATION_TIMEDOUT: return sent ? venue::transport_error::timeout : venue::transport_error::connect;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return venue::transport_error::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: return venue::transport_error::tls;
    default: return sent ? venue::transport_error::reset : venue::transport_error::connect;
  }
}

}  // namespace

struct http_client::impl {
  CURL* curl = nullptr;
};

http_client::http_client() : impl_(std::make_unique<impl>()) {
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->curl = curl_easy_init();
  if (impl_->curl == nullptr) throw std::runtime_error("curl_easy_init failed");
}

http_client::~http_client() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

http_response http_client::send(const http_request& r) {
  http_response out;
  CURL* c = impl_->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (r.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : r.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  if (!r.body.empty() || r.method != "GET")
    headers = curl_slist_append(headers, ("Content-Type: " + (r.content_type.empty() ? std::string("application/json")
                                                                                     : r.content_type)).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  const auto t0 = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(c);
  out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    // Whether the request left: curl reports the time the upload finished (0 = not sent).
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    out.transport = classify(code, pretransfer > 0);
    out.transport_detail = curl_easy_strerror(code);
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  return out;
}

}  // namespace pt::connectors
