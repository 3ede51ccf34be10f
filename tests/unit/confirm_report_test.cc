// mosdat confirm's gRPC-free parts: issue references, the observed environment, and the
// report of a series of attempts.
#include "confirm/confirm_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "confirm/issue_ref.h"
#include "core/observed_environment.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

TEST(IssueRefTest, TheTwoWaysToNameAnIssue) {
  absl::StatusOr<IssueRef> short_form = ParseIssueRef("RocketChat/Rocket.Chat.Electron#3308");
  ASSERT_TRUE(short_form.ok()) << short_form.status();
  EXPECT_EQ(short_form->owner, "RocketChat");
  EXPECT_EQ(short_form->repo, "Rocket.Chat.Electron");
  EXPECT_EQ(short_form->number, 3308);
  absl::StatusOr<IssueRef> url =
      ParseIssueRef("https://github.com/acme/notes/issues/7#issuecomment-1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->ToString(), "acme/notes#7");
  for (const char* bad : {"7", "#7", "acme#7", "acme/notes#", "acme/notes#-1", "acme/notes#0x7",
                          "a b/notes#7", "../x#7", "https://github.com/acme/notes/tree/7",
                          "https://example.org/acme/notes/issues/7", "acme/notes#99999999999"}) {
    absl::StatusOr<IssueRef> ref = ParseIssueRef(bad);
    EXPECT_FALSE(ref.ok()) << bad;
    EXPECT_THAT(std::string(ref.status().message()), HasSubstr("owner/repo#NUMBER")) << bad;
  }
}

TEST(ObservedEnvironmentTest, ReadsTheProbeAndSurvivesItsLogLine) {
  ObservedEnvironment e = ParseEnvironmentProbe(
      "os=Fedora Linux 41 (Workstation Edition)\nkernel=6.11\nsession=wayland\ndisplay=wayland\n"
      "renderer=llvmpipe (LLVM 19.1.0, 256 bits)\ngpu=Red Hat, Inc. Virtio 1.0 GPU\n"
      "app_version=4.1.2-1\nnoise\nunknown=x\n");
  EXPECT_EQ(e.os, "Fedora Linux 41 (Workstation Edition)");
  EXPECT_EQ(e.display_server, "wayland");
  EXPECT_EQ(e.renderer, "llvmpipe (LLVM 19.1.0, 256 bits)");
  EXPECT_EQ(e.app_version, "4.1.2-1");
  EXPECT_EQ(EnvironmentFromLogText(EnvironmentLogText(e)), e);
  EXPECT_EQ(DescribeEnvironment(e),
            "Fedora Linux 41 (Workstation Edition), Wayland, renderer llvmpipe (LLVM 19.1.0, 256 "
            "bits), GPU Red Hat, Inc. Virtio 1.0 GPU, app 4.1.2-1");
  // Untrusted output: an unknown display is dropped, a long value is cut.
  ObservedEnvironment odd = ParseEnvironmentProbe("display=mir\nos=" + std::string(5000, 'x'));
  EXPECT_EQ(odd.display_server, "");
  EXPECT_EQ(odd.os.size(), 200u);
  EXPECT_EQ(EnvironmentFromLogText("something else"), std::nullopt);
  EXPECT_EQ(EnvironmentFromLogText(std::string(kEnvironmentLogPrefix) + "[1]"), std::nullopt);
}

TEST(ConfirmReportTest, GroupsPerVmAndSaysWhatCounted) {
  ConfirmResult result{.ref = {"acme", "notes", 7},
                       .mode = ConfirmMode::kConfirm,
                       .scenario_path = "/s/7.yaml",
                       .iterations = 2};
  result.what_ran = "as installed on each VM";
  result.run_id = "r1";
  Summarize({{.vm = "fedora",
              .iteration = 2,
              .verdict = BugVerdict::kReproduced,
              .reason = "bug reproduced: the bug showed"},
             {.vm = "ubuntu", .iteration = 1, .verdict = BugVerdict::kNotReproduced},
             {.vm = "fedora", .iteration = 1, .verdict = BugVerdict::kReproduced},
             {.vm = "ubuntu",
              .iteration = 2,
              .verdict = BugVerdict::kPreconditionNotMet,
              .reason = "precondition not met: | pipes | and\nnewlines"}},
            &result);
  ASSERT_EQ(result.vms.size(), 2u);
  EXPECT_EQ(result.vms[0].vm, "fedora");
  EXPECT_EQ(result.vms[0].iterations[0].iteration, 1);  // in iteration order
  EXPECT_EQ(result.vms[0].verdict, BugAggregate::kConfirmed);
  EXPECT_EQ(result.vms[1].verdict, BugAggregate::kNotReproduced);  // 1 of 2 counted: half
  EXPECT_EQ(result.verdict, BugAggregate::kConfirmed);
  EXPECT_EQ(result.all.Rate(), "2/3");
  const std::string report = ReportMarkdown(result);
  EXPECT_THAT(report, HasSubstr("**CONFIRMED (2/3 reproduced)** — mode `confirm`"));
  EXPECT_THAT(report, HasSubstr("precondition not met: \\| pipes \\| and newlines"));
  EXPECT_THAT(report, HasSubstr("not observed"));
  const std::string comment = CommentMarkdown(result);
  EXPECT_THAT(comment, HasSubstr("### mosdat: CONFIRMED (2/3 reproduced)"));
  EXPECT_THAT(comment,
              HasSubstr("| fedora | not observed (no SSH into the VM, or the probe failed) | "
                        "CONFIRMED (2/2 reproduced); 2 reproduced, 0 not reproduced |"));
  nlohmann::json summary = SummaryJson(result, 0);
  EXPECT_EQ(summary["vms"][1]["counts"]["precondition_not_met"], 1);
  EXPECT_EQ(summary["issue"]["number"], 7);
}

}  // namespace
}  // namespace mosdat
