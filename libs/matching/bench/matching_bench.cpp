// Replays the recorded Binance USD-M BTCUSDT L2 capture (hftbacktest sample, ~6 minutes) through
// one order_book on one core. Level changes become adds (new quantity above ours), cancels and
// reduces (below, newest orders first, which keeps the oldest queue positions); trades become IOC
// limit orders crossing at the trade price. The op stream is built once with a real book, then
// replayed on fresh books: throughput rounds without timers, then one round timing every op.
// `--quick`: a small prefix, one round (ctest smoke). Data: $POLYTRADE_DATA or ../shared/data.
#include "matching/order_book.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

namespace m = pt::matching;
using clk = std::chrono::steady_clock;

namespace {

constexpr int price_decimals = 2;  // "61800.30": ticks of 0.01 (a finer grid than Binance's 0.1)
constexpr int qty_decimals = 3;    // "0.014": lots of 0.001 BTC

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// Decimal text to a scaled integer; extra digits are cut (none occur in this capture).
bool parse_fixed(std::string_view s, int decimals, std::int64_t& out) {
  std::int64_t v = 0;
  int frac = -1;
  if (s.empty()) return false;
  for (char c : s) {
    if (c == '.') {
      if (frac >= 0) return false;
      frac = 0;
      continue;
    }
    if (c < '0' || c > '9') return false;
    if (frac >= decimals) continue;
    v = v * 10 + (c - '0');
    if (frac >= 0) ++frac;
  }
  for (int f = frac < 0 ? 0 : frac; f < decimals; ++f) v *= 10;
  out = v;
  return true;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

// Calls fn(fields) for every data row of a .csv.gz; false if the file cannot be read.
template <class Fn>
bool read_gz_csv(const std::string& path, Fn fn) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return false;
  gzbuffer(f, 1 << 16);
  std::vector<char> buf(1 << 16);
  bool header = true;
  while (gzgets(f, buf.data(), static_cast<int>(buf.size()))) {
    std::string_view line(buf.data());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (header) {
      header = false;
      continue;
    }
    if (!fn(split(line))) break;
  }
  int err = 0;
  gzerror(f, &err);
  gzclose(f);
  return err == Z_OK || err == Z_STREAM_END;
}

struct feed_event {
  std::int64_t time_ms;
  int kind;  // 0 trade, 1 depth (trades first at equal times: the diff already reflects them)
  std::size_t seq;
  m::side s;  // depth: the level's side; trade: the aggressor's side
  m::price_t price;
  m::qty_t qty;  // depth: new level quantity (0 = gone); trade: traded quantity
};

enum class op_kind : std::uint8_t { add, take, cancel, reduce };
const char* op_names[] = {"add (GTC limit)", "take (IOC limit)", "cancel", "reduce"};

struct op {
  op_kind kind;
  m::order_request req;  // cancel/reduce use id and qty
};

struct counting_sink final : m::event_sink {
  std::uint64_t fills = 0, dones = 0;
  m::qty_t volume = 0;
  void on_fill(const m::fill& f) override {
    ++fills;
    volume += f.qty;
  }
  void on_done(const m::order_done&) override { ++dones; }
};

struct loaded {
  std::vector<feed_event> events;
  std::size_t snapshot_levels = 0, depth_rows = 0, trades = 0;
};

bool load(const std::string& dir, bool quick, loaded& out, std::string& err) {
  std::int64_t last_update_id = 0;
  std::size_t seq = 0;
  const std::string snap = dir + "/BTCUSDT_depth_snapshot.csv.gz";
  bool ok = read_gz_csv(snap, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 7) return true;
    feed_event e{};
    last_update_id = std::strtoll(std::string(f[3]).c_str(), nullptr, 10);
    e.time_ms = 0;  // the snapshot seeds the book before everything else
    e.kind = 1;
    e.seq = seq++;
    e.s = f[4] == "bid" ? m::side::buy : m::side::sell;
    if (parse_fixed(f[5], price_decimals, e.price) && parse_fixed(f[6], qty_decimals, e.qty)) out.events.push_back(e);
    ++out.snapshot_levels;
    return true;
  });
  if (!ok) {
    err = "cannot read " + snap;
    return false;
  }
  const std::size_t max_rows = quick ? 20000 : SIZE_MAX;
  std::int64_t last_time = 0;
  const std::string upd = dir + "/BTCUSDT_depth_updates.csv.gz";
  ok = read_gz_csv(upd, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 9) return true;
    // Binance's procedure: drop diffs that end before the snapshot.
    if (std::strtoll(std::string(f[4]).c_str(), nullptr, 10) < last_update_id) return true;
    feed_event e{};
    e.time_ms = std::strtoll(std::string(f[2]).c_str(), nullptr, 10);
    e.kind = 1;
    e.seq = seq++;
    e.s = f[6] == "bid" ? m::side::buy : m::side::sell;
    if (parse_fixed(f[7], price_decimals, e.price) && parse_fixed(f[8], qty_decimals, e.qty)) out.events.push_back(e);
    last_time = e.time_ms;
    return ++out.depth_rows < max_rows;
  });
  if (!ok) {
    err = "cannot read " + upd;
    return false;
  }
  const std::string trd = dir + "/BTCUSDT_trades.csv.gz";
  ok = read_gz_csv(trd, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 7) return true;
    feed_event e{};
    e.time_ms = std::strtoll(std::string(f[2]).c_str(), nullptr, 10);
    if (quick && e.time_ms > last_time) return false;
    e.kind = 0;
    e.seq = seq++;
    e.s = f[6] == "true" ? m::side::sell : m::side::buy;  // buyer is maker: the seller took
    if (parse_fixed(f[4], price_decimals, e.price) && parse_fixed(f[5], qty_decimals, e.qty)) out.events.push_back(e);
    ++out.trades;
    return true;
  });
  if (!ok) {
    err = "cannot read " + trd;
    return false;
  }
  std::stable_sort(out.events.begin(), out.events.end(), [](const feed_event& a, const feed_event& b) {
    if (a.time_ms != b.time_ms) return a.time_ms < b.time_ms;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.seq < b.seq;
  });
  return true;
}

struct built {
  std::vector<op> ops;
  std::size_t counts[4] = {};
  std::uint64_t fills = 0;
  std::size_t max_orders = 0;
  std::size_t final_orders = 0;
  std::optional<m::price_t> bid, ask, feed_bid, feed_ask;
};

// Turns the feed into book operations, running them on a real book so that cancels and reduces
// see what trades and crossing adds have already taken.
built build_ops(const std::vector<feed_event>& events) {
  built out;
  out.ops.reserve(events.size() * 2);
  m::order_book book(1 << 16);
  counting_sink sink;
  // Our orders at each price, oldest first, and the feed's own view of the levels.
  std::map<m::price_t, std::vector<m::order_id>> mine[2];
  std::map<m::price_t, m::qty_t> feed[2];
  m::order_id next_id = 1;
  auto emit = [&](op o) {
    out.ops.push_back(o);
    ++out.counts[static_cast<int>(o.kind)];
    switch (o.kind) {
      case op_kind::add:
      case op_kind::take: book.submit(o.req, sink); break;
      case op_kind::cancel: book.cancel(o.req.id, sink); break;
      case op_kind::reduce: book.reduce(o.req.id, o.req.qty); break;
    }
    out.max_orders = std::max(out.max_orders, book.order_count());
  };
  for (const feed_event& e : events) {
    if (e.kind == 0) {
      m::order_request r;
      r.id = next_id++;
      r.owner = 1000 + static_cast<m::owner_id>(r.id % 64);
      r.s = e.s;
      r.tif = m::time_in_force::ioc;
      r.price = e.price;
      r.qty = e.qty;
      r.stp = m::stp_mode::expire_maker;
      emit(op{op_kind::take, r});
      continue;
    }
    const int si = e.s == m::side::buy ? 0 : 1;
    if (e.qty == 0)
      feed[si].erase(e.price);
    else
      feed[si][e.price] = e.qty;
    auto& ids = mine[si][e.price];
    // What is left of our orders at this price (trades and crossing adds may have taken some).
    m::qty_t have = 0;
    std::vector<m::order_id> alive;
    for (m::order_id id : ids)
      if (auto v = book.find(id); v && v->price == e.price) {
        alive.push_back(id);
        have += v->qty;
      }
    ids.swap(alive);
    if (e.qty > have) {
      m::order_request r;
      r.id = next_id++;
      r.owner = static_cast<m::owner_id>(1 + r.id % 64);
      r.s = e.s;
      r.price = e.price;
      r.qty = e.qty - have;
      emit(op{op_kind::add, r});
      if (book.find(r.id)) ids.push_back(r.id);
    } else {
      m::qty_t excess = have - e.qty;
      while (excess > 0 && !ids.empty()) {
        const m::order_id id = ids.back();
        const m::qty_t q = book.find(id)->qty;
        m::order_request r;
        r.id = id;
        if (q <= excess) {
          emit(op{op_kind::cancel, r});
          ids.pop_back();
          excess -= q;
        } else {
          r.qty = q - excess;
          emit(op{op_kind::reduce, r});
          excess = 0;
        }
      }
    }
    if (ids.empty()) mine[si].erase(e.price);
  }
  out.fills = sink.fills;
  out.final_orders = book.order_count();
  out.bid = book.best_bid();
  out.ask = book.best_ask();
  if (!feed[0].empty()) out.feed_bid = feed[0].rbegin()->first;
  if (!feed[1].empty()) out.feed_ask = feed[1].begin()->first;
  return out;
}

inline void apply(m::order_book& book, const op& o, counting_sink& sink) {
  switch (o.kind) {
    case op_kind::add:
    case op_kind::take: book.submit(o.req, sink); break;
    case op_kind::cancel: book.cancel(o.req.id, sink); break;
    case op_kind::reduce: book.reduce(o.req.id, o.req.qty); break;
  }
}

double pct(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: matching_bench [--quick] [--rounds N]\n");
      return 2;
    }
  }
  if (quick) rounds = 1;
  const char* env = std::getenv("POLYTRADE_DATA");
  const std::string root = env && *env ? env : POLYTRADE_DEFAULT_DATA;
  const std::string dir = root + "/hftbacktest_binance_usdm";
  if (!exists(dir + "/BTCUSDT_depth_updates.csv.gz")) {
    std::printf("matching_bench: SKIP: no L2 capture at %s (set POLYTRADE_DATA to the shared data folder)\n",
                dir.c_str());
    return 0;
  }

  loaded data;
  std::string err;
  if (!load(dir, quick, data, err)) {
    std::fprintf(stderr, "matching_bench: %s\n", err.c_str());
    return 1;
  }
  built b = build_ops(data.events);
  const std::size_t n = b.ops.size();
  std::printf("matching_bench: %s, %zu snapshot levels, %zu depth rows, %zu trades%s\n", dir.c_str(),
              data.snapshot_levels, data.depth_rows, data.trades, quick ? " (quick: prefix only)" : "");
  std::printf("ops: %zu = %zu adds, %zu takes, %zu cancels, %zu reduces; %llu fills; resting orders max %zu, end %zu\n",
              n, b.counts[0], b.counts[1], b.counts[2], b.counts[3], static_cast<unsigned long long>(b.fills),
              b.max_orders, b.final_orders);
  auto show = [](const std::optional<m::price_t>& p) { return p ? static_cast<double>(*p) / 100.0 : 0.0; };
  std::printf("end of replay: book bid/ask %.2f / %.2f, feed bid/ask %.2f / %.2f\n", show(b.bid), show(b.ask),
              show(b.feed_bid), show(b.feed_ask));
  if (n == 0) {
    std::fprintf(stderr, "matching_bench: no operations built\n");
    return 1;
  }
  // The replayed book must end where the feed ends, or the op stream does not mean what it says.
  if (b.bid != b.feed_bid || b.ask != b.feed_ask) {
    std::fprintf(stderr, "matching_bench: top of book differs from the feed at the end of the replay\n");
    return 1;
  }

  // Throughput: whole replay on a fresh book, no per-op timers.
  std::vector<double> rates;
  std::uint64_t check = 0;
  for (int r = 0; r < rounds; ++r) {
    m::order_book book(1 << 16);
    counting_sink sink;
    const auto t0 = clk::now();
    for (const op& o : b.ops) apply(book, o, sink);
    const auto t1 = clk::now();
    if (sink.fills != b.fills) {
      std::fprintf(stderr, "matching_bench: replay diverged (%llu fills, expected %llu)\n",
                   static_cast<unsigned long long>(sink.fills), static_cast<unsigned long long>(b.fills));
      return 1;
    }
    check += static_cast<std::uint64_t>(sink.volume);
    const double s = std::chrono::duration<double>(t1 - t0).count();
    rates.push_back(static_cast<double>(n) / s);
    std::printf("round %d: %.0f ops/s (%.1f ns/op mean)\n", r + 1, rates.back(), s * 1e9 / static_cast<double>(n));
  }
  std::sort(rates.begin(), rates.end());
  std::printf("throughput: median %.0f ops/s [min %.0f - max %.0f] over %d rounds\n", rates[rates.size() / 2],
              rates.front(), rates.back(), rounds);

  // Latency: one more replay timing each op (includes ~one clock read of overhead).
  std::uint32_t overhead = UINT32_MAX;
  for (int i = 0; i < 1000; ++i) {
    const auto a = clk::now();
    const auto c = clk::now();
    overhead = std::min(overhead, static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(c - a).count()));
  }
  std::vector<std::uint32_t> all, per[4];
  all.reserve(n);
  {
    m::order_book book(1 << 16);
    counting_sink sink;
    for (const op& o : b.ops) {
      const auto t0 = clk::now();
      apply(book, o, sink);
      const auto t1 = clk::now();
      const auto ns = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      all.push_back(ns);
      per[static_cast<int>(o.kind)].push_back(ns);
    }
    check += static_cast<std::uint64_t>(sink.volume);
  }
  std::printf("latency per op, ns (timer overhead ~%u ns included):\n", overhead);
  std::printf("  %-18s n=%-8zu p50 %6.0f  p99 %6.0f  p99.9 %6.0f\n", "all", all.size(), pct(all, 0.5), pct(all, 0.99),
              pct(all, 0.999));
  for (int k = 0; k < 4; ++k)
    if (!per[k].empty())
      std::printf("  %-18s n=%-8zu p50 %6.0f  p99 %6.0f  p99.9 %6.0f\n", op_names[k], per[k].size(), pct(per[k], 0.5),
                  pct(per[k], 0.99), pct(per[k], 0.999));
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(check));
  return 0;
}
