#include "store.hpp"

#include "codec.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "migrations.hpp"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <cctype>
#include <charconv>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace pt::ledger {
namespace {

// Append protocol, one transaction (see README "Sequence guarantee"):
//   1. lock the head row (writers on every connection queue here, so seq order = commit order);
//   2. ask which of the batch's event_ids are already stored (an index probe each);
//   3. number the new events head+1.. in batch order on the client and COPY them straight into
//      events (the unique index still guards event_id: a writer that skipped the lock fails);
//   4. COPY the per-stream delta into a temp table and upsert stream_state from it;
//   5. move the head and commit.
constexpr const char* lock_head_sql = "SELECT seq FROM ledger_head FOR UPDATE";
constexpr const char* existing_sql = "SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[])";
constexpr const char* upsert_state_sql = R"sql(
WITH head AS (UPDATE ledger_head SET seq = $1)
INSERT INTO stream_state AS ss (stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload)
SELECT stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload FROM ledger_state_delta
ON CONFLICT (stream_id) DO UPDATE SET
  last_seq = EXCLUDED.last_seq, last_type = EXCLUDED.last_type,
  event_count = ss.event_count + EXCLUDED.event_count,
  last_occurred_at_ns = EXCLUDED.last_occurred_at_ns, last_payload = EXCLUDED.last_payload
)sql";

// One event in one statement (one round trip, committed by the server at its end): the same
// protocol as the batch path, for the single events a decision waits on. The head lock is taken
// first; the duplicate probe reads the statement's snapshot, so a duplicate committed by another
// connection while this one waited for the lock surfaces as a unique violation, which append()
// answers by taking the batch path (whose probe runs after the lock).
constexpr const char* append_one_sql = R"sql(
WITH head AS (SELECT seq FROM ledger_head FOR UPDATE),
ins AS (
  INSERT INTO events (seq, event_id, type, stream_id, correlation_id, causation_id, payload, occurred_at_ns)
  SELECT head.seq + 1, $1::uuid, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6::jsonb, $7 FROM head
  WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = $1::uuid)
  RETURNING seq, payload),
mv AS (UPDATE ledger_head SET seq = ins.seq FROM ins RETURNING ledger_head.seq),
st AS (
  INSERT INTO stream_state AS ss (stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload)
  SELECT $3, ins.seq, ins.seq, $2, 1, $7, ins.payload FROM ins
  ON CONFLICT (stream_id) DO UPDATE SET
    last_seq = EXCLUDED.last_seq, last_type = EXCLUDED.last_type, event_count = ss.event_count + 1,
    last_occurred_at_ns = EXCLUDED.last_occurred_at_ns, last_payload = EXCLUDED.last_payload
  RETURNING 1)
SELECT (SELECT seq FROM ins), (SELECT count(*) FROM mv), (SELECT count(*) FROM st)
)sql";

const std::vector<std::string> event_columns{"seq",          "event_id", "type",    "stream_id",
                                             "correlation_id", "causation_id", "payload", "occurred_at_ns"};
const std::vector<std::string> state_columns{"stream_id",   "first_seq",           "last_seq",    "last_type",
                                             "event_count", "last_occurred_at_ns", "last_payload"};

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running..."):
// keep the first line, with runs of whitespace collapsed.
std::string one_line(std::string_view s) {
  auto nl = s.find('\n');
  if (nl != std::string_view::npos && nl > 0) s = s.substr(0, nl);
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// 'connection to server at "127.0.0.1", port 5432 failed: Connection refused' -> 'Connection refused'
std::string connect_reason(std::string_view what) {
  std::string line = one_line(what);
  auto p = line.find("failed: ");
  return p == std::string::npos ? line : line.substr(p + 8);
}

bool transient_state(const std::string& state) {
  if (state.empty()) return true;                       // libpq-level failure without a server error
  if (state.rfind("08", 0) == 0) return true;           // connection exception
  if (state.rfind("53", 0) == 0) return true;           // insufficient resources (disk full, too many connections)
  if (state.rfind("57P", 0) == 0) return true;          // admin/crash shutdown, cannot connect now
  return state == "40001" || state == "40P01" || state == "55P03" || state == "57014";
}

std::string with_connect_timeout(const std::string& url, std::chrono::milliseconds t) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  auto secs = std::to_string(std::max<long long>(1, (t.count() + 999) / 1000));
  if (url.find("://") != std::string::npos)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + secs;
  return url + " connect_timeout=" + secs;
}

// tablewriter is deprecated in libpqxx 6 but is the only public way to send raw COPY lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
// Builds COPY text rows straight into one buffer (libpqxx's tuple path allocates per field)
// and hands them to the server in large chunks; COPY data need not align with rows.
class copy_rows {
 public:
  copy_rows(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns)
      : out_(tx, table, columns.begin(), columns.end()) {
    buf_.reserve(chunk + 4096);
  }
  void text(std::string_view s) {
    sep();
    for (;;) {  // copy runs without special characters in one go
      auto p = s.find_first_of("\\\n\r\t");
      buf_.append(s.data(), p == std::string_view::npos ? s.size() : p);
      if (p == std::string_view::npos) return;
      buf_ += '\\';
      buf_ += s[p] == '\\' ? '\\' : s[p] == '\n' ? 'n' : s[p] == '\r' ? 'r' : 't';
      s.remove_prefix(p + 1);
    }
  }
  void text_or_null(const std::string& s) {
    if (s.empty()) {
      sep();
      buf_ += "\\N";
    } else {
      text(s);
    }
  }
  void integer(std::int64_t v) {
    sep();
    char tmp[24];
    auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
    buf_.append(tmp, end);
  }
  void end_row() {
    buf_ += '\n';
    first_ = true;
    if (buf_.size() >= chunk) send();
  }
  void complete() {
    send();
    out_.complete();
  }

 private:
  static constexpr std::size_t chunk = 256 * 1024;
  void sep() {
    if (!first_) buf_ += '\t';
    first_ = false;
  }
  void send() {
    if (buf_.empty()) return;
    buf_.pop_back();  // write_raw_line appends the final newline itself
    out_.write_raw_line(buf_);
    buf_.clear();
  }
  pqxx::tablewriter out_;
  std::string buf_;
  bool first_ = true;
};
#pragma GCC diagnostic pop

std::string replay_query(std::int64_t from_seq, const replay_options& o, pqxx::transaction_base& tx) {
  std::string q = "SELECT " + std::string(codec::replay_columns) + " FROM events WHERE seq >= " +
                  std::to_string(from_seq);
  if (o.to_seq > 0) q += " AND seq <= " + std::to_string(o.to_seq);
  if (!o.stream_id.empty()) q += " AND stream_id = " + tx.quote(o.stream_id);
  return q + " ORDER BY seq";
}

replay_result replay_in(pqxx::transaction_base& tx, std::int64_t from_seq,
                        const std::function<void(const event&)>& fn, const replay_options& o) {
  replay_result res;
  event e;
  auto query = replay_query(from_seq, o, tx);
  if (o.method == replay_method::copy) {
    pqxx::stream_from in(tx, "(" + query + ")");  // libpqxx 6 builds "COPY <name> TO STDOUT"
    std::string line;
    while (in.get_raw_line(line)) {
      codec::decode_copy_line(line, e);
      fn(e);
      ++res.count;
      res.last_seq = e.seq;
    }
    in.complete();
  } else {
    tx.exec("DECLARE ledger_replay NO SCROLL CURSOR FOR " + query);
    const std::string fetch = "FETCH FORWARD " + std::to_string(std::max<std::size_t>(1, o.fetch_size)) +
                              " FROM ledger_replay";
    codec::text_row tr{};
    for (;;) {
      auto r = tx.exec(fetch);
      if (r.empty()) break;
      for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
        auto row = r[i];
        for (int c = 0; c < codec::replay_column_count; ++c) {
          auto f = row[c];
          tr.f[c] = std::string_view(f.c_str(), f.size());
          tr.null[c] = f.is_null();
        }
        codec::decode_row(tr, e);
        fn(e);
        ++res.count;
        res.last_seq = e.seq;
      }
    }
    tx.exec("CLOSE ledger_replay");
  }
  return res;
}

}  // namespace

store::store(std::string url, store_options opts)
    : url_(std::move(url)), redacted_url_(pt::config::redact_url(url_)), opts_(opts) {
  if (auto pw = pt::config::url_password(url_); !pw.empty()) pt::log::register_secret(pw);
  connect();
  if (opts_.migrate) guarded("migrate", [&] { return migrate(*conn_); });
}

store::~store() = default;

namespace {
// A connection with the session settings replay decoding relies on.
std::unique_ptr<pqxx::connection> open_session(const std::string& url, const std::string& redacted,
                                               std::chrono::milliseconds timeout) {
  std::unique_ptr<pqxx::connection> c;
  try {
    c = std::make_unique<pqxx::connection>(with_connect_timeout(url, timeout));
  } catch (const std::exception& e) {
    throw unavailable("ledger: cannot connect to " + redacted + ": " + pt::log::redact(connect_reason(e.what())));
  }
  try {
    pqxx::nontransaction tx(*c);
    // jit off: the planner's guesses for the one-row head table cross jit_above_cost, and
    // compiling the single-event append cost ~13 ms of every 15 (measured); nothing the ledger
    // runs is long enough to win it back.
    tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning; SET jit = off");
  } catch (const std::exception& e) {
    throw unavailable("ledger: cannot set up the session on " + redacted + ": " + one_line(e.what()));
  }
  return c;
}
}  // namespace

void store::connect() {
  conn_.reset();
  auto c = open_session(url_, redacted_url_, opts_.connect_timeout);
  try {
    // We reconnect ourselves: a silent libpqxx reactivation would lose the session setup below.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    c->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction tx(*c);
    tx.exec(
        "CREATE TEMP TABLE ledger_state_delta (stream_id text COLLATE \"C\" NOT NULL, first_seq bigint NOT NULL,"
        " last_seq bigint NOT NULL, last_type text NOT NULL, event_count bigint NOT NULL,"
        " last_occurred_at_ns bigint NOT NULL, last_payload jsonb NOT NULL) ON COMMIT DELETE ROWS");
    c->prepare("ledger_lock_head", lock_head_sql);
    c->prepare("ledger_existing", existing_sql);
    c->prepare("ledger_upsert_state", upsert_state_sql);
    c->prepare("ledger_append_one", append_one_sql);
    if (!opts_.synchronous_commit)
      tx.exec("SET synchronous_commit = off");
  } catch (const std::exception& e) {
    throw unavailable("ledger: cannot set up the session on " + redacted_url_ + ": " + one_line(e.what()));
  }
  conn_ = std::move(c);
}

template <class F>
auto store::guarded(const char* what, F&& f) -> decltype(f()) {
  if (!conn_) connect();
  auto lost = [&](const std::exception& e, const char* how) {
    conn_.reset();
    return unavailable(std::string("ledger: ") + what + " on " + redacted_url_ + ": " + how + ": " +
                       pt::log::redact(one_line(e.what())));
  };
  try {
    return f();
  } catch (const pqxx::broken_connection& e) {
    throw lost(e, "connection lost");
  } catch (const pqxx::in_doubt_error& e) {
    throw lost(e, "commit outcome unknown (a retry is safe: event_id is unique)");
  } catch (const pqxx::sql_error& e) {
    if (transient_state(e.sqlstate()) || !conn_->is_open()) throw lost(e, "server unavailable");
    throw error(std::string("ledger: ") + what + " failed: " + one_line(e.what()) + " [SQLSTATE " + e.sqlstate() +
                "]");
  } catch (const pqxx::failure& e) {
    throw lost(e, "connection failure");
  }
}

pqxx::connection& store::connection() {
  if (!conn_) connect();
  return *conn_;
}

append_result store::append(std::span<const event> batch) {
  for (const auto& e : batch) validate(e, opts_.validate_json);
  if (batch.empty()) return {};
  // Canonical (lower-case) ids: PostgreSQL prints uuids in lower case.
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  std::string id_array;
  id_array.reserve(batch.size() * 37 + 2);
  id_array += '{';
  for (const auto& e : batch) {
    auto& id = ids.emplace_back(e.event_id);
    for (auto& ch : id) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (id_array.size() > 1) id_array += ',';
    id_array += id;
  }
  id_array += '}';

  if (batch.size() == 1) {
    bool duplicate_race = false;
    auto r = guarded("append", [&] {
      const auto& e = batch[0];
      try {
        pqxx::nontransaction tx(*conn_);
        const auto row = tx.exec_prepared1("ledger_append_one", ids[0], std::string(to_string(e.type)), e.stream_id,
                                           e.correlation_id, e.causation_id, e.payload, e.occurred_at_ns);
        append_result res;
        if (row[0].is_null()) {
          res.duplicates = 1;
        } else {
          res.appended = 1;
          res.first_seq = res.last_seq = row[0].as<std::int64_t>();
        }
        return res;
      } catch (const pqxx::unique_violation&) {
        duplicate_race = true;
        return append_result{};
      }
    });
    if (!duplicate_race) return r;
  }

  struct delta {
    std::int64_t first_seq, last_seq, count;
    const event* last;
  };
  return guarded("append", [&] {
    pqxx::work tx(*conn_);
    const auto head = tx.exec_prepared1("ledger_lock_head")[0].as<std::int64_t>();
    std::unordered_set<std::string_view> skip;  // stored already, or repeated within the batch
    const auto existing = tx.exec_prepared("ledger_existing", id_array);
    std::vector<std::string> stored;
    stored.reserve(existing.size());
    for (const auto& row : existing) stored.emplace_back(row[0].c_str());
    skip.insert(stored.begin(), stored.end());

    append_result res;
    std::int64_t seq = head;
    std::unordered_map<std::string_view, delta> deltas;
    std::vector<std::string_view> stream_order;
    {
      copy_rows copy(tx, "events", event_columns);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!skip.insert(ids[i]).second) continue;
        const auto& e = batch[i];
        ++seq;
        copy.integer(seq);
        copy.text(ids[i]);
        copy.text(to_string(e.type));
        copy.text(e.stream_id);
        copy.text_or_null(e.correlation_id);
        copy.text_or_null(e.causation_id);
        copy.text(e.payload);
        copy.integer(e.occurred_at_ns);
        copy.end_row();
        auto [it, fresh] = deltas.try_emplace(e.stream_id, delta{seq, seq, 0, &e});
        if (fresh) stream_order.push_back(it->first);
        it->second.last_seq = seq;
        it->second.last = &e;
        ++it->second.count;
      }
      copy.complete();
    }
    res.appended = static_cast<std::size_t>(seq - head);
    res.duplicates = batch.size() - res.appended;
    if (res.appended == 0) {
      tx.commit();
      return res;
    }
    res.first_seq = head + 1;
    res.last_seq = seq;
    {
      pqxx::stream_to copy(tx, "ledger_state_delta", state_columns);
      for (auto stream : stream_order) {
        const auto& d = deltas.at(stream);
        copy << std::forward_as_tuple(d.last->stream_id, d.first_seq, d.last_seq, to_string(d.last->type).data(),
                                      d.count, d.last->occurred_at_ns, d.last->payload);
      }
      copy.complete();
    }
    tx.exec_prepared0("ledger_upsert_state", seq);
    tx.commit();
    return res;
  });
}

replay_result store::replay(std::int64_t from_seq, const std::function<void(const event&)>& fn,
                            const replay_options& opts) {
  if (opts.connections > 1 && opts.method == replay_method::copy) return replay_parallel(from_seq, fn, opts);
  return guarded("replay", [&] {
    pqxx::read_transaction tx(*conn_);
    auto r = replay_in(tx, from_seq, fn, opts);
    tx.commit();
    return r;
  });
}

replay_result store::replay_parallel(std::int64_t from_seq, const std::function<void(const event&)>& fn,
                                     const replay_options& opts) {
  std::int64_t hi = head();
  if (opts.to_seq > 0) hi = std::min(hi, opts.to_seq);
  from_seq = std::max<std::int64_t>(from_seq, 1);
  if (from_seq > hi) return {};
  const std::int64_t chunk = std::max<std::int64_t>(1, opts.chunk_size);
  const std::int64_t chunks = (hi - from_seq) / chunk + 1;
  const int workers = static_cast<int>(std::min<std::int64_t>(opts.connections, chunks));

  struct block {  // one chunk's COPY lines, back to back
    std::string data;
    std::vector<std::size_t> ends;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::int64_t, block> ready;
  std::int64_t consumed = 0;  // chunks handed to fn so far
  bool abort = false;
  std::exception_ptr failure;

  auto work = [&](int w) {
    try {
      auto c = open_session(url_, redacted_url_, opts_.connect_timeout);
      for (std::int64_t k = w; k < chunks; k += workers) {
        {
          std::unique_lock lk(mu);  // stay at most two rounds ahead of the consumer (bounded memory)
          cv.wait(lk, [&] { return abort || k < consumed + 2 * workers; });
          if (abort) return;
        }
        replay_options o = opts;
        o.to_seq = std::min(hi, from_seq + (k + 1) * chunk - 1);
        pqxx::read_transaction tx(*c);
        pqxx::stream_from in(tx, "(" + replay_query(from_seq + k * chunk, o, tx) + ")");
        block b;
        std::string line;
        while (in.get_raw_line(line)) {
          b.data += line;
          b.ends.push_back(b.data.size());
        }
        in.complete();
        tx.commit();
        std::lock_guard lk(mu);
        ready.emplace(k, std::move(b));
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lk(mu);
      if (!failure) failure = std::current_exception();
      abort = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work, w);
  auto stop_all = [&] {
    {
      std::lock_guard lk(mu);
      abort = true;
      cv.notify_all();
    }
    for (auto& t : threads) t.join();
  };

  replay_result res;
  event e;
  try {
    for (std::int64_t k = 0; k < chunks; ++k) {
      block b;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return failure || ready.count(k); });
        if (failure) std::rethrow_exception(failure);
        b = std::move(ready.at(k));
        ready.erase(k);
        consumed = k + 1;
        cv.notify_all();
      }
      std::size_t start = 0;
      for (auto end : b.ends) {
        codec::decode_copy_line(std::string_view(b.data).substr(start, end - start), e);
        start = end;
        fn(e);
        ++res.count;
        res.last_seq = e.seq;
      }
    }
  } catch (...) {
    stop_all();
    try {
      throw;
    } catch (const pqxx::broken_connection& x) {
      throw unavailable("ledger: replay on " + redacted_url_ + ": connection lost: " + one_line(x.what()));
    } catch (const pqxx::sql_error& x) {
      if (transient_state(x.sqlstate()))
        throw unavailable("ledger: replay on " + redacted_url_ + ": server unavailable: " + one_line(x.what()));
      throw error("ledger: replay failed: " + one_line(x.what()) + " [SQLSTATE " + x.sqlstate() + "]");
    } catch (const pqxx::failure& x) {
      throw unavailable("ledger: replay on " + redacted_url_ + ": connection failure: " + one_line(x.what()));
    }
  }
  stop_all();
  return res;
}

std::int64_t store::head() {
  return guarded("head", [&] {
    pqxx::read_transaction tx(*conn_);
    return tx.exec1("SELECT seq FROM ledger_head")[0].as<std::int64_t>();
  });
}

namespace {
stream_state state_from_row(const pqxx::row& row) {
  stream_state s;
  s.stream_id = row[0].as<std::string>();
  s.first_seq = row[1].as<std::int64_t>();
  s.last_seq = row[2].as<std::int64_t>();
  s.last_type = parse_event_type(row[3].c_str());
  s.event_count = row[4].as<std::int64_t>();
  s.last_occurred_at_ns = row[5].as<std::int64_t>();
  s.last_payload = row[6].as<std::string>();
  return s;
}
constexpr const char* state_select =
    "SELECT stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload::text "
    "FROM stream_state";
}  // namespace

std::optional<stream_state> store::state_of(const std::string& stream_id) {
  return guarded("state_of", [&]() -> std::optional<stream_state> {
    pqxx::read_transaction tx(*conn_);
    auto r = tx.exec_params(std::string(state_select) + " WHERE stream_id = $1", stream_id);
    if (r.empty()) return std::nullopt;
    return state_from_row(r[0]);
  });
}

std::vector<stream_state> store::stream_states() {
  return guarded("stream_states", [&] {
    pqxx::read_transaction tx(*conn_);
    std::vector<stream_state> out;
    for (const auto& row : tx.exec(std::string(state_select) + " ORDER BY stream_id")) out.push_back(state_from_row(row));
    return out;
  });
}

std::size_t store::rebuild_projection() {
  return guarded("rebuild_projection", [&] {
    pqxx::work tx(*conn_);
    tx.exec_prepared("ledger_lock_head");  // appends wait until the rebuilt table commits
    tx.exec("DELETE FROM stream_state");   // not TRUNCATE: readers keep the old rows until commit
    std::unordered_map<std::string, stream_state> states;
    auto r = replay_in(
        tx, 1,
        [&](const event& e) {
          auto& s = states[e.stream_id];
          if (s.event_count == 0) {
            s.stream_id = e.stream_id;
            s.first_seq = e.seq;
          }
          s.last_seq = e.seq;
          s.last_type = e.type;
          ++s.event_count;
          s.last_occurred_at_ns = e.occurred_at_ns;
          s.last_payload = e.payload;
        },
        {});
    {
      pqxx::stream_to out(tx, "stream_state", state_columns);
      for (const auto& [id, s] : states)
        out << std::forward_as_tuple(s.stream_id, s.first_seq, s.last_seq, to_string(s.last_type).data(),
                                     s.event_count, s.last_occurred_at_ns, s.last_payload);
      out.complete();
    }
    tx.commit();
    pt::log::info("ledger: rebuilt stream_state", {{"events", r.count}, {"streams", states.size()}});
    return r.count;
  });
}

}  // namespace pt::ledger
