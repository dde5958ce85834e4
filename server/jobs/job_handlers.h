// Jobs over HTTP, AIStore's xaction shapes (ais-api.md §5): GET /v1/cluster?what=status|
// status_all|running_all|qryxstats with a QueryMsg body, PUT /v1/cluster {"action":"stop"}, and
// starting the "archive" job from PUT /v1/buckets/B {"action":"archive",...}. Role-independent:
// a proxy can later fan these out to targets and merge the answers.
#pragma once

#include <string_view>

#include "server/api/http_types.h"
#include "server/api/target_context.h"

namespace aisle::api {

// True when GET/PUT /v1/cluster addresses jobs (what=status|status_all|running_all|qryxstats,
// or any PUT on /v1/cluster itself).
bool IsJobRequest(const Request& req, std::string_view tail);
void HandleJobs(ApiContext& ctx, Request& req, Response& resp);

}  // namespace aisle::api
