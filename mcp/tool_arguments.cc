#include "mcp/tool_arguments.h"

#include <string>

namespace mosdat::mcp {
namespace {

using nlohmann::json;

bool HasType(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  return true;  // a type this checker does not know is the schema's business
}

const char* Article(const std::string& type) {
  return type == "integer" || type == "object" || type == "array" ? "an" : "a";
}

absl::Status CheckValue(const json& schema, const json& value, const std::string& where) {
  const std::string type = schema.value("type", std::string());
  if (!type.empty() && !HasType(value, type)) {
    return absl::InvalidArgumentError(where + ": expected " + Article(type) + " " + type +
                                      ", got " + value.type_name());
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool listed = false;
    for (const json& option : schema["enum"]) listed = listed || option == value;
    if (!listed) {
      return absl::InvalidArgumentError(where + ": " + value.dump() + " is not one of " +
                                        schema["enum"].dump());
    }
  }
  if (value.is_number()) {
    if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
      return absl::InvalidArgumentError(where + ": below the minimum " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>()) {
      return absl::InvalidArgumentError(where + ": above the maximum " + schema["maximum"].dump());
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i) {
      absl::Status item =
          CheckValue(schema["items"], value[i], where + "[" + std::to_string(i) + "]");
      if (!item.ok()) return item;
    }
  }
  if (value.is_object() && schema.contains("properties")) {
    const json& properties = schema["properties"];
    for (const json& name : schema.value("required", json::array())) {
      if (!value.contains(name.get<std::string>())) {
        return absl::InvalidArgumentError((where.empty() ? "" : where + ".") +
                                          name.get<std::string>() + ": required");
      }
    }
    for (const auto& [name, field] : value.items()) {
      const std::string path = where.empty() ? name : where + "." + name;
      if (!properties.contains(name)) {
        if (schema.value("additionalProperties", true) == false) {
          return absl::InvalidArgumentError(path + ": not an argument of this tool (known: " + [&] {
            std::string names;
            for (const auto& [known, _] : properties.items()) {
              names += (names.empty() ? "" : ", ") + known;
            }
            return names;
          }() + ")");
        }
        continue;
      }
      absl::Status checked = CheckValue(properties[name], field, path);
      if (!checked.ok()) return checked;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckArguments(const json& schema, const json& arguments) {
  if (!arguments.is_object()) {
    return absl::InvalidArgumentError("the arguments must be an object, got " +
                                      std::string(arguments.type_name()));
  }
  return CheckValue(schema, arguments, "");
}

}  // namespace mosdat::mcp
