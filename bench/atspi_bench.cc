// AT-SPI benchmark on the local target: for a GTK3 app (gtk3-widget-factory) and two GTK4
// apps (gnome-calculator, and gtk4-widget-factory with a ten times larger tree), each in a real
// Xvnc desktop reached over a private loopback sshd, prints latency percentiles for a find by
// role+name through the persistent guest helper (hit-tested, as an `atspi` step does, and
// unverified, as a condition does), for the same find with a fresh helper process per query (the
// original tool's way), and the time of a full tree dump per node. Goal: a persistent find in <= 20
// ms p50.
//   build/bench/mosdat_bench_atspi [iterations]
// `iterations` persistent finds per variant (default 200); a tenth of that (at least 5)
// fresh-helper finds; 5 tree dumps.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/latency.h"
#include "vnc-agent/guest/atspi_client.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/local/local_sshd.h"

namespace mosdat {
namespace {

using nlohmann::json;

constexpr double kGoalMs = 20;
constexpr int kDumps = 5;

void Print(const char* what, const std::vector<double>& ms) {
  PrintLatency(std::string("  ") + what, ms, 44);
}

// One app under test and the find that is timed in it.
struct AppCase {
  std::string label;  // "GTK3", "GTK4"
  std::vector<std::string> command;
  std::string app;  // its accessible application name
  AtspiQuery query;
};

struct AppFigures {
  std::vector<double> find_verify, find_plain, find_fresh;
  int unverified = 0;              // verify=true finds whose centre hit-test failed
  std::vector<double> dump_wall;   // agent side, round trip included
  std::vector<double> dump_guest;  // the helper's own "elapsed_ms"
  int nodes = 0;
};

// The find request as the helper reads it on stdin (JSON lines).
std::string FindRequest(const AtspiQuery& query, bool verify) {
  json q = AtspiQueryJson(query);
  q["verify"] = verify;
  return json{{"id", 1}, {"op", "find"}, {"query", q}}.dump();
}

// The desktop, its sshd and the guest session, stopped newest first.
struct Target {
  std::unique_ptr<LocalDesktop> desktop;
  std::unique_ptr<LocalSshd> sshd;
  std::unique_ptr<GuestSession> session;

  ~Target() {
    session.reset();
    if (sshd) sshd->Stop();
    sshd.reset();
    if (desktop) desktop->Stop();
  }
};

absl::Status StartTarget(const AppCase& app, Target& target) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = app.command});
  if (!desktop.ok()) {
    return absl::Status(desktop.status().code(),
                        absl::StrCat("desktop: ", desktop.status().message()));
  }
  target.desktop = std::move(*desktop);
  std::string dir = target.desktop->root_dir() + "/sshd";
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
      LocalSshd::Start({.dir = dir, .session_env = target.desktop->session_env()});
  if (!sshd.ok()) {
    return absl::Status(sshd.status().code(), absl::StrCat("sshd: ", sshd.status().message()));
  }
  target.sshd = std::move(*sshd);
  absl::StatusOr<std::unique_ptr<GuestSession>> session =
      GuestSession::Connect({.ssh = target.sshd->ClientOptions()});
  if (!session.ok()) {
    return absl::Status(session.status().code(), absl::StrCat("ssh: ", session.status().message()));
  }
  target.session = std::move(*session);
  // Starts (and installs) the helper, then waits for the app's window.
  absl::Status up = target.session->WithAtspi([&](AtspiClient& client) -> absl::Status {
    return client
        .WaitFor({.role = "frame", .app = app.app}, /*exists=*/true, absl::Seconds(30),
                 absl::Milliseconds(100))
        .status();
  });
  if (!up.ok()) {
    return absl::Status(up.code(), absl::StrCat("waiting for the ", app.app,
                                                " frame on the accessibility bus: ", up.message()));
  }
  return absl::OkStatus();
}

absl::Status TimePersistentFinds(const AppCase& app, GuestSession& session, int iterations,
                                 bool verify, AppFigures& figures) {
  std::vector<double>& out = verify ? figures.find_verify : figures.find_plain;
  for (int i = 0; i < iterations; ++i) {
    absl::Status s = session.WithAtspi([&](AtspiClient& client) -> absl::Status {
      absl::Time t = absl::Now();
      absl::StatusOr<AccessibleObject> found = client.Find(app.query, absl::Seconds(10), verify);
      out.push_back(Ms(absl::Now() - t));
      if (!found.ok()) return found.status();
      if (verify && !found->verified) ++figures.unverified;
      return absl::OkStatus();
    });
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("persistent find (verify=", verify, ") #", i, ": ", s.message()));
    }
  }
  if (session.helper_starts() != 1) {
    return absl::InternalError(absl::StrCat("the helper was restarted during the benchmark (",
                                            session.helper_starts(), " starts)"));
  }
  return absl::OkStatus();
}

// One new helper process per query, over the same SSH session.
absl::Status TimeFreshFinds(const AppCase& app, GuestSession& session, int iterations,
                            AppFigures& figures) {
  std::string command =
      absl::StrCat(SessionPreamble(/*force_x11=*/false), "printf '%s\\n' ",
                   ShellQuote(FindRequest(app.query, /*verify=*/true)),
                   " | /usr/bin/python3 \"$HOME/.cache/mosdat/mosdat_atspi_helper.py\"");
  for (int i = 0; i < iterations; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<SshExecResult> run = session.Shell(command, /*x11=*/false, absl::Seconds(30));
    figures.find_fresh.push_back(Ms(absl::Now() - t));
    if (!run.ok()) {
      return absl::Status(run.status().code(),
                          absl::StrCat("fresh-helper find #", i, ": ", run.status().message()));
    }
    json answer;
    for (const std::string& line :
         std::vector<std::string>(absl::StrSplit(run->out, '\n', absl::SkipWhitespace()))) {
      answer = json::parse(line, nullptr, /*allow_exceptions=*/false);
    }
    if (run->exit_code != 0 || !answer.is_object() || answer.value("ok", false) != true) {
      return absl::InternalError(absl::StrCat("fresh-helper find #", i, " failed (exit ",
                                              run->exit_code, "): ", run->out.substr(0, 300),
                                              run->err.substr(0, 500)));
    }
  }
  return absl::OkStatus();
}

absl::Status TimeDumps(const AppCase& app, GuestSession& session, AppFigures& figures) {
  for (int i = 0; i < kDumps; ++i) {
    absl::Status s = session.WithAtspi([&](AtspiClient& client) -> absl::Status {
      absl::Time t = absl::Now();
      absl::StatusOr<json> dump = client.Dump(app.app, /*boxes=*/true, absl::Seconds(60));
      figures.dump_wall.push_back(Ms(absl::Now() - t));
      if (!dump.ok()) return dump.status();
      if (!dump->is_object() || !(*dump)["nodes"].is_number() ||
          !(*dump)["elapsed_ms"].is_number()) {
        return absl::DataLossError("the dump has no \"nodes\" / \"elapsed_ms\"");
      }
      figures.nodes = (*dump)["nodes"].get<int>();
      figures.dump_guest.push_back((*dump)["elapsed_ms"].get<double>());
      return absl::OkStatus();
    });
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("tree dump #", i, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<AppFigures> BenchApp(const AppCase& app, int iterations) {
  Target target;
  if (absl::Status s = StartTarget(app, target); !s.ok()) return s;
  AppFigures figures;
  GuestSession& session = *target.session;
  // Warm up: the first finds of a fresh app fill caches.
  for (int i = 0; i < 3; ++i) {
    absl::Status s = session.WithAtspi(
        [&](AtspiClient& client) { return client.Find(app.query, absl::Seconds(10)).status(); });
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("warm-up find: ", s.message()));
  }
  if (absl::Status s = TimePersistentFinds(app, session, iterations, true, figures); !s.ok()) {
    return s;
  }
  if (absl::Status s = TimePersistentFinds(app, session, iterations, false, figures); !s.ok()) {
    return s;
  }
  if (absl::Status s = TimeFreshFinds(app, session, std::max(5, iterations / 10), figures);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = TimeDumps(app, session, figures); !s.ok()) return s;
  return figures;
}

void Report(const AppCase& app, const AppFigures& f) {
  std::printf("\n%s: %s, find %s\n", app.label.c_str(), app.app.c_str(),
              FindRequest(app.query, true).c_str());
  Print("find, persistent helper, verify=true", f.find_verify);
  Print("find, persistent helper, verify=false", f.find_plain);
  Print("find, fresh helper per query (verify=true)", f.find_fresh);
  if (f.unverified > 0) {
    std::printf("  (%d of %zu verified finds did not pass the hit-test)\n", f.unverified,
                f.find_verify.size());
  }
  Percentiles wall = Summarise(f.dump_wall), guest = Summarise(f.dump_guest);
  std::printf("  %-42s n=%4zu  %d nodes  p50 %7.2f ms (helper %7.2f ms)  %.3f ms/node\n",
              "tree dump with boxes", f.dump_wall.size(), f.nodes, wall.p50, guest.p50,
              f.nodes > 0 ? wall.p50 / f.nodes : 0.0);
  double speedup = Summarise(f.find_fresh).p50 / Summarise(f.find_verify).p50;
  std::printf("  %-42s %.1fx faster at p50 than a fresh helper\n", "persistent (verify=true)",
              speedup);
}

// The first togglebutton of a widget factory (GTK3 calls its role "toggle button", GTK 4.8
// "push button").
AppCase WidgetFactory(const std::string& label, const std::string& app, const std::string& role) {
  return {.label = label,
          .command = {app},
          .app = app,
          .query = {.role = role, .name = "togglebutton", .app = app, .index = 0}};
}

int Run(int iterations) {
  const std::vector<AppCase> apps = {
      WidgetFactory("GTK3", "gtk3-widget-factory", "toggle button"),
      // GSK_RENDERER=cairo comes with LocalDesktop's session environment.
      {.label = "GTK4",
       .command = {"gnome-calculator"},
       .app = "gnome-calculator",
       .query = {.role = "push button", .name_substr = "=", .app = "gnome-calculator"}},
      // A much larger GTK4 tree (~950 objects against the calculator's ~100).
      WidgetFactory("GTK4", "gtk4-widget-factory", "push button"),
  };
  std::printf(
      "mOSdat AT-SPI benchmark: local Xvnc desktops over loopback SSH, %d finds per "
      "variant, %d fresh-helper finds, %d tree dumps\n",
      iterations, std::max(5, iterations / 10), kDumps);
  std::vector<AppFigures> results;
  for (const AppCase& app : apps) {
    absl::StatusOr<AppFigures> figures = BenchApp(app, iterations);
    if (!figures.ok()) {
      std::fprintf(stderr, "%s (%s): %s\n", app.label.c_str(), app.app.c_str(),
                   figures.status().ToString().c_str());
      return 1;
    }
    Report(app, *figures);
    results.push_back(std::move(*figures));
  }
  std::printf("\n");
  for (size_t i = 0; i < apps.size(); ++i) {
    double p50 = Summarise(results[i].find_verify).p50;
    double plain = Summarise(results[i].find_plain).p50;
    bool met = p50 <= kGoalMs;
    std::printf(
        "goal (persistent find p50 <= %.0f ms) %s %-20s: %s (verify=true p50 %.2f ms, "
        "verify=false p50 %.2f ms)\n",
        kGoalMs, apps[i].label.c_str(), apps[i].app.c_str(), met ? "MET" : "MISSED", p50, plain);
  }
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  return mosdat::Run(std::max(iterations, 10));
}
