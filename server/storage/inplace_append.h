// In-place append to an object file: the file-level half of Store::AppendInPlace (the store
// does the lookups, locks and index update). Crash safety comes from an undo record, written
// and fsynced before the object file is touched and removed (durably) only after the object
// file is fsynced; a record found at start is rolled back. docs/formats/object.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/body.h"
#include "common/result.h"
#include "server/storage/fault_hook.h"

namespace aisle::storage::inplace {

// Most old bytes after the append point that a record keeps (a tar's end blocks + padding).
constexpr uint64_t kMaxOldTail = 1 << 20;

struct UndoRecord {
  std::string rel_path;   // the object file, relative to the mountpath
  uint64_t ino = 0;       // its inode: a record never touches a file that replaced it
  uint64_t old_len = 0;   // file length before the append
  uint64_t tail_off = 0;  // file offset of the first overwritten byte
  std::string old_header;
  std::string old_tail;  // file bytes [tail_off, old_len)
};
std::string EncodeUndo(const UndoRecord& r);
Result<UndoRecord> DecodeUndo(std::string_view data);

// Puts back the bytes a record describes (idempotent) and fsyncs the object file.
Status RollBack(const std::string& mp_root, const UndoRecord& r);
// At start, before objects are indexed: rolls back every record of the mountpath and removes
// it. A torn record (bad checksum) was never followed by a write to the object: removed.
Status Recover(const std::string& mp_root);

// XXH64 state (Xxh64Stream::SaveState) of data [0, n) of an object file whose data starts at
// data_off.
Result<std::string> HashPrefix(int fd, uint64_t data_off, uint64_t n, const std::string& what);

struct WriteArgs {
  int fd = -1;  // the object file, O_RDWR
  std::string mp_root;
  UndoRecord undo;           // old header and tail, read by the caller under its locks
  std::string prefix_state;  // XXH64 state of data [0, data_at)
  uint32_t header_len = 0;
  uint64_t data_at = 0;  // data offset where the tail goes
  BodyReader* tail = nullptr;
  uint64_t tail_len = 0;
  uint64_t snapshot_at = 0;  // data offset whose XXH64 state to return
  // The new header for the new data size and checksum; must keep header_len.
  std::function<std::string(uint64_t size, uint64_t xxhash)> encode_header;
  FaultHook fault;  // Store's
};
struct WriteResult {
  uint64_t xxhash = 0;
  std::string snapshot_state;
};
// Undo record -> tail -> header -> fsync -> record removed. On an error the object is rolled
// back; a simulated crash (FaultResult::Crash() from fault) leaves everything as it is.
Result<WriteResult> Write(const WriteArgs& a);

}  // namespace aisle::storage::inplace
