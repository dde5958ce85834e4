// /v1/buckets[/B]: create, destroy, list buckets, list objects, HEAD props.
#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/names.h"
#include "server/api/action_msg.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_handlers.h"
#include "server/jobs/job_handlers.h"
#include "server/metrics/node_metrics.h"
#include "server/native/listrange.h"
#include "server/native/target_api.h"
#include "server/shards/archive_handlers.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

constexpr size_t kMaxControlBody = 1 << 20;
constexpr size_t kMaxPageSize = 10000;
constexpr uint32_t kEntryIsCached = 64;

nlohmann::json BucketJson(const std::string& name) {
  return {{"name", name}, {"provider", "ais"}, {"namespace", {{"uuid", ""}, {"name", ""}}}};
}

nlohmann::json BucketProps(const storage::BucketInfo& b) {
  return {
      {"provider", "ais"},
      {"backend_bck",
       {{"name", ""}, {"provider", ""}, {"namespace", {{"uuid", ""}, {"name", ""}}}}},
      {"write_policy", {{"data", "immediate"}, {"md", "immediate"}}},
      {"checksum",
       {{"type", "xxhash"},
        {"validate_cold_get", false},
        {"validate_warm_get", false},
        {"validate_obj_move", false},
        {"enable_read_range", false}}},
      {"mirror", {{"copies", 1}, {"burst_buffer", 0}, {"enabled", false}}},
      {"ec", {{"enabled", false}, {"data_slices", 0}, {"parity_slices", 0}, {"objsize_limit", 0}}},
      {"versioning", {{"enabled", true}, {"validate_warm_get", false}, {"synchronize", false}}},
      {"access", "18446744073709551615"},
      {"features", "0"},
      {"bid", "0"},
      {"created", std::to_string(b.created_ns)}};
}

// Reads an integer that may come as a JSON number or a string ("flags":"8").
uint64_t JsonUint(const nlohmann::json* v) {
  if (!v) return 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v->get<int64_t>()));
  if (v->is_string()) {
    try {
      return std::stoull(v->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string JsonString(const nlohmann::json* v) {
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

bool WantsProp(const std::string& props, std::string_view p) {
  size_t start = 0;
  while (start <= props.size()) {
    size_t end = props.find(',', start);
    if (end == std::string::npos) end = props.size();
    std::string_view item = std::string_view(props).substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == p) return true;
    start = end + 1;
  }
  return false;
}

// The S3 ETag kept in the object's custom metadata, else its content hash.
std::string S3EtagOf(const storage::ListEntry& e) {
  return e.etag.empty() ? Hex64(e.xxhash) : e.etag;  // the index carries a custom ETag
}

struct ShardRef {
  std::string name;
  int64_t atime_ns = 0;
};

// The shard a listing prefix reaches into: "a/s.tar/d/" -> "a/s.tar" when that object exists
// and has a shard's name; nullopt otherwise (a plain prefix).
std::optional<ShardRef> ShardOfPrefix(ApiContext& ctx, std::string_view bucket,
                                      const std::string& prefix) {
  for (size_t i = prefix.find('/'); i != std::string::npos; i = prefix.find('/', i + 1)) {
    std::string name = prefix.substr(0, i);
    if (!LooksLikeShard(name)) continue;
    if (auto r = ctx.store->Get(bucket, name); r.ok()) return ShardRef{name, r->meta.atime_ns};
  }
  return std::nullopt;
}

// What a listing reports per entry (lsmsg "props"; empty: all the standard ones).
struct ListProps {
  bool cksum, version, atime, size;
  // Aisle's extensions, only when named: the S3 ETag (from the index: no object read) and the
  // modification time in nanoseconds (atime above is minute-precise, as AIStore prints it).
  bool etag, mtime;
  bool msgpack;  // msgpack field names ("n", "s", ...) instead of JSON ones
};

ListProps ListPropsOf(const std::string& props, bool msgpack) {
  bool all = props.empty();
  ListProps p;
  p.cksum = all || WantsProp(props, "checksum");
  p.version = all || WantsProp(props, "version");
  p.atime = all || WantsProp(props, "atime");
  p.size = all || WantsProp(props, "size");
  p.etag = WantsProp(props, "etag");
  p.mtime = WantsProp(props, "mtime");
  p.msgpack = msgpack;
  return p;
}

// One shard member as a listing entry (flagged as in an archive).
nlohmann::json MemberJson(const ShardMemberEntry& m, const ListProps& p) {
  nlohmann::json mj;
  mj[p.msgpack ? "n" : "name"] = m.name;
  if (p.size && m.size) {
    if (p.msgpack)
      mj["s"] = m.size;
    else
      mj["size"] = std::to_string(m.size);
  }
  mj[p.msgpack ? "f" : "flags"] = kEntryIsCached | kEntryInArch;
  return mj;
}

// One stored object as a listing entry.
nlohmann::json ObjectJson(const storage::ListEntry& e, uint32_t entry_flags, const ListProps& p) {
  nlohmann::json j;
  if (p.msgpack) {
    j["n"] = e.name;
    if (p.size && e.size) j["s"] = e.size;
    if (p.cksum) j["cs"] = Hex64(e.xxhash);
    if (p.atime) j["a"] = Rfc822(e.atime_ns);
    if (p.version) j["v"] = std::to_string(e.version);
    j["f"] = entry_flags;
  } else {
    j["name"] = e.name;
    if (p.size && e.size) j["size"] = std::to_string(e.size);
    if (p.cksum) j["checksum"] = Hex64(e.xxhash);
    if (p.atime) j["atime"] = Rfc822(e.atime_ns);
    if (p.version) j["version"] = std::to_string(e.version);
    if (p.mtime) j["mtime_ns"] = std::to_string(e.mtime_ns);
    if (p.etag) j["etag"] = S3EtagOf(e);
    j["flags"] = entry_flags;
  }
  return j;
}

// The prefix reaches into a shard ("shard.tar/dir/"): only its members under it, paged by
// name, so one directory of a 100k-member shard costs what it holds. Appends them to
// `entries`; the page's next token goes to `pg`.
Status ListMembersUnderPrefix(ApiContext& ctx, std::string_view bucket, const ShardRef& shard,
                              const storage::ListOptions& opts, const ListProps& p,
                              nlohmann::json& entries, storage::ListPage& pg) {
  auto members = ListShardMembers(ctx, bucket, shard.name);
  if (!members.ok()) return members.status();
  const std::vector<ShardMemberEntry>& ms = **members;
  auto it =
      std::lower_bound(ms.begin(), ms.end(), std::max(opts.prefix, opts.start_after),
                       [](const ShardMemberEntry& m, const std::string& k) { return m.name < k; });
  size_t n = 0;
  for (; it != ms.end() && it->name.compare(0, opts.prefix.size(), opts.prefix) == 0; ++it) {
    if (it->name == opts.start_after) continue;
    if (n == opts.page_size) {
      pg.next_token = std::prev(it)->name;
      break;
    }
    ++n;
    nlohmann::json mj = MemberJson(*it, p);
    if (p.atime) mj[p.msgpack ? "a" : "atime"] = Rfc822(shard.atime_ns);  // the shard's
    entries.push_back(std::move(mj));
  }
  return Status::OK();
}

// Appends object `e`; with LsArchDir a shard is flagged and followed by its members
// (shard/member).
void AddListed(ApiContext& ctx, std::string_view bucket, const storage::ListEntry& e, bool arch_dir,
               const ListProps& p, nlohmann::json& entries) {
  static const std::vector<ShardMemberEntry> kNone;
  ShardMembers listed;
  uint32_t entry_flags = kEntryIsCached;
  if (arch_dir && LooksLikeShard(e.name)) {
    auto r = ListShardMembers(ctx, bucket, e.name);
    if (r.ok()) {
      listed = std::move(r).value();
      entry_flags |= kEntryIsArchive;
    }
  }
  const std::vector<ShardMemberEntry>& members = listed ? *listed : kNone;
  entries.push_back(ObjectJson(e, entry_flags, p));
  for (const auto& m : members) entries.push_back(MemberJson(m, p));
}

void WriteListPage(Response& resp, const std::string& uuid, const std::string& next_token,
                   nlohmann::json entries, bool msgpack) {
  if (msgpack) {
    nlohmann::json out = {{"UUID", uuid},
                          {"ContinuationToken", next_token},
                          {"Entries", std::move(entries)},
                          {"Flags", 0}};
    std::vector<uint8_t> bytes = nlohmann::json::to_msgpack(out);
    resp.headers.Set("Content-Type", "application/msgpack");
    resp.body.assign(bytes.begin(), bytes.end());
  } else {
    nlohmann::json out = {{"uuid", uuid},
                          {"continuation_token", next_token},
                          {"entries", std::move(entries)},
                          {"flags", 0}};
    resp.headers.Set("Content-Type", "application/json");
    resp.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

void ListObjects(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                 const nlohmann::json& lso) {
  storage::ListOptions opts;
  opts.prefix = JsonString(FindKey(lso, "prefix"));
  std::string token = JsonString(FindKey(lso, "continuation_token"));
  std::string start_after = JsonString(FindKey(lso, "start_after"));
  opts.start_after = std::max(token, start_after);
  uint64_t page = JsonUint(FindKey(lso, "pagesize"));
  opts.page_size = page == 0 || page > kMaxPageSize ? kMaxPageSize : page;
  std::string uuid = JsonString(FindKey(lso, "uuid"));
  if (uuid.empty()) uuid = "l" + storage::RandomHex(11);
  bool msgpack = req.headers.Get("Accept").find("application/msgpack") != std::string::npos;
  const ListProps props = ListPropsOf(JsonString(FindKey(lso, "props")), msgpack);

  nlohmann::json entries = nlohmann::json::array();
  const bool arch_dir = JsonUint(FindKey(lso, "flags")) & kLsArchDir;
  storage::ListPage pg;
  if (auto shard = arch_dir ? ShardOfPrefix(ctx, bucket, opts.prefix) : std::nullopt) {
    Status st = ListMembersUnderPrefix(ctx, bucket, *shard, opts, props, entries, pg);
    if (!st.ok()) return WriteError(req, resp, st, ctx.node);
  } else {
    auto page_res = ctx.store->List(bucket, opts);
    if (!page_res.ok()) return WriteError(req, resp, page_res.status(), ctx.node);
    pg = std::move(page_res).value();
  }
  for (const auto& e : pg.entries) AddListed(ctx, bucket, e, arch_dir, props, entries);
  WriteListPage(resp, uuid, pg.next_token, std::move(entries), msgpack);
  if (ctx.metrics) ctx.metrics->lst.Add();
}

void ListBuckets(ApiContext& ctx, Response& resp, std::string_view only) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& b : ctx.store->ListBuckets()) {
    if (only.empty() || b.name == only) arr.push_back(BucketJson(b.name));
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = arr.dump();
}

}  // namespace

void HandleBuckets(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket) {
  const NodeContext& node = ctx.node;
  if (!bucket.empty()) {
    if (Status st = CheckBucketName(bucket); !st.ok()) return WriteError(req, resp, st, node);
  }
  if (req.method == "HEAD") {
    if (bucket.empty()) return WriteError(req, resp, 400, "bucket name is empty", node);
    auto info = ctx.store->HeadBucket(bucket);
    if (!info.ok()) return WriteError(req, resp, info.status(), node);
    resp.headers.Set("Ais-Bucket-Props", BucketProps(*info).dump());
    return;
  }
  auto body = req.ReadBody(kMaxControlBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), node);
  auto msg = ParseActionMsg(*body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), node);

  if (req.method == "GET") {
    if (bucket.empty()) return ListBuckets(ctx, resp, msg->name);
    // AIStore: value == null means "list buckets" (filtered by name); else list objects.
    if (msg->present && msg->value->is_null() && msg->action == "list")
      return ListBuckets(ctx, resp, bucket);
    if (msg->present && !msg->action.empty() && msg->action != "list")
      return WriteError(req, resp, 400, "invalid action \"" + msg->action + "\" for GET", node);
    return ListObjects(ctx, req, resp, bucket, *msg->value);
  }
  if (bucket.empty()) return WriteError(req, resp, 400, "bucket name is empty", node);
  if (IsListRangeAction(msg->action)) return StartListRangeJob(ctx, req, resp, bucket, *msg);
  if (req.method == "POST" && (msg->action == "etl-bck" || msg->action == "copy-bck"))
    return StartEtlBucketJob(ctx, req, resp, bucket, *msg);
  if (req.method == "POST") {
    if (msg->action != "create-bck") {
      return WriteError(req, resp, 400,
                        "invalid action \"" + msg->action + "\" (expecting create-bck)", node);
    }
    Status st = ctx.store->CreateBucket(bucket);
    if (!st.ok()) return WriteError(req, resp, st, node);
    return;
  }
  if (req.method == "DELETE") {
    if (!msg->action.empty() && msg->action != "destroy-bck") {
      return WriteError(req, resp, 400,
                        "invalid action \"" + msg->action + "\" (expecting destroy-bck)", node);
    }
    Status st = ctx.store->DestroyBucket(bucket);
    if (!st.ok()) return WriteError(req, resp, st, node);
    return;
  }
  if (req.method == "PUT" && msg->action == "archive")
    return StartArchiveJob(ctx, req, resp, bucket, msg->value->dump());
  WriteError(req, resp, 405, "method " + req.method + " not allowed on buckets", node);
}

}  // namespace aisle::api
