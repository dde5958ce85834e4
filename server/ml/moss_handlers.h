// GetBatch routes: GET /v1/ml/moss[/BUCKET] with a MossReq JSON body.
// Proxy: reads and checks the body, picks the target that assembles the batch (random, or the
// HRW owner of most entries when coloc >= 1) and answers 307 to it (the client re-sends the
// body). Target: streams the archive (strm) or answers multipart/mixed with the MossResp
// metadata part and the archive part (buffered, up to kBufferedCap bytes, else 429).
#pragma once

#include <string_view>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/api/target_context.h"

namespace aisle::cluster {
struct Smap;
}

namespace aisle::ml {

inline constexpr size_t kMaxRequestBody = 64 << 20;
inline constexpr uint64_t kBufferedCap = 256 << 20;

// tail: the path after /v1/ml/ ("moss" or "moss/BUCKET").
void HandleMoss(api::ApiContext& ctx, api::Request& req, api::Response& resp,
                std::string_view tail);
void RouteMoss(const api::NodeContext& node, const cluster::Smap& smap, api::Request& req,
               api::Response& resp, std::string_view tail);

}  // namespace aisle::ml
