#include "cli/ais_client.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/net/http_errors.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

bool ParseU64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Size arrives as a JSON string ("123", as AIStore sends it) or as a number.
uint64_t JsonSize(const json& v) {
  uint64_t n = 0;
  if (v.is_string()) ParseU64(v.get_ref<const std::string&>(), &n);
  if (v.is_number_unsigned()) n = v.get<uint64_t>();
  return n;
}

std::string JsonString(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

ObjectAttrs AttrsFromHeaders(const HttpResponse& resp) {
  ObjectAttrs a;
  uint64_t n = 0;
  if (auto v = resp.Header("Content-Length"); v && ParseU64(*v, &n)) a.size = n;
  a.checksum_type = resp.Header("Ais-Checksum-Type").value_or("");
  a.checksum_value = resp.Header("Ais-Checksum-Value").value_or("");
  a.version = resp.Header("Ais-Version").value_or("");
  a.atime = resp.Header("Ais-Atime").value_or("");
  a.location = resp.Header("Ais-Location").value_or("");
  if (auto v = resp.Header("Ais-Present")) a.present = (*v == "true");
  // One header per key, though a sender may also join several with ','.
  for (const std::string& hv : resp.HeaderValues("Ais-Custom-Md")) {
    std::string_view rest = hv;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view kv = rest.substr(0, comma);
      size_t eq = kv.find('=');
      if (!kv.empty()) {
        a.custom.emplace_back(std::string(kv.substr(0, eq)),
                              eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1)));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return a;
}

HttpRequest JsonRequest(std::string method, std::string url, const json& body) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers = {{"Content-Type", "application/json"}};
  // replace: a name with invalid UTF-8 must not throw; the server rejects it with a message.
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return req;
}

}  // namespace

Status StatusFromHttpError(const HttpResponse& resp, std::string_view method) {
  std::string msg;
  if (auto hdr = resp.Header("Hdr-Error")) msg = AisErrorMessage(*hdr);
  if (msg.empty()) msg = AisErrorMessage(resp.body);
  if (msg.empty() && !resp.body.empty() && resp.body.size() < 1024) {
    msg = resp.body;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
  }
  if (msg.empty()) {
    msg = std::string(method) + " " + resp.effective_url + ": HTTP " + std::to_string(resp.status);
  }
  return Status(StatusCodeForHttp(resp.status), std::move(msg));
}

AisClient::AisClient(ProxyFailover* http, std::string_view endpoint)
    : http_(http), endpoint_(endpoint) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::string AisClient::BucketUrl(const std::string& bucket) const {
  return endpoint_ + "/v1/buckets/" + EscapeComponent(bucket) + "?provider=ais";
}

std::string AisClient::ObjectUrl(const std::string& bucket, const std::string& name) const {
  return endpoint_ + "/v1/objects/" + EscapeComponent(bucket) + "/" + EscapePath(name) +
         "?provider=ais";
}

Result<HttpResponse> AisClient::Call(const HttpRequest& req) {
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, http_->Do(req));
  if (resp.status < 200 || resp.status >= 300) return StatusFromHttpError(resp, req.method);
  return resp;
}

Status AisClient::CreateBucket(const std::string& bucket) {
  json body = {{"action", "create-bck"}, {"name", ""}, {"value", nullptr}};
  return Call(JsonRequest("POST", BucketUrl(bucket), body)).status();
}

Status AisClient::DestroyBucket(const std::string& bucket) {
  json body = {{"action", "destroy-bck"}, {"name", ""}, {"value", nullptr}};
  return Call(JsonRequest("DELETE", BucketUrl(bucket), body)).status();
}

Result<std::vector<BucketInfo>> AisClient::ListBuckets() {
  json body = {{"action", "list"}, {"name", ""}, {"value", nullptr}};
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp,
                         Call(JsonRequest("GET", endpoint_ + "/v1/buckets?provider=ais", body)));
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_array() && !j.is_null()) {
    return Status::Internal("list buckets: unexpected response: " + resp.body.substr(0, 200));
  }
  std::vector<BucketInfo> out;
  if (j.is_array()) {
    for (const json& e : j) {
      if (!e.is_object()) continue;
      out.push_back({JsonString(e, "name"), JsonString(e, "provider")});
    }
  }
  return out;
}

Result<ObjectPage> AisClient::ListObjectsPage(const std::string& bucket,
                                              const ListObjectsArgs& args) {
  json msg = {{"prefix", args.prefix},
              {"pagesize", args.pagesize},
              {"uuid", args.uuid},
              {"props", "name,size,checksum,atime,version"},
              {"continuation_token", args.continuation_token},
              {"flags", "0"},
              {"target", ""}};
  json body = {{"action", "list"}, {"name", ""}, {"value", msg}};
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, Call(JsonRequest("GET", BucketUrl(bucket), body)));
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) {
    return Status::Internal("list objects: unexpected response: " + resp.body.substr(0, 200));
  }
  ObjectPage page;
  page.uuid = JsonString(j, "uuid");
  page.continuation_token = JsonString(j, "continuation_token");
  auto entries = j.find("entries");
  if (entries != j.end() && entries->is_array()) {
    for (const json& e : *entries) {
      if (!e.is_object()) continue;
      ObjectEntry oe;
      oe.name = JsonString(e, "name");
      if (auto s = e.find("size"); s != e.end()) oe.size = JsonSize(*s);
      oe.checksum = JsonString(e, "checksum");
      oe.atime = JsonString(e, "atime");
      oe.version = JsonString(e, "version");
      if (auto f = e.find("flags"); f != e.end() && f->is_number_unsigned()) {
        oe.flags = f->get<uint64_t>();
      }
      page.entries.push_back(std::move(oe));
    }
  }
  return page;
}

Result<ObjectAttrs> AisClient::PutObject(const std::string& bucket, const std::string& name,
                                         const std::string& path,
                                         std::function<void(uint64_t)> on_progress) {
  HttpRequest req;
  req.method = "PUT";
  req.url = ObjectUrl(bucket, name);
  req.headers = {{"Content-Type", "application/octet-stream"}};
  req.body = FileBody{path};
  req.on_upload_progress = std::move(on_progress);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, Call(req));
  ObjectAttrs a = AttrsFromHeaders(resp);
  a.size.reset();  // a PUT reply's Content-Length is its own (empty) body
  return a;
}

Result<ObjectAttrs> AisClient::GetObject(const std::string& bucket, const std::string& name,
                                         std::function<Status(std::string_view)> sink) {
  HttpRequest req;
  req.url = ObjectUrl(bucket, name);
  req.on_body = std::move(sink);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, Call(req));
  return AttrsFromHeaders(resp);
}

Result<ObjectAttrs> AisClient::HeadObject(const std::string& bucket, const std::string& name) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = ObjectUrl(bucket, name);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, Call(req));
  return AttrsFromHeaders(resp);
}

Status AisClient::DeleteObject(const std::string& bucket, const std::string& name) {
  HttpRequest req;
  req.method = "DELETE";
  req.url = ObjectUrl(bucket, name);
  return Call(req).status();
}

}  // namespace aisle::cli
