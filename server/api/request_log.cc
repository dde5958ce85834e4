#include "server/api/request_log.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "common/logging.h"

namespace aisle::api {

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string RequestIdOf(const Request& req) {
  for (const char* h : {kRequestIdHeader, "X-Request-Id"}) {
    if (const std::string* v = req.headers.Find(h); v && SaneRequestId(*v)) return *v;
  }
  if (auto q = req.Query(kRequestIdParam); q && SaneRequestId(*q)) return *q;
  return NewRequestId();
}

int64_t BodyBytes(const Response& resp) {
  if (resp.head_length) return static_cast<int64_t>(*resp.head_length);
  if (resp.file) return static_cast<int64_t>(resp.file->length);
  if (resp.stream) return -1;
  return static_cast<int64_t>(resp.body.size());
}

}  // namespace

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void RequestLog::Handle(Request& req, Response& resp) {
  auto start = std::chrono::steady_clock::now();
  req.request_id = RequestIdOf(req);
  ScopedLogRequest scope(req.request_id);
  inner_->Handle(req, resp);
  resp.headers.Set(kRequestIdHeader, req.request_id);
  // Redirected clients carry the ID to the target in the URL (they drop most headers). Only
  // native-API URLs: an S3 redirect may be presigned, and a changed query breaks it.
  if (resp.status >= 300 && resp.status < 400 && req.path.rfind("/v1/", 0) == 0) {
    if (const std::string* loc = resp.headers.Find("Location");
        loc && loc->find(std::string(kRequestIdParam) + "=") == std::string::npos) {
      std::string url = *loc + (loc->find('?') == std::string::npos ? "?" : "&") + kRequestIdParam +
                        "=" + req.request_id;
      resp.headers.Set("Location", std::move(url));
    }
  }
  if (access_log_) {
    std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
    LogAccess(AccessEntry{req.method, req.path, resp.status, BodyBytes(resp), ms.count(),
                          req.remote_addr});
  }
}

}  // namespace aisle::api
