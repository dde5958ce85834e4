// TarStream: a push parser of a tar byte stream (GetBatch answers), fed in arbitrary chunks
// as they arrive. Each regular member is delivered whole (the callers ask only for small
// ones). Understands ustar names with prefix, GNU long names ('L') and pax `path` ('x');
// other entry types (directories, links, global pax) are skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace aisle::fs {

class TarStream {
 public:
  // Receives one member: its name and all of its bytes. A non-OK status stops the parse.
  using MemberFn = std::function<Status(const std::string& name, std::string&& data)>;
  // Members larger than `max_member` are a corrupt stream for this use (kIOError), or, with
  // `skip_large`, passed over undelivered (a whole shard, of which only small members are kept).
  TarStream(MemberFn on_member, uint64_t max_member, bool skip_large = false);

  Status Feed(std::string_view bytes);
  // The stream ended: OK only after the end-of-archive block or at a member boundary.
  Status Finish() const;
  uint64_t members() const { return members_; }

 private:
  Status OnHeader(const char* block);
  Status OnBodyDone();

  MemberFn on_member_;
  const uint64_t max_member_;
  const bool skip_large_;
  bool skipping_ = false;  // the current body is passed over
  uint64_t skip_left_ = 0;
  std::string header_;  // bytes of the header block collected so far
  std::string body_;    // bytes of the current entry's body
  uint64_t body_size_ = 0;
  uint64_t pad_left_ = 0;  // padding after the body still to skip
  bool in_body_ = false;
  char type_ = 0;
  std::string name_;       // the current entry's name
  std::string long_name_;  // from a preceding 'L' or pax 'x' entry
  bool ended_ = false;     // a zero block was seen
  uint64_t members_ = 0;
};

}  // namespace aisle::fs
