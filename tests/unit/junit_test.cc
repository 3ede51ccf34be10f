// JUnit XML: one test case per executed step and per executed sub-step of an if_visible
// branch, failures and errors where the outcome says.
#include "core/junit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Event Finished(int index, const std::string& substep, const std::string& kind, StepStatus status,
               bool cleanup = false) {
  Event e = Event::Of(EventType::kStepFinished);
  e.step_index = index;
  e.substep = substep;
  e.step_kind = kind;
  e.description = "\"x\"";
  e.status = status;
  e.cleanup = cleanup;
  e.source_location = "s.yaml:1:1";
  if (status != StepStatus::kPassed) e.reason = kind + " went wrong";
  return e;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(JunitTest, EverySubStepOfABranchIsATestCaseOfItsOwn) {
  JunitJob job{.suite = "t on vm", .verdict = JobVerdict::kFail, .reason = "r"};
  job.events = {Finished(0, "", "click", StepStatus::kPassed),
                Finished(1, "", "if_visible", StepStatus::kPassed, true),
                Finished(1, "1", "key", StepStatus::kPassed, true),
                Finished(1, "2", "click", StepStatus::kFailed, true),
                Finished(1, "2.1", "type", StepStatus::kPassed, true),
                Finished(1, "10", "wait", StepStatus::kPassed, true)};
  std::string xml = JunitXml({job});
  EXPECT_EQ(Count(xml, "<testcase "), 6) << xml;
  EXPECT_THAT(xml, HasSubstr("tests=\"6\" failures=\"1\" errors=\"0\""));
  // In order: the parent, then its sub-steps by number (10 after 2.1, not before 2).
  size_t parent = xml.find("name=\"cleanup 02 if_visible");
  size_t first = xml.find("name=\"cleanup 02.1 key");
  size_t second = xml.find("name=\"cleanup 02.2 click");
  size_t nested = xml.find("name=\"cleanup 02.2.1 type");
  size_t tenth = xml.find("name=\"cleanup 02.10 wait");
  ASSERT_NE(tenth, std::string::npos) << xml;
  EXPECT_TRUE(parent < first && first < second && second < nested && nested < tenth) << xml;
  EXPECT_THAT(xml.substr(second, nested - second), HasSubstr("<failure message=\"click went"));
}

TEST(JunitTest, AConfigErrorOutsideAnyStepIsAnErrorNotAFailure) {
  JunitJob job{.suite = "t on vm", .verdict = JobVerdict::kConfigError, .reason = "bad file"};
  std::string xml = JunitXml({job});
  EXPECT_THAT(xml, HasSubstr("<error message=\"bad file\">"));
  EXPECT_THAT(xml, Not(HasSubstr("<failure")));
  JunitJob failed{.suite = "t on vm", .verdict = JobVerdict::kFail, .reason = "app crashed"};
  EXPECT_THAT(JunitXml({failed}), HasSubstr("<failure message=\"app crashed\">"));
}

}  // namespace
}  // namespace mosdat
