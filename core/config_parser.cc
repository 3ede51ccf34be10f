#include "core/config_parser.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/suggest.h"

namespace mosdat {
namespace {

// Debian's Abseil has its own absl::string_view, which std::string_view does not
// convert to; these adapters keep the absl string helpers usable with std types.
template <typename T>
const T& Adapt(const T& value) {
  return value;
}
absl::string_view Adapt(std::string_view s) { return Absl(s); }
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(Adapt(args)...);
}

// ---------------------------------------------------------------------------
// Enum spellings. A unit test checks they agree with ToString() in config.cc.

template <typename E>
struct EnumEntry {
  std::string_view name;
  E value;
};

constexpr EnumEntry<Verdict> kVerdicts[] = {
    {"pass", Verdict::kPass}, {"fail", Verdict::kFail}, {"unknown", Verdict::kUnknown}};
constexpr EnumEntry<VmProvider> kProviders[] = {{"proxmox", VmProvider::kProxmox},
                                                {"local", VmProvider::kLocal}};
constexpr EnumEntry<OsType> kOsTypes[] = {{"linux", OsType::kLinux}, {"windows", OsType::kWindows}};
constexpr EnumEntry<X11Mode> kX11Modes[] = {{"auto", X11Mode::kAuto}, {"off", X11Mode::kOff}};
constexpr EnumEntry<PackageFormat> kPackageFormats[] = {
    {"deb", PackageFormat::kDeb},       {"rpm", PackageFormat::kRpm},
    {"pacman", PackageFormat::kPacman}, {"appimage", PackageFormat::kAppImage},
    {"snap", PackageFormat::kSnap},     {"flatpak", PackageFormat::kFlatpak},
    {"msi", PackageFormat::kMsi},       {"exe", PackageFormat::kExe},
    {"tar", PackageFormat::kTar}};
constexpr EnumEntry<VlmCoordinates> kCoordinates[] = {
    {"normalized_1000", VlmCoordinates::kNormalized1000},
    {"pixels", VlmCoordinates::kPixels},
    {"auto", VlmCoordinates::kAuto}};
constexpr EnumEntry<SmokeVariant> kVariants[] = {
    {"wayland-real", SmokeVariant::kWaylandReal},
    {"wayland-fake", SmokeVariant::kWaylandFake},
    {"wayland-nodisp", SmokeVariant::kWaylandNoDisplay},
    {"x11", SmokeVariant::kX11}};
constexpr EnumEntry<ScreenshotPolicy> kScreenshotPolicies[] = {
    {"all", ScreenshotPolicy::kAll},
    {"failures", ScreenshotPolicy::kFailures},
    {"none", ScreenshotPolicy::kNone}};
constexpr EnumEntry<VmAfterJob> kAfterJob[] = {{"keep", VmAfterJob::kKeep},
                                               {"shutdown", VmAfterJob::kShutdown},
                                               {"rollback", VmAfterJob::kRollback}};
constexpr EnumEntry<GpuMode> kGpuModes[] = {{"compute", GpuMode::kCompute},
                                            {"primary", GpuMode::kPrimary}};
constexpr EnumEntry<CursorProfile> kCursorProfiles[] = {{"instant", CursorProfile::kInstant},
                                                        {"linear", CursorProfile::kLinear},
                                                        {"bezier", CursorProfile::kBezier}};

// Upper bounds that keep values sane and inside `int`.
constexpr int64_t kMaxTimeoutSeconds = 86400;
constexpr int64_t kMaxMilliseconds = 60000;
constexpr int64_t kMaxVmid = 999999999;  // Proxmox's own limit
constexpr int64_t kMaxScreenSide = 16384;

// ---------------------------------------------------------------------------
// Small text helpers.

std::string Quoted(std::string_view s) { return Cat("\"", absl::CEscape(Absl(s)), "\""); }

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A key as it would be written in TOML: bare when possible, quoted otherwise.
std::string KeyText(std::string_view key) {
  return IsBareKey(key) ? std::string(key) : Quoted(key);
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? KeyText(key) : Cat(parent, ".", KeyText(key));
}

std::string IndexPath(std::string_view parent, size_t index) {
  return Cat(parent, "[", index, "]");
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
  }
  return "value";
}

template <typename E, size_t N>
std::string OneOf(const EnumEntry<E> (&entries)[N]) {
  std::vector<std::string> names;
  for (const EnumEntry<E>& e : entries) names.push_back(Quoted(e.name));
  return Cat("must be one of ", absl::StrJoin(names, ", "));
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// VM and test names end up in paths and on command lines.
bool IsSimpleName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool IsHexDigits(std::string_view s, size_t count) {
  return s.size() == count && std::all_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

// "0000:01:00" or "0000:01:00.0" (PCI domain:bus:device[.function]).
bool IsPciAddress(std::string_view s) {
  if (s.size() != 10 && s.size() != 12) return false;
  if (s[4] != ':' || s[7] != ':') return false;
  if (!IsHexDigits(s.substr(0, 4), 4) || !IsHexDigits(s.substr(5, 2), 2) ||
      !IsHexDigits(s.substr(8, 2), 2)) {
    return false;
  }
  return s.size() == 10 || (s[10] == '.' && s[11] >= '0' && s[11] <= '7');
}

// "AA:BB:...": 32 colon-separated hex bytes, as printed by
// `openssl x509 -noout -fingerprint -sha256`.
bool IsSha256Fingerprint(std::string_view s) {
  if (s.size() != 32 * 3 - 1) return false;
  for (size_t i = 0; i < s.size(); i += 3) {
    if (!IsHexDigits(s.substr(i, 2), 2)) return false;
    if (i + 2 < s.size() && s[i + 2] != ':') return false;
  }
  return true;
}

// "SHA256:" + 43 unpadded base64 characters, as printed by `ssh-keygen -lf`.
bool IsSshFingerprint(std::string_view s) {
  constexpr std::string_view kPrefix = "SHA256:";
  if (!s.starts_with(kPrefix)) return false;
  std::string_view b64 = s.substr(kPrefix.size());
  if (b64.ends_with("=")) b64.remove_suffix(1);
  return b64.size() == 43 && std::all_of(b64.begin(), b64.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
         });
}

bool IsHttpUrl(std::string_view s) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (s.starts_with(scheme) && s.size() > scheme.size()) return true;
  }
  return false;
}

// A positive decimal number without sign or leading junk, at most `max`.
bool ParseBoundedDecimal(std::string_view s, int max, int* out) {
  if (s.empty() || s.size() > 9) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  int value = 0;
  for (char c : s) value = value * 10 + (c - '0');  // at most 9 digits: no overflow
  if (value > max) return false;
  *out = value;
  return true;
}

// PVE's configuration ids (pve-configid), which snapshot and resource mapping names
// are: a letter, then letters, digits, "_" and "-"; PVE wants at least two characters
// and snapshot names of at most 40.
bool IsPveConfigId(std::string_view s, size_t max_size) {
  if (s.size() < 2 || s.size() > max_size) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A VM name PVE accepts (its dns-name format): dot-separated labels of letters, digits
// and inner "-".
bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
        })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// "a.b.c.d": four decimal octets without leading zeros.
bool ParseIpv4(std::string_view s, uint32_t* out) {
  uint32_t address = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    const std::string_view octet = s.substr(0, dot);
    int value = 0;
    if (octet.size() > 1 && octet[0] == '0') return false;
    if (!ParseBoundedDecimal(octet, 255, &value)) return false;
    address = (address << 8) | static_cast<uint32_t>(value);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  *out = address;
  return true;
}

std::string Ipv4Text(uint32_t a) {
  return Cat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

// An IPv4 network, "192.168.13.0/24". `network` is the CIDR with the host bits cleared
// (equal to `s` when it is a proper network address).
bool ParseIpv4Cidr(std::string_view s, std::string* network) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  uint32_t address = 0;
  int prefix = 0;
  const std::string_view bits = s.substr(slash + 1);
  if (!ParseIpv4(s.substr(0, slash), &address) || (bits.size() > 1 && bits[0] == '0') ||
      !ParseBoundedDecimal(bits, 32, &prefix)) {
    return false;
  }
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  *network = Cat(Ipv4Text(address & mask), "/", prefix);
  return true;
}

bool ParseGeometry(std::string_view s, Geometry* out) {
  const size_t x = s.find('x');
  if (x == std::string_view::npos) return false;
  Geometry g;
  if (!ParseBoundedDecimal(s.substr(0, x), kMaxScreenSide, &g.width) ||
      !ParseBoundedDecimal(s.substr(x + 1), kMaxScreenSide, &g.height) || g.width == 0 ||
      g.height == 0) {
    return false;
  }
  *out = g;
  return true;
}

// ---------------------------------------------------------------------------
// Parse state: the diagnostics collected so far and where relative paths start.

class Context {
 public:
  explicit Context(std::string_view file_name)
      : file_(file_name), dir_(std::filesystem::path(file_name).parent_path()) {}

  void Error(const toml::source_region& where, std::string path, std::string message) {
    items_.push_back({SourceLocation{file_, static_cast<int>(where.begin.line),
                                     static_cast<int>(where.begin.column)},
                      std::move(path), std::move(message)});
  }
  void Error(const toml::node& node, std::string path, std::string message) {
    Error(node.source(), std::move(path), std::move(message));
  }
  // Something accepted that has no effect (yet); `message` names the key as the config
  // spells it, e.g. "[build].checkout is read but ...".
  void Warning(const toml::node& node, std::string path, std::string message) {
    warnings_.push_back({Location(node), std::move(path), std::move(message)});
  }
  // "expected a string, got integer".
  void TypeError(const toml::node& node, std::string path, std::string_view expected) {
    Error(node, std::move(path), Cat("expected ", expected, ", got ", TypeName(node.type())));
  }

  SourceLocation Location(const toml::node& node) const {
    return {file_, static_cast<int>(node.source().begin.line),
            static_cast<int>(node.source().begin.column)};
  }

  // Paths in the config are relative to the config file's directory; "~" and "~/..."
  // are the user's home directory, as the original mOSdat expanded them.
  std::string ResolvePath(std::string_view path) const {
    if (path == "~" || path.starts_with("~/")) {
      const char* home = std::getenv("HOME");
      if (home != nullptr && *home != '\0') {
        if (path == "~") return home;
        return (std::filesystem::path(home) / std::string(path.substr(2)))
            .lexically_normal()
            .string();
      }
    }
    std::filesystem::path p(path);
    if (p.is_absolute() || dir_.empty()) return std::string(path);
    return (dir_ / p).lexically_normal().string();
  }

  // Hands the errors and the warnings over, each in file order (toml++ iterates tables
  // in key order), once: a [proxmox] key inherited by several named hosts is checked
  // with each of them.
  void Flush(Diagnostics* out) {
    for (std::vector<Diagnostic>* list : {&items_, &warnings_}) {
      std::stable_sort(list->begin(), list->end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::pair(a.location.line, a.location.column) <
               std::pair(b.location.line, b.location.column);
      });
      std::vector<Diagnostic> unique;
      for (Diagnostic& d : *list) {
        // Sorted: a repeat is among the diagnostics at the same place.
        bool seen = false;
        for (auto u = unique.rbegin(); u != unique.rend() && !seen; ++u) {
          if (u->location.line != d.location.line || u->location.column != d.location.column) {
            break;
          }
          seen = u->key_path == d.key_path && u->message == d.message;
        }
        if (!seen) unique.push_back(std::move(d));
      }
      *list = std::move(unique);
    }
    for (Diagnostic& d : items_) out->Add(d.location, std::move(d.key_path), std::move(d.message));
    for (Diagnostic& d : warnings_) {
      out->Warn(d.location, std::move(d.key_path), std::move(d.message));
    }
    items_.clear();
    warnings_.clear();
  }

 private:
  std::string file_;
  std::filesystem::path dir_;
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
};

// ---------------------------------------------------------------------------
// Typed readers for one node. Each returns true and stores the value only when the
// node is valid; otherwise it reports why and leaves *out (the default) alone.

bool ReadString(Context& ctx, const toml::node& node, const std::string& path, std::string* out) {
  const toml::value<std::string>* value = node.as_string();
  if (value == nullptr) {
    ctx.TypeError(node, path, "a string");
    return false;
  }
  *out = value->get();
  return true;
}

bool ReadInt(Context& ctx, const toml::node& node, const std::string& path, int64_t min,
             int64_t max, int* out) {
  const toml::value<int64_t>* value = node.as_integer();
  if (value == nullptr) {
    ctx.TypeError(node, path, "an integer");
    return false;
  }
  const int64_t v = value->get();
  if (v < min || v > max) {
    ctx.Error(node, path, Cat("must be between ", min, " and ", max));
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

// Integers are accepted wherever a float is.
bool ReadNumber(Context& ctx, const toml::node& node, const std::string& path, double max,
                double* out) {
  double v = 0;
  if (const toml::value<int64_t>* i = node.as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const toml::value<double>* f = node.as_floating_point()) {
    v = f->get();
  } else {
    ctx.TypeError(node, path, "a number");
    return false;
  }
  if (!(v > 0 && v <= max)) {  // also rejects nan
    ctx.Error(node, path, Cat("must be greater than 0 and at most ", max));
    return false;
  }
  *out = v;
  return true;
}

bool ReadBool(Context& ctx, const toml::node& node, const std::string& path, bool* out) {
  const toml::value<bool>* value = node.as_boolean();
  if (value == nullptr) {
    ctx.TypeError(node, path, "a boolean (true or false)");
    return false;
  }
  *out = value->get();
  return true;
}

template <typename E, size_t N>
bool ReadEnum(Context& ctx, const toml::node& node, const std::string& path,
              const EnumEntry<E> (&entries)[N], E* out) {
  std::string text;
  if (!ReadString(ctx, node, path, &text)) return false;
  for (const EnumEntry<E>& e : entries) {
    if (e.name == text) {
      *out = e.value;
      return true;
    }
  }
  ctx.Error(node, path, OneOf(entries));
  return false;
}

bool ReadStringArray(Context& ctx, const toml::node& node, const std::string& path,
                     std::vector<std::string>* out) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    ctx.TypeError(node, path, "an array of strings");
    return false;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    std::string v;
    if (ReadString(ctx, *array->get(i), IndexPath(path, i), &v)) {
      values.push_back(std::move(v));
    } else {
      ok = false;
    }
  }
  if (ok) *out = std::move(values);
  return ok;
}

// Secrets from the config are references; relative "file:" paths follow the config.
// A literal secret is refused with exactly what to write instead: `key = "env:ENV"`
// (`env` is the variable the original mOSdat used, where it had one).
bool ReadSecret(Context& ctx, const toml::node& node, const std::string& path, SecretRef* out,
                std::string_view key, std::string_view env) {
  std::string text;
  if (!ReadString(ctx, node, path, &text)) return false;
  absl::StatusOr<SecretRef> ref = SecretRef::Parse(text);
  if (!ref.ok()) {
    std::string message(ref.status().message());
    if (!text.starts_with("env:") && !text.starts_with("file:")) {
      // Never quotes `text`: it is most likely the secret itself.
      message += Cat(": write ", key, " = \"env:", env, "\" and export ", env, ", or ", key,
                     " = \"file:PATH\" naming a file that holds it");
    }
    ctx.Error(node, path, std::move(message));
    return false;
  }
  if (ref->kind() == SecretRef::Kind::kFile) {
    *ref = SecretRef::FromFile(ctx.ResolvePath(ref->target()));
  }
  *out = *std::move(ref);
  return true;
}

// ---------------------------------------------------------------------------
// One TOML table checked against the keys it may contain.

class TableReader {
 public:
  // Reports unknown keys right away. `refused` maps keys that look plausible but are
  // rejected on purpose to the explanation the user gets instead of "unknown key".
  TableReader(Context& ctx, const toml::table& table, std::string path,
              std::initializer_list<std::string_view> known,
              std::initializer_list<std::pair<std::string_view, std::string_view>> refused = {})
      : ctx_(ctx), table_(table), path_(std::move(path)) {
    for (auto&& [key, value] : table) {
      const std::string_view name = key.str();
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string message = "unknown key";
      auto it = std::find_if(refused.begin(), refused.end(),
                             [&](const auto& r) { return r.first == name; });
      if (it != refused.end()) {
        message = std::string(it->second);
      } else if (std::string guess = ClosestName(name, known); !guess.empty()) {
        message += Cat(" (did you mean ", Quoted(guess), "?)");
      } else {
        message += Cat(" (expected one of: ",
                       absl::StrJoin(known, ", ",
                                     [](std::string* out, std::string_view k) { out->append(k); }),
                       ")");
      }
      ctx_.Error(key.source(), JoinPath(path_, name), std::move(message));
    }
  }

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  // The key path of `key` where its value comes from: this table, or the one it
  // inherits from.
  std::string PathOf(std::string_view key) const {
    return Inherited(key) ? JoinPath(parent_path_, key) : JoinPath(path_, key);
  }

  // Keys this table does not set are read from `parent` (at `parent_path`), except
  // those in `not_inherited`. Unknown keys are only reported for this table.
  void Inherit(const toml::table& parent, std::string parent_path,
               std::vector<std::string_view> not_inherited) {
    parent_ = &parent;
    parent_path_ = std::move(parent_path);
    not_inherited_ = std::move(not_inherited);
  }
  // Whether `key`'s value comes from the parent table.
  bool Inherited(std::string_view key) const {
    return parent_ != nullptr && table_.get(key) == nullptr &&
           std::find(not_inherited_.begin(), not_inherited_.end(), key) == not_inherited_.end() &&
           parent_->get(key) != nullptr;
  }

  // The node for `key` (this table's, or an inherited one), or nullptr. A missing
  // required key is reported at the table.
  const toml::node* Find(std::string_view key, bool required = false) {
    const toml::node* node = table_.get(key);
    if (node == nullptr && Inherited(key)) node = parent_->get(key);
    if (node == nullptr && required) {
      ctx_.Error(table_.source(), PathOf(key), "required key is missing");
    }
    return node;
  }

  // Getters return the value node when they stored a value, nullptr otherwise.
  const toml::node* String(std::string_view key, std::string* out,
                           Presence presence = Presence::kOptional) {
    const toml::node* node = Find(key, presence == Presence::kRequired);
    std::string value;
    if (node == nullptr || !ReadString(ctx_, *node, PathOf(key), &value)) return nullptr;
    if (value.empty() && presence != Presence::kOptional) {
      ctx_.Error(*node, PathOf(key), "must not be empty");
      return nullptr;
    }
    *out = std::move(value);
    return node;
  }

  const toml::node* Int(std::string_view key, int64_t min, int64_t max, int* out,
                        bool required = false) {
    const toml::node* node = Find(key, required);
    return node != nullptr && ReadInt(ctx_, *node, PathOf(key), min, max, out) ? node : nullptr;
  }

  const toml::node* Number(std::string_view key, double max, double* out) {
    const toml::node* node = Find(key);
    return node != nullptr && ReadNumber(ctx_, *node, PathOf(key), max, out) ? node : nullptr;
  }

  const toml::node* Bool(std::string_view key, bool* out) {
    const toml::node* node = Find(key);
    return node != nullptr && ReadBool(ctx_, *node, PathOf(key), out) ? node : nullptr;
  }

  const toml::node* StringArray(std::string_view key, std::vector<std::string>* out) {
    const toml::node* node = Find(key);
    return node != nullptr && ReadStringArray(ctx_, *node, PathOf(key), out) ? node : nullptr;
  }

  template <typename E, size_t N>
  const toml::node* Enum(std::string_view key, const EnumEntry<E> (&entries)[N], E* out,
                         bool required = false) {
    const toml::node* node = Find(key, required);
    return node != nullptr && ReadEnum(ctx_, *node, PathOf(key), entries, out) ? node : nullptr;
  }

  // `env` names the variable a literal secret's error suggests instead.
  const toml::node* Secret(std::string_view key, std::string_view env, SecretRef* out,
                           bool required = false) {
    const toml::node* node = Find(key, required);
    return node != nullptr && ReadSecret(ctx_, *node, PathOf(key), out, key, env) ? node : nullptr;
  }

  // A sub-table ([app.env], an inline table...).
  const toml::table* Table(std::string_view key) {
    const toml::node* node = Find(key);
    if (node == nullptr) return nullptr;
    if (const toml::table* table = node->as_table()) return table;
    ctx_.TypeError(*node, PathOf(key), "a table");
    return nullptr;
  }

  // The tables of an array of tables ([[header]]), paired with their key paths.
  std::vector<std::pair<const toml::table*, std::string>> TableArray(std::string_view key,
                                                                     std::string_view header) {
    std::vector<std::pair<const toml::table*, std::string>> out;
    const toml::node* node = Find(key);
    if (node == nullptr) return out;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      ctx_.TypeError(*node, PathOf(key), Cat("an array of tables ([[", header, "]])"));
      return out;
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      std::string path = IndexPath(PathOf(key), i);
      if (const toml::table* table = element.as_table()) {
        out.emplace_back(table, std::move(path));
      } else {
        ctx_.TypeError(element, std::move(path), "a table");
      }
    }
    return out;
  }

 private:
  Context& ctx_;
  const toml::table& table_;
  std::string path_;
  const toml::table* parent_ = nullptr;
  std::string parent_path_;
  std::vector<std::string_view> not_inherited_;
};

// ---------------------------------------------------------------------------
// Sections.

// "a", "a and b", "a, b and c".
std::string EnglishList(const std::vector<std::string>& items) {
  if (items.size() <= 1) return items.empty() ? "" : items[0];
  return Cat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " and ", items.back());
}

// "is" or "are", "it" or "they"... for a list of `n` things.
std::string_view Is(size_t n) { return n == 1 ? "is" : "are"; }
std::string_view ItIs(size_t n) { return n == 1 ? "it is" : "they are"; }

// [app.exit_codes] (see AppConfig::exit_codes): the original's lists replace the
// defaults of their verdict, then single entries override code by code.
void ParseExitCodes(Context& ctx, const toml::table& table, const std::string& path,
                    std::map<int, Verdict>* out) {
  struct Listed {
    Verdict verdict;
    std::string_view list;
    int line;
  };
  std::map<int, Listed> listed;
  constexpr std::pair<std::string_view, Verdict> kLists[] = {{"pass", Verdict::kPass},
                                                             {"fail", Verdict::kFail}};
  for (const auto& [name, verdict] : kLists) {
    const toml::node* node = table.get(name);
    if (node == nullptr) continue;
    const std::string list_path = JoinPath(path, name);
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      ctx.TypeError(*node, list_path, "an array of exit codes (integers from 0 to 255)");
      continue;
    }
    // The list replaces the defaults of its verdict; the other list's codes stay.
    const Verdict replaced = verdict;  // (clang cannot capture a structured binding)
    std::erase_if(*out, [&](const auto& entry) {
      return entry.second == replaced && !listed.contains(entry.first);
    });
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = IndexPath(list_path, i);
      int code = 0;
      if (!ReadInt(ctx, element, element_path, 0, 255, &code)) continue;
      const int line = static_cast<int>(element.source().begin.line);
      auto [it, inserted] = listed.try_emplace(code, Listed{verdict, name, line});
      if (!inserted && it->second.verdict != verdict) {
        ctx.Error(element, element_path,
                  Cat("exit code ", code, " is also in ", JoinPath(path, it->second.list),
                      " (line ", it->second.line, "); keep it in one list"));
        continue;
      }
      (*out)[code] = verdict;
    }
  }
  for (auto&& [key, node] : table) {
    if (key.str() == "pass" || key.str() == "fail") continue;
    const std::string key_path = JoinPath(path, key.str());
    int code = 0;
    if (!ParseBoundedDecimal(key.str(), 255, &code)) {
      ctx.Error(key.source(), key_path,
                "exit code must be an integer from 0 to 255 (or a list: pass = [0, 124], "
                "fail = [139, 134])");
      continue;
    }
    Verdict verdict = Verdict::kUnknown;
    if (!ReadEnum(ctx, node, key_path, kVerdicts, &verdict)) continue;
    if (auto it = listed.find(code); it != listed.end() && it->second.verdict != verdict) {
      ctx.Error(node, key_path,
                Cat("exit code ", code, " is \"", ToString(verdict), "\" here but listed in ",
                    JoinPath(path, it->second.list), " (line ", it->second.line, "); keep one"));
      continue;
    }
    (*out)[code] = verdict;
  }
}

// [app.env] / [build.env]: environment variables by name, each a string.
void ReadEnvTable(Context& ctx, TableReader& r, std::map<std::string, std::string>* env) {
  const toml::table* table = r.Table("env");
  if (table == nullptr) return;
  for (auto&& [key, node] : *table) {
    const std::string key_path = JoinPath(r.PathOf("env"), key.str());
    if (!IsEnvName(key.str())) {
      ctx.Error(key.source(), key_path,
                "not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
      continue;
    }
    std::string value;
    if (ReadString(ctx, node, key_path, &value)) (*env)[std::string(key.str())] = value;
  }
}

void ParseApp(Context& ctx, const toml::table& table, AppConfig* app) {
  TableReader r(
      ctx, table, "app",
      {"name", "version", "binary", "args", "process_name", "timeout", "env", "exit_codes"});
  r.String("name", &app->name, Presence::kRequired);
  r.String("version", &app->version);
  r.String("binary", &app->binary);
  r.StringArray("args", &app->args);
  r.String("process_name", &app->process_name);
  r.Int("timeout", 1, kMaxTimeoutSeconds, &app->timeout);
  ReadEnvTable(ctx, r, &app->env);
  if (const toml::table* codes = r.Table("exit_codes")) {
    ParseExitCodes(ctx, *codes, r.PathOf("exit_codes"), &app->exit_codes);
  }
}

// Ours: repo, ref, command, workdir, artifacts. The original's: repo_path (a local
// clone: our workdir), commands (a list), dist_dir, checkout (of [app].version, on by
// default).
BuildConfig ParseBuild(Context& ctx, const toml::table& table) {
  BuildConfig build;
  TableReader r(ctx, table, "build",
                {"repo", "ref", "command", "commands", "workdir", "repo_path", "artifacts",
                 "dist_dir", "checkout", "env", "timeout"});
  build.location = ctx.Location(table);
  r.String("repo", &build.repo);
  const toml::node* ref = r.String("ref", &build.ref, Presence::kNonEmpty);
  if (ref != nullptr && build.repo.empty()) {
    ctx.Error(*ref, r.PathOf("ref"), "\"ref\" needs \"repo\" (the repository to check out)");
  }
  const toml::node* command = r.Find("command");
  const toml::node* commands = r.Find("commands");
  if (command != nullptr && commands != nullptr) {
    ctx.Error(*commands, r.PathOf("commands"),
              "\"command\" and \"commands\" are two spellings of the same thing; keep one");
  } else if (commands != nullptr) {
    if (r.StringArray("commands", &build.commands)) {
      if (build.commands.empty()) {
        ctx.Error(*commands, r.PathOf("commands"), "must list at least one command");
      }
      for (size_t i = 0; i < build.commands.size(); ++i) {
        if (build.commands[i].empty()) {
          ctx.Error(*commands->as_array()->get(i), IndexPath(r.PathOf("commands"), i),
                    "must not be empty");
        }
      }
    }
  } else if (command != nullptr) {
    std::string one;
    if (r.String("command", &one, Presence::kRequired)) build.commands.push_back(one);
  } else {
    ctx.Error(table.source(), r.PathOf("command"),
              "required key is missing: the shell command that builds the packages (or the "
              "original's list, commands = [\"...\", ...])");
  }
  r.String("workdir", &build.workdir);
  std::string repo_path;
  if (const toml::node* node = r.String("repo_path", &repo_path, Presence::kNonEmpty)) {
    if (r.Find("workdir") != nullptr) {
      ctx.Error(*node, r.PathOf("repo_path"),
                "\"workdir\" and the original's \"repo_path\" both name the directory the "
                "commands run in; keep one");
    } else {
      build.workdir = ctx.ResolvePath(repo_path);
    }
  }
  r.StringArray("artifacts", &build.artifacts);
  r.String("dist_dir", &build.dist_dir, Presence::kNonEmpty);
  const toml::node* checkout = r.Bool("checkout", &build.checkout_app_version);
  // The original checked [app].version out of its clone unless told not to.
  if (r.Find("checkout") == nullptr && r.Find("repo_path") != nullptr) {
    build.checkout_app_version = true;
  }
  if (checkout != nullptr && build.checkout_app_version && ref != nullptr) {
    ctx.Error(*checkout, r.PathOf("checkout"),
              "checkout = true checks out [app].version, and \"ref\" names another revision; "
              "keep one");
  }
  ReadEnvTable(ctx, r, &build.env);
  r.Int("timeout", 1, kMaxTimeoutSeconds, &build.timeout);
  return build;
}

constexpr EnumEntry<std::string_view> kConsoles[] = {{"tunnel", "tunnel"}, {"direct", "direct"}};

// One Proxmox server: [proxmox] (`name` empty) or [proxmox.hosts.NAME], which reads the
// keys it does not set from `parent` ([proxmox]). `shared`: [proxmox] holds only what
// its named hosts share (it has no `host`), so it needs none of the required keys.
// Logs in with an API token (ours) or a password (the original's ticket login).
ProxmoxConfig ParseProxmox(Context& ctx, const toml::table& table, const std::string& path,
                           const std::string& name, const toml::table* parent, bool shared) {
  const std::string section = name.empty() ? "[proxmox]" : Cat("[", path, "]");
  // A key pair is inherited as a whole: a host with its own password does not also
  // inherit [proxmox]'s token, nor a CA bundle next to its own fingerprint.
  std::vector<std::string_view> not_inherited = {"hosts"};
  for (auto pair : {std::pair<std::string_view, std::string_view>{"token", "password"},
                    std::pair<std::string_view, std::string_view>{"ca_file", "fingerprint"}}) {
    if (table.get(pair.first) != nullptr) not_inherited.push_back(pair.second);
    if (table.get(pair.second) != nullptr) not_inherited.push_back(pair.first);
  }
  auto layered = [&](std::string_view key) -> const toml::node* {
    if (const toml::node* node = table.get(key)) return node;
    if (parent == nullptr ||
        std::find(not_inherited.begin(), not_inherited.end(), key) != not_inherited.end()) {
      return nullptr;
    }
    return parent->get(key);
  };
  // Where the certificate's fingerprint can be read, as written in the table.
  std::string host_port = "HOST:8006";
  if (const toml::node* host = layered("host"); host != nullptr && host->is_string()) {
    const std::string& host_name = host->as_string()->get();
    const toml::node* port = layered("port");
    if (!host_name.empty() && host_name.find_first_of("/: ") == std::string::npos) {
      host_port =
          Cat(host_name, ":",
              port != nullptr && port->is_integer() ? port->as_integer()->get() : int64_t{8006});
    }
  }
  const std::string print_fingerprint =
      Cat("openssl s_client -connect ", host_port,
          " </dev/null | openssl x509 -noout -fingerprint -sha256");
  const std::string no_insecure =
      Cat("TLS verification cannot be disabled; pin the server's certificate instead with "
          "fingerprint = \"AA:BB:...\" (print it with: ",
          print_fingerprint, ")");
  ProxmoxConfig px;
  px.name = name;
  TableReader r(
      ctx, table, path,
      {"host", "port", "user", "token", "password", "node", "gpu_pci_address", "gpu_mapping",
       "fingerprint", "ca_file", "subnets", "console", "hosts", "max_concurrent_vms"},
      {{"verify_ssl", no_insecure},
       {"verify_tls", no_insecure},
       {"verify", no_insecure},
       {"insecure", no_insecure}});
  if (parent != nullptr) {
    r.Inherit(*parent, "proxmox", not_inherited);
    if (const toml::node* hosts = table.get("hosts")) {
      ctx.Error(*hosts, r.PathOf("hosts"),
                "named hosts are listed in [proxmox] only ([proxmox.hosts.NAME]), not inside "
                "another host");
    }
  }
  // For a message about keys of which this table sets some and inherits others (when
  // it inherits them all, [proxmox] has the same problem and says so itself).
  auto in_host = [&](std::initializer_list<std::string_view> keys) -> std::string {
    std::string_view inherited;
    bool own = false;
    for (std::string_view key : keys) {
      if (r.Inherited(key)) {
        if (inherited.empty()) inherited = key;
      } else if (table.get(key) != nullptr) {
        own = true;
      }
    }
    if (inherited.empty() || !own) return "";
    return Cat(" (in ", section, ", which inherits ", inherited, ")");
  };
  const bool required = !shared;
  if (const toml::node* host =
          r.String("host", &px.host, required ? Presence::kRequired : Presence::kNonEmpty)) {
    // One colon means "host:port"; IPv6 addresses have several.
    if (px.host.find('/') != std::string::npos ||
        std::count(px.host.begin(), px.host.end(), ':') == 1) {
      ctx.Error(*host, r.PathOf("host"),
                "must be a host name or IP address only, without scheme, port or path (the "
                "port goes in \"port\")");
    }
  }
  r.Int("port", 1, 65535, &px.port);
  r.Int("max_concurrent_vms", 0, 1024, &px.max_concurrent_vms);
  r.Secret("token", "PVE_TOKEN", &px.token);
  r.Secret("password", "PROXMOX_PASSWORD", &px.password);
  const bool has_token = r.Find("token") != nullptr;
  const bool has_password = r.Find("password") != nullptr;
  if (has_token && has_password) {
    ctx.Error(r.Find("password")->source(), r.PathOf("password"),
              "\"token\" (an API token) and \"password\" (a ticket login, as the original "
              "mOSdat logged in) are two ways to log in; keep one");
  }
  bool user_ok = false;
  if (const toml::node* user =
          r.String("user", &px.user, required ? Presence::kRequired : Presence::kOptional)) {
    const size_t at = px.user.find('@');
    const size_t bang = px.user.find('!');
    if (has_password || (!has_token && bang == std::string::npos)) {
      user_ok =
          at != std::string::npos && at > 0 && at + 1 < px.user.size() && bang == std::string::npos;
      if (!user_ok && (!shared || has_password)) {
        ctx.Error(
            *user, r.PathOf("user"),
            Cat(bang == std::string::npos ? "a password logs in as USER@REALM, e.g. \"root@pam\""
                                          : "a password logs in as USER@REALM, e.g. \"root@pam\"; "
                                            "USER@REALM!TOKENID is an API token id: write token = "
                                            "\"env:PVE_TOKEN\" instead of the password",
                in_host({"user", "password"})));
      }
    } else {
      user_ok = at != std::string::npos && bang != std::string::npos && bang > at;
      if (!user_ok && (!shared || has_token)) {
        ctx.Error(*user, r.PathOf("user"),
                  Cat("must be an API token id USER@REALM!TOKENID, e.g. \"root@pam!mosdat\" (or "
                      "log in as USER@REALM with password = \"env:PROXMOX_PASSWORD\" instead of "
                      "token)",
                      in_host({"user", "token"})));
      }
    }
  }
  if (!has_token && !has_password && !shared) {
    if (user_ok) {
      // The original mOSdat's way: a password login, the password from the environment.
      px.password = SecretRef::FromEnv("PROXMOX_PASSWORD");
      ctx.Warning(table, r.PathOf("password"),
                  Cat(section,
                      " has no token and no password; as the original mOSdat did, the "
                      "password of ",
                      Quoted(px.user),
                      " is read from the environment variable PROXMOX_PASSWORD (write password "
                      "= \"env:PROXMOX_PASSWORD\" to say so)"));
    } else {
      ctx.Error(table.source(), r.PathOf("token"),
                "required key is missing: the API token secret, e.g. token = \"env:PVE_TOKEN\" "
                "(or log in with user = \"root@pam\" and password = \"env:PROXMOX_PASSWORD\")");
    }
  }
  r.String("node", &px.node, required ? Presence::kRequired : Presence::kNonEmpty);
  if (const toml::node* pci = r.String("gpu_pci_address", &px.gpu_pci_address)) {
    if (!px.gpu_pci_address.empty() && !IsPciAddress(px.gpu_pci_address)) {
      ctx.Error(*pci, r.PathOf("gpu_pci_address"),
                "must be a PCI address like \"0000:01:00\" or \"0000:01:00.0\"");
    }
  }
  if (const toml::node* mapping = r.String("gpu_mapping", &px.gpu_mapping, Presence::kNonEmpty)) {
    if (!IsPveConfigId(px.gpu_mapping, 128)) {
      ctx.Error(*mapping, r.PathOf("gpu_mapping"),
                "must be the id of a PVE PCI resource mapping (Datacenter > Resource Mappings): "
                "a letter, then letters, digits, \"_\" and \"-\"");
    }
  }
  const toml::node* fp = r.String("fingerprint", &px.fingerprint);
  if (fp != nullptr) {
    if (!px.fingerprint.empty() && !IsSha256Fingerprint(px.fingerprint)) {
      ctx.Error(*fp, r.PathOf("fingerprint"),
                Cat("must be a SHA-256 certificate fingerprint: 32 hex bytes separated by \":\" "
                    "(print it with: ",
                    print_fingerprint, ")"));
    }
    absl::AsciiStrToUpper(&px.fingerprint);
  }
  if (const toml::node* ca = r.String("ca_file", &px.ca_file, Presence::kNonEmpty)) {
    // An inherited path was written relative to the same config file.
    px.ca_file = ctx.ResolvePath(px.ca_file);
    if (r.Find("fingerprint") != nullptr) {
      ctx.Error(*ca, r.PathOf("ca_file"),
                Cat("\"ca_file\" (a CA bundle the certificate is verified against) and "
                    "\"fingerprint\" (one pinned certificate) are two ways to trust the server; "
                    "keep one",
                    in_host({"ca_file", "fingerprint"})));
    }
  }
  if (const toml::node* subnets = r.StringArray("subnets", &px.subnets)) {
    for (size_t i = 0; i < px.subnets.size(); ++i) {
      std::string network;
      const toml::node& element = *subnets->as_array()->get(i);
      const std::string element_path = IndexPath(r.PathOf("subnets"), i);
      if (!ParseIpv4Cidr(px.subnets[i], &network)) {
        ctx.Error(element, element_path,
                  "must be an IPv4 network in CIDR form, e.g. \"192.168.13.0/24\"");
      } else if (network != px.subnets[i]) {
        ctx.Error(element, element_path,
                  Cat("has host bits set; the network is ", Quoted(network)));
      }
    }
  }
  std::string_view console;
  if (r.Enum("console", kConsoles, &console)) px.console = std::string(console);
  if (px.console == "direct" && r.Find("console") != nullptr) {
    ctx.Warning(*r.Find("console"), r.PathOf("console"),
                "\"direct\" (the agent at the node's VNC port) is not honoured yet: the console "
                "goes through vncproxy and vncwebsocket, the tunnel every Proxmox VE setup "
                "allows");
  }
  // The original never checked the certificate; its configs pin nothing.
  if (!shared && px.password.is_set() && r.Find("fingerprint") == nullptr &&
      r.Find("ca_file") == nullptr) {
    ctx.Warning(
        table, r.PathOf("fingerprint"),
        Cat("the original mOSdat never checked the Proxmox server's certificate; mOSdat "
            "always does, against this machine's CAs, so a self-signed certificate "
            "(Proxmox's default) is refused: pin it in ",
            section, " with fingerprint = \"AA:BB:...\" (print it with: ", print_fingerprint, ")"));
  }
  return px;
}

// [proxmox]: one server, and/or named hosts [proxmox.hosts.NAME] (in file order) that
// inherit its keys. config->proxmox is set when [proxmox] names a server (`host`).
void ParseProxmoxSection(Context& ctx, const toml::table& table, Config* config) {
  std::vector<std::pair<std::string, const toml::table*>> hosts;
  if (const toml::node* node = table.get("hosts")) {
    if (const toml::table* list = node->as_table()) {
      for (auto&& [key, value] : *list) {
        const std::string host_path = JoinPath("proxmox.hosts", key.str());
        if (!IsSimpleName(key.str())) {
          ctx.Error(key.source(), host_path,
                    "a host name must contain only letters, digits, \"_\", \".\" and \"-\"");
        } else if (const toml::table* host = value.as_table()) {
          hosts.emplace_back(std::string(key.str()), host);
        } else {
          ctx.TypeError(value, host_path, "a table ([proxmox.hosts.NAME])");
        }
      }
    } else {
      ctx.TypeError(*node, "proxmox.hosts", "a table of named hosts ([proxmox.hosts.NAME])");
    }
  }
  std::stable_sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) {
    const toml::source_position pa = a.second->source().begin;
    const toml::source_position pb = b.second->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });
  const bool has_host = table.get("host") != nullptr;
  const bool shared = !has_host && (!hosts.empty() || table.get("hosts") != nullptr);
  ProxmoxConfig top = ParseProxmox(ctx, table, "proxmox", "", nullptr, shared);
  if (has_host) config->proxmox = std::move(top);
  for (const auto& [name, host] : hosts) {
    config->proxmox_hosts.push_back(
        ParseProxmox(ctx, *host, JoinPath("proxmox.hosts", name), name, &table, false));
  }
}

VlmConfig ParseVlm(Context& ctx, const toml::table& table) {
  VlmConfig vlm;
  TableReader r(
      ctx, table, "vlm",
      {"base_url", "fallback_base_urls", "model", "verify_model", "expected_model", "api_key",
       "coordinates", "timeout", "max_concurrency", "retries", "cache_dir", "max_tokens_floor"});
  constexpr std::string_view kUrlError = "must start with \"http://\" or \"https://\"";
  if (const toml::node* url = r.String("base_url", &vlm.base_url, Presence::kRequired)) {
    if (!IsHttpUrl(vlm.base_url)) ctx.Error(*url, r.PathOf("base_url"), std::string(kUrlError));
  }
  if (const toml::node* urls = r.StringArray("fallback_base_urls", &vlm.fallback_base_urls)) {
    for (size_t i = 0; i < vlm.fallback_base_urls.size(); ++i) {
      if (!IsHttpUrl(vlm.fallback_base_urls[i])) {
        ctx.Error(*urls->as_array()->get(i), IndexPath(r.PathOf("fallback_base_urls"), i),
                  std::string(kUrlError));
      }
    }
  }
  r.String("model", &vlm.model, Presence::kRequired);
  r.String("verify_model", &vlm.verify_model);
  r.String("expected_model", &vlm.expected_model);
  r.Secret("api_key", "VLM_API_KEY", &vlm.api_key);
  r.Enum("coordinates", kCoordinates, &vlm.coordinates);
  r.Number("timeout", 3600, &vlm.timeout);
  r.Int("max_concurrency", 1, 64, &vlm.max_concurrency);
  r.Int("retries", 0, 10, &vlm.retries);
  r.String("cache_dir", &vlm.cache_dir, Presence::kNonEmpty);
  if (const toml::node* floor = r.Int("max_tokens_floor", 0, 1000000, &vlm.max_tokens_floor);
      floor != nullptr && vlm.max_tokens_floor > kVlmMaxTokens) {
    ctx.Warning(*floor, r.PathOf("max_tokens_floor"),
                Cat("[vlm].max_tokens_floor = ", vlm.max_tokens_floor,
                    " is read but mOSdat asks every model for ", kVlmMaxTokens,
                    " tokens; a floor above that is not honoured"));
  }
  return vlm;
}

void ParseDefaults(Context& ctx, const toml::table& table, DefaultsConfig* defaults) {
  TableReader r(ctx, table, "defaults", {"user"});
  r.String("user", &defaults->user, Presence::kNonEmpty);
}

PackageConfig ParsePackage(Context& ctx, const toml::table& table, std::string path) {
  PackageConfig package;
  TableReader r(ctx, table, std::move(path),
                {"format", "path", "install", "uninstall", "app_path", "process_name", "file_glob",
                 "appid", "remote", "data_dir", "version"});
  const bool format_ok =
      r.Enum("format", kPackageFormats, &package.format, /*required=*/true) != nullptr;
  r.String("path", &package.path, Presence::kNonEmpty);
  r.String("install", &package.install);
  r.String("uninstall", &package.uninstall);
  r.String("app_path", &package.app_path, Presence::kNonEmpty);
  r.String("process_name", &package.process_name, Presence::kNonEmpty);
  r.String("file_glob", &package.file_glob, Presence::kNonEmpty);
  r.String("appid", &package.appid, Presence::kNonEmpty);
  r.String("remote", &package.remote, Presence::kNonEmpty);
  r.String("data_dir", &package.data_dir, Presence::kNonEmpty);
  r.String("version", &package.version, Presence::kNonEmpty);

  const toml::node* path_node = r.Find("path");
  const toml::node* glob = r.Find("file_glob");
  const toml::node* appid = r.Find("appid");
  const toml::node* remote = r.Find("remote");
  if (path_node != nullptr && glob != nullptr) {
    ctx.Error(*glob, r.PathOf("file_glob"),
              "\"path\" and \"file_glob\" both say which package file to install; keep one");
  }
  if (!format_ok) return package;  // the checks below depend on the format
  const bool from_store =
      package.format == PackageFormat::kFlatpak || package.format == PackageFormat::kSnap;
  for (const toml::node* node : {appid, remote}) {
    if (node != nullptr && !from_store) {
      const std::string_view key = node == appid ? "appid" : "remote";
      ctx.Error(
          *node, r.PathOf(key),
          Cat("\"", key, "\" is for flatpak and snap packages, not ", ToString(package.format)));
    }
  }
  if (from_store && remote != nullptr && appid == nullptr) {
    ctx.Error(*remote, r.PathOf("remote"), "\"remote\" needs \"appid\" (the app's id there)");
  }
  // Neither path nor file_glob: the plan matches the original's default glob
  // "<app>-*.<format>", or the one package of that format (core/package_install.h).
  return package;
}

// Reads one [[vm]]; cross-VM checks happen in ParseVms. `provider_valid` tells whether
// a written provider was understood.
VmConfig ParseVm(Context& ctx, TableReader& r, const Config& config, bool* provider_valid) {
  VmConfig vm;
  vm.location = ctx.Location(r.table());
  if (const toml::node* name = r.String("name", &vm.name, Presence::kRequired)) {
    if (!IsSimpleName(vm.name)) {
      ctx.Error(*name, r.PathOf("name"),
                "must contain only letters, digits, \"_\", \".\" and \"-\"");
    }
  }
  *provider_valid = r.Enum("provider", kProviders, &vm.provider) != nullptr;
  r.Int("vmid", 100, kMaxVmid, &vm.vmid);
  r.String("ip", &vm.ip);
  r.String("desktop", &vm.desktop);
  if (r.Find("user") == nullptr) vm.user = config.defaults.user;
  r.String("user", &vm.user);
  r.Enum("os_type", kOsTypes, &vm.os_type);
  r.Enum("x11", kX11Modes, &vm.x11);
  r.String("app_path", &vm.app_path);
  r.Int("ssh_port", 1, 65535, &vm.ssh_port);
  if (r.String("ssh_key", &vm.ssh_key, Presence::kNonEmpty))
    vm.ssh_key = ctx.ResolvePath(vm.ssh_key);
  if (const toml::node* fp = r.String("host_key_fingerprint", &vm.host_key_fingerprint)) {
    if (!vm.host_key_fingerprint.empty() && !IsSshFingerprint(vm.host_key_fingerprint)) {
      ctx.Error(*fp, r.PathOf("host_key_fingerprint"),
                "must be \"SHA256:\" followed by 43 base64 characters (ssh-keygen -lf)");
    }
  }
  r.Bool("gpu", &vm.gpu);
  std::string geometry;
  if (const toml::node* node = r.String("geometry", &geometry)) {
    if (!ParseGeometry(geometry, &vm.geometry)) {
      ctx.Error(*node, r.PathOf("geometry"), "must be WIDTHxHEIGHT, e.g. \"1280x800\"");
    }
  }
  r.String("agent", &vm.agent);
  if (const toml::node* password = r.Secret("password", "MOSDAT_VM_PASSWORD", &vm.password)) {
    ctx.Warning(*password, r.PathOf("password"),
                "[[vm]] password is read but mOSdat logs in to VMs with an SSH key (ssh_key), "
                "never a password; it is ignored");
  }
  for (auto& [table, path] : r.TableArray("package", "vm.package")) {
    vm.packages.push_back(ParsePackage(ctx, *table, std::move(path)));
  }
  // Proxmox only: ParseVms warns that a local VM ignores them.
  r.String("proxmox", &vm.proxmox_host, Presence::kNonEmpty);
  if (const toml::node* pve_name = r.String("pve_name", &vm.pve_name, Presence::kNonEmpty)) {
    if (!IsDnsName(vm.pve_name)) {
      ctx.Error(*pve_name, r.PathOf("pve_name"),
                "must be a VM name Proxmox accepts: letters, digits and \"-\" (not first or "
                "last), in labels separated by \".\"");
    }
  }
  if (const toml::node* snapshot = r.String("snapshot", &vm.snapshot, Presence::kNonEmpty)) {
    if (!IsPveConfigId(vm.snapshot, 40)) {
      ctx.Error(*snapshot, r.PathOf("snapshot"),
                "must be a Proxmox snapshot name: a letter, then letters, digits, \"_\" and "
                "\"-\", 2 to 40 characters in all");
    }
  }
  if (const toml::node* after = r.Enum("after", kAfterJob, &vm.after);
      after != nullptr && vm.after == VmAfterJob::kRollback && r.Find("snapshot") == nullptr) {
    ctx.Error(*after, r.PathOf("after"),
              "after = \"rollback\" needs snapshot = \"NAME\" (the snapshot to roll back to)");
  }
  r.Enum("gpu_mode", kGpuModes, &vm.gpu_mode);
  r.Number("ready_timeout", kMaxTimeoutSeconds, &vm.ready_timeout);
  r.Number("shutdown_timeout", kMaxTimeoutSeconds, &vm.shutdown_timeout);
  return vm;
}

// "[proxmox]" or "[proxmox.hosts.NAME]", for messages.
std::string SectionOf(const ProxmoxConfig& host) {
  return host.name.empty() ? "[proxmox]" : Cat("[", JoinPath("proxmox.hosts", host.name), "]");
}

// The checks of a proxmox VM against its host (`host` is null when it has none).
void CheckProxmoxVm(Context& ctx, TableReader& r, const Config& config, const VmConfig& vm,
                    const ProxmoxConfig* host) {
  const toml::node* named = r.table().get("proxmox");
  if (named != nullptr && !vm.proxmox_host.empty() && host == nullptr) {
    std::vector<std::string_view> names;
    for (const ProxmoxConfig& h : config.proxmox_hosts) names.push_back(h.name);
    std::string message = Cat("unknown Proxmox host ", Quoted(vm.proxmox_host));
    if (std::string guess = ClosestName(vm.proxmox_host, names); !guess.empty()) {
      message += Cat(" (did you mean ", Quoted(guess), "?)");
    } else if (names.empty()) {
      message += " (no [proxmox.hosts.NAME] is defined)";
    } else {
      std::vector<std::string> quoted;
      for (std::string_view n : names) quoted.push_back(Quoted(n));
      message += Cat(" (the hosts are ", EnglishList(quoted), ")");
    }
    ctx.Error(*named, r.PathOf("proxmox"), std::move(message));
  } else if (named == nullptr && host == nullptr) {
    const toml::node* provider = r.table().get("provider");
    const toml::source_region where = provider != nullptr ? provider->source() : r.table().source();
    if (!config.proxmox_hosts.empty()) {
      std::vector<std::string> quoted;
      for (const ProxmoxConfig& h : config.proxmox_hosts) quoted.push_back(Quoted(h.name));
      ctx.Error(where, r.PathOf("provider"),
                Cat("provider \"proxmox\" needs a host, and [proxmox] has no \"host\": "
                    "name one of the [proxmox.hosts.NAME] with proxmox = ",
                    quoted.front(),
                    quoted.size() > 1 ? Cat(" (the hosts: ", absl::StrJoin(quoted, ", "), ")")
                                      : std::string()));
    }
    // Without hosts, [proxmox] itself already says its "host" is missing.
  }
  // gpu = true is checked by ParseVms; here what only a proxmox VM reads.
  const toml::node* mode = r.table().get("gpu_mode");
  const bool mode_valid =
      mode != nullptr && mode->is_string() &&
      std::any_of(std::begin(kGpuModes), std::end(kGpuModes),
                  [&](const auto& e) { return e.name == mode->as_string()->get(); });
  if (mode_valid) {  // a malformed one is reported already
    if (!vm.gpu) {
      ctx.Warning(*mode, r.PathOf("gpu_mode"),
                  "[[vm]] gpu_mode has no effect without gpu = true; it is ignored");
    } else if (vm.gpu_mode == GpuMode::kPrimary) {
      ctx.Warning(*mode, r.PathOf("gpu_mode"),
                  "gpu_mode = \"primary\" makes the GPU the VM's display (x-vga=1), which "
                  "leaves the VNC console blank: steps that capture or act on the screen "
                  "(screenshots, localize, click, visual, verify) cannot work; keep gpu_mode = "
                  "\"compute\" for tests that use the screen");
    }
  }
}

void ParseVms(Context& ctx, TableReader& root, Config* config) {
  struct Seen {
    int line;
    std::string vm;
  };
  absl::flat_hash_map<std::string, int> name_lines;
  // Per Proxmox host ("" = [proxmox]): the vmids, and the names VMs without one are
  // looked up by.
  absl::flat_hash_map<std::pair<std::string, int>, Seen> vmids;
  absl::flat_hash_map<std::pair<std::string, std::string>, Seen> lookups;
  for (auto& [table, path] : root.TableArray("vm", "vm")) {
    TableReader r(
        ctx, *table, std::move(path),
        {"name",     "provider", "vmid",     "ip",       "desktop",       "user",
         "os_type",  "x11",      "app_path", "ssh_port", "ssh_key",       "host_key_fingerprint",
         "gpu",      "geometry", "agent",    "password", "package",       "proxmox",
         "pve_name", "snapshot", "after",    "gpu_mode", "ready_timeout", "shutdown_timeout"});
    bool provider_valid = false;
    VmConfig vm = ParseVm(ctx, r, *config, &provider_valid);

    if (const toml::node* name = r.table().get("name"); name != nullptr && !vm.name.empty()) {
      const int line = static_cast<int>(name->source().begin.line);
      auto [it, inserted] = name_lines.try_emplace(vm.name, line);
      if (!inserted) {
        ctx.Error(*name, r.PathOf("name"),
                  Cat("duplicate VM name ", Quoted(vm.name), " (first defined at line ", it->second,
                      ")"));
      }
    }
    // With a malformed provider (already reported) the provider checks would guess.
    const toml::node* provider = r.table().get("provider");
    const bool provider_ok = provider == nullptr || provider_valid;
    const bool on_proxmox = provider_ok && vm.provider == VmProvider::kProxmox;
    const ProxmoxConfig* host = on_proxmox ? ProxmoxHostFor(*config, vm) : nullptr;
    if (on_proxmox) {
      if (root.table().get("proxmox") == nullptr) {
        ctx.Error(provider != nullptr ? provider->source() : table->source(), r.PathOf("provider"),
                  "provider \"proxmox\" needs a [proxmox] section");
      } else {
        CheckProxmoxVm(ctx, r, *config, vm, host);
      }
    } else if (provider_ok) {
      std::vector<std::string> ignored;
      for (std::string_view key : {"proxmox", "pve_name", "snapshot", "after", "gpu_mode",
                                   "ready_timeout", "shutdown_timeout"}) {
        if (r.table().get(key) != nullptr) ignored.emplace_back(key);
      }
      if (!ignored.empty()) {
        ctx.Warning(*table, r.path(),
                    Cat("[[vm]] ", EnglishList(ignored), " ", Is(ignored.size()), " read but VM ",
                        Quoted(vm.name), " is a local VM (provider = \"local\"), which ",
                        ignored.size() == 1 ? "has no use for it" : "has no use for them", "; ",
                        ItIs(ignored.size()), " ignored"));
      }
    }
    const std::string on_host =
        vm.proxmox_host.empty() ? "" : Cat(" on host ", Quoted(vm.proxmox_host));
    if (const toml::node* vmid = r.table().get("vmid"); vmid != nullptr && vm.vmid != 0) {
      const int line = static_cast<int>(vmid->source().begin.line);
      auto [it, inserted] =
          vmids.try_emplace(std::pair(vm.proxmox_host, vm.vmid), Seen{line, vm.name});
      if (!inserted) {
        ctx.Error(*vmid, r.PathOf("vmid"),
                  Cat("duplicate vmid ", vm.vmid, on_host, " (first used by VM ",
                      Quoted(it->second.vm), " at line ", it->second.line, ")"));
      }
    }
    // Without a vmid, a proxmox VM is found by its name in Proxmox.
    if (on_proxmox && vm.vmid == 0 && r.table().get("vmid") == nullptr && !vm.name.empty()) {
      const toml::node* by = r.table().get("pve_name");
      if (by == nullptr) by = r.table().get("name");
      const std::string& lookup = vm.pve_name.empty() ? vm.name : vm.pve_name;
      if (vm.pve_name.empty() && by != nullptr && IsSimpleName(vm.name) && !IsDnsName(vm.name)) {
        ctx.Error(*by, r.PathOf("name"),
                  Cat("VM ", Quoted(vm.name),
                      " has no vmid, so it is looked up in Proxmox by name, and Proxmox VM "
                      "names hold only letters, digits, \"-\" and \".\": set vmid, or pve_name "
                      "= the VM's name in Proxmox"));
      } else if (by != nullptr && (vm.pve_name.empty() || IsDnsName(vm.pve_name))) {
        const int line = static_cast<int>(by->source().begin.line);
        auto [it, inserted] =
            lookups.try_emplace(std::pair(vm.proxmox_host, lookup), Seen{line, vm.name});
        if (!inserted) {
          ctx.Error(*by, r.PathOf(by == r.table().get("name") ? "name" : "pve_name"),
                    Cat("VM ", Quoted(vm.name), " is looked up by the Proxmox name ",
                        Quoted(lookup), on_host, ", as VM ", Quoted(it->second.vm), " is (line ",
                        it->second.line, "); give one of them a vmid or another pve_name"));
        }
      }
    }
    if (const toml::node* gpu = r.table().get("gpu"); provider_ok && gpu != nullptr && vm.gpu) {
      if (vm.provider != VmProvider::kProxmox) {
        ctx.Error(*gpu, r.PathOf("gpu"), "GPU passthrough needs provider = \"proxmox\"");
      } else if (host != nullptr && host->gpu_mapping.empty() && host->gpu_pci_address.empty()) {
        ctx.Error(*gpu, r.PathOf("gpu"),
                  Cat("GPU passthrough needs ", SectionOf(*host),
                      " gpu_mapping (a PVE PCI resource mapping) or gpu_pci_address"));
      } else if (host != nullptr && host->gpu_mapping.empty() && host->user != "root@pam") {
        // PVE: "only root can set 'hostpciN' config for non-mapped devices".
        ctx.Error(
            *gpu, r.PathOf("gpu"),
            Cat("GPU passthrough with gpu_pci_address needs root@pam: Proxmox lets only "
                "root@pam itself pass a raw PCI device (hostpci host=",
                host->gpu_pci_address, "), and ",
                host->token.is_set() ? "an API token, even one of root@pam's," : Quoted(host->user),
                " is not root@pam; map the GPU in Datacenter > Resource Mappings > PCI "
                "Devices and write gpu_mapping = \"NAME\" in ",
                SectionOf(*host), " (it replaces gpu_pci_address)"));
      }
    }
    config->vms.push_back(std::move(vm));
  }
}

void ParseTests(Context& ctx, TableReader& root, Config* config) {
  std::vector<std::string_view> vm_names;
  for (const VmConfig& vm : config->vms) vm_names.push_back(vm.name);
  absl::flat_hash_map<std::string, int> name_lines;

  for (auto& [table, path] : root.TableArray("test", "test")) {
    TestConfig test;
    test.location = ctx.Location(*table);
    TableReader r(ctx, *table, std::move(path),
                  {"name", "scenario", "variant", "script", "gpu", "vms", "timeout", "tags",
                   "allow_files_from"});
    if (const toml::node* name = r.String("name", &test.name, Presence::kRequired)) {
      if (!IsSimpleName(test.name)) {
        ctx.Error(*name, r.PathOf("name"),
                  "must contain only letters, digits, \"_\", \".\" and \"-\"");
      } else {
        const int line = static_cast<int>(name->source().begin.line);
        auto [it, inserted] = name_lines.try_emplace(test.name, line);
        if (!inserted) {
          ctx.Error(*name, r.PathOf("name"),
                    Cat("duplicate test name ", Quoted(test.name), " (first defined at line ",
                        it->second, ")"));
        }
      }
    }
    const toml::node* scenario = r.String("scenario", &test.scenario, Presence::kNonEmpty);
    if (scenario != nullptr) test.scenario = ctx.ResolvePath(test.scenario);
    SmokeVariant variant{};
    const toml::node* variant_node = r.Enum("variant", kVariants, &variant);
    if (variant_node != nullptr) test.variant = variant;
    r.String("script", &test.script, Presence::kNonEmpty);
    // Judged by presence, so a malformed value does not also read as "missing".
    std::vector<std::string> kinds;  // quoted
    std::string_view last_key;
    for (std::string_view key : {"scenario", "variant", "script"}) {
      if (r.table().get(key) != nullptr) {
        kinds.push_back(Quoted(key));
        last_key = key;
      }
    }
    if (kinds.size() > 1) {
      ctx.Error(*r.table().get(last_key), r.PathOf(last_key),
                Cat(EnglishList(kinds), " are mutually exclusive; keep one"));
    } else if (kinds.empty()) {
      ctx.Error(table->source(), r.path(),
                "needs either \"scenario\" (a YAML scenario file), \"variant\" (a smoke test: "
                "\"wayland-real\", \"wayland-fake\", \"wayland-nodisp\", \"x11\") or \"script\" "
                "(the original mOSdat's smoke-test shell script)");
    }
    if (const toml::node* gpu = r.Bool("gpu", &test.gpu);
        gpu != nullptr && r.table().get("script") == nullptr) {
      ctx.Error(*gpu, r.PathOf("gpu"),
                "\"gpu\" marks the original mOSdat's smoke-test scripts that need the GPU; "
                "GPU passthrough is set per VM: [[vm]] gpu = true");
    }
    if (const toml::node* vms = r.StringArray("vms", &test.vms)) {
      std::vector<std::string_view> listed;
      for (size_t i = 0; i < test.vms.size(); ++i) {
        const toml::node& element = *vms->as_array()->get(i);
        const std::string element_path = IndexPath(r.PathOf("vms"), i);
        const std::string& vm = test.vms[i];
        if (std::find(listed.begin(), listed.end(), vm) != listed.end()) {
          ctx.Error(element, element_path, Cat("VM ", Quoted(vm), " is listed twice"));
        } else if (config->FindVm(vm) == nullptr) {
          std::string message = Cat("unknown VM ", Quoted(vm));
          if (std::string guess = ClosestName(vm, vm_names); !guess.empty()) {
            message += Cat(" (did you mean ", Quoted(guess), "?)");
          } else if (vm_names.empty()) {
            message += Cat(" (no [[vm]] is defined)");
          }
          ctx.Error(element, element_path, std::move(message));
        }
        listed.push_back(vm);
      }
    }
    int timeout = 0;
    if (r.Int("timeout", 1, kMaxTimeoutSeconds, &timeout)) test.timeout = timeout;
    r.StringArray("tags", &test.tags);
    if (r.StringArray("allow_files_from", &test.allow_files_from)) {
      for (std::string& dir : test.allow_files_from) dir = ctx.ResolvePath(dir);
    }
    config->tests.push_back(std::move(test));
  }
}

// The original's [functional]: tests_dir is honoured (see core/test_resolution.h); the
// values it handed to scenarios are read and warned about.
void ParseFunctional(Context& ctx, const toml::table& table, FunctionalConfig* functional) {
  TableReader r(ctx, table, "functional",
                {"enabled", "tests_dir", "workspace_url", "test_user", "test_password"});
  if (const toml::node* enabled = r.Bool("enabled", &functional->enabled)) {
    ctx.Warning(*enabled, r.PathOf("enabled"),
                "[functional].enabled is read but has no effect: mOSdat runs functional tests "
                "whenever they are asked for");
  }
  if (r.String("tests_dir", &functional->tests_dir, Presence::kNonEmpty)) {
    functional->tests_dir = ctx.ResolvePath(functional->tests_dir);
  }
  r.String("workspace_url", &functional->workspace_url);
  r.Secret("test_user", "FUNCTIONAL_TEST_USER", &functional->test_user);
  r.Secret("test_password", "FUNCTIONAL_TEST_PASSWORD", &functional->test_password);
  // workspace_url, test_user and test_password reach scenarios as variables
  // (core/preflight.h ScenarioOptionsFor, RunSecrets); the credentials are hidden in
  // every event.
}

void ParseReport(Context& ctx, const toml::table& table, ReportConfig* report) {
  TableReader r(ctx, table, "report",
                {"output_dir", "junit", "screenshots", "title", "critical_tests",
                 "critical_description", "known_issues"});
  r.String("output_dir", &report->output_dir, Presence::kNonEmpty);
  r.Bool("junit", &report->junit);
  r.Enum("screenshots", kScreenshotPolicies, &report->screenshots);
  r.String("title", &report->title);
  r.StringArray("critical_tests", &report->critical_tests);
  r.String("critical_description", &report->critical_description);
  if (const toml::table* issues = r.Table("known_issues")) {
    for (auto&& [key, node] : *issues) {
      std::string value;
      if (ReadString(ctx, node, JoinPath(r.PathOf("known_issues"), key.str()), &value)) {
        report->known_issues[std::string(key.str())] = value;
      }
    }
  }
  std::vector<std::string> ignored;
  for (std::string_view key : {"title", "critical_tests", "critical_description", "known_issues"}) {
    if (r.Find(key) != nullptr) ignored.emplace_back(key);
  }
  if (!ignored.empty()) {
    ctx.Warning(
        table, "report",
        Cat("[report] ", EnglishList(ignored), " ", Is(ignored.size()),
            " read but mOSdat's results (events.jsonl, junit.xml) do not show ",
            ignored.size() == 1 ? "it" : "them", " yet; ", ItIs(ignored.size()), " ignored"));
  }
}

void ParseCursor(Context& ctx, const toml::table& table, CursorConfig* cursor) {
  TableReader r(ctx, table, "cursor",
                {"park", "visible", "profile", "duration_ms", "hover_dwell_ms", "seed"});
  if (const toml::node* park = r.Find("park")) {
    const toml::array* array = park->as_array();
    if (array == nullptr || array->size() != 2) {
      ctx.Error(*park, r.PathOf("park"), "must be [x, y]: two non-negative integers");
    } else {
      CursorPark point;
      const bool ok_x =
          ReadInt(ctx, *array->get(0), IndexPath(r.PathOf("park"), 0), 0, kMaxScreenSide, &point.x);
      const bool ok_y =
          ReadInt(ctx, *array->get(1), IndexPath(r.PathOf("park"), 1), 0, kMaxScreenSide, &point.y);
      if (ok_x && ok_y) cursor->park = point;
    }
  }
  r.Bool("visible", &cursor->visible);
  // The original's pointer motion: mOSdat's is "instant" with no dwell.
  const toml::node* profile = r.Enum("profile", kCursorProfiles, &cursor->profile);
  const toml::node* duration = r.Int("duration_ms", 0, 5000, &cursor->duration_ms);
  const toml::node* dwell = r.Int("hover_dwell_ms", 0, kMaxMilliseconds, &cursor->hover_dwell_ms);
  const toml::node* seed = r.String("seed", &cursor->seed, Presence::kNonEmpty);
  if ((profile != nullptr && cursor->profile != CursorProfile::kInstant) ||
      (dwell != nullptr && cursor->hover_dwell_ms > 0)) {
    std::vector<std::string> written;
    if (profile != nullptr) written.push_back(Cat("profile = ", Quoted(ToString(cursor->profile))));
    if (duration != nullptr) written.push_back(Cat("duration_ms = ", cursor->duration_ms));
    if (dwell != nullptr) written.push_back(Cat("hover_dwell_ms = ", cursor->hover_dwell_ms));
    if (seed != nullptr) written.push_back(Cat("seed = ", Quoted(cursor->seed)));
    ctx.Warning(table, "cursor",
                Cat("[cursor] ", EnglishList(written), " ", Is(written.size()),
                    " read but mOSdat moves the pointer to its target at once, with no dwell (as "
                    "profile = \"instant\"); ",
                    ItIs(written.size()), " ignored"));
  }
}

// [verify] (core/verify_config.h). Every listed string must be non-empty: an empty one
// would match anything.
void ReadNonEmptyStrings(Context& ctx, TableReader& r, std::string_view key,
                         std::vector<std::string>* out) {
  const toml::node* node = r.StringArray(key, out);
  if (node == nullptr) return;
  for (size_t i = 0; i < out->size(); ++i) {
    if ((*out)[i].empty()) {
      ctx.Error(*node->as_array()->get(i), IndexPath(r.PathOf(key), i), "must not be empty");
    }
  }
}

void ParseVerify(Context& ctx, const toml::table& table, VerifyConfig* verify) {
  TableReader r(ctx, table, "verify", {"asar", "symbols", "asar_file", "binary"},
                {{"verify_symbols", "write the list as symbols = [...] in [verify]"},
                 {"expect_symbols", "write the list as symbols = [...] in [verify]"}});
  r.String("asar", &verify->asar, Presence::kNonEmpty);
  ReadNonEmptyStrings(ctx, r, "symbols", &verify->symbols);
  for (auto& [file, path] : r.TableArray("asar_file", "verify.asar_file")) {
    TableReader f(ctx, *file, path, {"path", "strings"});
    AsarFileCheck check;
    f.String("path", &check.path, Presence::kRequired);
    ReadNonEmptyStrings(ctx, f, "strings", &check.strings);
    verify->asar_files.push_back(std::move(check));
  }
  for (auto& [binary, path] : r.TableArray("binary", "verify.binary")) {
    TableReader b(ctx, *binary, path, {"path", "exports", "strings"});
    BinaryCheck check;
    b.String("path", &check.path, Presence::kRequired);
    ReadNonEmptyStrings(ctx, b, "exports", &check.exports);
    ReadNonEmptyStrings(ctx, b, "strings", &check.strings);
    if (check.exports.empty() && check.strings.empty() && !check.path.empty()) {
      ctx.Error(*binary, path, "checks nothing: give exports = [...] or strings = [...]");
    }
    verify->binaries.push_back(std::move(check));
  }
}

void ParseRoot(Context& ctx, const toml::table& root, Config* config) {
  TableReader r(ctx, root, "",
                {"app", "build", "proxmox", "vlm", "defaults", "vm", "test", "functional", "report",
                 "cursor", "verify"},
                {{"holo2",
                  "[holo2] is the original mOSdat's old name for [vlm]; rename the table to "
                  "[vlm] (base_url, model)"}});
  if (r.Find("app") == nullptr) {
    ctx.Error(root.source(), "app", "required table [app] is missing");
  } else if (const toml::table* app = r.Table("app")) {
    ParseApp(ctx, *app, &config->app);
  }
  if (const toml::table* build = r.Table("build")) config->build = ParseBuild(ctx, *build);
  if (const toml::table* px = r.Table("proxmox")) ParseProxmoxSection(ctx, *px, config);
  if (const toml::table* vlm = r.Table("vlm")) config->vlm = ParseVlm(ctx, *vlm);
  // [defaults] before the VMs it fills in; VMs after [proxmox] (they check it exists)
  // and before tests (which name them).
  if (const toml::table* defaults = r.Table("defaults")) {
    ParseDefaults(ctx, *defaults, &config->defaults);
  }
  ParseVms(ctx, r, config);
  ParseTests(ctx, r, config);
  if (const toml::table* functional = r.Table("functional")) {
    ParseFunctional(ctx, *functional, &config->functional);
  }
  if (const toml::table* report = r.Table("report")) ParseReport(ctx, *report, &config->report);
  if (const toml::table* cursor = r.Table("cursor")) ParseCursor(ctx, *cursor, &config->cursor);
  if (const toml::table* verify = r.Table("verify")) {
    ParseVerify(ctx, *verify, &config->verify.emplace());
  }
}

}  // namespace

Config ParseConfig(std::string_view text, std::string_view file_name, Diagnostics* diagnostics) {
  Config config;
  config.source_path = std::string(file_name);
  Context ctx(file_name);
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    ctx.Error(error.source(), "", std::string(error.description()));
    ctx.Flush(diagnostics);
    return config;
  }
#else
  toml::parse_result result = toml::parse(text, file_name);
  if (!result) {
    ctx.Error(result.error().source(), "", std::string(result.error().description()));
    ctx.Flush(diagnostics);
    return config;
  }
  root = std::move(result).table();
#endif
  ParseRoot(ctx, root, &config);
  ctx.Flush(diagnostics);
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& path, Diagnostics* warnings) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        Cat("cannot read config file ", text.status().message()));
  }
  Diagnostics diagnostics;
  Config config = ParseConfig(*text, path, &diagnostics);
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  if (warnings != nullptr) {
    for (const Diagnostic& w : diagnostics.warnings()) {
      warnings->Warn(w.location, w.key_path, w.message);
    }
  }
  return config;
}

}  // namespace mosdat
