// The transport-neutral Request from a parsed HTTP head: method, target, decoded path, query,
// headers. A template over the parser's message type, so this header needs no Beast include;
// the server and the HTTP head fuzz target (tests/fuzz/http_head_fuzz.cc) share it.
#pragma once

#include <string>
#include <string_view>

#include "server/api/http_types.h"

namespace aisle::http {

template <class HeadMessage>
void FillRequestFromHead(const HeadMessage& msg, api::Request& req) {
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  std::string_view target = req.target;
  size_t q = target.find('?');
  req.path = api::PercentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) req.query = api::ParseQuery(target.substr(q + 1));
  for (const auto& f : msg) req.headers.Add(std::string(f.name_string()), std::string(f.value()));
}

}  // namespace aisle::http
