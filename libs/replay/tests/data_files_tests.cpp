// Loaders on small files written here: values, layouts, gzip, and every kind of bad row.
// Expected values are the digits written into the files (or hand-rounded), not loader output.
#include "replay/data_files.hpp"

#include "test_files.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>

namespace {

using namespace pt::core::literals;
using pt::core::decimal;
using pt::replay::data_error;
using replay_test::temp_dir;
namespace fs = std::filesystem;
namespace rp = pt::replay;

const std::string candle_header = "open_time_ms,open_time_utc,open,high,low,close,volume\n";
// Three 5m rows copied from freqtrade_marketlab/BTCUSDT_5m.csv.gz (2024-12-31).
const std::string candle_rows =
    "1735603200000,2024-12-31T00:00:00Z,92759.3,92819.7,92680.3,92755.5,547.689\n"
    "1735603500000,2024-12-31T00:05:00Z,92755.6,92875.4,92715.6,92835,310.319\n"
    "1735603800000,2024-12-31T00:10:00Z,92835,92900,92800.1,92850.2,0\n";

void check_three_bars(const std::vector<rp::bar>& bars) {
  REQUIRE(bars.size() == 3);
  CHECK(bars[0].open_time_ms == 1735603200000);
  CHECK(bars[0].open == 92759.3_dec);
  CHECK(bars[0].high == 92819.7_dec);
  CHECK(bars[0].low == 92680.3_dec);
  CHECK(bars[0].close == 92755.5_dec);
  CHECK(bars[0].volume == 547.689_dec);
  CHECK_FALSE(bars[0].quote_volume.has_value());
  CHECK_FALSE(bars[0].trades.has_value());
  CHECK(bars[1].open_time_ms == 1735603500000);
  CHECK(bars[1].close == 92835_dec);
  CHECK(bars[2].open_time_ms == 1735603800000);
  CHECK(bars[2].low == 92800.1_dec);
  CHECK(bars[2].volume == decimal::zero());
}

// Runs `load` and returns the data_error it throws (fails the test when it throws nothing).
template <class F>
data_error error_of(F&& load) {
  try {
    load();
  } catch (const data_error& e) {
    return e;
  }
  FAIL("no data_error thrown");
  throw std::logic_error("unreachable");
}

// The error names file:line and says why.
void check_error(const data_error& e, const fs::path& file, std::size_t line, const std::string& why) {
  INFO(e.what());
  CHECK(e.file() == file);
  CHECK(e.line() == line);
  const std::string prefix = file.string() + ":" + std::to_string(line) + ": ";
  CHECK(std::string(e.what()).rfind(prefix, 0) == 0);
  CHECK(std::string(e.what()).find(why) != std::string::npos);
}

}  // namespace

TEST_CASE("candles load from a plain CSV with exact decimal values", "[data]") {
  temp_dir d;
  check_three_bars(rp::load_candles(d.write("BTCUSDT_5m.csv", candle_header + candle_rows)));
}

TEST_CASE("candles load from a .csv.gz written with gzopen", "[data]") {
  temp_dir d;
  const auto p = d.write_gz("BTCUSDT_5m.csv.gz", candle_header + candle_rows);
  REQUIRE(replay_test::read_bytes(p).substr(0, 2) == "\x1f\x8b");  // really gzip
  check_three_bars(rp::load_candles(p));
}

TEST_CASE("compression is detected by content, not by the file name", "[data]") {
  temp_dir d;
  check_three_bars(rp::load_candles(d.write_gz("gzip_named_plain.csv", candle_header + candle_rows)));
  check_three_bars(rp::load_candles(d.write("plain_named_gz.csv.gz", candle_header + candle_rows)));
}

TEST_CASE("CRLF line ends, a missing final newline and trailing blank lines are accepted", "[data]") {
  temp_dir d;
  std::string crlf;
  for (char c : candle_header + candle_rows) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  check_three_bars(rp::load_candles(d.write("crlf.csv", crlf)));
  std::string no_final = candle_header + candle_rows;
  no_final.pop_back();
  check_three_bars(rp::load_candles(d.write("nofinal.csv", no_final)));
  check_three_bars(rp::load_candles(d.write("blank_tail.csv", candle_header + candle_rows + "\n\n")));
}

TEST_CASE("candle columns: quote volume, trade count, tensortrade's volume_btc/volume_usd", "[data]") {
  temp_dir d;
  const auto binance = rp::load_candles(d.write(
      "k.csv",
      "open_time_ms,open,high,low,close,volume,quote_volume,trades\n"
      "1000,10,11,9,10.5,2.5,26.25,7\n"
      "2000,10.5,10.5,10.5,10.5,0,,\n"));
  REQUIRE(binance.size() == 2);
  CHECK(binance[0].quote_volume == 26.25_dec);
  CHECK(binance[0].trades == 7);
  CHECK_FALSE(binance[1].quote_volume.has_value());  // empty optional field
  CHECK_FALSE(binance[1].trades.has_value());

  // First rows of tensortrade/coinbase_BTCUSD_1d.csv.
  const auto coinbase = rp::load_candles(d.write(
      "coinbase_BTCUSD_1d.csv",
      "open_time_ms,open_time_utc,open,high,low,close,volume_btc,volume_usd\n"
      "1417392000000,2014-12-01T00:00:00Z,300,370,300,370,0.05656,19.53\n"
      "1417478400000,2014-12-02T00:00:00Z,370,378,370,378,15.01,5675.07\n"));
  REQUIRE(coinbase.size() == 2);
  CHECK(coinbase[0].volume == 0.05656_dec);
  CHECK(coinbase[0].quote_volume == 19.53_dec);
  CHECK(coinbase[1].high == 378_dec);
}

TEST_CASE("mark-price candles have no volume column: volume is zero", "[data]") {
  temp_dir d;
  // First rows of freqtrade_marketlab/BTCUSDT_mark_price_1h.csv.
  const auto bars = rp::load_mark_prices(d.write(
      "BTCUSDT_mark_price_1h.csv",
      "open_time_ms,open_time_utc,open,high,low,close\n"
      "1735603200000,2024-12-31T00:00:00Z,92760.05741135,92875.4,92355,92424.4\n"
      "1735606800000,2024-12-31T01:00:00Z,92435.8,92549.9,92017.47552482,92396.7\n"));
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].open == 92760.05741135_dec);
  CHECK(bars[1].low == 92017.47552482_dec);
  CHECK(bars[0].volume == decimal::zero());
}

TEST_CASE("more than 9 fractional digits are rounded half-even", "[data]") {
  temp_dir d;
  // Hand-rounded to 9 digits: ...0005 is a tie -> even (0); ...0015 tie -> 2; ...00051 -> 1.
  const auto bars = rp::load_candles(d.write(
      "r.csv",
      "open_time_ms,open,high,low,close\n"
      "1,1.0000000005,1.0000000015,1.0000000005,1.00000000051\n"));
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].open == 1_dec);
  CHECK(bars[0].high == 1.000000002_dec);
  CHECK(bars[0].close == 1.000000001_dec);
}

TEST_CASE("malformed candle files throw data_error naming file and line", "[data][errors]") {
  temp_dir d;
  SECTION("bad number") {
    const auto p = d.write("bad.csv", candle_header +
                                          "1735603200000,2024-12-31T00:00:00Z,92759.3,92819.7,92680.3,92755.5,547.689\n"
                                          "1735603500000,2024-12-31T00:05:00Z,92755.6,9287x5.4,92715.6,92835,310.319\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 3, "column 'high'");
  }
  SECTION("missing column") {
    const auto p = d.write("short.csv", candle_header + "1735603200000,2024-12-31T00:00:00Z,92759.3,92819.7,92680.3,92755.5\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "expected 7 columns, got 6");
  }
  SECTION("time not increasing (duplicate)") {
    const auto p = d.write("dup.csv", candle_header + candle_rows +
                                          "1735603800000,2024-12-31T00:10:00Z,92835,92900,92800.1,92850.2,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 5, "not after the previous row");
  }
  SECTION("time going backwards") {
    const auto p = d.write("back.csv", candle_header +
                                           "1735603500000,2024-12-31T00:05:00Z,1,1,1,1,1\n"
                                           "1735603200000,2024-12-31T00:00:00Z,1,1,1,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 3, "not after the previous row");
  }
  SECTION("empty file") {
    const auto p = d.write("empty.csv", "");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 1, "empty file");
  }
  SECTION("empty gzip file") {
    const auto p = d.write_gz("empty.csv.gz", "");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 1, "empty file");
  }
  SECTION("header only") {
    const auto p = d.write("header.csv", candle_header);
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "no data rows");
  }
  SECTION("blank line in the middle") {
    const auto p = d.write("blank.csv", "open_time_ms,open,high,low,close,volume\n1,1,1,1,1,1\n\n3,1,1,1,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 3, "empty line");
  }
  SECTION("unknown column") {
    const auto p = d.write("unk.csv", "open_time_ms,open,high,low,close,volume,colour\n1,1,1,1,1,1,red\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 1, "unknown column 'colour'");
  }
  SECTION("missing required column") {
    const auto p = d.write("noclose.csv", "open_time_ms,open,high,low\n1,1,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 1, "missing column 'close'");
  }
  SECTION("ISO time disagrees with the millisecond time") {
    const auto p = d.write("utc.csv", candle_header + "1735603200000,2024-12-31T00:05:00Z,1,1,1,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "not the same instant");
  }
  SECTION("high below low") {
    const auto p = d.write("hl.csv", candle_header + "1735603200000,2024-12-31T00:00:00Z,10,9,11,10,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "inconsistent bar");
  }
  SECTION("close above high") {
    const auto p = d.write("ch.csv", candle_header + "1735603200000,2024-12-31T00:00:00Z,10,11,9,12,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "inconsistent bar");
  }
  SECTION("negative volume") {
    const auto p = d.write("nv.csv", candle_header + "1735603200000,2024-12-31T00:00:00Z,10,11,9,10,-1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "negative");
  }
  SECTION("zero price") {
    const auto p = d.write("zp.csv", candle_header + "1735603200000,2024-12-31T00:00:00Z,0,11,0,10,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "not positive");
  }
  SECTION("time that does not fit an int64") {
    const auto p = d.write("big.csv", "open_time_ms,open,high,low,close\n99999999999999999999,1,1,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "not an integer");
  }
  SECTION("price beyond the decimal range") {
    const auto p = d.write("huge.csv", "open_time_ms,open,high,low,close\n1,1,99999999999,1,1\n");
    check_error(error_of([&] { (void)rp::load_candles(p); }), p, 2, "column 'high'");
  }
  SECTION("gzip stream cut short") {
    std::string text = "open_time_ms,open,high,low,close,volume\n";
    for (int i = 0; i < 2000; ++i) text += std::to_string(1735603200000 + i * 300000LL) + ",1,2,0.5,1.5,3\n";
    const auto whole = d.write_gz("whole.csv.gz", text);
    REQUIRE(rp::load_candles(whole).size() == 2000);
    const std::string bytes = replay_test::read_bytes(whole);
    const auto cut = d.write("cut.csv.gz", bytes.substr(0, bytes.size() / 2));
    const auto e = error_of([&] { (void)rp::load_candles(cut); });
    INFO(e.what());
    CHECK(e.file() == cut);
    CHECK(e.line() > 0);
    CHECK(std::string(e.what()).rfind(cut.string() + ":", 0) == 0);
  }
  SECTION("file that does not exist") {
    const auto p = d.path / "nope.csv";
    const auto e = error_of([&] { (void)rp::load_candles(p); });
    CHECK(e.file() == p);
    CHECK(e.line() == 0);
    CHECK(std::string(e.what()).find("cannot open") != std::string::npos);
  }
  SECTION("binary garbage") {
    const auto p = d.write("garbage.csv", std::string("\x00\x01\x02\xff,\n\x7f", 7));
    (void)error_of([&] { (void)rp::load_candles(p); });
  }
}

TEST_CASE("funding: rate, exponent form, optional mark price, order checks", "[data]") {
  temp_dir d;
  // First rows of freqtrade_cyft_trader/BTCUSDT_funding_rate.csv (8 ms offset as recorded).
  const auto f = rp::load_funding(d.write(
      "BTCUSDT_funding_rate.csv",
      "funding_time_ms,funding_time_utc,funding_rate\n"
      "1672531200000,2023-01-01T00:00:00Z,0.0001\n"
      "1672560000008,2023-01-01T08:00:00.008Z,-1.3e-7\n"));
  REQUIRE(f.size() == 2);
  CHECK(f[0].time_ms == 1672531200000);
  CHECK(f[0].rate == 0.0001_dec);
  CHECK(f[1].time_ms == 1672560000008);
  CHECK(f[1].rate == -0.00000013_dec);
  CHECK_FALSE(f[0].mark_price.has_value());

  const auto m = rp::load_funding(d.write_gz("m.csv.gz",
                                             "funding_time_ms,funding_rate,mark_price\n"
                                             "1000,0.0001,42000.5\n"
                                             "2000,0.00002,\n"));
  REQUIRE(m.size() == 2);
  CHECK(m[0].mark_price == 42000.5_dec);
  CHECK_FALSE(m[1].mark_price.has_value());

  const auto bad = d.write("bad_funding.csv", "funding_time_ms,funding_rate\n2000,0.1\n1000,0.1\n");
  check_error(error_of([&] { (void)rp::load_funding(bad); }), bad, 3, "not after the previous row");
  const auto rate = d.write("bad_rate.csv", "funding_time_ms,funding_rate\n2000,1%\n");
  check_error(error_of([&] { (void)rp::load_funding(rate); }), rate, 2, "column 'funding_rate'");
  const auto cols = d.write("bad_cols.csv", "funding_time_ms,rate\n2000,0.1\n");
  check_error(error_of([&] { (void)rp::load_funding(cols); }), cols, 1, "unknown column 'rate'");
}

TEST_CASE("hftbacktest files: snapshot, updates, trades, book ticker", "[data]") {
  temp_dir d;
  // Rows copied from hftbacktest_binance_usdm (values as recorded).
  const auto snap = rp::load_depth_snapshot(d.write_gz(
      "BTCUSDT_depth_snapshot.csv.gz",
      "local_recv_ns,event_time_ms,transaction_time_ms,last_update_id,side,price,qty\n"
      "1723161255319702566,1723161256501,1723161256493,5123107852948,bid,61800.20,2.909\n"
      "1723161255319702566,1723161256501,1723161256493,5123107852948,bid,61800.10,0.696\n"
      "1723161255319702566,1723161256501,1723161256493,5123107852948,ask,61800.30,1.5\n"
      "1723161255319702566,1723161256501,1723161256493,5123107852948,ask,61800.40,0.001\n"));
  REQUIRE(snap.size() == 4);
  CHECK(snap[0].local_recv_ns == 1723161255319702566);
  CHECK(snap[0].last_update_id == 5123107852948ULL);
  CHECK(snap[0].side == rp::book_side::bid);
  CHECK(snap[0].price == 61800.2_dec);
  CHECK(snap[1].qty == 0.696_dec);
  CHECK(snap[2].side == rp::book_side::ask);
  CHECK(snap[3].price == 61800.4_dec);

  const std::string upd_header =
      "local_recv_ns,event_time_ms,transaction_time_ms,first_update_id,final_update_id,prev_final_update_id,side,price,qty\n";
  const auto upd = rp::load_depth_updates(d.write_gz(
      "BTCUSDT_depth_updates.csv.gz",
      upd_header +
          "1723161255030314667,1723161256299,1723161256298,5123107832006,5123107837557,5123107831937,bid,58710.20,0.014\n"
          "1723161255030314667,1723161256299,1723161256298,5123107832006,5123107837557,5123107831937,ask,61496.50,0.000\n"
          "1723161255040000000,1723161256309,1723161256308,5123107837558,5123107839000,5123107837557,bid,61800.20,1\n"));
  REQUIRE(upd.size() == 3);
  CHECK(upd[0].first_update_id == 5123107832006ULL);
  CHECK(upd[0].final_update_id == 5123107837557ULL);
  CHECK(upd[0].prev_final_update_id == 5123107831937ULL);
  CHECK(upd[1].side == rp::book_side::ask);
  CHECK(upd[1].qty == decimal::zero());
  CHECK(upd[2].prev_final_update_id == upd[1].final_update_id);

  const std::string trade_header = "local_recv_ns,event_time_ms,trade_time_ms,trade_id,price,qty,buyer_is_maker,trade_kind\n";
  const auto trades = rp::load_trades(d.write_gz(
      "BTCUSDT_trades.csv.gz",
      trade_header +
          "1723161255088176367,1723161256322,1723161256322,5266583935,61800.30,0.006,false,MARKET\n"
          "1723161255088230567,1723161256344,1723161256344,5266583936,61800.30,0.199,true,MARKET\n"));
  REQUIRE(trades.size() == 2);
  CHECK(trades[0].trade_id == 5266583935ULL);
  CHECK(trades[0].price == 61800.3_dec);
  CHECK(trades[0].qty == 0.006_dec);
  CHECK_FALSE(trades[0].buyer_is_maker);
  CHECK(trades[1].buyer_is_maker);
  CHECK(trades[1].trade_kind == "MARKET");

  const auto ticker = rp::load_book_ticker(d.write_gz(
      "BTCUSDT_book_ticker.csv.gz",
      "local_recv_ns,event_time_ms,transaction_time_ms,update_id,bid_price,bid_qty,ask_price,ask_qty\n"
      "1723161255088169167,1723161256313,1723161256313,5123107839020,61800.20,2.507,61800.30,2.510\n"));
  REQUIRE(ticker.size() == 1);
  CHECK(ticker[0].update_id == 5123107839020ULL);
  CHECK(ticker[0].bid_qty == 2.507_dec);
  CHECK(ticker[0].ask_price == 61800.3_dec);

  SECTION("errors") {
    const auto bid_after_ask = d.write(
        "s1.csv",
        "local_recv_ns,event_time_ms,transaction_time_ms,last_update_id,side,price,qty\n"
        "1,1,1,5,ask,10,1\n"
        "1,1,1,5,bid,9,1\n");
    check_error(error_of([&] { (void)rp::load_depth_snapshot(bid_after_ask); }), bid_after_ask, 3, "bid level after");
    const auto bids_rising = d.write(
        "s2.csv",
        "local_recv_ns,event_time_ms,transaction_time_ms,last_update_id,side,price,qty\n"
        "1,1,1,5,bid,9,1\n"
        "1,1,1,5,bid,9.5,1\n");
    check_error(error_of([&] { (void)rp::load_depth_snapshot(bids_rising); }), bids_rising, 3, "not below the previous bid");
    const auto bad_side = d.write(
        "s3.csv",
        "local_recv_ns,event_time_ms,transaction_time_ms,last_update_id,side,price,qty\n"
        "1,1,1,5,buy,9,1\n");
    check_error(error_of([&] { (void)rp::load_depth_snapshot(bad_side); }), bad_side, 2, "expected bid or ask");
    const auto split_msg = d.write("u1.csv", upd_header + "1,1,1,10,20,9,bid,1,1\n1,1,1,11,20,9,bid,2,1\n");
    check_error(error_of([&] { (void)rp::load_depth_updates(split_msg); }), split_msg, 3, "disagrees");
    const auto msg_back = d.write("u2.csv", upd_header + "1,1,1,10,20,9,bid,1,1\n1,1,1,5,8,4,bid,2,1\n");
    check_error(error_of([&] { (void)rp::load_depth_updates(msg_back); }), msg_back, 3, "before the previous message");
    const auto trade_back = d.write("t1.csv", trade_header + "1,1,1,7,1,1,false,MARKET\n1,1,1,7,1,1,false,MARKET\n");
    check_error(error_of([&] { (void)rp::load_trades(trade_back); }), trade_back, 3, "trade_id 7 is not after");
    const auto bad_bool = d.write("t2.csv", trade_header + "1,1,1,7,1,1,yes,MARKET\n");
    check_error(error_of([&] { (void)rp::load_trades(bad_bool); }), bad_bool, 2, "expected true or false");
    const auto wrong_header = d.write("t3.csv", "a,b,c\n1,2,3\n");
    check_error(error_of([&] { (void)rp::load_trades(wrong_header); }), wrong_header, 1, "unexpected header");
  }
}

TEST_CASE("timeframe strings", "[data]") {
  CHECK(rp::timeframe_ms("1m") == 60'000);
  CHECK(rp::timeframe_ms("5m") == 300'000);
  CHECK(rp::timeframe_ms("15m") == 900'000);
  CHECK(rp::timeframe_ms("1h") == 3'600'000);
  CHECK(rp::timeframe_ms("4h") == 14'400'000);
  CHECK(rp::timeframe_ms("8h") == 28'800'000);
  CHECK(rp::timeframe_ms("1d") == 86'400'000);
  CHECK(rp::timeframe_ms("1w") == 604'800'000);
  CHECK_FALSE(rp::timeframe_ms("1M"));
  CHECK_FALSE(rp::timeframe_ms("0m"));
  CHECK_FALSE(rp::timeframe_ms("m"));
  CHECK_FALSE(rp::timeframe_ms("-1h"));
  CHECK_FALSE(rp::timeframe_ms("rate"));
  CHECK_FALSE(rp::timeframe_ms("99999999999999999d"));
}

TEST_CASE("list_series classifies files by name and checks their headers", "[data][catalog]") {
  temp_dir d;
  const std::string funding = "funding_time_ms,funding_time_utc,funding_rate\n1,1970-01-01T00:00:00.001Z,0.0001\n";
  const std::string mark = "open_time_ms,open,high,low,close\n1,1,1,1,1\n";
  d.write_gz("src_a/BTCUSDT_5m.csv.gz", candle_header + candle_rows);
  d.write("src_a/ETHUSDT_1h.csv", candle_header + candle_rows);
  d.write("src_a/spot_SOLUSDT_4h.csv", candle_header + candle_rows);
  d.write("src_a/BTCUSDT_funding_rate.csv", funding);
  d.write("src_a/BTCUSDT_mark_price_1h.csv", mark);
  d.write("src_b/BTC-PERP_unknown-venue_1m_2021-12-31_2022-02-01.csv.gz", candle_header + candle_rows);
  d.write("src_b/binance_usdm_BTCUSDT_depth_snapshot_2022-11-01.csv", "symbol,timestamp,side\nBTCUSDT,1,b\n");  // other layout
  d.write("src_b/BTCUSDT_trades.csv.gz",
          "local_recv_ns,event_time_ms,trade_time_ms,trade_id,price,qty,buyer_is_maker,trade_kind\n1,1,1,1,1,1,true,MARKET\n");
  d.write("top_ETHUSDT_1d.csv", "not,a,candle,header\n");  // wrong header: left out
  d.write("README.md", "# not data\n");
  d.write("notes_1h.txt", "x\n");
  d.write("lowercase_5m.csv", candle_header + candle_rows);  // no symbol token: left out

  const auto all = rp::list_series(d.path);
  std::vector<std::string> seen;
  for (const auto& s : all)
    seen.push_back(s.source + "|" + s.qualifier + "|" + s.symbol + "|" + std::string(rp::to_string(s.kind)) + "|" +
                   s.timeframe + "|" + s.path.filename().string());
  const std::vector<std::string> expected = {
      "src_a||BTCUSDT|candles|5m|BTCUSDT_5m.csv.gz",
      "src_a||BTCUSDT|funding||BTCUSDT_funding_rate.csv",
      "src_a||BTCUSDT|mark|1h|BTCUSDT_mark_price_1h.csv",
      "src_a||ETHUSDT|candles|1h|ETHUSDT_1h.csv",
      "src_a|spot|SOLUSDT|candles|4h|spot_SOLUSDT_4h.csv",
      "src_b|unknown-venue|BTC-PERP|candles|1m|BTC-PERP_unknown-venue_1m_2021-12-31_2022-02-01.csv.gz",
      "src_b||BTCUSDT|trades||BTCUSDT_trades.csv.gz",
  };
  CHECK(seen == expected);
  for (const auto& s : all) CHECK(s.path.parent_path().parent_path() == d.path);

  CHECK_THROWS_AS(rp::list_series(d.path / "missing"), data_error);
}

TEST_CASE("find_data_dir: POLYTRADE_DATA first, then the caller's fallback", "[data]") {
  temp_dir d;
  const char* old = std::getenv("POLYTRADE_DATA");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  struct restore {
    const std::optional<std::string>& v;
    ~restore() {
      if (v) ::setenv("POLYTRADE_DATA", v->c_str(), 1);
      else ::unsetenv("POLYTRADE_DATA");
    }
  } r{saved};

  ::unsetenv("POLYTRADE_DATA");
  CHECK(rp::find_data_dir(d.path) == fs::weakly_canonical(d.path));
  CHECK_FALSE(rp::find_data_dir(d.path / "missing").has_value());
  CHECK_FALSE(rp::find_data_dir().has_value());

  fs::create_directories(d.path / "env");
  ::setenv("POLYTRADE_DATA", (d.path / "env").c_str(), 1);
  CHECK(rp::find_data_dir(d.path) == d.path / "env");

  ::setenv("POLYTRADE_DATA", (d.path / "missing").c_str(), 1);
  CHECK_THROWS_AS(rp::find_data_dir(d.path), data_error);

  ::setenv("POLYTRADE_DATA", "", 1);  // empty counts as unset
  CHECK(rp::find_data_dir(d.path) == fs::weakly_canonical(d.path));
}
