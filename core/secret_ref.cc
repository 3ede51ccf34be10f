#include "core/secret_ref.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

constexpr std::string_view kEnvPrefix = "env:";
constexpr std::string_view kFilePrefix = "file:";

// Reads a whole file; errors carry errno's code and text (e.g. "Is a directory").
absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read secret file ", path));
  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat("cannot read secret file ", path));
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> SecretRef::ResolveText(std::string_view text) {
  absl::StatusOr<SecretRef> ref = Parse(text);
  if (!ref.ok()) return ref.status();
  return ref->Resolve();
}

absl::StatusOr<SecretRef> SecretRef::Parse(std::string_view text) {
  if (text.starts_with(kEnvPrefix)) {
    std::string_view name = text.substr(kEnvPrefix.size());
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(
          "\"env:\" must be followed by an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    return FromEnv(std::string(name));
  }
  if (text.starts_with(kFilePrefix)) {
    std::string_view path = text.substr(kFilePrefix.size());
    if (path.empty() || path.find('\0') != std::string_view::npos) {
      return absl::InvalidArgumentError("\"file:\" must be followed by a path");
    }
    return FromFile(std::string(path));
  }
  // Deliberately does not quote `text`: it is most likely the secret itself.
  return absl::InvalidArgumentError(
      "must be \"env:NAME\" or \"file:PATH\"; literal secrets are refused so they never land "
      "in config files or logs");
}

absl::StatusOr<std::string> SecretRef::Resolve() const {
  switch (kind_) {
    case Kind::kUnset:
      return absl::FailedPreconditionError("no secret configured");
    case Kind::kEnv: {
      const char* value = std::getenv(target_.c_str());
      if (value == nullptr) {
        return absl::NotFoundError(absl::StrCat("environment variable ", target_, " is not set"));
      }
      if (*value == '\0') {
        return absl::NotFoundError(absl::StrCat("environment variable ", target_, " is empty"));
      }
      return std::string(value);
    }
    case Kind::kFile: {
      absl::StatusOr<std::string> content = ReadSecretFile(target_);
      if (!content.ok()) return content.status();
      std::string value = *std::move(content);
      // Editors and `echo > file` add a trailing newline that is not part of the secret.
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
      if (value.empty()) {
        return absl::NotFoundError(absl::StrCat("secret file ", target_, " is empty"));
      }
      return value;
    }
  }
  return absl::InternalError("bad SecretRef kind");
}

std::string SecretRef::ToString() const {
  switch (kind_) {
    case Kind::kUnset:
      return "";
    case Kind::kEnv:
      return std::string(kEnvPrefix) + target_;
    case Kind::kFile:
      return std::string(kFilePrefix) + target_;
  }
  return "";
}

std::string SecretRef::Describe() const {
  switch (kind_) {
    case Kind::kUnset:
      return "unset";
    case Kind::kEnv:
      return absl::StrCat("environment variable ", target_);
    case Kind::kFile:
      return absl::StrCat("file ", target_);
  }
  return "unset";
}

}  // namespace mosdat
