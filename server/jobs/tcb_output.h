// The output side of the jobs that copy or transform objects into another bucket (AIStore's
// TCBMsg: copy-/etl-listrange in server/native, copy-/etl-bck in server/etl): the "ext"
// map, the destination name and the write at the destination's owner.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/result.h"
#include "server/api/target_context.h"
#include "server/jobs/job_registry.h"

namespace aisle::jobs {

using ExtMap = std::map<std::string, std::string>;  // "jpg" -> "png" (no leading dots)

// Adds the TCBMsg "ext" object's pairs to *ext; kInvalidArgument for a non-string value.
Status ParseTcbExt(const nlohmann::json& ext_obj, ExtMap* ext);

// prepend + name, with the last extension replaced when `ext` maps it ("a/b.jpg" -> "a/b.png").
std::string TcbDestName(const std::string& prepend, const ExtMap& ext, const std::string& name);

// Writes data under dst/out_name where it belongs (unless dry_run), then counts one output.
Status WriteTcbOutput(const api::ApiContext& ctx, const std::string& dst,
                      const std::string& out_name, const std::string& data, bool dry_run, Job& job);

}  // namespace aisle::jobs
