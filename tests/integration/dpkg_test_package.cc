#include "tests/integration/dpkg_test_package.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;

RunResult Run(const std::vector<std::string>& argv) {
  return RunCommand(argv, {}, std::chrono::seconds(180));
}

void WriteExecutable(const std::string& path, const std::string& contents) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << contents;
  chmod(path.c_str(), 0755);
}

}  // namespace

DpkgTestPackage::DpkgTestPackage(const std::string& prefix) {
  EXPECT_EQ(geteuid(), 0u) << "this test installs packages into this machine: run as root";
  lock_fd_ = open("/tmp/mosdat-dpkg-tests.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  EXPECT_GE(lock_fd_, 0);
  if (lock_fd_ >= 0) {
    EXPECT_EQ(flock(lock_fd_, LOCK_EX), 0);
  }
  std::random_device device;
  name_ = absl::StrCat(prefix, "-", absl::Hex(device(), absl::kZeroPad8),
                       absl::Hex(device(), absl::kZeroPad8));
}

DpkgTestPackage::~DpkgTestPackage() {
  // apt-get waits for dpkg's lock, which the product (or a test beside this one) may hold.
  Run({"apt-get", "-o", "DPkg::Lock::Timeout=120", "purge", "-y", name_});
  std::error_code error;
  fs::remove_all(absl::StrCat("/opt/", name_), error);
  for (const auto& entry : fs::directory_iterator("/tmp", error)) {
    if (entry.path().filename().string().rfind(name_, 0) == 0) fs::remove(entry.path(), error);
  }
  EXPECT_FALSE(Installed()) << name_ << " is still installed";
  if (lock_fd_ >= 0) close(lock_fd_);
}

bool DpkgTestPackage::Installed() const {
  RunResult r = Run({"dpkg-query", "-W", "-f=${Status}", name_});
  return r.exit_code == 0 && r.out == "install ok installed";
}

std::string DpkgTestPackage::BuildDeb(const std::string& dir, const std::string& version,
                                      const std::map<std::string, std::string>& files,
                                      const std::string& postinst) const {
  const std::string root = absl::StrCat(dir, "/pkg-", name_, "-", version);
  fs::create_directories(root + "/DEBIAN");
  std::ofstream(root + "/DEBIAN/control")
      << "Package: " << name_ << "\nVersion: " << version
      << "\nArchitecture: all\nMaintainer: mOSdat tests <tests@mosdat.invalid>\n"
         "Description: mOSdat deploy test fixture, safe to remove\n";
  if (!postinst.empty()) WriteExecutable(root + "/DEBIAN/postinst", postinst);
  for (const auto& [path, contents] : files) WriteExecutable(root + path, contents);
  const std::string deb = absl::StrCat(dir, "/", name_, "_", version, "_all.deb");
  RunResult built = Run({"dpkg-deb", "--root-owner-group", "--build", root, deb});
  EXPECT_EQ(built.exit_code, 0) << built.err;
  return built.exit_code == 0 ? deb : "";
}

}  // namespace mosdat::testing
