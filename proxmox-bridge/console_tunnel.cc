#include "proxmox-bridge/console_tunnel.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
//
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"

// rfbEncryptBytes (libvncserver): RFB's VncAuth DES. The header has no C++ guard.
extern "C" {
#include <rfb/rfbproto.h>
}

namespace mosdat {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using WsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
template <typename T>
using Awaitable = asio::awaitable<T>;

constexpr uint8_t kSecurityNone = 1;
constexpr uint8_t kSecurityVncAuth = 2;
constexpr size_t kVersionLength = 12;  // "RFB 003.008\n"
constexpr size_t kChallengeLength = 16;
constexpr uint32_t kMaxReasonLength = 4096;  // longer reasons are not read
constexpr size_t kPumpBuffer = 64 * 1024;

auto Redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Printable, bounded rendering of bytes a peer sent, for error messages.
std::string Printable(std::string_view bytes, size_t limit = 200) {
  std::string out;
  for (char c : bytes.substr(0, limit)) {
    if (c >= 0x20 && c < 0x7F) {
      out += c;
    } else {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
    }
  }
  if (bytes.size() > limit) out += "...";
  return out;
}

uint32_t BigEndian32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// The RFB minor version a "RFB 003.00x\n" line asks for, mapped to 3, 7 or 8 as RFB
// 3.8 section 7.1.1 says (unknown 3.x minors are 3.3; later versions get 3.8); -1 when
// the line is not an RFB ProtocolVersion.
int RfbMinor(std::string_view line) {
  if (line.size() != kVersionLength || !line.starts_with("RFB ") || line[7] != '.' ||
      line[11] != '\n') {
    return -1;
  }
  int major = 0, minor = 0;
  for (int i = 4; i < 7; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    major = major * 10 + (line[i] - '0');
  }
  for (int i = 8; i < 11; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    minor = minor * 10 + (line[i] - '0');
  }
  if (major < 3) return -1;
  if (major > 3 || minor >= 8) return 8;
  return minor == 7 ? 7 : 3;
}

// VncAuth: the 16-byte challenge DES-encrypted with the password (8 bytes count).
std::string VncAuthResponse(std::string_view challenge, const std::string& password) {
  unsigned char bytes[kChallengeLength];
  std::memcpy(bytes, challenge.data(), kChallengeLength);
  char key[9] = {};
  std::memcpy(key, password.data(), std::min<size_t>(password.size(), 8));
  rfbEncryptBytes(bytes, key);
  return std::string(reinterpret_cast<char*>(bytes), kChallengeLength);
}

std::string RandomPassword() {
  static constexpr char kAlphabet[] =
      "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no 0/O, 1/l/I
  unsigned char random[8];
  RAND_bytes(random, sizeof(random));
  std::string out;
  for (unsigned char r : random) out += kAlphabet[r % (sizeof(kAlphabet) - 1)];
  return out;
}

// The path of a WebSocket target without its query (which holds the ticket).
std::string_view PathOnly(std::string_view target) { return target.substr(0, target.find('?')); }

// One upstream console session: TCP, TLS (TlsTrust), WebSocket with subprotocol
// "binary", and the RFB client side of the security handshake.
class Upstream {
 public:
  Upstream(asio::any_io_executor executor, ConsoleUpstream spec)
      : spec_(std::move(spec)), tls_(asio::ssl::context::tls_client) {
    ApplyTlsTrust(tls_.native_handle(), spec_.trust, &seen_fingerprint_);
    ws_.emplace(executor, tls_);
  }

  std::string where() const { return absl::StrCat(spec_.host, ":", spec_.port); }

  // Closes the socket under every layer; operations under way fail.
  void Abort() {
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }

  Awaitable<absl::Status> Connect(absl::Duration timeout) {
    error_code ec;
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    tcp::resolver::results_type endpoints =
        co_await resolver.async_resolve(spec_.host, std::to_string(spec_.port), Redirect(ec));
    if (ec) {
      co_return absl::UnavailableError(
          absl::StrCat("cannot resolve the Proxmox host \"", spec_.host, "\": ", ec.message()));
    }
    beast::tcp_stream& tcp_stream = beast::get_lowest_layer(*ws_);
    tcp_stream.expires_after(absl::ToChronoMilliseconds(timeout));
    co_await tcp_stream.async_connect(endpoints, Redirect(ec));
    if (ec) {
      co_return absl::UnavailableError(
          absl::StrCat("cannot connect to the Proxmox console at ", where(), ": ", ec.message()));
    }
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);

    SSL* ssl = ws_->next_layer().native_handle();
    error_code address_ec;
    asio::ip::make_address(spec_.host, address_ec);
    if (address_ec) SSL_set_tlsext_host_name(ssl, spec_.host.c_str());  // SNI: names only
    if (spec_.trust.fingerprint.empty()) {  // CA mode: the certificate must name the host
      if (address_ec) {
        SSL_set1_host(ssl, spec_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), spec_.host.c_str());
      }
    }
    co_await ws_->next_layer().async_handshake(asio::ssl::stream_base::client, Redirect(ec));
    if (ec) {
      if (!spec_.trust.fingerprint.empty() && seen_fingerprint_ != spec_.trust.fingerprint) {
        co_return absl::FailedPreconditionError(
            PinMismatchMessage(spec_.host, spec_.port, spec_.trust, seen_fingerprint_));
      }
      long verify = SSL_get_verify_result(ssl);
      co_return absl::UnavailableError(absl::StrCat(
          "the TLS handshake with ", where(), " failed: ", ec.message(),
          verify != X509_V_OK
              ? absl::StrCat(" (certificate: ", X509_verify_cert_error_string(verify),
                             spec_.trust.ca_file.empty()
                                 ? "; pin the node's fingerprint or give its CA file)"
                                 : absl::StrCat("; CA file ", spec_.trust.ca_file, ")"))
              : ""));
    }
    tcp_stream.expires_never();  // the WebSocket has its own timeouts from here on

    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = absl::ToChronoMilliseconds(timeout);
    timeouts.idle_timeout = std::chrono::seconds(60);  // pings at 30 s detect a dead peer
    timeouts.keep_alive_pings = true;
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& request) {
      request.set(http::field::sec_websocket_protocol, "binary");
      request.set(http::field::user_agent, "mosdat-console-tunnel");
      for (const auto& [name, value] : spec_.headers) request.set(name, value);
    }));
    ws_->binary(true);
    websocket::response_type response;
    co_await ws_->async_handshake(response, where(), spec_.target, Redirect(ec));
    if (ec) {
      int status = response.result_int();
      std::string body = Printable(response.body(), 300);
      std::string message = absl::StrCat(
          "the WebSocket upgrade at ", where(), Absl(PathOnly(spec_.target)), " failed: ",
          status != 0
              ? absl::StrCat("HTTP ", status, " ",
                             std::string(response.reason().data(), response.reason().size()),
                             body.empty() ? "" : absl::StrCat(" (", body, ")"))
              : ec.message());
      if (status == 401 || status == 403) {
        co_return absl::PermissionDeniedError(absl::StrCat(
            message, "; check the API token or ticket and that the vncproxy ticket is fresh"));
      }
      co_return absl::UnavailableError(message);
    }
    co_return absl::OkStatus();
  }

  // The RFB client side up to and including the SecurityResult.
  Awaitable<absl::Status> NegotiateSecurity() {
    absl::StatusOr<std::string> version = co_await Read(kVersionLength);
    if (!version.ok()) co_return version.status();
    int minor = RfbMinor(*version);
    if (minor < 0) {
      co_return absl::DataLossError(absl::StrCat("the console at ", where(),
                                                 " does not speak RFB: it began with \"",
                                                 Printable(*version), "\""));
    }
    absl::Status sent = co_await Write(absl::StrFormat("RFB 003.%03d\n", minor));
    if (!sent.ok()) co_return sent;

    uint8_t type = 0;
    if (minor == 3) {
      absl::StatusOr<std::string> word = co_await Read(4);
      if (!word.ok()) co_return word.status();
      uint32_t offered = BigEndian32(*word);
      if (offered == 0) co_return co_await Refused("refused the connection");
      if (offered != kSecurityNone && offered != kSecurityVncAuth) {
        co_return Unsupported(std::to_string(offered));
      }
      type = static_cast<uint8_t>(offered);
    } else {
      absl::StatusOr<std::string> count = co_await Read(1);
      if (!count.ok()) co_return count.status();
      if ((*count)[0] == 0) co_return co_await Refused("refused the connection");
      absl::StatusOr<std::string> types = co_await Read(static_cast<uint8_t>((*count)[0]));
      if (!types.ok()) co_return types.status();
      std::string listed;
      for (char t : *types) {
        uint8_t offered = static_cast<uint8_t>(t);
        absl::StrAppend(&listed, listed.empty() ? "" : ", ", static_cast<int>(offered));
        if (offered == kSecurityNone) type = kSecurityNone;
        if (offered == kSecurityVncAuth && type != kSecurityNone) type = kSecurityVncAuth;
      }
      if (type == 0) co_return Unsupported(listed);
      sent = co_await Write(std::string(1, static_cast<char>(type)));
      if (!sent.ok()) co_return sent;
    }

    if (type == kSecurityVncAuth) {
      if (spec_.vnc_password.empty()) {
        co_return absl::FailedPreconditionError(absl::StrCat(
            "the console at ", where(),
            " asks for VNC authentication but open_upstream gave no VNC password (vncproxy's "
            "`password`, or its ticket before PVE 9.1.7)"));
      }
      absl::StatusOr<std::string> challenge = co_await Read(kChallengeLength);
      if (!challenge.ok()) co_return challenge.status();
      sent = co_await Write(VncAuthResponse(*challenge, spec_.vnc_password));
      if (!sent.ok()) co_return sent;
    }
    if (type == kSecurityVncAuth || minor == 8) {
      absl::StatusOr<std::string> result = co_await Read(4);
      if (!result.ok()) co_return result.status();
      if (BigEndian32(*result) != 0) {
        std::string what = type == kSecurityVncAuth
                               ? "refused the VNC password from vncproxy (with PVE before "
                                 "9.1.7 the ticket is the password, from 9.1.7 the "
                                 "`password` field)"
                               : "refused the connection";
        if (minor == 8) co_return co_await Refused(what);
        co_return absl::PermissionDeniedError(absl::StrCat("the console at ", where(), " ", what));
      }
    }
    co_return absl::OkStatus();
  }

  // Bytes that arrived beyond the handshake (none from a well-behaved server).
  std::string TakePending() { return std::exchange(pending_, {}); }

  Awaitable<size_t> ReadSome(char* buffer, size_t size, error_code& ec) {
    co_return co_await ws_->async_read_some(asio::buffer(buffer, size), Redirect(ec));
  }
  Awaitable<void> WriteAll(const char* data, size_t size, error_code& ec) {
    co_await ws_->async_write(asio::buffer(data, size), Redirect(ec));
  }

 private:
  Awaitable<absl::StatusOr<std::string>> Read(size_t n) {
    std::array<char, 4096> buffer;
    while (pending_.size() < n) {
      error_code ec;
      size_t got = co_await ws_->async_read_some(asio::buffer(buffer), Redirect(ec));
      if (ec) {
        co_return absl::UnavailableError(absl::StrCat(
            "the console at ", where(), " closed during the RFB handshake: ", ec.message()));
      }
      pending_.append(buffer.data(), got);
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    co_return out;
  }

  Awaitable<absl::Status> Write(std::string bytes) {
    error_code ec;
    co_await ws_->async_write(asio::buffer(bytes), Redirect(ec));
    if (ec) {
      co_return absl::UnavailableError(
          absl::StrCat("writing to the console at ", where(), " failed: ", ec.message()));
    }
    co_return absl::OkStatus();
  }

  // A failure with a reason string (RFB 3.7+ after 0 types, 3.3 after type 0, 3.8 after
  // a failed SecurityResult): reads the bounded reason into the message.
  Awaitable<absl::Status> Refused(std::string what) {
    std::string reason = "(no reason given)";
    absl::StatusOr<std::string> length = co_await Read(4);
    if (length.ok()) {
      uint32_t n = BigEndian32(*length);
      if (n > kMaxReasonLength) {
        reason = absl::StrCat("(a reason of ", n, " bytes, not read)");
      } else {
        absl::StatusOr<std::string> text = co_await Read(n);
        if (text.ok()) reason = absl::StrCat("\"", Printable(*text, kMaxReasonLength), "\"");
      }
    }
    co_return absl::PermissionDeniedError(
        absl::StrCat("the console at ", where(), " ", what, ": ", reason));
  }

  absl::Status Unsupported(std::string_view offered) const {
    return absl::UnimplementedError(
        absl::StrCat("the console at ", where(), " offers RFB security types [", Absl(offered),
                     "], but the tunnel speaks only None (1) and VncAuth (2)"));
  }

  ConsoleUpstream spec_;
  std::string seen_fingerprint_;  // before tls_: the verify callback writes it
  asio::ssl::context tls_;
  std::optional<WsStream> ws_;
  std::string pending_;
};

}  // namespace

class ConsoleTunnel::Impl {
 public:
  explicit Impl(ConsoleTunnelOptions options)
      : options_(std::move(options)), acceptor_(accept_io_) {
    password_ = options_.password.empty() ? RandomPassword() : options_.password.substr(0, 8);
  }

  ~Impl() { Close(); }

  absl::Status Listen() {
    error_code ec;
    tcp::endpoint endpoint(asio::ip::address_v4::loopback(),
                           static_cast<uint16_t>(options_.local_port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("the console tunnel cannot listen on 127.0.0.1:",
                                                 options_.local_port, ": ", ec.message()));
    }
    local_port_ = acceptor_.local_endpoint().port();
    return absl::OkStatus();
  }

  // One upstream session through the security handshake, then closed.
  absl::Status VerifyUpstream() {
    absl::StatusOr<ConsoleUpstream> spec = CallOpenUpstream();
    if (!spec.ok()) return spec.status();
    asio::io_context io;
    Upstream upstream(io.get_executor(), std::move(*spec));
    absl::Status result;
    bool finished = false;
    asio::co_spawn(
        io,
        [&]() -> Awaitable<absl::Status> {
          absl::Status connected = co_await upstream.Connect(options_.handshake_timeout);
          if (!connected.ok()) co_return connected;
          co_return co_await upstream.NegotiateSecurity();
        },
        [&](std::exception_ptr error, absl::Status status) {
          result = error ? absl::InternalError("the upstream check threw") : status;
          finished = true;
          upstream.Abort();
          io.stop();  // the WebSocket's own timers would keep run_for() busy
        });
    io.run_for(absl::ToChronoMilliseconds(options_.handshake_timeout));
    if (!finished) {
      upstream.Abort();
      io.restart();
      io.run_for(std::chrono::seconds(1));
      return absl::DeadlineExceededError(absl::StrCat(
          "the Proxmox console at ", upstream.where(), " did not complete its handshake within ",
          absl::FormatDuration(options_.handshake_timeout)));
    }
    return result;
  }

  void StartAccepting() {
    accept_thread_ = std::thread([this] {
      asio::co_spawn(accept_io_, AcceptLoop(), asio::detached);
      accept_io_.run();
    });
  }

  void Close() {
    std::call_once(closed_, [this] {
      accept_io_.stop();
      if (accept_thread_.joinable()) accept_thread_.join();
      error_code ignored;
      acceptor_.close(ignored);
      std::list<std::unique_ptr<Connection>> connections;
      {
        std::lock_guard lock(mutex_);
        connections.swap(connections_);
      }
      for (auto& connection : connections) connection->io.stop();
      for (auto& connection : connections) {
        if (connection->thread.joinable()) connection->thread.join();
      }
    });
  }

  bool verify_upstream() const { return options_.verify_upstream; }
  int local_port() const { return local_port_; }
  const std::string& password() const { return password_; }
  absl::Status last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }
  int connections_opened() const { return connections_opened_.load(); }
  int active_connections() const {
    std::lock_guard lock(mutex_);
    int active = 0;
    for (const auto& connection : connections_) active += connection->done.load() ? 0 : 1;
    return active;
  }

 private:
  struct Connection {
    asio::io_context io{1};
    std::atomic<bool> done{false};
    std::thread thread;
  };

  // One local connection's sockets; used only on its connection's thread.
  struct Session {
    tcp::socket local;
    asio::steady_timer watchdog;  // bounds the setup; cancelled once spliced
    std::unique_ptr<Upstream> upstream;
    bool timed_out = false;
    bool closing = false;
    int running = 0;  // coroutines of this session still running

    void Shutdown() {
      if (closing) return;
      closing = true;
      error_code ignored;
      local.shutdown(tcp::socket::shutdown_both, ignored);
      local.close(ignored);
      if (upstream) upstream->Abort();
    }
  };

  void Record(absl::Status status) {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(status);
  }

  absl::StatusOr<ConsoleUpstream> CallOpenUpstream() {
    absl::StatusOr<ConsoleUpstream> spec = options_.open_upstream();
    if (!spec.ok()) {
      return absl::Status(spec.status().code(),
                          absl::StrCat("opening the upstream console (vncproxy) failed: ",
                                       spec.status().message()));
    }
    return spec;
  }

  // Joins connections whose thread finished. mutex_ held.
  void Reap() {
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done.load()) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Awaitable<void> AcceptLoop() {
    for (;;) {
      auto connection = std::make_unique<Connection>();
      error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(connection->io, Redirect(ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // The client gave up before accept, or the process is out of descriptors: keep
        // serving, but back off so a persistent error does not spin.
        Record(absl::UnavailableError(
            absl::StrCat("the console tunnel could not accept a connection: ", ec.message())));
        asio::steady_timer backoff(accept_io_, std::chrono::milliseconds(50));
        co_await backoff.async_wait(Redirect(ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::lock_guard lock(mutex_);
      Reap();
      if (static_cast<int>(connections_.size()) >= options_.max_connections) {
        last_error_ = absl::ResourceExhaustedError(absl::StrCat(
            "a local connection to the console tunnel was refused: ", options_.max_connections,
            " connections are served already"));
        continue;  // the socket closes here
      }
      Connection* raw = connection.get();
      raw->thread = std::thread([this, raw, socket = std::move(socket)]() mutable {
        Serve(*raw, std::move(socket));
        raw->done = true;
      });
      connections_.push_back(std::move(connection));
    }
  }

  // Runs one local connection to its end on the connection's own io_context.
  void Serve(Connection& connection, tcp::socket socket) {
    // The io_context (in Connection) outlives the session.
    Session session{std::move(socket), asio::steady_timer(connection.io), nullptr};

    session.watchdog.expires_after(absl::ToChronoMilliseconds(options_.handshake_timeout));
    session.watchdog.async_wait([&session](error_code ec) {
      if (ec) return;
      session.timed_out = true;
      session.Shutdown();
    });
    session.running = 1;
    asio::co_spawn(connection.io, Run(connection, session),
                   [this, &connection, &session](std::exception_ptr error) {
                     if (error) Record(absl::InternalError("a console tunnel connection threw"));
                     Finished(connection, session);
                   });
    connection.io.run();
  }

  // When the session's last coroutine ended: shuts the sockets and stops the
  // io_context (the WebSocket's timers would keep it running).
  void Finished(Connection& connection, Session& session) {
    if (--session.running > 0) return;
    session.Shutdown();
    session.watchdog.cancel();
    connection.io.stop();
  }

  Awaitable<void> Run(Connection& connection, Session& session) {
    absl::StatusOr<int> minor = co_await LocalSecurity(session.local);
    if (!minor.ok()) {
      Record(session.timed_out ? TimedOut("the local client's RFB handshake") : minor.status());
      session.Shutdown();
      co_return;
    }
    absl::Status upstream_status;
    absl::StatusOr<ConsoleUpstream> spec = CallOpenUpstream();
    if (connection.io.stopped() || session.closing) co_return;
    if (!spec.ok()) {
      upstream_status = spec.status();
    } else {
      session.upstream = std::make_unique<Upstream>(connection.io.get_executor(), std::move(*spec));
      upstream_status = co_await session.upstream->Connect(options_.handshake_timeout);
      if (upstream_status.ok()) upstream_status = co_await session.upstream->NegotiateSecurity();
      if (!upstream_status.ok() && session.timed_out) {
        upstream_status = TimedOut(
            absl::StrCat("the Proxmox console at ", session.upstream->where(), "'s handshake"));
      }
    }
    std::string result;
    if (upstream_status.ok()) {
      result = U32(0);
    } else {
      result = U32(1);
      if (*minor == 8) {
        std::string reason =
            absl::StrCat("console tunnel: ", upstream_status.message()).substr(0, kMaxReasonLength);
        absl::StrAppend(&result, U32(static_cast<uint32_t>(reason.size())), reason);
      }
    }
    if (!upstream_status.ok()) Record(upstream_status);  // before the client learns it
    error_code ec;
    co_await asio::async_write(session.local, asio::buffer(result), Redirect(ec));
    if (!upstream_status.ok()) {
      session.Shutdown();
      co_return;
    }
    session.watchdog.cancel();
    if (ec) {
      session.Shutdown();
      co_return;
    }
    connections_opened_++;

    // The splice: upstream → local in its own coroutine, local → upstream here.
    session.running++;
    asio::co_spawn(
        connection.io, UpstreamToLocal(session),
        [this, &connection, &session](std::exception_ptr) { Finished(connection, session); });
    std::vector<char> buffer(kPumpBuffer);
    for (;;) {
      size_t n = co_await session.local.async_read_some(asio::buffer(buffer), Redirect(ec));
      if (ec) break;
      co_await session.upstream->WriteAll(buffer.data(), n, ec);
      if (ec) break;
    }
    session.Shutdown();
  }

  Awaitable<void> UpstreamToLocal(Session& session) {
    error_code ec;
    std::string pending = session.upstream->TakePending();
    if (!pending.empty())
      co_await asio::async_write(session.local, asio::buffer(pending), Redirect(ec));
    std::vector<char> buffer(kPumpBuffer);
    while (!ec) {
      size_t n = co_await session.upstream->ReadSome(buffer.data(), buffer.size(), ec);
      if (ec) {
        if (!session.closing) {
          Record(absl::UnavailableError(absl::StrCat("the Proxmox console at ",
                                                     session.upstream->where(),
                                                     " ended the session: ", ec.message())));
        }
        break;
      }
      co_await asio::async_write(session.local, asio::buffer(buffer.data(), n), Redirect(ec));
    }
    session.Shutdown();
  }

  // The RFB server side towards the local client, up to checking its VncAuth response;
  // returns the client's RFB minor version (3, 7 or 8).
  Awaitable<absl::StatusOr<int>> LocalSecurity(tcp::socket& local) {
    error_code ec;
    auto fail = [&](std::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("a local client of the console tunnel ", Absl(what)));
    };
    co_await asio::async_write(local, asio::buffer(std::string_view("RFB 003.008\n")),
                               Redirect(ec));
    std::string version(kVersionLength, '\0');
    if (!ec) co_await asio::async_read(local, asio::buffer(version), Redirect(ec));
    if (ec) co_return fail(absl::StrCat("left during the RFB handshake: ", ec.message()));
    int minor = RfbMinor(version);
    if (minor < 0) {
      co_return fail(absl::StrCat("does not speak RFB: it sent \"", Printable(version), "\""));
    }
    if (minor == 3) {
      co_await asio::async_write(local, asio::buffer(U32(kSecurityVncAuth)), Redirect(ec));
    } else {
      const char offer[] = {1, static_cast<char>(kSecurityVncAuth)};
      co_await asio::async_write(local, asio::buffer(offer), Redirect(ec));
      char chosen = 0;
      if (!ec) co_await asio::async_read(local, asio::buffer(&chosen, 1), Redirect(ec));
      if (!ec && chosen != kSecurityVncAuth) {
        co_return fail(absl::StrCat("chose RFB security type ", static_cast<uint8_t>(chosen) + 0,
                                    ", not the offered VncAuth (2)"));
      }
    }
    std::string challenge(kChallengeLength, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(challenge.data()), kChallengeLength);
    if (!ec) co_await asio::async_write(local, asio::buffer(challenge), Redirect(ec));
    std::string response(kChallengeLength, '\0');
    if (!ec) co_await asio::async_read(local, asio::buffer(response), Redirect(ec));
    if (ec) co_return fail(absl::StrCat("left during the RFB handshake: ", ec.message()));
    std::string expected = VncAuthResponse(challenge, password_);
    if (CRYPTO_memcmp(expected.data(), response.data(), kChallengeLength) != 0) {
      std::string result = U32(1);
      if (minor == 8) {
        constexpr std::string_view kReason = "wrong password for the console tunnel";
        absl::StrAppend(&result, U32(kReason.size()), Absl(kReason));
      }
      co_await asio::async_write(local, asio::buffer(result), Redirect(ec));
      co_return absl::PermissionDeniedError(
          "a local client gave the wrong VNC password for the console tunnel (use the "
          "tunnel's password, not the VM's)");
    }
    co_return minor;
  }

  absl::Status TimedOut(std::string_view what) const {
    return absl::DeadlineExceededError(absl::StrCat(
        Absl(what), " did not complete within ", absl::FormatDuration(options_.handshake_timeout)));
  }

  const ConsoleTunnelOptions options_;
  std::string password_;
  asio::io_context accept_io_{1};
  tcp::acceptor acceptor_;
  int local_port_ = 0;
  std::thread accept_thread_;
  std::once_flag closed_;
  std::atomic<int> connections_opened_{0};

  mutable std::mutex mutex_;  // guards the members below
  std::list<std::unique_ptr<Connection>> connections_;
  absl::Status last_error_;
};

absl::StatusOr<std::unique_ptr<ConsoleTunnel>> ConsoleTunnel::Open(ConsoleTunnelOptions options) {
  if (!options.open_upstream) {
    return absl::InvalidArgumentError("ConsoleTunnel needs an open_upstream callback");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status listening = impl->Listen(); !listening.ok()) return listening;
  if (impl->verify_upstream()) {
    if (absl::Status verified = impl->VerifyUpstream(); !verified.ok()) return verified;
  }
  impl->StartAccepting();
  return std::unique_ptr<ConsoleTunnel>(new ConsoleTunnel(std::move(impl)));
}

ConsoleTunnel::ConsoleTunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConsoleTunnel::~ConsoleTunnel() { Close(); }

int ConsoleTunnel::local_port() const { return impl_->local_port(); }
std::string ConsoleTunnel::local_address() const {
  return absl::StrCat("127.0.0.1:", impl_->local_port());
}
const std::string& ConsoleTunnel::password() const { return impl_->password(); }
absl::Status ConsoleTunnel::last_error() const { return impl_->last_error(); }
int ConsoleTunnel::connections_opened() const { return impl_->connections_opened(); }
int ConsoleTunnel::active_connections() const { return impl_->active_connections(); }
void ConsoleTunnel::Close() { impl_->Close(); }

}  // namespace mosdat
