#include "core/diagnostics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mosdat {

std::string SourceLocation::ToString() const {
  if (line <= 0) return file;
  return absl::StrCat(file, ":", line, ":", column);
}

std::string Diagnostic::ToString() const {
  std::string out = location.ToString();
  if (!key_path.empty()) absl::StrAppend(&out, ": ", key_path);
  absl::StrAppend(&out, ": ", message);
  return out;
}

void Diagnostics::Add(SourceLocation location, std::string key_path, std::string message) {
  items_.push_back({std::move(location), std::move(key_path), std::move(message)});
}

void Diagnostics::Warn(SourceLocation location, std::string key_path, std::string message) {
  warnings_.push_back({std::move(location), std::move(key_path), std::move(message)});
}

void Diagnostics::Append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
}

absl::Status Diagnostics::ToStatus() const {
  if (items_.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  lines.reserve(items_.size());
  for (const Diagnostic& d : items_) lines.push_back(d.ToString());
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace mosdat
