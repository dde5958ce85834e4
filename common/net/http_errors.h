// What another node's (or AIStore's) HTTP error reply means, for every client of the native
// API: the CLI, node-to-node calls and the FUSE client map replies the same way.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace aisle {

// The StatusCode an HTTP error status stands for (kIOError for anything unlisted).
StatusCode StatusCodeForHttp(int http_status);

// The "message" of an AIStore error body ({"message": ...}); "" when the body is not one.
std::string AisErrorMessage(std::string_view body);

}  // namespace aisle
