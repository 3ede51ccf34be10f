// Each `mosdat` subcommand registers itself on the root CLI11 app. A command's callback
// stores its exit code in *exit_code.
#ifndef MOSDAT_CLI_COMMANDS_H_
#define MOSDAT_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace mosdat {

// Options every command can use.
struct GlobalOptions {
  std::string log_level = "warn";
};

// A command's callback body: sets up logging at --log-level (an unknown level is a usage
// error), then stores what `run` returns as the exit code.
void RunWithLogging(const GlobalOptions& global, int* exit_code, const std::function<int()>& run);

// The [vlm] table of the config at `path`, for `command` (e.g. "mosdat replay"). Errors,
// ready to print: the config's own (file:line:column), or "<command>: <path> has no [vlm]
// table; add one (base_url, model) or <instead>".
absl::StatusOr<VlmConfig> LoadVlmConfig(const std::string& path, std::string_view command,
                                        std::string_view instead);

// LoadConfig(path), its warnings printed to stderr ("warning: file:line:column: ...").
absl::StatusOr<Config> LoadConfigPrintingWarnings(const std::string& path);

// The token a server's callers present: the one `ref` names (env:NAME or file:PATH), or
// a fresh one when `ref` is empty (*made says so: the command shows it once).
// InvalidArgument, naming `flag`, when the reference cannot be read or the token is empty.
absl::StatusOr<std::string> ServerToken(const std::string& ref, std::string_view flag, bool* made);

inline constexpr char kMosdatVersion[] = "0.1.0";

void AddPreflightCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddFunctionalCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddAtspiDumpCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddVisualCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddServeCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddVlmCacheCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddReplayCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddMigrateCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddDoctorCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddBuildCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddLiveCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddAuthorCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
// `trace` and `dashboard` (report_commands.cc).
void AddReportCommands(CLI::App& root, const GlobalOptions& global, int* exit_code);
// `run` and `test` (matrix_commands.cc); `runs`, `watch` and `cancel` (runs_commands.cc).
void AddMatrixCommands(CLI::App& root, const GlobalOptions& global, int* exit_code);
void AddRunsCommands(CLI::App& root, const GlobalOptions& global, int* exit_code);
// `confirm` (confirm_command.cc): does a GitHub issue's bug reproduce, how often, where.
void AddConfirmCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);
// `mcp` (mcp_command.cc): the authoring tools for coding agents over MCP.
void AddMcpCommand(CLI::App& root, const GlobalOptions& global, int* exit_code);

}  // namespace mosdat

#endif  // MOSDAT_CLI_COMMANDS_H_
