#pragma once
// JSON plumbing shared by the venue wire codecs (poloniex_wire, binance_wire).
//
// Reading: parse_document() is the one door from venue text to a DOM. It refuses payloads over
// 16 MiB and nesting deeper than 64, never throws anything but parse_error, and keeps every
// non-integral JSON number as its exact source text (stored as a JSON string), so a price that
// arrives as the number 0.1 never passes through a double. Integers stay integers. The field
// readers accept a decimal or an integer written either as a JSON string or as a JSON number
// (exchanges.md A10.5) and throw parse_error naming the field.
//
// Writing: dec() writes a decimal as the JSON string the venues use ("42000.5").
#include "core/decimal.hpp"
#include "venue/venue.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <string_view>

namespace pt::venue::wire {

using json = nlohmann::json;

inline constexpr std::size_t max_payload_bytes = std::size_t{16} << 20;
inline constexpr int max_nesting = 64;

// Throws parse_error("invalid JSON" / "payload too large" / "nesting too deep").
[[nodiscard]] json parse_document(std::string_view text);

// ---- structure -------------------------------------------------------------------------------
// Both return their argument, so they check and pass through in one expression.
const json& as_object(const json& j, std::string_view what);
const json& as_array(const json& j, std::string_view what);
// A present, non-null member; throws "missing field 'key'".
[[nodiscard]] const json& require(const json& obj, std::string_view key);
// nullptr when absent or null.
[[nodiscard]] const json* find(const json& obj, std::string_view key);
// Element i of an array row; throws "row too short".
[[nodiscard]] const json& at(const json& row, std::size_t i, std::string_view what);

// ---- scalars (`what` names the field in the error) --------------------------------------------
[[nodiscard]] core::decimal to_decimal(const json& v, std::string_view what);  // more than 9 digits: half-even
[[nodiscard]] std::int64_t to_int(const json& v, std::string_view what);       // integer, or its digits
[[nodiscard]] std::string to_text(const json& v, std::string_view what);       // string only
[[nodiscard]] std::string to_id(const json& v, std::string_view what);         // string or integer
[[nodiscard]] bool to_bool(const json& v, std::string_view what);              // bool or "true"/"false"
// An integral decimal in [lo, hi] ("20", 20, "20.0").
[[nodiscard]] int to_small_int(const json& v, std::string_view what, int lo, int hi);

// ---- object members -----------------------------------------------------------------------------
[[nodiscard]] core::decimal get_decimal(const json& obj, std::string_view key);
// Absent, null or "" (Poloniex writes "" for unset prices) is nullopt.
[[nodiscard]] std::optional<core::decimal> opt_decimal(const json& obj, std::string_view key);
[[nodiscard]] core::decimal decimal_or(const json& obj, std::string_view key, core::decimal fallback);
[[nodiscard]] std::int64_t get_int(const json& obj, std::string_view key);
[[nodiscard]] std::optional<std::int64_t> opt_int(const json& obj, std::string_view key);
[[nodiscard]] std::string get_text(const json& obj, std::string_view key);
[[nodiscard]] std::string text_or(const json& obj, std::string_view key, std::string fallback = {});
[[nodiscard]] std::string get_id(const json& obj, std::string_view key);
[[nodiscard]] std::string id_or(const json& obj, std::string_view key, std::string fallback = {});
[[nodiscard]] bool get_bool(const json& obj, std::string_view key);
[[nodiscard]] bool bool_or(const json& obj, std::string_view key, bool fallback);

// ASCII case-insensitive equality: venues spell enums "BUY" and "buy".
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

// ---- writing ----------------------------------------------------------------------------------
[[nodiscard]] inline json dec(core::decimal d) { return d.to_string(); }
// An id made of digits that fits int64 as a JSON number (venues send numeric ids as numbers),
// anything else as a string.
[[nodiscard]] json id_value(const std::string& id);

// Runs f; every failure other than parse_error, venue_error and bad_alloc becomes parse_error.
// parse_error messages get `what` as a prefix so the log line names the payload.
template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const venue_error&) {
    throw;
  } catch (const parse_error& e) {
    throw parse_error(std::string(what) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw parse_error(std::string(what) + ": " + e.what());
  }
}

}  // namespace pt::venue::wire
