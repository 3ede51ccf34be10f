// ElfInspect: what an ELF binary exports and which strings it holds, read with elfutils'
// libelf. Binaries are untrusted input: a truncated or corrupt file is an
// absl::Status naming it, never a crash.
#ifndef MOSDAT_CORE_ELF_INSPECT_H_
#define MOSDAT_CORE_ELF_INSPECT_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

// True when `bytes` starts like an ELF file ("\x7f" "ELF").
bool LooksLikeElf(std::string_view bytes);

class ElfInspect {
 public:
  // `bytes` is the whole file, `name` names it in errors.
  static absl::StatusOr<ElfInspect> FromBytes(std::string bytes, std::string name);
  // Reads the file (at most `max_bytes`).
  static absl::StatusOr<ElfInspect> Open(const std::string& path,
                                         uint64_t max_bytes = uint64_t{1} << 30);

  const std::string& name() const { return name_; }
  // .dynsym names the binary defines for others (global or weak, not undefined): what a
  // library exports, what `nm -D --defined-only` lists.
  const std::set<std::string>& exported() const { return exported_; }
  // .dynsym names it needs from others (undefined).
  const std::set<std::string>& imported() const { return imported_; }
  // .symtab names (empty for stripped binaries).
  const std::set<std::string>& symtab() const { return symtab_; }
  // The size of its thread-local storage (PT_TLS): what loading it takes from the stack
  // of every thread the process starts.
  uint64_t static_tls_bytes() const { return static_tls_bytes_; }
  // Whether `text` occurs anywhere in the file's bytes: what `strings FILE | grep TEXT`
  // finds for printable text.
  bool ContainsString(std::string_view text) const;

 private:
  ElfInspect() = default;
  std::string name_;
  std::string bytes_;
  std::set<std::string> exported_;
  std::set<std::string> imported_;
  std::set<std::string> symtab_;
  uint64_t static_tls_bytes_ = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_ELF_INSPECT_H_
