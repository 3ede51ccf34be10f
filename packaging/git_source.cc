#include "packaging/git_source.h"

#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/outcome.h"
#include "core/process.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

// What git says when the repository answered but has no such ref or object.
constexpr const char* kUnknownRefMarkers[] = {"couldn't find remote ref", "not our ref",
                                              "unadvertised object",      "bad revision",
                                              "unknown revision",         "not a valid object name",
                                              "invalid refspec",          "did not match any",
                                              "is not a valid ref name",  "not a commit",
                                              "needed a single revision"};

bool LooksLikeCommit(std::string_view ref) {
  if (ref.size() < 4 || ref.size() > 40) return false;
  for (char c : ref) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The last lines of git's error output, redacted, for a message.
std::string GitSays(const CommandResult& result) {
  std::string text = std::string(absl::StripAsciiWhitespace(result.err));
  if (text.empty()) text = std::string(absl::StripAsciiWhitespace(result.out));
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  if (lines.size() > 6) lines.erase(lines.begin(), lines.end() - 6);
  std::string joined = absl::StrJoin(lines, "\n  ");
  if (joined.size() > 1200) joined = "..." + joined.substr(joined.size() - 1200);
  return RedactUrlCredentials(joined);
}

bool SaysUnknownRef(const CommandResult& result) {
  for (const char* marker : kUnknownRefMarkers) {
    if (absl::StrContains(absl::AsciiStrToLower(result.err), marker)) return true;
  }
  return false;
}

class Git {
 public:
  Git(std::string dir, absl::Duration timeout) : dir_(std::move(dir)), timeout_(timeout) {
    env_ = CurrentEnvironment();
    // Never wait for a person: no username/password prompt, no credential manager UI.
    env_["GIT_TERMINAL_PROMPT"] = "0";
    env_["GCM_INTERACTIVE"] = "never";
    env_.erase("GIT_DIR");
    env_.erase("GIT_WORK_TREE");
  }

  // ssh must not ask either (passphrase, unknown host key). Only when the user has not
  // chosen an ssh command: theirs is kept, and ~/.ssh/config applies either way.
  void NoSshPrompts() {
    if (env_.count("GIT_SSH_COMMAND") || env_.count("GIT_SSH")) return;
    absl::StatusOr<CommandResult> configured = Run({"config", "--get", "core.sshCommand"});
    if (configured.ok() && !absl::StripAsciiWhitespace(configured->out).empty()) return;
    env_["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes";
  }

  // Runs `git -C dir args...`. Err only when git cannot run or times out.
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"git", "-C", dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<CommandResult> result = RunCommand(argv, env_, timeout_);
    if (!result.ok()) {
      return InfrastructureError(absl::StrCat("cannot run git (install Debian's git package): ",
                                              result.status().message()));
    }
    if (result->timed_out) {
      return InfrastructureError(absl::StrCat("git ", args.empty() ? "" : args[0],
                                              " did not finish within ",
                                              absl::FormatDuration(timeout_), " and was stopped"));
    }
    return result;
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  absl::Duration timeout_;
  Environment env_;
};

bool Succeeded(const CommandResult& result) { return result.status.exit_code == 0; }

}  // namespace

std::string RedactUrlCredentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t scheme_end = text.find("://", pos);
    if (scheme_end == std::string_view::npos) break;
    size_t authority = scheme_end + 3;
    // The authority ends at the first '/', whitespace, quote or end; a '@' inside it
    // ends the user info.
    size_t end = authority;
    size_t at = std::string_view::npos;
    while (end < text.size()) {
      char c = text[end];
      if (c == '/' || c == ' ' || c == '\n' || c == '\t' || c == '\'' || c == '"') break;
      if (c == '@') at = end;
      ++end;
    }
    out.append(text.substr(pos, authority - pos));
    if (at != std::string_view::npos) {
      out.append("***");
      pos = at;
    } else {
      pos = authority;
    }
  }
  out.append(text.substr(pos));
  return out;
}

absl::StatusOr<WorkingTreeState> InspectWorkingTree(const std::string& dir,
                                                    absl::Duration timeout) {
  Git git(dir, timeout);
  absl::StatusOr<CommandResult> head = git.Run({"rev-parse", "--verify", "HEAD^{commit}"});
  if (!head.ok()) return head.status();
  WorkingTreeState state;
  if (!Succeeded(*head)) return state;  // not a git working tree, or no commit yet
  state.commit = std::string(absl::StripAsciiWhitespace(head->out));
  absl::StatusOr<CommandResult> status = git.Run({"status", "--porcelain"});
  if (!status.ok()) return status.status();
  state.dirty = !Succeeded(*status) || !absl::StripAsciiWhitespace(status->out).empty();
  return state;
}

absl::StatusOr<GitCheckout> CheckoutGitSource(const GitCheckoutRequest& request,
                                              const GitProgress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(RedactUrlCredentials(line));
  };
  if (request.pull_request < 0) {
    return ConfigError(
        absl::StrCat("pull request number must be positive, not ", request.pull_request));
  }
  if (request.pull_request > 0 && !request.ref.empty()) {
    return ConfigError("give a pull request or a ref, not both");
  }
  if (!request.ref.empty() &&
      (request.ref[0] == '-' || request.ref.find_first_of(" \t\n") != std::string::npos)) {
    return ConfigError(absl::StrCat("\"", request.ref, "\" is not a git ref"));
  }
  const std::string repo_name = RedactUrlCredentials(
      request.repo.empty() ? absl::StrCat(request.dir, " (origin)") : request.repo);
  const std::string wanted = request.pull_request > 0
                                 ? absl::StrCat("pull request ", request.pull_request)
                             : request.ref.empty() ? std::string("the default branch")
                                                   : absl::StrCat("ref \"", request.ref, "\"");

  std::error_code ec;
  fs::create_directories(request.dir, ec);
  if (ec) {
    return InfrastructureError(
        absl::StrCat("cannot create the clone directory ", request.dir, ": ", ec.message()));
  }
  Git git(request.dir, request.timeout);
  const bool has_git = fs::exists(fs::path(request.dir) / ".git");
  if (!request.repo.empty()) {
    if (!has_git) {
      say(absl::StrCat("cloning ", request.repo, " into ", request.dir));
      absl::StatusOr<CommandResult> init = git.Run({"init", "-q"});
      if (!init.ok()) return init.status();
      if (!Succeeded(*init)) {
        return InfrastructureError(
            absl::StrCat("cannot create a git repository in ", request.dir, ": ", GitSays(*init)));
      }
    }
    // The URL may have changed in the config since the last run.
    absl::StatusOr<CommandResult> remote = git.Run({"remote", "set-url", "origin", request.repo});
    if (!remote.ok()) return remote.status();
    if (!Succeeded(*remote)) {
      remote = git.Run({"remote", "add", "origin", request.repo});
      if (!remote.ok()) return remote.status();
      if (!Succeeded(*remote)) {
        return InfrastructureError(absl::StrCat("cannot set the remote of ", request.dir, " to ",
                                                repo_name, ": ", GitSays(*remote)));
      }
    }
  } else if (!has_git) {
    return ConfigError(absl::StrCat(request.dir, " is not a git working tree, so ", wanted,
                                    " cannot be checked out there; set [build].repo"));
  }
  git.NoSshPrompts();

  // Fetch exactly what is asked for: one ref is quick even in a big repository.
  std::string refspec = request.pull_request > 0
                            ? absl::StrCat("refs/pull/", request.pull_request, "/head")
                        : request.ref.empty() ? std::string("HEAD")
                                              : request.ref;
  say(absl::StrCat("fetching ", wanted, " from ", request.repo.empty() ? repo_name : request.repo));
  absl::StatusOr<CommandResult> fetch =
      git.Run({"fetch", "--force", "--no-tags", "--quiet", "origin", refspec});
  if (!fetch.ok()) {
    return InfrastructureError(
        absl::StrCat("fetching ", wanted, " from ", repo_name, ": ", fetch.status().message()));
  }
  std::string target = "FETCH_HEAD";
  if (!Succeeded(*fetch)) {
    if (!SaysUnknownRef(*fetch)) {
      return InfrastructureError(absl::StrCat("cannot fetch ", wanted, " from ", repo_name,
                                              " (is the repository reachable, and are your "
                                              "credentials set up for git?): ",
                                              GitSays(*fetch)));
    }
    if (!LooksLikeCommit(request.ref)) {
      return ConfigError(absl::StrCat(repo_name, " has no ", wanted, ": ", GitSays(*fetch)));
    }
    // An abbreviated commit, or a full one the server will not serve by id: fetch the
    // branches and tags and look for it there.
    say(absl::StrCat("fetching all branches and tags to find commit ", request.ref));
    fetch = git.Run(
        {"fetch", "--force", "--tags", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*"});
    if (!fetch.ok()) return fetch.status();
    if (!Succeeded(*fetch)) {
      return InfrastructureError(
          absl::StrCat("cannot fetch from ", repo_name, ": ", GitSays(*fetch)));
    }
    target = request.ref;
  }
  absl::StatusOr<CommandResult> resolved =
      git.Run({"rev-parse", "--verify", "--quiet", absl::StrCat(target, "^{commit}")});
  if (!resolved.ok()) return resolved.status();
  if (!Succeeded(*resolved)) {
    return ConfigError(absl::StrCat(repo_name, " has no commit ", wanted));
  }
  GitCheckout checkout{.dir = request.dir,
                       .commit = std::string(absl::StripAsciiWhitespace(resolved->out)),
                       .description = wanted};

  std::vector<std::string> args = {"checkout", "--quiet", "--detach"};
  if (request.owned_clone) args.push_back("--force");
  args.push_back(checkout.commit);
  say(absl::StrCat("checking out ", checkout.commit.substr(0, 12), " (", wanted, ")"));
  absl::StatusOr<CommandResult> checked_out = git.Run(args);
  if (!checked_out.ok()) return checked_out.status();
  if (!Succeeded(*checked_out)) {
    return InfrastructureError(absl::StrCat("cannot check out ", checkout.commit, " (", wanted,
                                            ") in ", request.dir, ": ", GitSays(*checked_out)));
  }
  if (request.owned_clone) {
    // Sources exactly as committed; ignored files (dependencies, build outputs) stay so
    // the next build is incremental.
    absl::StatusOr<CommandResult> clean = git.Run({"clean", "-ffdq"});
    if (!clean.ok()) return clean.status();
  }
  if (fs::exists(fs::path(request.dir) / ".gitmodules")) {
    say("updating submodules");
    absl::StatusOr<CommandResult> submodules =
        git.Run({"submodule", "update", "--init", "--recursive", "--force"});
    if (!submodules.ok()) return submodules.status();
    if (!Succeeded(*submodules)) {
      return InfrastructureError(absl::StrCat("cannot update the submodules of ", repo_name, " at ",
                                              checkout.commit, ": ", GitSays(*submodules)));
    }
  }
  return checkout;
}

}  // namespace mosdat
