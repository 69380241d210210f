#pragma once
// Versioned schema migrations, embedded in the binary and applied at start.
//
// Each migration runs in its own transaction together with its `schema_migrations` row,
// all under a session advisory lock, so two processes starting together apply each version
// exactly once. Re-running is a no-op. If an applied version's recorded checksum differs from
// the embedded SQL (someone edited a released migration), migrate() throws ledger::error:
// add a new version instead.
#include <pqxx/connection>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>


namespace pt::ledger {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The embedded migrations in version order.
[[nodiscard]] std::span<const migration> migrations();

// FNV-1a 64 of the SQL text, as 16 hex digits (what schema_migrations.checksum holds).
[[nodiscard]] std::string checksum(std::string_view sql);

// Applies the pending ones of `list` (default: the embedded set); returns how many ran.
int migrate(pqxx::connection& conn, std::span<const migration> list = migrations());

// The advisory-lock key shared by every process migrating a ledger database.
inline constexpr std::int64_t migration_lock_key = 0x70745f6c65646772;  // "pt_ledgr"

}  // namespace pt::ledger
