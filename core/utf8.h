// UTF-8 hygiene for text that comes from outside (command output, model answers, files):
// protobuf `string` fields and JSON must carry valid UTF-8, and text cut to a length
// must not end inside a character.
#ifndef MOSDAT_CORE_UTF8_H_
#define MOSDAT_CORE_UTF8_H_

#include <optional>
#include <string>
#include <string_view>

namespace mosdat {

// `text` with every byte that is not part of a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included) replaced by U+FFFD.
std::string ValidUtf8(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character
// boundary.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

// Number of characters (code points) of valid UTF-8 `text`.
size_t Utf8Length(std::string_view text);

// `text` for one line of a display: at most `max_chars` characters, cut on a character
// boundary and ending in one "…" when cut (a text already ending in "…" gets no second
// one). The one place where texts are shortened for people.
std::string ShortenText(std::string_view text, size_t max_chars);

// Where text first stops being well-formed UTF-8: 1-based line and column (columns
// count characters), and the offending byte.
struct InvalidUtf8 {
  int line = 0;
  int column = 0;
  unsigned char byte = 0;
};
std::optional<InvalidUtf8> FindInvalidUtf8(std::string_view text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_UTF8_H_
