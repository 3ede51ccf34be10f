// `mosdat migrate FILE... [--in-place]`: rewrites scenarios, imported files and
// routines written in the original mOSdat's dialect into mOSdat's own
// (core/scenario_migrate.h). Without --in-place the result goes to stdout (one file:
// as is; several: each after a `# FILE` line). A file already in mOSdat's dialect is
// left alone and said so on stderr. Exit 0 when every file was migrated or needed
// nothing, 3 when a file could not be read or rewritten (nothing of it is written).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/file_util.h"
#include "core/scenario_migrate.h"

namespace mosdat {
namespace {

struct MigrateArgs {
  std::vector<std::string> files;
  bool in_place = false;
};

// Writes `text` to `path` through a temporary file renamed over it, so a crash never
// leaves half a scenario.
bool ReplaceFile(const std::string& path, const std::string& text, std::string* error) {
  absl::Status written = WriteFileAtomically(path, text);
  if (!written.ok()) *error = std::string(written.message());
  return written.ok();
}

int RunMigrate(const MigrateArgs& args) {
  int exit = kExitPass;
  for (const std::string& path : args.files) {
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) {
      std::cerr << "mosdat migrate: " << text.status().message() << "\n";
      exit = kExitConfigError;
      continue;
    }
    Diagnostics diagnostics;
    absl::StatusOr<Migration> migration = MigrateScenario(*text, path, &diagnostics);
    for (const Diagnostic& d : diagnostics.warnings()) {
      std::cerr << "warning: " << d.ToString() << "\n";
    }
    for (const Diagnostic& d : diagnostics.items()) std::cerr << d.ToString() << "\n";
    if (!migration.ok()) {
      std::cerr << "mosdat migrate: " << migration.status().message() << "\n";
      exit = kExitConfigError;
      continue;
    }
    if (!migration->changed) {
      std::cerr << path << ": already in mOSdat's own dialect; left as it is\n";
      if (!args.in_place) {
        if (args.files.size() > 1) std::cout << "# " << path << "\n";
        std::cout << migration->text;
      }
      continue;
    }
    if (args.in_place) {
      std::string error;
      if (!ReplaceFile(path, migration->text, &error)) {
        std::cerr << "mosdat migrate: " << error << "\n";
        exit = kExitConfigError;
        continue;
      }
      std::cerr << path << ": migrated (it was the original's dialect because of "
                << migration->reason << ")\n";
    } else {
      if (args.files.size() > 1) std::cout << "# " << path << "\n";
      std::cout << migration->text;
    }
  }
  return exit;
}

}  // namespace

void AddMigrateCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* cmd = root.add_subcommand(
      "migrate", "Rewrite scenarios in the original mOSdat's dialect into mOSdat's own");
  cmd->add_option("files", args->files, "scenario, imported file or routine (YAML)")->required();
  cmd->add_flag("--in-place", args->in_place, "replace each file instead of printing it");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunMigrate(*args); });
  });
}

}  // namespace mosdat
