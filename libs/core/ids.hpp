#pragma once
// UUIDs (RFC 4122) as a 16-byte value type. random() gives v4 ids for things that only need
// to be unique; from_seed() gives v5 ids that are the same every time for the same seed
// string, so a replay or a retry produces the same event/order id and the ledger dedupes it.
//
// from_seed(s) = v5(polytrade_namespace(), s). The namespace is itself
// v5(RFC 4122 URL namespace, "urn:polytrade:ids") = 8666ab52-dc5d-5b6e-9bb6-d78b59bf5e57.
// It is fixed forever: changing it would change every deterministic id already stored.
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::core {

class uuid_parse_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class uuid {
 public:
  using bytes_type = std::array<std::uint8_t, 16>;

  constexpr uuid() = default;  // the nil uuid 00000000-0000-0000-0000-000000000000
  constexpr explicit uuid(const bytes_type& bytes) : bytes_(bytes) {}

  [[nodiscard]] static uuid random();                          // version 4 (libuuid)
  [[nodiscard]] static uuid from_seed(std::string_view seed);  // version 5 in polytrade_namespace()
  [[nodiscard]] static uuid v5(const uuid& name_space, std::string_view name);  // SHA-1 (libuuid)

  // Canonical 8-4-4-4-12 hex form; upper- or lower-case hex accepted. Anything else (braces,
  // "urn:uuid:", missing dashes, wrong length, non-hex) throws uuid_parse_error.
  [[nodiscard]] static uuid parse(std::string_view text);
  [[nodiscard]] static std::optional<uuid> try_parse(std::string_view text) noexcept;

  [[nodiscard]] static const uuid& polytrade_namespace();
  [[nodiscard]] static const uuid& url_namespace();  // RFC 4122 NameSpace_URL
  [[nodiscard]] static const uuid& dns_namespace();  // RFC 4122 NameSpace_DNS

  [[nodiscard]] std::string to_string() const;  // lower-case canonical
  [[nodiscard]] constexpr const bytes_type& bytes() const { return bytes_; }
  [[nodiscard]] bool is_nil() const;
  [[nodiscard]] int version() const { return bytes_[6] >> 4; }
  // True for the RFC 4122 variant (10xx in the top bits of byte 8).
  [[nodiscard]] bool is_rfc4122() const { return (bytes_[8] & 0xC0) == 0x80; }

  friend constexpr bool operator==(const uuid&, const uuid&) = default;
  friend constexpr std::strong_ordering operator<=>(const uuid&, const uuid&) = default;

 private:
  bytes_type bytes_{};
};

std::ostream& operator<<(std::ostream& os, const uuid& u);

// JSON carries a uuid as its canonical string.
void to_json(nlohmann::json& j, const uuid& u);
void from_json(const nlohmann::json& j, uuid& u);

}  // namespace pt::core

template <>
struct std::hash<pt::core::uuid> {
  std::size_t operator()(const pt::core::uuid& u) const noexcept;
};
