// The outermost request handler: gives each request an ID and, when asked, writes one access
// log line for it. The ID is a sane client-given one (Aisle-Request-Id or X-Request-Id header,
// or the aisle_req query parameter a redirect carries), else a new random one. It is echoed
// in the Aisle-Request-Id response header, appended to native-API redirect URLs (aisle_req=)
// so the target that serves the redirected request logs the same ID, and tags this thread's
// log lines while the request runs (ScopedLogRequest, common/logging.h).
#pragma once

#include <string>
#include <string_view>

#include "server/api/http_types.h"

namespace aisle::api {

inline constexpr const char* kRequestIdHeader = "Aisle-Request-Id";
inline constexpr const char* kRequestIdParam = "aisle_req";

// 1..64 characters of [A-Za-z0-9._:-]: safe in a header, a URL query and a log line.
bool SaneRequestId(std::string_view id);

class RequestLog : public Handler {
 public:
  // `inner` is the node's; not owned. `access_log`: one info line per request.
  RequestLog(Handler* inner, bool access_log) : inner_(inner), access_log_(access_log) {}
  void Handle(Request& req, Response& resp) override;

 private:
  Handler* inner_;
  bool access_log_;
};

}  // namespace aisle::api
