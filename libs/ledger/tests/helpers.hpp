#pragma once
// Shared test helpers: a fresh database per test case on the binary's shared PostgreSQL
// cluster, random event ids, and event builders.
#include "ledger/event.hpp"
#include "testing/servers.hpp"

#include <uuid/uuid.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace ledger_test {

inline std::string new_uuid() {
  uuid_t u;
  uuid_generate_random(u);
  char buf[37];
  uuid_unparse_lower(u, buf);
  return buf;
}

// A database of its own for each test case, so cases never see each other's events.
inline std::string fresh_db(pt::testing::postgres_server& pg = pt::testing::postgres_server::shared()) {
  static std::atomic<int> n{0};
  return pg.create_database("ledger_t" + std::to_string(::getpid()) + "_" + std::to_string(n++));
}

inline pt::ledger::event make_event(pt::ledger::event_type type, std::string stream,
                                    std::string payload = R"({"k": 1})", std::int64_t occurred_ns = 1'700'000'000'123'456'789) {
  pt::ledger::event e;
  e.event_id = new_uuid();
  e.type = type;
  e.stream_id = std::move(stream);
  e.payload = std::move(payload);
  e.occurred_at_ns = occurred_ns;
  return e;
}

}  // namespace ledger_test
