// UploadArtifact and FetchArtifact against a real coordinator process: a package is
// uploaded once and kept by content, a submission names it, and only the agent holding
// a job that names it can fetch its bytes back.
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "runtime/token_auth.h"
#include "tests/integration/coordinator_calls.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

v1::ArtifactRef RefOf(const std::string& name, const std::string& data) {
  v1::ArtifactRef ref;
  ref.set_name(name);
  ref.set_sha256(Sha256Hex(data));
  ref.set_size(data.size());
  return ref;
}

// Uploads `data` in 1 MiB chunks declaring `ref`, as `token`.
grpc::Status Upload(v1::Coordinator::Stub& stub, const std::string& token,
                    const v1::ArtifactRef& ref, const std::string& data,
                    v1::UploadArtifactResponse* response) {
  grpc::ClientContext context;
  AttachToken(context, token);
  auto writer = stub.UploadArtifact(&context, response);
  v1::ArtifactChunk first;
  *first.mutable_artifact() = ref;
  bool open = writer->Write(first);
  for (size_t at = 0; open && at < data.size(); at += 1 << 20) {
    v1::ArtifactChunk chunk;
    chunk.set_data(data.substr(at, 1 << 20));
    open = writer->Write(chunk);
  }
  writer->WritesDone();
  return writer->Finish();
}

TEST(ArtifactRpcTest, APackageIsUploadedOnceAndFetchedOnlyForItsJob) {
  TempDir dir;
  std::unique_ptr<ServiceProcess> coordinator = CoordinatorProcess(dir.File("results"));
  ASSERT_TRUE(coordinator->Start()) << coordinator->stderr_text();
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateChannel(coordinator->grpc_address(), grpc::InsecureChannelCredentials()));

  std::string data(3 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 17);
  const v1::ArtifactRef ref = RefOf("app_1.0+dfsg_amd64.deb", data);

  v1::UploadArtifactResponse response;
  grpc::Status status = Upload(*stub, kCoordinatorAgentToken, ref, data, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "agents do not upload";
  v1::ArtifactRef lying = ref;
  lying.set_sha256(Sha256Hex("something else"));
  status = Upload(*stub, kCoordinatorUserToken, lying, data, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("SHA-256 is " + ref.sha256()), std::string::npos)
      << status.error_message();
  v1::ArtifactRef escaping = ref;
  escaping.set_name("../../escape.deb");
  EXPECT_EQ(Upload(*stub, kCoordinatorUserToken, escaping, data, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A probe (the first chunk alone, probe = true) asks without storing anything.
  auto probe = [&] {
    grpc::ClientContext context;
    AttachToken(context, kCoordinatorUserToken);
    auto writer = stub->UploadArtifact(&context, &response);
    v1::ArtifactChunk head;
    *head.mutable_artifact() = ref;
    head.set_probe(true);
    writer->Write(head);
    writer->WritesDone();
    return writer->Finish();
  };
  ASSERT_TRUE(probe().ok());
  EXPECT_FALSE(response.already_held());
  ASSERT_TRUE(probe().ok());
  EXPECT_FALSE(response.already_held());

  status = Upload(*stub, kCoordinatorUserToken, ref, data, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.already_held());
  ASSERT_TRUE(probe().ok());
  EXPECT_TRUE(response.already_held());
  status = Upload(*stub, kCoordinatorUserToken, ref, data, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.already_held());

  // A submission may name only what was uploaded.
  ASSERT_TRUE(RegisterDeskAgent(*stub, "host-a").ok());
  absl::StatusOr<std::string> refused = SubmitOneJob(*stub, {lying});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("upload it first"), std::string::npos);
  absl::StatusOr<std::string> run_id = SubmitOneJob(*stub, {ref});
  ASSERT_TRUE(run_id.ok()) << run_id.status();
  absl::StatusOr<v1::Job> job = LeaseOne(*stub, "host-a");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->packages_size(), 1);
  EXPECT_EQ(job->packages(0).sha256(), ref.sha256());

  auto fetch = [&](const std::string& agent, const std::string& sha, std::string* out) {
    grpc::ClientContext context;
    AttachToken(context, kCoordinatorAgentToken);
    v1::FetchArtifactRequest request;
    request.set_agent_id(agent);
    request.set_job_id(job->job_id());
    request.set_sha256(sha);
    auto reader = stub->FetchArtifact(&context, request);
    v1::FileChunk chunk;
    while (reader->Read(&chunk)) out->append(chunk.data());
    return reader->Finish();
  };
  std::string fetched;
  status = fetch("host-a", ref.sha256(), &fetched);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(fetched == data) << "the bytes differ";
  fetched.clear();
  EXPECT_EQ(fetch("host-a", lying.sha256(), &fetched).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(fetch("host-b", ref.sha256(), &fetched).error_code(), grpc::StatusCode::NOT_FOUND)
      << "another agent's job";
  EXPECT_TRUE(fetched.empty());
  EXPECT_EQ(coordinator->Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing
