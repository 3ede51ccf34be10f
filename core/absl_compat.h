// Debian 12's Abseil has its own absl::string_view, distinct from std::string_view, so
// absl::StrCat, StrSplit and friends do not take a std::string_view. These convert.
#ifndef MOSDAT_CORE_ABSL_COMPAT_H_
#define MOSDAT_CORE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace mosdat {

inline absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace mosdat

#endif  // MOSDAT_CORE_ABSL_COMPAT_H_
