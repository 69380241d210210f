#include "venue/loopback.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <string>

namespace pt::venue {

namespace {

// a.b.c.d with four decimal octets 0..255, or false.
bool ipv4(std::string_view h, int (&o)[4]) {
  int octets = 0;
  std::size_t i = 0;
  while (i <= h.size()) {
    const std::size_t dot = std::min(h.find('.', i), h.size());
    const std::string_view part = h.substr(i, dot - i);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    const int v = std::stoi(std::string(part));
    if (v > 255 || octets == 4) return false;
    o[octets++] = v;
    i = dot + 1;
  }
  return octets == 4;
}

bool ipv4_loopback(std::string_view h) {
  int o[4];
  return ipv4(h, o) && o[0] == 127;
}

bool loopback_host(const std::string& h) { return h == "localhost" || h == "[::1]" || ipv4_loopback(h); }

// The URL's host, lower-cased, when the URL is a well-formed http(s)/ws(s) URL without userinfo.
std::optional<std::string> url_host(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https" && scheme != "ws" && scheme != "wss") return std::nullopt;
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.find('@') != std::string_view::npos) return std::nullopt;  // userinfo: refuse rather than guess
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
  } else {
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
  }
  if (!rest.empty()) {  // ":port"
    const auto port = rest.substr(1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
  }
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  if (h.empty()) return std::nullopt;
  return h;
}

}  // namespace

bool is_loopback_url(std::string_view url) {
  const auto h = url_host(url);
  return h && loopback_host(*h);
}

bool is_private_network_url(std::string_view url) {
  const auto h = url_host(url);
  if (!h) return false;
  if (loopback_host(*h)) return true;
  int o[4];
  if (ipv4(*h, o)) return o[0] == 10 || (o[0] == 172 && o[1] >= 16 && o[1] <= 31) || (o[0] == 192 && o[1] == 168);
  if (h->front() == '[') return h->size() > 3 && ((*h)[1] == 'f' && ((*h)[2] == 'c' || (*h)[2] == 'd'));  // fc00::/7
  const bool name_chars = std::all_of(h->begin(), h->end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  // A name starts with a letter: an all-digit or 0x label ("134744072", "0x08080808") is an
  // IPv4 address to the resolver, possibly a public one.
  if (!name_chars || h->front() < 'a' || h->front() > 'z') return false;
  if (h->find('.') == std::string::npos) return true;  // a single label: a compose service name
  const std::string suffix = ".railway.internal";
  return h->size() > suffix.size() && h->compare(h->size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_paper_venue_url(std::string_view url) {
  if (is_loopback_url(url)) return true;
  const char* opt_in = std::getenv("POLYTRADE_PAPER_PRIVATE_VENUE");
  return opt_in && std::string_view(opt_in) == "1" && is_private_network_url(url);
}

bool is_paper_venue(std::string_view rest_url, std::string_view ws_url) {
  return is_paper_venue_url(rest_url) && (ws_url.empty() || is_paper_venue_url(ws_url));
}

}  // namespace pt::venue
