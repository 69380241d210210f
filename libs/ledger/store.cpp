#include "store.hpp"

#include "codec.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "migrations.hpp"

#include <pqxx/pqxx>

#include <tuple>
#include <unordered_map>

namespace pt::ledger {
namespace {

// The append statement ($1 = the head, locked by the previous statement). New rows are those
// whose event_id is neither stored nor repeated earlier in the batch; they are numbered
// head+1.. in batch order. Because the head row lock was taken in an earlier statement, this
// statement's snapshot sees every committed append, so NOT EXISTS is exact; ON CONFLICT is a
// safety net whose use would show up as a gap, which append() refuses to commit.
constexpr const char* append_sql = R"sql(
WITH fresh AS (
  SELECT DISTINCT ON (s.event_id) s.ord, s.event_id, s.type, s.stream_id, s.correlation_id,
         s.causation_id, s.payload, s.occurred_at_ns
  FROM ledger_staging s
  WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = s.event_id)
  ORDER BY s.event_id, s.ord
), ins AS (
  INSERT INTO events (seq, event_id, type, stream_id, correlation_id, causation_id, payload, occurred_at_ns)
  SELECT $1::bigint + row_number() OVER (ORDER BY ord), event_id, type, stream_id, correlation_id,
         causation_id, payload, occurred_at_ns
  FROM fresh
  ON CONFLICT (event_id) DO NOTHING
  RETURNING seq, stream_id, type, payload, occurred_at_ns
), proj AS (
  INSERT INTO stream_state AS ss (stream_id, first_seq, last_seq, last_type, event_count, last_occurred_at_ns, last_payload)
  SELECT DISTINCT ON (stream_id) stream_id, min(seq) OVER w, seq, type, count(*) OVER w, occurred_at_ns, payload
  FROM ins WINDOW w AS (PARTITION BY stream_id)
  ORDER BY stream_id, seq DESC
  ON CONFLICT (stream_id) DO UPDATE SET
    last_seq = EXCLUDED.last_seq, last_type = EXCLUDED.last_type,
    event_count = ss.event_count + EXCLUDED.event_count,
    last_occurred_at_ns = EXCLUDED.last_occurred_at_ns, last_payload = EXCLUDED.last_payload
), head AS (
  UPDATE ledger_head SET seq = (SELECT max(seq) FROM ins) WHERE EXISTS (SELECT 1 FROM ins)
)
SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM ins
)sql";

const std::vector<std::string> staging_columns{"ord",          "event_id", "type",    "stream_id",
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

const char* nullable(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

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

std::string redact_url(const std::string& url) {
  if (auto pw = pt::config::url_password(url); !pw.empty()) {
    auto scheme = url.find("://");
    auto colon = url.find(':', scheme + 3);
    return url.substr(0, colon + 1) + "***" + url.substr(colon + 1 + pw.size());
  }
  auto p = url.find("password=");
  if (p == std::string::npos || (p > 0 && url[p - 1] != ' ')) return url;
  auto end = url.find(' ', p);
  return url.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : url.substr(end));
}

store::store(std::string url, store_options opts)
    : url_(std::move(url)), redacted_url_(redact_url(url_)), opts_(opts) {
  if (auto pw = pt::config::url_password(url_); !pw.empty()) pt::log::register_secret(pw);
  connect();
  if (opts_.migrate) guarded("migrate", [&] { return migrate(*conn_); });
}

store::~store() = default;

void store::connect() {
  conn_.reset();
  std::unique_ptr<pqxx::connection> c;
  try {
    c = std::make_unique<pqxx::connection>(with_connect_timeout(url_, opts_.connect_timeout));
  } catch (const std::exception& e) {
    throw unavailable("ledger: cannot connect to " + redacted_url_ + ": " + pt::log::redact(connect_reason(e.what())));
  }
  try {
    // We reconnect ourselves: a silent libpqxx reactivation would lose the session setup below.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    c->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction tx(*c);
    tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning");
    tx.exec(
        "CREATE TEMP TABLE ledger_staging (ord integer NOT NULL, event_id uuid NOT NULL, type text NOT NULL,"
        " stream_id text NOT NULL, correlation_id text, causation_id text, payload jsonb NOT NULL,"
        " occurred_at_ns bigint NOT NULL) ON COMMIT DELETE ROWS");
    c->prepare("ledger_lock_head", "SELECT seq FROM ledger_head FOR UPDATE");
    c->prepare("ledger_append", append_sql);
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
  for (const auto& e : batch) validate(e);
  if (batch.empty()) return {};
  return guarded("append", [&] {
    pqxx::work tx(*conn_);
    {
      pqxx::stream_to copy(tx, "ledger_staging", staging_columns);
      int ord = 0;
      for (const auto& e : batch) {
        const char* type = to_string(e.type).data();  // the name table holds NUL-terminated literals
        copy << std::forward_as_tuple(ord, e.event_id, type, e.stream_id, nullable(e.correlation_id),
                                      nullable(e.causation_id), e.payload, e.occurred_at_ns);
        ++ord;
      }
      copy.complete();
    }
    const auto head = tx.exec_prepared1("ledger_lock_head")[0].as<std::int64_t>();
    const auto r = tx.exec_prepared1("ledger_append", head);
    append_result res;
    res.appended = r[0].as<std::size_t>();
    res.duplicates = batch.size() - res.appended;
    res.first_seq = r[1].as<std::int64_t>();
    res.last_seq = r[2].as<std::int64_t>();
    if (res.appended > 0 &&
        (res.first_seq != head + 1 || res.last_seq != head + static_cast<std::int64_t>(res.appended)))
      throw error("ledger: append would leave a sequence gap (head " + std::to_string(head) + ", wrote " +
                  std::to_string(res.first_seq) + ".." + std::to_string(res.last_seq) + " for " +
                  std::to_string(res.appended) + " rows): events was written without the head lock");
    tx.commit();
    return res;
  });
}

replay_result store::replay(std::int64_t from_seq, const std::function<void(const event&)>& fn,
                            const replay_options& opts) {
  return guarded("replay", [&] {
    pqxx::read_transaction tx(*conn_);
    auto r = replay_in(tx, from_seq, fn, opts);
    tx.commit();
    return r;
  });
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
