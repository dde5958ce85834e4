#include "fs/client/raw_range_get.h"

#include <algorithm>
#include <string_view>

namespace aisle::fs {
namespace {

constexpr size_t kMaxHead = 16 << 10;
constexpr size_t kMaxErrorBody = 64 << 10;

HttpStreamOptions StreamOptions(std::chrono::milliseconds connect_timeout,
                                std::chrono::milliseconds stall_timeout) {
  HttpStreamOptions o;
  o.connect_timeout = connect_timeout;
  o.io_timeout = stall_timeout;
  o.max_head = kMaxHead;
  return o;
}

}  // namespace

RawRangeGetter::RawRangeGetter(std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds stall_timeout)
    : client_(StreamOptions(connect_timeout, stall_timeout)) {}

std::string RawRangeGetter::HostPortOf(const std::string& base_url) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.compare(0, kScheme.size(), kScheme) != 0) return "";
  std::string hp = base_url.substr(kScheme.size());
  if (hp.empty() || hp.find('/') != std::string::npos || hp.find('@') != std::string::npos)
    return "";
  return hp;
}

Result<RawStreamReply> RawRangeGetter::Open(const std::string& hostport, const std::string& target,
                                            uint64_t offset, uint64_t length) {
  if (length == 0) return Status::InvalidArgument("range get: empty stream");
  HttpStreamRequest req;
  req.target = target;
  req.headers = {
      {"Host", hostport},
      {"Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)},
      {"User-Agent", "aisle-fs"}};
  if (!authorization_.empty()) req.headers.emplace_back("Authorization", authorization_);
  AISLE_ASSIGN_OR_RETURN(HttpStreamResponse r, client_.Send(hostport, req));
  const HttpResponseHead& h = r.head;
  // Dropped unread, the reply's connection is closed.
  if (h.chunked || !h.content_length || (h.status >= 300 && h.status < 400) ||
      (h.status / 100 == 2 && *h.content_length > length)) {
    return Status::Unsupported("range get: reply left to the general client");
  }
  RawStreamReply reply;
  reply.status = h.status;
  if (h.status / 100 == 2) {
    reply.body = std::move(r.body);
  } else if (r.body != nullptr) {
    // Read whole, the error body gives its connection back; cut, it closes it.
    reply.error_body.resize(std::min<uint64_t>(*h.content_length, kMaxErrorBody));
    AISLE_ASSIGN_OR_RETURN(uint64_t n,
                           r.body->Read(reply.error_body.data(), reply.error_body.size()));
    reply.error_body.resize(n);
  }
  return reply;
}

}  // namespace aisle::fs
