#pragma once
// Decoding of replayed rows (internal to the ledger; exposed for tests and the bench).
// Text comes from COPY ... TO STDOUT (tab-separated, backslash escapes, \N for NULL) or from
// a cursor's text-format fields (no escapes). The session runs with TimeZone=UTC and
// DateStyle=ISO, so timestamptz text is "YYYY-MM-DD HH:MM:SS[.ffffff]+00".
#include "ledger/event.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pt::ledger::codec {

// Column order of every replay query.
inline constexpr std::string_view replay_columns =
    "seq, event_id, type, stream_id, correlation_id, causation_id, payload, occurred_at_ns, recorded_at";
inline constexpr int replay_column_count = 9;

// Throws ledger::error on anything but an optional '-' and 1..19 digits.
[[nodiscard]] std::int64_t parse_int64(std::string_view s);
// UTC nanoseconds; throws ledger::error on another format or offset.
[[nodiscard]] std::int64_t parse_timestamptz_ns(std::string_view s);
// Undoes COPY text escaping into out (replacing its content).
void unescape_copy(std::string_view in, std::string& out);
// Decodes one COPY line (with or without the trailing newline) in replay_columns order.
void decode_copy_line(std::string_view line, event& e);
// Decodes one row of unescaped text fields; a NULL field is passed as null_field.
struct text_row {
  std::string_view f[replay_column_count];
  bool null[replay_column_count];
};
void decode_row(const text_row& row, event& e);

}  // namespace pt::ledger::codec
