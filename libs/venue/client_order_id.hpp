#pragma once
// Deterministic client order ids. The id is a pure function of the order intent, so a retry or a
// restart that rebuilds the same intent sends the same id and the venue rejects the duplicate
// (Binance -4116) or the query by client id finds the order, instead of a second order going out.
//
// Format: "pt" + side ('b'/'s') + '-' + 26 chars of lower-case base32 (130 bits of SHA-256 over an
// unambiguous, length-prefixed encoding of every intent field) = 30 chars, alphabet [a-z0-9-].
// That fits both venues:
//   - Binance newClientOrderId: ^[\.A-Z\:/a-z0-9_-]{1,36}$ (exchanges.md B7);
//   - Poloniex v3 clOrdId: limits not documented (exchanges.md E.4; "<= 32 chars?"), so we use the
//     stricter common subset: <= 32 chars of [A-Za-z0-9_-], lower case only (case sensitivity
//     unknown), and never the prefix "polo" (Poloniex's own default ids look like "polo<ordId>").
//
// `attempt` is for a deliberate re-placement after the previous order is known dead (rejected or
// cancelled). A resend after an ambiguous outcome (timeout, 503) must reuse the same attempt.
#include <cstdint>
#include <string>
#include <string_view>

namespace pt::venue {

enum class order_side { buy, sell };

struct order_intent {
  std::string strategy;   // strategy instance name
  std::string symbol;     // venue or canonical symbol, as long as the caller is consistent
  order_side side{order_side::buy};
  std::string signal_id;  // the signal / decision this order comes from
  std::string leg;        // which order of that signal: "entry", "tp1", "sl", ... (may be empty)
  std::uint32_t attempt{0};
};

inline constexpr std::size_t client_order_id_length = 30;
inline constexpr std::size_t binance_client_order_id_max = 36;
inline constexpr std::size_t poloniex_client_order_id_max = 32;  // assumed, see above

// Throws std::invalid_argument (naming the field) for an empty strategy, symbol or signal_id.
[[nodiscard]] std::string make_client_order_id(const order_intent& intent);

// True when `id` matches Binance's documented newClientOrderId rule.
[[nodiscard]] bool valid_binance_client_order_id(std::string_view id);
// True when `id` fits our conservative Poloniex rule: 1..32 chars of [A-Za-z0-9_-].
[[nodiscard]] bool valid_poloniex_client_order_id(std::string_view id);
// True when `id` has the shape make_client_order_id() produces (so it is one of ours).
[[nodiscard]] bool is_polytrade_client_order_id(std::string_view id);

}  // namespace pt::venue
