#pragma once
// Streaming technical indicators, O(1) per update (Donchian: amortised O(1), monotonic deques),
// matching TA-Lib's definitions and warm-up ("lookback": the number of first updates that give
// no value). See libs/indicators/README.md for the definitions and the warm-up table.
//
// Inputs and outputs are double on purpose: indicators are analytics on prices, not money. The
// project rule "money is never a double" is about prices and quantities on orders and in the
// ledger (pt::core::decimal); convert a decimal price with to_double() before feeding it here and
// never feed an indicator's output back into an order price without rounding it to the venue's
// tick as a decimal.
//
// Every indicator: update(...) returns std::optional<value> (empty during warm-up), value() the
// last result, ready(), reset() (back to the freshly constructed state), lookback() and period
// getters. Bad parameters and non-finite inputs throw indicator_error; a rejected input leaves
// the state unchanged (a NaN would otherwise poison running sums for good).

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt::indicators {

class indicator_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// Fixed window of the last N values with TA-Lib's running sums (sum, sum of squares). The sums
// are updated in TA-Lib's order (add the new value, read, then drop the oldest) so results are
// bit-identical to TA-Lib's SMA/VAR/STDDEV/BBANDS.
class rolling_moments {
 public:
  explicit rolling_moments(int period);
  // Adds x; true when the window is full and mean()/variance() describe it.
  bool push(double x);
  double mean() const { return mean_; }
  // Population variance E[x^2] - E[x]^2, clamped at 0 (cancellation can make it slightly
  // negative). TA-Lib clamps below 1e-14 instead; see README.
  double variance() const { return var_ > 0.0 ? var_ : 0.0; }
  void reset();

 private:
  std::vector<double> buf_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  double sum_ = 0.0, sum2_ = 0.0, mean_ = 0.0, var_ = 0.0;
};

// Sliding-window maximum (or minimum) over the last N values: a monotonic deque held in a ring
// of capacity N, so no allocation after construction.
class window_extreme {
 public:
  window_extreme(int period, bool maximum);
  // Adds x; returns the extreme of the window (which includes x).
  double push(double x);
  void reset();

 private:
  struct entry {
    std::size_t index;
    double value;
  };
  std::vector<entry> ring_;
  std::size_t front_ = 0, size_ = 0, next_index_ = 0;
  std::size_t period_;
  bool maximum_;
};

}  // namespace detail

// Simple moving average over N closes. TA-Lib SMA, lookback N-1.
class sma {
 public:
  explicit sma(int period);
  std::optional<double> update(double x);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_ - 1; }

 private:
  int period_;
  detail::rolling_moments m_;
  std::optional<double> value_;
};

// Exponential moving average, k = 2/(N+1), seeded with the SMA of the first N values (TA-Lib
// default compatibility). Lookback N-1.
class ema {
 public:
  explicit ema(int period);
  std::optional<double> update(double x);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_ - 1; }
  double k() const { return k_; }

 private:
  int period_;
  double k_;
  int count_ = 0;
  double seed_sum_ = 0.0;
  double ema_ = 0.0;
  std::optional<double> value_;
};

// Wilder's RSI, TA-Lib seeding: the first average gain/loss is the plain mean of the first N
// changes; then avg = (avg*(N-1) + change)/N. RSI = 100*gain/(gain+loss), 0 when gain+loss is
// (TA-Lib's) zero, i.e. flat prices give 0, not 50. Lookback N.
class rsi {
 public:
  explicit rsi(int period);
  std::optional<double> update(double close);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_; }

 private:
  int period_;
  int count_ = 0;
  double prev_ = 0.0, gain_ = 0.0, loss_ = 0.0;
  std::optional<double> value_;
};

// Wilder's ATR. True range from the 2nd bar (needs the previous close); the first ATR is the SMA
// of the first N true ranges, then atr = (atr*(N-1) + tr)/N. Lookback N (N = 1: plain TR).
class atr {
 public:
  explicit atr(int period);
  std::optional<double> update(double high, double low, double close);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_; }

 private:
  int period_;
  int count_ = 0;
  double prev_close_ = 0.0, tr_sum_ = 0.0, atr_ = 0.0;
  std::optional<double> value_;
};

struct macd_value {
  double macd;    // fast EMA - slow EMA
  double signal;  // EMA(signal) of macd
  double hist;    // macd - signal
};

// MACD as TA_MACD computes it: the slow EMA is seeded with the SMA of the first `slow` prices;
// the fast EMA is aligned to it, i.e. seeded with the SMA of the `fast` prices ending at bar
// slow-1 (NOT of the first `fast` prices); the signal EMA is seeded with the SMA of the first
// `signal` macd values. All three outputs start together. Lookback (slow-1) + (signal-1).
// fast must be < slow (TA-Lib silently swaps them; we reject the typo).
class macd {
 public:
  explicit macd(int fast = 12, int slow = 26, int signal = 9);
  std::optional<macd_value> update(double x);
  std::optional<macd_value> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int fast_period() const { return fast_; }
  int slow_period() const { return slow_; }
  int signal_period() const { return signal_.period(); }
  int lookback() const { return slow_ - 1 + signal_.lookback(); }

 private:
  int fast_, slow_;
  double fast_k_;
  int count_ = 0;
  double fast_seed_sum_ = 0.0, fast_ema_ = 0.0;
  ema slow_ema_;
  ema signal_;
  std::optional<macd_value> value_;
};

struct bands_value {
  double upper, middle, lower;
};

// Bollinger bands: middle = SMA(N), upper/lower = middle +- k * population stddev over the same
// N closes (TA-Lib BBANDS with MA type SMA). Lookback N-1.
class bollinger {
 public:
  explicit bollinger(int period = 20, double k = 2.0);
  std::optional<bands_value> update(double x);
  std::optional<bands_value> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  double k() const { return k_; }
  int lookback() const { return period_ - 1; }

 private:
  int period_;
  double k_;
  detail::rolling_moments m_;
  std::optional<bands_value> value_;
};

struct adx_value {
  double adx, plus_di, minus_di;
};

// Wilder's ADX with +DI/-DI, as TA-Lib (no rounding). +DM/-DM/TR are summed over bars 1..N-1,
// then Wilder-smoothed (s = s - s/N + x) from bar N, where +DI/-DI first exist (lookback N, as
// TA-Lib's PLUS_DI/MINUS_DI). The first ADX is the mean of the N DX values of bars N..2N-1, then
// adx = (adx*(N-1) + dx)/N. ADX lookback 2N-1.
class adx {
 public:
  explicit adx(int period = 14);
  // ADX with the DIs of the same bar; empty until the ADX exists.
  std::optional<adx_value> update(double high, double low, double close);
  std::optional<adx_value> value() const { return value_; }
  // The DIs exist before the ADX (from bar N).
  std::optional<double> plus_di() const { return plus_di_; }
  std::optional<double> minus_di() const { return minus_di_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return 2 * period_ - 1; }
  int di_lookback() const { return period_; }

 private:
  int period_;
  int count_ = 0;
  double prev_high_ = 0.0, prev_low_ = 0.0, prev_close_ = 0.0;
  double plus_dm_ = 0.0, minus_dm_ = 0.0, tr_ = 0.0;
  double sum_dx_ = 0.0, adx_ = 0.0;
  std::optional<double> plus_di_, minus_di_;
  std::optional<adx_value> value_;
};

// Donchian channel: upper = highest high, lower = lowest low over the last N bars INCLUDING the
// current one (TA-Lib MAX/MIN), middle = (upper+lower)/2. Lookback N-1. For a breakout test
// against the previous N bars, read value() before calling update() with the new bar.
class donchian {
 public:
  explicit donchian(int period = 20);
  std::optional<bands_value> update(double high, double low);
  std::optional<bands_value> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_ - 1; }

 private:
  int period_;
  int count_ = 0;
  detail::window_extreme hi_, lo_;
  std::optional<bands_value> value_;
};

enum class stddev_kind {
  population,  // divide by N (TA-Lib STDDEV)
  sample,      // divide by N-1 (Bessel; the usual realized-volatility estimator)
};

// Realized volatility: stddev of the last N log returns ln(c_t/c_{t-1}), times
// sqrt(periods_per_year) (1 = not annualised; 1h crypto bars: 24*365 = 8760). Needs N+1 closes:
// lookback N. Closes must be > 0. The returns' mean is not assumed zero (it is subtracted).
class realized_vol {
 public:
  explicit realized_vol(int period, double periods_per_year = 1.0,
                        stddev_kind kind = stddev_kind::sample);
  std::optional<double> update(double close);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  double periods_per_year() const { return periods_per_year_; }
  stddev_kind kind() const { return kind_; }
  int lookback() const { return period_; }

 private:
  int period_;
  double periods_per_year_;
  stddev_kind kind_;
  double scale_;  // sqrt(periods_per_year) (* sqrt(N/(N-1)) for the sample estimator)
  bool has_prev_ = false;
  double prev_ = 0.0;
  detail::rolling_moments m_;
  std::optional<double> value_;
};

// z-score of the latest close against the last N closes (including it): (x - SMA)/stddev with
// the population stddev (as Bollinger). 0 when the window is flat. Lookback N-1.
class zscore {
 public:
  explicit zscore(int period = 20);
  std::optional<double> update(double x);
  std::optional<double> value() const { return value_; }
  bool ready() const { return value_.has_value(); }
  void reset();
  int period() const { return period_; }
  int lookback() const { return period_ - 1; }

 private:
  int period_;
  detail::rolling_moments m_;
  std::optional<double> value_;
};

}  // namespace pt::indicators
