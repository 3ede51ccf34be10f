#include "cli/run_selection.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace mosdat {
namespace {

// The spellings as parsed, before they are merged into a RunSelection.
struct Spellings {
  std::string config_option;
  std::string config_positional;
  std::vector<std::string> vm_options;
  std::vector<std::string> vms_lists;  // each --vms as given: "a,b"
};

}  // namespace

void AddRunSelection(CLI::App* cmd, RunSelection* selection) {
  auto spellings = std::make_shared<Spellings>();
  cmd->add_option("config", spellings->config_positional,
                  "mOSdat TOML config (the same as --config)");
  cmd->add_option("--config", spellings->config_option, "mOSdat TOML config");
  cmd->add_option("--test", selection->tests,
                  "only these [[test]] names (repeatable); a NAME no [[test]] has runs NAME.yaml "
                  "from [functional].tests_dir, as in the original mOSdat");
  cmd->add_option("--vm", spellings->vm_options, "only these [[vm]] names (repeatable)");
  cmd->add_option("--vms", spellings->vms_lists, "only these [[vm]] names, comma-separated");
  cmd->add_option("--var", selection->vars, "scenario variable override NAME=VALUE (repeatable)");
  cmd->parse_complete_callback([spellings, selection] {
    const std::string& option = spellings->config_option;
    const std::string& positional = spellings->config_positional;
    if (option.empty() && positional.empty()) {
      throw CLI::ValidationError(
          "--config", "no config given: give it as --config FILE or as the first argument");
    }
    if (!option.empty() && !positional.empty() && option != positional) {
      throw CLI::ValidationError("config", "two configs given (\"" + positional +
                                               "\" and --config \"" + option + "\"); give one");
    }
    selection->config = option.empty() ? positional : option;
    selection->vms = spellings->vm_options;
    // Split here, not by CLI11's delimiter, which drops empty names silently: "a,,b"
    // is a mistake to report, as the original reports an unknown VM "".
    for (const std::string& list : spellings->vms_lists) {
      for (absl::string_view vm : absl::StrSplit(list, ',')) {
        vm = absl::StripAsciiWhitespace(vm);
        if (vm.empty()) {
          throw CLI::ValidationError("--vms", "an empty VM name in \"" + list + "\"");
        }
        selection->vms.emplace_back(vm);
      }
    }
  });
}

}  // namespace mosdat
