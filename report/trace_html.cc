#include "report/trace_html.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/file_util.h"
#include "core/junit.h"
#include "report/html_parts.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxImageBytes = 32u << 20;

// Where frames come from: linked by name, or read and inlined (bounded in all).
class Frames {
 public:
  Frames(const std::string& dir, const TraceOptions& options) : dir_(dir), options_(options) {}

  struct Source {
    std::string url;  // "" when the frame cannot be shown
    int width = 0, height = 0;
  };

  const Source& Of(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    Source source;
    const std::string path = (fs::path(dir_) / name).string();
    std::string head = ReadHead(path, 32);
    PngSize(head, &source.width, &source.height);
    if (source.width > 0 && options_.inline_images) {
      std::error_code error;
      const auto size = fs::file_size(path, error);
      if (!error && size <= kMaxImageBytes && inlined_ + size <= options_.max_inline_bytes) {
        absl::StatusOr<std::string> png = ReadFile(path);
        if (png.ok()) {
          inlined_ += png->size();
          source.url = absl::StrCat("data:image/png;base64,", absl::Base64Escape(*png));
        }
      }
    }
    if (source.width > 0 && source.url.empty()) source.url = UrlPathEscape(name);
    return cache_.emplace(name, std::move(source)).first->second;
  }

 private:
  static std::string ReadHead(const std::string& path, size_t bytes) {
    std::ifstream in(path, std::ios::binary);
    std::string head(bytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(bytes));
    head.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return head;
  }
  // The size an IHDR chunk says; 0 x 0 for anything that is not a PNG.
  static void PngSize(const std::string& head, int* width, int* height) {
    static constexpr unsigned char kSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (head.size() < 24 ||
        !std::equal(std::begin(kSignature), std::end(kSignature),
                    reinterpret_cast<const unsigned char*>(head.data())) ||
        head.compare(12, 4, "IHDR") != 0) {
      return;
    }
    auto be32 = [&](size_t at) {
      uint32_t v = 0;
      for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(head[at + i]);
      return v;
    };
    const uint32_t w = be32(16), h = be32(20);
    if (w == 0 || h == 0 || w > 32768 || h > 32768) return;
    *width = static_cast<int>(w);
    *height = static_cast<int>(h);
  }

  const std::string dir_;
  const TraceOptions options_;
  size_t inlined_ = 0;
  std::map<std::string, Source> cache_;
};

const char* SourceColor(const std::string& source) {
  if (source == "atspi") return "#2360d8";
  if (source == "ocr") return "#e08600";
  if (source == "visual") return "#8e44ad";
  if (source == "vlm") return "#16a34a";
  return "#555";
}

// A frame with what the step did drawn on it, as SVG scaled to the page.
std::string Figure(Frames& frames, const std::string& name, const std::string& caption,
                   const StepEvidence& step) {
  if (name.empty()) {
    return absl::StrCat("<figure class=\"none\"><div>no frame</div><figcaption>",
                        XmlEscape(caption), "</figcaption></figure>");
  }
  const Frames::Source& frame = frames.Of(name);
  if (frame.url.empty()) {
    return absl::StrCat("<figure class=\"none\"><div>", XmlEscape(name),
                        " is not a readable PNG</div><figcaption>", XmlEscape(caption),
                        "</figcaption></figure>");
  }
  std::string svg = absl::StrFormat(
      "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\"><image href=\"%s\" width=\"%d\" "
      "height=\"%d\"/>",
      frame.width, frame.height, XmlEscape(caption), XmlEscape(frame.url), frame.width,
      frame.height);
  const int stroke = std::max(2, frame.width / 400);
  for (const LocatorCandidate& c : step.candidates) {
    if (c.width <= 0 || c.height <= 0) continue;
    absl::StrAppendFormat(
        &svg,
        "<g class=\"candidate\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
        "stroke=\"%s\" stroke-width=\"%d\"/><text x=\"%d\" y=\"%d\" fill=\"%s\" "
        "font-size=\"%d\">%s %.2f</text></g>",
        c.x, c.y, c.width, c.height, SourceColor(c.source), stroke, c.x, std::max(12, c.y - 4),
        SourceColor(c.source), 6 * stroke + 2, XmlEscape(c.source), c.score);
  }
  for (const VlmCall& call : step.vlm_calls) {
    if (call.kind != "localize" || !call.answer) continue;
    absl::StrAppendFormat(&svg,
                          "<circle class=\"vlm-point\" cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"none\" "
                          "stroke=\"#16a34a\" stroke-width=\"%d\"/>",
                          call.x, call.y, 6 * stroke, stroke);
  }
  for (const PointerInput& p : step.pointer) {
    const int r = 5 * stroke;
    absl::StrAppendFormat(
        &svg,
        "<g class=\"pointer\"><title>%s at %d, %d</title><circle cx=\"%d\" cy=\"%d\" r=\"%d\" "
        "fill=\"none\" stroke=\"#e0245e\" stroke-width=\"%d\"/><path d=\"M%d %dh%dM%d %dv%d\" "
        "stroke=\"#e0245e\" stroke-width=\"%d\"/></g>",
        XmlEscape(p.kind), p.x, p.y, p.x, p.y, r, stroke, p.x - 2 * r, p.y, 4 * r, p.x, p.y - 2 * r,
        4 * r, stroke);
    if (p.kind == "drag") {
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e0245e\" "
                            "stroke-width=\"%d\" stroke-dasharray=\"8 6\"/>",
                            p.x, p.y, p.to_x, p.to_y, stroke);
    }
  }
  absl::StrAppend(&svg, "</svg>");
  return absl::StrCat("<figure>", svg, "<figcaption>", XmlEscape(caption), " — <a href=\"",
                      XmlEscape(frame.url.starts_with("data:") ? "" : frame.url), "\">",
                      XmlEscape(name), "</a></figcaption></figure>");
}

std::string StatusWord(const StepEvidence& step) {
  return step.finished ? std::string(ToString(step.status)) : "unfinished";
}

std::string StepTitle(const StepEvidence& step) {
  std::string what = !step.label.empty() ? step.label : step.description;
  return absl::StrCat(StepNumber(step.index, step.substep), " ", step.kind,
                      what.empty() ? "" : absl::StrCat(": ", what));
}

std::string StepSection(Frames& frames, const StepEvidence& step, int position) {
  std::string out = absl::StrFormat(
      "<section class=\"step %s\" id=\"step-%d\"><h2><span class=\"badge %s\">%s</span> %s</h2>",
      StatusWord(step), position, StatusWord(step), StatusWord(step), XmlEscape(StepTitle(step)));
  absl::StrAppendFormat(&out, "<p class=\"meta\">%.2f s%s%s%s%s</p>", step.duration_seconds,
                        step.attempt > 1 ? absl::StrCat(" · attempt ", step.attempt) : "",
                        step.cleanup ? " · cleanup" : "", step.must_pass ? "" : " · may fail",
                        step.where.empty() ? "" : absl::StrCat(" · ", XmlEscape(step.where)));
  if (!step.reason.empty()) {
    absl::StrAppend(&out, "<p class=\"reason\">", XmlEscape(step.reason), "</p>");
  }
  absl::StrAppend(&out, "<div class=\"frames\">",
                  Figure(frames, step.before, "before the step", step),
                  Figure(frames, step.after,
                         step.finished && step.status != StepStatus::kPassed ? "at the failure"
                                                                             : "after the step",
                         step),
                  "</div>");
  if (!step.pointer.empty()) {
    absl::StrAppend(&out, "<p class=\"pointer-list\">pointer: ");
    for (const PointerInput& p : step.pointer) {
      absl::StrAppendFormat(&out, "<code>%s (%d, %d)%s</code> ", XmlEscape(p.kind), p.x, p.y,
                            p.kind == "drag" ? absl::StrFormat(" → (%d, %d)", p.to_x, p.to_y) : "");
    }
    absl::StrAppend(&out, "</p>");
  }
  if (!step.candidates.empty()) {
    absl::StrAppend(&out,
                    "<table class=\"candidates\"><caption>Locator candidates</caption><tr>"
                    "<th>source</th><th>score</th><th>box</th><th>what</th></tr>");
    for (const LocatorCandidate& c : step.candidates) {
      absl::StrAppendFormat(&out,
                            "<tr><td style=\"color:%s\">%s</td><td>%.3f</td><td>%d, %d, %d × "
                            "%d</td><td>%s</td></tr>",
                            SourceColor(c.source), XmlEscape(c.source), c.score, c.x, c.y, c.width,
                            c.height, XmlEscape(c.description));
    }
    absl::StrAppend(&out, "</table>");
  }
  for (const VlmCall& call : step.vlm_calls) {
    absl::StrAppend(&out, "<div class=\"vlm\"><h3>VLM ", XmlEscape(call.kind), "</h3><p><b>Q:</b> ",
                    XmlEscape(call.prompt), "</p><p><b>A:</b> ");
    if (call.kind == "localize") {
      absl::StrAppend(&out, call.answer ? absl::StrFormat("at (%d, %d), confidence %.2f", call.x,
                                                          call.y, call.confidence)
                                        : "not found");
    } else {
      absl::StrAppend(&out, call.answer ? "yes" : "no",
                      call.reason.empty() ? "" : absl::StrCat(" — ", XmlEscape(call.reason)));
    }
    absl::StrAppend(&out, "</p><p class=\"meta\">", XmlEscape(call.model),
                    call.cache_hit ? " · from the cache" : "", "</p>");
    if (!call.screenshot.empty() && call.screenshot != step.before) {
      StepEvidence bare;
      absl::StrAppend(&out, Figure(frames, call.screenshot, "the image the model saw", bare));
    }
    absl::StrAppend(&out, "</div>");
  }
  if (step.snapshot) {
    const FailureSnapshot& s = *step.snapshot;
    absl::StrAppendFormat(&out,
                          "<details class=\"snapshot\"><summary>At the failure: %d words on the "
                          "screen, %d accessible objects</summary>",
                          static_cast<int>(s.words.size()), s.accessible_nodes);
    if (!s.words.empty()) {
      absl::StrAppend(&out,
                      "<table class=\"words\"><caption>OCR words</caption><tr><th>text</th>"
                      "<th>box</th><th>confidence</th></tr>");
      for (const ScreenWord& w : s.words) {
        absl::StrAppendFormat(&out, "<tr><td>%s</td><td>%d, %d, %d × %d</td><td>%.0f</td></tr>",
                              XmlEscape(w.text), w.x, w.y, w.width, w.height, w.confidence);
      }
      absl::StrAppend(&out, "</table>");
    }
    if (!s.ocr_error.empty()) absl::StrAppend(&out, "<p>OCR: ", XmlEscape(s.ocr_error), "</p>");
    if (!s.accessible_tree.empty()) {
      absl::StrAppend(&out, "<h3>Accessibility tree</h3><pre class=\"tree\">",
                      XmlEscape(s.accessible_tree), "</pre>");
    }
    if (!s.accessible_error.empty()) {
      absl::StrAppend(&out, "<p>Accessibility tree: ", XmlEscape(s.accessible_error), "</p>");
    }
    absl::StrAppend(&out, "</details>");
  }
  if (step.output) {
    absl::StrAppendFormat(&out,
                          "<details class=\"output\" open><summary>command: exit %d%s</summary>",
                          step.output->exit_code, step.output->timed_out ? " (timed out)" : "");
    if (!step.output->out.empty()) {
      absl::StrAppend(&out, "<pre>", XmlEscape(step.output->out), "</pre>");
    }
    if (!step.output->err.empty()) {
      absl::StrAppend(&out, "<pre class=\"stderr\">", XmlEscape(step.output->err), "</pre>");
    }
    absl::StrAppend(&out, "</details>");
  }
  absl::StrAppend(&out, "</section>\n");
  return out;
}

std::string Timeline(const JobEvidence& job) {
  double total = 0;
  for (const StepEvidence& step : job.steps) total += std::max(step.duration_seconds, 0.05);
  std::string out = "<nav class=\"timeline\" aria-label=\"timeline\">";
  int position = 0;
  for (const StepEvidence& step : job.steps) {
    ++position;
    const double share = 100.0 * std::max(step.duration_seconds, 0.05) / std::max(total, 0.05);
    absl::StrAppendFormat(&out,
                          "<a href=\"#step-%d\" class=\"%s\" style=\"flex-grow:%.3f\" "
                          "title=\"%s (%.2f s)\"></a>",
                          position, StatusWord(step), share, XmlEscape(StepTitle(step)),
                          step.duration_seconds);
  }
  absl::StrAppend(&out, "</nav>");
  return out;
}

}  // namespace

std::string TraceHtml(const JobEvidence& job, const TraceOptions& options) {
  Frames frames(job.dir, options);
  const std::string verdict = VerdictWord(job);
  const std::string test = !job.test.empty()       ? job.test
                           : !job.scenario.empty() ? fs::path(job.scenario).filename().string()
                                                   : "job";
  const std::string title =
      absl::StrCat(test, " on ", job.vm.empty() ? "?" : job.vm, " — ", verdict);
  std::string out = HtmlPageStart(title, kTraceCss);
  absl::StrAppend(&out, "<header><h1>", XmlEscape(title), "</h1><p class=\"meta\">",
                  XmlEscape(job.job_id));
  if (job.started_ms > 0) {
    absl::StrAppend(&out, " · started ", XmlEscape(FormatUnixMs(job.started_ms)));
  }
  if (job.finished_ms > job.started_ms && job.started_ms > 0) {
    absl::StrAppendFormat(&out, " · %.1f s", (job.finished_ms - job.started_ms) / 1000.0);
  }
  absl::StrAppendFormat(&out, " · %d steps</p>", static_cast<int>(job.steps.size()));
  if (!job.reason.empty()) {
    absl::StrAppend(&out, "<p class=\"reason ", verdict, "\">", XmlEscape(job.reason), "</p>");
  }
  absl::StrAppend(&out, Timeline(job), "</header><main>");
  // A recorded job (--record): the video beside the page, and its key moments.
  std::error_code error;
  if (fs::is_regular_file(fs::path(job.dir) / kRecordingFile, error)) {
    absl::StrAppend(&out, "<section class=\"recording\"><h2>Recording</h2><video controls src=\"",
                    kRecordingFile, "\" style=\"max-width:100%\"></video>");
    if (fs::is_regular_file(fs::path(job.dir) / kRecordingStripFile, error)) {
      absl::StrAppend(&out, "<p><img alt=\"the screen after each step\" src=\"",
                      kRecordingStripFile, "\" style=\"max-width:100%\"></p>");
    }
    absl::StrAppend(&out, "</section>");
  }
  int position = 0;
  for (const StepEvidence& step : job.steps) {
    absl::StrAppend(&out, StepSection(frames, step, ++position));
  }
  if (!job.logs.empty()) {
    absl::StrAppend(&out, "<section class=\"log\"><h2>Log</h2><pre>");
    for (const Event& line : job.logs) {
      absl::StrAppend(
          &out,
          XmlEscape(absl::StrCat(FormatUnixMs(line.unix_ms), " ", line.level, " ", line.text)),
          "\n");
    }
    absl::StrAppend(&out, "</pre></section>");
  }
  if (!job.skipped.empty()) {
    absl::StrAppend(&out, "<section class=\"log\"><h2>Lines of events.jsonl left out</h2><pre>");
    for (const std::string& why : job.skipped) absl::StrAppend(&out, XmlEscape(why), "\n");
    absl::StrAppend(&out, "</pre></section>");
  }
  absl::StrAppend(&out, "</main>", HtmlPageEnd());
  return out;
}

absl::Status WriteTraceHtml(const std::string& dir, const std::string& out,
                            const TraceOptions& options) {
  absl::StatusOr<JobEvidence> job = ReadJobEvidence(dir);
  if (!job.ok()) return job.status();
  return WriteFileAtomically(out, TraceHtml(*job, options));
}

}  // namespace mosdat
