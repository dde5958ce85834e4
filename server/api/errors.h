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
// The methods the native API serves on some route; any other (TRACE, CONNECT, unknown) is 405
// on every node before routing.
bool IsApiMethod(std::string_view method);
// Writes 417 (AIS error shape) and returns true for an Expect header other than 100-continue
// (case-insensitive); the body is left unread and the connection closed after the answer.
bool RefuseUnknownExpectation(const Request& req, Response& resp, const NodeContext& node);
// Bucket/object query checks shared by target and proxy: provider= empty or ais (others are
// kUnsupported), namespace= empty or the global one "@#" (others are kInvalidArgument).
Status CheckBucketQuery(const Request& req);
void WriteError(const Request& req, Response& resp, const Status& st, const NodeContext& node);
void WriteError(const Request& req, Response& resp, int http_status, const std::string& message,
                const NodeContext& node);

}  // namespace aisle::api
