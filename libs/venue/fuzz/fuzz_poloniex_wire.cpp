// libFuzzer target: every Poloniex wire parser on the same bytes. The contract under test: any
// input ends in a value, a parse_error or a venue_error; nothing else escapes, nothing crashes
// (ASan/UBSan). What parses is rendered and parsed again, which must also hold the contract.
#include "venue/poloniex_wire.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace pt::venue;
using namespace pt::venue::poloniex;

template <class F>
void contained(F&& f) {
  try {
    f();
  } catch (const parse_error&) {
  } catch (const venue_error&) {
  }
}

// Renderers may refuse values no venue sends (a fractional lot, an overflowing product): only
// std::invalid_argument and core::decimal_error are allowed there.
template <class F>
void render_contained(F&& f) {
  try {
    f();
  } catch (const parse_error&) {
  } catch (const venue_error&) {
  } catch (const std::invalid_argument&) {
  } catch (const pt::core::decimal_error&) {
  }
}

std::string env(const json& data) { return render_envelope(data).dump(); }

}  // namespace

#ifdef PT_FUZZ_REPLAY
int fuzz_poloniex_wire(const std::uint8_t* data, std::size_t size) {
#else
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#endif
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  contained([&] { (void)unwrap(text, request_kind::place_order); });
  contained([&] {
    for (const auto& i : parse_instruments(text)) render_contained([&] { (void)parse_instruments(env(json::array({render_instrument(i)}))); });
  });
  contained([&] {
    for (const auto& c : parse_candles(text)) render_contained([&] { (void)parse_candles(env(json::array({render_candle(c)}))); });
  });
  contained([&] { (void)parse_price_candles(text); });
  contained([&] {
    const auto b = parse_order_book(text, "BTC_USDT_PERP");
    render_contained([&] { (void)parse_order_book(env(render_order_book(b, decimal::one())), "X"); });
  });
  contained([&] {
    for (const auto& t : parse_trades(text, "BTC_USDT_PERP")) {
      render_contained([&] { (void)parse_trades(env(json::array({render_trade(t, decimal::one())})), "X"); });
    }
  });
  contained([&] {
    for (const auto& t : parse_tickers(text)) render_contained([&] { (void)parse_tickers(env(render_ticker(t))); });
  });
  contained([&] { (void)parse_mark_prices(text); });
  contained([&] {
    const auto r = parse_funding_rate(text);
    render_contained([&] { (void)parse_funding_rate(env(render_funding_rate(r))); });
  });
  contained([&] { (void)parse_funding_history(text); });
  contained([&] {
    const auto b = parse_balances(text);
    render_contained([&] { (void)parse_balances(env(render_balances(b, 0))); });
  });
  contained([&] {
    for (const auto& p : parse_positions(text)) render_contained([&] { (void)parse_positions(env(render_position(p))); });
  });
  contained([&] {
    for (const auto& o : parse_orders(text)) render_contained([&] { (void)parse_orders(env(render_order(o))); });
  });
  contained([&] {
    for (const auto& f : parse_fills(text)) render_contained([&] { (void)parse_fills(env(json::array({render_fill(f)}))); });
  });
  contained([&] {
    for (const auto& b : parse_bills(text)) render_contained([&] { (void)parse_bills(env(json::array({render_bill(b)}))); });
  });
  contained([&] { (void)parse_order_ack(text); });
  contained([&] { (void)parse_batch(text); });
  contained([&] { (void)parse_position_mode(text); });
  contained([&] { (void)parse_leverages(text); });
  contained([&] {
    const ws_message m = parse_ws(text);
    contained([&] { (void)ws_candles(m); });
    contained([&] { (void)ws_books(m); });
    contained([&] { (void)ws_trades(m); });
    contained([&] { (void)ws_tickers(m); });
    contained([&] { (void)ws_mark_prices(m); });
    contained([&] { (void)ws_funding(m); });
    contained([&] { (void)ws_instruments(m); });
    contained([&] { (void)ws_orders(m); });
    contained([&] { (void)ws_fills(m); });
    contained([&] { (void)ws_positions(m); });
    contained([&] { (void)ws_account(m); });
  });
  return 0;
}
