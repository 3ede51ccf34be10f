#include "proxmox-bridge/pve_console.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "core/outcome.h"
#include "proxmox-bridge/pve_json.h"

namespace mosdat {
namespace {

std::string UrlEncode(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

class TunnelConsole final : public ConsoleHandle {
 public:
  explicit TunnelConsole(std::unique_ptr<ConsoleTunnel> tunnel) : tunnel_(std::move(tunnel)) {}
  std::string address() const override { return tunnel_->local_address(); }
  std::string password() const override { return tunnel_->password(); }

 private:
  std::unique_ptr<ConsoleTunnel> tunnel_;
};

}  // namespace

absl::StatusOr<ConsoleUpstream> OpenVncProxy(PveClient& client, const PveVm& vm) {
  absl::StatusOr<nlohmann::json> proxy =
      client.Post(vm.Path() + "/vncproxy",
                  {{"websocket", PveBool(true)}, {"generate-password", PveBool(true)}});
  if (!proxy.ok()) return proxy.status();
  const int64_t port = PveInt(*proxy, "port", 0);
  const std::string ticket = PveString(*proxy, "ticket", 8192);
  std::string password = PveString(*proxy, "password", 256);
  if (port <= 0 || port > 65535 || ticket.empty()) {
    return absl::InternalError(
        absl::StrCat("Proxmox VE's vncproxy answer for VM ", vm.vmid, " has no port and ticket"));
  }
  // Before generate-password existed, the ticket itself was the VNC password.
  if (password.empty()) password = ticket;
  absl::StatusOr<std::vector<std::string>> auth = client.AuthHeaders();
  if (!auth.ok()) return auth.status();
  ConsoleUpstream upstream{.host = client.host(),
                           .port = client.port(),
                           .target = absl::StrCat("/api2/json", vm.Path(), "/vncwebsocket?port=",
                                                  port, "&vncticket=", UrlEncode(ticket)),
                           .trust = client.trust(),
                           .vnc_password = password};
  for (const std::string& header : *auth) {
    const size_t colon = header.find(": ");
    if (colon == std::string::npos) continue;
    std::string name = header.substr(0, colon);
    if (name == "CSRFPreventionToken") continue;  // a GET upgrade needs no CSRF token
    upstream.headers.emplace_back(std::move(name), header.substr(colon + 2));
  }
  return upstream;
}

absl::StatusOr<std::unique_ptr<ConsoleHandle>> OpenTunnelConsole(PveClient& client,
                                                                 const PveVm& vm) {
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> tunnel =
      ConsoleTunnel::Open({.open_upstream = [&client, vm] { return OpenVncProxy(client, vm); }});
  if (!tunnel.ok()) {
    // Whatever the tunnel reports, the rig is at fault, not the app under test.
    if (OutcomeOf(tunnel.status()) != Outcome::kInfrastructureError) {
      return InfrastructureError(
          absl::StrCat("VM ", vm.vmid, "'s console: ", tunnel.status().message()));
    }
    return tunnel.status();
  }
  return std::make_unique<TunnelConsole>(*std::move(tunnel));
}

}  // namespace mosdat
