// What a real mosdat-coordinator process shows to tools: gRPC server reflection (what
// grpcurl uses to list and call services without the .proto files), and /metrics whose
// series stay bounded whatever method paths callers make up. Calls go over gRPC's
// generic stub, as a tool's would: raw bytes to any path.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::Message;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// Waits (bounded by the call's deadline) for the operation tagged `tag`.
bool Await(grpc::CompletionQueue& cq, intptr_t tag) {
  void* got = nullptr;
  bool ok = false;
  return cq.Next(&got, &ok) && ok && reinterpret_cast<intptr_t>(got) == tag;
}

// One request and its one answer on a bidirectional stream at `method`.
absl::StatusOr<std::string> AskOnce(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& method, const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &cq);
  grpc::ByteBuffer answer;
  grpc::Status status;
  call->StartCall(reinterpret_cast<void*>(1));
  bool ok = Await(cq, 1);
  if (ok) {
    call->Write(ToBuffer(request), reinterpret_cast<void*>(2));
    ok = Await(cq, 2);
  }
  if (ok) {
    call->Read(&answer, reinterpret_cast<void*>(3));
    ok = Await(cq, 3);
  }
  call->WritesDone(reinterpret_cast<void*>(4));
  Await(cq, 4);
  call->Finish(&status, reinterpret_cast<void*>(5));
  Await(cq, 5);
  cq.Shutdown();
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  if (!ok) return absl::UnavailableError("the stream ended without an answer");
  return FromBuffer(answer);
}

// A unary call with an empty request to any path; its status.
grpc::Status CallPath(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareUnaryCall(&context, method, ToBuffer(""), &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  return status;
}

// The reflection messages come from the descriptors grpc++_reflection registers, built
// as dynamic messages: the test speaks the real schema without a copy of the .proto.
class ReflectionMessages {
 public:
  ReflectionMessages()
      : pool_(google::protobuf::DescriptorPool::generated_pool()),
        request_type_(
            pool_->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest")),
        response_type_(
            pool_->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse")) {}

  bool found() const { return request_type_ != nullptr && response_type_ != nullptr; }

  // A request with the string field `field` (list_services, file_containing_symbol) set.
  std::string Request(const std::string& field, const std::string& value) {
    std::unique_ptr<Message> request(factory_.GetPrototype(request_type_)->New());
    request->GetReflection()->SetString(request.get(), request_type_->FindFieldByName(field),
                                        value);
    return request->SerializeAsString();
  }

  std::unique_ptr<Message> Response(const std::string& bytes) {
    std::unique_ptr<Message> response(factory_.GetPrototype(response_type_)->New());
    if (!response->ParseFromString(bytes)) return nullptr;
    return response;
  }

 private:
  const google::protobuf::DescriptorPool* pool_;
  const Descriptor* request_type_;
  const Descriptor* response_type_;
  DynamicMessageFactory factory_;
};

ServiceProcess StartCoordinator(const TempDir& dir) {
  return ServiceProcess({BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:T",
                         "--agent-token=env:A", "--results-dir=" + dir.File("results")},
                        {{"T", "inspection-test-token"}, {"A", "inspection-agent-token"}});
}

TEST(ReflectionTest, ListsTheServicesAndServesTheirDescriptors) {
  ReflectionMessages messages;
  ASSERT_TRUE(messages.found()) << "grpc++_reflection's descriptors are not linked in";
  TempDir dir;
  ServiceProcess coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  auto channel =
      grpc::CreateChannel(coordinator.grpc_address(), grpc::InsecureChannelCredentials());

  absl::StatusOr<std::string> listed =
      AskOnce(channel, kReflectionMethod, messages.Request("list_services", "*"));
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::unique_ptr<Message> response = messages.Response(*listed);
  ASSERT_NE(response, nullptr);
  const Message& list = response->GetReflection()->GetMessage(
      *response, response->GetDescriptor()->FindFieldByName("list_services_response"));
  const auto* service_field = list.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
    const Message& service = list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    names.push_back(service.GetReflection()->GetString(
        service, service.GetDescriptor()->FindFieldByName("name")));
  }
  EXPECT_THAT(names, Contains("mosdat.v1.Coordinator"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));

  // And the schema itself, which is what lets a tool build calls.
  absl::StatusOr<std::string> described =
      AskOnce(channel, kReflectionMethod,
              messages.Request("file_containing_symbol", "mosdat.v1.Coordinator"));
  ASSERT_TRUE(described.ok()) << described.status();
  std::unique_ptr<Message> files = messages.Response(*described);
  ASSERT_NE(files, nullptr);
  const auto* files_field = files->GetDescriptor()->FindFieldByName("file_descriptor_response");
  ASSERT_TRUE(files->GetReflection()->HasField(*files, files_field)) << files->ShortDebugString();
  EXPECT_THAT(files->GetReflection()->GetMessage(*files, files_field).ShortDebugString(),
              HasSubstr("SubmitMatrix"));
  channel.reset();  // an open connection would hold the server's stop for its grace period
  EXPECT_EQ(coordinator.Terminate(), 0);
}

// mosdat_grpc_requests_total lines whose labels contain `text`.
std::vector<std::string> RequestSeriesWith(const std::string& metrics, const std::string& text) {
  std::vector<std::string> found;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("mosdat_grpc_requests_total{", 0) == 0 && line.find(text) != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

TEST(RpcMetricsTest, MadeUpMethodNamesCountUnderOneUnknownSeries) {
  TempDir dir;
  ServiceProcess coordinator = StartCoordinator(dir);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  auto channel =
      grpc::CreateChannel(coordinator.grpc_address(), grpc::InsecureChannelCredentials());
  for (int i = 0; i < 50; ++i) {
    // Half under a made-up service, half under the real one's name.
    std::string path = i % 2
                           ? "/made.up.Service" + std::to_string(i) + "/Method" + std::to_string(i)
                           : "/mosdat.v1.Coordinator/MadeUp" + std::to_string(i);
    EXPECT_EQ(CallPath(channel, path).error_code(), grpc::StatusCode::UNIMPLEMENTED) << path;
  }
  // A real method keeps its own series.
  EXPECT_EQ(CallPath(channel, "/mosdat.v1.Coordinator/ListAgents").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  std::string metrics = HttpGet(coordinator.metrics_port(), "/metrics");
  ASSERT_THAT(metrics, HasSubstr("mosdat_grpc_requests_total")) << metrics;
  EXPECT_THAT(RequestSeriesWith(metrics, "MadeUp"), IsEmpty());
  EXPECT_THAT(RequestSeriesWith(metrics, "made.up"), IsEmpty());
  std::vector<std::string> unknown = RequestSeriesWith(metrics, "method=\"unknown\"");
  ASSERT_EQ(unknown.size(), 1u) << metrics;
  EXPECT_THAT(unknown[0], HasSubstr("code=\"UNIMPLEMENTED\""));
  EXPECT_THAT(unknown[0], ::testing::EndsWith(" 50"));
  EXPECT_EQ(RequestSeriesWith(metrics, "method=\"/mosdat.v1.Coordinator/ListAgents\"").size(), 1u)
      << metrics;
  channel.reset();
  EXPECT_EQ(coordinator.Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing
