#include "server/shards/concat_reader.h"

#include <algorithm>
#include <cstring>

#include "server/storage/file_util.h"

namespace aisle::api {

uint64_t ConcatReader::total() const {
  uint64_t n = 0;
  for (const auto& p : parts_) n += p.len;
  return n;
}

Result<size_t> ConcatReader::Read(char* buf, size_t n) {
  while (cur_ < parts_.size() && done_ == parts_[cur_].len) {
    ++cur_;
    done_ = 0;
  }
  if (cur_ == parts_.size()) return size_t{0};
  Part& p = parts_[cur_];
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, p.len - done_));
  size_t got = 0;
  if (p.fd >= 0) {
    AISLE_ASSIGN_OR_RETURN(got, storage::PreadUpTo(p.fd, buf, want, p.off + done_, "shard"));
    if (got == 0) return Status::DataCorruption("shard shorter than its index");
  } else if (p.reader) {
    AISLE_ASSIGN_OR_RETURN(got, p.reader->Read(buf, want));
    if (got == 0) return Status::InvalidArgument("request body ended before its declared length");
  } else {
    std::memcpy(buf, p.str.data() + done_, want);
    got = want;
  }
  done_ += got;
  return got;
}

}  // namespace aisle::api
