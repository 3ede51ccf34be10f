// Sends the packages of `mosdat test --package` to the coordinator by content
// (UploadArtifact): each file is hashed here, and its bytes cross only when the
// coordinator does not hold them yet. The references go into the submission.
#ifndef MOSDAT_CLI_PACKAGE_UPLOAD_H_
#define MOSDAT_CLI_PACKAGE_UPLOAD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mosdat/v1/coordinator.grpc.pb.h"

namespace mosdat {

// Uploads each of `paths` as `token` and returns their references, in order.
// InvalidArgument for a path that is not a readable regular file (named); the
// coordinator's refusal (too large, a digest that does not match) as its status.
absl::StatusOr<std::vector<v1::ArtifactRef>> UploadPackages(v1::Coordinator::Stub& coordinator,
                                                            const std::string& token,
                                                            const std::vector<std::string>& paths);

}  // namespace mosdat

#endif  // MOSDAT_CLI_PACKAGE_UPLOAD_H_
