#include "server/etl/etl_chain.h"

#include <chrono>

#include "common/body.h"
#include "common/net/http_client.h"
#include "common/net/intra_auth.h"
#include "etl/etl_manager.h"
#include "server/api/errors.h"
#include "server/api/peer_auth.h"
#include "server/api/target_routing.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

constexpr size_t kMaxDirectPut = size_t{1} << 30;  // EtlSpec::max_output's default

// An hpush program that honours Ais-Node-Url: a link in the forwarded part of a chain.
bool Forwards(const etl::EtlInstance& inst) {
  return inst.spec().comm == etl::Comm::kHpush && inst.spec().direct_put;
}

std::string Token(const ApiContext& ctx, const std::string& bucket, const std::string& object) {
  const ClusterSecret* secret = ctx.peer_auth ? ctx.peer_auth->secret() : nullptr;
  if (!secret) return "-";  // unauthenticated cluster: not checked
  std::string mac = secret->Mac("aisle-etl-direct-put-v1\n" + bucket + "\n" + object);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : mac) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

}  // namespace

Result<EtlChain> AcquireChain(const ApiContext& ctx, const std::vector<std::string>& names) {
  EtlChain chain;
  for (const auto& n : names) {
    AISLE_ASSIGN_OR_RETURN(auto inst, ctx.etl->Acquire(n));
    chain.push_back(std::move(inst));
  }
  return chain;
}

bool ChainEndsInDirectPut(const EtlChain& chain) {
  return !chain.empty() && Forwards(*chain.back());
}

Result<ChainOutput> RunChain(const EtlChain& chain, std::string data, const ChainInput& in) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = in.request_timeout_ms > 0
                            ? Clock::now() + std::chrono::milliseconds(in.request_timeout_ms)
                            : Clock::time_point::max();
  ChainOutput out;
  for (size_t i = 0; i < chain.size();) {
    etl::TransformInput ti;
    ti.data = data;
    ti.bucket = in.bucket;
    ti.object = in.object;
    ti.args = in.args;
    ti.deadline = deadline;
    // The stages after i that i's program reaches itself: Ais-Node-Url lists their URLs.
    size_t end = i + 1;
    etl::DirectPut direct;
    if (Forwards(*chain[i])) {
      std::string urls;
      while (end < chain.size() && Forwards(*chain[end])) {
        std::string u = chain[end]->transformer().ProgramUrl();
        if (u.empty()) break;
        urls += (urls.empty() ? "" : ",") + u;
        ++end;
      }
      if (end == chain.size() && !in.direct_put_url.empty())
        urls += (urls.empty() ? "" : ",") + in.direct_put_url;
      ti.node_url = std::move(urls);
      ti.direct = &direct;
    }
    AISLE_ASSIGN_OR_RETURN(data, chain[i]->Run(ti));
    if (direct.delivered) {
      out.delivered = true;
      out.delivered_size = direct.size;
      return out;
    }
    i = end;
  }
  if (Clock::now() > deadline)
    return Status::Timeout("transform took longer than request_timeout (" +
                           std::to_string(in.request_timeout_ms) + "ms)");
  out.data = std::move(data);
  return out;
}

Result<ChainOutput> RunChainFor(const ApiContext& ctx, const EtlChain& chain, std::string data,
                                const std::string& src, const std::string& name,
                                const std::string& args, int64_t request_timeout_ms,
                                const std::string& dst, const std::string& out_name, bool dry_run) {
  ChainInput in{src, name, args, request_timeout_ms, ""};
  if (!dry_run && ChainEndsInDirectPut(chain)) in.direct_put_url = DirectPutUrl(ctx, dst, out_name);
  return RunChain(chain, std::move(data), in);
}

std::string DirectPutUrl(const ApiContext& ctx, const std::string& bucket,
                         const std::string& object) {
  std::string base = ctx.node.Url();
  if (ctx.cluster) {
    std::shared_ptr<const cluster::Smap> smap;
    if (const cluster::Node* owner = ctx.cluster->OwnerOf(smap, bucket, object))
      base = owner->Url();
  }
  return base + "/v1/etl/_object/" + Token(ctx, bucket, object) + "/" + EscapeComponent(bucket) +
         "/" + EscapePath(object);
}

void HandleDirectPut(ApiContext& ctx, Request& req, Response& resp, std::string_view tail) {
  if (req.method != "PUT")
    return WriteError(req, resp, 405, "an ETL direct put is a PUT", ctx.node);
  size_t s1 = tail.find('/');
  size_t s2 = s1 == std::string_view::npos ? s1 : tail.find('/', s1 + 1);
  if (s2 == std::string_view::npos || s2 + 1 >= tail.size())
    return WriteError(
        req, resp, 400,
        "invalid URL path \"" + req.path + "\": expecting /v1/etl/_object/TOKEN/BUCKET/OBJECT",
        ctx.node);
  std::string token(tail.substr(0, s1));
  std::string bucket(tail.substr(s1 + 1, s2 - s1 - 1));
  std::string object(tail.substr(s2 + 1));
  if (Status st = CheckObjectName(bucket, object); !st.ok())
    return WriteError(req, resp, st, ctx.node);
  std::string want = Token(ctx, bucket, object);
  if (want != "-" && token != want)
    return WriteError(req, resp, 401, "invalid ETL direct-put token", ctx.node);
  if (!ctx.store->HeadBucket(bucket).ok() && ctx.cluster)
    (void)ctx.cluster->SyncMaps();  // created by the proxy a moment ago
  if (!ctx.store->HeadBucket(bucket).ok())
    return WriteError(req, resp,
                      Status::NotFound("bucket \"ais://" + bucket + "\" does not exist")
                          .WithSubject(Subject::kBucket),
                      ctx.node);
  auto body = req.ReadBody(kMaxDirectPut);
  if (!body.ok()) return WriteError(req, resp, body.status(), ctx.node);
  const std::string& data = *body;
  Status st = PutAtOwner(
      ctx, bucket, object, data,
      [&] {
        StringBodyReader r(data);
        return ctx.store->Put(bucket, object, r, {}).status();
      },
      std::chrono::milliseconds(120000));
  if (!st.ok()) return WriteError(req, resp, st, ctx.node);
}

}  // namespace aisle::api
