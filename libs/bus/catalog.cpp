#include "bus/catalog.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace pt::bus {

namespace {

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

int literal_tokens(std::string_view pattern) {
  int n = 0;
  for (auto t : tokens(pattern))
    if (t != "*" && t != ">") ++n;
  return n;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("bus catalog: cannot read " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error("bus catalog: " + path + " is not valid JSON: " + e.what());
  }
}

std::string first_error(valijson::ValidationResults& results) {
  valijson::ValidationResults::Error err;
  std::string out;
  // The deepest error is usually the useful one; report up to three, innermost first.
  std::vector<valijson::ValidationResults::Error> all;
  while (results.popError(err)) all.push_back(err);
  std::reverse(all.begin(), all.end());
  int n = 0;
  for (const auto& e : all) {
    if (n++ == 3) break;
    std::string path;
    for (const auto& c : e.context) path += c;
    if (!out.empty()) out += "; ";
    out += path + ": " + e.description;
  }
  return out.empty() ? "invalid" : out;
}

}  // namespace

bool subject_matches(std::string_view pattern, std::string_view subject) {
  auto p = tokens(pattern);
  auto s = tokens(subject);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return s.size() > i;
    if (i >= s.size()) return false;
    if (p[i] != "*" && p[i] != s[i]) return false;
    if (s[i].empty()) return false;
  }
  return p.size() == s.size();
}

struct catalog::impl {
  std::map<std::string, std::unique_ptr<valijson::Schema>> schemas;  // file -> compiled
  // concrete subject -> entry (or null when none matches); bounded by the subjects seen.
  mutable std::shared_mutex cache_mu;
  mutable std::unordered_map<std::string, const subject_entry*> cache;
};

catalog::catalog() : impl_(std::make_unique<impl>()) {}
catalog::~catalog() = default;

std::shared_ptr<const catalog> catalog::load(const std::string& proto_dir) {
  std::shared_ptr<catalog> c(new catalog());
  const std::string index_path = proto_dir + "/subjects.json";
  auto index = read_json(index_path);
  if (!index.contains("subjects") || !index["subjects"].is_array())
    throw std::runtime_error("bus catalog: " + index_path + ": missing array 'subjects'");

  auto compile = [&](const std::string& file) {
    if (file.empty() || c->impl_->schemas.count(file)) return;
    const std::string path = proto_dir + "/schemas/" + file;
    auto doc = read_json(path);
    auto schema = std::make_unique<valijson::Schema>();
    try {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(doc);
      parser.populateSchema(adapter, *schema);
    } catch (const std::exception& e) {
      throw std::runtime_error("bus catalog: " + path + " is not a valid JSON Schema: " + e.what());
    }
    c->impl_->schemas.emplace(file, std::move(schema));
  };

  for (const auto& j : index["subjects"]) {
    subject_entry e;
    try {
      e.pattern = j.at("subject").get<std::string>();
      e.schema = j.at("schema").get<std::string>();
      e.reply_schema = j.value("reply_schema", std::string{});
      auto mode = j.at("delivery").get<std::string>();
      if (mode == "core") e.mode = delivery::core;
      else if (mode == "jetstream") e.mode = delivery::jetstream;
      else throw std::runtime_error("delivery must be core or jetstream, got " + mode);
      e.producer = j.value("producer", std::string{});
      e.consumers = j.value("consumers", std::vector<std::string>{});
      e.description = j.value("description", std::string{});
    } catch (const std::exception& ex) {
      throw std::runtime_error("bus catalog: " + index_path + ": bad entry " + j.dump() + ": " + ex.what());
    }
    compile(e.schema);
    compile(e.reply_schema);
    c->entries_.push_back(std::move(e));
  }
  return c;
}

const subject_entry* catalog::find(std::string_view subject) const {
  {
    std::shared_lock lock(impl_->cache_mu);
    auto it = impl_->cache.find(std::string(subject));
    if (it != impl_->cache.end()) return it->second;
  }
  const subject_entry* best = nullptr;
  int best_literals = -1;
  for (const auto& e : entries_) {
    if (!subject_matches(e.pattern, subject)) continue;
    int lit = literal_tokens(e.pattern);
    if (lit > best_literals) {
      best = &e;
      best_literals = lit;
    }
  }
  std::unique_lock lock(impl_->cache_mu);
  // Unknown subjects are cached too, but the cache stays bounded against a subject flood.
  if (impl_->cache.size() < 100000) impl_->cache.emplace(std::string(subject), best);
  return best;
}

std::optional<std::string> catalog::validate_file(const std::string& schema_file,
                                                  const nlohmann::json& body) const {
  auto it = impl_->schemas.find(schema_file);
  if (it == impl_->schemas.end()) return "no schema file " + schema_file;
  // One validator per thread keeps its compiled `pattern` regexes between messages.
  thread_local valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(body);
  try {
    // Fast path without results (stops at the first failure); rerun to explain a failure.
    if (validator.validate(*it->second, adapter, nullptr)) return std::nullopt;
    validator.validate(*it->second, adapter, &results);
  } catch (const std::exception& e) {
    return std::string("validator failed: ") + e.what();
  }
  return first_error(results);
}

std::optional<std::string> catalog::validate(std::string_view subject, const nlohmann::json& body) const {
  const auto* e = find(subject);
  if (!e) return "subject " + std::string(subject) + " is not in proto/subjects.json";
  return validate_file(e->schema, body);
}

std::optional<std::string> catalog::validate_reply(std::string_view request_subject,
                                                   const nlohmann::json& body) const {
  const auto* e = find(request_subject);
  if (!e) return "subject " + std::string(request_subject) + " is not in proto/subjects.json";
  if (e->reply_schema.empty())
    return "subject " + std::string(request_subject) + " has no reply_schema in proto/subjects.json";
  return validate_file(e->reply_schema, body);
}

}  // namespace pt::bus
