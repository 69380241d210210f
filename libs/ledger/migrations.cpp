#include "migrations.hpp"

#include "core/log.hpp"
#include "ledger/event.hpp"

#include <pqxx/pqxx>

#include <array>
#include <cstdio>
#include <map>
#include <utility>

namespace pt::ledger {
namespace {

// Released migrations are never edited (the checksum check enforces it): append new ones.
constexpr std::string_view v1_events = R"sql(
-- The single row whose lock serialises writers: seq is the last assigned sequence number.
CREATE TABLE ledger_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL CHECK (seq >= 0)
);
INSERT INTO ledger_head (singleton, seq) VALUES (true, 0);

CREATE TABLE events (
  seq            bigint PRIMARY KEY CHECK (seq > 0),
  event_id       uuid NOT NULL UNIQUE,
  type           text NOT NULL,
  stream_id      text COLLATE "C" NOT NULL,
  correlation_id text,
  causation_id   text,
  payload        jsonb NOT NULL,
  occurred_at_ns bigint NOT NULL,            -- event time, UTC ns since the epoch
  recorded_at    timestamptz NOT NULL DEFAULT statement_timestamp()
);
-- Deliberately no (stream_id, seq) index: it cost ~25% of the append rate (README, figures).
-- stream_state answers "latest per stream"; a per-stream history is a filtered replay.

CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % on % is not allowed: the ledger is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE FUNCTION ledger_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'ledger: ledger_head may only move forward (% -> %)', OLD.seq, NEW.seq
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head
  FOR EACH ROW EXECUTE FUNCTION ledger_head_forward_only();
CREATE TRIGGER ledger_head_keep BEFORE DELETE ON ledger_head
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- For people and psql: event time as a timestamp.
CREATE VIEW events_readable AS
  SELECT seq, event_id, type, stream_id, correlation_id, causation_id, payload,
         timestamptz 'epoch' + (occurred_at_ns / 1000) * interval '1 microsecond' AS occurred_at,
         occurred_at_ns, recorded_at
  FROM events;
)sql";

constexpr std::string_view v2_stream_state = R"sql(
-- Projection: the latest state of each stream, written in the same transaction as the append.
CREATE TABLE stream_state (
  stream_id           text COLLATE "C" PRIMARY KEY,
  first_seq           bigint NOT NULL,
  last_seq            bigint NOT NULL,
  last_type           text NOT NULL,
  event_count         bigint NOT NULL,
  last_occurred_at_ns bigint NOT NULL,
  last_payload        jsonb NOT NULL
) WITH (fillfactor = 70);  -- room for HOT updates: every append rewrites its streams' rows
INSERT INTO stream_state (stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload)
SELECT DISTINCT ON (stream_id) stream_id, min(seq) OVER w, seq, type, count(*) OVER w, occurred_at_ns, payload
FROM events WINDOW w AS (PARTITION BY stream_id)
ORDER BY stream_id, seq DESC;
)sql";

constexpr std::array<migration, 2> embedded{{
    {1, "events", v1_events},
    {2, "stream_state projection", v2_stream_state},
}};

// Releases the session advisory lock on every exit path (a dropped connection releases it too).
struct advisory_lock {
  pqxx::connection& conn;
  explicit advisory_lock(pqxx::connection& c) : conn(c) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  }
  ~advisory_lock() {
    try {
      pqxx::nontransaction tx(conn);
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
    } catch (...) {
    }
  }
};

}  // namespace

std::span<const migration> migrations() { return embedded; }

std::string checksum(std::string_view sql) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int migrate(pqxx::connection& conn, std::span<const migration> list) {
  for (std::size_t i = 1; i < list.size(); ++i)
    if (list[i].version <= list[i - 1].version)
      throw error("ledger: migrations are not in strictly increasing version order at version " +
                  std::to_string(list[i].version));
  advisory_lock lock(conn);
  {
    pqxx::work tx(conn);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::map<int, std::pair<std::string, std::string>> applied;  // version -> (name, checksum)
  {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations"))
      applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  int ran = 0;
  for (const auto& m : list) {
    auto sum = checksum(m.sql);
    if (auto it = applied.find(m.version); it != applied.end()) {
      if (it->second.second != sum)
        throw error("ledger: migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                    ") was applied with checksum " + it->second.second + " but the embedded SQL has checksum " +
                    sum + ": released migrations must not change; add a new version instead");
      continue;
    }
    pqxx::work tx(conn);
    tx.exec(std::string(m.sql));
    tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.version,
                   std::string(m.name), sum);
    tx.commit();
    ++ran;
    pt::log::info("ledger: applied migration", {{"version", m.version}, {"name", std::string(m.name)}});
  }
  for (const auto& [version, entry] : applied) {
    bool known = false;
    for (const auto& m : list) known = known || m.version == version;
    if (!known)
      pt::log::warn("ledger: database has a migration this binary does not know (newer binary ran here?)",
                    {{"version", version}, {"name", entry.first}});
  }
  return ran;
}

}  // namespace pt::ledger
