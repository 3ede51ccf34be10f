// A uniquely named fixture package that a test installs into this machine with the
// real dpkg/apt (the tests run as root). While it lives it holds the machine's dpkg
// database for this test alone (ctest runs tests side by side, and a package another
// test left half-configured on purpose would fail this one's apt-get); destroyed, it
// purges the package and removes /opt/<name> and the uploads a failed deploy left in
// /tmp — also when the test failed.
#ifndef MOSDAT_TESTS_INTEGRATION_DPKG_TEST_PACKAGE_H_
#define MOSDAT_TESTS_INTEGRATION_DPKG_TEST_PACKAGE_H_

#include <map>
#include <string>

namespace mosdat::testing {

class DpkgTestPackage {
 public:
  // Waits for the dpkg lock; names the package "<prefix>-<random hex>".
  explicit DpkgTestPackage(const std::string& prefix = "mosdat-test-fixture");
  ~DpkgTestPackage();
  DpkgTestPackage(const DpkgTestPackage&) = delete;
  DpkgTestPackage& operator=(const DpkgTestPackage&) = delete;

  const std::string& name() const { return name_; }
  // Whether dpkg has it "install ok installed".
  bool Installed() const;
  // Builds <dir>/<name>_<version>_all.deb that installs each of `files` (absolute path in
  // the package → contents, mode 0755) with dpkg-deb; "" on failure (the test fails).
  std::string BuildDeb(const std::string& dir, const std::string& version,
                       const std::map<std::string, std::string>& files,
                       const std::string& postinst = "") const;

 private:
  int lock_fd_ = -1;
  std::string name_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_DPKG_TEST_PACKAGE_H_
