#include "catalog_fallback.hpp"

#include "core/log.hpp"
#include "core/time.hpp"
#include "venue/venue.hpp"

#include <stdexcept>

namespace pt::connectors {

std::vector<venue::instrument> instruments_from_catalog(const catalog_fallback_config& config,
                                                        const std::string& expected_venue,
                                                        std::vector<std::string>* skipped) {
  if (!config.file) throw std::runtime_error("no catalog file configured");
  venue::catalog_options o;
  o.mode = config.mode;
  o.now = core::system_clock::instance().now();
  const auto r = venue::load_catalog(*config.file, o);
  if (!r.ok()) {
    std::string all = "catalog " + config.file->string() + " does not load:";
    for (const auto& e : r.errors) all += " " + e + ";";
    throw std::runtime_error(all);
  }
  if (r.catalog->venue != expected_venue)
    throw std::runtime_error("catalog " + config.file->string() + " is for " + r.catalog->venue + ", not " + expected_venue);
  for (const auto& w : r.warnings) log::warn("catalog fallback: " + w, {{"file", config.file->string()}});
  std::vector<venue::instrument> out;
  for (const auto& m : r.catalog->markets) {
    if (!m.tick || !m.lot) {
      if (skipped) skipped->push_back(m.symbol + ": the catalog states no " + (m.tick ? "lot" : "tick"));
      continue;
    }
    venue::instrument i;
    i.symbol = m.symbol;
    i.base = m.pair.base;
    i.quote = m.pair.quote;
    i.settle = m.pair.quote;
    i.contract_size = m.contract_size.value_or(core::decimal::one());
    i.tick = *m.tick;
    i.lot = *m.lot;
    i.min_qty = m.min_size.value_or(*m.lot);
    i.max_leverage = m.max_leverage.value_or(1);
    for (const auto& t : m.risk_tiers)
      if (t.tier == 1 && t.maintenance_margin_rate) i.maintenance_margin_rate = t.maintenance_margin_rate;
    i.maker_fee = m.maker_fee;
    i.taker_fee = m.taker_fee;
    out.push_back(std::move(i));
  }
  if (out.empty()) throw std::runtime_error("catalog " + config.file->string() + " has no market with both tick and lot");
  return out;
}

std::vector<venue::instrument> instruments_or_catalog(const std::function<std::vector<venue::instrument>()>& fetch,
                                                      const catalog_fallback_config& config,
                                                      const std::string& expected_venue, bool& from_catalog) {
  try {
    auto list = fetch();
    from_catalog = false;
    return list;
  } catch (const venue::venue_error& e) {
    if (!config.file || e.kind() == venue::outcome_class::reject) throw;
    std::vector<std::string> skipped;
    std::vector<venue::instrument> list;
    try {
      list = instruments_from_catalog(config, expected_venue, &skipped);
    } catch (const std::exception& c) {
      throw venue::venue_error(e.kind(), std::string(e.what()) + "; and the offline fallback failed: " + c.what(),
                               e.code(), e.http_status());
    }
    log::warn("instruments from the offline catalog: the venue did not answer",
              {{"venue", expected_venue},
               {"error", e.what()},
               {"file", config.file->string()},
               {"markets", std::to_string(list.size())},
               {"skipped", std::to_string(skipped.size())}});
    from_catalog = true;
    return list;
  }
}

}  // namespace pt::connectors
