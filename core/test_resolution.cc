#include "core/test_resolution.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

// The original's default folder, relative to its checkout.
constexpr std::string_view kOriginalTestsDir = "shared/scenarios/functional";

std::string Join(const fs::path& dir, const fs::path& rest) {
  return (dir / rest).lexically_normal().string();
}

struct Candidate {
  std::string path;
  std::string dir;  // the tests folder it is in
};

std::vector<Candidate> Candidates(const Config& config, const VmConfig& vm, std::string_view name) {
  std::vector<Candidate> out;
  const std::string file = std::string(name) + ".yaml";
  for (const std::string& dir : TestsDirs(config)) {
    out.push_back({Join(dir, fs::path(vm.name) / file), dir});
    if (vm.os_type == OsType::kLinux) out.push_back({Join(dir, fs::path("linux") / file), dir});
    out.push_back({Join(dir, file), dir});
  }
  return out;
}

}  // namespace

std::vector<std::string> TestsDirs(const Config& config) {
  if (!config.functional.tests_dir.empty()) return {config.functional.tests_dir};
  const fs::path config_dir = fs::path(config.source_path).parent_path();
  return {Join(config_dir, kOriginalTestsDir), Join(config_dir / "..", kOriginalTestsDir)};
}

std::vector<std::string> ScenarioCandidates(const Config& config, const VmConfig& vm,
                                            std::string_view name) {
  std::vector<std::string> out;
  for (Candidate& c : Candidates(config, vm, name)) out.push_back(std::move(c.path));
  return out;
}

absl::Status AddTestsFromScenarioFiles(Config* config, const std::vector<std::string>& names,
                                       const std::vector<std::string>& vms,
                                       const std::function<bool(const std::string&)>& exists) {
  std::vector<std::string> known;
  for (const TestConfig& test : config->tests) known.push_back(test.name);
  const std::string known_text = known.empty()
                                     ? "the config has no [[test]]"
                                     : absl::StrCat("[[test]] names: ", absl::StrJoin(known, ", "));
  std::vector<const VmConfig*> targets;
  for (const VmConfig& vm : config->vms) {
    if (vms.empty() || std::find(vms.begin(), vms.end(), vm.name) != vms.end()) {
      targets.push_back(&vm);
    }
  }

  std::vector<std::string> errors;
  std::vector<TestConfig> added;
  std::vector<std::string> done;
  for (const std::string& name : names) {
    if (config->FindTest(name) != nullptr) continue;
    if (std::find(done.begin(), done.end(), name) != done.end()) continue;  // asked twice
    done.push_back(name);
    const std::string head =
        absl::StrCat("--test \"", name, "\": no [[test]] is named so (", known_text, ")");
    if (!IsPlainFileName(name)) {
      errors.push_back(absl::StrCat(head,
                                    ", and it cannot name a scenario file (letters, "
                                    "digits, \"_\", \".\" and \"-\" only)"));
      continue;
    }
    if (targets.empty()) {
      errors.push_back(
          absl::StrCat(head, ", and there is no [[vm]] to look up ", name, ".yaml for"));
      continue;
    }
    // file -> the test that runs it, in the order the files were first found.
    std::vector<std::pair<std::string, TestConfig>> by_file;
    std::vector<std::string> missing;
    for (const VmConfig* vm : targets) {
      std::vector<Candidate> candidates = Candidates(*config, *vm, name);
      auto found = std::find_if(candidates.begin(), candidates.end(),
                                [&](const Candidate& c) { return exists(c.path); });
      if (!IsPlainFileName(vm->name) || found == candidates.end()) {
        std::vector<std::string> looked;
        for (const Candidate& c : candidates) looked.push_back(c.path);
        missing.push_back(absl::StrCat("for VM \"", vm->name,
                                       "\" (looked at: ", absl::StrJoin(looked, ", "), ")"));
        continue;
      }
      auto it = std::find_if(by_file.begin(), by_file.end(),
                             [&](const auto& entry) { return entry.first == found->path; });
      if (it == by_file.end()) {
        TestConfig test;
        test.name = name;
        test.scenario = found->path;
        test.allow_files_from.push_back(found->dir);
        test.location = SourceLocation{config->source_path};
        by_file.emplace_back(found->path, std::move(test));
        it = by_file.end() - 1;
      }
      it->second.vms.push_back(vm->name);
    }
    if (!missing.empty()) {
      errors.push_back(absl::StrCat(head, ", and no scenario file ", name, ".yaml was found ",
                                    absl::StrJoin(missing, " or ")));
      continue;
    }
    for (auto& [file, test] : by_file) added.push_back(std::move(test));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  config->tests.insert(config->tests.end(), std::make_move_iterator(added.begin()),
                       std::make_move_iterator(added.end()));
  return absl::OkStatus();
}

absl::Status AddScenarioTest(Config* config, const std::string& name,
                             const std::string& scenario_path) {
  if (config->FindTest(name) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("a [[test]] of the config is named \"", name,
                     "\" already; the scenario given on the command line cannot take its name"));
  }
  TestConfig test;
  test.name = name;
  test.scenario = scenario_path;
  config->tests.push_back(std::move(test));
  return absl::OkStatus();
}

}  // namespace mosdat
