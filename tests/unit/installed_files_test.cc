// WantedInListing: a package listing from the VM (untrusted) becomes the files the
// [verify] checks read, relative to the listing's root.
#include "vnc-agent/steps/installed_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mosdat {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

VerifyConfig Checks() {
  VerifyConfig verify;
  verify.symbols = {"isTelephonyEnabled"};
  verify.binaries = {{"opt/App/app", {}, {"Electron"}}};
  return verify;
}

std::vector<std::string> Relative(const std::vector<ListedFile>& files) {
  std::vector<std::string> out;
  for (const ListedFile& f : files) out.push_back(f.relative_path);
  return out;
}

TEST(InstalledFilesTest, APackageListingKeepsTheFilesTheChecksRead) {
  absl::StatusOr<std::vector<ListedFile>> wanted = WantedInListing(
      "/\n/opt/App/app\n/opt/App/resources/app.asar\n/opt/App/resources/app.asar.unpacked/"
      "native/a.node\n/opt/App/LICENSE\n/usr/share/doc/app/copyright\n",
      Checks());
  ASSERT_TRUE(wanted.ok()) << wanted.status();
  EXPECT_THAT(Relative(*wanted), ElementsAre("opt/App/app", "opt/App/resources/app.asar",
                                             "opt/App/resources/app.asar.unpacked/native/a.node"));
  EXPECT_EQ((*wanted)[1].remote_path, "/opt/App/resources/app.asar");
}

TEST(InstalledFilesTest, AnUnpackedTarballIsRelativeToItsDirectory) {
  VerifyConfig verify;
  verify.asar = "resources/app.asar";
  verify.symbols = {"x"};
  absl::StatusOr<std::vector<ListedFile>> wanted = WantedInListing(
      "/opt/app\n/opt/app/resources/app.asar\n/opt/application/resources/app.asar\n", verify);
  ASSERT_TRUE(wanted.ok()) << wanted.status();
  // /opt/application is not under /opt/app/: not the package's.
  EXPECT_THAT(*wanted, ElementsAre(Field(&ListedFile::relative_path, "resources/app.asar")));
}

TEST(InstalledFilesTest, WhatTheVmMakesUpIsIgnoredOrRefused) {
  absl::StatusOr<std::vector<ListedFile>> escaping = WantedInListing(
      "/opt/app\n/opt/app/../../etc/shadow\n/opt/app/./resources/../resources/app.asar\n"
      "relative/app.asar\n\n",
      Checks());
  ASSERT_TRUE(escaping.ok()) << escaping.status();
  EXPECT_THAT(Relative(*escaping), ::testing::IsEmpty());

  for (const char* listing : {"", "\n\n", "opt/app\n/opt/app/app.asar\n", "sh: dpkg: not found"}) {
    absl::StatusOr<std::vector<ListedFile>> bad = WantedInListing(listing, Checks());
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << listing;
  }
}

}  // namespace
}  // namespace mosdat
