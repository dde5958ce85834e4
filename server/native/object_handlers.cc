// /v1/objects/B/O: GET (Range), HEAD, PUT (incl. APPEND), DELETE, POST rename, PATCH custom.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/names.h"
#include "server/api/action_msg.h"
#include "server/api/byte_range.h"
#include "server/api/errors.h"
#include "server/api/object_body.h"
#include "server/api/object_integrity.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_handlers.h"
#include "server/native/target_api.h"
#include "server/shards/archive_handlers.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

constexpr size_t kMaxControlBody = 1 << 20;

void SetObjectHeaders(const storage::ObjectMeta& m, Response& resp) {
  resp.headers.Add("Ais-Checksum-Type", "xxhash");
  resp.headers.Add("Ais-Checksum-Value", Hex64(m.xxhash));
  resp.headers.Add("Ais-Atime", std::to_string(m.atime_ns));
  resp.headers.Add("Ais-Version", std::to_string(m.version));
  for (const auto& [k, v] : m.custom) resp.headers.Add("Ais-Custom-Md", k + "=" + v);
}

// Ais-Custom-Md: k=v[,k2=v2]; the header may repeat.
Result<std::vector<std::pair<std::string, std::string>>> ParseCustom(const Request& req) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : req.headers.items()) {
    if (name.size() != 13 || strncasecmp(name.c_str(), "Ais-Custom-Md", 13) != 0) continue;
    size_t start = 0;
    while (start < value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string kv = value.substr(start, end - start);
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return Status::InvalidArgument("invalid Ais-Custom-Md entry \"" + kv +
                                       "\" (expecting k=v)");
      out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      start = end + 1;
    }
  }
  return out;
}

// Ais-Checksum-Type/Value on a write: xxhash is verified, none/empty ignored.
Result<std::optional<uint64_t>> ParseExpectedChecksum(const Request& req) {
  std::string type = req.headers.Get("Ais-Checksum-Type");
  std::string value = req.headers.Get("Ais-Checksum-Value");
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  if (value.empty() || type == "none") return std::optional<uint64_t>();
  if (type != "xxhash" && type != "xxhash2" && !type.empty())
    return Status::InvalidArgument("checksum type \"" + type +
                                   "\" is not supported by this node (use xxhash)");
  uint64_t v;
  if (!ParseHex64(value, &v))
    return Status::InvalidArgument("invalid xxhash checksum value \"" + value + "\"");
  return std::optional<uint64_t>(v);
}

void Get(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
         std::string_view object) {
  // Validation covers whole-object reads only: a Range GET is served unverified (docs/API.md).
  bool verify =
      req.method == "GET" && req.headers.Find("Range") == nullptr && ValidateGets(ctx, bucket);
  auto r = OpenVerified(ctx, bucket, object, verify);
  if (!r.ok() && r.status().IsNotFound() && ctx.cluster) {
    if (RedirectToHolder(ctx, req, resp, bucket, object)) return;
    r = OpenVerified(ctx, bucket, object, verify);  // a rebalance may have delivered it meanwhile
  }
  if (!r.ok()) {
    Status st = r.status();
    if (st.IsNotFound() && st.subject() != Subject::kBucket) st = st.WithContext(ctx.node.Name());
    // A peer (rebalance, copies) asks what this target holds: 404 is the true answer there.
    if (!IsIntra(req)) st = MissingUnlessDown(ctx, bucket, object, std::move(st));
    return WriteError(req, resp, std::move(st), ctx.node);
  }
  const storage::ObjectMeta& m = r->meta;
  SetObjectHeaders(m, resp);
  // A peer repairing its copy from this one keeps the exact mtime (shard index tags use it).
  if (IsIntra(req)) resp.headers.Add("Aisle-Mtime", std::to_string(m.mtime_ns));
  resp.headers.Add("Accept-Ranges", "bytes");
  resp.headers.Add("Last-Modified", HttpDate(m.mtime_ns));
  resp.headers.Add("ETag", "\"" + Hex64(m.xxhash) + "\"");
  if (req.method == "HEAD") {
    resp.headers.Add("Ais-Name", std::string(object));
    resp.headers.Add("Ais-Bucket-Name", std::string(bucket));
    resp.headers.Add("Ais-Bucket-Provider", "ais");
    resp.headers.Add("Ais-Present", "true");
    resp.headers.Add("Ais-Mirror-Copies", "1");
    resp.headers.Add("Ais-Location", ctx.node.Name() + ":" + r->mountpath);
    resp.headers.Add("Content-Type", "application/octet-stream");
    resp.head_length = m.size;
    return;
  }
  auto range = ApplyRange(req, resp, m.size, MultiRange::kRefuse,
                          [&](const Status& st) { WriteError(req, resp, st, ctx.node); });
  if (!range.ok()) return;
  uint64_t start = range->start, length = range->length;
  resp.headers.Add("Content-Type", "application/octet-stream");
  SetObjectBody(*r, start, length, resp);
}

void Put(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
         std::string_view object) {
  auto expected = ParseExpectedChecksum(req);
  if (!expected.ok()) return WriteError(req, resp, expected.status(), ctx.node);
  auto append_type = req.Query("append_type");
  if (append_type && !append_type->empty()) {
    std::string handle = req.Query("append_handle").value_or("");
    std::string session;
    if (!handle.empty()) {  // NODE|SESSION|xxhash|state
      size_t a = handle.find('|');
      size_t b = a == std::string::npos ? a : handle.find('|', a + 1);
      if (b == std::string::npos)
        return WriteError(req, resp, 400, "invalid append handle \"" + handle + "\"", ctx.node);
      session = handle.substr(a + 1, b - a - 1);
    }
    if (*append_type == "append") {
      auto id = ctx.store->Append(bucket, object, session, *req.body);
      if (!id.ok()) return WriteError(req, resp, id.status(), ctx.node);
      resp.headers.Add("Ais-Append-Handle", ctx.node.id + "|" + *id + "|xxhash|");
      return;
    }
    if (*append_type == "flush") {
      auto m = ctx.store->AppendFlush(bucket, object, session, *expected);
      if (!m.ok()) return WriteError(req, resp, m.status(), ctx.node);
      SetObjectHeaders(*m, resp);
      return;
    }
    return WriteError(req, resp, 400,
                      "invalid append_type \"" + *append_type + "\" (expecting append or flush)",
                      ctx.node);
  }
  auto custom = ParseCustom(req);
  if (!custom.ok()) return WriteError(req, resp, custom.status(), ctx.node);
  storage::PutOptions opts;
  opts.expected_xxhash = *expected;
  opts.custom = std::move(custom).value();
  if (IsIntra(req)) {  // a copy from another target keeps the source's version and mtime
    uint64_t v = 0;
    if (std::string h = req.headers.Get("Ais-Version");
        !h.empty() && (v = std::strtoull(h.c_str(), nullptr, 10)))
      opts.version = v;
    if (std::string h = req.headers.Get("Aisle-Mtime"); !h.empty())
      opts.mtime_ns = std::strtoll(h.c_str(), nullptr, 10);
  }
  auto m = ctx.store->Put(bucket, object, *req.body, opts);
  if (!m.ok()) return WriteError(req, resp, m.status(), ctx.node);
  if (Status st = AfterLocalPut(ctx, req, bucket, object); !st.ok())
    return WriteError(req, resp, st.WithContext("put " + storage::ObjectCname(bucket, object)),
                      ctx.node);
  SetObjectHeaders(*m, resp);
}

void Post(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
          std::string_view object) {
  auto body = req.ReadBody(kMaxControlBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), ctx.node);
  auto msg = ParseActionMsg(*body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), ctx.node);
  if (msg->action != "rename-obj") {
    return WriteError(req, resp, 400,
                      "invalid action \"" + msg->action + "\" (expecting rename-obj)", ctx.node);
  }
  if (Status st = CheckObjectName(bucket, msg->name); !st.ok())
    return WriteError(req, resp, st, ctx.node);
  Status st = ClusterRename(ctx, req, bucket, object, msg->name);
  if (!st.ok()) return WriteError(req, resp, st, ctx.node);
}

void Patch(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
           std::string_view object) {
  auto body = req.ReadBody(kMaxControlBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), ctx.node);
  auto msg = ParseActionMsg(*body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), ctx.node);
  if (!msg->value->is_object())
    return WriteError(req, resp, 400, "expecting {\"value\": {\"key\": \"value\", ...}}", ctx.node);
  std::vector<std::pair<std::string, std::string>> custom;
  for (auto it = msg->value->begin(); it != msg->value->end(); ++it) {
    if (!it.value().is_string())
      return WriteError(req, resp, 400, "custom metadata values must be strings", ctx.node);
    custom.emplace_back(it.key(), it.value().get<std::string>());
  }
  bool replace = req.Query("set-new-custom").value_or("") == "true";
  Status st = ctx.store->SetCustom(bucket, object, custom, replace);
  if (!st.ok()) return WriteError(req, resp, st, ctx.node);
}

}  // namespace

void HandleObject(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                  std::string_view object) {
  if (Status st = CheckBucketName(bucket); !st.ok()) return WriteError(req, resp, st, ctx.node);
  if (Status st = CheckObjectName(bucket, object); !st.ok())
    return WriteError(req, resp, st, ctx.node);
  if (ctx.cluster) ctx.cluster->EnsureBucket(bucket);  // created a moment ago: push may be late
  if (RedirectToOwner(ctx, req, resp, bucket, object)) return;
  if (IsEtlRequest(req)) return HandleEtlObject(ctx, req, resp, bucket, object);
  if (IsArchiveRequest(req)) return HandleArchive(ctx, req, resp, bucket, object);
  if (req.method == "GET" || req.method == "HEAD") return Get(ctx, req, resp, bucket, object);
  if (req.method == "PUT") return Put(ctx, req, resp, bucket, object);
  if (req.method == "POST") return Post(ctx, req, resp, bucket, object);
  if (req.method == "PATCH") return Patch(ctx, req, resp, bucket, object);
  if (req.method == "DELETE") {
    Status st = ctx.store->Delete(bucket, object);
    if (st.IsNotFound() && st.subject() != Subject::kBucket) st = st.WithContext(ctx.node.Name());
    if (!st.ok()) return WriteError(req, resp, st, ctx.node);
    AfterLocalDelete(ctx, req, bucket, object);
    return;
  }
  WriteError(req, resp, 405, "method " + req.method + " not allowed on objects", ctx.node);
}

}  // namespace aisle::api
