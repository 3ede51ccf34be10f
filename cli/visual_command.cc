// `mosdat visual --capture | --check`: makes and tries visual references ("needles")
// on a VM's live screen, through the agent's interactive session API.
//
//   mosdat visual --config X --vm V --capture --region 20,20,160,40 --out refs/toggle.png
//                 [--exclude 24,24,30,12]...
//   mosdat visual --config X --vm V --check --reference refs/toggle.png [--threshold 0.97]
//
// Both wait until the screen has been still for --stable seconds first. --capture
// refuses a blank region (it would match any empty area); --check prints the score and
// where the best match is, and exits 0 when it reaches the threshold, 1 otherwise.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"
#include "core/file_util.h"
#include "core/job.h"
#include "core/visual_match.h"
#include "core/visual_reference.h"
#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

struct VisualArgs {
  std::string config;
  std::string vm;
  bool capture = false;
  bool check = false;
  std::string region;
  std::vector<std::string> exclude;
  std::string out;
  std::string reference;
  double threshold = 0;  // 0 = the sidecar's, else 0.95
  double stable_seconds = 1.0;
  double timeout_seconds = 60;
  std::string agent;
  std::string token_ref;
  ClientTlsOptions tls;
};

absl::StatusOr<Rect> ParseRect(const std::string& text, const std::string& flag) {
  std::vector<std::string> parts = absl::StrSplit(text, ',');
  Rect r;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &r.x) || !absl::SimpleAtoi(parts[1], &r.y) ||
      !absl::SimpleAtoi(parts[2], &r.width) || !absl::SimpleAtoi(parts[3], &r.height) || r.x < 0 ||
      r.y < 0 || r.width <= 0 || r.height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text, "\": expected X,Y,WIDTH,HEIGHT (pixels, sizes > 0)"));
  }
  return r;
}

// The agent's screen of one VM for the duration of the command.
class ScreenSession {
 public:
  static absl::StatusOr<std::unique_ptr<ScreenSession>> Open(const VisualArgs& args,
                                                             const Config& config,
                                                             const VmConfig& vm) {
    auto session = std::unique_ptr<ScreenSession>(new ScreenSession());
    absl::StatusOr<ServiceConnection> connection =
        ConnectServices(args.agent, args.token_ref, args.tls);
    if (!connection.ok()) return connection.status();
    session->connection_ = std::move(*connection);
    session->stub_ = v1::Agent::NewStub(session->connection_.channel);
    v1::OpenSessionRequest request;
    *request.mutable_vm() = ToProto(TargetFor(config, vm));
    v1::OpenSessionResponse response;
    auto context = session->Context(absl::Seconds(60));
    absl::Status opened =
        FromGrpcStatus(session->stub_->OpenSession(context.get(), request, &response));
    if (!opened.ok()) return opened;
    session->id_ = response.session_id();
    return session;
  }

  ~ScreenSession() {
    if (id_.empty()) return;
    v1::CloseSessionRequest request;
    request.set_session_id(id_);
    v1::CloseSessionResponse response;
    stub_->CloseSession(Context(absl::Seconds(30)).get(), request, &response);
  }

  // A frame once `area` (empty = the whole screen) has not changed for `stable`
  // (polled; no fixed wait). Only the area counts: a spinner elsewhere does not matter.
  absl::StatusOr<Frame> StableFrame(const Rect& area, absl::Duration stable,
                                    absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::optional<Frame> last;
    absl::Time still_since = absl::Now();
    while (true) {
      v1::CaptureRequest request;
      request.set_session_id(id_);
      v1::CaptureResponse response;
      absl::Status captured =
          FromGrpcStatus(stub_->Capture(Context(absl::Seconds(30)).get(), request, &response));
      if (!captured.ok()) return captured;
      absl::StatusOr<Frame> frame = DecodePng(response.image().png());
      if (!frame.ok()) return frame.status();
      if (!last || DifferenceRatio(*last, *frame, area, /*tolerance=*/0) > 0) {
        still_since = absl::Now();
      } else if (absl::Now() - still_since >= stable) {
        return frame;
      }
      last = std::move(*frame);
      if (absl::Now() >= deadline) {
        // What the app shows, not a broken rig: a test failure.
        return TestFailure(
            absl::StrCat(area.empty() ? "the screen" : "the region", " did not stay still for ",
                         absl::FormatDuration(stable), " within ", absl::FormatDuration(timeout),
                         " (an animation or a blinking caret? --exclude the moving part)"));
      }
      absl::SleepFor(absl::Milliseconds(100));  // the polling interval of the condition
    }
  }

 private:
  ScreenSession() = default;
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
    auto context = std::make_unique<grpc::ClientContext>();
    AttachToken(*context, connection_.token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return context;
  }

  ServiceConnection connection_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::string id_;
};

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::error_code ignored;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

int Capture(const VisualArgs& args, ScreenSession& screen) {
  absl::StatusOr<Rect> region = ParseRect(args.region, "--region");
  if (!region.ok()) {
    std::cerr << "mosdat visual: " << region.status().message() << "\n";
    return kExitUsage;
  }
  VisualReference reference;
  reference.captured_at = *region;
  for (const std::string& text : args.exclude) {
    absl::StatusOr<Rect> r = ParseRect(text, "--exclude");
    if (!r.ok()) {
      std::cerr << "mosdat visual: " << r.status().message() << "\n";
      return kExitUsage;
    }
    // Written in screen pixels, stored relative to the reference.
    reference.exclude.push_back({r->x - region->x, r->y - region->y, r->width, r->height});
  }
  if (args.threshold > 0) reference.threshold = args.threshold;
  absl::StatusOr<Frame> frame = screen.StableFrame(*region, absl::Seconds(args.stable_seconds),
                                                   absl::Seconds(args.timeout_seconds));
  if (!frame.ok()) {
    std::cerr << "mosdat visual: " << frame.status().message() << "\n";
    return ExitCodeFor(frame.status());
  }
  if (region->x + region->width > frame->width || region->y + region->height > frame->height) {
    std::cerr << absl::StrFormat("mosdat visual: --region %s is not inside the %dx%d screen\n",
                                 args.region, frame->width, frame->height);
    return kExitUsage;
  }
  reference.image = Crop(*frame, *region);
  absl::StatusOr<std::string> png = EncodePng(reference.image);
  if (!png.ok()) {
    std::cerr << "mosdat visual: " << png.status().message() << "\n";
    return ExitCodeFor(png.status());
  }
  // The same checks a scenario's reference gets (blank, exclude areas inside).
  std::string sidecar = SidecarJson(reference);
  absl::StatusOr<VisualReference> valid = ParseReference(args.out, *png, sidecar);
  if (!valid.ok()) {  // e.g. a blank region: the reference asked for is unusable
    std::cerr << "mosdat visual: " << valid.status().message() << "\n";
    return ExitCodeFor(valid.status());
  }
  if (absl::Status s = WriteFile(args.out, *png); !s.ok()) {
    std::cerr << "mosdat visual: " << s.message() << "\n";
    return kExitInfrastructure;
  }
  if (absl::Status s = WriteFile(ReferenceSidecarPath(args.out), sidecar); !s.ok()) {
    std::cerr << "mosdat visual: " << s.message() << "\n";
    return kExitInfrastructure;
  }
  std::cout << absl::StrFormat("saved %s (%dx%d from %d,%d) and %s\n", args.out, region->width,
                               region->height, region->x, region->y,
                               ReferenceSidecarPath(args.out));
  return kExitPass;
}

int Check(const VisualArgs& args, ScreenSession& screen) {
  std::string png = ReadFileOrEmpty(args.reference);
  if (png.empty()) {
    std::cerr << "mosdat visual: cannot read " << args.reference << "\n";
    return kExitConfigError;
  }
  absl::StatusOr<VisualReference> reference =
      ParseReference(args.reference, png, ReadFileOrEmpty(ReferenceSidecarPath(args.reference)));
  if (!reference.ok()) {
    std::cerr << "mosdat visual: " << reference.status().message() << "\n";
    return kExitConfigError;
  }
  const double threshold = VisualThreshold(
      args.threshold > 0 ? std::optional<double>(args.threshold) : std::nullopt, *reference);
  // Where the reference was captured (and a margin) must be still; without that, all of it.
  Rect area;
  if (reference->captured_at) {
    const Rect& c = *reference->captured_at;
    area = {std::max(0, c.x - 32), std::max(0, c.y - 32), c.width + 64, c.height + 64};
  }
  absl::StatusOr<Frame> frame = screen.StableFrame(area, absl::Seconds(args.stable_seconds),
                                                   absl::Seconds(args.timeout_seconds));
  if (!frame.ok()) {
    std::cerr << "mosdat visual: " << frame.status().message() << "\n";
    return ExitCodeFor(frame.status());
  }
  VisualMatch match = FindReference(*frame, reference->image, reference->exclude,
                                    reference->captured_at, threshold);
  bool pass = match.score >= threshold;
  std::cout << absl::StrFormat("%s %s: score %.4f at (%d,%d %dx%d), threshold %.3f", args.reference,
                               pass ? "matches" : "does not match", match.score, match.where.x,
                               match.where.y, match.where.width, match.where.height, threshold);
  if (reference->captured_at) {
    std::cout << absl::StrFormat(", captured at (%d,%d)", reference->captured_at->x,
                                 reference->captured_at->y);
  }
  std::cout << "\n";
  return ExitCodeFor(pass ? Outcome::kPassed : Outcome::kTestFailed);
}

int RunVisual(const VisualArgs& args) {
  if (args.capture == args.check) {
    std::cerr << "mosdat visual: give exactly one of --capture and --check\n";
    return kExitUsage;
  }
  if (args.capture && (args.region.empty() || args.out.empty())) {
    std::cerr << "mosdat visual: --capture needs --region X,Y,W,H and --out FILE.png\n";
    return kExitUsage;
  }
  if (args.check && args.reference.empty()) {
    std::cerr << "mosdat visual: --check needs --reference FILE.png\n";
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadConfig(args.config);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfigError;
  }
  const VmConfig* vm = config->FindVm(args.vm);
  if (vm == nullptr) {
    std::cerr << "mosdat visual: no [[vm]] named \"" << args.vm << "\" in " << args.config << "\n";
    return kExitConfigError;
  }
  absl::StatusOr<std::unique_ptr<ScreenSession>> screen = ScreenSession::Open(args, *config, *vm);
  if (!screen.ok()) {
    std::cerr << "mosdat visual: " << screen.status().message() << "\n";
    return screen.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                        : kExitInfrastructure;
  }
  return args.capture ? Capture(args, **screen) : Check(args, **screen);
}

}  // namespace

void AddVisualCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<VisualArgs>();
  CLI::App* cmd = root.add_subcommand("visual", "Capture or check visual reference regions");
  cmd->add_option("--config", args->config, "mOSdat TOML config")->required();
  cmd->add_option("--vm", args->vm, "the [[vm]] whose screen to use")->required();
  cmd->add_flag("--capture", args->capture, "save a reference region from the screen");
  cmd->add_flag("--check", args->check, "match a reference against the screen");
  cmd->add_option("--region", args->region, "--capture: X,Y,WIDTH,HEIGHT in screen pixels");
  cmd->add_option(
      "--exclude", args->exclude,
      "--capture: X,Y,WIDTH,HEIGHT (screen pixels) to ignore when matching; repeatable");
  cmd->add_option("--out", args->out,
                  "--capture: the PNG to write (its .json sidecar goes next to it)");
  cmd->add_option("--reference", args->reference, "--check: the reference PNG");
  cmd->add_option("--threshold", args->threshold, "similarity needed, (0, 1]; default 0.95")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--stable", args->stable_seconds,
                  "seconds the screen must stay unchanged before looking (default 1)")
      ->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--timeout", args->timeout_seconds, "seconds to wait for a still screen")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--agent", args->agent,
                  "agent address host:port; empty = an agent in this process");
  cmd->add_option("--token", args->token_ref, "agent token as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunVisual(*args); });
  });
}

}  // namespace mosdat
