// The agent's event stream (vnc-agent/event_channel.h) against a real coordinator
// process: events go out without waiting for each ack, a coordinator killed -9 and
// restarted mid-stream gets the unacknowledged ones again and stores each once, and a
// refusal reaches the sender at a later call and stays.
#include "vnc-agent/event_channel.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <future>

#include "absl/time/clock.h"
#include "core/events.h"
#include "tests/integration/coordinator_calls.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

std::unique_ptr<v1::Coordinator::Stub> StubFor(const ServiceProcess& process) {
  return v1::Coordinator::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
}

// Calls `send` until it is not Unavailable (the coordinator is away), for up to 60 s.
absl::Status Persist(const std::function<absl::Status()>& send) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    absl::Status s = send();
    if (s.code() != absl::StatusCode::kUnavailable || absl::Now() > deadline) return s;
    absl::SleepFor(absl::Milliseconds(100));  // a retry interval, not a wait for an event
  }
}

// A window of events goes out while the coordinator is stopped (SIGSTOP): Send does
// not wait for acks. Once it runs again, Flush returns with everything stored.
TEST(EventChannelTest, AWindowOfEventsGoesOutWithoutWaitingForAcks) {
  TempDir dir;
  std::unique_ptr<ServiceProcess> coordinator = CoordinatorProcess(dir.File("results"));
  ASSERT_TRUE(coordinator->Start()) << coordinator->stderr_text();
  auto stub = StubFor(*coordinator);
  ASSERT_TRUE(RegisterDeskAgent(*stub, "host-a").ok());
  absl::StatusOr<std::string> run_id = SubmitOneJob(*stub);
  ASSERT_TRUE(run_id.ok()) << run_id.status();
  absl::StatusOr<v1::Job> job = LeaseOne(*stub, "host-a");
  ASSERT_TRUE(job.ok()) << job.status();

  EventChannel channel(stub.get(), kCoordinatorAgentToken);
  ASSERT_TRUE(channel.Send(LogEvent(*job, 1)).ok());  // the stream is open
  ASSERT_TRUE(channel.Flush().ok());
  ASSERT_EQ(kill(coordinator->pid(), SIGSTOP), 0);
  // On a thread: if Send waited for acks, it would wait for as long as the coordinator
  // is stopped, and the test fails at the deadline instead of hanging.
  std::future<absl::Status> sent = std::async(std::launch::async, [&] {
    for (uint64_t seq = 2; seq <= kEventWindow + 1; ++seq) {
      if (absl::Status s = channel.Send(LogEvent(*job, seq)); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  const bool returned = sent.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  ASSERT_EQ(kill(coordinator->pid(), SIGCONT), 0);
  ASSERT_TRUE(returned) << "Send waited for acks from a stopped coordinator";
  ASSERT_TRUE(sent.get().ok());
  v1::JobEvent finished = LogEvent(*job, kEventWindow + 2);
  finished.mutable_job_finished()->set_verdict(v1::VERDICT_PASS);
  ASSERT_TRUE(channel.Send(finished).ok());
  ASSERT_TRUE(channel.Flush().ok());

  absl::StatusOr<v1::Run> run = GetRun(*stub, *run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->done());
  absl::StatusOr<std::vector<Event>> events =
      ReadEventLog(run->jobs(0).results_dir() + "/events.jsonl");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), kEventWindow + 2);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq, i + 1);
}

// Thousands of pipelined events with the coordinator killed -9 and restarted on the
// same state in the middle: the sender goes on through Unavailable, the unacknowledged
// events are sent again, and the job's log holds each event exactly once, in order.
TEST(EventChannelTest, ACoordinatorKilledMidStreamGetsTheUnacknowledgedEventsAgain) {
  TempDir dir;
  std::unique_ptr<ServiceProcess> first =
      CoordinatorProcess(dir.File("results"), "127.0.0.1:0", {"--lease-timeout=120"});
  ASSERT_TRUE(first->Start()) << first->stderr_text();
  const std::string address = first->grpc_address();
  auto channel_to = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::Coordinator::NewStub(channel_to);
  ASSERT_TRUE(RegisterDeskAgent(*stub, "host-a").ok());
  absl::StatusOr<std::string> run_id = SubmitOneJob(*stub);
  ASSERT_TRUE(run_id.ok()) << run_id.status();
  absl::StatusOr<v1::Job> job = LeaseOne(*stub, "host-a");
  ASSERT_TRUE(job.ok()) << job.status();

  constexpr uint64_t kEvents = 3000;
  EventChannel channel(stub.get(), kCoordinatorAgentToken);
  std::unique_ptr<ServiceProcess> second;
  int unavailable = 0;
  for (uint64_t seq = 1; seq <= kEvents; ++seq) {
    if (seq == kEvents / 2) {
      first->Kill();  // with events in flight: the window is full at this rate
      second = CoordinatorProcess(dir.File("results"), address, {"--lease-timeout=120"});
      ASSERT_TRUE(second->Start()) << second->stderr_text();
    }
    absl::Status sent = Persist([&] {
      absl::Status s = channel.Send(LogEvent(*job, seq));
      if (s.code() == absl::StatusCode::kUnavailable) ++unavailable;
      return s;
    });
    ASSERT_TRUE(sent.ok()) << "event " << seq << ": " << sent;
  }
  EXPECT_GT(unavailable, 0) << "the kill was never noticed";
  v1::JobEvent finished = LogEvent(*job, kEvents + 1);
  finished.mutable_job_finished()->set_verdict(v1::VERDICT_PASS);
  ASSERT_TRUE(Persist([&] { return channel.Send(finished); }).ok());
  absl::Status flushed = Persist([&] { return channel.Flush(); });
  ASSERT_TRUE(flushed.ok()) << flushed;

  absl::StatusOr<v1::Run> run = GetRun(*stub, *run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->done());
  EXPECT_EQ(run->verdict(), v1::VERDICT_PASS);
  absl::StatusOr<std::vector<Event>> events =
      ReadEventLog(run->jobs(0).results_dir() + "/events.jsonl");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), kEvents + 1) << "each event stored once";
  for (size_t i = 0; i < events->size(); ++i) ASSERT_EQ((*events)[i].seq, i + 1);
}

// Events under a lease the coordinator does not know are refused; the sender learns it
// at a later Send or Flush (they were pipelined), and every call after says the same.
TEST(EventChannelTest, ARefusalReachesTheSenderAndStays) {
  TempDir dir;
  std::unique_ptr<ServiceProcess> coordinator = CoordinatorProcess(dir.File("results"));
  ASSERT_TRUE(coordinator->Start()) << coordinator->stderr_text();
  auto stub = StubFor(*coordinator);
  ASSERT_TRUE(RegisterDeskAgent(*stub, "host-a").ok());
  ASSERT_TRUE(SubmitOneJob(*stub).ok());
  absl::StatusOr<v1::Job> job = LeaseOne(*stub, "host-a");
  ASSERT_TRUE(job.ok()) << job.status();
  v1::Job forged = *job;
  forged.set_lease_id("not-the-lease");

  EventChannel channel(stub.get(), kCoordinatorAgentToken);
  absl::Status status = channel.Send(LogEvent(forged, 1));
  if (status.ok()) status = channel.Flush();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("not leased to the sender"), std::string::npos) << status;
  EXPECT_EQ(channel.Send(LogEvent(forged, 2)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(channel.Flush().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mosdat::testing
