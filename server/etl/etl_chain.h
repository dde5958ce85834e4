// Runs an object through a chain of ETLs (etl_name + etl_pipeline inline, TCBMsg "id" +
// "pipeline" offline) the way AIStore does: consecutive hpush programs that honour
// Ais-Node-Url (support_direct_put) are linked through that header — the first of them gets
// the others' URLs and forwards its result itself — and, offline, the last of them may deliver
// straight to the destination's owner target ("direct put", PUT /v1/etl/_object/...). The
// other stages are called one after another by the target. TCBMsg's request_timeout bounds
// the whole chain: a stage still running at the deadline is interrupted (its worker killed as
// on its own obj_timeout) and the object fails with a timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/api/http_types.h"
#include "server/api/target_context.h"

namespace aisle::etl {
class EtlInstance;
}

namespace aisle::api {

using EtlChain = std::vector<std::shared_ptr<etl::EtlInstance>>;

struct ChainInput {
  std::string bucket, object;      // the source (object may be "shard.tar/member")
  std::string args;                // etl_args: every stage the target calls gets them
  int64_t request_timeout_ms = 0;  // 0 = none
  // Offline: the direct-put URL of the destination (DirectPutUrl), "" = the result comes back.
  std::string direct_put_url;
};

struct ChainOutput {
  std::string data;        // the result, unless delivered
  bool delivered = false;  // the last program put it at the destination itself
  uint64_t delivered_size = 0;
};

// Acquires the named ETLs in order (kNotFound / kUnavailable as EtlManager::Acquire).
Result<EtlChain> AcquireChain(const ApiContext& ctx, const std::vector<std::string>& names);

Result<ChainOutput> RunChain(const EtlChain& chain, std::string data, const ChainInput& in);

// RunChain for an offline job writing `out_name` in `dst`: with a direct-put URL when the
// chain's last stage can deliver there (not on a dry run). An empty chain copies.
Result<ChainOutput> RunChainFor(const ApiContext& ctx, const EtlChain& chain, std::string data,
                                const std::string& src, const std::string& name,
                                const std::string& args, int64_t request_timeout_ms,
                                const std::string& dst, const std::string& out_name, bool dry_run);

// True when the chain's last stage can deliver to a direct-put URL (an hpush program with
// support_direct_put), so offline jobs build one.
bool ChainEndsInDirectPut(const EtlChain& chain);

// "http://OWNER/v1/etl/_object/TOKEN/BUCKET/OBJECT" for bucket/object at its current owner
// (this node when standalone). TOKEN authenticates the program's PUT (see HandleDirectPut).
std::string DirectPutUrl(const ApiContext& ctx, const std::string& bucket,
                         const std::string& object);

// PUT /v1/etl/_object/TOKEN/BUCKET/OBJECT (tail = "TOKEN/BUCKET/OBJECT"): an ETL program's
// direct put. The token is an HMAC of bucket and object with the cluster secret (any token
// when the cluster runs without one); the object is written where it belongs, 200 empty.
void HandleDirectPut(ApiContext& ctx, Request& req, Response& resp, std::string_view tail);

}  // namespace aisle::api
