// The result of `mosdat doctor`: per VM, an ordered checklist. Each check passed (what
// was seen), failed (what was seen, and a fix a user can act on), or was skipped (why:
// an earlier check it depends on failed, or it does not apply now). Skips are not
// failures; the report is ok when no check failed. Never holds a secret: only
// references such as env:NAME.
#ifndef MOSDAT_CLI_DOCTOR_REPORT_H_
#define MOSDAT_CLI_DOCTOR_REPORT_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace mosdat {

struct DoctorCheck {
  enum class State { kPassed, kFailed, kSkipped };
  std::string name;  // stable id: "api", "tls", "auth", "ssh", ...
  State state = State::kPassed;
  std::string detail;  // what was seen; for a skip, why it was skipped
  std::string fix;     // failed checks: what to do
};

// One VM's checklist, built in order.
class DoctorChecklist {
 public:
  explicit DoctorChecklist(std::string vm_name, std::string target = "")
      : vm_name_(std::move(vm_name)), target_(std::move(target)) {}

  void Pass(std::string_view name, std::string detail);
  void Fail(std::string_view name, std::string detail, std::string fix);
  void Skip(std::string_view name, std::string reason);

  // The check added last under `name`, or nullptr.
  DoctorCheck* Find(std::string_view name);
  bool Passed(std::string_view name);

  const std::string& vm_name() const { return vm_name_; }
  // For humans: "proxmox 127.0.0.1:8006", "local".
  const std::string& target() const { return target_; }
  const std::vector<DoctorCheck>& checks() const { return checks_; }
  bool ok() const;

 private:
  std::string vm_name_;
  std::string target_;
  std::vector<DoctorCheck> checks_;
};

// {"vms":[{"name":..,"target":..,"ok":..,"checks":[{"name","ok","skipped","detail","fix"}]}],
//  "ok":bool}
nlohmann::json DoctorJson(const std::vector<DoctorChecklist>& vms);

// One line per check ("  ✓ name  detail"), a "fix:" line under each failure, and a
// closing summary.
void PrintDoctorReport(const std::vector<DoctorChecklist>& vms, std::ostream& out);

}  // namespace mosdat

#endif  // MOSDAT_CLI_DOCTOR_REPORT_H_
