#include "core/file_util.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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
  return !name.empty() && name.find("..") == std::string_view::npos &&
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

}  // namespace mosdat
