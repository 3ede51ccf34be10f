// The vlm-gateway against tests/data/vlm_standin.py, a stand-in for a real VLM endpoint:
// no GPU model can run here, so the stand-in speaks the OpenAI chat-completions
// protocol like vLLM / llama.cpp / Ollama, validates each request (model, PNG image
// part, JSON schema, API key), and answers as real grounding models do (0..1000 or
// resized-pixel coordinates, thinking tags, garbage, 500s, 429s, long delays). It
// counts the requests it receives, so these tests can prove caching, de-duplication,
// retries and failover from the server's side.
//
// Covered: coordinate mapping per convention, strict verify parsing, garbage → clear
// errors (never cached), concurrent identical calls → one upstream request, cache hits
// across gateway instances, retries then failover, a dead endpoint, timeouts, 4xx not
// retried, expected_model, metrics, the service binary over gRPC, and
// `mosdat vlm-cache`.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "core/process.h"
#include "mosdat/v1/vlm_gateway.grpc.pb.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/vlm_standin.h"
#include "vlm-gateway/gateway.h"
#include "vnc-agent/vlm_gateway_client.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A 1280x800 screenshot-like image; `seed` makes distinct images.
std::string Screenshot(int seed = 0, int width = 1280, int height = 800) {
  Frame frame;
  frame.width = width;
  frame.height = height;
  frame.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &frame.rgb[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(x + seed);
      p[1] = static_cast<uint8_t>(y);
      p[2] = static_cast<uint8_t>((x / 64 + y / 64) % 2 ? 200 : 40);
    }
  }
  absl::StatusOr<std::string> png = EncodePng(frame);
  EXPECT_TRUE(png.ok()) << png.status();
  return png.value_or("");
}

GatewayOptions Options(std::vector<std::string> base_urls, const std::string& cache_dir,
                       const std::string& model = kQwen) {
  GatewayOptions options;
  options.base_urls = std::move(base_urls);
  options.model = model;
  options.timeout = absl::Seconds(20);
  options.retries = 2;
  options.initial_backoff = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(50);
  options.cache_dir = cache_dir;
  options.metrics = std::make_shared<prometheus::Registry>();
  return options;
}

std::unique_ptr<VlmGateway> MakeGateway(GatewayOptions options) {
  absl::StatusOr<std::unique_ptr<VlmGateway>> gateway = VlmGateway::Create(std::move(options));
  EXPECT_TRUE(gateway.ok()) << gateway.status();
  return gateway.ok() ? std::move(*gateway) : nullptr;
}

LocalizeRequest Find(const std::string& prompt, const std::string& png) {
  return LocalizeRequest{.image = {.png = png, .width = 1280, .height = 800}, .prompt = prompt};
}

VerifyRequest Ask(const std::string& question, const std::string& png) {
  return VerifyRequest{.image = {.png = png}, .question = question};
}

class VlmGatewayTest : public ::testing::Test {
 protected:
  std::string png_ = Screenshot();
  TempDir cache_;
};

TEST_F(VlmGatewayTest, MapsResizedPixelAnswersToFramebufferPixels) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<LocalizeResult> result =
      gateway->Localize(Find("the OK button at 640,400 in 1280x800", png_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->found);
  EXPECT_EQ(result->coordinates, VlmCoordinates::kPixels);
  // The model saw a 1260x784 image and said (630, 392): that is (640, 400) on screen.
  EXPECT_EQ(result->model_x, 630);
  EXPECT_EQ(result->model_y, 392);
  EXPECT_EQ(result->x, 640);
  EXPECT_EQ(result->y, 400);
  EXPECT_DOUBLE_EQ(result->confidence, 0.87);
  EXPECT_EQ(result->model, kQwen);
  EXPECT_EQ(result->endpoint, server.base_url());
  EXPECT_FALSE(result->cache_hit);
  EXPECT_THAT(result->raw_answer, HasSubstr("\"x\": 630"));
}

TEST_F(VlmGatewayTest, MapsNormalizedAnswersToFramebufferPixels) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path(), kUiTars));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<LocalizeResult> result =
      gateway->Localize(Find("the Cancel button at 1000,120 in 1280x800", png_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->coordinates, VlmCoordinates::kNormalized1000);
  EXPECT_EQ(result->model_x, 781);  // round(1000 / 1280 * 1000)
  EXPECT_EQ(result->model_y, 150);
  EXPECT_NEAR(result->x, 1000, 1);
  EXPECT_EQ(result->y, 120);

  // The config overrides the table: a Qwen2.5-VL served behind a normalised prompt.
  GatewayOptions options = Options({server.base_url()}, cache_.path());
  options.coordinates = VlmCoordinates::kNormalized1000;
  auto overridden = MakeGateway(std::move(options));
  ASSERT_NE(overridden, nullptr);
  result = overridden->Localize(Find("normalized: the icon at 64,40 in 1280x800", png_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->coordinates, VlmCoordinates::kNormalized1000);
  EXPECT_EQ(result->x, 64);
  EXPECT_EQ(result->y, 40);
}

TEST_F(VlmGatewayTest, NotFoundIsAnAnswerNotAnError) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<LocalizeResult> result = gateway->Localize(Find("absent: a unicorn", png_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->found);
}

TEST_F(VlmGatewayTest, VerifyReadsOnlyTheJsonAnswer) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  struct Case {
    const char* question;
    bool answer;
  } cases[] = {
      {"[yes] Is the dialog open?", true},
      {"[no] Is the dialog open?", false},
      // The reasoning says "No..." before a yes: only the JSON counts.
      {"thinking [yes] Is the dialog open?", true},
      {"reasoningfield [yes] Is the dialog open?", true},
      {"fenced [no] Is the dialog open?", false},
      {"boolanswer [yes] Is the dialog open?", true},
  };
  for (const Case& c : cases) {
    absl::StatusOr<VerifyResult> result = gateway->Verify(Ask(c.question, png_));
    ASSERT_TRUE(result.ok()) << c.question << ": " << result.status();
    EXPECT_EQ(result->answer, c.answer) << c.question;
    EXPECT_FALSE(result->reason.empty()) << c.question;
  }
}

TEST_F(VlmGatewayTest, GarbageAnswersGiveClearErrorsAndAreNotCached) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  struct Case {
    const char* prompt;
    const char* error;
  } cases[] = {
      {"garbage: the OK button", "not JSON"},
      {"outside: the OK button", "outside the image"},
      {"truncated: the OK button", "cut off"},
      {"extrakey: the OK button", "unexpected key \"label\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LocalizeResult> result = gateway->Localize(Find(c.prompt, png_));
    ASSERT_FALSE(result.ok()) << c.prompt;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << c.prompt;
    std::string message(result.status().message());
    EXPECT_THAT(message, HasSubstr(c.error)) << c.prompt;
    EXPECT_THAT(message, HasSubstr(kQwen)) << c.prompt;
    EXPECT_THAT(message, HasSubstr(server.base_url())) << c.prompt;
  }
  absl::StatusOr<LocalizeResult> prose = gateway->Localize(Find("garbage: the OK button", png_));
  ASSERT_FALSE(prose.ok());
  // The message quotes what the model said.
  EXPECT_THAT(prose.status().message(), HasSubstr("I think the button is near the top left"));
  // Garbage is never cached: asking again went upstream again.
  EXPECT_EQ(server.Stats()["by_text"]["Find: garbage: the OK button"], 2);

  absl::StatusOr<VerifyResult> verify = gateway->Verify(Ask("garbage [yes] Is it open?", png_));
  ASSERT_FALSE(verify.ok());
  EXPECT_THAT(verify.status().message(), HasSubstr("but no, I am not sure"));
}

TEST_F(VlmGatewayTest, ConcurrentIdenticalCallsSendOneUpstreamRequest) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  constexpr int kCallers = 8;
  std::vector<absl::StatusOr<LocalizeResult>> results(kCallers, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      results[i] = gateway->Localize(Find("hold: the OK button at 100,50 in 1280x800", png_));
    });
  }
  // The stand-in holds the first request until released; release it once every other
  // caller has joined that request.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (gateway->deduplicated() < kCallers - 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));  // poll interval
  }
  EXPECT_EQ(gateway->deduplicated(), static_cast<uint64_t>(kCallers - 1));
  server.Release();
  for (std::thread& t : threads) t.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->x, 100);
    EXPECT_EQ(result->y, 50);
  }
  EXPECT_EQ(server.ValidChatRequests(), 1);

  // And now it is cached.
  absl::StatusOr<LocalizeResult> again =
      gateway->Localize(Find("hold: the OK button at 100,50 in 1280x800", png_));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->x, 100);
  EXPECT_EQ(server.ValidChatRequests(), 1);
}

TEST_F(VlmGatewayTest, CacheHitsSurviveANewGatewayOnTheSameDirectory) {
  StandIn server;
  {
    auto first = MakeGateway(Options({server.base_url()}, cache_.path()));
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(first->Localize(Find("the OK button at 200,300 in 1280x800", png_)).ok());
    ASSERT_TRUE(first->Verify(Ask("[yes] Is it open?", png_)).ok());
    EXPECT_EQ(first->cache_misses(), 2u);
  }
  auto second = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(second, nullptr);
  absl::StatusOr<LocalizeResult> hit =
      second->Localize(Find("the OK button at 200,300 in 1280x800", png_));
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_TRUE(hit->cache_hit);
  EXPECT_EQ(hit->x, 200);
  EXPECT_EQ(hit->y, 300);
  EXPECT_THAT(hit->raw_answer, HasSubstr("\"found\": true"));
  absl::StatusOr<VerifyResult> verify = second->Verify(Ask("[yes] Is it open?", png_));
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_TRUE(verify->cache_hit);
  EXPECT_TRUE(verify->answer);
  EXPECT_EQ(second->cache_hits(), 2u);
  EXPECT_EQ(server.ValidChatRequests(), 2);

  // Anything that changes the answer misses: image, prompt, model, or a bypass.
  EXPECT_FALSE(
      second->Localize(Find("the OK button at 200,300 in 1280x800", Screenshot(1)))->cache_hit);
  EXPECT_FALSE(second->Localize(Find("the OK button at 201,300 in 1280x800", png_))->cache_hit);
  LocalizeRequest other_model = Find("the OK button at 200,300 in 1280x800", png_);
  other_model.model = kUiTars;
  EXPECT_FALSE(second->Localize(other_model)->cache_hit);
  LocalizeRequest bypass = Find("the OK button at 200,300 in 1280x800", png_);
  bypass.bypass_cache = true;
  EXPECT_FALSE(second->Localize(bypass)->cache_hit);
  EXPECT_EQ(server.ValidChatRequests(), 6);

  absl::StatusOr<VlmCacheStats> stats = second->CacheStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->entries, 5u);
  EXPECT_EQ(*second->ClearCache(), 5);
}

TEST_F(VlmGatewayTest, RetriesServerErrorsThenFailsOver) {
  StandIn broken({"--always-500"});
  StandIn healthy;
  auto gateway = MakeGateway(Options({broken.base_url(), healthy.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<LocalizeResult> result =
      gateway->Localize(Find("the OK button at 10,20 in 1280x800", png_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->endpoint, healthy.base_url());
  EXPECT_EQ(result->x, 10);
  EXPECT_EQ(broken.ValidChatRequests(), 3);  // 1 + 2 retries
  EXPECT_EQ(healthy.ValidChatRequests(), 1);

  // The failed endpoint cools down: the next call goes straight to the healthy one.
  ASSERT_TRUE(gateway->Verify(Ask("[yes] Is it open?", png_)).ok());
  EXPECT_EQ(broken.ValidChatRequests(), 3);
  EXPECT_EQ(healthy.ValidChatRequests(), 2);
}

TEST_F(VlmGatewayTest, FailsOverWhenAnEndpointDies) {
  StandIn first;
  StandIn second;
  auto gateway = MakeGateway(Options({first.base_url(), second.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<VerifyResult> before = gateway->Verify(Ask("[yes] one", png_));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->endpoint, first.base_url());
  first.Kill();
  absl::StatusOr<VerifyResult> after = gateway->Verify(Ask("[yes] two", png_));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->endpoint, second.base_url());
  EXPECT_EQ(second.ValidChatRequests(), 1);
}

TEST_F(VlmGatewayTest, EveryEndpointDownIsUnavailableNamingEach) {
  StandIn first;
  StandIn second;
  std::vector<std::string> urls = {first.base_url(), second.base_url()};
  first.Kill();
  second.Kill();
  auto gateway = MakeGateway(Options(urls, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<VerifyResult> result = gateway->Verify(Ask("[yes] Is it open?", png_));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("every VLM endpoint failed"));
  EXPECT_THAT(result.status().message(), HasSubstr("cannot connect to " + urls[0]));
  EXPECT_THAT(result.status().message(), HasSubstr("cannot connect to " + urls[1]));
}

TEST_F(VlmGatewayTest, TransientErrorsAreRetriedOnTheSameEndpoint) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<VerifyResult> flaky = gateway->Verify(Ask("flaky [yes] Is it open?", png_));
  ASSERT_TRUE(flaky.ok()) << flaky.status();
  absl::StatusOr<VerifyResult> limited = gateway->Verify(Ask("ratelimit [no] Is it open?", png_));
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ(server.ValidChatRequests(), 4);

  // Retries run out: the error says what the server said and how often it was asked.
  absl::StatusOr<VerifyResult> failing = gateway->Verify(Ask("fail500 Is it open?", png_));
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failing.status().message(), HasSubstr("HTTP 500: CUDA error: out of memory"));
  EXPECT_THAT(failing.status().message(), HasSubstr("(3 attempts)"));
}

TEST_F(VlmGatewayTest, TimeoutNamesTheEndpointAndTheTimeout) {
  StandIn server({"--slow-seconds", "5"});
  GatewayOptions options = Options({server.base_url()}, cache_.path());
  options.timeout = absl::Milliseconds(300);
  options.retries = 0;
  auto gateway = MakeGateway(std::move(options));
  ASSERT_NE(gateway, nullptr);
  absl::Time start = absl::Now();
  absl::StatusOr<LocalizeResult> result = gateway->Localize(Find("slow: the OK button", png_));
  ASSERT_FALSE(result.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(), HasSubstr(server.base_url() + "/chat/completions"));
  EXPECT_THAT(result.status().message(), HasSubstr("within 0.3 s"));
}

TEST_F(VlmGatewayTest, ClientErrorsAreNotRetried) {
  StandIn server({"--api-key", "sekret-123"});
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<VerifyResult> unauthorised = gateway->Verify(Ask("[yes] Is it open?", png_));
  ASSERT_FALSE(unauthorised.ok());
  EXPECT_EQ(unauthorised.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unauthorised.status().message(), HasSubstr("api_key"));
  EXPECT_EQ(server.ChatRequests(), 1);

  // With the key (from the environment, as [vlm].api_key = "env:..." does).
  setenv("MOSDAT_TEST_VLM_KEY", "sekret-123", 1);
  VlmConfig config{.base_url = server.base_url(),
                   .model = kQwen,
                   .api_key = SecretRef::FromEnv("MOSDAT_TEST_VLM_KEY"),
                   .cache_dir = cache_.path()};
  absl::StatusOr<GatewayOptions> options = GatewayOptionsFromConfig(config);
  ASSERT_TRUE(options.ok()) << options.status();
  auto keyed = MakeGateway(std::move(*options));
  ASSERT_NE(keyed, nullptr);
  absl::StatusOr<VerifyResult> ok = keyed->Verify(Ask("[yes] Is it open?", png_));
  ASSERT_TRUE(ok.ok()) << ok.status();
  // A model the server does not serve: 404 with the server's words, not retried.
  LocalizeRequest unknown = Find("the OK button", png_);
  unknown.model = "llava-13b";
  absl::StatusOr<LocalizeResult> missing = keyed->Localize(unknown);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("The model `llava-13b` does not exist."));
  EXPECT_THAT(missing.status().message(), Not(HasSubstr("sekret-123")));
  EXPECT_EQ(server.ChatRequests(), 3);
  unsetenv("MOSDAT_TEST_VLM_KEY");
}

TEST_F(VlmGatewayTest, ExpectedModelIsCheckedAgainstTheServersList) {
  StandIn server;
  GatewayOptions wrong = Options({server.base_url()}, cache_.path());
  wrong.expected_model = "UI-TARS-1.5-7B";
  auto mismatched = MakeGateway(std::move(wrong));
  ASSERT_NE(mismatched, nullptr);
  absl::StatusOr<VerifyResult> refused = mismatched->Verify(Ask("[yes] Is it open?", png_));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("\"UI-TARS-1.5-7B\""));
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat("it serves \"", kQwen, "\", \"", kUiTars, "\"")));
  EXPECT_EQ(server.ChatRequests(), 0);

  GatewayOptions right = Options({server.base_url()}, cache_.path());
  right.expected_model = kQwen;
  auto matched = MakeGateway(std::move(right));
  ASSERT_NE(matched, nullptr);
  ASSERT_TRUE(matched->Verify(Ask("[yes] one", png_)).ok());
  ASSERT_TRUE(matched->Verify(Ask("[yes] two", png_)).ok());
  // Checked once per endpoint, not per call.
  EXPECT_EQ(server.Stats()["models_requests"], 2);  // the refused gateway's + this one's

  absl::StatusOr<ModelList> models = matched->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_EQ(models->endpoint, server.base_url());
  EXPECT_THAT(models->models, ::testing::ElementsAre(kQwen, kUiTars));
}

TEST_F(VlmGatewayTest, RejectsBadInputBeforeAskingAnyone) {
  StandIn server;
  auto gateway = MakeGateway(Options({server.base_url()}, cache_.path()));
  ASSERT_NE(gateway, nullptr);
  absl::StatusOr<LocalizeResult> jpeg = gateway->Localize(Find("x", "\xff\xd8\xff\xe0 not a png"));
  EXPECT_EQ(jpeg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(jpeg.status().message(), HasSubstr("not a PNG"));
  LocalizeRequest wrong_size = Find("x", png_);
  wrong_size.image.width = 1920;
  EXPECT_THAT(gateway->Localize(wrong_size).status().message(),
              HasSubstr("said to be 1920x800 but the PNG is 1280x800"));
  EXPECT_EQ(gateway->Localize(Find("", png_)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.ChatRequests(), 0);
}

TEST_F(VlmGatewayTest, ExportsPrometheusMetrics) {
  StandIn server;
  GatewayOptions options = Options({server.base_url()}, cache_.path());
  std::shared_ptr<prometheus::Registry> registry = options.metrics;
  auto gateway = MakeGateway(std::move(options));
  ASSERT_NE(gateway, nullptr);
  ASSERT_TRUE(gateway->Verify(Ask("[yes] Is it open?", png_)).ok());
  ASSERT_TRUE(gateway->Verify(Ask("[yes] Is it open?", png_)).ok());
  ASSERT_FALSE(gateway->Verify(Ask("garbage", png_)).ok());
  std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_cache_hits_total{kind=\"verify\"} 1"));
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_cache_misses_total{kind=\"verify\"} 2"));
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_requests_total{kind=\"verify\",result=\"ok\"} 2"));
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_requests_total{kind=\"verify\",result=\"error\"} 1"));
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_request_seconds_count{cache=\"hit\",kind=\"verify\"} 1"));
  EXPECT_THAT(text, HasSubstr("mosdat_vlm_upstream_seconds_count{kind=\"verify\"} 2"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("mosdat_vlm_upstream_requests_total{endpoint=\"",
                                           server.base_url(), "\",outcome=\"200\"} 2")));
}

// The service binary: configured by flags, over real gRPC, with its metrics endpoint.
TEST_F(VlmGatewayTest, ServiceBinaryAnswersOverGrpc) {
  StandIn server;
  ServiceProcess gateway({BuiltBinary("vlm-gateway/mosdat-vlm-gateway"),
                          "--base-url=" + server.base_url(), std::string("--model=") + kQwen,
                          "--cache-dir=" + cache_.path(), "--retries=0"});
  ASSERT_TRUE(gateway.Start()) << gateway.stderr_text();
  auto stub = v1::VlmGateway::NewStub(
      grpc::CreateChannel(gateway.grpc_address(), grpc::InsecureChannelCredentials()));

  v1::LocalizeRequest localize;
  localize.mutable_image()->set_png(png_);
  localize.set_prompt("the OK button at 640,400 in 1280x800");
  for (bool expect_hit : {false, true}) {
    v1::LocalizeResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub->Localize(&context, localize, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.found());
    EXPECT_EQ(response.point().x(), 640);
    EXPECT_EQ(response.point().y(), 400);
    EXPECT_EQ(response.cache_hit(), expect_hit);
    EXPECT_EQ(response.coordinates(), "pixels");
  }

  v1::VerifyRequest verify;
  verify.mutable_image()->set_png(png_);
  verify.set_question("garbage [yes] Is it open?");
  v1::VerifyResponse verify_response;
  grpc::ClientContext verify_context;
  grpc::Status garbage = stub->Verify(&verify_context, verify, &verify_response);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(garbage.error_message(), HasSubstr("not JSON"));

  v1::CacheStatsResponse stats;
  grpc::ClientContext stats_context;
  ASSERT_TRUE(stub->CacheStats(&stats_context, {}, &stats).ok());
  EXPECT_EQ(stats.entries(), 1u);
  EXPECT_EQ(stats.hits(), 1u);
  EXPECT_EQ(stats.misses(), 2u);

  v1::ListModelsResponse models;
  grpc::ClientContext models_context;
  ASSERT_TRUE(stub->ListModels(&models_context, {}, &models).ok());
  EXPECT_EQ(models.endpoint(), server.base_url());
  EXPECT_EQ(models.models_size(), 2);

  v1::PruneCacheRequest clear;
  clear.set_clear_all(true);
  v1::PruneCacheResponse cleared;
  grpc::ClientContext clear_context;
  ASSERT_TRUE(stub->PruneCache(&clear_context, clear, &cleared).ok());
  EXPECT_EQ(cleared.removed(), 1u);

  std::string metrics = HttpGet(gateway.metrics_port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("mosdat_vlm_cache_hits_total{kind=\"localize\"} 1"));
  EXPECT_EQ(gateway.Terminate(), 0);
}

TEST_F(VlmGatewayTest, ServiceBinaryReadsVlmFromTheConfig) {
  StandIn server;
  std::ofstream(cache_.File("config.toml"))
      << "[app]\nname = \"demo\"\n\n[vlm]\nbase_url = \"" << server.base_url() << "\"\nmodel = \""
      << kUiTars << "\"\ncache_dir = \"" << cache_.File("cache") << "\"\n";
  ServiceProcess gateway(
      {BuiltBinary("vlm-gateway/mosdat-vlm-gateway"), "--config=" + cache_.File("config.toml")});
  ASSERT_TRUE(gateway.Start()) << gateway.stderr_text();
  auto stub = v1::VlmGateway::NewStub(
      grpc::CreateChannel(gateway.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::LocalizeRequest localize;
  localize.mutable_image()->set_png(png_);
  localize.set_prompt("the OK button at 640,400 in 1280x800");
  v1::LocalizeResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Localize(&context, localize, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model(), kUiTars);
  EXPECT_EQ(response.coordinates(), "normalized_1000");
  EXPECT_EQ(response.point().x(), 640);
  EXPECT_TRUE(std::filesystem::exists(cache_.File("cache/cache.sqlite3")));
}

// `mosdat serve` (all services in one process) takes the gateway's flags too.
TEST_F(VlmGatewayTest, ServeHostsAConfiguredGatewayBehindItsToken) {
  StandIn server;
  ServiceProcess serve(
      {BuiltBinary("cli/mosdat"), "serve", "--token=env:MOSDAT_SERVE_TOKEN",
       "--agent-token=env:MOSDAT_SERVE_AGENT_TOKEN", "--base-url=" + server.base_url(),
       std::string("--model=") + kUiTars, "--cache-dir=" + cache_.File("cache"),
       "--results-dir=" + cache_.File("results")},
      {{"MOSDAT_SERVE_TOKEN", "serve-token"}, {"MOSDAT_SERVE_AGENT_TOKEN", "agent-token"}});
  ASSERT_TRUE(serve.Start()) << serve.stderr_text();
  // Through the agent's own gateway client, with and without the token.
  auto channel = grpc::CreateChannel(serve.grpc_address(), grpc::InsecureChannelCredentials());
  const LocalizeRequest localize = Find("the OK button at 640,400 in 1280x800", png_);
  EXPECT_EQ(NewVlmGatewayClient(channel, "")->Localize(localize, absl::Seconds(30)).status().code(),
            absl::StatusCode::kUnauthenticated);
  absl::StatusOr<LocalizeResult> found =
      NewVlmGatewayClient(channel, "serve-token")->Localize(localize, absl::Seconds(30));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->model, kUiTars);
  EXPECT_EQ(found->x, 640);
  EXPECT_EQ(serve.Terminate(), 0) << serve.stderr_text();
}

TEST_F(VlmGatewayTest, UnconfiguredServiceSaysHowToConfigureIt) {
  ServiceProcess gateway({BuiltBinary("vlm-gateway/mosdat-vlm-gateway")});
  ASSERT_TRUE(gateway.Start()) << gateway.stderr_text();
  auto stub = v1::VlmGateway::NewStub(
      grpc::CreateChannel(gateway.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::LocalizeRequest localize;
  localize.mutable_image()->set_png(png_);
  localize.set_prompt("the OK button");
  v1::LocalizeResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Localize(&context, localize, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("[vlm]"));
  EXPECT_THAT(status.error_message(), HasSubstr("--base-url"));
}

TEST_F(VlmGatewayTest, ServiceBinaryRefusesAMissingApiKey) {
  RunResult result =
      RunCommand({BuiltBinary("vlm-gateway/mosdat-vlm-gateway"), "--base-url=http://127.0.0.1:1/v1",
                  "--model=m", "--api-key=env:MOSDAT_UNSET_VLM_KEY", "--listen=127.0.0.1:0",
                  "--metrics-listen=off", "--cache-dir=" + cache_.path()});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("MOSDAT_UNSET_VLM_KEY"));
}

// `mosdat vlm-cache` on a cache the gateway filled.
TEST_F(VlmGatewayTest, VlmCacheCommandShowsPrunesAndClears) {
  StandIn server;
  std::string config = cache_.File("config.toml");
  std::string cache_dir = cache_.File("vlm");
  std::ofstream(config) << "[app]\nname = \"demo\"\n\n[vlm]\nbase_url = \"" << server.base_url()
                        << "\"\nmodel = \"" << kQwen << "\"\ncache_dir = \"" << cache_dir << "\"\n";
  std::string mosdat = BuiltBinary("cli/mosdat");

  RunResult none = RunCommand({mosdat, "vlm-cache", "stats", "--config", config});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("no VLM cache"));
  EXPECT_FALSE(std::filesystem::exists(cache_dir));

  {
    auto gateway = MakeGateway(Options({server.base_url()}, cache_dir));
    ASSERT_NE(gateway, nullptr);
    ASSERT_TRUE(gateway->Verify(Ask("[yes] one", png_)).ok());
    ASSERT_TRUE(gateway->Verify(Ask("[no] two", png_)).ok());
    ASSERT_TRUE(gateway->Verify(Ask("[no] two", png_)).ok());
  }
  RunResult stats = RunCommand({mosdat, "vlm-cache", "stats", "--json", "--config", config});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  nlohmann::json json = nlohmann::json::parse(stats.out);
  EXPECT_EQ(json["entries"], 2);
  EXPECT_EQ(json["hits"], 1);
  EXPECT_GT(json["oldest_unix_ms"].get<int64_t>(), 0);

  RunResult human = RunCommand({mosdat, "vlm-cache", "stats", "--config", config});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, HasSubstr("entries  2"));

  RunResult prune =
      RunCommand({mosdat, "vlm-cache", "prune", "--older-than", "7d", "--config", config});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_THAT(prune.out, HasSubstr("removed 0 entries not used for 7d"));

  RunResult clear = RunCommand({mosdat, "vlm-cache", "clear", "--cache-dir", cache_dir});
  EXPECT_EQ(clear.exit_code, 0) << clear.err;
  EXPECT_THAT(clear.out, HasSubstr("removed 2 entries"));
  EXPECT_THAT(clear.out, HasSubstr("entries  0"));

  // Usage and config errors have their own exit codes.
  EXPECT_EQ(RunCommand({mosdat, "vlm-cache", "prune", "--config", config}).exit_code, 2);
  EXPECT_EQ(RunCommand({mosdat, "vlm-cache", "prune", "--older-than", "7x", "--config", config})
                .exit_code,
            2);
  EXPECT_EQ(RunCommand({mosdat, "vlm-cache", "frobnicate", "--config", config}).exit_code, 2);
  std::ofstream(cache_.File("novlm.toml")) << "[app]\nname = \"demo\"\n";
  RunResult no_vlm =
      RunCommand({mosdat, "vlm-cache", "stats", "--config", cache_.File("novlm.toml")});
  EXPECT_EQ(no_vlm.exit_code, 3);
  EXPECT_THAT(no_vlm.err, HasSubstr("no [vlm] table"));
}

}  // namespace
}  // namespace mosdat::testing
