#include "server/api/action_msg.h"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace aisle::api {

const nlohmann::json* FindKey(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto exact = obj.find(key);
  if (exact != obj.end()) return &*exact;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (::strcasecmp(it.key().c_str(), key) == 0) return &it.value();
  }
  return nullptr;
}

Result<ActionMsg> ParseActionMsg(const std::string& body) {
  ActionMsg msg;
  msg.value = std::make_shared<nlohmann::json>(nullptr);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return msg;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON in the request body");
  if (!j.is_object()) return Status::InvalidArgument("action message must be a JSON object");
  msg.present = true;
  if (const auto* a = FindKey(j, "action")) {
    if (!a->is_string()) return Status::InvalidArgument("\"action\" must be a string");
    msg.action = a->get<std::string>();
  }
  if (const auto* n = FindKey(j, "name")) {
    if (n->is_string())
      msg.name = n->get<std::string>();
    else if (!n->is_null())
      return Status::InvalidArgument("\"name\" must be a string");
  }
  if (const auto* v = FindKey(j, "value")) *msg.value = *v;
  return msg;
}

}  // namespace aisle::api
