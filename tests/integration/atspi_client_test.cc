// AtspiClient against the real helper — the copy embedded in the agent binary — on a
// real GTK3 app in a local desktop session.
#include "vnc-agent/atspi_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/subprocess.h"
#include "vnc-agent/guest_helper.h"
#include "vnc-agent/local_desktop.h"
#include "vnc-agent/local_line_process.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

TEST(GuestHelperTest, TheEmbeddedHelperIsTheGuestFileByteForByte) {
  std::ifstream in(SourcePath("guest/mosdat_atspi_helper.py"), std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(std::string(AtspiHelperSource()), file.str());
}

TEST(AtspiClientTest, FindsClicksAndWaitsOnARealGtk3App) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = {"gtk3-widget-factory"}});
  ASSERT_TRUE(desktop.ok()) << desktop.status();
  TempDir dir;
  std::ofstream(dir.File("helper.py"), std::ios::binary) << AtspiHelperSource();
  absl::StatusOr<std::unique_ptr<LocalLineProcess>> helper =
      LocalLineProcess::Start({"/usr/bin/python3", dir.File("helper.py")},
                              (*desktop)->session_env(), dir.File("helper.log"));
  ASSERT_TRUE(helper.ok()) << helper.status();
  AtspiClient client(**helper);

  AtspiQuery frame{.role = "frame", .app = "gtk3-widget-factory"};
  absl::StatusOr<std::optional<AccessibleObject>> window =
      client.WaitFor(frame, /*exists=*/true, absl::Seconds(30), absl::Milliseconds(100));
  ASSERT_TRUE(window.ok()) << window.status();
  ASSERT_TRUE(window->has_value());

  AtspiQuery toggle{
      .role = "toggle button", .name = "togglebutton", .app = "gtk3-widget-factory", .index = 0};
  absl::StatusOr<AccessibleObject> found = client.Find(toggle, absl::Seconds(10));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->role, "toggle button");
  EXPECT_TRUE(found->verified);
  EXPECT_GT(found->box.width, 0);
  EXPECT_GE(found->center.x, found->box.x);
  EXPECT_LT(found->center.x, found->box.x + found->box.width);

  ASSERT_TRUE(client.Action(toggle, "click", absl::Seconds(10)).ok());
  AtspiQuery checked = toggle;
  checked.states = {"checked"};
  absl::StatusOr<std::optional<AccessibleObject>> now_checked =
      client.WaitFor(checked, true, absl::Seconds(5), absl::Milliseconds(50));
  EXPECT_TRUE(now_checked.ok()) << now_checked.status();

  absl::StatusOr<AccessibleObject> missing =
      client.Find({.role = "push button", .name = "no such button", .app = "gtk3-widget-factory"},
                  absl::Seconds(10));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no such button"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("near matches:"));
}

}  // namespace
}  // namespace mosdat::testing
