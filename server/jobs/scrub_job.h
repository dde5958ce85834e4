// The scrub job (kind "scrub"; docs/INTERNALS.md "Integrity"): re-hashes every object a target
// stores (one bucket or all) against the checksum recorded at PUT, at a bounded read rate,
// and checks every shard index sidecar (its own checksum and its tag against the object).
// A corrupt object is quarantined and, in a bucket with copies >= 2, repaired from a good copy
// (api::QuarantineAndRepair); a bad sidecar is removed (the next member read rebuilds it).
// Counters (job "ext"): checked, bytes, corrupt, repaired, sidecars, sidecars-bad.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "server/api/target_context.h"

namespace aisle::jobs {
class Job;
}

namespace aisle::api {

struct ScrubArgs {
  std::string bucket;     // empty: every bucket
  uint64_t rate_bps = 0;  // object bytes read per second on this target; 0 = unthrottled
};

// Starts the job on this target (id: given by the proxy, so every target's share has one id,
// or new). kNotFound for a bucket this target does not have.
Result<std::string> StartScrub(const ApiContext& ctx, const ScrubArgs& args, std::string id);

// The job's body (exposed for tests): OK, or the abort / a listing failure.
Status RunScrub(const ApiContext& ctx, const ScrubArgs& args, jobs::Job& job);

}  // namespace aisle::api
