// What the report pages share: the page frame (doctype, a strict content policy — no
// script, no network — and the CSS), times as people read them, and links to files.
#ifndef MOSDAT_REPORT_HTML_PARTS_H_
#define MOSDAT_REPORT_HTML_PARTS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace mosdat {

extern const char kTraceCss[];
extern const char kDashboardCss[];

// Everything up to and including <body>; `title` is escaped here.
std::string HtmlPageStart(std::string_view title, std::string_view css);
std::string HtmlPageEnd();

// "2026-12-02 01:04:16 UTC".
std::string FormatUnixMs(int64_t unix_ms);

// A relative path as a URL path: each byte outside [A-Za-z0-9._~/-] percent-encoded.
std::string UrlPathEscape(std::string_view path);

}  // namespace mosdat

#endif  // MOSDAT_REPORT_HTML_PARTS_H_
