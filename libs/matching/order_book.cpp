#include "matching/order_book.hpp"

#include <algorithm>
#include <stdexcept>

namespace pt::matching {

namespace {

// Sort key of a price within its side: larger is better, so each side's vector is ascending by
// rank and its best level sits at the back (matching and most adds/cancels touch only the back).
inline std::int64_t rank(side s, price_t p) { return s == side::buy ? p : -p; }

inline side opposite(side s) { return s == side::buy ? side::sell : side::buy; }

}  // namespace

// ---- id index ----

std::uint32_t order_book::id_index::find(order_id id) const {
  if (size_ == 0) return nil;
  for (std::size_t i = home(id);; i = (i + 1) & mask_) {
    const slot& s = slots_[i];
    if (s.val == nil) return nil;
    if (s.key == id) return s.val;
  }
}

void order_book::id_index::grow(std::size_t cap) {
  std::vector<slot> old;
  old.swap(slots_);
  slots_.assign(cap, slot{0, nil});
  mask_ = cap - 1;
  shift_ = 64;
  for (std::size_t c = cap; c > 1; c >>= 1) --shift_;
  size_ = 0;
  for (const slot& s : old)
    if (s.val != nil) insert(s.key, s.val);
}

void order_book::id_index::reserve(std::size_t n) {
  std::size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  if (cap > slots_.size()) grow(cap);
}

void order_book::id_index::insert(order_id id, std::uint32_t v) {
  // Load factor at most 1/2 keeps probe runs short.
  if (2 * (size_ + 1) > slots_.size()) grow(slots_.empty() ? 16 : 2 * slots_.size());
  std::size_t i = home(id);
  while (slots_[i].val != nil) i = (i + 1) & mask_;
  slots_[i] = slot{id, v};
  ++size_;
}

void order_book::id_index::erase(order_id id) {
  std::size_t i = home(id);
  while (slots_[i].key != id || slots_[i].val == nil) i = (i + 1) & mask_;
  // Backward-shift deletion: pull later entries of the run into the hole unless their home
  // lies cyclically in (hole, j], so no tombstones are needed.
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j].val == nil) break;
    const std::size_t k = home(slots_[j].key);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i].val = nil;
  --size_;
}

// ---- pools ----

order_book::order_book(std::size_t expected_orders) {
  orders_.reserve(expected_orders);
  levels_.reserve(std::min<std::size_t>(expected_orders, 1 << 16));
  index_.reserve(expected_orders);
}

std::uint32_t order_book::alloc_order() {
  if (free_order_ != nil) {
    const std::uint32_t i = free_order_;
    free_order_ = orders_[i].next;
    return i;
  }
  if (orders_.size() >= nil) throw std::length_error("pt::matching::order_book: too many resting orders");
  orders_.emplace_back();
  return static_cast<std::uint32_t>(orders_.size() - 1);
}

std::uint32_t order_book::alloc_level() {
  if (free_level_ != nil) {
    const std::uint32_t i = free_level_;
    free_level_ = levels_[i].head;
    return i;
  }
  if (levels_.size() >= nil) throw std::length_error("pt::matching::order_book: too many price levels");
  levels_.emplace_back();
  return static_cast<std::uint32_t>(levels_.size() - 1);
}

void order_book::rest(const order_request& r, qty_t qty) {
  std::vector<level_ref>& v = levels_of(r.s);
  const std::int64_t key = rank(r.s, r.price);
  // lower_bound by rank; new orders usually land near the best, so look from the back first.
  std::size_t i = v.size();
  for (int steps = 0; i > 0 && rank(r.s, v[i - 1].price) >= key; --i) {
    if (++steps > 8) {
      i = static_cast<std::size_t>(std::lower_bound(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), key,
                                                    [s = r.s](const level_ref& a, std::int64_t k) {
                                                      return rank(s, a.price) < k;
                                                    }) -
                                   v.begin());
      break;
    }
  }
  std::uint32_t lvl;
  if (i < v.size() && v[i].price == r.price) {
    lvl = v[i].lvl;
  } else {
    lvl = alloc_level();
    levels_[lvl] = level_node{r.price, 0, 0, nil, nil, r.s};
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), level_ref{r.price, lvl});
  }
  const std::uint32_t n = alloc_order();
  level_node& L = levels_[lvl];
  orders_[n] = order_node{r.id, qty, r.qty, L.tail, nil, lvl, r.owner};
  if (L.tail != nil)
    orders_[L.tail].next = n;
  else
    L.head = n;
  L.tail = n;
  L.qty += qty;
  ++L.orders;
  index_.insert(r.id, n);
}

void order_book::remove_order(std::uint32_t i) {
  order_node& o = orders_[i];
  level_node& L = levels_[o.lvl];
  if (o.prev != nil)
    orders_[o.prev].next = o.next;
  else
    L.head = o.next;
  if (o.next != nil)
    orders_[o.next].prev = o.prev;
  else
    L.tail = o.prev;
  L.qty -= o.qty;
  --L.orders;
  index_.erase(o.id);
  const std::uint32_t lvl = o.lvl;
  o.next = free_order_;
  free_order_ = i;
  if (L.orders == 0) drop_level(lvl);
}

void order_book::drop_level(std::uint32_t lvl) {
  const side s = levels_[lvl].s;
  std::vector<level_ref>& v = levels_of(s);
  if (v.back().lvl == lvl) {
    v.pop_back();
  } else {
    const std::int64_t key = rank(s, levels_[lvl].price);
    auto it = std::lower_bound(v.begin(), v.end(), key,
                               [s](const level_ref& a, std::int64_t k) { return rank(s, a.price) < k; });
    v.erase(it);
  }
  levels_[lvl].head = free_level_;
  free_level_ = lvl;
}

// ---- operations ----

submit_result order_book::submit(const order_request& r, event_sink& sink) {
  submit_result res;
  if (r.qty <= 0 || r.qty > max_qty) {
    res.reject = reject_reason::bad_quantity;
    return res;
  }
  if (r.type == order_type::limit ? r.price <= 0 : r.price < 0) {
    res.reject = reject_reason::bad_price;
    return res;
  }
  if (index_.find(r.id) != nil) {
    res.reject = reject_reason::duplicate_id;
    return res;
  }
  std::vector<level_ref>& book = levels_of(opposite(r.s));
  const price_t bound = r.price;
  const bool can_take = !book.empty() && crosses(r.s, bound, book.back().price);
  if (r.type == order_type::market && !can_take) {
    res.reject = reject_reason::no_liquidity;
    return res;
  }
  if (r.tif == time_in_force::post_only && can_take) {
    res.reject = reject_reason::post_only_would_take;
    return res;
  }
  if (r.tif == time_in_force::fok && would_fill(r.s, bound, r.qty, r.owner, r.stp) < r.qty) {
    res.reject = reject_reason::fok_cannot_fill;
    return res;
  }

  qty_t remaining = r.qty;
  bool taker_stp = false;
  const bool stp_on = r.stp != stp_mode::none && r.owner != 0;
  while (remaining > 0 && !book.empty()) {
    const level_ref top = book.back();
    if (!crosses(r.s, bound, top.price)) break;
    std::uint32_t i = levels_[top.lvl].head;
    // When the level's last order goes, remove_order drops the level and next is nil.
    while (i != nil && remaining > 0) {
      order_node& m = orders_[i];
      const std::uint32_t next = m.next;
      if (stp_on && m.owner == r.owner) {
        if (r.stp != stp_mode::expire_taker) {
          const order_done d{m.id, m.owner, done_reason::stp_expired, m.qty};
          remove_order(i);
          sink.on_done(d);
        }
        if (r.stp != stp_mode::expire_maker) {
          taker_stp = true;
          break;
        }
        i = next;
        continue;
      }
      const qty_t q = std::min(remaining, m.qty);
      remaining -= q;
      m.qty -= q;
      levels_[top.lvl].qty -= q;
      const fill f{r.id, m.id, r.owner, m.owner, r.s, top.price, q, remaining, m.qty};
      if (m.qty == 0) {
        const order_done d{m.id, m.owner, done_reason::filled, 0};
        remove_order(i);
        sink.on_fill(f);
        sink.on_done(d);
      } else {
        sink.on_fill(f);
      }
      i = next;
    }
    if (taker_stp) break;
  }

  res.filled = r.qty - remaining;
  if (remaining == 0) {
    sink.on_done(order_done{r.id, r.owner, done_reason::filled, 0});
  } else if (taker_stp) {
    sink.on_done(order_done{r.id, r.owner, done_reason::stp_expired, remaining});
  } else if (r.type == order_type::market || r.tif == time_in_force::ioc || r.tif == time_in_force::fok) {
    sink.on_done(order_done{r.id, r.owner, done_reason::expired, remaining});
  } else {
    rest(r, remaining);
    res.resting = remaining;
  }
  return res;
}

std::optional<qty_t> order_book::cancel(order_id id, event_sink& sink) {
  const std::uint32_t i = index_.find(id);
  if (i == nil) return std::nullopt;
  const order_node& o = orders_[i];
  const order_done d{o.id, o.owner, done_reason::cancelled, o.qty};
  remove_order(i);
  sink.on_done(d);
  return d.remaining;
}

bool order_book::reduce(order_id id, qty_t new_qty) {
  const std::uint32_t i = index_.find(id);
  if (i == nil) return false;
  order_node& o = orders_[i];
  if (new_qty <= 0 || new_qty > o.qty) return false;
  const qty_t delta = o.qty - new_qty;
  o.qty = new_qty;
  o.original -= delta;
  levels_[o.lvl].qty -= delta;
  return true;
}

std::size_t order_book::cancel_owner(owner_id owner, event_sink& sink) {
  // Collect first: removing orders drops levels from the vectors being walked.
  std::vector<std::uint32_t> hit;
  for (const std::vector<level_ref>* v : {&bids_, &asks_})
    for (auto it = v->rbegin(); it != v->rend(); ++it)
      for (std::uint32_t i = levels_[it->lvl].head; i != nil; i = orders_[i].next)
        if (orders_[i].owner == owner) hit.push_back(i);
  for (const std::uint32_t i : hit) {
    const order_node& o = orders_[i];
    const order_done d{o.id, o.owner, done_reason::cancelled, o.qty};
    remove_order(i);
    sink.on_done(d);
  }
  return hit.size();
}

std::optional<price_t> order_book::best_bid() const {
  if (bids_.empty()) return std::nullopt;
  return bids_.back().price;
}

std::optional<price_t> order_book::best_ask() const {
  if (asks_.empty()) return std::nullopt;
  return asks_.back().price;
}

std::vector<level> order_book::depth(side s, std::size_t max_levels) const {
  const std::vector<level_ref>& v = levels_of(s);
  std::vector<level> out;
  out.reserve(std::min(max_levels, v.size()));
  for (auto it = v.rbegin(); it != v.rend() && out.size() < max_levels; ++it) {
    const level_node& L = levels_[it->lvl];
    out.push_back(level{L.price, L.qty, L.orders});
  }
  return out;
}

std::optional<resting_order_view> order_book::find(order_id id) const {
  const std::uint32_t i = index_.find(id);
  if (i == nil) return std::nullopt;
  const order_node& o = orders_[i];
  const level_node& L = levels_[o.lvl];
  return resting_order_view{o.id, o.owner, L.s, L.price, o.qty, o.original};
}

qty_t order_book::would_fill(side taker_side, price_t limit, qty_t qty, owner_id owner, stp_mode stp) const {
  if (qty <= 0) return 0;
  const std::vector<level_ref>& v = levels_of(opposite(taker_side));
  const bool stp_on = stp != stp_mode::none && owner != 0;
  qty_t sum = 0;  // stays below qty, so it cannot overflow
  for (auto it = v.rbegin(); it != v.rend(); ++it) {
    if (!crosses(taker_side, limit, it->price)) break;
    const level_node& L = levels_[it->lvl];
    if (!stp_on) {
      if (L.qty >= qty - sum) return qty;
      sum += L.qty;
      continue;
    }
    for (std::uint32_t i = L.head; i != nil; i = orders_[i].next) {
      const order_node& o = orders_[i];
      if (o.owner == owner) {
        if (stp == stp_mode::expire_maker) continue;
        return sum;  // expire_taker / expire_both: the taker stops here
      }
      if (o.qty >= qty - sum) return qty;
      sum += o.qty;
    }
  }
  return sum;
}

}  // namespace pt::matching
