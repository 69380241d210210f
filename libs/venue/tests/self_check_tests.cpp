// The self-check's rules on hand-made facts: each check passes on a healthy account and fails
// (or warns, or is unverifiable) on exactly the fact that is wrong.
#include "venue/self_check.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace pt::venue;
using pt::core::decimal;
using pt::core::timestamp;
using namespace pt::core::literals;

namespace {

instrument inst(const std::string& symbol, int max_leverage = 75) {
  instrument i;
  i.symbol = symbol;
  i.tick = "0.1"_dec;
  i.lot = "0.001"_dec;
  i.min_qty = "0.001"_dec;
  i.max_leverage = max_leverage;
  return i;
}

self_check_expectations expect() {
  self_check_expectations x;
  x.symbols = {"BTC_USDT_PERP", "ETH_USDT_PERP"};
  x.leverage = 3;
  x.skew = clock_skew_config::for_poloniex();
  x.min_equity = "100"_dec;
  return x;
}

// A healthy account: server clock 20 ms ahead, 4 ms round trips.
self_check_facts healthy() {
  self_check_facts f;
  const std::int64_t t0 = 1'763'700'000'000;  // ms
  for (int i = 0; i < 5; ++i) {
    const std::int64_t send = t0 + i * 100;
    f.time_samples.push_back({timestamp::from_millis(send), timestamp::from_millis(send + 2 + 20), timestamp::from_millis(send + 4)});
  }
  f.instruments.value = std::vector<instrument>{inst("BTC_USDT_PERP"), inst("ETH_USDT_PERP"), inst("SOL_USDT_PERP")};
  f.permissions.value = std::optional<key_permissions>(key_permissions{true, true, false, true});
  f.pos_mode.value = position_mode::one_way;
  f.settings["BTC_USDT_PERP"].value = symbol_settings{"BTC_USDT_PERP", 3, margin_mode::cross};
  f.settings["ETH_USDT_PERP"].value = symbol_settings{"ETH_USDT_PERP", 3, margin_mode::cross};
  balance b;
  b.asset = "USDT";
  b.wallet = b.equity = b.available = "10000"_dec;
  f.balances.value = std::vector<balance>{b};
  return f;
}

check_result result_of(const self_check_report& r, const std::string& code) {
  const auto it = std::find_if(r.checks.begin(), r.checks.end(), [&](const check_result& c) { return c.code == code; });
  REQUIRE(it != r.checks.end());
  return *it;
}

check_status status_of(const self_check_facts& f, const std::string& code, const self_check_expectations& x = expect()) {
  return result_of(evaluate(f, x), code).status;
}

}  // namespace

TEST_CASE("self-check: a healthy account passes every check") {
  const auto r = evaluate(healthy(), expect());
  REQUIRE(r.checks.size() == 6);
  for (const auto& c : r.checks) {
    INFO(c.code << ": " << c.detail);
    CHECK(c.status == check_status::pass);
  }
  CHECK(r.passed(false));
  CHECK(r.blocking(false).empty());
  CHECK(result_of(r, "CLOCK_SKEW").detail.find("offset 20 ms") != std::string::npos);
  CHECK(r.to_json().size() == 6);
}

TEST_CASE("self-check: clock skew beyond the venue's tolerance fails") {
  auto f = healthy();
  for (auto& s : f.time_samples) s.server = timestamp::from_nanos(s.server.nanos() + 900'000'000);  // +0.9 s
  CHECK(status_of(f, "CLOCK_SKEW") == check_status::fail);
  auto x = expect();
  x.skew = clock_skew_config::for_binance();  // 2.5 s tolerance
  CHECK(status_of(f, "CLOCK_SKEW", x) == check_status::pass);

  f.time_samples.clear();
  f.time_error = "connection refused";
  const auto r = evaluate(f, expect());
  CHECK(result_of(r, "CLOCK_SKEW").status == check_status::fail);
  CHECK(result_of(r, "CLOCK_SKEW").detail.find("connection refused") != std::string::npos);
  CHECK_FALSE(r.passed(true));
}

TEST_CASE("self-check: catalog problems fail") {
  auto missing = healthy();
  missing.instruments.value->erase(missing.instruments.value->begin() + 1);
  CHECK(status_of(missing, "CATALOG") == check_status::fail);

  auto paused = healthy();
  (*paused.instruments.value)[0].status = instrument_status::paused;
  CHECK(status_of(paused, "CATALOG") == check_status::fail);

  auto low_max = healthy();
  (*low_max.instruments.value)[1].max_leverage = 2;  // configured 3x
  const auto r = evaluate(low_max, expect());
  CHECK(result_of(r, "CATALOG").status == check_status::fail);
  CHECK(result_of(r, "CATALOG").detail.find("above the venue's max 2x") != std::string::npos);

  auto offline = healthy();
  offline.instruments_from_offline_catalog = true;
  CHECK(status_of(offline, "CATALOG") == check_status::fail);

  auto x = expect();
  x.leverage = 6;  // above the hard cap
  auto ok_settings = healthy();
  CHECK(status_of(ok_settings, "CATALOG", x) == check_status::fail);

  auto unread = healthy();
  unread.instruments = {};
  unread.instruments.error = "HTTP 503";
  CHECK(status_of(unread, "CATALOG") == check_status::fail);
}

TEST_CASE("self-check: key permissions - withdrawals fail, unknown blocks unless accepted, no IP list warns") {
  auto withdraw = healthy();
  withdraw.permissions.value = std::optional<key_permissions>(key_permissions{true, true, true, true});
  const auto r = evaluate(withdraw, expect());
  CHECK(result_of(r, "KEY_PERMISSIONS").status == check_status::fail);
  CHECK_FALSE(r.passed(true));
  REQUIRE(r.blocking(true).size() == 1);
  CHECK(r.blocking(true)[0].find("KEY_PERMISSIONS: the key may withdraw") == 0);

  auto no_futures = healthy();
  no_futures.permissions.value = std::optional<key_permissions>(key_permissions{true, false, false, true});
  CHECK(status_of(no_futures, "KEY_PERMISSIONS") == check_status::fail);

  auto unknown = healthy();
  unknown.permissions.value = std::optional<key_permissions>(std::nullopt);  // Poloniex
  const auto u = evaluate(unknown, expect());
  CHECK(result_of(u, "KEY_PERMISSIONS").status == check_status::unverifiable);
  CHECK_FALSE(u.passed(false));
  CHECK(u.passed(true));

  auto open_ip = healthy();
  open_ip.permissions.value = std::optional<key_permissions>(key_permissions{true, true, false, false});
  const auto w = evaluate(open_ip, expect());
  CHECK(result_of(w, "KEY_PERMISSIONS").status == check_status::warn);
  CHECK(w.passed(false));

  auto unread = healthy();
  unread.permissions = {};
  unread.permissions.error = "-2015 Invalid API-key";
  CHECK(status_of(unread, "KEY_PERMISSIONS") == check_status::fail);
}

TEST_CASE("self-check: account settings that differ from the configuration fail") {
  auto hedge = healthy();
  hedge.pos_mode.value = position_mode::hedge;
  CHECK(status_of(hedge, "POSITION_MODE") == check_status::fail);

  auto lev = healthy();
  lev.settings["ETH_USDT_PERP"].value->leverage = 20;
  const auto r = evaluate(lev, expect());
  CHECK(result_of(r, "SYMBOL_SETTINGS").status == check_status::fail);
  CHECK(result_of(r, "SYMBOL_SETTINGS").detail.find("ETH_USDT_PERP: leverage 20x, above the configured 3x") != std::string::npos);
  auto lower = healthy();
  lower.settings["ETH_USDT_PERP"].value->leverage = 2;  // an entry's lower leverage: safe
  CHECK(status_of(lower, "SYMBOL_SETTINGS") == check_status::pass);

  auto iso = healthy();
  iso.settings["BTC_USDT_PERP"].value->mode = margin_mode::isolated;
  CHECK(status_of(iso, "SYMBOL_SETTINGS") == check_status::fail);

  auto unread = healthy();
  unread.settings.erase("BTC_USDT_PERP");
  CHECK(status_of(unread, "SYMBOL_SETTINGS") == check_status::fail);
}

TEST_CASE("self-check: an empty or unreadable balance fails") {
  auto poor = healthy();
  (*poor.balances.value)[0].equity = "50"_dec;  // min 100
  CHECK(status_of(poor, "BALANCE") == check_status::fail);
  auto other = healthy();
  (*other.balances.value)[0].asset = "USDC";
  CHECK(status_of(other, "BALANCE") == check_status::fail);
  auto unread = healthy();
  unread.balances = {};
  unread.balances.error = "timeout";
  CHECK(status_of(unread, "BALANCE") == check_status::fail);
}
