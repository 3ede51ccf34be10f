#include "confirm/issue_ref.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"

namespace mosdat {
namespace {

bool IsGitHubName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

absl::Status Unreadable(std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", Absl(text),
                   "\" is not a GitHub issue: write owner/repo#NUMBER or the issue's URL, "
                   "https://github.com/owner/repo/issues/NUMBER"));
}

}  // namespace

std::string IssueRef::ToString() const { return absl::StrCat(owner, "/", repo, "#", number); }

absl::StatusOr<IssueRef> ParseIssueRef(std::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(Absl(text));
  IssueRef ref;
  absl::string_view number;
  if (absl::ConsumePrefix(&rest, "https://github.com/") ||
      absl::ConsumePrefix(&rest, "http://github.com/") ||
      absl::ConsumePrefix(&rest, "github.com/")) {
    // owner/repo/issues/N[/...][?...][#...]
    rest = rest.substr(0, rest.find_first_of("?#"));
    std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
    if (parts.size() < 4 || (parts[2] != "issues" && parts[2] != "pull")) return Unreadable(text);
    ref.owner = std::string(parts[0]);
    ref.repo = std::string(parts[1]);
    number = parts[3];
  } else {
    const size_t hash = rest.find('#');
    const size_t slash = rest.find('/');
    if (hash == absl::string_view::npos || slash == absl::string_view::npos || slash > hash) {
      return Unreadable(text);
    }
    ref.owner = std::string(rest.substr(0, slash));
    ref.repo = std::string(rest.substr(slash + 1, hash - slash - 1));
    number = rest.substr(hash + 1);
  }
  if (!IsGitHubName(ref.owner) || !IsGitHubName(ref.repo) || number.empty() || number.size() > 9 ||
      !absl::SimpleAtoi(number, &ref.number) || ref.number <= 0 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(number[0]))) {
    return Unreadable(text);
  }
  return ref;
}

}  // namespace mosdat
