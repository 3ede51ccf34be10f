// Verdicts of bug confirmation (`mosdat confirm`): what one attempt found, and what a
// series of attempts on one VM, or on several, says about the bug. gRPC-free; the
// runner decides an attempt's verdict, the confirm command aggregates.
#ifndef MOSDAT_CORE_BUG_VERDICT_H_
#define MOSDAT_CORE_BUG_VERDICT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mosdat {

// One attempt (iteration). kPreconditionNotMet: the attempt never reached the point
// where the bug could show (setup failed, the precondition did not hold, or a step of
// the trigger failed and the signal did not show) — it does not count either way.
// kHarnessError: the rig failed (VM, VNC, SSH) or a file is wrong — nothing is known.
enum class BugVerdict { kReproduced, kNotReproduced, kPreconditionNotMet, kHarnessError };

// "reproduced", "not_reproduced", "precondition_not_met", "harness_error".
std::string_view ToString(BugVerdict verdict);
std::optional<BugVerdict> BugVerdictFromString(std::string_view text);
// For people: "reproduced", "not reproduced", "precondition not met", "harness error".
std::string_view ToHumanString(BugVerdict verdict);

// The step events of the checks (Event::check).
inline constexpr char kPreconditionCheck[] = "precondition";
inline constexpr char kBugSignalCheck[] = "bug_signal";
// The `why` of the frame each check takes (a screenshot event), whatever its result.
inline constexpr char kPreconditionFrame[] = "precondition";
inline constexpr char kBugSignalFrame[] = "bug-signal";

// What the attempts say, in order of how much they claim.
enum class BugAggregate { kConfirmed, kNotReproduced, kIntermittent, kInconclusive };

// "CONFIRMED", "NOT_REPRODUCED", "INTERMITTENT", "INCONCLUSIVE".
std::string_view ToString(BugAggregate aggregate);

struct BugTally {
  int reproduced = 0;
  int not_reproduced = 0;
  int precondition_not_met = 0;
  int harness_error = 0;

  void Add(BugVerdict verdict);
  int counted() const { return reproduced + not_reproduced; }
  int total() const { return counted() + precondition_not_met + harness_error; }
  // "3/10" (reproduced of the attempts that counted).
  std::string Rate() const;
};

// One VM's attempts. INCONCLUSIVE unless at least half of them counted (a verdict of
// one good attempt in ten would claim too much); then CONFIRMED when every counted
// attempt reproduced, NOT_REPRODUCED when none did, INTERMITTENT otherwise.
BugAggregate Aggregate(const BugTally& tally);

// Several VMs' verdicts: INTERMITTENT when any VM's is; else CONFIRMED when some VM
// confirmed it (a bug of one environment is confirmed there; the report says where);
// NOT_REPRODUCED only when every VM says so; INCONCLUSIVE otherwise (a VM that could
// not tell keeps a "fixed" from being claimed).
BugAggregate AggregateAcrossVms(const std::vector<BugAggregate>& per_vm);

// What `mosdat confirm` expects to find.
enum class ConfirmMode { kConfirm, kVerifyFix, kRegression };
std::string_view ToString(ConfirmMode mode);
std::optional<ConfirmMode> ConfirmModeFromString(std::string_view text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_BUG_VERDICT_H_
