// The Agent gRPC service of a real mosdat-agent process, driving a real Xvnc desktop
// with the fixture GTK window: interactive sessions as the authoring API uses them.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/frame.h"
#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/token_auth.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_desktop.h"

namespace mosdat::testing {
namespace {

constexpr char kToken[] = "agent-test-token";

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
        {.app_command = {"/usr/bin/python3", SourcePath("tests/data/apps/fixed_layout.py")}});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
    agent_ = std::make_unique<ServiceProcess>(
        std::vector<std::string>{BuiltBinary("vnc-agent/mosdat-agent"), "--token=env:AGENT_TOKEN"},
        std::map<std::string, std::string>{{"AGENT_TOKEN", kToken}});
    ASSERT_TRUE(agent_->Start()) << agent_->stderr_text();
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->grpc_address(), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    AttachToken(*context, token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  std::string Open() {
    v1::OpenSessionRequest request;
    request.mutable_vm()->set_name("local");
    request.mutable_vm()->set_provider("proxmox");  // reached by address, like a real VM
    request.mutable_vm()->set_vnc_address(desktop_->vnc_address());
    request.mutable_vm()->set_vnc_password(desktop_->vnc_password());
    v1::OpenSessionResponse response;
    grpc::Status status = stub_->OpenSession(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.width(), 1280);
    return response.session_id();
  }

  absl::StatusOr<Frame> Capture(const std::string& session, uint64_t newer_than,
                                const v1::Rect& region = {}) {
    v1::CaptureRequest request;
    request.set_session_id(session);
    request.set_newer_than_input_seq(newer_than);
    *request.mutable_region() = region;
    v1::CaptureResponse response;
    grpc::Status status = stub_->Capture(Context().get(), request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return DecodePng(response.image().png());
  }

  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<ServiceProcess> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(AgentServiceTest, OpensCapturesSendsInputAndCloses) {
  std::string session = Open();
  ASSERT_FALSE(session.empty());
  absl::StatusOr<Frame> full = Capture(session, 0);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->width, 1280);
  EXPECT_EQ(full->height, 800);

  v1::Rect toggle;
  toggle.set_x(20);
  toggle.set_y(20);
  toggle.set_width(160);
  toggle.set_height(40);
  absl::StatusOr<Frame> before = Capture(session, 0, toggle);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->width, 160);

  v1::InputRequest click;
  click.set_session_id(session);
  click.mutable_pointer()->set_kind(v1::PointerAction::CLICK);
  click.mutable_pointer()->mutable_at()->set_x(100);
  click.mutable_pointer()->mutable_at()->set_y(40);
  v1::InputResponse clicked;
  ASSERT_TRUE(stub_->Input(Context().get(), click, &clicked).ok());
  EXPECT_GT(clicked.input_seq(), 0u);

  // GTK repaints asynchronously: poll frames newer than the click until the toggle changed.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  double changed = 0;
  while (changed < 0.05 && absl::Now() < deadline) {
    absl::StatusOr<Frame> after = Capture(session, clicked.input_seq(), toggle);
    ASSERT_TRUE(after.ok()) << after.status();
    changed = DifferenceRatio(*before, *after, {});
  }
  EXPECT_GE(changed, 0.05) << "the toggle never looked different after the click";

  v1::InputRequest key;
  key.set_session_id(session);
  key.mutable_key()->set_combo("ctrl+shift+t");
  v1::InputResponse keyed;
  ASSERT_TRUE(stub_->Input(Context().get(), key, &keyed).ok());
  EXPECT_GT(keyed.input_seq(), clicked.input_seq());

  v1::InputRequest bad_key = key;
  bad_key.mutable_key()->set_combo("ctrl+nosuchkey");
  v1::InputResponse ignored;
  EXPECT_EQ(stub_->Input(Context().get(), bad_key, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Text off the keyboard map needs the guest to place it (text_typing.h); a bare VNC
  // session refuses it instead of letting the server drop or swap characters.
  v1::InputRequest greek;
  greek.set_session_id(session);
  greek.mutable_type()->set_text("λ");
  grpc::Status refused = stub_->Input(Context().get(), greek, &ignored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("U+03BB"));

  v1::ListSessionsResponse sessions;
  ASSERT_TRUE(stub_->ListSessions(Context().get(), {}, &sessions).ok());
  ASSERT_EQ(sessions.sessions_size(), 1);
  EXPECT_EQ(sessions.sessions(0).vm(), "local");
  EXPECT_TRUE(sessions.sessions(0).connected());

  v1::CloseSessionRequest close;
  close.set_session_id(session);
  v1::CloseSessionResponse closed;
  EXPECT_TRUE(stub_->CloseSession(Context().get(), close, &closed).ok());
  EXPECT_FALSE(Capture(session, 0).ok());
}

TEST_F(AgentServiceTest, RefusesCallsWithoutTheTokenAndBadTargets) {
  v1::OpenSessionRequest request;
  request.mutable_vm()->set_provider("proxmox");
  request.mutable_vm()->set_vnc_address(desktop_->vnc_address());
  v1::OpenSessionResponse response;
  EXPECT_EQ(stub_->OpenSession(Context("wrong").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  request.mutable_vm()->set_vnc_address("no-port");
  EXPECT_EQ(stub_->OpenSession(Context().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.mutable_vm()->set_vnc_address("127.0.0.1:1");
  EXPECT_EQ(stub_->OpenSession(Context().get(), request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::CaptureRequest capture;
  capture.set_session_id("nope");
  v1::CaptureResponse captured;
  EXPECT_EQ(stub_->Capture(Context().get(), capture, &captured).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace mosdat::testing
