#include "indicators/indicators.hpp"

#include <cmath>

namespace pt::indicators {

namespace {

// TA-Lib's TA_IS_ZERO (ta_utility.h, TA_EPSILON 1e-14): used where TA-Lib uses it (RSI, ADX)
// so that flat inputs give exactly TA-Lib's outputs.
constexpr double ta_epsilon = 1e-14;
bool ta_is_zero(double v) { return -ta_epsilon < v && v < ta_epsilon; }

int checked_period(int period, int min, const char* what) {
  if (period < min) {
    throw indicator_error(std::string(what) + ": period " + std::to_string(period) +
                          " is below the minimum " + std::to_string(min));
  }
  return period;
}

void check_finite(double x, const char* what) {
  if (!std::isfinite(x)) throw indicator_error(std::string(what) + ": non-finite input");
}

// TA-Lib's TRUE_RANGE: max(h-l, |h-prev_close|, |l-prev_close|).
double true_range(double high, double low, double prev_close) {
  double tr = high - low;
  const double a = std::fabs(high - prev_close);
  if (a > tr) tr = a;
  const double b = std::fabs(low - prev_close);
  if (b > tr) tr = b;
  return tr;
}

}  // namespace

namespace detail {

rolling_moments::rolling_moments(int period) : buf_(static_cast<std::size_t>(period), 0.0) {}

bool rolling_moments::push(double x) {
  const std::size_t n = buf_.size();
  buf_[head_] = x;
  head_ = head_ + 1 == n ? 0 : head_ + 1;
  sum_ += x;
  sum2_ += x * x;
  if (++count_ < n) return false;
  count_ = n;  // saturate
  const double dn = static_cast<double>(n);
  mean_ = sum_ / dn;
  var_ = sum2_ / dn - mean_ * mean_;
  // The window is full, so buf_[head_] is its oldest value: it leaves on the next push.
  const double old = buf_[head_];
  sum_ -= old;
  sum2_ -= old * old;
  return true;
}

void rolling_moments::reset() {
  head_ = count_ = 0;
  sum_ = sum2_ = mean_ = var_ = 0.0;
}

window_extreme::window_extreme(int period, bool maximum)
    : ring_(static_cast<std::size_t>(period)), period_(static_cast<std::size_t>(period)),
      maximum_(maximum) {}

double window_extreme::push(double x) {
  const std::size_t cap = ring_.size();
  const std::size_t i = next_index_++;
  // Drop the entry that left the window (only the front can be that old).
  if (size_ > 0 && ring_[front_].index + period_ <= i) {
    front_ = front_ + 1 == cap ? 0 : front_ + 1;
    --size_;
  }
  // Drop dominated entries from the back: they can never be the extreme again.
  while (size_ > 0) {
    const std::size_t back = (front_ + size_ - 1) % cap;
    const double v = ring_[back].value;
    if (maximum_ ? v <= x : v >= x) {
      --size_;
    } else {
      break;
    }
  }
  ring_[(front_ + size_) % cap] = entry{i, x};
  ++size_;
  return ring_[front_].value;
}

void window_extreme::reset() { front_ = size_ = next_index_ = 0; }

}  // namespace detail

// ---- sma ----

sma::sma(int period) : period_(checked_period(period, 1, "sma")), m_(period_) {}

std::optional<double> sma::update(double x) {
  check_finite(x, "sma");
  if (m_.push(x)) value_ = m_.mean();
  return value_;
}

void sma::reset() {
  m_.reset();
  value_.reset();
}

// ---- ema ----

ema::ema(int period)
    : period_(checked_period(period, 1, "ema")), k_(2.0 / static_cast<double>(period + 1)) {}

std::optional<double> ema::update(double x) {
  check_finite(x, "ema");
  if (count_ < period_) {
    seed_sum_ += x;
    if (++count_ < period_) return value_;
    ema_ = seed_sum_ / period_;
  } else {
    ema_ = ((x - ema_) * k_) + ema_;  // TA-Lib's exact form
  }
  value_ = ema_;
  return value_;
}

void ema::reset() {
  count_ = 0;
  seed_sum_ = ema_ = 0.0;
  value_.reset();
}

// ---- rsi ----

rsi::rsi(int period) : period_(checked_period(period, 2, "rsi")) {}

std::optional<double> rsi::update(double close) {
  check_finite(close, "rsi");
  if (count_ == 0) {
    prev_ = close;
    count_ = 1;
    return value_;
  }
  const double change = close - prev_;
  prev_ = close;
  if (count_ < period_) {  // bars 1..N-1: plain sums
    if (change < 0) loss_ -= change; else gain_ += change;
    ++count_;
    return value_;
  }
  if (count_ == period_) {  // bar N: the first averages are plain means
    if (change < 0) loss_ -= change; else gain_ += change;
    loss_ /= period_;
    gain_ /= period_;
    ++count_;
  } else {
    loss_ *= (period_ - 1);
    gain_ *= (period_ - 1);
    if (change < 0) loss_ -= change; else gain_ += change;
    loss_ /= period_;
    gain_ /= period_;
  }
  const double total = gain_ + loss_;
  value_ = ta_is_zero(total) ? 0.0 : 100.0 * (gain_ / total);
  return value_;
}

void rsi::reset() {
  count_ = 0;
  prev_ = gain_ = loss_ = 0.0;
  value_.reset();
}

// ---- atr ----

atr::atr(int period) : period_(checked_period(period, 1, "atr")) {}

std::optional<double> atr::update(double high, double low, double close) {
  check_finite(high, "atr");
  check_finite(low, "atr");
  check_finite(close, "atr");
  if (count_ == 0) {
    prev_close_ = close;
    count_ = 1;
    return value_;
  }
  const double tr = true_range(high, low, prev_close_);
  prev_close_ = close;
  if (count_ <= period_) {
    tr_sum_ += tr;
    if (count_++ < period_) return value_;
    atr_ = tr_sum_ / period_;
  } else {
    atr_ *= period_ - 1;
    atr_ += tr;
    atr_ /= period_;
  }
  value_ = atr_;
  return value_;
}

void atr::reset() {
  count_ = 0;
  prev_close_ = tr_sum_ = atr_ = 0.0;
  value_.reset();
}

// ---- macd ----

macd::macd(int fast, int slow, int signal)
    : fast_(checked_period(fast, 2, "macd fast")),
      slow_(checked_period(slow, 2, "macd slow")),
      fast_k_(2.0 / static_cast<double>(fast + 1)),
      slow_ema_(slow),
      signal_(checked_period(signal, 1, "macd signal")) {
  if (fast_ >= slow_) throw indicator_error("macd: fast period must be below the slow period");
}

std::optional<macd_value> macd::update(double x) {
  check_finite(x, "macd");
  const int i = count_;
  if (i < slow_) ++count_;
  const auto slow = slow_ema_.update(x);
  // The fast EMA is aligned to the slow one: its seed is the SMA of the `fast` prices that end
  // where the slow EMA's first value does (TA_MACD calls INT_EMA with the slow EMA's start).
  if (i < slow_) {
    if (i >= slow_ - fast_) fast_seed_sum_ += x;
    if (i < slow_ - 1) return value_;
    fast_ema_ = fast_seed_sum_ / fast_;
  } else {
    fast_ema_ = ((x - fast_ema_) * fast_k_) + fast_ema_;
  }
  const double line = fast_ema_ - *slow;
  if (const auto sig = signal_.update(line)) value_ = macd_value{line, *sig, line - *sig};
  return value_;
}

void macd::reset() {
  count_ = 0;
  fast_seed_sum_ = fast_ema_ = 0.0;
  slow_ema_.reset();
  signal_.reset();
  value_.reset();
}

// ---- bollinger ----

bollinger::bollinger(int period, double k)
    : period_(checked_period(period, 2, "bollinger")), k_(k), m_(period_) {
  if (!std::isfinite(k) || k < 0) throw indicator_error("bollinger: k must be finite and >= 0");
}

std::optional<bands_value> bollinger::update(double x) {
  check_finite(x, "bollinger");
  if (m_.push(x)) {
    const double mid = m_.mean();
    const double dev = std::sqrt(m_.variance()) * k_;
    value_ = bands_value{mid + dev, mid, mid - dev};
  }
  return value_;
}

void bollinger::reset() {
  m_.reset();
  value_.reset();
}

// ---- adx ----

adx::adx(int period) : period_(checked_period(period, 2, "adx")) {}

std::optional<adx_value> adx::update(double high, double low, double close) {
  check_finite(high, "adx");
  check_finite(low, "adx");
  check_finite(close, "adx");
  const int i = count_;
  if (i == 0) {
    prev_high_ = high;
    prev_low_ = low;
    prev_close_ = close;
    count_ = 1;
    return value_;
  }
  if (i < 2 * period_) ++count_;  // saturates: only "before 2N" matters afterwards

  const double diff_p = high - prev_high_;  // up move
  const double diff_m = prev_low_ - low;    // down move
  const double tr = true_range(high, low, prev_close_);
  prev_high_ = high;
  prev_low_ = low;
  prev_close_ = close;

  if (i < period_) {  // bars 1..N-1: plain sums
    if (diff_m > 0 && diff_p < diff_m) minus_dm_ += diff_m;
    else if (diff_p > 0 && diff_p > diff_m) plus_dm_ += diff_p;
    tr_ += tr;
    return value_;
  }

  // Wilder smoothing from bar N on.
  minus_dm_ -= minus_dm_ / period_;
  plus_dm_ -= plus_dm_ / period_;
  if (diff_m > 0 && diff_p < diff_m) minus_dm_ += diff_m;
  else if (diff_p > 0 && diff_p > diff_m) plus_dm_ += diff_p;
  tr_ = tr_ - (tr_ / period_) + tr;

  std::optional<double> dx;
  if (!ta_is_zero(tr_)) {
    const double mdi = 100.0 * (minus_dm_ / tr_);
    const double pdi = 100.0 * (plus_dm_ / tr_);
    plus_di_ = pdi;
    minus_di_ = mdi;
    const double sum = mdi + pdi;
    if (!ta_is_zero(sum)) dx = 100.0 * (std::fabs(mdi - pdi) / sum);
  } else {
    plus_di_ = 0.0;  // TA-Lib's PLUS_DI/MINUS_DI give 0 on a zero range
    minus_di_ = 0.0;
  }

  if (i < 2 * period_ - 1) {  // bars N..2N-2: collect DX
    if (dx) sum_dx_ += *dx;
    return value_;
  }
  if (i == 2 * period_ - 1) {
    if (dx) sum_dx_ += *dx;
    adx_ = sum_dx_ / period_;
  } else if (dx) {  // TA-Lib keeps the previous ADX when DX is undefined
    adx_ = ((adx_ * (period_ - 1)) + *dx) / period_;
  }
  value_ = adx_value{adx_, *plus_di_, *minus_di_};
  return value_;
}

void adx::reset() {
  count_ = 0;
  prev_high_ = prev_low_ = prev_close_ = 0.0;
  plus_dm_ = minus_dm_ = tr_ = sum_dx_ = adx_ = 0.0;
  plus_di_.reset();
  minus_di_.reset();
  value_.reset();
}

// ---- donchian ----

donchian::donchian(int period)
    : period_(checked_period(period, 1, "donchian")), hi_(period_, true), lo_(period_, false) {}

std::optional<bands_value> donchian::update(double high, double low) {
  check_finite(high, "donchian");
  check_finite(low, "donchian");
  const double up = hi_.push(high);
  const double dn = lo_.push(low);
  if (count_ < period_ - 1) {
    ++count_;
    return value_;
  }
  value_ = bands_value{up, (up + dn) / 2.0, dn};
  return value_;
}

void donchian::reset() {
  count_ = 0;
  hi_.reset();
  lo_.reset();
  value_.reset();
}

// ---- realized_vol ----

realized_vol::realized_vol(int period, double periods_per_year, stddev_kind kind)
    : period_(checked_period(period, 2, "realized_vol")),
      periods_per_year_(periods_per_year),
      kind_(kind),
      m_(period_) {
  if (!std::isfinite(periods_per_year) || periods_per_year <= 0) {
    throw indicator_error("realized_vol: periods_per_year must be finite and > 0");
  }
  scale_ = std::sqrt(periods_per_year);
  if (kind == stddev_kind::sample) {
    scale_ *= std::sqrt(static_cast<double>(period_) / static_cast<double>(period_ - 1));
  }
}

std::optional<double> realized_vol::update(double close) {
  if (!std::isfinite(close) || close <= 0) {
    throw indicator_error("realized_vol: close must be finite and > 0");
  }
  if (!has_prev_) {
    has_prev_ = true;
    prev_ = close;
    return value_;
  }
  const double r = std::log(close / prev_);
  prev_ = close;
  if (m_.push(r)) value_ = std::sqrt(m_.variance()) * scale_;
  return value_;
}

void realized_vol::reset() {
  has_prev_ = false;
  prev_ = 0.0;
  m_.reset();
  value_.reset();
}

// ---- zscore ----

zscore::zscore(int period) : period_(checked_period(period, 2, "zscore")), m_(period_) {}

std::optional<double> zscore::update(double x) {
  check_finite(x, "zscore");
  if (m_.push(x)) {
    const double sd = std::sqrt(m_.variance());
    value_ = sd > 0.0 ? (x - m_.mean()) / sd : 0.0;
  }
  return value_;
}

void zscore::reset() {
  m_.reset();
  value_.reset();
}

}  // namespace pt::indicators
