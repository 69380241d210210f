#include "venue/catalog.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pt::venue {
namespace {

using nlohmann::json;

class checker {
 public:
  checker(std::string file, catalog_result& out) : file_(std::move(file)), out_(out) {}

  void error(const std::string& market, const std::string& field, const std::string& reason) {
    out_.errors.push_back(where(market, field) + reason);
  }
  void warning(const std::string& market, const std::string& field, const std::string& reason) {
    out_.warnings.push_back(where(market, field) + reason);
  }

  // Prices, sizes and fees are JSON strings (a double would lose digits).
  std::optional<core::decimal> decimal_field(const json& m, const std::string& market, const char* field) {
    if (!m.contains(field)) return std::nullopt;
    const json& v = m.at(field);
    if (!v.is_string()) {
      error(market, field, "must be a decimal string");
      return std::nullopt;
    }
    auto d = core::decimal::try_parse(v.get<std::string>());
    if (!d) error(market, field, "is not a decimal: \"" + v.get<std::string>() + "\"");
    return d;
  }

  std::optional<core::decimal> positive_field(const json& m, const std::string& market, const char* field) {
    auto d = decimal_field(m, market, field);
    if (d && !d->is_positive()) {
      error(market, field, "must be > 0, got " + d->to_string());
      return std::nullopt;
    }
    return d;
  }

  std::optional<int> int_field(const json& m, const std::string& market, const char* field, int lo, int hi) {
    if (!m.contains(field)) return std::nullopt;
    const json& v = m.at(field);
    if (!v.is_number_integer()) {
      error(market, field, "must be an integer");
      return std::nullopt;
    }
    const auto n = v.get<std::int64_t>();
    if (n < lo || n > hi) {
      error(market, field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                               std::to_string(n));
      return std::nullopt;
    }
    return static_cast<int>(n);
  }

  std::optional<core::decimal> fee_field(const json& m, const std::string& market, const char* field) {
    auto d = decimal_field(m, market, field);
    if (d && (*d > catalog_fee_bound() || *d < -catalog_fee_bound())) {
      error(market, field, "must be in [-0.01, 0.01], got " + d->to_string());
      return std::nullopt;
    }
    return d;
  }

 private:
  std::string where(const std::string& market, const std::string& field) const {
    std::string s = file_;
    if (!market.empty()) s += ": market " + market;
    if (!field.empty()) s += ": field " + field;
    return s + ": ";
  }
  std::string file_;
  catalog_result& out_;
};

pair_symbol parse_venue_symbol(const std::string& venue, const std::string& symbol) {
  if (venue == poloniex_futures_v3) return from_poloniex_symbol(symbol);
  return from_binance_symbol(symbol);
}

std::optional<market_spec> load_market(checker& c, const std::string& venue, const json& m, std::size_t index) {
  std::string name = "#" + std::to_string(index);
  if (!m.is_object()) {
    c.error(name, "", "must be an object");
    return std::nullopt;
  }
  if (!m.contains("symbol") || !m.at("symbol").is_string() || m.at("symbol").get<std::string>().empty()) {
    c.error(name, "symbol", "missing or not a non-empty string");
    return std::nullopt;
  }
  market_spec spec;
  spec.symbol = m.at("symbol").get<std::string>();
  name = spec.symbol;
  bool ok = true;
  try {
    spec.pair = parse_venue_symbol(venue, spec.symbol);
  } catch (const std::invalid_argument& e) {
    c.error(name, "symbol", std::string("not a ") + venue + " symbol: " + e.what());
    ok = false;
  }
  for (const char* f : {"base", "quote"}) {
    if (!m.contains(f) || !m.at(f).is_string()) {
      c.error(name, f, "missing or not a string");
      ok = false;
    } else if (ok) {
      const auto& want = std::string(f) == "base" ? spec.pair.base : spec.pair.quote;
      if (m.at(f).get<std::string>() != want) {
        c.error(name, f, "\"" + m.at(f).get<std::string>() + "\" does not match the symbol (" + want + ")");
        ok = false;
      }
    }
  }
  spec.contract_size = c.positive_field(m, name, "contractSize");
  spec.tick = c.positive_field(m, name, "tick");
  spec.lot = c.positive_field(m, name, "lot");
  spec.min_size = c.positive_field(m, name, "minSize");
  spec.max_leverage = c.int_field(m, name, "maxLeverage", catalog_min_leverage, catalog_max_leverage);
  spec.maker_fee = c.fee_field(m, name, "makerFee");
  spec.taker_fee = c.fee_field(m, name, "takerFee");
  if (auto h = c.int_field(m, name, "fundingIntervalHours", 1, 24)) spec.funding_interval = std::chrono::hours(*h);
  if (m.contains("riskLimits")) {
    if (!m.at("riskLimits").is_array()) {
      c.error(name, "riskLimits", "must be an array");
    } else {
      for (const auto& t : m.at("riskLimits")) {
        const std::string field = "riskLimits[" + std::to_string(spec.risk_tiers.size()) + "]";
        if (!t.is_object()) {
          c.error(name, field, "must be an object");
          continue;
        }
        risk_tier tier;
        tier.tier = c.int_field(t, name, "tier", 1, 1000).value_or(0);
        if (tier.tier == 0) c.error(name, field + ".tier", "missing or out of range");
        tier.max_leverage = c.int_field(t, name, "maxLeverage", catalog_min_leverage, catalog_max_leverage);
        tier.maintenance_margin_rate = c.positive_field(t, name, "maintenanceMarginRate");
        spec.risk_tiers.push_back(tier);
      }
    }
  }
  if (spec.lot && spec.min_size && *spec.min_size < *spec.lot) c.error(name, "minSize", "is below lot");
  if (!m.contains("sources") || !m.at("sources").is_object() || m.at("sources").empty())
    c.error(name, "sources", "missing: every market names its sources");
  if (!ok) return std::nullopt;
  return spec;
}

}  // namespace

core::decimal catalog_fee_bound() { return core::decimal::parse("0.01"); }

catalog_result load_catalog(const std::filesystem::path& file, const catalog_options& options) {
  catalog_result out;
  checker c(file.string(), out);
  std::ifstream in(file);
  if (!in) {
    c.error("", "", "cannot open the catalog file (missing?)");
    return out;
  }
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    c.error("", "", std::string("not valid JSON: ") + e.what());
    return out;
  }
  if (!doc.is_object()) {
    c.error("", "", "top level must be a JSON object");
    return out;
  }
  market_catalog cat;
  if (!doc.contains("venue") || !doc.at("venue").is_string()) {
    c.error("", "venue", "missing or not a string");
    return out;
  }
  cat.venue = doc.at("venue").get<std::string>();
  if (cat.venue != poloniex_futures_v3 && cat.venue != binance_usdm) {
    c.error("", "venue", "unknown venue \"" + cat.venue + "\" (expected " + poloniex_futures_v3 + " or " +
                             binance_usdm + ")");
    return out;
  }
  if (auto v = c.int_field(doc, "", "schemaVersion", 1, 1)) cat.schema_version = *v;
  else if (!doc.contains("schemaVersion")) c.error("", "schemaVersion", "missing");
  if (doc.contains("compiledAt") && doc.at("compiledAt").is_string()) cat.compiled_at = doc.at("compiledAt").get<std::string>();
  else c.error("", "compiledAt", "missing or not a string");

  if (!doc.contains("lastSynced")) {
    c.error("", "lastSynced", "missing (write null for a catalog never synced)");
  } else if (!doc.at("lastSynced").is_null()) {
    if (!doc.at("lastSynced").is_string()) {
      c.error("", "lastSynced", "must be null or an ISO-8601 UTC string");
    } else {
      try {
        cat.last_synced = core::timestamp::parse_iso8601(doc.at("lastSynced").get<std::string>());
      } catch (const std::exception& e) {
        c.error("", "lastSynced", std::string("not an ISO-8601 UTC time: ") + e.what());
      }
    }
  }

  if (!doc.contains("markets") || !doc.at("markets").is_array()) {
    c.error("", "markets", "missing or not an array");
  } else if (doc.at("markets").empty()) {
    c.error("", "markets", "the market list is empty");
  } else {
    std::set<std::string> seen;
    std::size_t i = 0;
    for (const auto& m : doc.at("markets")) {
      auto spec = load_market(c, cat.venue, m, i++);
      if (!spec) continue;
      if (!seen.insert(spec->symbol).second) {
        c.error(spec->symbol, "symbol", "duplicate symbol");
        continue;
      }
      cat.markets.push_back(std::move(*spec));
    }
  }

  // Staleness last, so a broken file reports its real errors first.
  if (doc.contains("lastSynced") && (doc.at("lastSynced").is_null() || cat.last_synced)) {
    std::string reason;
    if (!cat.last_synced) {
      reason = "never synced (null): a dated snapshot compiled " + cat.compiled_at;
    } else if (options.now - *cat.last_synced > options.max_age) {
      reason = "stale: synced " + cat.last_synced->to_iso8601() + ", older than " +
               std::to_string(options.max_age.count() / 24) + " days";
    }
    if (!reason.empty()) {
      if (options.mode == catalog_mode::live) c.error("", "lastSynced", reason + " (live mode needs a fresh sync)");
      else c.warning("", "lastSynced", reason);
    }
  }
  if (out.ok()) out.catalog = std::move(cat);
  return out;
}

}  // namespace pt::venue
