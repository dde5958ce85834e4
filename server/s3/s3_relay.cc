#include "server/s3/s3_relay.h"

#include <strings.h>

#include "common/net/http_stream.h"
#include "common/net/intra_auth.h"

namespace aisle::api::s3 {
namespace {

bool HopByHop(const std::string& name) {
  for (const char* h : {"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
                        "Proxy-Connection", "TE", "Upgrade", "Trailer"}) {
    if (strcasecmp(name.c_str(), h) == 0) return true;
  }
  return false;
}

}  // namespace

bool SplitUrl(const std::string& url, std::string* host, uint16_t* port, bool* tls) {
  std::string_view u = url;
  bool https = u.substr(0, 8) == "https://";
  if (tls != nullptr) *tls = https;
  if (https) u.remove_prefix(8);
  if (u.substr(0, 7) == "http://") u.remove_prefix(7);
  size_t slash = u.find('/');
  if (slash != std::string_view::npos) u = u.substr(0, slash);
  size_t colon = u.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  *host = std::string(u.substr(0, colon));
  if (host->size() > 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  int p = std::atoi(std::string(u.substr(colon + 1)).c_str());
  if (p <= 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

Result<RelayedResponse> Relay(const std::string& host, uint16_t port, Request& req,
                              const RelayOptions& opts) {
  HttpStreamOptions so;
  so.connect_timeout = so.io_timeout = std::chrono::milliseconds(opts.io_timeout_ms);
  so.keep_alive = false;  // one connection per relayed request
  so.tls = opts.tls;
  HttpStreamClient client(so);

  std::optional<uint64_t> length;
  if (req.has_body) length = req.body->DeclaredLength();
  HttpStreamRequest out;
  out.method = req.method;
  out.target = req.target;
  for (const auto& [k, v] : req.headers.items()) {
    // The relaying node signs for itself (extra_headers); a client's Aisle-Intra* never passes.
    if (!HopByHop(k) && !IsIntraHeaderName(k)) out.headers.emplace_back(k, v);
  }
  out.chunked = req.has_body && !length;  // re-chunked when the client's body had no length
  // Keep an explicit "Content-Length: 0": clients may sign it.
  if (const std::string* cl = req.headers.Find("Content-Length"); cl && !out.chunked)
    out.headers.emplace_back("Content-Length", length ? std::to_string(*length) : *cl);
  for (const auto& kv : opts.extra_headers) out.headers.push_back(kv);
  out.headers.emplace_back("Connection", "close");
  if (req.has_body) out.body = req.body;
  // With "Expect: 100-continue" the body goes up only once the peer asks for it, so a refused
  // request (bad signature) costs no upload.
  out.expect_continue = strcasecmp(req.headers.Get("Expect").c_str(), "100-continue") == 0;

  std::string hostport = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  hostport += ":" + std::to_string(port);
  AISLE_ASSIGN_OR_RETURN(HttpStreamResponse r, client.Send(hostport, out));
  RelayedResponse res;
  res.status = r.head.status;
  res.request_body_sent = r.request_body_sent;
  if (!r.head.chunked) res.content_length = r.head.content_length;
  for (auto& [k, v] : r.head.headers) {
    if (!HopByHop(k)) res.headers.emplace_back(std::move(k), std::move(v));
  }
  if (r.body != nullptr) res.body = AsBodyReader(std::move(r.body));
  return res;
}

Status RelayInto(const std::string& host, uint16_t port, Request& req, Response& resp,
                 const RelayOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(RelayedResponse r, Relay(host, port, req, opts));
  resp.status = r.status;
  for (auto& [k, v] : r.headers) resp.headers.Add(std::move(k), std::move(v));
  if (req.method == "HEAD") resp.head_length = r.content_length;
  resp.stream = std::move(r.body);
  if (!r.request_body_sent) resp.close = true;  // the client's body was not consumed
  return Status::OK();
}

}  // namespace aisle::api::s3
