#pragma once
// The subject catalog (proto/subjects.json) and the compiled JSON Schemas (draft 7) it names.
// CAF-free and NATS-free so tools and tests can validate payloads without a connection.
//
// Lookup is strict: a concrete subject that matches no catalog pattern has no schema, and the
// bus rejects every message on it. Thread-safe after load (validation keeps a per-thread
// validator so pattern regexes compile once per thread).
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::bus {

enum class delivery { core, jetstream };

struct subject_entry {
  std::string pattern;       // NATS pattern: `*` one token, `>` the rest ("md.*.*.trade")
  std::string schema;        // file name under proto/schemas/
  std::string reply_schema;  // request/reply subjects only: the reply's schema file
  delivery mode = delivery::core;
  std::string producer;
  std::vector<std::string> consumers;
  std::string description;
};

// True when `subject` (concrete, no wildcards) matches the NATS `pattern`.
[[nodiscard]] bool subject_matches(std::string_view pattern, std::string_view subject);

class catalog {
 public:
  // Loads <proto_dir>/subjects.json and compiles every schema it names.
  // Throws std::runtime_error naming the file and the reason when anything is missing or invalid.
  static std::shared_ptr<const catalog> load(const std::string& proto_dir);

  ~catalog();
  catalog(const catalog&) = delete;
  catalog& operator=(const catalog&) = delete;

  [[nodiscard]] const std::vector<subject_entry>& entries() const { return entries_; }
  // The most specific entry matching a concrete subject (most literal tokens wins), or null.
  [[nodiscard]] const subject_entry* find(std::string_view subject) const;

  // nullopt when `body` is valid for `subject`; otherwise a one-line reason with the
  // validator's error path ("<root> [price]: Value type not permitted by 'type' constraint").
  [[nodiscard]] std::optional<std::string> validate(std::string_view subject,
                                                    const nlohmann::json& body) const;
  // Same for the reply to a request sent on `request_subject`.
  [[nodiscard]] std::optional<std::string> validate_reply(std::string_view request_subject,
                                                          const nlohmann::json& body) const;

  // Validates one document against one schema file (tests and tools).
  [[nodiscard]] std::optional<std::string> validate_file(const std::string& schema_file,
                                                         const nlohmann::json& body) const;

 private:
  catalog();
  struct impl;
  std::unique_ptr<impl> impl_;
  std::vector<subject_entry> entries_;
};

}  // namespace pt::bus
