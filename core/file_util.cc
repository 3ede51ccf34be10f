#include "core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace mosdat {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::ErrnoToStatus(errno, path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return out.str();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string temporary = absl::StrCat(path, ".mosdat-", getpid(), ".tmp");
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const int write_errno = errno;
  const bool ok = written == data.size() && fdatasync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(temporary.c_str());
    return absl::DataLossError(absl::StrCat(path, ": ", std::strerror(write_errno)));
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    unlink(temporary.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(rename_errno)));
  }
  return absl::OkStatus();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string FileTail(const std::string& path, size_t max_chars) {
  std::string text = ReadFileOrEmpty(path);
  if (text.size() > max_chars) text = "..." + text.substr(text.size() - max_chars);
  return std::string(absl::StripTrailingAsciiWhitespace(text));
}

bool IsPlainFileName(std::string_view name) {
  // "." names the folder itself: a file written or removed "under" it is the folder.
  return !name.empty() && name != "." && name.find("..") == std::string_view::npos &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
         });
}

bool IsPlainPngName(const std::string& name) {
  return !name.empty() && name.size() < 200 && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name != "." && name != ".." && name.size() > 4 &&
         name.compare(name.size() - 4, 4, ".png") == 0;
}

std::string UserCacheDir(std::string_view name) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return absl::StrCat(xdg, "/mosdat/", Absl(name));
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && home[0] != '\0' ? home : "/tmp", "/.cache/mosdat/",
                      Absl(name));
}

}  // namespace mosdat
