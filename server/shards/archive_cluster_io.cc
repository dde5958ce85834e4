#include "server/shards/archive_cluster_io.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/net/http_client.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/shards/shard_append.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;

// The names another target holds itself (a node-to-node listing, all pages).
Status ListRemote(cluster::PeerClient& peers, const std::string& base, const std::string& bucket,
                  const std::string& prefix, std::vector<std::string>* out) {
  std::string token;
  for (;;) {
    HttpRequest r;
    r.method = "GET";
    r.url = base + "/v1/buckets/" + EscapeComponent(bucket);
    r.headers = {{"Content-Type", "application/json"}, {cluster::kIntraHeader, peers.self_id()}};
    r.body = json{{"action", "list"},
                  {"value",
                   {{"prefix", prefix},
                    {"props", "name"},
                    {"pagesize", 10000},
                    {"continuation_token", token}}}}
                 .dump();
    r.max_retries = 2;
    r.total_timeout = std::chrono::milliseconds(60000);
    AISLE_ASSIGN_OR_RETURN(HttpResponse resp, peers.Do(r));
    if (resp.status != 200)
      return cluster::StatusFromRemote(resp, "list ais://" + bucket + " at " + base);
    json j = json::parse(resp.body, nullptr, false);
    if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
      return Status::IOError("list ais://" + bucket + " at " + base + ": malformed answer");
    for (const auto& e : j["entries"])
      if (e.is_object() && e.contains("name") && e["name"].is_string())
        out->push_back(e["name"].get<std::string>());
    token = j.value("continuation_token", std::string());
    if (token.empty()) return Status::OK();
  }
}

// GET from the owner, streamed into a spool file.
Result<shards::SourceObject> OpenRemote(const ApiContext& ctx, const std::string& base,
                                        const std::string& bucket, const std::string& name) {
  AISLE_ASSIGN_OR_RETURN(storage::FileHandle spool, ctx.store->OpenSpool());
  auto file = std::make_shared<storage::FileHandle>(std::move(spool));
  uint64_t off = 0;
  HttpRequest r;
  r.method = "GET";
  r.url = cluster::ObjectUrl(base, bucket, name);
  r.headers = {{cluster::kIntraHeader, ctx.node.id}};
  r.max_retries = 2;
  r.on_body = [&](std::string_view b) -> Status {
    AISLE_RETURN_IF_ERROR(storage::PwriteAll(file->get(), b.data(), b.size(), off, "spool"));
    off += b.size();
    return Status::OK();
  };
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, ctx.peers->Do(r));
  if (resp.status != 200)
    return cluster::StatusFromRemote(resp, storage::ObjectCname(bucket, name));
  shards::SourceObject o;
  o.file = std::move(file);
  o.size = off;
  o.mtime_s = std::max<int64_t>(0, ParseHttpDate(resp.Header("Last-Modified").value_or("")));
  return o;
}

}  // namespace

shards::ArchiveIo ClusterArchiveIo(const ApiContext& ctx, const shards::ArchiveSpec& spec) {
  shards::ArchiveIo local = shards::LocalArchiveIo(ctx.store, spec);
  shards::ArchiveIo io;
  std::string src = spec.src_bucket, dst = spec.dst_bucket;

  // Every active target's own names (this one's from its store); copies make duplicates.
  io.list = [ctx, local, src](const std::string& prefix) -> Result<std::vector<std::string>> {
    AISLE_ASSIGN_OR_RETURN(std::vector<std::string> names, local.list(prefix));
    auto smap = ctx.cluster->smap();
    for (const cluster::Node* t : smap->ActiveTargets()) {
      if (t->id == ctx.node.id) continue;
      AISLE_RETURN_IF_ERROR(ListRemote(*ctx.peers, t->Url(), src, prefix, &names));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  };

  io.open = [ctx, local, src](const std::string& name) -> Result<shards::SourceObject> {
    std::shared_ptr<const cluster::Smap> holder;
    const cluster::Node* owner = ctx.cluster->OwnerOf(holder, src, name);
    if (!owner) return Status::Unavailable("no active target to own " + src + "/" + name);
    if (owner->id == ctx.node.id) {
      auto o = local.open(name);
      if (o.ok() || !o.status().IsNotFound()) return o;
      // Not moved here yet (rebalance in progress): read it where it still is.
      auto elsewhere = ctx.cluster->FindElsewhere(src, name);
      if (!elsewhere) return o;
      return OpenRemote(ctx, *elsewhere, src, name);
    }
    return OpenRemote(ctx, owner->Url(), src, name);
  };

  io.put_shard = [ctx, local, dst](const std::string& name, int fd, uint64_t size) -> Status {
    // The spool has no name; /proc/self/fd gives a path curl can re-open (so retries work).
    return PutAtOwner(ctx, dst, name, aisle::FileBody{"/proc/self/fd/" + std::to_string(fd)},
                      [&] { return local.put_shard(name, fd, size); });
  };

  // aate: all new members in one append at the destination owner (here: AppendArchive, then
  // the copies; elsewhere: its Aisle-internal PUT ?archappend=true).
  io.append_shard = [ctx, dst, fmt = spec.format](const std::string& name, int fd,
                                                  uint64_t size) -> Result<std::string> {
    std::shared_ptr<const cluster::Smap> holder;
    const cluster::Node* owner = ctx.cluster->OwnerOf(holder, dst, name);
    if (!owner) return Status::Unavailable("no active target to own " + dst + "/" + name);
    if (owner->id == ctx.node.id) {
      AISLE_ASSIGN_OR_RETURN(ShardAppendResult r,
                             AppendArchive(*ctx.shards, dst, name, fd, size, fmt));
      AISLE_RETURN_IF_ERROR(ctx.cluster->Replicate(dst, name));
      return r.mode;
    }
    HttpRequest put;
    put.method = "PUT";
    put.url = cluster::ObjectUrl(owner->Url(), dst, name) +
              "?archappend=true&archmime=" + EscapeComponent(archive::FormatExtension(fmt));
    put.headers = {{cluster::kIntraHeader, ctx.node.id},
                   {"Content-Type", "application/octet-stream"}};
    put.body = aisle::FileBody{"/proc/self/fd/" + std::to_string(fd)};
    put.max_retries = 0;  // not idempotent: a retry after a lost answer would append twice
    AISLE_ASSIGN_OR_RETURN(HttpResponse r, ctx.peers->Do(put));
    if (r.status != 200)
      return cluster::StatusFromRemote(
          r, "append to " + storage::ObjectCname(dst, name) + " at " + owner->id);
    return r.Header("Ais-Append-Mode").value_or("unknown");
  };
  return io;
}

}  // namespace aisle::api
