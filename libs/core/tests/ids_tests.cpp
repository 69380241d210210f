#include "core/ids.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

using pt::core::uuid;
using pt::core::uuid_parse_error;

TEST_CASE("ids: random() gives version 4, RFC 4122 variant, all unique over 100k") {
  std::unordered_set<uuid> seen;
  seen.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) {
    const uuid u = uuid::random();
    REQUIRE(u.version() == 4);
    REQUIRE(u.is_rfc4122());
    REQUIRE(u.to_string()[14] == '4');
    REQUIRE(std::string("89ab").find(u.to_string()[19]) != std::string::npos);
    seen.insert(u);
  }
  CHECK(seen.size() == 100'000);
}

TEST_CASE("ids: from_seed is deterministic v5 in the Polytrade namespace") {
  const uuid a = uuid::from_seed("order:1");
  CHECK(a == uuid::from_seed("order:1"));
  CHECK(a != uuid::from_seed("order:2"));
  CHECK(a != uuid::from_seed("order:1 "));
  CHECK(a.version() == 5);
  CHECK(a.is_rfc4122());
  // Reference values computed independently with Python's uuid.uuid5.
  CHECK(a.to_string() == "59799d27-db49-578d-822d-666395fcae35");
  CHECK(uuid::v5(uuid::dns_namespace(), "python.org").to_string() == "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  CHECK(uuid::polytrade_namespace() == uuid::v5(uuid::url_namespace(), "urn:polytrade:ids"));
  CHECK(uuid::polytrade_namespace().to_string() == "8666ab52-dc5d-5b6e-9bb6-d78b59bf5e57");
  CHECK(uuid::from_seed("") == uuid::from_seed(""));
  CHECK(uuid::from_seed("") != uuid::from_seed(std::string_view("\0", 1)));
  std::unordered_set<uuid> distinct;
  for (int i = 0; i < 10'000; ++i) distinct.insert(uuid::from_seed("fill:" + std::to_string(i)));
  CHECK(distinct.size() == 10'000);
}

TEST_CASE("ids: to_string is lower-case canonical and parse round-trips") {
  const uuid u = uuid::parse("6BA7B811-9DAD-11D1-80B4-00C04FD430C8");
  CHECK(u == uuid::url_namespace());
  CHECK(u.to_string() == "6ba7b811-9dad-11d1-80b4-00c04fd430c8");
  CHECK(uuid().to_string() == "00000000-0000-0000-0000-000000000000");
  CHECK(uuid().is_nil());
  CHECK_FALSE(u.is_nil());
  for (int i = 0; i < 1'000; ++i) {
    const uuid r = uuid::random();
    REQUIRE(uuid::parse(r.to_string()) == r);
    REQUIRE(*uuid::try_parse(r.to_string()) == r);
  }
}

TEST_CASE("ids: parse rejects malformed strings with a reason") {
  struct row {
    std::string text;
    const char* reason;
  };
  const std::vector<row> rows = {
      {"", "length is 0"},
      {"not-a-uuid", "length is 10"},
      {"6ba7b8119dad11d180b400c04fd430c8", "length is 32"},
      {"6ba7b811-9dad-11d1-80b4-00c04fd430c", "length is 35"},
      {"6ba7b811-9dad-11d1-80b4-00c04fd430c88", "length is 37"},
      {"{6ba7b811-9dad-11d1-80b4-00c04fd430c8}", "length is 38"},
      {"urn:uuid:6ba7b811-9dad-11d1-80b4-00c04fd430c8", "length is 45"},
      {"6ba7b811-9dad-11d1-80b4-00c04fd430cg", "'g' at position 35 is not a hex digit"},
      {"6ba7b811x9dad-11d1-80b4-00c04fd430c8", "expected '-' at position 8"},
      {"6ba7b8119-dad-11d1-80b4-00c04fd430c8", "expected '-' at position 8"},
      {"6ba7b811-9dad-11d1-80b4-00c04fd430 8", "position 34 is not a hex digit"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    CHECK_THROWS_AS(uuid::parse(r.text), uuid_parse_error);
    CHECK_THROWS_WITH(uuid::parse(r.text), Catch::Contains(r.reason));
    CHECK_FALSE(uuid::try_parse(r.text).has_value());
  }
}

TEST_CASE("ids: ordering follows the bytes, nil first") {
  std::vector<uuid> v = {uuid::parse("00000000-0000-0000-0000-000000000002"), uuid(),
                         uuid::parse("ff000000-0000-0000-0000-000000000000"),
                         uuid::parse("00000000-0000-0000-0000-000000000001")};
  std::sort(v.begin(), v.end());
  CHECK(v[0] == uuid());
  CHECK(v[1].to_string() == "00000000-0000-0000-0000-000000000001");
  CHECK(v[2].to_string() == "00000000-0000-0000-0000-000000000002");
  CHECK(v[3].to_string() == "ff000000-0000-0000-0000-000000000000");
  CHECK(v[1] < v[2]);
  CHECK(v[2] != v[1]);
}

TEST_CASE("ids: JSON carries a uuid as its string") {
  const uuid u = uuid::from_seed("event:7");
  nlohmann::json j = u;
  CHECK(j.is_string());
  CHECK(j == u.to_string());
  CHECK(j.get<uuid>() == u);
  CHECK_THROWS_AS(nlohmann::json(7).get<uuid>(), uuid_parse_error);
  CHECK_THROWS_AS(nlohmann::json("nope").get<uuid>(), uuid_parse_error);
}
