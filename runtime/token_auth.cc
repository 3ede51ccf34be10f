#include "runtime/token_auth.h"

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace mosdat {
namespace {

constexpr char kPrefix[] = "Bearer ";

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

grpc::Status TokenAuth::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this call acts on a VM and needs a token: send "
                        "'authorization: Bearer <token>' (mosdat --token env:NAME)");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWith(value, kPrefix) ||
      !ConstantTimeEquals(value.substr(sizeof(kPrefix) - 1), token_)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong token");
  }
  return grpc::Status::OK;
}

void AttachToken(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", std::string(kPrefix) + token);
}

std::string GenerateToken() {
  std::random_device device;
  std::string token;
  for (int i = 0; i < 8; ++i) absl::StrAppendFormat(&token, "%08x", device());
  return token;
}

}  // namespace mosdat
