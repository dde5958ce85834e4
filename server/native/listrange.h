// AIStore's multi-object operations over a ListRange (a list of names or a name template):
// DELETE /v1/buckets/B {"action":"delete-listrange"}, POST {"action":"copy-listrange"} and
// POST {"action":"etl-listrange"} (TCOMsg: selection + TCBMsg fields + "tobck" + "coer").
// The proxy validates the message, gives the job one id and starts it on every target; each
// target handles the names it holds (or owns, to report the missing ones).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/name_template.h"
#include "common/result.h"
#include "server/api/action_msg.h"
#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/api/target_context.h"

namespace aisle::cluster {
class ProxyCluster;
}

namespace aisle::api {

struct ListRangeArgs {
  std::string action;  // delete-listrange | copy-listrange | etl-listrange (also the job kind)
  std::string src, dst;
  std::vector<std::string> names;  // a list, or
  NameTemplate tmpl;               // a template (prefix-only: every object under the prefix)
  std::string etl, etl_args;       // etl-listrange
  // TCBMsg's transform: ETLs applied after `etl`, and the bound on one object's whole chain
  // (0 = none), as in etl-bck (server/etl/etl_chain.h).
  std::vector<std::string> pipeline;
  int64_t request_timeout_ms = 0;
  std::string prepend;
  std::map<std::string, std::string> ext;  // "jpg" -> "png"
  bool dry_run = false;
  bool continue_on_error = false;  // "coer": count per-object errors and finish
  int workers = 0;
};

bool IsListRangeAction(std::string_view action);

// Parses and checks the request (the method must match the action); kInvalidArgument with a
// message naming the problem otherwise. Checks no bucket's existence.
Result<ListRangeArgs> ParseListRange(const Request& req, std::string_view bucket,
                                     const ActionMsg& msg);

// On a target: starts this target's part of the job; the body is the job id.
void StartListRangeJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                       const ActionMsg& msg);

// At the primary proxy: checks the message, the source bucket and the ETL, creates a missing
// destination bucket, then starts the job on every target under one id (the reply's body).
// Nothing starts when the message is bad.
void ForwardListRange(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                      Response& resp, std::string_view bucket, const ActionMsg& msg,
                      const std::string& body);

}  // namespace aisle::api
