// Bearer-token checks for RPCs that can act on a VM (click, type, shell, VM power).
// Clients send `authorization: Bearer <token>` metadata; the comparison is constant-time.
#ifndef MOSDAT_RUNTIME_TOKEN_AUTH_H_
#define MOSDAT_RUNTIME_TOKEN_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <string>

namespace mosdat {

class TokenAuth {
 public:
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}

  // OK when the call carries the right token; UNAUTHENTICATED otherwise. Never echoes
  // the expected or received token. (Sync and callback calls alike.)
  grpc::Status Check(const grpc::ServerContextBase& context) const;

 private:
  std::string token_;
};

// Adds the token to an outgoing call.
void AttachToken(grpc::ClientContext& context, const std::string& token);

// A fresh random token (hex, 256 bits) for processes that host their own services.
std::string GenerateToken();

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_TOKEN_AUTH_H_
