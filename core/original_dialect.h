// The original (Python) mOSdat's scenario dialect, read as this project's canonical
// steps. Its files are brought unchanged: a scenario that uses anything only the
// original has (FindOriginalDialectSign) is read in its dialect, where some spellings
// both dialects share mean what the original meant:
//
//   retries: N        N attempts in all (canonical: N extra attempts); default 3 on the
//                     steps the original retried (localize, atspi, verify*, accept_any)
//   verify: Q         asked until "yes" for verify_timeout (default 10 s); canonical
//                     `verify` asks once
//   verify_not: Q     with verify: must be "no" on the same screens; alone: asked until "no"
//   verify_atspi      `name` matches a part of the accessible name (canonical: exact)
//   {name}            a variable or run value ({timestamp}, {app_path}, ...), as {{ name }}
//
// A step map of the original (one map doing several things: localize, click, type,
// verify) becomes canonical step maps in the order the original performed them; the
// canonical reader then checks them as usual, so errors keep their file:line:column.
// `mosdat migrate` writes these maps out. Keys the original had that are not honoured
// are warnings when dropping them cannot turn a failure into a pass (motion, dwell_ms),
// and errors otherwise (verify_click, canary_verify: checks we would skip).
#ifndef MOSDAT_CORE_ORIGINAL_DIALECT_H_
#define MOSDAT_CORE_ORIGINAL_DIALECT_H_

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat {

// map[key], or an undefined node when `map` is not a map or lacks the key. (yaml-cpp's
// const operator[] returns a node that throws on use when the key is missing.)
YAML::Node Lookup(const YAML::Node& map, const std::string& key);

// Where the rewrite reports, at a node's place (or the step's, for made-up nodes).
class DialectReporter {
 public:
  virtual ~DialectReporter() = default;
  virtual void Error(const YAML::Node& at, std::string message) = 0;
  virtual void Warn(const YAML::Node& at, std::string message) = 0;
};

// The first thing in a scenario that only the original dialect has: what it is (for
// "read in the original mOSdat's dialect (because of ...)") and where.
struct DialectSign {
  std::string what;
  YAML::Mark mark;
};
std::optional<DialectSign> FindOriginalDialectSign(const YAML::Node& root);

// A scenario's dialect: what its `dialect:` key says (`original`: the sign is that key;
// `mosdat`: none), else what FindOriginalDialectSign finds. InvalidArgument for
// another `dialect:` value.
absl::StatusOr<std::optional<DialectSign>> ScenarioDialect(const YAML::Node& root);

// The run values a single-brace placeholder of the original names besides a file's
// vars: timestamp, app_path, workspace_url, test_user, test_password, vm_password, and
// this project's app.* and vm.* (core/preflight.h ConfigVars). An undefined one is an
// error at parse time, not text typed as `{workspace_url}`.
const std::set<std::string>& OriginalRunValueNames();

struct OriginalRewriteOptions {
  // Names a single-brace placeholder may use: `{workspace_url}` becomes
  // `{{ workspace_url }}` when the name is here. Other braces stay as written, as in
  // the original (`${HOME}` in a shell command).
  std::set<std::string> placeholders;
};

// The top level without what the original had and this project does not read (each
// dropped with a warning), and without `imports` when it is the original's manifest
// of fragment names (steps import them by name).
YAML::Node RewriteOriginalTopLevel(const YAML::Node& root, DialectReporter& report);

// A step that splices in other steps: `- import: name`, `- !import name` (the name of
// a file in the original's imports folder) or `- routine: name` / `- routine: {name,
// with}` (a routine file). The caller finds and reads the file.
struct OriginalInclude {
  enum class Kind { kImport, kRoutine };
  Kind kind;
  std::string name;
  YAML::Node with;  // routine inputs, or null
  YAML::Node at;    // the node to report at
};
// Whether `step` is an import or routine step (read the same way in both dialects).
bool IsInclude(const YAML::Node& step);

// Whether an imported file or routine (a map with steps, pre/postconditions, or a bare
// list of steps) is written in the original dialect; each file is read in its own.
bool IncludedFileIsOriginal(const YAML::Node& root);

// Whether `step` is an include; reports a malformed one (and returns an include with an
// empty name, so the caller skips it).
std::optional<OriginalInclude> AsOriginalInclude(const YAML::Node& step, DialectReporter& report);

// One original step map → canonical step maps, in the order the original performs them.
// `step` must not be an include. Nodes of `step` are reused, keeping their places.
std::vector<YAML::Node> RewriteOriginalStep(const YAML::Node& step,
                                            const OriginalRewriteOptions& options,
                                            DialectReporter& report);

}  // namespace mosdat

#endif  // MOSDAT_CORE_ORIGINAL_DIALECT_H_
