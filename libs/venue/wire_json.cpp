#include "venue/wire_json.hpp"

#include <charconv>
#include <limits>

namespace pt::venue::wire {

namespace {

using core::decimal;

// Builds the DOM through nlohmann's own DOM builder, with two changes: nesting is bounded, and a
// non-integral number is stored as its source text so no decimal value is rounded by a double.
class exact_sax {
 public:
  explicit exact_sax(json& root) : dom_(root, false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t /*rounded*/, const json::string_t& text) {
    json::string_t copy = text;
    return dom_.string(copy);
  }
  bool string(json::string_t& s) { return dom_.string(s); }
  bool binary(json::binary_t& b) { return dom_.binary(b); }
  bool start_object(std::size_t n) { return enter() && dom_.start_object(n); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t /*pos*/, const std::string& /*token*/, const Exception& /*e*/) {
    return false;
  }

  [[nodiscard]] bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    if (++depth_ > max_nesting) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  int depth_ = 0;
  bool too_deep_ = false;
};

std::string quoted(std::string_view key) { return "field '" + std::string(key) + "'"; }

bool parse_int_text(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

json parse_document(std::string_view text) {
  if (text.size() > max_payload_bytes) throw parse_error("payload too large");
  json root;
  exact_sax sax(root);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, true, false);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    ok = false;
  }
  if (sax.too_deep()) throw parse_error("nesting too deep");
  if (!ok) throw parse_error("invalid JSON");
  return root;
}

const json& as_object(const json& j, std::string_view what) {
  if (!j.is_object()) throw parse_error(std::string(what) + ": expected an object");
  return j;
}

const json& as_array(const json& j, std::string_view what) {
  if (!j.is_array()) throw parse_error(std::string(what) + ": expected an array");
  return j;
}

const json& require(const json& obj, std::string_view key) {
  if (!obj.is_object()) throw parse_error("expected an object holding " + quoted(key));
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) throw parse_error("missing " + quoted(key));
  return *it;
}

const json* find(const json& obj, std::string_view key) {
  if (!obj.is_object()) throw parse_error("expected an object holding " + quoted(key));
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& at(const json& row, std::size_t i, std::string_view what) {
  if (!row.is_array()) throw parse_error(std::string(what) + ": expected an array row");
  if (i >= row.size()) throw parse_error(std::string(what) + ": row too short");
  return row[i];
}

decimal to_decimal(const json& v, std::string_view what) {
  try {
    if (v.is_string()) return decimal::parse_rounded(v.get_ref<const std::string&>(), core::rounding::half_even);
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
        throw parse_error("out of range");
      }
      return decimal::from_integer(v.get<std::int64_t>());
    }
    if (v.is_number_float()) {
      // Only a DOM not built by parse_document holds doubles; their shortest form is the text.
      return decimal::parse_rounded(v.dump(), core::rounding::half_even);
    }
  } catch (const core::decimal_error& e) {
    throw parse_error(quoted(what) + ": not a decimal (" + e.what() + ")");
  } catch (const parse_error&) {
    throw parse_error(quoted(what) + ": decimal out of range");
  }
  throw parse_error(quoted(what) + ": expected a decimal");
}

std::int64_t to_int(const json& v, std::string_view what) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max())) throw parse_error(quoted(what) + ": out of range");
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    std::int64_t out = 0;
    if (parse_int_text(v.get_ref<const std::string&>(), out)) return out;
  }
  throw parse_error(quoted(what) + ": expected an integer");
}

std::string to_text(const json& v, std::string_view what) {
  if (!v.is_string()) throw parse_error(quoted(what) + ": expected a string");
  return v.get<std::string>();
}

std::string to_id(const json& v, std::string_view what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  throw parse_error(quoted(what) + ": expected an id");
}

bool to_bool(const json& v, std::string_view what) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (iequals(s, "true")) return true;
    if (iequals(s, "false")) return false;
  }
  throw parse_error(quoted(what) + ": expected a boolean");
}

int to_small_int(const json& v, std::string_view what, int lo, int hi) {
  const decimal d = to_decimal(v, what);
  const decimal whole = core::round_to_step(d, decimal::one(), core::rounding::down);
  if (whole != d) throw parse_error(quoted(what) + ": expected a whole number");
  if (d < decimal::from_integer(lo) || d > decimal::from_integer(hi)) throw parse_error(quoted(what) + ": out of range");
  return static_cast<int>(d.units() / decimal::scale);
}

decimal get_decimal(const json& obj, std::string_view key) { return to_decimal(require(obj, key), key); }

std::optional<decimal> opt_decimal(const json& obj, std::string_view key) {
  const json* v = find(obj, key);
  if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) return std::nullopt;
  return to_decimal(*v, key);
}

decimal decimal_or(const json& obj, std::string_view key, decimal fallback) {
  return opt_decimal(obj, key).value_or(fallback);
}

std::int64_t get_int(const json& obj, std::string_view key) { return to_int(require(obj, key), key); }

std::optional<std::int64_t> opt_int(const json& obj, std::string_view key) {
  const json* v = find(obj, key);
  if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) return std::nullopt;
  return to_int(*v, key);
}

std::string get_text(const json& obj, std::string_view key) { return to_text(require(obj, key), key); }

std::string text_or(const json& obj, std::string_view key, std::string fallback) {
  const json* v = find(obj, key);
  return v == nullptr ? fallback : to_text(*v, key);
}

std::string get_id(const json& obj, std::string_view key) { return to_id(require(obj, key), key); }

std::string id_or(const json& obj, std::string_view key, std::string fallback) {
  const json* v = find(obj, key);
  return v == nullptr ? fallback : to_id(*v, key);
}

bool get_bool(const json& obj, std::string_view key) { return to_bool(require(obj, key), key); }

bool bool_or(const json& obj, std::string_view key, bool fallback) {
  const json* v = find(obj, key);
  if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) return fallback;
  return to_bool(*v, key);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

json id_value(const std::string& id) {
  std::int64_t n = 0;
  if (!id.empty() && id.size() <= 19 && id[0] != '-' && id[0] != '+' && (id.size() == 1 || id[0] != '0') &&
      parse_int_text(id, n)) {
    return n;
  }
  return id;
}

}  // namespace pt::venue::wire
