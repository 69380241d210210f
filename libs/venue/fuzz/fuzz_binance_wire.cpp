// libFuzzer target: every Binance wire parser on the same bytes. Contract as in
// fuzz_poloniex_wire.cpp: a value, a parse_error or a venue_error; what parses is rendered and
// parsed again under the same contract.
#include "venue/binance_wire.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace pt::venue;
using namespace pt::venue::binance;

template <class F>
void contained(F&& f) {
  try {
    f();
  } catch (const parse_error&) {
  } catch (const venue_error&) {
  }
}

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

}  // namespace

#ifdef PT_FUZZ_REPLAY
int fuzz_binance_wire(const std::uint8_t* data, std::size_t size) {
#else
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#endif
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  contained([&] { (void)parse_api_error(text); });
  contained([&] { check_response(text, 200, request_kind::place_order); });
  contained([&] {
    const auto info = parse_exchange_info(text);
    render_contained([&] { (void)parse_exchange_info(render_exchange_info(info).dump()); });
  });
  contained([&] { (void)parse_server_time(text); });
  contained([&] {
    for (const auto& r : parse_symbol_config(text))
      render_contained([&] { (void)parse_symbol_config(json::array({render_symbol_config(r)}).dump()); });
  });
  contained([&] { (void)parse_position_side_dual(text); });
  contained([&] {
    const auto k = parse_api_restrictions(text);
    render_contained([&] { (void)parse_api_restrictions(render_api_restrictions(k, 0).dump()); });
  });
  contained([&] {
    for (const auto& c : parse_klines(text)) render_contained([&] { (void)parse_klines(json::array({render_kline(c)}).dump()); });
  });
  contained([&] {
    const auto b = parse_depth(text, "BTCUSDT");
    render_contained([&] { (void)parse_depth(render_depth(b, 0).dump(), "X"); });
  });
  contained([&] {
    for (const auto& t : parse_agg_trades(text, "BTCUSDT")) {
      render_contained([&] { (void)parse_agg_trades(json::array({render_agg_trade(t)}).dump(), "X"); });
    }
  });
  contained([&] {
    for (const auto& t : parse_trades(text, "BTCUSDT")) {
      render_contained([&] { (void)parse_trades(json::array({render_trade(t)}).dump(), "X"); });
    }
  });
  contained([&] {
    for (const auto& t : parse_tickers(text)) render_contained([&] { (void)parse_tickers(render_ticker(t).dump()); });
  });
  contained([&] {
    for (const auto& m : parse_premium_index(text)) render_contained([&] { (void)parse_premium_index(render_premium_index(m).dump()); });
  });
  contained([&] { (void)parse_funding_history(text); });
  contained([&] {
    const auto b = parse_account_balances(text);
    render_contained([&] { (void)parse_account_balances(render_account(b, {}, 0).dump()); });
  });
  contained([&] {
    for (const auto& p : parse_position_risk(text)) {
      render_contained([&] { (void)parse_position_risk(json::array({render_position_risk(p)}).dump()); });
    }
  });
  contained([&] {
    for (const auto& o : parse_orders(text)) render_contained([&] { (void)parse_orders(render_order(o).dump()); });
  });
  contained([&] {
    for (const auto& f : parse_user_trades(text)) render_contained([&] { (void)parse_user_trades(json::array({render_user_trade(f)}).dump()); });
  });
  contained([&] {
    for (const auto& b : parse_income(text)) render_contained([&] { (void)parse_income(json::array({render_income(b)}).dump()); });
  });
  contained([&] {
    for (const auto& b : parse_leverage_brackets(text))
      render_contained([&] { (void)parse_leverage_brackets(render_leverage_brackets(b).dump()); });
  });
  contained([&] { (void)parse_listen_key(text); });
  contained([&] {
    const market_event e = parse_market_event(text);
    render_contained([&] {
      if (e.kind == market_event_kind::depth) (void)parse_market_event(render_depth_update(e.book, e.event_time).dump());
      if (e.kind == market_event_kind::kline) (void)parse_market_event(render_kline_event(e.symbol, e.interval, e.bar, e.event_time).dump());
      if (e.kind == market_event_kind::trade) (void)parse_market_event(render_trade_event(e.trade, e.event_time).dump());
      if (e.kind == market_event_kind::agg_trade) (void)parse_market_event(render_agg_trade_event(e.trade, e.event_time).dump());
      for (const auto& m : e.marks) (void)parse_market_event(render_mark_price_update(m).dump());
    });
  });
  contained([&] {
    const user_event e = parse_user_event(text);
    render_contained([&] {
      if (e.kind == user_event_kind::order_update) {
        (void)parse_user_event(render_order_trade_update(e.ord, e.trade, e.execution_type, e.event_time).dump());
      }
      if (e.kind == user_event_kind::algo_update) (void)parse_user_event(render_algo_update(e.algo, e.event_time).dump());
      if (e.kind == user_event_kind::account_update) {
        (void)parse_user_event(render_account_update(e.reason, e.wallets, e.positions, e.event_time).dump());
      }
    });
  });
  return 0;
}
