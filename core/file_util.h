// Reading small files whole: logs, evidence, fixtures.
#ifndef MOSDAT_CORE_FILE_UTIL_H_
#define MOSDAT_CORE_FILE_UTIL_H_

#include <cstddef>
#include <string>

namespace mosdat {

// The file's bytes, or "" when it cannot be read (for callers where absent = empty).
std::string ReadFileOrEmpty(const std::string& path);

// The end of a log file for an error message: at most `max_chars`, prefixed with "..."
// when cut, trailing whitespace removed.
std::string FileTail(const std::string& path, size_t max_chars = 600);

// A screenshot name an agent or an events.jsonl gave: a plain "*.png" file name, with
// no directory part, so joining it to a result directory stays inside it.
bool IsPlainPngName(const std::string& name);

}  // namespace mosdat

#endif  // MOSDAT_CORE_FILE_UTIL_H_
