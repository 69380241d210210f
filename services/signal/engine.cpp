#include "engine.hpp"

#include <algorithm>
#include <cctype>
#include <type_traits>
#include <utility>
#include <variant>

namespace pt::signal_service {

namespace {

using pt::core::decimal;

std::string str_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) throw input_error(std::string("field '") + key + "' missing or not a string");
  return it->get<std::string>();
}

decimal dec_field(const nlohmann::json& j, const char* key) {
  const auto text = str_field(j, key);
  auto d = decimal::try_parse(text);
  if (!d) throw input_error(std::string("field '") + key + "': not a decimal: " + text);
  return *d;
}

st::timestamp ts_field(const nlohmann::json& j, const char* key) {
  const auto text = str_field(j, key);
  try {
    return st::timestamp::parse_iso8601(text);
  } catch (const std::exception& e) {
    throw input_error(std::string("field '") + key + "': " + e.what());
  }
}

bool bool_field(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_boolean()) throw input_error(std::string("field '") + key + "' not a boolean");
  return it->get<bool>();
}

// Characters outside the schemas' id pattern [A-Za-z0-9_.:-] become '-' (a '/' symbol).
std::string id_safe(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' && c != '-') c = '-';
  return s;
}

}  // namespace

nlohmann::json to_json(const engine_counters& c) {
  return {{"bars_live", c.bars_live}, {"bars_history", c.bars_history}, {"bars_duplicate", c.bars_duplicate},
          {"ignored", c.ignored},     {"bad", c.bad},                   {"funding", c.funding},
          {"positions", c.positions}, {"signals", c.signals},           {"proposals", c.proposals},
          {"exits", c.exits}};
}

std::vector<st::timeframe> timeframes_of(const st::any_params& p) {
  return std::visit(
      [](const auto& x) -> std::vector<st::timeframe> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, st::trend_following_params>) return {st::timeframe::d1, st::timeframe::h4};
        else return {x.tf};
      },
      p);
}

std::string subject_token(const std::string& symbol) {
  std::string s = symbol;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string make_signal_id(std::string_view strategy, const std::string& symbol, st::timeframe tf,
                           std::int64_t open_ms) {
  return id_safe(std::string(strategy) + "-" + symbol + "-" + std::string(st::to_string(tf)) + "-" +
                 std::to_string(open_ms));
}

signal_engine::signal_engine(engine_config cfg) : cfg_(std::move(cfg)) {
  for (const auto& params : cfg_.strategies)
    for (const auto& symbol : cfg_.symbols) {
      instance in;
      in.strategy = std::string(st::strategy_name(params));
      in.symbol = symbol;
      in.tfs = timeframes_of(params);
      in.impl = st::make_strategy(params, st::context{cfg_.venue, symbol});
      instances_.push_back(std::move(in));
    }
}

void signal_engine::bad(const std::string& what) {
  ++counters_.bad;
  errors_.push_back(what);
}

std::vector<std::string> signal_engine::take_errors() { return std::exchange(errors_, {}); }

std::vector<outbound> signal_engine::on_bar_message(const nlohmann::json& body) {
  try {
    if (!body.is_object()) throw input_error("bar payload is not an object");
    const auto venue = str_field(body, "venue");
    const auto symbol = str_field(body, "symbol");
    const auto tf_text = str_field(body, "tf");
    const auto tf = st::parse_timeframe(tf_text);
    if (!tf) throw input_error("unknown timeframe '" + tf_text + "'");
    if (venue != cfg_.venue || std::find(cfg_.symbols.begin(), cfg_.symbols.end(), symbol) == cfg_.symbols.end() ||
        !bool_field(body, "closed", false)) {
      ++counters_.ignored;
      return {};
    }
    st::bar b;
    b.open_time = ts_field(body, "open_ts");
    const auto close = ts_field(body, "close_ts");
    if (b.open_time + st::duration(*tf) != close)
      throw input_error("close_ts " + close.to_iso8601() + " is not open_ts + " + tf_text);
    b.open = dec_field(body, "open");
    b.high = dec_field(body, "high");
    b.low = dec_field(body, "low");
    b.close = dec_field(body, "close");
    b.volume = dec_field(body, "volume");
    const decimal z = decimal::zero();
    if (!(b.low > z && b.low <= b.high && b.open >= b.low && b.open <= b.high && b.close >= b.low &&
          b.close <= b.high && b.volume >= z))
      throw input_error("inconsistent OHLCV (need 0 < low <= open, close <= high, volume >= 0)");
    return on_bar(symbol, *tf, b, bool_field(body, "backfilled", false));
  } catch (const input_error& e) {
    ++counters_.bad;
    throw;
  }
}

std::vector<outbound> signal_engine::on_bar(const std::string& symbol, st::timeframe tf, const st::bar& b,
                                            bool backfilled) {
  const auto key = std::make_pair(symbol, tf);
  if (auto it = last_open_.find(key); it != last_open_.end() && b.open_time <= it->second) {
    ++counters_.bars_duplicate;
    return {};
  }
  last_open_[key] = b.open_time;
  const st::timestamp now = st::close_time(b, tf);
  const bool live = !backfilled && (!market_time_ || now >= *market_time_);
  if (!market_time_ || now > *market_time_) market_time_ = now;
  ++(live ? counters_.bars_live : counters_.bars_history);

  std::vector<outbound> out;
  for (auto& in : instances_) {
    if (in.symbol != symbol || std::find(in.tfs.begin(), in.tfs.end(), tf) == in.tfs.end()) continue;
    std::vector<st::output> got;
    try {
      got = in.impl->on_bar(b, tf, now);
    } catch (const std::exception& e) {  // strategy_error, or a price outside decimal's range
      bad(in.strategy + " " + symbol + " " + std::string(st::to_string(tf)) + ": " + e.what());
      continue;
    }
    if (!live) continue;  // history: warms the strategy, never publishes
    for (const auto& o : got) {
      auto msgs = map_output(in, o, tf, b);
      out.insert(out.end(), std::make_move_iterator(msgs.begin()), std::make_move_iterator(msgs.end()));
    }
  }
  return out;
}

std::vector<outbound> signal_engine::map_output(instance& in, const st::output& o, st::timeframe tf, const st::bar& b) {
  std::vector<outbound> out;
  const std::string sid = make_signal_id(in.strategy, in.symbol, tf, b.open_time.millis());
  const std::string ts = st::close_time(b, tf).to_iso8601();

  nlohmann::json sig = o.signal;
  sig["signal_id"] = sid;
  out.push_back({outbound::kind::signal, "signal." + in.strategy + "." + subject_token(in.symbol), std::move(sig), ""});
  ++counters_.signals;

  if (o.proposal) {
    nlohmann::json p = *o.proposal;
    p["proposal_id"] = sid + "-p";
    p["signal_id"] = sid;
    p["correlation_id"] = sid;
    in.last_correlation = sid;
    out.push_back({outbound::kind::proposal, "trade.proposed", std::move(p), sid + "-p"});
    ++counters_.proposals;
  }
  if (o.exit) {
    const auto& x = *o.exit;
    nlohmann::json e{{"exit_id", sid + "-x"},
                     // The chain of the entry this process proposed, else the exit's own signal.
                     {"correlation_id", in.last_correlation.empty() ? sid : in.last_correlation},
                     {"strategy", in.strategy},
                     {"venue", cfg_.venue},
                     {"symbol", in.symbol},
                     {"kind", std::string(st::to_string(x.kind))},
                     {"reason", std::string(st::to_string(x.reason))},
                     {"ts", ts}};
    if (x.new_stop) e["new_stop"] = x.new_stop->to_string();
    if (!x.text.empty()) e["detail"] = x.text.substr(0, 4096);
    out.push_back({outbound::kind::exit, "trade.exit", std::move(e), sid + "-x"});
    ++counters_.exits;
  }
  return out;
}

void signal_engine::on_funding_message(const nlohmann::json& body) {
  try {
    if (!body.is_object()) throw input_error("funding payload is not an object");
    const auto venue = str_field(body, "venue");
    const auto symbol = str_field(body, "symbol");
    if (venue != cfg_.venue || std::find(cfg_.symbols.begin(), cfg_.symbols.end(), symbol) == cfg_.symbols.end()) {
      ++counters_.ignored;
      return;
    }
    const auto at = ts_field(body, "ts");
    const double rate = dec_field(body, "rate").to_double();
    ++counters_.funding;
    for (auto& in : instances_) {
      if (in.symbol != symbol) continue;
      try {
        in.impl->on_funding(rate, at);
      } catch (const std::exception& e) {
        bad(in.strategy + " " + symbol + " funding: " + e.what());
      }
    }
  } catch (const input_error&) {
    ++counters_.bad;
    throw;
  }
}

void signal_engine::on_position_message(const nlohmann::json& body) {
  try {
    if (!body.is_object()) throw input_error("position payload is not an object");
    const auto venue = str_field(body, "venue");
    const auto symbol = str_field(body, "symbol");
    if (venue != cfg_.venue || std::find(cfg_.symbols.begin(), cfg_.symbols.end(), symbol) == cfg_.symbols.end()) {
      ++counters_.ignored;
      return;
    }
    const auto side = str_field(body, "side");
    const auto ts = ts_field(body, "ts");
    const auto qty = dec_field(body, "qty");
    const auto entry = dec_field(body, "entry_price");
    st::direction dir;
    if (side == "long") dir = st::direction::long_;
    else if (side == "short") dir = st::direction::short_;
    else if (side == "flat") dir = st::direction::flat;
    else throw input_error("side '" + side + "' is not long, short or flat");
    if (qty.is_zero()) dir = st::direction::flat;
    if (dir != st::direction::flat && !entry.is_positive()) throw input_error("entry_price must be > 0 for an open position");

    auto& held = positions_[symbol];
    if (held.last_ts > ts) {  // a redelivered older update must not undo a newer one
      ++counters_.ignored;
      return;
    }
    // The strategies run on market time: a report stamped later than the newest bar close (a
    // wall-clock stamp against a replayed market, or a fill inside the running bar) counts as of
    // that close, so the time stop and the best price are measured on the market's clock.
    const st::timestamp at = market_time_ && ts > *market_time_ ? *market_time_ : ts;
    // The entry time is when this position was first reported (exec.position has no entry time).
    if (dir != held.dir) held.entry_time = at;
    held.dir = dir;
    held.last_ts = ts;
    ++counters_.positions;

    std::optional<st::position> p;
    if (dir != st::direction::flat) p = st::position{dir, entry, qty, held.entry_time, entry, std::nullopt};
    for (auto& in : instances_) {
      if (in.symbol != symbol) continue;
      try {
        in.impl->on_position(p, at);
      } catch (const std::exception& e) {
        bad(in.strategy + " " + symbol + " position: " + e.what());
      }
    }
  } catch (const input_error&) {
    ++counters_.bad;
    throw;
  }
}

}  // namespace pt::signal_service
