#include "cli/package_upload.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// One UploadArtifact call: the reference, then the bytes of `path` ("" = a probe). Its
// deadline grows with the size (a minute, plus a second per MiB), so a coordinator
// that stops reading ends the upload instead of hanging it.
absl::StatusOr<v1::UploadArtifactResponse> Send(v1::Coordinator::Stub& coordinator,
                                                const std::string& token,
                                                const v1::ArtifactRef& ref,
                                                const std::string& path) {
  grpc::ClientContext context;
  AttachToken(context, token);
  const uint64_t mib = path.empty() ? 0 : ref.size() >> 20;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60 + mib));
  v1::UploadArtifactResponse response;
  auto writer = coordinator.UploadArtifact(&context, &response);
  v1::ArtifactChunk head;
  *head.mutable_artifact() = ref;
  head.set_probe(path.empty());
  bool open = writer->Write(head);
  std::ifstream in;
  if (!path.empty()) in.open(path, std::ios::binary);
  std::string buffer(kChunkBytes, '\0');
  while (open && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    v1::ArtifactChunk chunk;
    chunk.set_data(buffer.data(), n);
    open = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    absl::Status failed = FromGrpcStatus(status);
    return absl::Status(failed.code(),
                        absl::StrCat("uploading ", ref.name(), ": ", failed.message()));
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return response;
}

absl::StatusOr<v1::ArtifactRef> UploadOne(v1::Coordinator::Stub& coordinator,
                                          const std::string& token, const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat("--package ", path, ": not a file"));
  }
  absl::StatusOr<std::string> digest = Sha256OfFile(path);
  if (!digest.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--package ", path, ": ", digest.status().message()));
  }
  v1::ArtifactRef ref;
  ref.set_name(std::filesystem::path(path).filename().string());
  ref.set_sha256(*digest);
  ref.set_size(std::filesystem::file_size(path, error));

  // First ask (a call of one chunk): a held file's bytes are not sent again.
  absl::StatusOr<v1::UploadArtifactResponse> probed = Send(coordinator, token, ref, "");
  if (!probed.ok()) return probed.status();
  if (probed->already_held()) return probed->artifact();
  absl::StatusOr<v1::UploadArtifactResponse> sent = Send(coordinator, token, ref, path);
  if (!sent.ok()) return sent.status();
  return sent->artifact();
}

}  // namespace

absl::StatusOr<std::vector<v1::ArtifactRef>> UploadPackages(v1::Coordinator::Stub& coordinator,
                                                            const std::string& token,
                                                            const std::vector<std::string>& paths) {
  std::vector<v1::ArtifactRef> refs;
  for (const std::string& path : paths) {
    absl::StatusOr<v1::ArtifactRef> ref = UploadOne(coordinator, token, path);
    if (!ref.ok()) return ref.status();
    refs.push_back(*std::move(ref));
  }
  return refs;
}

}  // namespace mosdat
