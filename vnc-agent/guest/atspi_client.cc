#include "vnc-agent/guest/atspi_client.h"

#include "absl/strings/str_cat.h"
#include "core/json_depth.h"

namespace mosdat {
namespace {

using nlohmann::json;

// The helper is untrusted input: read fields defensively.
std::string String(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? static_cast<int>(it->get<double>()) : 0;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<AccessibleObject> ObjectFrom(const json& j) {
  if (!j.is_object()) return absl::DataLossError("the AT-SPI helper sent no object");
  AccessibleObject object;
  object.role = String(j, "role");
  object.name = String(j, "name");
  object.app = String(j, "app");
  object.states = Strings(j, "states");
  object.actions = Strings(j, "actions");
  if (j.contains("box") && j["box"].is_object()) {
    const json& box = j["box"];
    object.box = {Int(box, "x"), Int(box, "y"), Int(box, "width"), Int(box, "height")};
  }
  if (j.contains("center") && j["center"].is_object()) {
    object.center = {Int(j["center"], "x"), Int(j["center"], "y")};
  }
  object.verified = j.value("verified", false) == true;
  object.coords = String(j, "coords");
  if (j.contains("hit") && j["hit"].is_object()) {
    const json& hit = j["hit"];
    object.hit = String(hit, "relation");
    object.hit_imprecise = hit.value("imprecise", false) == true;
    if (hit.value("popup", false) == true) absl::StrAppend(&object.hit, " (in a popup)");
    object.hit_reason = String(hit, "reason");
    if (!object.hit_reason.empty()) absl::StrAppend(&object.hit, ": ", object.hit_reason);
    if (!String(hit, "role").empty()) {
      absl::StrAppend(&object.hit, ": ", String(hit, "role"), " \"", String(hit, "name"), "\" in ",
                      String(hit, "app"));
    }
  }
  return object;
}

// The helper's error `code` as a status: what the app or the scenario did (the object
// is missing, hidden, in another state: a test failure) apart from what broke in the
// rig (the bus, a bug in the helper: an infrastructure error). A helper that sends no
// code (an older one) is treated as internal: it cannot say whose fault it was. The
// status codes carry the outcome (core/outcome.h): a bad request (an unknown role or
// state name the scenario wrote) is a config error.
absl::Status HelperStatus(const std::string& code, std::string message) {
  if (code == "not_found") return absl::NotFoundError(message);
  if (code == "state" || code == "not_showing" || code == "still_present" || code == "ambiguous" ||
      code == "no_action") {
    return absl::FailedPreconditionError(message);
  }
  if (code == "bad_request") return absl::InvalidArgumentError(message);
  if (code == "bus") {
    return absl::UnavailableError(absl::StrCat("the guest's accessibility bus: ", message));
  }
  return absl::InternalError(
      absl::StrCat("the AT-SPI helper failed", code.empty() ? "" : " (" + code + ")", ": ", message,
                   " (a fault of the test rig, not of the app: the helper logs "
                   "a traceback to its stderr)"));
}

std::string DescribeNear(const json& near) {
  if (!near.is_array() || near.empty()) return "";
  std::string out = "; near matches:";
  for (const json& candidate : near) {
    if (!candidate.is_object()) continue;
    absl::StrAppend(&out, " ", String(candidate, "role"), " \"", String(candidate, "name"), "\"",
                    &candidate == &near.back() ? "" : ",");
  }
  return out;
}

}  // namespace

json AtspiQueryJson(const AtspiQuery& query) {
  json q = json::object();
  if (!query.role.empty()) q["role"] = query.role;
  if (!query.name.empty()) q["name"] = query.name;
  if (!query.name_substr.empty()) q["name_substr"] = query.name_substr;
  if (!query.app.empty()) q["app"] = query.app;
  if (!query.app_substr.empty()) q["app_substr"] = query.app_substr;
  if (query.index) q["index"] = *query.index;
  if (!query.states.empty()) q["states"] = query.states;
  return q;
}

absl::StatusOr<json> AtspiClient::Call(json request, absl::Duration timeout) {
  int id = next_id_++;
  request["id"] = id;
  if (absl::Status s = channel_.WriteLine(request.dump()); !s.ok()) return s;
  absl::Time deadline = absl::Now() + timeout + absl::Seconds(5);  // the helper times out first
  while (true) {
    absl::StatusOr<std::string> line = channel_.ReadLine(deadline - absl::Now());
    if (!line.ok()) return line.status();
    json response = json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (response.is_object() && !JsonDepthWithin(response)) {
      return absl::DataLossError("the AT-SPI helper's answer nests too deeply to be read");
    }
    if (!response.is_object()) {
      return absl::DataLossError(
          absl::StrCat("the AT-SPI helper wrote a non-protocol line: ", line->substr(0, 200)));
    }
    if (response.value("id", json()) != id) continue;  // a stale answer to an abandoned call
    if (response.value("ok", false) == true) return response.value("result", json());
    std::string error = String(response, "error");
    return HelperStatus(String(response, "code"),
                        absl::StrCat(error.empty() ? "no error message" : error,
                                     DescribeNear(response.value("near", json()))));
  }
}

absl::StatusOr<int> AtspiClient::Ping(absl::Duration timeout) {
  absl::StatusOr<json> result = Call({{"op", "ping"}}, timeout);
  if (!result.ok()) return result.status();
  if (!result->is_object()) return absl::DataLossError("the AT-SPI helper answered ping oddly");
  return Int(*result, "pid");
}

absl::StatusOr<std::vector<AccessibleApp>> AtspiClient::Apps(absl::Duration timeout) {
  absl::StatusOr<json> result = Call({{"op", "apps"}}, timeout);
  if (!result.ok()) return result.status();
  if (!result->is_array()) return absl::DataLossError("the AT-SPI helper sent no app list");
  std::vector<AccessibleApp> apps;
  for (const json& app : *result) {
    if (app.is_object()) apps.push_back({String(app, "name"), Int(app, "pid")});
  }
  return apps;
}

absl::StatusOr<json> AtspiClient::Dump(const std::string& app, bool boxes, absl::Duration timeout) {
  json request = {{"op", "dump"}, {"boxes", boxes}};
  if (!app.empty()) request["app"] = app;
  absl::StatusOr<json> result = Call(std::move(request), timeout);
  if (!result.ok()) return result.status();
  if (!result->is_object()) return absl::DataLossError("the AT-SPI helper sent no tree");
  return result;
}

absl::StatusOr<AccessibleObject> AtspiClient::Find(const AtspiQuery& query, absl::Duration timeout,
                                                   bool verify) {
  json q = AtspiQueryJson(query);
  if (!verify) q["verify"] = false;
  absl::StatusOr<json> result = Call({{"op", "find"}, {"query", q}}, timeout);
  if (!result.ok()) return result.status();
  return ObjectFrom(*result);
}

absl::StatusOr<std::optional<AccessibleObject>> AtspiClient::WaitFor(const AtspiQuery& query,
                                                                     bool exists,
                                                                     absl::Duration timeout,
                                                                     absl::Duration interval) {
  absl::StatusOr<json> result = Call({{"op", "wait_for"},
                                      {"query", AtspiQueryJson(query)},
                                      {"exists", exists},
                                      {"timeout", absl::ToDoubleSeconds(timeout)},
                                      {"interval", absl::ToDoubleSeconds(interval)}},
                                     timeout);
  if (!result.ok()) return result.status();
  if (result->is_null()) return std::optional<AccessibleObject>();
  absl::StatusOr<AccessibleObject> object = ObjectFrom(*result);
  if (!object.ok()) return object.status();
  return std::optional<AccessibleObject>(*object);
}

absl::Status AtspiClient::Action(const AtspiQuery& query, const std::string& action,
                                 absl::Duration timeout) {
  return Call({{"op", "action"}, {"query", AtspiQueryJson(query)}, {"action", action}}, timeout)
      .status();
}

absl::StatusOr<std::string> AtspiClient::Text(const AtspiQuery& query, absl::Duration timeout) {
  absl::StatusOr<json> result = Call({{"op", "text"}, {"query", AtspiQueryJson(query)}}, timeout);
  if (!result.ok()) return result.status();
  return String(*result, "text");
}

absl::StatusOr<GuestKeyboard::KeymapState> AtspiClient::Keymap(const std::vector<uint32_t>& keysyms,
                                                               bool place, absl::Duration timeout) {
  absl::StatusOr<json> result =
      Call({{"op", "keymap"}, {"keysyms", keysyms}, {"map", place}}, timeout);
  if (!result.ok()) return result.status();
  if (!result->is_object()) return absl::DataLossError("the AT-SPI helper sent no keymap state");
  GuestKeyboard::KeymapState state;
  state.pool = Int(*result, "pool");
  for (const char* key : {"missing", "scratch"}) {
    auto it = result->find(key);
    if (it == result->end() || !it->is_array()) continue;
    for (const json& k : *it) {
      if (!k.is_number_unsigned())
        return absl::DataLossError("the AT-SPI helper sent a bad keysym");
      (std::string_view(key) == "missing" ? state.missing : state.scratch)
          .insert(k.get<uint32_t>());
    }
  }
  return state;
}

absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> AtspiClient::Focused(
    int max_chars, absl::Duration timeout) {
  absl::StatusOr<json> result = Call({{"op", "focused_text"}, {"max", max_chars}}, timeout);
  if (!result.ok()) return result.status();
  if (result->is_null()) return std::optional<GuestKeyboard::FocusedText>();
  if (!result->is_object()) return absl::DataLossError("the AT-SPI helper sent no focused text");
  return std::optional<GuestKeyboard::FocusedText>(GuestKeyboard::FocusedText{
      String(*result, "role"), String(*result, "name"), String(*result, "app"),
      Int(*result, "caret"), String(*result, "before")});
}

}  // namespace mosdat
