// PveEndpoint: where and as whom to reach a Proxmox VE API, as jobs and bridge requests
// carry it. Secrets stay references (env:/file:), resolved only where they are used.
#ifndef MOSDAT_CORE_PVE_ENDPOINT_H_
#define MOSDAT_CORE_PVE_ENDPOINT_H_

#include <string>

#include "core/secret_ref.h"

namespace mosdat {

struct PveEndpoint {
  std::string host;
  int port = 8006;
  std::string user;  // USER@REALM!TOKENID with `token`, USER@REALM with `password`
  SecretRef token;
  SecretRef password;
  std::string fingerprint;  // pinned SHA-256 certificate fingerprint; "" = CAs
  std::string ca_file;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_PVE_ENDPOINT_H_
