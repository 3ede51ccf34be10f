// The trace viewer: one job attempt's evidence as one HTML page that needs no server
// and no network — a timeline of its steps, then each step with the frame before and
// after it, the pointer inputs it sent drawn on them, the locator candidates it
// considered (boxes and scores, by source: AT-SPI, OCR, visual, VLM), its command
// output, the questions it put to the VLM with their answers, and the job's log.
#ifndef MOSDAT_REPORT_TRACE_HTML_H_
#define MOSDAT_REPORT_TRACE_HTML_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "report/job_evidence.h"

namespace mosdat {

struct TraceOptions {
  // true: every frame is inside the page (data: URLs), so the one file can travel
  // (attached to a bug report); false: frames are linked by name, for a page that
  // stays beside them in the result directory.
  bool inline_images = false;
  // Inlined frames stop at this many bytes in all; later ones are linked instead.
  size_t max_inline_bytes = 256u << 20;
};

std::string TraceHtml(const JobEvidence& job, const TraceOptions& options = {});

// Reads the evidence in `dir` and writes `out` (through a temporary file, renamed).
absl::Status WriteTraceHtml(const std::string& dir, const std::string& out,
                            const TraceOptions& options = {});

}  // namespace mosdat

#endif  // MOSDAT_REPORT_TRACE_HTML_H_
