#include "live/http_listener.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/net.h"

namespace mosdat {

namespace {

// host and port of `listen`; port 0 for any free one (ParseHostPort takes real ports only).
absl::StatusOr<std::pair<std::string, int>> ListenAddress(const std::string& listen) {
  const bool any_port = listen.size() > 2 && listen.ends_with(":0");
  absl::StatusOr<std::pair<std::string, int>> address =
      ParseHostPort(any_port ? listen.substr(0, listen.size() - 1) + "1" : listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(listen, ": ", address.status().message()));
  }
  if (any_port) address->second = 0;
  return address;
}

}  // namespace

bool BodyUnbounded(const httplib::Request& request) {
  if (request.has_header("Transfer-Encoding")) return true;
  const bool has_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  return has_body && !request.has_header("Content-Length");
}

bool IsLoopbackListen(const std::string& listen) {
  absl::StatusOr<std::pair<std::string, int>> address = ListenAddress(listen);
  if (!address.ok()) return false;
  const std::string& host = address->first;
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

absl::Status CheckListenAddress(const std::string& listen) {
  return ListenAddress(listen).status();
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(httplib::Server& server,
                                                                  const std::string& listen) {
  absl::StatusOr<std::pair<std::string, int>> address = ListenAddress(listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpListener> listener(new HttpListener(server));
  listener->host_ = address->first;
  if (address->second == 0) {
    listener->port_ = server.bind_to_any_port(listener->host_);
  } else {
    listener->port_ = server.bind_to_port(listener->host_, address->second) ? address->second : -1;
  }
  if (listener->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " (in use, or not an address of this machine)"));
  }
  HttpListener* self = listener.get();
  listener->thread_ = std::thread([self] {
    self->server_.listen_after_bind();
    self->served_ = true;
  });
  // Serving before Start returns, so that stop() in the destructor finds it running
  // (httplib ignores a stop that comes first, and the thread would never end).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server.is_running() && !self->served_ && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return listener;
}

HttpListener::~HttpListener() {
  // httplib ignores a stop() that comes before it runs: repeat until the thread ends.
  while (thread_.joinable() && !served_) {
    server_.stop();
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (thread_.joinable()) thread_.join();
}

std::string HttpListener::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return absl::StrCat("http://", v6 ? "[" + host_ + "]" : host_, ":", port_);
}

}  // namespace mosdat
