#include "core/junit.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/outcome.h"

namespace mosdat {

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 forbids most control characters even when escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace {

// "2.1" -> {2, 1}: sub-steps sort by number, after their parent ({}).
std::vector<int> SubstepKey(const std::string& substep) {
  if (substep.empty()) return {};
  std::vector<int> key;
  int n = 0;
  for (char c : substep + ".") {
    if (c == '.') {
      key.push_back(n);
      n = 0;
    } else if (c >= '0' && c <= '9' && n < 1000000) {
      n = n * 10 + (c - '0');
    }
  }
  return key;
}

}  // namespace

std::string JunitXml(const std::vector<JunitJob>& jobs) {
  std::string body;
  int all_tests = 0, all_failures = 0, all_errors = 0;
  double all_time = 0;
  for (const JunitJob& job : jobs) {
    // The last attempt of each step decides it; every sub-step of an if_visible branch
    // is a test case of its own, after its parent.
    std::map<std::tuple<bool, int, std::vector<int>>, const Event*> steps;
    for (const Event& e : job.events) {
      if (e.type == EventType::kStepFinished) {
        steps[{e.cleanup, e.step_index, SubstepKey(e.substep)}] = &e;
      }
    }
    int tests = 0, failures = 0, errors = 0;
    std::string cases;
    for (const auto& [key, e] : steps) {
      ++tests;
      std::string name = absl::StrFormat(
          "%s%s %s", e->cleanup ? "cleanup " : "", StepNumber(e->step_index, e->substep, true),
          e->label.empty() ? absl::StrCat(e->step_kind, " ", e->description) : e->label);
      absl::StrAppendFormat(&cases, "    <testcase classname=\"%s\" name=\"%s\" time=\"%.3f\"",
                            XmlEscape(job.suite), XmlEscape(name), e->duration_seconds);
      if (e->status == StepStatus::kPassed) {
        cases += "/>\n";
        continue;
      }
      const char* tag = e->status == StepStatus::kError ? "error" : "failure";
      if (e->status == StepStatus::kError) {
        ++errors;
      } else if (e->status == StepStatus::kFailed && e->must_pass) {
        ++failures;
      }
      if (e->status == StepStatus::kFailed && !e->must_pass) tag = "skipped";
      absl::StrAppendFormat(
          &cases, ">\n      <%s message=\"%s\">%s (%s)%s</%s>\n    </testcase>\n", tag,
          XmlEscape(e->reason), XmlEscape(e->reason), XmlEscape(e->source_location),
          e->screenshot.empty() ? "" : XmlEscape(" screenshot: " + e->screenshot), tag);
    }
    // A job that failed before or outside any step (desktop did not start, VNC refused).
    if (job.verdict != JobVerdict::kPass && failures == 0 && errors == 0) {
      ++tests;
      const bool failed = OutcomeOf(job.verdict) == Outcome::kTestFailed;
      const char* tag = failed ? "failure" : "error";
      failed ? ++failures : ++errors;
      absl::StrAppendFormat(&cases,
                            "    <testcase classname=\"%s\" name=\"job\" time=\"%.3f\">\n"
                            "      <%s message=\"%s\">%s</%s>\n    </testcase>\n",
                            XmlEscape(job.suite), job.duration_seconds, tag, XmlEscape(job.reason),
                            XmlEscape(job.reason), tag);
    }
    absl::StrAppendFormat(&body,
                          "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" "
                          "time=\"%.3f\">\n%s  </testsuite>\n",
                          XmlEscape(job.suite), tests, failures, errors, job.duration_seconds,
                          cases);
    all_tests += tests;
    all_failures += failures;
    all_errors += errors;
    all_time += job.duration_seconds;
  }
  return absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mosdat\" tests=\"%d\" "
      "failures=\"%d\" errors=\"%d\" time=\"%.3f\">\n%s</testsuites>\n",
      all_tests, all_failures, all_errors, all_time, body);
}

}  // namespace mosdat
