// HttpTestServer: a small scripted HTTP/1.1 server on 127.0.0.1 for client tests (libcurl's
// HttpClient, the stream layer and its users). One thread per connection; each request (head,
// and its body by Content-Length or chunked) goes to a script that says which bytes to answer
// and whether to keep the connection, close it or stall on it. Records what it received.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace aisle::testing {

struct HttpTestRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked
  std::string raw;   // head and body as they came over the wire

  // Case-insensitive; the first value of `name`.
  std::optional<std::string> Header(std::string_view name) const;
};

struct HttpTestReply {
  std::string bytes;  // sent as is (see HttpReplyBytes)
  // After sending: keep the connection for the next request, close it, or stall (send
  // nothing more and hold the connection until the server stops).
  enum After { kKeep, kClose, kStall } after = kKeep;
  std::chrono::milliseconds delay{0};  // waited before sending
};

// "HTTP/1.1 <status> X" with `headers`, a Content-Length unless they have one, and the body
// (left out when with_body is false, as for HEAD).
std::string HttpReplyBytes(int status, std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           bool with_body = true);

class HttpTestServer {
 public:
  using Script = std::function<HttpTestReply(const HttpTestRequest&)>;
  // Called with the request head alone, before its body is read: a reply is sent right away
  // and the connection closed (a node refusing or redirecting an upload early). nullopt: go on.
  using EarlyScript = std::function<std::optional<HttpTestReply>(const HttpTestRequest&)>;

  // "Expect: 100-continue" is answered with 100 Continue before the body is read.
  explicit HttpTestServer(Script script, EarlyScript early = nullptr);
  ~HttpTestServer();  // stops: stalled and idle connections are closed
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string hostport() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + hostport(); }
  int connections() const { return connections_; }  // accepted so far
  std::vector<HttpTestRequest> requests() const;    // recorded before each reply

 private:
  void AcceptLoop();
  void Serve(int c);
  bool ReadMore(int c, std::string* buf, std::string* raw);
  bool ReadLine(int c, std::string* buf, std::string* raw, std::string* line);
  bool ReadExact(int c, std::string* buf, std::string* raw, size_t n, std::string* out);
  void Reply(int c, const HttpTestReply& r);
  void Record(const HttpTestRequest& r);

  Script script_;
  EarlyScript early_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> conn_threads_;  // GUARDED_BY(mu_); joined when stopping
  std::vector<HttpTestRequest> requests_;  // GUARDED_BY(mu_)
};

}  // namespace aisle::testing
