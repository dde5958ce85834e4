// Drives an api::Handler in memory, as the transport would: a Request from a method, a raw
// target ("/v1/...?k=v"), a body and headers; the Response it produced. No sockets.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/api/http_types.h"

namespace aisle::testing {

inline api::Response Call(api::Handler& handler, const std::string& method,
                          const std::string& target, const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
  api::Request req;
  req.method = method;
  req.target = target;
  size_t q = target.find('?');
  req.path = api::PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) req.query = api::ParseQuery(target.substr(q + 1));
  for (auto& [k, v] : headers) req.headers.Add(k, v);
  req.remote_addr = "127.0.0.1:1";
  StringBodyReader reader(body);
  req.body = &reader;
  req.has_body = !body.empty();
  api::Response resp;
  handler.Handle(req, resp);
  return resp;
}

}  // namespace aisle::testing
