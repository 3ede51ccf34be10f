// Tests for copying a run's evidence from a coordinator on another machine: a whole
// stream becomes the copy and the run's paths point at it; a broken, refused or empty
// stream, a hostile run id, or a local run of the same name changes nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "runtime/evidence_copy.h"
#include "tests/unit/temp_dir.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr char kRemote[] = "/srv/mosdat/results/functional/20261202-101500-3f2a";

v1::FileChunk Chunk(const std::string& path, const std::string& data, uint64_t size) {
  v1::FileChunk chunk;
  chunk.set_path(path);
  chunk.set_first(true);
  chunk.set_size(size);
  chunk.set_data(data);
  return chunk;
}
v1::FileChunk Chunk(const std::string& path, const std::string& data) {
  return Chunk(path, data, data.size());
}

v1::Run RemoteRun(const std::string& id = "20261202-101500-3f2a") {
  v1::Run run;
  run.set_run_id(id);
  run.set_results_dir(kRemote);
  v1::Job* job = run.add_jobs();
  job->set_results_dir(std::string(kRemote) + "/local");
  job->add_attempts()->set_results_dir(std::string(kRemote) + "/local");
  job->add_attempts()->set_results_dir(std::string(kRemote) + "/local/attempt-2");
  run.add_jobs()->set_results_dir("/etc");  // not the run's: never read as its evidence
  return run;
}

struct Stream {
  std::vector<v1::FileChunk> chunks;
  absl::Status ends_with;
  bool cancelled = false;
  int finished = 0;
};

absl::StatusOr<CopiedEvidence> Copy(Stream& stream, const std::string& root, v1::Run* run) {
  size_t at = 0;
  return CopyRunEvidence(
      [&](v1::FileChunk* chunk) {
        if (at == stream.chunks.size()) return false;
        *chunk = stream.chunks[at++];
        return true;
      },
      [&](bool cancel) {
        stream.cancelled = cancel;
        ++stream.finished;
        return stream.ends_with;
      },
      root, run);
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(EvidenceCopyTest, AWholeStreamBecomesTheCopyAndThePathsPointAtIt) {
  TempDir root;
  Stream stream{.chunks = {Chunk("local/attempt-2/events.jsonl", "{}\n"),
                           Chunk("local/events.jsonl", "{\"seq\":1}\n")}};
  v1::Run run = RemoteRun();
  absl::StatusOr<CopiedEvidence> copied = Copy(stream, root.path(), &run);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->files, 2u);
  EXPECT_EQ(stream.finished, 1);
  EXPECT_FALSE(stream.cancelled);
  const std::string local = root.path() + "/functional/20261202-101500-3f2a";
  EXPECT_EQ(ReadFileOrEmpty(local + "/local/events.jsonl"), "{\"seq\":1}\n");
  EXPECT_TRUE(fs::exists(local + "/" + kEvidenceCopyMarker));
  EXPECT_EQ(run.results_dir(), local);
  EXPECT_EQ(run.jobs(0).results_dir(), local + "/local");
  EXPECT_EQ(run.jobs(0).attempts(1).results_dir(), local + "/local/attempt-2");
  EXPECT_EQ(run.jobs(1).results_dir(), "");
  EXPECT_EQ(Entries(root.path() + "/functional"), std::vector<std::string>{"20261202-101500-3f2a"});

  // Fetched again: the earlier copy is replaced whole.
  Stream again{.chunks = {Chunk("local/events.jsonl", "{\"seq\":2}\n")}};
  v1::Run rerun = RemoteRun();
  ASSERT_TRUE(Copy(again, root.path(), &rerun).ok());
  EXPECT_EQ(ReadFileOrEmpty(local + "/local/events.jsonl"), "{\"seq\":2}\n");
  EXPECT_FALSE(fs::exists(local + "/local/attempt-2"));
  EXPECT_EQ(Entries(root.path() + "/functional"), std::vector<std::string>{"20261202-101500-3f2a"});
}

TEST(EvidenceCopyTest, ABrokenStreamChangesNothingAndSaysHowItBroke) {
  TempDir root;
  Stream first{.chunks = {Chunk("local/events.jsonl", "good")}};
  v1::Run run = RemoteRun();
  ASSERT_TRUE(Copy(first, root.path(), &run).ok());
  const std::string local = root.path() + "/functional/20261202-101500-3f2a";

  // The connection drops in the middle of a file.
  Stream cut{.chunks = {Chunk("local/events.jsonl", "par", 10)},
             .ends_with = absl::UnavailableError("connection reset")};
  v1::Run again = RemoteRun();
  absl::StatusOr<CopiedEvidence> copied = Copy(cut, root.path(), &again);
  EXPECT_EQ(copied.status(), absl::UnavailableError("connection reset"));
  EXPECT_EQ(ReadFileOrEmpty(local + "/local/events.jsonl"), "good");
  EXPECT_EQ(again.results_dir(), kRemote);
  EXPECT_EQ(Entries(root.path() + "/functional"), std::vector<std::string>{"20261202-101500-3f2a"});

  // A stream that ends "well" in the middle of a file is no better.
  Stream short_file{.chunks = {Chunk("local/events.jsonl", "par", 10)}};
  EXPECT_TRUE(absl::IsInvalidArgument(Copy(short_file, root.path(), &again).status()));
  EXPECT_EQ(ReadFileOrEmpty(local + "/local/events.jsonl"), "good");
}

TEST(EvidenceCopyTest, ARefusedChunkCancelsTheStreamAndChangesNothing) {
  TempDir root;
  Stream escaping{.chunks = {Chunk("local/events.jsonl", "{}"), Chunk("../../escaped", "x"),
                             Chunk("more", "never read")}};
  v1::Run run = RemoteRun();
  absl::StatusOr<CopiedEvidence> copied = Copy(escaping, root.path(), &run);
  EXPECT_TRUE(absl::IsInvalidArgument(copied.status())) << copied.status();
  EXPECT_TRUE(escaping.cancelled);
  EXPECT_EQ(escaping.finished, 1);
  EXPECT_FALSE(fs::exists(root.path() + "/escaped"));
  EXPECT_TRUE(Entries(root.path() + "/functional").empty());
  EXPECT_EQ(run.results_dir(), kRemote);
}

TEST(EvidenceCopyTest, AnEmptyStreamChangesNothing) {
  TempDir root;
  Stream empty;
  v1::Run run = RemoteRun();
  absl::StatusOr<CopiedEvidence> copied = Copy(empty, root.path(), &run);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->files, 0u);
  EXPECT_TRUE(Entries(root.path() + "/functional").empty());
  EXPECT_EQ(run.results_dir(), kRemote);
  EXPECT_EQ(run.jobs(1).results_dir(), "/etc");
}

TEST(EvidenceCopyTest, AHostileRunIdOrARunOfThisMachineIsNeverTouched) {
  TempDir root;
  const std::string mine = root.path() + "/functional/20261202-101500-3f2a";
  fs::create_directories(mine);
  std::ofstream(mine + "/events.jsonl") << "this machine's own run";
  for (const char* id : {".", "..", "../functional", "a/b", ".hidden", ""}) {
    Stream stream{.chunks = {Chunk("events.jsonl", "theirs")}};
    v1::Run run = RemoteRun(id);
    absl::StatusOr<CopiedEvidence> copied = Copy(stream, root.path(), &run);
    EXPECT_TRUE(absl::IsInvalidArgument(copied.status())) << "\"" << id << "\"";
    EXPECT_TRUE(stream.cancelled);
  }
  Stream same_name{.chunks = {Chunk("events.jsonl", "theirs")}};
  v1::Run run = RemoteRun();
  EXPECT_TRUE(absl::IsAlreadyExists(Copy(same_name, root.path(), &run).status()));
  EXPECT_EQ(ReadFileOrEmpty(mine + "/events.jsonl"), "this machine's own run");
  EXPECT_EQ(Entries(root.path() + "/functional"), std::vector<std::string>{"20261202-101500-3f2a"});
}

TEST(EvidenceCopyTest, WhatAKilledCopyLeftBehindGoes) {
  TempDir root;
  pid_t gone = 4000000;  // above any pid_max default: no such process
  while (kill(gone, 0) == 0) ++gone;
  const std::string left =
      root.path() + "/functional/20261202-101500-3f2a.partial-" + std::to_string(gone);
  fs::create_directories(left);
  std::ofstream(left + "/big.png") << "half";
  Stream stream{.chunks = {Chunk("events.jsonl", "{}")}};
  v1::Run run = RemoteRun();
  ASSERT_TRUE(Copy(stream, root.path(), &run).ok());
  EXPECT_EQ(Entries(root.path() + "/functional"), std::vector<std::string>{"20261202-101500-3f2a"});
}

}  // namespace
}  // namespace mosdat
