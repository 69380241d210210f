#pragma once
// Price-time-priority limit order book for one instrument: the matching core shared by venue-sim
// and the in-process backtest simulator. Plain synchronous C++: no I/O, no clock, no actors.
// Prices are integer ticks and quantities integer lots; converting from venue decimals is the
// caller's job. Not thread-safe: one book belongs to one thread.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace pt::matching {

using price_t = std::int64_t;    // integer ticks (price / tick size), > 0
using qty_t = std::int64_t;      // integer lots, > 0
using order_id = std::uint64_t;  // unique among live orders of one book, chosen by the caller
using owner_id = std::uint32_t;  // account; 0 is reserved for the simulator's synthetic liquidity

// Larger quantities are rejected (bad_quantity) so that level and fill sums cannot overflow.
inline constexpr qty_t max_qty = 1'000'000'000'000'000;  // 1e15 lots

enum class side : std::uint8_t { buy, sell };
enum class order_type : std::uint8_t { limit, market };
enum class time_in_force : std::uint8_t { gtc, ioc, fok, post_only };
// Self-trade prevention as Poloniex v3 / Binance define it; the taker's mode decides.
enum class stp_mode : std::uint8_t { none, expire_taker, expire_maker, expire_both };

struct order_request {
  order_id id = 0;
  owner_id owner = 0;
  side s = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  price_t price = 0;  // limit price; for market: optional protection bound, 0 = none
  qty_t qty = 0;
  stp_mode stp = stp_mode::none;
};

enum class reject_reason : std::uint8_t {
  none,
  duplicate_id,
  bad_quantity,
  bad_price,
  post_only_would_take,
  fok_cannot_fill,
  no_liquidity
};

struct fill {
  order_id taker;
  order_id maker;
  owner_id taker_owner;
  owner_id maker_owner;
  side taker_side;
  price_t price;  // always the maker's price
  qty_t qty;
  qty_t taker_remaining;  // after this fill
  qty_t maker_remaining;  // after this fill
};

enum class done_reason : std::uint8_t {
  filled,
  cancelled,
  expired,     // IOC / market remainder, or nothing to take
  stp_expired  // removed by self-trade prevention (taker remainder or maker)
};

struct order_done {
  order_id id;
  owner_id owner;
  done_reason reason;
  qty_t remaining;
};

// Receives the book's events synchronously, in the order they happen. A sink must not call back
// into the book that is calling it.
struct event_sink {
  virtual void on_fill(const fill&) = 0;
  virtual void on_done(const order_done&) = 0;
  virtual ~event_sink() = default;
};

struct submit_result {
  reject_reason reject = reject_reason::none;
  qty_t filled = 0;
  qty_t resting = 0;
};

struct level {
  price_t price;
  qty_t qty;
  std::uint32_t orders;
};

struct resting_order_view {
  order_id id;
  owner_id owner;
  side s;
  price_t price;
  qty_t qty;  // remaining
  qty_t original;
};

class order_book {
 public:
  order_book() = default;
  // Reserves room for this many resting orders (pool and id index) up front.
  explicit order_book(std::size_t expected_orders);

  // Rejected requests change nothing and emit no event. Otherwise: one on_fill per match, in
  // order; on_done(filled) for every maker it empties; then on_done for the taker unless (part
  // of) it rests: filled, expired (IOC/market remainder) or stp_expired.
  submit_result submit(const order_request&, event_sink&);
  // Remaining quantity of the cancelled order (on_done cancelled), nullopt if it is not resting.
  std::optional<qty_t> cancel(order_id, event_sink&);
  // Amend down to `new_qty` remaining lots, keeping time priority; the original size shrinks by
  // the same amount. False (and no change) if unknown, new_qty <= 0 or new_qty > remaining.
  bool reduce(order_id, qty_t new_qty);
  // Cancels every resting order of `owner`: bids best-first, then asks best-first, each level in
  // time order. Scans the whole book. Returns how many were cancelled.
  std::size_t cancel_owner(owner_id, event_sink&);

  std::optional<price_t> best_bid() const;
  std::optional<price_t> best_ask() const;
  std::vector<level> depth(side, std::size_t max_levels) const;  // best first
  std::optional<resting_order_view> find(order_id) const;
  std::size_t order_count() const { return index_.size(); }

  // How much of `qty` a taker on `taker_side` from `owner` would fill now, up to `limit`
  // (0 = no bound), if it carried `stp` (the default counts none of the owner's own orders,
  // owner 0 excepted; expire_taker/expire_both stop at the first own order; none counts all).
  qty_t would_fill(side taker_side, price_t limit, qty_t qty, owner_id owner,
                   stp_mode stp = stp_mode::expire_maker) const;

 private:
  static constexpr std::uint32_t nil = 0xffffffffu;

  struct order_node {
    order_id id;
    qty_t qty;
    qty_t original;
    std::uint32_t prev;
    std::uint32_t next;
    std::uint32_t lvl;  // index into levels_
    owner_id owner;
  };
  struct level_node {
    price_t price;
    qty_t qty;
    std::uint32_t orders;
    std::uint32_t head;
    std::uint32_t tail;
    side s;
  };
  struct level_ref {
    price_t price;
    std::uint32_t lvl;
  };

  // Open addressing, linear probing, backward-shift deletion: order_id -> pool index.
  class id_index {
   public:
    std::uint32_t find(order_id id) const;
    void insert(order_id id, std::uint32_t v);  // id must be absent
    void erase(order_id id);                    // id must be present
    void reserve(std::size_t n);
    std::size_t size() const { return size_; }

   private:
    struct slot {
      order_id key;
      std::uint32_t val;  // nil = empty
    };
    std::size_t home(order_id id) const { return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> shift_); }
    void grow(std::size_t cap);
    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
    std::size_t size_ = 0;
  };

  // Levels of one side sorted worst to best, so the best level is at the back.
  std::vector<level_ref>& levels_of(side s) { return s == side::buy ? bids_ : asks_; }
  const std::vector<level_ref>& levels_of(side s) const { return s == side::buy ? bids_ : asks_; }
  static bool crosses(side taker, price_t limit, price_t maker_price) {
    if (limit == 0) return true;
    return taker == side::buy ? maker_price <= limit : maker_price >= limit;
  }

  std::uint32_t alloc_order();
  std::uint32_t alloc_level();
  void rest(const order_request& r, qty_t qty);
  // Unlinks order `i` from its level and frees it; drops the level when it empties.
  void remove_order(std::uint32_t i);
  void drop_level(std::uint32_t lvl);

  std::vector<order_node> orders_;
  std::uint32_t free_order_ = nil;
  std::vector<level_node> levels_;
  std::uint32_t free_level_ = nil;
  std::vector<level_ref> bids_;  // ascending price
  std::vector<level_ref> asks_;  // descending price
  id_index index_;
};

}  // namespace pt::matching
