#pragma once
// TEST-ONLY switch that turns off one named risk check, so the property test
// (services/risk/tests/property) can prove that it catches the check's absence.
//
// It exists only where PT_RISK_TESTING_HOOKS is defined: the second build of these sources,
// `pt_risk_testing` (and `pt_risk_engine_testing` on top of it), which only
// `risk_property_tests` links. In the production build (`pt_risk`, `pt_risk_engine`, the `risk`
// binary) the namespace below is not compiled at all and PT_RISK_CHECK_ENABLED(code) is the
// constant `true`: nothing at run time, no config and no message can switch a check off there.
// A CTest case (risk: the production binary carries no check switch) greps the `risk` binary's
// symbols for it.
//
// A "check" is one limit named by its reason code, switched off everywhere it is enforced:
//   the checklist item (checklist.cpp), the sizing cap that enforces the same limit
//   (sizing.cpp: LEVERAGE_LIMIT = the leverage room, SYMBOL_EXPOSURE = the per-symbol cap) and
//   the breaker that trips on it (state.cpp: DAILY_LOSS_LIMIT = the daily-loss breaker, whose
//   trip also starts COOLDOWN_AFTER_DAILY_LOSS; DRAWDOWN_LIMIT = the drawdown kill switch;
//   CONSECUTIVE_LOSSES, LOSSES_24H = their breakers).
#include "risk/reasons.hpp"

#ifdef PT_RISK_TESTING_HOOKS
#include <optional>

namespace pt::risk::testing {

// The one check switched off; empty: every check on. Not thread-safe (tests set it between runs).
inline std::optional<reason_code> disabled_check;

[[nodiscard]] inline bool check_enabled(reason_code c) { return disabled_check != c; }

// Switches `c` off for the scope's lifetime.
class disable_check_scope {
 public:
  explicit disable_check_scope(std::optional<reason_code> c) : saved_(disabled_check) { disabled_check = c; }
  ~disable_check_scope() { disabled_check = saved_; }
  disable_check_scope(const disable_check_scope&) = delete;
  disable_check_scope& operator=(const disable_check_scope&) = delete;

 private:
  std::optional<reason_code> saved_;
};

}  // namespace pt::risk::testing

#define PT_RISK_CHECK_ENABLED(code) (::pt::risk::testing::check_enabled(code))
#else
#define PT_RISK_CHECK_ENABLED(code) true
#endif
