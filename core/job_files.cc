#include "core/job_files.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/preflight.h"
#include "core/scenario_parser.h"
#include "core/visual_reference.h"

namespace mosdat {

absl::StatusOr<std::map<std::string, std::string>> CollectJobFiles(
    const Config& config, const std::string& config_text, const std::vector<std::string>& tests,
    const VarMap& vars) {
  std::map<std::string, std::string> files;
  files[config.source_path] = config_text;
  Diagnostics diagnostics;
  std::vector<std::string> references;
  for (const TestConfig& test : config.tests) {
    if (test.scenario.empty()) continue;
    if (!tests.empty() && std::find(tests.begin(), tests.end(), test.name) == tests.end()) {
      continue;
    }
    // Record every file the parser reads: the scenario and its imports, transitively.
    ScenarioOptions options = ScenarioOptionsFor(config, test, vars);
    options.read_file = [&](const std::string& path) -> absl::StatusOr<std::string> {
      absl::StatusOr<std::string> text = ReadScenarioFile(path);
      if (text.ok()) files[path] = *text;
      return text;
    };
    absl::StatusOr<std::string> text = options.read_file(test.scenario);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("scenario of test \"", test.name, "\": ", text.status().message()));
    }
    Scenario scenario = ParseScenario(*text, test.scenario, options, &diagnostics);
    for (const auto& [step, path] : ReferenceImages(scenario)) {
      if (std::find(references.begin(), references.end(), path) == references.end()) {
        references.push_back(path);
      }
    }
  }
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  for (const std::string& path : references) {
    absl::StatusOr<std::string> image = ReadScenarioFile(path);
    if (!image.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reference image: ", image.status().message()));
    }
    files[path] = *image;
    // The optional sidecar (exclude areas, expected place) travels with the image.
    const std::string sidecar_path = ReferenceSidecarPath(path);
    std::string sidecar;
    if (std::filesystem::exists(sidecar_path)) {
      absl::StatusOr<std::string> text = ReadScenarioFile(sidecar_path);
      if (!text.ok()) return text.status();
      sidecar = *text;
      files[sidecar_path] = sidecar;
    }
    // A broken or blank reference is the scenario author's to fix, before any VM starts.
    absl::StatusOr<VisualReference> parsed = ParseReference(path, *image, sidecar);
    if (!parsed.ok()) return parsed.status();
  }
  return files;
}

}  // namespace mosdat
