#include "cli/package_checks.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "cli/exit_codes.h"
#include "core/artifact_checks.h"
#include "core/config_parser.h"

namespace mosdat {
namespace {

int Fail(std::string_view message, int code, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"ok", false}, {"error", message}}.dump(2) << "\n";
  }
  std::cerr << "mosdat preflight: " << message << "\n";
  return code;
}

}  // namespace

int RunPackageChecks(const PackageCheckArgs& args) {
  if (args.package.empty()) {
    return Fail("--expect-symbol needs --package PATH (the artifact to check)", kExitUsage,
                args.json);
  }
  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
  if (!config.ok())
    return Fail(std::string(config.status().message()), ExitCodeFor(Outcome::kConfigError),
                args.json);
  for (const Diagnostic& w : warnings.warnings()) std::cerr << "warning: " << w.ToString() << "\n";
  VerifyConfig verify = config->verify.value_or(VerifyConfig{});
  for (const std::string& list : args.expected_symbols) {
    for (absl::string_view symbol : absl::StrSplit(list, ',')) {
      symbol = absl::StripAsciiWhitespace(symbol);
      if (symbol.empty()) continue;
      if (std::find(verify.symbols.begin(), verify.symbols.end(), symbol) == verify.symbols.end()) {
        verify.symbols.emplace_back(symbol);
      }
    }
  }
  if (verify.empty()) {
    return Fail(args.config +
                    " has no [verify] checks and no --expect-symbol was given: nothing "
                    "to check in " +
                    args.package,
                kExitUsage, args.json);
  }
  absl::StatusOr<std::unique_ptr<ArtifactFiles>> files = OpenArtifact(
      args.package, [&verify](std::string_view path) { return WantedByChecks(verify, path); });
  absl::StatusOr<std::vector<ArtifactCheck>> checks =
      files.ok() ? RunArtifactChecks(verify, **files) : files.status();
  if (!checks.ok()) {
    return Fail(std::string(checks.status().message()), ExitCodeFor(Outcome::kConfigError),
                args.json);
  }
  const bool passed = AllPassed(*checks);
  if (args.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const ArtifactCheck& c : *checks) {
      list.push_back({{"name", c.name}, {"result", ToString(c.result)}, {"detail", c.detail}});
    }
    std::cout << nlohmann::json{{"ok", passed}, {"package", args.package}, {"checks", list}}.dump(2)
              << "\n";
  } else {
    for (const ArtifactCheck& c : *checks) {
      const char* mark = c.result == ArtifactCheck::Result::kPassed   ? "ok    "
                         : c.result == ArtifactCheck::Result::kFailed ? "FAIL  "
                                                                      : "skip  ";
      std::cout << mark << c.name << (c.detail.empty() ? "" : "  (" + c.detail + ")") << "\n";
    }
    if (passed) {
      std::cout << "package checks passed: " << args.package << "\n";
    } else {
      std::cerr << "package checks failed: " << args.package << "\n";
    }
  }
  return ExitCodeFor(passed ? Outcome::kPassed : Outcome::kTestFailed);
}

}  // namespace mosdat
