// Diagnostics: problems found in a user's file, each pinned to file:line:column and
// the dotted key path of the field (e.g. "vm[1].package[0].format"). Parsers collect
// every problem instead of stopping at the first, so `mosdat preflight` can print
// them all at once.
#ifndef MOSDAT_CORE_DIAGNOSTICS_H_
#define MOSDAT_CORE_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace mosdat {

// 1-based line and column; 0 means unknown (e.g. a file that could not be read).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column", or just "file" when the position is unknown.
  std::string ToString() const;
};

struct Diagnostic {
  SourceLocation location;
  std::string key_path;  // empty when the problem is not about one field
  std::string message;

  // "file:line:column: key_path: message"
  std::string ToString() const;
};

// Whether a key the config or scenario parser reads may be absent or empty.
enum class Presence {
  kOptional,  // may be absent or empty
  kNonEmpty,  // may be absent, but not ""
  kRequired,  // must be present and not ""
};

// Errors (Add) make a file unusable; warnings (Warn) are things that work but that the
// user should know, e.g. a key of the original mOSdat that is read but not honoured
// yet. empty(), size(), items() and ToStatus() are about errors only.
class Diagnostics {
 public:
  void Add(SourceLocation location, std::string key_path, std::string message);
  void Warn(SourceLocation location, std::string key_path, std::string message);
  void Append(const Diagnostics& other);

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }

  // OK when empty; otherwise InvalidArgument with one diagnostic per line.
  absl::Status ToStatus() const;

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_DIAGNOSTICS_H_
