// `mosdat migrate`: rewrites a scenario (or an imported file or routine) written in the
// original mOSdat's dialect into mOSdat's own, with the same rewrite the parser applies
// when it reads such a file (core/original_dialect.h), so the migrated file parses to
// exactly the same steps. Import and routine steps stay (they read the same in both
// dialects; migrate those files too). Comments above steps and top-level keys are
// kept; comments inside a step map are not (its keys change).
#ifndef MOSDAT_CORE_SCENARIO_MIGRATE_H_
#define MOSDAT_CORE_SCENARIO_MIGRATE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/diagnostics.h"

namespace mosdat {

struct Migration {
  bool changed = false;  // false: the file is already in mOSdat's own dialect
  std::string text;      // the rewritten file (the input when unchanged)
  std::string reason;    // what made it the original's dialect ("the step key ...")
};

// Rewrites `text` (named `path` in diagnostics). Problems that would stop the parser
// (e.g. `retries: 0`) are errors in `diagnostics` and give no text; warnings (keys
// that are dropped) are added too.
absl::StatusOr<Migration> MigrateScenario(std::string_view text, std::string_view path,
                                          Diagnostics* diagnostics);

}  // namespace mosdat

#endif  // MOSDAT_CORE_SCENARIO_MIGRATE_H_
