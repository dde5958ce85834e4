// A target's work directories under MP/.aisle/ (docs/formats/object.md): the only code that
// names them. Everything else asks here, so the on-disk layout is written down once.
#pragma once

#include <string>
#include <string_view>

namespace aisle::storage {

// MP/.aisle: the node's own files on mountpath MP (never a bucket: bucket dirs are MP/ais/...).
std::string WorkDir(std::string_view mountpath);

// DIR/node-id: the node's persistent identity. A target keeps it in WorkDir(first mountpath),
// a proxy in its --data-dir.
std::string NodeIdFile(std::string_view dir);

std::string TmpDir(std::string_view mountpath);    // work files; emptied at start
std::string TrashDir(std::string_view mountpath);  // destroyed buckets being removed
std::string UndoDir(std::string_view mountpath);   // undo records of in-place appends
// Object files that failed their checksum, moved aside (kept for inspection, never served).
std::string QuarantineDir(std::string_view mountpath);
// Scratch space of ETL programs (one dir per transform; first mountpath).
std::string EtlDir(std::string_view mountpath);
// S3 multipart uploads in progress, one dir per upload id (first mountpath).
std::string S3UploadsDir(std::string_view mountpath);
// The mountpath's object index (LMDB environment, meta_index.h); set aside to
// <IndexDir>.bad-<time> when unreadable.
std::string IndexDir(std::string_view mountpath);

}  // namespace aisle::storage
