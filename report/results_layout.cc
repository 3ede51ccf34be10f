#include "report/results_layout.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "core/file_util.h"
#include "core/json_depth.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxAboutBytes = 64 * 1024;  // job.json, attempt.json

std::vector<fs::path> Subdirectories(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  // Stepped with error codes: a directory removed while it is read (a run deleted by
  // retention) ends the listing, it does not throw.
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    if (it->is_directory(type_error) && !it->is_symlink(type_error)) out.push_back(it->path());
  }
  return out;
}

void FindJobs(const fs::path& dir, int depth, std::vector<fs::path>* out, size_t limit) {
  std::error_code error;
  if (out->size() >= limit) return;
  if (fs::is_regular_file(dir / "job.json", error) ||
      fs::is_regular_file(dir / "events.jsonl", error)) {
    out->push_back(dir);
    return;
  }
  if (depth == 0) return;
  std::vector<fs::path> children = Subdirectories(dir);
  std::sort(children.begin(), children.end());
  for (const fs::path& child : children) FindJobs(child, depth - 1, out, limit);
}

}  // namespace

nlohmann::json ReadAboutFile(const fs::path& path) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  if (error || size > kMaxAboutBytes) return nlohmann::json::object();
  nlohmann::json about = ParsePeerJson(ReadFileOrEmpty(path.string()));
  return about.is_object() ? about : nlohmann::json::object();
}

std::vector<fs::path> RunDirs(const fs::path& results_root, size_t limit) {
  std::vector<fs::path> runs = Subdirectories(results_root / "functional");
  std::sort(runs.begin(), runs.end(), std::greater<>());
  if (runs.size() > limit) runs.resize(limit);
  return runs;
}

std::vector<fs::path> JobDirs(const fs::path& run, size_t limit) {
  std::vector<fs::path> jobs;
  FindJobs(run, 3, &jobs, limit);  // <vm>/, <test>/<vm>/, and an iteration below either
  return jobs;
}

std::vector<fs::path> AttemptDirs(const fs::path& job) {
  std::vector<std::pair<int, fs::path>> found = {{1, job}};
  for (const fs::path& dir : Subdirectories(job)) {
    const std::string name = dir.filename().string();
    int number = 0;
    if (absl::StartsWith(name, "attempt-") && absl::SimpleAtoi(name.substr(8), &number) &&
        number > 1 && number < 1000) {
      found.emplace_back(number, dir);
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> dirs;
  for (auto& [number, path] : found) dirs.push_back(std::move(path));
  return dirs;
}

}  // namespace mosdat
