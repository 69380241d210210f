#include "venue/loopback.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace pt::venue {

namespace {

bool ipv4_loopback(std::string_view h) {
  // 127.a.b.c with four decimal octets 0..255.
  int octets = 0;
  std::size_t i = 0;
  int first = -1;
  while (i <= h.size()) {
    const std::size_t dot = std::min(h.find('.', i), h.size());
    const std::string_view part = h.substr(i, dot - i);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    const int v = std::stoi(std::string(part));
    if (v > 255) return false;
    if (octets == 0) first = v;
    ++octets;
    i = dot + 1;
  }
  return octets == 4 && first == 127;
}

}  // namespace

bool is_loopback_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https" && scheme != "ws" && scheme != "wss") return false;
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.find('@') != std::string_view::npos) return false;  // userinfo: refuse rather than guess
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else {
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
  }
  if (!rest.empty()) {  // ":port"
    const auto port = rest.substr(1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
  }
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  return h == "localhost" || h == "[::1]" || ipv4_loopback(h);
}

}  // namespace pt::venue
