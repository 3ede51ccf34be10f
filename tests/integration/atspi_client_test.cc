// AtspiClient against the real helper — the copy embedded in the agent binary — on a
// real GTK3 app in a local desktop session.
#include "vnc-agent/guest/atspi_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/local_line_process.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/guest/guest_helper.h"
#include "vnc-agent/local/local_desktop.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GuestHelperTest, TheEmbeddedHelperIsTheGuestFileByteForByte) {
  std::ifstream in(SourcePath("guest/mosdat_atspi_helper.py"), std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(std::string(AtspiHelperSource()), file.str());
}

// gtk3-widget-factory on a real desktop, with the embedded helper as a local child.
class AtspiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
        LocalDesktop::Start({.app_command = {"gtk3-widget-factory"}});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
    std::ofstream(dir_.File("helper.py"), std::ios::binary) << AtspiHelperSource();
    absl::StatusOr<std::unique_ptr<LocalLineProcess>> helper =
        LocalLineProcess::Start({"/usr/bin/python3", dir_.File("helper.py")},
                                desktop_->session_env(), dir_.File("helper.log"));
    ASSERT_TRUE(helper.ok()) << helper.status();
    helper_ = std::move(*helper);
    client_ = std::make_unique<AtspiClient>(*helper_);
    absl::StatusOr<std::optional<AccessibleObject>> window =
        client_->WaitFor({.role = "frame", .app = "gtk3-widget-factory"}, /*exists=*/true,
                         absl::Seconds(30), absl::Milliseconds(100));
    ASSERT_TRUE(window.ok()) << window.status();
    ASSERT_TRUE(window->has_value());
  }

  TempDir dir_;
  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<LocalLineProcess> helper_;
  std::unique_ptr<AtspiClient> client_;
};

TEST_F(AtspiClientTest, FindsClicksAndWaitsOnARealGtk3App) {
  AtspiClient& client = *client_;

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

// The helper's error codes become statuses the runner classifies: what the app did (a
// missing, hidden or unchecked widget) fails the test; what broke in the rig (the
// accessibility bus, a helper that cannot say why) is an infrastructure error.
TEST_F(AtspiClientTest, HelperErrorsAreTestFailuresOrInfrastructureErrorsByTheirCode) {
  AtspiClient& client = *client_;

  // Found, but in another state: the message names the widget and its states, and does
  // not offer the same widget as a "near match" of itself.
  absl::StatusOr<AccessibleObject> unchecked = client.Find(
      {.role = "toggle button", .name = "togglebutton", .index = 0, .states = {"checked"}},
      absl::Seconds(10));
  ASSERT_FALSE(unchecked.ok());
  EXPECT_EQ(unchecked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(unchecked.status().message()),
              HasSubstr("toggle button \"togglebutton\" found in gtk3-widget-factory, but not "
                        "[checked]: its states are [enabled, focusable,"));
  EXPECT_THAT(std::string(unchecked.status().message()), Not(HasSubstr("near matches")));

  // There, but on a page that is not shown.
  absl::StatusOr<AccessibleObject> hidden = client.Find(
      {.role = "push button", .name = "Get Busy", .states = {"showing"}}, absl::Seconds(10));
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(hidden.status().message()),
              HasSubstr("push button \"Get Busy\" exists in gtk3-widget-factory but is not "
                        "[showing]"));

  // A helper that cannot reach the accessibility bus: the rig is broken, not the app.
  Environment no_bus = desktop_->session_env();
  no_bus["AT_SPI_BUS_ADDRESS"] = "unix:path=" + dir_.File("no-such-bus");
  absl::StatusOr<std::unique_ptr<LocalLineProcess>> cut_off = LocalLineProcess::Start(
      {"/usr/bin/python3", dir_.File("helper.py")}, no_bus, dir_.File("cut-off.log"));
  ASSERT_TRUE(cut_off.ok()) << cut_off.status();
  AtspiClient cut_off_client(**cut_off);
  absl::StatusOr<AccessibleObject> unreachable =
      cut_off_client.Find({.role = "frame"}, absl::Seconds(10));
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable) << unreachable.status();
  EXPECT_THAT(std::string(unreachable.status().message()),
              HasSubstr("cannot reach the accessibility bus"));

  // An older helper answers without a code: it cannot say whose fault it was, so it is
  // not blamed on the app.
  absl::StatusOr<std::unique_ptr<LocalLineProcess>> old_helper = LocalLineProcess::Start(
      {"/usr/bin/python3", "-c",
       "import json, sys\n"
       "for line in sys.stdin:\n"
       "    print(json.dumps({'id': json.loads(line)['id'], 'ok': False, 'error': 'boom'}), "
       "flush=True)\n"},
      desktop_->session_env(), dir_.File("old.log"));
  ASSERT_TRUE(old_helper.ok()) << old_helper.status();
  AtspiClient old_client(**old_helper);
  absl::StatusOr<AccessibleObject> uncoded = old_client.Find({.role = "frame"}, absl::Seconds(10));
  ASSERT_FALSE(uncoded.ok());
  EXPECT_EQ(uncoded.status().code(), absl::StatusCode::kInternal) << uncoded.status();
  EXPECT_THAT(std::string(uncoded.status().message()), HasSubstr("boom"));
}

}  // namespace
}  // namespace mosdat::testing
