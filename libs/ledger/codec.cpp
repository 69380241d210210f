#include "codec.hpp"

#include "core/time.hpp"

#include <cctype>
#include <cstring>

namespace pt::ledger::codec {
namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text) {
  throw error("ledger: cannot decode " + std::string(what) + " from \"" + std::string(text.substr(0, 80)) + "\"");
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

void assign_field(std::string_view raw, std::string& out) {
  if (raw.find('\\') == std::string_view::npos)
    out.assign(raw.data(), raw.size());
  else
    unescape_copy(raw, out);
}

}  // namespace

std::int64_t parse_int64(std::string_view s) {
  std::size_t i = 0;
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i == s.size() || s.size() - i > 19) bad("an integer", s);
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) bad("an integer", s);
    v = v * 10 + d;
  }
  if (v > static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0)) bad("an integer", s);
  return neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
}

std::int64_t parse_timestamptz_ns(std::string_view s) {
  // 2026-11-21 10:30:00.123456+00
  unsigned y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 22 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != ' ' || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, se))
    bad("a timestamp", s);
  std::size_t pos = 19;
  std::int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t scale = 100000000;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start >= 9) bad("a timestamp", s);
      frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) bad("a timestamp", s);
  }
  if (s.substr(pos) != "+00") bad("a UTC timestamp (set TimeZone=UTC)", s);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) bad("a timestamp", s);
  std::int64_t secs = core::days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return secs * 1000000000 + frac_ns;
}

void unescape_copy(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out.push_back(c);
      continue;
    }
    char n = in[++i];
    switch (n) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': {  // \xHH (one or two hex digits)
        int v = 0, k = 0;
        while (k < 2 && i + 1 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1]))) {
          char hc = in[++i];
          v = v * 16 + (hc <= '9' ? hc - '0' : (hc | 0x20) - 'a' + 10);
          ++k;
        }
        if (k == 0) out.push_back('x'); else out.push_back(static_cast<char>(v));
        break;
      }
      default:
        if (n >= '0' && n <= '7') {  // \ooo octal
          int v = n - '0', k = 1;
          while (k < 3 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7') {
            v = v * 8 + (in[++i] - '0');
            ++k;
          }
          out.push_back(static_cast<char>(v));
        } else {
          out.push_back(n);  // \\ and any other escaped character stand for themselves
        }
    }
  }
}

void decode_copy_line(std::string_view line, event& e) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::string_view f[replay_column_count];
  std::size_t start = 0;
  for (int i = 0; i < replay_column_count; ++i) {
    std::size_t tab = i + 1 < replay_column_count ? line.find('\t', start) : line.size();
    if (tab == std::string_view::npos) bad("a replay row (too few columns)", line);
    f[i] = line.substr(start, tab - start);
    start = tab + 1;
  }
  auto is_null = [](std::string_view v) { return v.size() == 2 && v[0] == '\\' && v[1] == 'N'; };

  e.seq = parse_int64(f[0]);
  e.event_id.assign(f[1].data(), f[1].size());
  if (!try_parse_event_type(f[2], e.type)) e.type = parse_event_type(f[2]);  // throws naming the type
  assign_field(f[3], e.stream_id);
  if (is_null(f[4])) e.correlation_id.clear(); else assign_field(f[4], e.correlation_id);
  if (is_null(f[5])) e.causation_id.clear(); else assign_field(f[5], e.causation_id);
  assign_field(f[6], e.payload);
  e.occurred_at_ns = parse_int64(f[7]);
  e.recorded_at_ns = parse_timestamptz_ns(f[8]);
}

void decode_row(const text_row& r, event& e) {
  e.seq = parse_int64(r.f[0]);
  e.event_id.assign(r.f[1].data(), r.f[1].size());
  if (!try_parse_event_type(r.f[2], e.type)) e.type = parse_event_type(r.f[2]);
  e.stream_id.assign(r.f[3].data(), r.f[3].size());
  if (r.null[4]) e.correlation_id.clear(); else e.correlation_id.assign(r.f[4].data(), r.f[4].size());
  if (r.null[5]) e.causation_id.clear(); else e.causation_id.assign(r.f[5].data(), r.f[5].size());
  e.payload.assign(r.f[6].data(), r.f[6].size());
  e.occurred_at_ns = parse_int64(r.f[7]);
  e.recorded_at_ns = parse_timestamptz_ns(r.f[8]);
}

}  // namespace pt::ledger::codec
