// The one Status -> HTTP translation: status code and AIStore-shaped JSON error body
// (in the Hdr-Error header for HEAD).
#pragma once

#include "common/status.h"
#include "server/api/http_types.h"
#include "server/api/node_context.h"

namespace aisle::api {

int HttpStatusFor(const Status& st);
// Name checks whose messages name the bucket/object the way clients parse them (ais://b/o).
Status CheckBucketName(std::string_view bucket);
Status CheckObjectName(std::string_view bucket, std::string_view object);
void WriteError(const Request& req, Response& resp, const Status& st, const NodeContext& node);
void WriteError(const Request& req, Response& resp, int http_status, const std::string& message,
                const NodeContext& node);

}  // namespace aisle::api
