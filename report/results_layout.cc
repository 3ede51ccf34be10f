#include "report/results_layout.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Subdirectories(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_directory(error) && !entry.is_symlink(error)) out.push_back(entry.path());
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

std::vector<fs::path> RunDirs(const fs::path& results_root, size_t limit) {
  std::vector<fs::path> runs = Subdirectories(results_root / "functional");
  std::sort(runs.begin(), runs.end(), std::greater<>());
  if (runs.size() > limit) runs.resize(limit);
  return runs;
}

std::vector<fs::path> JobDirs(const fs::path& run, size_t limit) {
  std::vector<fs::path> jobs;
  FindJobs(run, 2, &jobs, limit);  // <vm>/ or <test>/<vm>/
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
