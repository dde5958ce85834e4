// libFuzzer target for what the transport does with a client's bytes: Beast's request parser
// with the server's limits, the Request built from the head (server/http/request_head.h:
// target, percent-decoded path, query, headers) and a chunked body read to its end. Built and
// run by scripts/fuzz.sh, not in CI.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>

#include "server/api/http_types.h"
#include "server/http/request_head.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(16 * 1024);  // ServerOptions' defaults
  parser.body_limit(1 << 20);
  boost::asio::const_buffer in(data, size);
  boost::beast::error_code ec;
  size_t used = 0;
  // The head: Beast wants it in one piece (as ReadHead gives it).
  used = parser.put(in, ec);
  if (ec || !parser.is_header_done()) return 0;
  aisle::api::Request req;
  aisle::http::FillRequestFromHead(parser.get(), req);
  (void)req.Query("uuid");
  // The body, as RequestBody reads it: into a caller's buffer, chunk by chunk.
  char out[4096];
  size_t pos = used;
  for (int i = 0; i < 10000 && !parser.is_done(); ++i) {
    parser.get().body().data = out;
    parser.get().body().size = sizeof out;
    size_t n = parser.put(boost::asio::const_buffer(data + pos, size - pos), ec);
    pos += n;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec || (n == 0 && parser.get().body().size == sizeof out)) break;
  }
  return 0;
}
