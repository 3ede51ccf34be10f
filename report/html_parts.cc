#include "report/html_parts.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/junit.h"

namespace mosdat {

const char kTraceCss[] = R"css(
:root { --ink: #1d2330; --dim: #5b6577; --line: #d8dce3; --pass: #1b7f3b; --fail: #c62828;
        --error: #8a5a00; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
header { position: sticky; top: 0; z-index: 2; background: #fff; padding: 10px 20px;
         border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0 0 2px; }
h2 { font-size: 15px; margin: 0 0 4px; }
h3 { font-size: 13px; margin: 6px 0 2px; }
main { padding: 12px 20px; }
.meta { color: var(--dim); margin: 2px 0; font-size: 12px; }
.reason { margin: 4px 0; padding: 4px 8px; border-left: 3px solid var(--fail); background: #fff3f3; }
.reason.pass { border-color: var(--pass); background: #f1fbf4; }
.timeline { display: flex; gap: 2px; height: 14px; margin-top: 8px; }
.timeline a { display: block; min-width: 4px; background: var(--pass); border-radius: 2px; }
.timeline a.failed { background: var(--fail); }
.timeline a.error, .timeline a.unfinished { background: var(--error); }
.timeline a.skipped { background: #aab; }
section.step { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
               margin-bottom: 12px; scroll-margin-top: 110px; }
section.step.failed { border-color: var(--fail); }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 3px; color: #fff; background: var(--pass);
         vertical-align: 2px; text-transform: uppercase; }
.badge.failed { background: var(--fail); } .badge.error, .badge.unfinished { background: var(--error); }
.badge.skipped { background: #889; }
.frames { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin: 6px 0; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; border: 1px solid var(--line); background: #000; display: block; }
figure.none div { padding: 30px; text-align: center; color: var(--dim); border: 1px dashed var(--line); }
figcaption { font-size: 12px; color: var(--dim); }
table { border-collapse: collapse; margin: 6px 0; font-size: 12px; }
caption { text-align: left; font-weight: 600; }
td, th { border: 1px solid var(--line); padding: 2px 6px; text-align: left; }
.vlm { border-top: 1px dashed var(--line); margin-top: 6px; }
.vlm figure { max-width: 50%; }
pre { white-space: pre-wrap; word-break: break-word; background: #f3f4f6; padding: 6px; margin: 4px 0;
      font: 12px/1.35 ui-monospace, monospace; }
pre.stderr { background: #fff3f3; }
section.log { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
)css";

const char kDashboardCss[] = R"css(
:root { --ink: #1d2330; --dim: #5b6577; --line: #d8dce3; --pass: #1b7f3b; --fail: #c62828;
        --error: #8a5a00; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 10px 20px; }
h1 { font-size: 18px; margin: 0; } h2 { font-size: 15px; margin: 18px 0 6px; }
main { padding: 4px 20px 20px; }
.meta { color: var(--dim); font-size: 12px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
td, th { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: middle; }
th { background: #eef0f4; }
td.rate { font-variant-numeric: tabular-nums; }
.pass { color: var(--pass); } .fail { color: var(--fail); } .error, .config_error { color: var(--error); }
.cells span { display: inline-block; width: 9px; height: 14px; margin-right: 1px; border-radius: 1px; }
.cells span.pass { background: var(--pass); } .cells span.fail { background: var(--fail); }
.cells span.error, .cells span.config_error, .cells span.unknown, .cells span.running { background: var(--error); }
svg.trend { background: #fff; border: 1px solid var(--line); }
a { color: #2360d8; }
)css";

std::string HtmlPageStart(std::string_view title, std::string_view css) {
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      // Opened from disk, these pages still load nothing from anywhere else.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "img-src 'self' data: file:; style-src 'unsafe-inline'\">"
      "<title>",
      XmlEscape(title), "</title><style>", std::string(css), "</style></head><body>\n");
}

std::string HtmlPageEnd() { return "\n</body></html>\n"; }

std::string FormatUnixMs(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string UrlPathEscape(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '~' || c == '/' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

}  // namespace mosdat
