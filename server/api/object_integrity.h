// Integrity of stored objects at the API level (docs/INTERNALS.md "Integrity"): which GETs
// verify checksums, and what happens to an object that fails: it is quarantined (never served
// again) and, where the bucket keeps copies on other targets, repaired from a good one.
#pragma once

#include <functional>
#include <string_view>

#include "common/result.h"
#include "server/api/target_context.h"
#include "server/storage/store.h"

namespace aisle::api {

// Whole-object GETs of `bucket` verify: the node's --validate-get, or the bucket's
// checksum.validate_warm_get / validate_cold_get (cluster metadata).
bool ValidateGets(const ApiContext& ctx, std::string_view bucket);

// `bad` (kDataCorruption: data that fails its checksum, or a header that does not decode):
// quarantines bucket/object (only the version `opened` read, when given) and, on a clustered
// target, repairs it from a good copy on another target. OK when repaired (open it again);
// else the error to report: 500, naming the object and this node.
Status QuarantineAndRepair(const ApiContext& ctx, std::string_view bucket, std::string_view object,
                           const storage::ObjectReader* opened, const Status& bad);

// Store::Get, then (when `verify`) VerifyObject; a corrupt object goes through
// QuarantineAndRepair and, repaired, is opened and verified again. `on_chunk`: VerifyObject's.
Result<storage::ObjectReader> OpenVerified(const ApiContext& ctx, std::string_view bucket,
                                           std::string_view object, bool verify,
                                           const std::function<Status(uint64_t)>& on_chunk = {});

}  // namespace aisle::api
