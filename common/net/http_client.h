// HttpClient: one blocking libcurl-based HTTP/1.1 client shared by the CLI, node-to-node calls
// and the FUSE client. curl.h stays out of this header so users do not inherit it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/body.h"
#include "common/net/tls_options.h"
#include "common/result.h"
#include "common/status.h"

namespace aisle {

// A request body streamed from a file on disk. Seekable, so it is re-sent on redirects/retries.
struct FileBody {
  std::string path;
};

// No body / in-memory bytes / a file / a one-shot stream. A BodyReader is re-sent after a
// redirect only if none of it was consumed yet (the usual case with Expect: 100-continue).
using HttpBody = std::variant<std::monostate, std::string, FileBody, BodyReader*>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  HttpBody body;
  // Streams the body of a 2xx response; a non-OK Status aborts the transfer and is returned by
  // Do(). When unset, or for non-2xx responses, the body is collected into HttpResponse::body.
  std::function<Status(std::string_view)> on_body;
  // Reports how many request-body bytes the current attempt has sent; restarts from 0 when the
  // body is re-sent (redirect, retry). Called on the transfer thread.
  std::function<void(uint64_t sent)> on_upload_progress;
  // 301/302/307/308 keep the method and re-send the body; 303 switches to GET.
  bool follow_redirects = true;
  int max_redirects = 10;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{0};  // 0 = none: object transfers may be huge
  // Abort when fewer than low_speed_bytes per second flow for low_speed_time.
  std::chrono::seconds low_speed_time{60};
  int64_t low_speed_bytes = 1;
  // Retries (with backoff) on connection failures and on 503, only while the request body can
  // be re-sent and no response bytes were handed to on_body.
  int max_retries = 3;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;
  std::string effective_url;  // the URL of the last hop, after redirects

  // Case-insensitive; the first value of `name`, if present.
  std::optional<std::string> Header(std::string_view name) const;
  // Case-insensitive; every value of `name` (e.g. one Ais-Custom-Md per key).
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Thread-safe. An HTTP error status is a successful Result (check response.status); only
  // transport failures are errors: kUnavailable (connect/send/receive), kTimeout, or the
  // Status returned by on_body / the body reader.
  Result<HttpResponse> Do(const HttpRequest& req);
  // Headers sent with every request that does not set the same name itself (the user token:
  // Authorization). Set before the client is shared between threads.
  void SetDefaultHeaders(std::vector<std::pair<std::string, std::string>> headers);
  // How https servers are verified (CA file, host names). Set before sharing.
  void SetTls(TlsClientOptions tls);
  const TlsClientOptions& tls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-escapes everything except RFC 3986 unreserved characters and '/', for object names
// in URL paths.
std::string EscapePath(std::string_view s);
// Like EscapePath but escapes '/' too, for query values and single path segments.
std::string EscapeComponent(std::string_view s);

}  // namespace aisle
