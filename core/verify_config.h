// [verify]: what a built package (or an installed app) must contain, checked by
// `mosdat preflight --package` and, in a VM, on the installed files (see
// core/artifact_checks.h).
//
// The original mOSdat had this as command-line flags: `mosdat build --verify-symbol S`
// and `mosdat preflight --expect-symbol S` grepped `strings app.asar` for each symbol
// after install. `symbols` is that list in the config (both flags still add to it);
// the tables below check one named file.
#ifndef MOSDAT_CORE_VERIFY_CONFIG_H_
#define MOSDAT_CORE_VERIFY_CONFIG_H_

#include <string>
#include <vector>

namespace mosdat {

// [[verify.asar_file]]: a file inside the app.asar that must exist and hold `strings`.
struct AsarFileCheck {
  std::string path;  // from the asar's root: "dist/main.js"
  std::vector<std::string> strings;
};

// [[verify.binary]]: an ELF file of the package that must export `exports` (defined
// dynamic symbols) and hold `strings`.
struct BinaryCheck {
  std::string path;  // in the package / install: "opt/App/app" (leading "/" optional)
  std::vector<std::string> exports;
  std::vector<std::string> strings;
};

struct VerifyConfig {
  // Where the app.asar is, in the package / install ("opt/App/resources/app.asar").
  // Empty: the one file named app.asar there (as the original found it).
  std::string asar;
  // Each must occur in some file of the app.asar (the original's --verify-symbol and
  // --expect-symbol).
  std::vector<std::string> symbols;
  std::vector<AsarFileCheck> asar_files;
  std::vector<BinaryCheck> binaries;

  bool NeedsAsar() const { return !symbols.empty() || !asar_files.empty(); }
  bool empty() const { return !NeedsAsar() && binaries.empty(); }
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_VERIFY_CONFIG_H_
