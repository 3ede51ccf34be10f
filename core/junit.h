// JUnit XML for one job (scenario × VM): one <testcase> per executed step and per
// executed sub-step of an if_visible branch ("04.1 ..."), named by its label or kind
// and position, with <failure> for a failed step and <error> for a config or
// infrastructure error. CI systems read this; the terminal summary is for people.
#ifndef MOSDAT_CORE_JUNIT_H_
#define MOSDAT_CORE_JUNIT_H_

#include <string>
#include <vector>

#include "core/events.h"

namespace mosdat {

struct JunitJob {
  std::string suite;  // "<test> on <vm>"
  std::vector<Event> events;  // the job's events, in order
  JobVerdict verdict = JobVerdict::kUnknown;
  std::string reason;
  double duration_seconds = 0;
};

std::string JunitXml(const std::vector<JunitJob>& jobs);

// Escapes &, <, >, " and control characters for XML text and attributes.
std::string XmlEscape(std::string_view text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_JUNIT_H_
