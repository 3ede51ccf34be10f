// A git checkout at an exact commit: clones (or updates) a repository into a directory,
// fetches a branch, tag, commit or pull request head, and checks it out detached.
//
// It runs the `git` command line, so users' credential helpers, SSH config and agents
// keep working; it never prompts (GIT_TERMINAL_PROMPT=0, ssh BatchMode) and gives up
// after a timeout. Credentials embedded in a URL (https://user:token@host/...) never
// appear in messages: see RedactUrlCredentials.
#ifndef MOSDAT_PACKAGING_GIT_SOURCE_H_
#define MOSDAT_PACKAGING_GIT_SOURCE_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mosdat {

struct GitCheckoutRequest {
  // The repository: a URL or path git understands, or "" to use the `origin` remote of
  // an existing clone in `dir` (a local working tree the user keeps).
  std::string repo;
  // What to check out: a branch, tag, full ref or (abbreviated) commit; "" = the
  // remote's default branch.
  std::string ref;
  int pull_request = 0;  // > 0: the head of pull request N (refs/pull/N/head); excludes ref
  std::string dir;       // the clone; created when missing
  // A clone mOSdat owns: local changes are discarded on checkout. A user's working tree
  // (false) is never forced: a checkout that would lose changes fails.
  bool owned_clone = true;
  absl::Duration timeout = absl::Minutes(15);  // for each git command
};

struct GitCheckout {
  std::string dir;
  std::string commit;       // 40 hex digits
  std::string description;  // what was asked for, e.g. "pull request 7" or "ref main"
};

// Progress lines ("cloning REPO", "fetching pull request 7", ...), without credentials.
using GitProgress = std::function<void(std::string_view line)>;

// Errors name the repository (redacted) and the ref: an unknown ref, branch, tag,
// commit or pull request is InvalidArgument (a config or command-line mistake); a
// repository that cannot be reached, git missing or a timeout is Unavailable.
absl::StatusOr<GitCheckout> CheckoutGitSource(const GitCheckoutRequest& request,
                                              const GitProgress& progress = nullptr);

// The commit checked out in the working tree at `dir` and whether it has uncommitted
// changes (then its files are not that commit). `commit` is "" when `dir` is not a git
// working tree; errors are for git itself (missing, timed out).
struct WorkingTreeState {
  std::string commit;
  bool dirty = false;
};
absl::StatusOr<WorkingTreeState> InspectWorkingTree(const std::string& dir,
                                                    absl::Duration timeout = absl::Minutes(1));

// `text` with the user-info part of every URL in it ("scheme://user:secret@host")
// replaced by "***@", so a token in a repository URL is never printed or logged.
std::string RedactUrlCredentials(std::string_view text);

}  // namespace mosdat

#endif  // MOSDAT_PACKAGING_GIT_SOURCE_H_
