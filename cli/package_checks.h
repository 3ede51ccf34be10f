// `mosdat preflight --package PATH`: the config's [verify] checks (core/artifact_checks.h)
// on a built artifact, each printed as passed / FAILED / skipped with what was missing.
#ifndef MOSDAT_CLI_PACKAGE_CHECKS_H_
#define MOSDAT_CLI_PACKAGE_CHECKS_H_

#include <string>
#include <vector>

namespace mosdat {

struct PackageCheckArgs {
  std::string config;
  std::string package;
  // The original mOSdat's --expect-symbol / --verify-symbol values: each may be a
  // comma-separated list; added to [verify] symbols.
  std::vector<std::string> expected_symbols;
  bool json = false;
};

// The exit code: 0 every check passed, 1 one failed (the package lacks what it should
// have), 2 nothing to check or no --package, 3 the config, or the artifact (unreadable,
// corrupt app.asar or ELF file), cannot be read.
int RunPackageChecks(const PackageCheckArgs& args);

}  // namespace mosdat

#endif  // MOSDAT_CLI_PACKAGE_CHECKS_H_
