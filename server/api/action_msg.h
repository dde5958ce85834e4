// AIStore action messages: {"action": "...", "name": "...", "value": <any>}, keys matched
// case-insensitively as Go's encoding/json does.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/result.h"

namespace aisle::api {

struct ActionMsg {
  std::string action;
  std::string name;
  std::shared_ptr<nlohmann::json> value;  // never null; JSON null when absent
  bool present = false;                   // a body was sent
};

// Parses a request body; an empty body gives an absent message. Malformed -> kInvalidArgument.
Result<ActionMsg> ParseActionMsg(const std::string& body);

// Looks up `key` in a JSON object case-insensitively; nullptr when absent.
const nlohmann::json* FindKey(const nlohmann::json& obj, const char* key);

}  // namespace aisle::api
