#include "server/api/errors.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/names.h"

namespace aisle::api {

int HttpStatusFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kConflict: return 409;
    case StatusCode::kRangeNotSatisfiable: return 416;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kNoSpace: return 507;
    case StatusCode::kUnsupported: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kTimeout:
      return 408;  // the client stalled while sending
    // A client's body that failed its checksum is the client's fault; stored data that
    // fails its own (an object: storage/verify.h) is the node's.
    case StatusCode::kDataCorruption: return st.subject() == Subject::kObject ? 500 : 400;
    case StatusCode::kIOError: return 500;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Status CheckBucketName(std::string_view bucket) {
  Status st = ValidateBucketName(bucket);
  return st.ok() ? st : st.WithContext("ais://" + std::string(bucket));
}

bool IsApiMethod(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"})
    if (method == m) return true;
  return false;
}

bool RefuseUnknownExpectation(const Request& req, Response& resp, const NodeContext& node) {
  std::string expect = req.headers.Get("Expect");
  if (expect.empty()) return false;
  std::string lower;
  for (char c : expect) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "100-continue") return false;
  WriteError(req, resp, 417, "unsupported expectation \"Expect: " + expect + "\"", node);
  resp.close = req.has_body;  // do not read a body we refuse
  return true;
}

Status CheckBucketQuery(const Request& req) {
  if (auto p = req.Query("provider"); p && !p->empty() && *p != "ais")
    return Status::Unsupported("provider \"" + *p + "\" is not supported (only ais:// buckets)");
  // Buckets live in the global namespace only; a silently ignored namespace would alias them.
  if (auto ns = req.Query("namespace"); ns && !ns->empty() && *ns != "@#")
    return Status::InvalidArgument("namespace=\"" + *ns +
                                   "\" is not supported (only the global namespace)");
  return Status::OK();
}

Status CheckObjectName(std::string_view bucket, std::string_view object) {
  Status st = ValidateObjectName(object);
  return st.ok() ? st : st.WithContext("ais://" + std::string(bucket) + "/" + std::string(object));
}

void WriteError(const Request& req, Response& resp, int http_status, const std::string& message,
                const NodeContext& node) {
  nlohmann::json j = {{"message", message},   {"method", req.method},
                      {"url_path", req.path}, {"remote_addr", req.remote_addr},
                      {"caller", ""},         {"node", node.Name()},
                      {"status", http_status}};
  // Headers must stay ASCII, so HEAD's copy escapes non-ASCII characters.
  bool head = req.method == "HEAD";
  std::string text = j.dump(-1, ' ', head, nlohmann::json::error_handler_t::replace);
  resp.status = http_status;
  resp.file.reset();
  resp.stream.reset();
  resp.head_length.reset();
  if (head) {
    resp.headers.Set("Hdr-Error", std::move(text));
    resp.body.clear();
  } else {
    resp.headers.Set("Content-Type", "application/json");
    resp.headers.Set("X-Content-Type-Options", "nosniff");
    resp.body = std::move(text);
  }
}

void WriteError(const Request& req, Response& resp, const Status& st, const NodeContext& node) {
  WriteError(req, resp, HttpStatusFor(st), st.message(), node);
}

}  // namespace aisle::api
