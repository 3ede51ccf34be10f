// Quoting for POSIX shells: every command mOSdat runs in a VM over SSH is shell text,
// and every file name, argument or path that goes into one goes through here.
#ifndef MOSDAT_CORE_SHELL_QUOTE_H_
#define MOSDAT_CORE_SHELL_QUOTE_H_

#include <string>

namespace mosdat {

// `text` as one POSIX shell word: '...', each ' written as '\''.
std::string ShellQuote(const std::string& text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_SHELL_QUOTE_H_
