#include "core/config.h"

namespace mosdat {

std::map<int, Verdict> DefaultExitCodes() {
  return {{0, Verdict::kPass},
          {124, Verdict::kPass},
          {139, Verdict::kFail},
          {134, Verdict::kFail},
          {6, Verdict::kFail}};
}

Verdict AppConfig::VerdictFor(int exit_code) const {
  auto it = exit_codes.find(exit_code);
  return it == exit_codes.end() ? Verdict::kUnknown : it->second;
}

std::string TestConfig::SmokeSpelling() const {
  if (variant.has_value()) return "variant = \"" + std::string(ToString(*variant)) + "\"";
  if (!script.empty()) return "script = \"" + script + "\"";
  return "";
}

const VmConfig* Config::FindVm(std::string_view name) const {
  for (const VmConfig& vm : vms) {
    if (vm.name == name) return &vm;
  }
  return nullptr;
}

const TestConfig* Config::FindTest(std::string_view name) const {
  for (const TestConfig& test : tests) {
    if (test.name == name) return &test;
  }
  return nullptr;
}

std::vector<const VmConfig*> Config::VmsFor(const TestConfig& test) const {
  std::vector<const VmConfig*> out;
  if (test.vms.empty()) {
    for (const VmConfig& vm : vms) out.push_back(&vm);
    return out;
  }
  for (const std::string& name : test.vms) {
    if (const VmConfig* vm = FindVm(name)) out.push_back(vm);
  }
  return out;
}

const ProxmoxConfig* ProxmoxHostFor(const Config& config, const VmConfig& vm) {
  if (vm.provider != VmProvider::kProxmox) return nullptr;
  if (vm.proxmox_host.empty()) return config.proxmox.has_value() ? &*config.proxmox : nullptr;
  for (const ProxmoxConfig& host : config.proxmox_hosts) {
    if (host.name == vm.proxmox_host) return &host;
  }
  return nullptr;
}

std::string_view ToString(Verdict value) {
  switch (value) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view ToString(VlmCoordinates value) {
  switch (value) {
    case VlmCoordinates::kAuto:
      return "auto";
    case VlmCoordinates::kNormalized1000:
      return "normalized_1000";
    case VlmCoordinates::kPixels:
      return "pixels";
  }
  return "auto";
}

std::string_view ToString(VmProvider value) {
  switch (value) {
    case VmProvider::kProxmox:
      return "proxmox";
    case VmProvider::kLocal:
      return "local";
  }
  return "proxmox";
}

std::string_view ToString(OsType value) {
  switch (value) {
    case OsType::kLinux:
      return "linux";
    case OsType::kWindows:
      return "windows";
  }
  return "linux";
}

std::string_view ToString(X11Mode value) {
  switch (value) {
    case X11Mode::kOff:
      return "off";
    case X11Mode::kAuto:
      return "auto";
  }
  return "off";
}

std::string_view ToString(PackageFormat value) {
  switch (value) {
    case PackageFormat::kDeb:
      return "deb";
    case PackageFormat::kRpm:
      return "rpm";
    case PackageFormat::kPacman:
      return "pacman";
    case PackageFormat::kAppImage:
      return "appimage";
    case PackageFormat::kSnap:
      return "snap";
    case PackageFormat::kFlatpak:
      return "flatpak";
    case PackageFormat::kMsi:
      return "msi";
    case PackageFormat::kExe:
      return "exe";
    case PackageFormat::kTar:
      return "tar";
  }
  return "deb";
}

std::string_view ToString(SmokeVariant value) {
  switch (value) {
    case SmokeVariant::kWaylandReal:
      return "wayland-real";
    case SmokeVariant::kWaylandFake:
      return "wayland-fake";
    case SmokeVariant::kWaylandNoDisplay:
      return "wayland-nodisp";
    case SmokeVariant::kX11:
      return "x11";
  }
  return "x11";
}

std::string_view ToString(ScreenshotPolicy value) {
  switch (value) {
    case ScreenshotPolicy::kAll:
      return "all";
    case ScreenshotPolicy::kFailures:
      return "failures";
    case ScreenshotPolicy::kNone:
      return "none";
  }
  return "all";
}

std::string_view ToString(CursorProfile value) {
  switch (value) {
    case CursorProfile::kInstant:
      return "instant";
    case CursorProfile::kLinear:
      return "linear";
    case CursorProfile::kBezier:
      return "bezier";
  }
  return "instant";
}

std::string_view ToString(VmAfterJob value) {
  switch (value) {
    case VmAfterJob::kKeep:
      return "keep";
    case VmAfterJob::kShutdown:
      return "shutdown";
    case VmAfterJob::kRollback:
      return "rollback";
  }
  return "keep";
}

std::string_view ToString(GpuMode value) {
  switch (value) {
    case GpuMode::kCompute:
      return "compute";
    case GpuMode::kPrimary:
      return "primary";
  }
  return "compute";
}

}  // namespace mosdat
