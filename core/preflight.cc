#include "core/preflight.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/absl_compat.h"
#include "core/config_parser.h"
#include "core/file_util.h"
#include "core/job_files.h"
#include "core/process.h"
#include "core/scenario_parser.h"
#include "core/smoke.h"
#include "core/test_resolution.h"
#include "core/visual_reference.h"

namespace mosdat {
namespace {

// Programs the local provider starts (see DESIGN.md, "The local target").
constexpr const char* kLocalDesktopPrograms[] = {"Xvnc", "dbus-daemon", "openbox"};

void CheckLocalVm(const Config& config, const VmConfig& vm, size_t index, bool installs_packages,
                  Diagnostics* problems) {
  SourceLocation where{config.source_path};
  std::string key = absl::StrCat("vm[", index, "]");
  for (const char* program : kLocalDesktopPrograms) {
    if (FindExecutable(program).empty()) {
      problems->Add(where, key,
                    absl::StrCat("local VM \"", vm.name, "\" needs ", program,
                                 ", which is not installed (run deploy/install-deps.sh)"));
    }
  }
  const std::string& binary = vm.app_path.empty() ? config.app.binary : vm.app_path;
  if (binary.empty()) {
    problems->Add(where, key,
                  absl::StrCat("local VM \"", vm.name,
                               "\" has no app to start: set [app].binary or app_path"));
  } else if (FindExecutable(binary).empty() && !(installs_packages && !vm.packages.empty())) {
    problems->Add(where, vm.app_path.empty() ? "app.binary" : key + ".app_path",
                  absl::StrCat("\"", binary, "\" is not an executable on this machine"));
  }
}

bool Selected(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

std::string HumanBytes(size_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " bytes");
  if (bytes < (1 << 20)) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
}

// Each reference image must exist and be usable (a PNG, not blank, a valid sidecar);
// the problem is reported at the step that names it. The image and its sidecar join
// the run's `files`.
void CheckReferences(const Scenario& scenario, Diagnostics* problems,
                     std::map<std::string, std::string>* files) {
  for (const auto& [step, path] : ReferenceImages(scenario)) {
    if (files->count(path)) continue;  // checked already, for this or another test
    absl::StatusOr<std::string> image = ReadFile(path);
    if (!image.ok()) {
      problems->Add(step->location, "",
                    absl::StrCat("reference image \"", path,
                                 "\" does not exist; capture it with `mosdat visual --capture "
                                 "--region X,Y,W,H --out ",
                                 path, "`"));
      continue;
    }
    std::string sidecar;
    // The optional sidecar (exclude areas, expected place) travels with the image.
    const std::string sidecar_path = ReferenceSidecarPath(path);
    std::error_code ec;
    if (std::filesystem::exists(sidecar_path, ec)) {
      absl::StatusOr<std::string> text = ReadFile(sidecar_path);
      if (!text.ok()) {
        problems->Add(step->location, "", std::string(text.status().message()));
        continue;
      }
      sidecar = *text;
      (*files)[sidecar_path] = sidecar;
    }
    if (absl::StatusOr<VisualReference> parsed = ParseReference(path, *image, sidecar);
        !parsed.ok()) {
      problems->Add(step->location, "", std::string(parsed.status().message()));
    }
    (*files)[path] = *std::move(image);
  }
}

// A VM that is not local needs a user to log in over SSH; its address is `ip`, or the
// one its guest agent reports (Proxmox).
void CheckSsh(const VmConfig& vm, const std::vector<const Step*>& steps, Diagnostics* problems) {
  if (steps.empty() || vm.provider == VmProvider::kLocal) return;
  std::vector<std::string> missing;
  if (vm.user.empty()) missing.push_back("user");
  if (!missing.empty()) {
    const Step& first = *steps.front();
    problems->Add(
        first.location, "",
        absl::StrCat(std::string(StepKindName(first.kind)), " needs SSH into VM \"", vm.name,
                     "\" (", steps.size(), steps.size() == 1 ? " step does" : " steps do",
                     "), but its [[vm]] table at ", vm.location.ToString(), " has no ",
                     absl::StrJoin(missing, " or "), "; set ", absl::StrJoin(missing, " and "),
                     " (and ssh_key)"));
  }
}

}  // namespace

VarMap ConfigVars(const Config& config, const VarMap& overrides, const VmConfig* vm) {
  VarMap vars = {
      {"app.name", config.app.name},
      {"app.version", config.app.version},
      {"app.binary", config.app.binary},
      {"app.process_name", config.app.process_name},
      {"timestamp", absl::FormatTime("%Y%m%d_%H%M%S", absl::Now(), absl::LocalTimeZone())}};
  if (vm != nullptr) {
    vars["vm.name"] = vm->name;
    vars["vm.os_type"] = std::string(ToString(vm->os_type));
    vars["app_path"] = vm->app_path.empty() ? config.app.binary : vm->app_path;
  }
  for (const auto& [name, value] : overrides) vars[name] = value;
  return vars;
}

std::vector<const VmConfig*> OneVmPerOs(const std::vector<const VmConfig*>& vms) {
  std::vector<const VmConfig*> out;
  for (const VmConfig* vm : vms) {
    if (std::none_of(out.begin(), out.end(),
                     [&](const VmConfig* seen) { return seen->os_type == vm->os_type; })) {
      out.push_back(vm);
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> RunSecrets(const Config& config) {
  std::map<std::string, std::string> out;
  for (const auto& [name, ref, env] :
       {std::tuple{"test_user", &config.functional.test_user, "FUNCTIONAL_TEST_USER"},
        std::tuple{"test_password", &config.functional.test_password,
                   "FUNCTIONAL_TEST_PASSWORD"}}) {
    SecretRef from = *ref;
    if (!from.is_set()) {
      const char* set = std::getenv(env);
      if (set == nullptr || *set == '\0') continue;
      from = SecretRef::FromEnv(env);
    }
    absl::StatusOr<std::string> value = from.Resolve();
    if (!value.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("[functional].", name, ": ", value.status().message()));
    }
    out[name] = *value;
  }
  // The VM user's password, which the original's scenarios type into sudo prompts.
  for (const char* env : {"MOSDAT_VM_PASSWORD", "DEFAULT_VM_PASSWORD"}) {
    const char* set = std::getenv(env);
    if (set != nullptr && *set != '\0') {
      out["vm_password"] = set;
      break;
    }
  }
  return out;
}

ScenarioOptions ScenarioOptionsFor(const Config& config, const TestConfig& test,
                                   const VarMap& overrides, const VmConfig* vm,
                                   const std::map<std::string, std::string>& secrets) {
  ScenarioOptions options{.overrides = ConfigVars(config, overrides, vm)};
  // As in the original, a scenario's own workspace_url wins over the config's.
  if (!config.functional.workspace_url.empty()) {
    options.defaults["workspace_url"] = config.functional.workspace_url;
  }
  for (const auto& [name, value] : secrets) options.defaults[name] = value;
  options.file_roots.push_back(std::filesystem::path(config.source_path).parent_path().string());
  options.file_roots.insert(options.file_roots.end(), test.allow_files_from.begin(),
                            test.allow_files_from.end());
  return options;
}

absl::StatusOr<std::pair<std::string, Value>> ParseVarAssignment(const std::string& text) {
  size_t eq = text.find('=');
  std::string name = text.substr(0, eq);
  if (eq == std::string::npos || !IsValidVarName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--var \"", text, "\": expected NAME=VALUE with NAME like app.binary"));
  }
  return std::make_pair(name, ValueFromPlainScalar(text.substr(eq + 1)));
}

PreflightReport RunPreflight(const PreflightOptions& options) {
  PreflightReport report;
  Diagnostics& problems = report.problems;
  absl::StatusOr<std::string> read = ReadFile(options.config_path);
  if (!read.ok()) {
    problems.Add({options.config_path}, "", std::string(read.status().message()));
    return report;
  }
  report.config = ParseConfig(*read, options.config_path, &problems);
  if (!problems.empty()) return report;  // later checks would only echo these
  const Config& config = report.config;
  if (absl::StatusOr<std::map<std::string, std::string>> secrets = RunSecrets(config);
      secrets.ok()) {
    report.secrets = *std::move(secrets);
  } else {
    problems.Add({options.config_path}, "functional", std::string(secrets.status().message()));
  }
  // Every file the run sends, recorded as the checks below read it.
  std::map<std::string, std::string> files = {{config.source_path, *read}};

  for (const auto& [name, path] : options.scenario_tests) {
    if (absl::Status added = AddScenarioTest(&report.config, name, path); !added.ok()) {
      report.usage_errors.emplace_back(added.message());
    }
  }
  // --test names without a [[test]] are scenario files, as the original found them.
  if (absl::Status found = AddTestsFromScenarioFiles(&report.config, options.tests, options.vms,
                                                     [](const std::string& path) {
                                                       std::error_code ec;
                                                       return std::filesystem::is_regular_file(path,
                                                                                               ec);
                                                     });
      !found.ok()) {
    for (absl::string_view line : absl::StrSplit(found.message(), '\n')) {
      report.usage_errors.emplace_back(line);
    }
  }
  for (const std::string& name : options.vms) {
    if (config.FindVm(name) == nullptr) {
      std::vector<std::string> known;
      for (const VmConfig& vm : config.vms) known.push_back(vm.name);
      problems.Add({options.config_path}, "",
                   absl::StrCat("--vm \"", name,
                                "\": no such [[vm]] (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }

  std::vector<bool> vm_used(config.vms.size(), false);
  bool embedded_vlm_needed = false;
  if (options.install_only) {
    for (size_t i = 0; i < config.vms.size(); ++i) {
      vm_used[i] = !config.vms[i].packages.empty() && Selected(options.vms, config.vms[i].name);
    }
  }
  for (const TestConfig& test : config.tests) {
    if (!Selected(options.tests, test.name) || options.install_only) continue;
    PreflightTestReport entry{.name = test.name};
    std::vector<const VmConfig*> vms;
    for (const VmConfig* vm : config.VmsFor(test)) {
      if (!Selected(options.vms, vm->name)) continue;
      vms.push_back(vm);
      entry.vms.push_back(vm->name);
    }
    const size_t before = problems.size();
    if (test.IsSmoke()) {
      if (!options.smoke_tests) {
        // `mosdat functional` runs scenarios; smoke tests belong to `test` and `run`.
        // Asked for by name, that is a problem; otherwise the test is skipped, visibly.
        std::string why = absl::StrCat("smoke tests (", test.SmokeSpelling(),
                                       ") run with `mosdat test` or `mosdat run`");
        if (options.tests.empty()) {
          entry.skipped = true;
          entry.note = absl::StrCat("skipped: ", why);
        } else {
          problems.Add(test.location, absl::StrCat("test \"", test.name, "\""),
                       absl::StrCat(why, "; leave it out of --test"));
        }
      } else {
        for (const VmConfig* vm : vms) {
          vm_used[vm - config.vms.data()] = true;
          absl::StatusOr<SmokeSpec> smoke = SmokeSpecFor(config, test, *vm);
          if (!smoke.ok()) {
            problems.Add(test.location, absl::StrCat("test \"", test.name, "\""),
                         std::string(smoke.status().message()));
            break;
          }
          // The local target starts a headless weston for a real Wayland socket.
          if (options.embedded && vm->provider == VmProvider::kLocal &&
              smoke->variant == SmokeVariant::kWaylandReal && FindExecutable("weston").empty()) {
            problems.Add(test.location, absl::StrCat("test \"", test.name, "\""),
                         absl::StrCat("variant \"wayland-real\" on local VM \"", vm->name,
                                      "\" needs weston, which is not installed (run "
                                      "deploy/install-deps.sh)"));
          }
        }
      }
      entry.ok = problems.size() == before;
      report.tests.push_back(std::move(entry));
      continue;
    }
    for (const VmConfig* vm : vms) vm_used[vm - config.vms.data()] = true;
    entry.scenario_path = test.scenario;  // already relative to the config's directory
    // Record every file the parser reads: the scenario and its imports, transitively.
    // Once per OS among the test's VMs (the original's routines differ per platform);
    // the first parse is the one reported.
    std::vector<const VmConfig*> per_os = OneVmPerOs(vms);
    if (per_os.empty()) per_os.push_back(nullptr);
    ScenarioOptions parse_options =
        ScenarioOptionsFor(config, test, options.vars, per_os[0], report.secrets);
    parse_options.read_file = [&](const std::string& path) -> absl::StatusOr<std::string> {
      absl::StatusOr<std::string> text = ReadFile(path);
      if (text.ok()) files[path] = *text;
      return text;
    };
    absl::StatusOr<std::string> scenario_text = parse_options.read_file(entry.scenario_path);
    if (!scenario_text.ok()) {
      problems.Add(
          test.location, "",
          absl::StrCat("scenario of test \"", test.name, "\": ", scenario_text.status().message()));
    } else {
      for (size_t i = 1; i < per_os.size() && problems.size() == before; ++i) {
        ScenarioOptions other = parse_options;
        other.overrides = ConfigVars(config, options.vars, per_os[i]);
        Diagnostics os_problems;
        ParseScenario(*scenario_text, entry.scenario_path, other, &os_problems);
        for (const Diagnostic& d : os_problems.items()) {
          problems.Add(d.location, d.key_path,
                       absl::StrCat(d.message, " (for ", Absl(ToString(per_os[i]->os_type)),
                                    " VMs such as \"", per_os[i]->name, "\")"));
        }
      }
      Scenario scenario =
          ParseScenario(*scenario_text, entry.scenario_path, parse_options, &problems);
      entry.steps = static_cast<int>(scenario.steps.size());
      entry.cleanup_steps = static_cast<int>(scenario.cleanup.size());
      if (problems.size() == before) {
        CheckReferences(scenario, &problems, &files);
        const bool on_local_vm = std::any_of(vms.begin(), vms.end(), [](const VmConfig* vm) {
          return vm->provider == VmProvider::kLocal;
        });
        std::vector<const Step*> vlm_steps = StepsNeedingVlm(scenario);
        // Local VMs run in the embedded default, whose gateway only [vlm] configures.
        if (options.embedded && on_local_vm && !vlm_steps.empty()) {
          if (!config.vlm) {
            for (const Step* step : vlm_steps) {
              problems.Add(step->location, "",
                           absl::StrCat(std::string(StepKindName(step->kind)),
                                        " needs a vision-language model: add a [vlm] table "
                                        "(base_url, model) to ",
                                        options.config_path));
            }
          } else {
            embedded_vlm_needed = true;
          }
        }
        std::vector<const Step*> ssh_steps = StepsNeedingSsh(scenario);
        for (const VmConfig* vm : vms) CheckSsh(*vm, ssh_steps, &problems);
      }
    }
    entry.ok = problems.size() == before;
    report.tests.push_back(std::move(entry));
  }

  for (size_t i = 0; i < config.vms.size(); ++i) {
    if (!vm_used[i]) continue;
    const VmConfig& vm = config.vms[i];
    if (vm.provider == VmProvider::kLocal) {
      if (options.embedded) CheckLocalVm(config, vm, i, options.installs_packages, &problems);
    } else if (const ProxmoxConfig* px = ProxmoxHostFor(config, vm); px != nullptr) {
      // The bridge resolves the API secret; a missing one is named now, not mid-run.
      const SecretRef& secret = px->token.is_set() ? px->token : px->password;
      if (absl::StatusOr<std::string> value = secret.Resolve(); !value.ok()) {
        problems.Add(
            vm.location, absl::StrCat("vm[", i, "]"),
            absl::StrCat("VM \"", vm.name, "\" is reached through Proxmox VE at ", px->host,
                         ", whose ", px->token.is_set() ? "token" : "password", " (",
                         secret.Describe(), ") is needed by this run: ", value.status().message()));
      }
    }
  }
  // Secrets are checked where they are needed, and named, never printed.
  if (embedded_vlm_needed && config.vlm->api_key.is_set()) {
    if (absl::StatusOr<std::string> key = config.vlm->api_key.Resolve(); !key.ok()) {
      problems.Add({config.source_path}, "vlm.api_key",
                   absl::StrCat("the model's API key (", config.vlm->api_key.Describe(),
                                ") is needed by this run: ", key.status().message()));
    }
  }
  if (!problems.empty()) return report;

  std::vector<std::pair<size_t, std::string>> by_size;
  for (const auto& [path, contents] : files) {
    report.job_files_bytes += contents.size();
    by_size.emplace_back(contents.size(), path);
  }
  if (report.job_files_bytes > options.max_job_files_bytes) {
    std::sort(by_size.rbegin(), by_size.rend());
    std::vector<std::string> largest;
    for (size_t i = 0; i < by_size.size() && i < 3; ++i) {
      largest.push_back(absl::StrCat(by_size[i].second, " (", HumanBytes(by_size[i].first), ")"));
    }
    problems.Add(
        {config.source_path}, "",
        absl::StrCat("the run sends ", HumanBytes(report.job_files_bytes), " in ", files.size(),
                     " files, more than the limit of ", HumanBytes(options.max_job_files_bytes),
                     "; largest: ", absl::StrJoin(largest, ", "),
                     ". Shrink the reference images (crop them to the region that "
                     "matters) or split the suite with --test"));
    return report;
  }
  report.job_files = std::move(files);
  return report;
}

}  // namespace mosdat
