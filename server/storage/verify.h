// Integrity checks of stored objects (docs/INTERNALS.md "Integrity"): re-hash an opened
// object's data and compare it with the XXH64 its header recorded at PUT. Used by validated
// GETs, the copies a target pushes (replication, rebalance, copy jobs) and the scrub job.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "common/status.h"
#include "server/storage/store.h"

namespace aisle::storage {

// OK when the data of `r` (bucket/r.meta.name) hashes to r.meta.xxhash. A file shorter than
// its header says or a different hash is kDataCorruption naming the object and both values.
// `on_chunk` (optional) is called with each chunk's size as it is read: the scrub job's rate
// bound; a non-OK return stops the check with that Status (an abort).
Status VerifyObject(const ObjectReader& r, std::string_view bucket,
                    const std::function<Status(uint64_t)>& on_chunk = {});

// The kDataCorruption Status for a stored object whose data hashed to `actual`.
Status ChecksumMismatch(std::string_view bucket, std::string_view name, uint64_t recorded,
                        uint64_t actual);

}  // namespace aisle::storage
