#include "common/net/http_errors.h"

#include <nlohmann/json.hpp>

namespace aisle {

StatusCode StatusCodeForHttp(int http_status) {
  switch (http_status) {
    case 400: return StatusCode::kInvalidArgument;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kConflict;
    case 413: return StatusCode::kTooLarge;
    case 416: return StatusCode::kRangeNotSatisfiable;
    case 501: return StatusCode::kUnsupported;
    case 502:
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kTimeout;
    case 507: return StatusCode::kNoSpace;
    default: return StatusCode::kIOError;
  }
}

std::string AisErrorMessage(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

}  // namespace aisle
