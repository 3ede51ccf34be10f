#include "runtime/proto_convert.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/smoke.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

using nlohmann::json;

json ToJson(const Value& value) {
  if (value.is_null()) return nullptr;
  if (value.is_bool()) return value.as_bool();
  if (value.is_int()) return value.as_int();
  if (value.is_double()) return value.as_double();
  if (value.is_string()) return value.as_string();
  if (value.is_map()) {
    // An array of [key, value] pairs keeps the order the map was written in.
    json pairs = json::object();
    json entries = json::array();
    for (const auto& [key, item] : value.as_map()) entries.push_back({key, ToJson(item)});
    pairs["map"] = entries;
    return pairs;
  }
  json list = json::array();
  for (const Value& item : value.as_list()) list.push_back(ToJson(item));
  return list;
}

absl::StatusOr<Value> FromJson(const json& j, int depth) {
  if (depth > 32) return absl::InvalidArgumentError("variable nested too deeply");
  if (j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) return Value(j.get<int64_t>());
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    Value::List list;
    for (const json& item : j) {
      absl::StatusOr<Value> v = FromJson(item, depth + 1);
      if (!v.ok()) return v.status();
      list.push_back(*v);
    }
    return Value(std::move(list));
  }
  if (j.is_object() && j.size() == 1 && j.contains("map") && j["map"].is_array()) {
    Value::Map map;
    for (const json& entry : j["map"]) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string()) {
        return absl::InvalidArgumentError("a map variable's entries are [name, value] pairs");
      }
      absl::StatusOr<Value> v = FromJson(entry[1], depth + 1);
      if (!v.ok()) return v.status();
      map.emplace_back(entry[0].get<std::string>(), *v);
    }
    return Value(std::move(map));
  }
  return absl::InvalidArgumentError("variables are null, bool, number, string, list or map");
}

v1::StepStatus ToProto(StepStatus status) {
  switch (status) {
    case StepStatus::kPassed:
      return v1::STEP_STATUS_PASSED;
    case StepStatus::kFailed:
      return v1::STEP_STATUS_FAILED;
    case StepStatus::kSkipped:
      return v1::STEP_STATUS_SKIPPED;
    case StepStatus::kError:
      return v1::STEP_STATUS_ERROR;
  }
  return v1::STEP_STATUS_UNSPECIFIED;
}

StepStatus FromProto(v1::StepStatus status) {
  switch (status) {
    case v1::STEP_STATUS_PASSED:
      return StepStatus::kPassed;
    case v1::STEP_STATUS_FAILED:
      return StepStatus::kFailed;
    case v1::STEP_STATUS_SKIPPED:
      return StepStatus::kSkipped;
    default:
      return StepStatus::kError;
  }
}

}  // namespace

std::string ValueToJson(const Value& value) { return ToJson(value).dump(); }

absl::StatusOr<Value> ValueFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("variable value is not JSON");
  return FromJson(j, 0);
}

v1::Verdict ToProto(JobVerdict verdict) {
  switch (verdict) {
    case JobVerdict::kPass:
      return v1::VERDICT_PASS;
    case JobVerdict::kFail:
      return v1::VERDICT_FAIL;
    case JobVerdict::kUnknown:
      return v1::VERDICT_UNKNOWN;
    case JobVerdict::kError:
      return v1::VERDICT_ERROR;
    case JobVerdict::kConfigError:
      return v1::VERDICT_CONFIG_ERROR;
  }
  return v1::VERDICT_UNSPECIFIED;
}

JobVerdict FromProto(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_PASS:
      return JobVerdict::kPass;
    case v1::VERDICT_FAIL:
      return JobVerdict::kFail;
    case v1::VERDICT_UNKNOWN:
      return JobVerdict::kUnknown;
    case v1::VERDICT_CONFIG_ERROR:
      return JobVerdict::kConfigError;
    default:
      return JobVerdict::kError;
  }
}

// Protobuf `string` fields must hold valid UTF-8, and an event's text comes from
// anywhere (a command's output, an app's window title, a model's answer): without this,
// one stray byte would make the event unserialisable and end the job.
Event WithValidText(const Event& event) {
  Event e = event;
  for (std::string* text :
       {&e.job_id, &e.vm, &e.scenario, &e.substep, &e.step_kind, &e.label, &e.description,
        &e.source_location, &e.reason, &e.screenshot, &e.why, &e.level, &e.text}) {
    *text = ValidUtf8(*text);
  }
  for (LocatorCandidate& c : e.candidates) c.description = ValidUtf8(c.description);
  if (e.output) {
    e.output->out = ValidUtf8(e.output->out);
    e.output->err = ValidUtf8(e.output->err);
  }
  for (VlmCall& c : e.vlm_calls) {
    for (std::string* text : {&c.kind, &c.prompt, &c.screenshot, &c.reason, &c.model}) {
      *text = ValidUtf8(*text);
    }
  }
  if (e.snapshot) {
    for (ScreenWord& w : e.snapshot->words) w.text = ValidUtf8(w.text);
    for (std::string* text :
         {&e.snapshot->ocr_error, &e.snapshot->accessible_tree, &e.snapshot->accessible_error}) {
      *text = ValidUtf8(*text);
    }
  }
  return e;
}

v1::JobEvent ToProto(const Event& event) {
  const Event e = WithValidText(event);
  v1::JobEvent out;
  out.set_job_id(e.job_id);
  out.set_seq(e.seq);
  out.set_job_attempt(e.job_attempt);
  out.set_unix_ms(e.unix_ms);
  switch (e.type) {
    case EventType::kJobStarted: {
      auto* started = out.mutable_job_started();
      started->set_vm(e.vm);
      started->set_scenario(e.scenario);
      break;
    }
    case EventType::kStepStarted: {
      auto* step = out.mutable_step_started();
      step->set_index(e.step_index);
      step->set_substep(e.substep);
      step->set_kind(e.step_kind);
      step->set_label(e.label);
      step->set_description(e.description);
      step->set_attempt(e.attempt);
      step->set_source_location(e.source_location);
      step->set_cleanup(e.cleanup);
      step->set_check(e.check);
      break;
    }
    case EventType::kStepFinished: {
      auto* step = out.mutable_step_finished();
      step->set_index(e.step_index);
      step->set_substep(e.substep);
      step->set_status(ToProto(e.status));
      step->set_duration_seconds(e.duration_seconds);
      step->set_reason(e.reason);
      step->set_attempt(e.attempt);
      step->set_must_pass(e.must_pass);
      step->set_screenshot(e.screenshot);
      step->set_kind(e.step_kind);
      step->set_label(e.label);
      step->set_description(e.description);
      step->set_source_location(e.source_location);
      step->set_cleanup(e.cleanup);
      step->set_check(e.check);
      for (const LocatorCandidate& c : e.candidates) {
        v1::Candidate* candidate = step->add_candidates();
        candidate->set_source(c.source);
        candidate->mutable_box()->set_x(c.x);
        candidate->mutable_box()->set_y(c.y);
        candidate->mutable_box()->set_width(c.width);
        candidate->mutable_box()->set_height(c.height);
        candidate->set_score(c.score);
        candidate->set_description(c.description);
      }
      for (const PointerInput& p : e.pointer) {
        v1::PointerInput* input = step->add_pointer();
        input->set_kind(p.kind);
        input->mutable_at()->set_x(p.x);
        input->mutable_at()->set_y(p.y);
        if (p.kind == "drag") {
          input->mutable_to()->set_x(p.to_x);
          input->mutable_to()->set_y(p.to_y);
        }
      }
      if (e.snapshot) {
        v1::FailureSnapshot* snapshot = step->mutable_snapshot();
        for (const ScreenWord& w : e.snapshot->words) {
          v1::ScreenWord* word = snapshot->add_words();
          word->set_text(w.text);
          word->mutable_box()->set_x(w.x);
          word->mutable_box()->set_y(w.y);
          word->mutable_box()->set_width(w.width);
          word->mutable_box()->set_height(w.height);
          word->set_confidence(w.confidence);
        }
        snapshot->set_ocr_error(e.snapshot->ocr_error);
        snapshot->set_accessible_tree(e.snapshot->accessible_tree);
        snapshot->set_accessible_nodes(e.snapshot->accessible_nodes);
        snapshot->set_accessible_error(e.snapshot->accessible_error);
      }
      if (e.output) {
        v1::CommandOutput* output = step->mutable_output();
        output->set_exit_code(e.output->exit_code);
        output->set_stdout_tail(e.output->out);
        output->set_stderr_tail(e.output->err);
        output->set_timed_out(e.output->timed_out);
      }
      for (const VlmCall& c : e.vlm_calls) {
        v1::VlmCall* call = step->add_vlm_calls();
        call->set_kind(c.kind);
        call->set_prompt(c.prompt);
        call->set_screenshot(c.screenshot);
        call->set_answer(c.answer);
        call->mutable_point()->set_x(c.x);
        call->mutable_point()->set_y(c.y);
        call->set_confidence(c.confidence);
        call->set_reason(c.reason);
        call->set_model(c.model);
        call->set_cache_hit(c.cache_hit);
      }
      break;
    }
    case EventType::kScreenshot: {
      auto* shot = out.mutable_screenshot();
      shot->set_step_index(e.step_index);
      shot->set_substep(e.substep);
      shot->set_name(e.screenshot);
      shot->set_why(e.why);
      shot->mutable_image()->set_png(e.png);
      break;
    }
    case EventType::kLog:
      out.mutable_log()->set_level(e.level);
      out.mutable_log()->set_text(e.text);
      break;
    case EventType::kJobPaused:
      out.mutable_job_paused()->set_step_index(e.step_index);
      out.mutable_job_paused()->set_reason(e.reason);
      break;
    case EventType::kJobResumed:
      out.mutable_job_resumed()->set_step_index(e.step_index);
      out.mutable_job_resumed()->set_text(e.text);
      break;
    case EventType::kJobFinished: {
      auto* finished = out.mutable_job_finished();
      finished->set_verdict(ToProto(e.verdict));
      finished->set_reason(e.reason);
      finished->set_duration_seconds(e.duration_seconds);
      if (e.bug) finished->set_bug(std::string(ToString(*e.bug)));
      break;
    }
  }
  return out;
}

Event FromProto(const v1::JobEvent& in) {
  Event e;
  e.job_id = in.job_id();
  e.seq = in.seq();
  e.job_attempt = in.job_attempt() > 0 ? in.job_attempt() : 1;
  e.unix_ms = in.unix_ms();
  switch (in.kind_case()) {
    case v1::JobEvent::kJobStarted:
      e.type = EventType::kJobStarted;
      e.vm = in.job_started().vm();
      e.scenario = in.job_started().scenario();
      break;
    case v1::JobEvent::kStepStarted: {
      const auto& s = in.step_started();
      e.type = EventType::kStepStarted;
      e.step_index = s.index();
      e.substep = IsSubstep(s.substep()) ? s.substep() : "";
      e.step_kind = s.kind();
      e.label = s.label();
      e.description = s.description();
      e.attempt = s.attempt();
      e.source_location = s.source_location();
      e.cleanup = s.cleanup();
      e.check = s.check() == kPreconditionCheck || s.check() == kBugSignalCheck ? s.check() : "";
      break;
    }
    case v1::JobEvent::kStepFinished: {
      const auto& s = in.step_finished();
      e.type = EventType::kStepFinished;
      e.step_index = s.index();
      e.substep = IsSubstep(s.substep()) ? s.substep() : "";
      e.status = FromProto(s.status());
      e.duration_seconds = s.duration_seconds();
      e.reason = s.reason();
      e.attempt = s.attempt();
      e.must_pass = s.must_pass();
      e.screenshot = s.screenshot();
      e.step_kind = s.kind();
      e.label = s.label();
      e.description = s.description();
      e.source_location = s.source_location();
      e.cleanup = s.cleanup();
      e.check = s.check() == kPreconditionCheck || s.check() == kBugSignalCheck ? s.check() : "";
      for (const v1::Candidate& c : s.candidates()) {
        e.candidates.push_back({c.source(), c.box().x(), c.box().y(), c.box().width(),
                                c.box().height(), c.score(), c.description()});
      }
      for (const v1::PointerInput& p : s.pointer()) {
        if (e.pointer.size() >= kMaxPointerInputsPerStep) break;
        e.pointer.push_back(
            {ValidUtf8(p.kind()).substr(0, 32), p.at().x(), p.at().y(), p.to().x(), p.to().y()});
      }
      if (s.has_snapshot()) {
        // From a peer: bounded as the runner bounds it.
        const v1::FailureSnapshot& in_snapshot = s.snapshot();
        FailureSnapshot snapshot;
        for (const v1::ScreenWord& w : in_snapshot.words()) {
          if (snapshot.words.size() >= FailureSnapshot::kMaxWords) break;
          snapshot.words.push_back({ValidUtf8(w.text()).substr(0, 200), w.box().x(), w.box().y(),
                                    w.box().width(), w.box().height(), w.confidence()});
        }
        snapshot.ocr_error = ValidUtf8(in_snapshot.ocr_error().substr(0, 1000));
        snapshot.accessible_tree =
            ValidUtf8(in_snapshot.accessible_tree().substr(0, FailureSnapshot::kMaxTreeBytes));
        snapshot.accessible_nodes = in_snapshot.accessible_nodes();
        snapshot.accessible_error = ValidUtf8(in_snapshot.accessible_error().substr(0, 1000));
        e.snapshot = std::move(snapshot);
      }
      if (s.has_output()) {
        e.output = CommandOutput{s.output().exit_code(), s.output().stdout_tail(),
                                 s.output().stderr_tail(), s.output().timed_out()};
      }
      for (const v1::VlmCall& c : s.vlm_calls()) {
        e.vlm_calls.push_back({.kind = c.kind(),
                               .prompt = c.prompt(),
                               .screenshot = c.screenshot(),
                               .answer = c.answer(),
                               .x = c.point().x(),
                               .y = c.point().y(),
                               .confidence = c.confidence(),
                               .reason = c.reason(),
                               .model = c.model(),
                               .cache_hit = c.cache_hit()});
      }
      break;
    }
    case v1::JobEvent::kScreenshot:
      e.type = EventType::kScreenshot;
      e.step_index = in.screenshot().step_index();
      e.substep = IsSubstep(in.screenshot().substep()) ? in.screenshot().substep() : "";
      e.screenshot = in.screenshot().name();
      e.why = in.screenshot().why();
      e.png = in.screenshot().image().png();
      break;
    case v1::JobEvent::kJobPaused:
      e.type = EventType::kJobPaused;
      e.step_index = in.job_paused().step_index();
      e.reason = in.job_paused().reason();
      break;
    case v1::JobEvent::kJobResumed:
      e.type = EventType::kJobResumed;
      e.step_index = in.job_resumed().step_index();
      e.text = in.job_resumed().text();
      break;
    case v1::JobEvent::kJobFinished:
      e.type = EventType::kJobFinished;
      e.verdict = FromProto(in.job_finished().verdict());
      e.reason = in.job_finished().reason();
      e.duration_seconds = in.job_finished().duration_seconds();
      e.bug = BugVerdictFromString(in.job_finished().bug());  // unknown text: none
      break;
    case v1::JobEvent::kLog:
    default:
      e.type = EventType::kLog;
      e.level = in.log().level();
      e.text = in.log().text();
      break;
  }
  return e;
}

v1::VmTarget ToProto(const VmTarget& target) {
  v1::VmTarget out;
  out.set_name(target.name);
  out.set_provider(std::string(ToString(target.provider)));
  out.set_vmid(target.vmid);
  out.set_vnc_address(target.vnc_address);
  out.set_vnc_password(target.vnc_password);
  out.set_ssh_address(target.ssh_address);
  out.set_ssh_user(target.ssh_user);
  out.set_ssh_key_path(target.ssh_key_path);
  out.set_host_key_fingerprint(target.host_key_fingerprint);
  out.set_os_type(std::string(ToString(target.os_type)));
  out.set_x11_preamble(target.x11);
  for (const std::string& arg : target.app_command) out.add_app_command(arg);
  for (const auto& [k, v] : target.app_env) (*out.mutable_app_env())[k] = v;
  out.set_width(target.width);
  out.set_height(target.height);
  return out;
}

absl::StatusOr<VmTarget> FromProto(const v1::VmTarget& vm) {
  VmTarget target;
  target.name = vm.name();
  if (vm.provider() == "local") {
    target.provider = VmProvider::kLocal;
  } else if (vm.provider() == "proxmox") {
    target.provider = VmProvider::kProxmox;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("vm.provider: unknown provider \"", vm.provider(), "\""));
  }
  target.vmid = vm.vmid();
  target.vnc_address = vm.vnc_address();
  target.vnc_password = vm.vnc_password();
  target.ssh_address = vm.ssh_address();
  target.ssh_user = vm.ssh_user();
  target.ssh_key_path = vm.ssh_key_path();
  target.host_key_fingerprint = vm.host_key_fingerprint();
  if (vm.os_type() == "windows") {
    target.os_type = OsType::kWindows;
  } else if (vm.os_type() == "linux" || vm.os_type().empty()) {
    target.os_type = OsType::kLinux;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("vm.os_type: unknown OS type \"", vm.os_type(), "\""));
  }
  target.x11 = vm.x11_preamble();
  target.app_command.assign(vm.app_command().begin(), vm.app_command().end());
  target.app_env.insert(vm.app_env().begin(), vm.app_env().end());
  // 0 = unset (a remote VM's size comes from its VNC server).
  if (vm.width() != 0) target.width = vm.width();
  if (vm.height() != 0) target.height = vm.height();
  if (target.width < 1 || target.height < 1 || target.width > 16384 || target.height > 16384) {
    return absl::InvalidArgumentError("vm: width and height must be 1..16384");
  }
  return target;
}

namespace {

v1::PlannedCommand CommandToProto(const PlannedCommand& in) {
  v1::PlannedCommand out;
  out.set_step(in.step);
  out.set_command(in.command);
  out.set_may_fail(in.may_fail);
  out.set_as_written(in.as_written);
  return out;
}

PlannedCommand CommandFromProto(const v1::PlannedCommand& in) {
  return {.step = in.step(),
          .command = in.command(),
          .may_fail = in.may_fail(),
          .as_written = in.as_written()};
}

v1::VerifyChecks VerifyToProto(const VerifyConfig& in) {
  v1::VerifyChecks out;
  out.set_asar(in.asar);
  for (const std::string& symbol : in.symbols) out.add_symbols(symbol);
  for (const AsarFileCheck& file : in.asar_files) {
    v1::AsarFileCheck* f = out.add_asar_files();
    f->set_path(file.path);
    for (const std::string& text : file.strings) f->add_strings(text);
  }
  for (const BinaryCheck& binary : in.binaries) {
    v1::BinaryCheck* b = out.add_binaries();
    b->set_path(binary.path);
    for (const std::string& name : binary.exports) b->add_exports(name);
    for (const std::string& text : binary.strings) b->add_strings(text);
  }
  return out;
}

VerifyConfig VerifyFromProto(const v1::VerifyChecks& in) {
  VerifyConfig out;
  out.asar = in.asar();
  out.symbols.assign(in.symbols().begin(), in.symbols().end());
  for (const v1::AsarFileCheck& f : in.asar_files()) {
    out.asar_files.push_back({f.path(), {f.strings().begin(), f.strings().end()}});
  }
  for (const v1::BinaryCheck& b : in.binaries()) {
    out.binaries.push_back({b.path(),
                            {b.exports().begin(), b.exports().end()},
                            {b.strings().begin(), b.strings().end()}});
  }
  return out;
}

v1::DeployPlan DeployToProto(const DeployPlan& plan) {
  v1::DeployPlan out;
  if (!plan.contents.empty()) *out.mutable_contents() = VerifyToProto(plan.contents);
  for (const PackageInstallPlan& in : plan.packages) {
    v1::PackageInstall* p = out.add_packages();
    p->set_label(in.label);
    p->set_format(std::string(ToString(in.format)));
    p->set_sha256(in.sha256);
    p->set_remote_path(in.remote_path);
    p->set_privileged(in.privileged);
    for (const std::string& tool : in.required_tools) p->add_required_tools(tool);
    if (in.remove) *p->mutable_remove() = CommandToProto(*in.remove);
    for (const InstallerChoice& choice : in.installers) {
      v1::InstallerChoice* c = p->add_installers();
      c->set_tool(choice.tool);
      *c->mutable_install() = CommandToProto(choice.install);
    }
    for (const PlannedCommand& verify : in.verify) *p->add_verify() = CommandToProto(verify);
    if (in.cleanup) *p->mutable_cleanup() = CommandToProto(*in.cleanup);
    if (in.undo) *p->mutable_undo() = CommandToProto(*in.undo);
    if (in.list_files) *p->mutable_list_files() = CommandToProto(*in.list_files);
  }
  return out;
}

// The plan must only upload the job's own packages and have a way to install each.
absl::StatusOr<DeployPlan> DeployFromProto(const v1::DeployPlan& in, const std::string& vm,
                                           const std::vector<ArtifactRef>& packages) {
  DeployPlan plan;
  plan.vm = vm;
  for (const v1::PackageInstall& p : in.packages()) {
    PackageInstallPlan out;
    out.label = p.label();
    bool known = false;
    for (PackageFormat format :
         {PackageFormat::kDeb, PackageFormat::kRpm, PackageFormat::kPacman,
          PackageFormat::kAppImage, PackageFormat::kSnap, PackageFormat::kFlatpak,
          PackageFormat::kMsi, PackageFormat::kExe, PackageFormat::kTar}) {
      if (ToString(format) == p.format()) {
        out.format = format;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("job.deploy: ", p.label(), ": unknown format \"", p.format(), "\""));
    }
    if (!p.sha256().empty() &&
        std::none_of(packages.begin(), packages.end(),
                     [&](const ArtifactRef& ref) { return ref.sha256 == p.sha256(); })) {
      return absl::InvalidArgumentError(absl::StrCat("job.deploy: ", p.label(), ": uploads ",
                                                     p.sha256(), ", which is not a job package"));
    }
    if (p.installers().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job.deploy: ", p.label(), ": no install command"));
    }
    out.sha256 = p.sha256();
    out.remote_path = p.remote_path();
    out.privileged = p.privileged();
    out.required_tools.assign(p.required_tools().begin(), p.required_tools().end());
    if (p.has_remove()) out.remove = CommandFromProto(p.remove());
    for (const v1::InstallerChoice& c : p.installers()) {
      out.installers.push_back({c.tool(), CommandFromProto(c.install())});
    }
    for (const v1::PlannedCommand& v : p.verify()) out.verify.push_back(CommandFromProto(v));
    if (p.has_cleanup()) out.cleanup = CommandFromProto(p.cleanup());
    if (p.has_undo()) out.undo = CommandFromProto(p.undo());
    if (p.has_list_files()) out.list_files = CommandFromProto(p.list_files());
    plan.packages.push_back(std::move(out));
  }
  if (in.has_contents()) plan.contents = VerifyFromProto(in.contents());
  return plan;
}

}  // namespace

v1::ArtifactRef ToProto(const ArtifactRef& ref) {
  v1::ArtifactRef out;
  out.set_name(ref.name);
  out.set_sha256(ref.sha256);
  out.set_size(ref.size);
  return out;
}

ArtifactRef FromProto(const v1::ArtifactRef& ref) {
  return {.name = ref.name(), .sha256 = ref.sha256(), .size = ref.size()};
}

v1::Job ToProto(const JobSpec& job) {
  v1::Job out;
  out.set_job_id(job.job_id);
  out.set_run_id(job.run_id);
  out.set_test(job.test);
  *out.mutable_vm() = ToProto(job.vm);
  out.set_scenario_path(job.scenario_path);
  for (const auto& [path, contents] : job.files) (*out.mutable_files())[path] = contents;
  for (const auto& [name, value] : job.vars) (*out.mutable_vars())[name] = ValueToJson(value);
  for (const auto& [name, value] : job.secrets) (*out.mutable_secrets())[name] = value;
  out.set_screenshots(std::string(ToString(job.screenshots)));
  if (job.park) {
    out.set_park_cursor(true);
    out.mutable_park_at()->set_x(job.park->x);
    out.mutable_park_at()->set_y(job.park->y);
  }
  out.set_timeout_seconds(job.timeout_seconds);
  for (const std::string& note : job.provision_notes) out.add_provision_notes(note);
  for (const ArtifactRef& package : job.packages) *out.add_packages() = ToProto(package);
  if (job.deploy) *out.mutable_deploy() = DeployToProto(*job.deploy);
  out.set_variant(job.variant);
  out.set_install_only(job.install_only);
  out.set_pause_on_failure(job.pause_on_failure);
  out.set_record_fps(job.record_fps);
  if (job.smoke) {
    v1::SmokeTest* smoke = out.mutable_smoke();
    smoke->set_variant(std::string(ToString(job.smoke->variant)));
    smoke->set_binary(job.smoke->binary);
    for (const std::string& arg : job.smoke->args) smoke->add_args(arg);
    for (const auto& [name, value] : job.smoke->env) (*smoke->mutable_env())[name] = value;
    smoke->set_timeout_seconds(job.smoke->timeout_seconds);
    for (const auto& [code, verdict] : job.smoke->exit_codes) {
      (*smoke->mutable_exit_codes())[code] = std::string(ToString(verdict));
    }
  }
  return out;
}

namespace {

absl::StatusOr<SmokeSpec> SmokeFromProto(const v1::SmokeTest& in) {
  SmokeSpec spec;
  if (!SmokeVariantFromString(in.variant(), &spec.variant)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job.smoke.variant: unknown variant \"", in.variant(), "\""));
  }
  spec.binary = in.binary();
  if (spec.binary.empty()) return absl::InvalidArgumentError("job.smoke.binary is empty");
  spec.args.assign(in.args().begin(), in.args().end());
  spec.env.insert(in.env().begin(), in.env().end());
  spec.timeout_seconds = in.timeout_seconds();
  if (spec.timeout_seconds < 1) {
    return absl::InvalidArgumentError("job.smoke.timeout_seconds must be at least 1");
  }
  spec.exit_codes.clear();
  for (const auto& [code, text] : in.exit_codes()) {
    Verdict verdict;
    if (code < 0 || code > 255 || !VerdictFromString(text, &verdict)) {
      return absl::InvalidArgumentError(
          absl::StrCat("job.smoke.exit_codes: bad entry ", code, " = \"", text, "\""));
    }
    spec.exit_codes[code] = verdict;
  }
  return spec;
}

}  // namespace

absl::StatusOr<JobSpec> FromProto(const v1::Job& in) {
  JobSpec job;
  job.job_id = in.job_id();
  job.run_id = in.run_id();
  job.test = in.test();
  if (job.job_id.empty()) return absl::InvalidArgumentError("job.job_id is empty");
  absl::StatusOr<VmTarget> vm = FromProto(in.vm());
  if (!vm.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("job.", vm.status().message()));
  }
  job.vm = std::move(*vm);
  job.scenario_path = in.scenario_path();
  job.files.insert(in.files().begin(), in.files().end());
  job.variant = in.variant();
  job.install_only = in.install_only();
  job.pause_on_failure = in.pause_on_failure();
  job.record_fps = in.record_fps();
  if (job.install_only && (!in.has_deploy() || in.deploy().packages().empty())) {
    return absl::InvalidArgumentError("job.install_only without packages to install");
  }
  if (in.has_smoke()) {
    absl::StatusOr<SmokeSpec> smoke = SmokeFromProto(in.smoke());
    if (!smoke.ok()) return smoke.status();
    job.smoke = std::move(*smoke);
  } else if (!job.install_only && job.files.find(job.scenario_path) == job.files.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job.files does not contain the scenario \"", job.scenario_path, "\""));
  }
  for (const auto& [name, text] : in.vars()) {
    absl::StatusOr<Value> value = ValueFromJson(text);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job.vars[\"", name, "\"]: ", value.status().message()));
    }
    job.vars[name] = *value;
  }
  job.secrets.insert(in.secrets().begin(), in.secrets().end());
  if (in.screenshots() == "failures") {
    job.screenshots = ScreenshotPolicy::kFailures;
  } else if (in.screenshots() == "none") {
    job.screenshots = ScreenshotPolicy::kNone;
  }
  if (in.park_cursor()) job.park = CursorPark{in.park_at().x(), in.park_at().y()};
  job.timeout_seconds = in.timeout_seconds();
  job.provision_notes.assign(in.provision_notes().begin(), in.provision_notes().end());
  for (const v1::ArtifactRef& package : in.packages()) job.packages.push_back(FromProto(package));
  if (in.has_deploy()) {
    absl::StatusOr<DeployPlan> deploy = DeployFromProto(in.deploy(), job.vm.name, job.packages);
    if (!deploy.ok()) return deploy.status();
    job.deploy = std::move(*deploy);
  }
  return job;
}

}  // namespace mosdat
