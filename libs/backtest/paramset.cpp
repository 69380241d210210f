#include "backtest/paramset.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace pt::backtest {

namespace {

namespace fs = std::filesystem;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

bool is_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return false;
  const int month = std::stoi(s.substr(5, 2)), day = std::stoi(s.substr(8, 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// What save and from_json both require of the content.
void check_content(const parameter_set& s) {
  if (s.strategy.empty()) throw std::invalid_argument("parameter set: field 'strategy': empty");
  if (!is_date(s.created)) throw std::invalid_argument("parameter set: field 'created': not a YYYY-MM-DD date: " + s.created);
  if (!s.params.is_object()) throw std::invalid_argument("parameter set: field 'params': not an object");
  if (const auto it = s.params.find("strategy"); it != s.params.end() && (!it->is_string() || it->get<std::string>() != s.strategy))
    throw std::invalid_argument("parameter set: field 'strategy': '" + s.strategy + "' but params.strategy is " + it->dump());
  if (!s.metrics.is_object()) throw std::invalid_argument("parameter set: field 'metrics': not an object");
}

const nlohmann::json& field(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) throw std::invalid_argument(std::string("parameter set: field '") + name + "': missing");
  return *it;
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected) {
  throw std::invalid_argument("parameter set: field '" + name + "': not " + expected);
}

std::string string_field(const nlohmann::json& j, const char* name) {
  const auto& v = field(j, name);
  if (!v.is_string()) wrong_type(name, "a string");
  return v.get<std::string>();
}

// model_v{N}_{YYYYMMDD}_{hash}.json
const std::regex& file_pattern() {
  static const std::regex re(R"(model_v([1-9][0-9]{0,8})_([0-9]{8})_([0-9a-f]{16})\.json)");
  return re;
}

struct listed {
  int version;
  std::string name;
  std::string date;  // YYYYMMDD
  std::string hash;
};

std::vector<listed> list_sets(const fs::path& dir) {
  std::vector<listed> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const auto name = e.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, file_pattern())) continue;
    out.push_back({std::stoi(m[1].str()), name, m[2].str(), m[3].str()});
  }
  // Highest version first; ties (only possible with concurrent writers) by name, descending.
  std::sort(out.begin(), out.end(), [](const listed& a, const listed& b) {
    return a.version != b.version ? a.version > b.version : a.name > b.name;
  });
  return out;
}

}  // namespace

promotion_verdict evaluate_promotion(const std::optional<metrics>& oos, const promotion_rule& rule) {
  promotion_verdict v;
  if (!oos) {
    v.reasons.emplace_back("fail: no out-of-sample metrics");
    return v;
  }
  bool ok = true;
  auto check = [&](bool pass, std::string text) {
    ok = ok && pass;
    v.reasons.push_back((pass ? "pass: " : "fail: ") + std::move(text));
  };
  // Written as !(a > b) etc. so that a NaN (never produced by compute_metrics) fails too.
  if (!oos->profit_factor)
    check(false, "profit factor undefined (no losing trade)");
  else {
    const bool pass = *oos->profit_factor > rule.min_profit_factor;
    check(pass, "profit factor " + num(*oos->profit_factor) + (pass ? " > " : " <= ") + num(rule.min_profit_factor));
  }
  if (!oos->sharpe)
    check(false, "sharpe undefined (fewer than 2 returns)");
  else {
    const bool pass = *oos->sharpe > rule.min_sharpe;
    check(pass, "sharpe " + num(*oos->sharpe) + (pass ? " > " : " <= ") + num(rule.min_sharpe));
  }
  {
    const bool pass = oos->max_drawdown <= rule.max_drawdown;
    check(pass, "max drawdown " + num(oos->max_drawdown) + (pass ? " <= " : " > ") + num(rule.max_drawdown));
  }
  {
    const bool pass = oos->trades >= rule.min_trades;
    check(pass, "trades " + std::to_string(oos->trades) + (pass ? " >= " : " < ") + std::to_string(rule.min_trades));
  }
  v.promotable = ok;
  return v;
}

std::string data_hash(const std::vector<symbol_data>& data) {
  // One record per line; the symbol is length-prefixed so no character in it can make two
  // different inputs render the same. Decimals in canonical form (decimal::to_string).
  std::string text;
  for (const auto& s : data) {
    text += "S," + std::to_string(s.symbol.size()) + ':' + s.symbol + '\n';
    for (const auto& b : s.bars) {
      text += "B," + std::to_string(b.open_time_ms);
      for (const core::decimal& d : {b.open, b.high, b.low, b.close, b.volume}) text += ',' + d.to_string();
      text += '\n';
    }
    for (const auto& f : s.funding) {
      text += "F," + std::to_string(f.time_ms) + ',' + f.rate.to_string() + ',';
      if (f.mark_price) text += f.mark_price->to_string();
      text += '\n';
    }
  }
  return hex16(fnv1a_64(text));
}

std::string parameter_set_hash(const parameter_set& s) {
  const nlohmann::json content = {{"strategy", s.strategy}, {"params", s.params}, {"data_hash", s.data_hash}};
  return hex16(fnv1a_64(content.dump()));
}

std::string parameter_set_filename(const parameter_set& s) {
  if (s.version < 1) throw std::invalid_argument("parameter set: field 'version': must be >= 1 to name a file");
  if (!is_date(s.created)) throw std::invalid_argument("parameter set: field 'created': not a YYYY-MM-DD date: " + s.created);
  const std::string date = s.created.substr(0, 4) + s.created.substr(5, 2) + s.created.substr(8, 2);
  return "model_v" + std::to_string(s.version) + '_' + date + '_' + parameter_set_hash(s) + ".json";
}

nlohmann::json to_json(const parameter_set& s) {
  return {{"version", s.version},
          {"strategy", s.strategy},
          {"created", s.created},
          {"params", s.params},
          {"data_hash", s.data_hash},
          {"metrics", s.metrics},
          {"verdict", {{"promotable", s.verdict.promotable}, {"reasons", s.verdict.reasons}}},
          {"hash", s.hash}};
}

parameter_set parameter_set_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("parameter set: field '<document>': not an object");
  static const char* const known[] = {"version", "strategy", "created", "params", "data_hash", "metrics", "verdict", "hash"};
  for (const auto& [key, value] : j.items())
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) == std::end(known))
      throw std::invalid_argument("parameter set: field '" + key + "': unknown");
  parameter_set s;
  const auto& version = field(j, "version");
  if (!version.is_number_integer()) wrong_type("version", "an integer");
  const auto v = version.get<std::int64_t>();
  if (v < 0 || v > 999999999) throw std::invalid_argument("parameter set: field 'version': out of range");
  s.version = static_cast<int>(v);
  s.strategy = string_field(j, "strategy");
  s.created = string_field(j, "created");
  s.params = field(j, "params");
  if (!s.params.is_object()) wrong_type("params", "an object");
  s.data_hash = string_field(j, "data_hash");
  s.metrics = field(j, "metrics");
  if (!s.metrics.is_object()) wrong_type("metrics", "an object");
  const auto& verdict = field(j, "verdict");
  if (!verdict.is_object()) wrong_type("verdict", "an object");
  for (const auto& [key, value] : verdict.items())
    if (key != "promotable" && key != "reasons") throw std::invalid_argument("parameter set: field 'verdict." + key + "': unknown");
  const auto promotable = verdict.find("promotable");
  if (promotable == verdict.end()) throw std::invalid_argument("parameter set: field 'verdict.promotable': missing");
  if (!promotable->is_boolean()) wrong_type("verdict.promotable", "a boolean");
  s.verdict.promotable = promotable->get<bool>();
  const auto reasons = verdict.find("reasons");
  if (reasons == verdict.end()) throw std::invalid_argument("parameter set: field 'verdict.reasons': missing");
  if (!reasons->is_array()) wrong_type("verdict.reasons", "an array");
  for (const auto& r : *reasons) {
    if (!r.is_string()) wrong_type("verdict.reasons", "an array of strings");
    s.verdict.reasons.push_back(r.get<std::string>());
  }
  s.hash = string_field(j, "hash");
  check_content(s);
  if (s.hash != parameter_set_hash(s))
    throw std::invalid_argument("parameter set: field 'hash': " + s.hash + " is not the content's hash " + parameter_set_hash(s));
  return s;
}

std::string save_parameter_set(const std::string& dir, parameter_set s) {
  check_content(s);
  const fs::path d(dir);
  fs::create_directories(d);
  const auto existing = list_sets(d);
  s.version = existing.empty() ? 1 : existing.front().version + 1;
  s.hash = parameter_set_hash(s);
  const fs::path target = d / parameter_set_filename(s);
  if (fs::exists(target)) throw std::runtime_error("save_parameter_set: " + target.string() + " exists");
  // Write under a temporary name, then hard-link into place: the link fails when the target
  // exists (never an overwrite) and a reader never sees a half-written file.
  const fs::path tmp = d / ("." + target.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("save_parameter_set: cannot write " + tmp.string());
    out << to_json(s).dump(2) << '\n';
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw std::runtime_error("save_parameter_set: cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  fs::create_hard_link(tmp, target, ec);
  std::error_code ignored;
  fs::remove(tmp, ignored);
  if (ec) throw std::runtime_error("save_parameter_set: cannot create " + target.string() + ": " + ec.message());
  return target.string();
}

std::optional<parameter_set> load_latest_parameter_set(const std::string& dir, const std::string& strategy,
                                                       bool promotable_only) {
  const fs::path d(dir);
  for (const auto& f : list_sets(d)) {
    const fs::path path = d / f.name;
    parameter_set s;
    try {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw std::invalid_argument("cannot open");
      std::ostringstream text;
      text << in.rdbuf();
      s = parameter_set_from_json(nlohmann::json::parse(text.str()));
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(path.string() + ": " + e.what());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(path.string() + ": " + e.what());
    }
    if (s.version != f.version || parameter_set_filename(s) != f.name)
      throw std::invalid_argument(path.string() + ": version, date or hash differ from the file name");
    if (!strategy.empty() && s.strategy != strategy) continue;
    if (promotable_only && !s.verdict.promotable) continue;
    return s;
  }
  return std::nullopt;
}

}  // namespace pt::backtest
