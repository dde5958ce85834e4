// ETL on a target: the /v1/etl API (local view; on a clustered target the proxy owns the
// registry and these routes answer its fan-out), inline transforms of GET ?etl_name= (also of
// one shard member with archpath), and the offline bucket-to-bucket job (etl-bck, copy-bck).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/api/action_msg.h"
#include "server/api/http_types.h"
#include "server/api/target_context.h"

namespace aisle::etl {
class EtlInstance;
}

namespace aisle::api {

// /v1/etl[/NAME[/logs|health|metrics|stop|start]] on a target.
void HandleEtl(ApiContext& ctx, Request& req, Response& resp, std::string_view tail);

// True when an object request names a transform (non-empty etl_name or etl_pipeline).
bool IsEtlRequest(const Request& req);
// GET/HEAD of bucket/object (or its archpath member) through the named transform(s).
void HandleEtlObject(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object);

// The inline transform of GET ?etl_name= for callers that already hold the bytes (GetBatch):
// `data` of bucket/name (an object, or "shard/member") through `inst` with etl_args `args`.
// It runs as a one-stage chain (RunChain), as HandleEtlObject runs etl_name.
Result<std::string> InlineTransform(const std::shared_ptr<etl::EtlInstance>& inst,
                                    std::string_view data, std::string_view bucket,
                                    const std::string& name, const std::string& args);

// POST /v1/buckets/SRC {"action":"etl-bck"|"copy-bck", "value": TCBMsg} with ?bck_to=DST:
// starts this target's part of the job (its own objects); the body is the job id.
void StartEtlBucketJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                       const ActionMsg& msg);

// TCBMsg's Transform fields beyond "id" (top level, or inside "transform"): "pipeline", the
// ETL names applied after it (a list of non-empty strings), and "request_timeout" (a Go
// duration string or nanoseconds) in ms, 0 when absent. Malformed: kInvalidArgument.
Result<std::vector<std::string>> ParseTcbPipeline(const nlohmann::json& value);
Result<int64_t> ParseTcbTimeout(const nlohmann::json& value);

// TCBMsg's "latest-ver" and "synchronize" concern buckets with a remote backend; on ais://
// buckets (all Aisle has) they are accepted and do nothing, as in AIStore. Like AIStore,
// "synchronize" with a "prepend" is refused (kInvalidArgument).
Status CheckTcbSync(const nlohmann::json& value);

// The destination bucket of an etl-bck/copy-bck request: ?bck_to= (AIStore's "ais/@#/dst/"
// uname or a plain name), else the message's "name". Empty when none.
std::string DestBucketOf(const Request& req, const ActionMsg& msg);

}  // namespace aisle::api
