// SecretRef: where a secret lives ("env:NAME" or "file:PATH"), never the secret itself.
// Config files only ever hold references, so tokens and API keys stay out of version
// control, logs and diagnostics; the value is read at the last moment by Resolve().
#ifndef MOSDAT_CORE_SECRET_REF_H_
#define MOSDAT_CORE_SECRET_REF_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

class SecretRef {
 public:
  enum class Kind { kUnset, kEnv, kFile };

  // Unset: no secret configured.
  SecretRef() = default;

  // Parses "env:NAME" (NAME matches [A-Za-z_][A-Za-z0-9_]*) or "file:PATH". Anything
  // else is refused; the error never echoes the input, which may be a pasted secret.
  static absl::StatusOr<SecretRef> Parse(std::string_view text);
  static SecretRef FromEnv(std::string name) { return SecretRef(Kind::kEnv, std::move(name)); }
  static SecretRef FromFile(std::string path) { return SecretRef(Kind::kFile, std::move(path)); }

  bool is_set() const { return kind_ != Kind::kUnset; }
  Kind kind() const { return kind_; }
  // The variable name or the file path.
  const std::string& target() const { return target_; }

  // Reads the secret: the variable's value, or the file's content without its trailing
  // newline(s). A missing/empty variable or an unreadable/empty file is an error that
  // names the variable or path (never the value).
  absl::StatusOr<std::string> Resolve() const;

  // Parse(text), then Resolve(): a flag's "env:NAME"/"file:PATH" straight to its value.
  static absl::StatusOr<std::string> ResolveText(std::string_view text);

  // The reference in config syntax ("env:NAME", "file:PATH"; "" when unset).
  std::string ToString() const;
  // For humans: "environment variable NAME", "file PATH" or "unset".
  std::string Describe() const;

  friend bool operator==(const SecretRef&, const SecretRef&) = default;

 private:
  SecretRef(Kind kind, std::string target) : kind_(kind), target_(std::move(target)) {}

  Kind kind_ = Kind::kUnset;
  std::string target_;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_SECRET_REF_H_
