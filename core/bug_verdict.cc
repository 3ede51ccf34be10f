#include "core/bug_verdict.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mosdat {

namespace {

struct VerdictName {
  BugVerdict verdict;
  std::string_view machine;
  std::string_view human;
};

constexpr VerdictName kVerdictNames[] = {
    {BugVerdict::kReproduced, "reproduced", "reproduced"},
    {BugVerdict::kNotReproduced, "not_reproduced", "not reproduced"},
    {BugVerdict::kPreconditionNotMet, "precondition_not_met", "precondition not met"},
    {BugVerdict::kHarnessError, "harness_error", "harness error"},
};

const VerdictName& NameOf(BugVerdict verdict) {
  for (const VerdictName& name : kVerdictNames) {
    if (name.verdict == verdict) return name;
  }
  return kVerdictNames[3];
}

}  // namespace

std::string_view ToString(BugVerdict verdict) { return NameOf(verdict).machine; }
std::string_view ToHumanString(BugVerdict verdict) { return NameOf(verdict).human; }

std::optional<BugVerdict> BugVerdictFromString(std::string_view text) {
  for (const VerdictName& name : kVerdictNames) {
    if (name.machine == text) return name.verdict;
  }
  return std::nullopt;
}

std::string_view ToString(BugAggregate aggregate) {
  switch (aggregate) {
    case BugAggregate::kConfirmed:
      return "CONFIRMED";
    case BugAggregate::kNotReproduced:
      return "NOT_REPRODUCED";
    case BugAggregate::kIntermittent:
      return "INTERMITTENT";
    case BugAggregate::kInconclusive:
      return "INCONCLUSIVE";
  }
  return "INCONCLUSIVE";
}

void BugTally::Add(BugVerdict verdict) {
  switch (verdict) {
    case BugVerdict::kReproduced:
      ++reproduced;
      break;
    case BugVerdict::kNotReproduced:
      ++not_reproduced;
      break;
    case BugVerdict::kPreconditionNotMet:
      ++precondition_not_met;
      break;
    case BugVerdict::kHarnessError:
      ++harness_error;
      break;
  }
}

std::string BugTally::Rate() const { return absl::StrCat(reproduced, "/", counted()); }

BugAggregate Aggregate(const BugTally& tally) {
  if (tally.counted() == 0 || 2 * tally.counted() < tally.total()) {
    return BugAggregate::kInconclusive;
  }
  if (tally.reproduced == tally.counted()) return BugAggregate::kConfirmed;
  if (tally.reproduced == 0) return BugAggregate::kNotReproduced;
  return BugAggregate::kIntermittent;
}

BugAggregate AggregateAcrossVms(const std::vector<BugAggregate>& per_vm) {
  auto any = [&](BugAggregate a) {
    return std::find(per_vm.begin(), per_vm.end(), a) != per_vm.end();
  };
  if (per_vm.empty()) return BugAggregate::kInconclusive;
  if (any(BugAggregate::kIntermittent)) return BugAggregate::kIntermittent;
  if (any(BugAggregate::kConfirmed)) return BugAggregate::kConfirmed;
  if (std::all_of(per_vm.begin(), per_vm.end(),
                  [](BugAggregate a) { return a == BugAggregate::kNotReproduced; })) {
    return BugAggregate::kNotReproduced;
  }
  return BugAggregate::kInconclusive;
}

std::string_view ToString(ConfirmMode mode) {
  switch (mode) {
    case ConfirmMode::kConfirm:
      return "confirm";
    case ConfirmMode::kVerifyFix:
      return "verify-fix";
    case ConfirmMode::kRegression:
      return "regression";
  }
  return "confirm";
}

std::optional<ConfirmMode> ConfirmModeFromString(std::string_view text) {
  for (ConfirmMode mode :
       {ConfirmMode::kConfirm, ConfirmMode::kVerifyFix, ConfirmMode::kRegression}) {
    if (ToString(mode) == text) return mode;
  }
  return std::nullopt;
}

}  // namespace mosdat
