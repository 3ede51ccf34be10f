// SshdFixture: a LocalSshd in a TempDir, checked through a known_hosts file (see header).
#include "tests/integration/sshd_fixture.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace mosdat::testing {
namespace {

const std::string& Empty() {
  static const std::string* const empty = new std::string();
  return *empty;
}

}  // namespace

SshdFixture::~SshdFixture() { Stop(); }

absl::Status SshdFixture::Start() {
  if (sshd_) return sshd_->running() ? absl::OkStatus() : sshd_->Restart();
  absl::StatusOr<std::unique_ptr<LocalSshd>> sshd = LocalSshd::Start({.dir = dir_.path()});
  if (!sshd.ok()) return sshd.status();
  sshd_ = std::move(*sshd);
  known_hosts_path_ = WriteKnownHosts("known_hosts", sshd_->host_key().public_key);
  return absl::OkStatus();
}

absl::Status SshdFixture::Restart() { return sshd_ ? sshd_->Restart() : Start(); }

void SshdFixture::Stop() {
  if (sshd_) sshd_->Stop();
}

int SshdFixture::port() const { return sshd_ ? sshd_->port() : 0; }

const std::string& SshdFixture::user() const { return sshd_ ? sshd_->user() : Empty(); }

const std::string& SshdFixture::client_key_path() const {
  return sshd_ ? sshd_->client_key_path() : Empty();
}

const std::string& SshdFixture::host_key_fingerprint() const {
  return sshd_ ? sshd_->host_key().fingerprint : Empty();
}

std::string SshdFixture::log() const { return ReadFileOrEmpty(dir_.File("sshd.log")); }

SshOptions SshdFixture::ClientOptions() const {
  SshOptions options = sshd_ ? sshd_->ClientOptions() : SshOptions();
  options.host_key_fingerprint.clear();
  options.known_hosts_path = known_hosts_path_;
  return options;
}

absl::StatusOr<SshKeyFiles> SshdFixture::GenerateKey(const std::string& name) {
  return GenerateSshKey(dir_.path(), name);
}

std::string SshdFixture::WriteKnownHosts(const std::string& name,
                                         const std::string& public_key) const {
  std::string path = dir_.File(name);
  std::ofstream(path, std::ios::trunc)
      << (public_key.empty() ? "" : absl::StrCat("[127.0.0.1]:", port(), " ", public_key, "\n"));
  return path;
}

}  // namespace mosdat::testing
