#include "core/ids.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <uuid/uuid.h>

#include <cstring>
#include <ostream>

namespace pt::core {

namespace {

static_assert(sizeof(uuid_t) == 16);

constexpr std::array<std::size_t, 4> dash_positions = {8, 13, 18, 23};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The reason is only formatted when the caller asks for it (try_parse does not).
std::optional<uuid> parse_impl(std::string_view s, std::string* reason) {
  auto fail = [&](auto why) -> std::optional<uuid> {
    if (reason) *reason = why();
    return std::nullopt;
  };
  if (s.size() != 36) return fail([&] { return fmt::format("length is {}, expected 36", s.size()); });
  uuid::bytes_type bytes{};
  std::size_t b = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (i == dash_positions[0] || i == dash_positions[1] || i == dash_positions[2] || i == dash_positions[3]) {
      if (s[i] != '-') return fail([&] { return fmt::format("expected '-' at position {}", i); });
      ++i;
      continue;
    }
    const int hi = hex_value(s[i]);
    const int lo = hex_value(s[i + 1]);
    if (hi < 0) return fail([&] { return fmt::format("'{}' at position {} is not a hex digit", s[i], i); });
    if (lo < 0) return fail([&] { return fmt::format("'{}' at position {} is not a hex digit", s[i + 1], i + 1); });
    bytes[b++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return uuid(bytes);
}

uuid from_raw(const uuid_t raw) {
  uuid::bytes_type bytes;
  std::memcpy(bytes.data(), raw, bytes.size());
  return uuid(bytes);
}

}  // namespace

uuid uuid::random() {
  uuid_t raw;
  uuid_generate_random(raw);
  return from_raw(raw);
}

uuid uuid::v5(const uuid& name_space, std::string_view name) {
  uuid_t raw;
  uuid_generate_sha1(raw, name_space.bytes_.data(), name.data(), name.size());
  return from_raw(raw);
}

uuid uuid::from_seed(std::string_view seed) { return v5(polytrade_namespace(), seed); }

uuid uuid::parse(std::string_view text) {
  std::string reason;
  if (auto u = parse_impl(text, &reason)) return *u;
  const std::string shown = text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text);
  throw uuid_parse_error(fmt::format("uuid: cannot parse \"{}\": {} (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                     shown, reason));
}

std::optional<uuid> uuid::try_parse(std::string_view text) noexcept { return parse_impl(text, nullptr); }

const uuid& uuid::url_namespace() {
  static const uuid u({0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8});
  return u;
}

const uuid& uuid::dns_namespace() {
  static const uuid u({0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8});
  return u;
}

const uuid& uuid::polytrade_namespace() {
  // = v5(url_namespace(), "urn:polytrade:ids"); a test checks the derivation. Never change it.
  static const uuid u({0x86, 0x66, 0xab, 0x52, 0xdc, 0x5d, 0x5b, 0x6e, 0x9b, 0xb6, 0xd7, 0x8b, 0x59, 0xbf, 0x5e, 0x57});
  return u;
}

std::string uuid::to_string() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (std::size_t b = 0; b < bytes_.size(); ++b) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    out[pos++] = hex[bytes_[b] >> 4];
    out[pos++] = hex[bytes_[b] & 0x0F];
  }
  return out;
}

bool uuid::is_nil() const {
  for (auto b : bytes_)
    if (b != 0) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const uuid& u) { return os << u.to_string(); }

void to_json(nlohmann::json& j, const uuid& u) { j = u.to_string(); }

void from_json(const nlohmann::json& j, uuid& u) {
  if (!j.is_string())
    throw uuid_parse_error(fmt::format("uuid: expected a JSON string, got a JSON {}", j.type_name()));
  u = uuid::parse(j.get_ref<const std::string&>());
}

}  // namespace pt::core

std::size_t std::hash<pt::core::uuid>::operator()(const pt::core::uuid& u) const noexcept {
  // v4 bytes are already random; mixing both halves keeps v5 and hand-made ids spread too.
  std::uint64_t hi, lo;
  std::memcpy(&hi, u.bytes().data(), 8);
  std::memcpy(&lo, u.bytes().data() + 8, 8);
  std::uint64_t h = hi ^ (lo + 0x9e3779b97f4a7c15ULL + (hi << 6) + (hi >> 2));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}
