#include "venue/client_order_id.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace pt::venue {
namespace {

constexpr std::string_view prefix = "pt";
// Lower-case base32 without look-alikes (Crockford's set): no i, l, o, u.
constexpr std::string_view alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t hash_chars = 26;  // 130 bits

void append_field(std::string& out, std::string_view field) {
  // Length prefix makes the encoding unambiguous ("ab"+"c" != "a"+"bc").
  out += std::to_string(field.size());
  out += ':';
  out.append(field);
  out += '|';
}

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed in OpenSSL");
  }
  return out;
}

void require(const std::string& value, const char* name) {
  if (value.empty()) {
    throw std::invalid_argument(std::string("make_client_order_id: order_intent.") + name +
                                " is empty");
  }
}

}  // namespace

std::string make_client_order_id(const order_intent& intent) {
  require(intent.strategy, "strategy");
  require(intent.symbol, "symbol");
  require(intent.signal_id, "signal_id");
  std::string material = "polytrade-clordid-v1|";  // versioned: changing it changes every id
  append_field(material, intent.strategy);
  append_field(material, intent.symbol);
  append_field(material, intent.side == order_side::buy ? "buy" : "sell");
  append_field(material, intent.signal_id);
  append_field(material, intent.leg);
  append_field(material, std::to_string(intent.attempt));
  const auto digest = sha256(material);

  std::string id;
  id.reserve(client_order_id_length);
  id.append(prefix);
  id.push_back(intent.side == order_side::buy ? 'b' : 's');
  id.push_back('-');
  // Read the digest as a bit stream, 5 bits per character.
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t byte = 0;
  while (id.size() < client_order_id_length) {
    if (bits < 5) {
      acc = (acc << 8) | digest[byte++];
      bits += 8;
    }
    bits -= 5;
    id.push_back(alphabet[(acc >> bits) & 0x1F]);
  }
  static_assert(prefix.size() + 2 + hash_chars == client_order_id_length);
  return id;
}

bool valid_binance_client_order_id(std::string_view id) {
  if (id.empty() || id.size() > binance_client_order_id_max) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == ':' || c == '/' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_poloniex_client_order_id(std::string_view id) {
  if (id.empty() || id.size() > poloniex_client_order_id_max) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_polytrade_client_order_id(std::string_view id) {
  if (id.size() != client_order_id_length || id.substr(0, 2) != prefix) return false;
  if (id[2] != 'b' && id[2] != 's') return false;
  if (id[3] != '-') return false;
  for (char c : id.substr(4)) {
    if (alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace pt::venue
