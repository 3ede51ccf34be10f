// Which GitHub issue `mosdat confirm` is about: "owner/repo#42" or the issue's URL
// (https://github.com/owner/repo/issues/42, with or without a trailing part).
#ifndef MOSDAT_CONFIRM_ISSUE_REF_H_
#define MOSDAT_CONFIRM_ISSUE_REF_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

struct IssueRef {
  std::string owner;
  std::string repo;
  int number = 0;

  std::string ToString() const;  // "owner/repo#42"
};

// InvalidArgument, saying the two accepted forms, for anything else. Owner and repo
// names are GitHub's: letters, digits, '-', '_' and '.' (not "." or "..").
absl::StatusOr<IssueRef> ParseIssueRef(std::string_view text);

}  // namespace mosdat

#endif  // MOSDAT_CONFIRM_ISSUE_REF_H_
