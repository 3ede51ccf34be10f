#include "cli/doctor_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"

namespace mosdat {

void DoctorChecklist::Pass(std::string_view name, std::string detail) {
  checks_.push_back({std::string(name), DoctorCheck::State::kPassed, std::move(detail), ""});
}

void DoctorChecklist::Fail(std::string_view name, std::string detail, std::string fix) {
  checks_.push_back(
      {std::string(name), DoctorCheck::State::kFailed, std::move(detail), std::move(fix)});
}

void DoctorChecklist::Skip(std::string_view name, std::string reason) {
  checks_.push_back({std::string(name), DoctorCheck::State::kSkipped, std::move(reason), ""});
}

DoctorCheck* DoctorChecklist::Find(std::string_view name) {
  for (auto it = checks_.rbegin(); it != checks_.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

bool DoctorChecklist::Passed(std::string_view name) {
  const DoctorCheck* check = Find(name);
  return check != nullptr && check->state == DoctorCheck::State::kPassed;
}

bool DoctorChecklist::ok() const {
  return std::none_of(checks_.begin(), checks_.end(),
                      [](const DoctorCheck& c) { return c.state == DoctorCheck::State::kFailed; });
}

nlohmann::json DoctorJson(const std::vector<DoctorChecklist>& vms) {
  nlohmann::json out_vms = nlohmann::json::array();
  bool ok = true;
  for (const DoctorChecklist& vm : vms) {
    nlohmann::json checks = nlohmann::json::array();
    for (const DoctorCheck& c : vm.checks()) {
      checks.push_back({{"name", c.name},
                        {"ok", c.state == DoctorCheck::State::kPassed},
                        {"skipped", c.state == DoctorCheck::State::kSkipped},
                        {"detail", c.detail},
                        {"fix", c.fix}});
    }
    ok = ok && vm.ok();
    out_vms.push_back(
        {{"name", vm.vm_name()}, {"target", vm.target()}, {"ok", vm.ok()}, {"checks", checks}});
  }
  return {{"vms", out_vms}, {"ok", ok}};
}

void PrintDoctorReport(const std::vector<DoctorChecklist>& vms, std::ostream& out) {
  std::vector<std::string> failed;
  for (const DoctorChecklist& vm : vms) {
    out << vm.vm_name();
    if (!vm.target().empty()) out << " (" << vm.target() << ")";
    out << "\n";
    size_t width = 0;
    for (const DoctorCheck& c : vm.checks()) width = std::max(width, c.name.size());
    for (const DoctorCheck& c : vm.checks()) {
      const char* mark = c.state == DoctorCheck::State::kPassed   ? "✓"
                         : c.state == DoctorCheck::State::kFailed ? "✗"
                                                                  : "-";
      std::string name = c.name;
      name.resize(width, ' ');
      out << "  " << mark << " " << name << "  "
          << (c.state == DoctorCheck::State::kSkipped ? "skipped: " : "") << c.detail << "\n";
      if (c.state == DoctorCheck::State::kFailed) {
        failed.push_back(absl::StrCat(vm.vm_name(), ": ", c.name));
        if (!c.fix.empty()) out << "    " << std::string(width, ' ') << "  fix: " << c.fix << "\n";
      }
    }
  }
  if (failed.empty()) {
    out << "doctor: every check passed on " << vms.size() << (vms.size() == 1 ? " VM" : " VMs")
        << "\n";
  } else {
    out << "doctor: " << failed.size() << (failed.size() == 1 ? " check" : " checks") << " failed ("
        << absl::StrJoin(failed, ", ") << ")\n";
  }
}

}  // namespace mosdat
