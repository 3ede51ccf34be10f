#include "core/elf_inspect.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace mosdat {
namespace {

// libelf wants its version set once per process before any other call.
bool InitLibelf() {
  static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
  return ok;
}

absl::Status Corrupt(const std::string& name, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": not a readable ELF file (",
                                                 std::string(what), ": ", elf_errmsg(-1), ")"));
}

}  // namespace

bool LooksLikeElf(std::string_view bytes) {
  return bytes.starts_with(
      "\x7f"
      "ELF");
}

absl::StatusOr<ElfInspect> ElfInspect::Open(const std::string& path, uint64_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": ", bytes->size(), " bytes, over the limit of ", max_bytes));
  }
  return FromBytes(*std::move(bytes), path);
}

absl::StatusOr<ElfInspect> ElfInspect::FromBytes(std::string bytes, std::string name) {
  if (!InitLibelf()) return absl::InternalError("libelf: version mismatch");
  if (!LooksLikeElf(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not an ELF file"));
  }
  ElfInspect out;
  out.name_ = std::move(name);
  out.bytes_ = std::move(bytes);
  // libelf reads from our buffer (it never writes to it in read mode); the buffer
  // outlives the handle, which is ended on every path.
  Elf* elf = elf_memory(out.bytes_.data(), out.bytes_.size());
  if (elf == nullptr) return Corrupt(out.name_, "elf_memory");
  std::unique_ptr<Elf, int (*)(Elf*)> closer(elf, elf_end);
  if (elf_kind(elf) != ELF_K_ELF) return Corrupt(out.name_, "not an ELF object");
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) return Corrupt(out.name_, "ELF header");
  size_t sections = 0;
  if (elf_getshdrnum(elf, &sections) != 0) return Corrupt(out.name_, "section count");
  // The section header table must lie inside the file: a truncated file (a cut-off
  // download) would otherwise read as one without symbols.
  const uint64_t size = out.bytes_.size();
  const uint64_t table_bytes = static_cast<uint64_t>(sections) * ehdr.e_shentsize;
  if (sections > size / 40 + 1 || ehdr.e_shoff > size || table_bytes > size - ehdr.e_shoff) {
    return absl::InvalidArgumentError(absl::StrCat(
        out.name_, ": not a readable ELF file (its ", sections, " section headers at offset ",
        ehdr.e_shoff, " run past its ", size, " bytes: truncated?)"));
  }
  size_t segments = 0;
  if (elf_getphdrnum(elf, &segments) != 0) return Corrupt(out.name_, "program header count");
  for (size_t i = 0; i < segments; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr) {
      return Corrupt(out.name_, "program header");
    }
    if (phdr.p_type == PT_TLS) out.static_tls_bytes_ = phdr.p_memsz;
  }
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) return Corrupt(out.name_, "section header");
    if (shdr.sh_type != SHT_DYNSYM && shdr.sh_type != SHT_SYMTAB) continue;
    if (shdr.sh_offset > out.bytes_.size() || shdr.sh_size > out.bytes_.size() - shdr.sh_offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          out.name_, ": not a readable ELF file (its ",
          shdr.sh_type == SHT_DYNSYM ? ".dynsym" : ".symtab", " section runs past the end: ",
          shdr.sh_offset, "+", shdr.sh_size, " of ", out.bytes_.size(), " bytes)"));
    }
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr) return Corrupt(out.name_, "symbol table data");
    const size_t entry_size = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    if (entry_size == 0) return Corrupt(out.name_, "symbol size");
    const size_t count = data->d_size / entry_size;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) {
        return Corrupt(out.name_, "symbol");
      }
      const char* symbol_name = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (symbol_name == nullptr || *symbol_name == '\0') continue;
      if (shdr.sh_type == SHT_SYMTAB) {
        out.symtab_.insert(symbol_name);
        continue;
      }
      const int binding = GELF_ST_BIND(sym.st_info);
      if (sym.st_shndx == SHN_UNDEF) {
        out.imported_.insert(symbol_name);
      } else if (binding == STB_GLOBAL || binding == STB_WEAK || binding == STB_GNU_UNIQUE) {
        out.exported_.insert(symbol_name);
      }
    }
  }
  return out;
}

bool ElfInspect::ContainsString(std::string_view text) const {
  if (text.empty()) return true;
  return std::search(bytes_.begin(), bytes_.end(),
                     std::boyer_moore_horspool_searcher(text.begin(), text.end())) != bytes_.end();
}

}  // namespace mosdat
