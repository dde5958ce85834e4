// A BodyReader over consecutive parts: file ranges, strings and (a bounded prefix of) another
// reader. Streams "old shard + new members" into Store::Put / AppendInPlace without buffering.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/body.h"
#include "common/result.h"

namespace aisle::api {

class ConcatReader : public BodyReader {
 public:
  void AddFile(int fd, uint64_t off, uint64_t len) {
    parts_.push_back({fd, off, len, {}, nullptr});
  }
  void AddString(std::string s) {
    uint64_t n = s.size();
    parts_.push_back({-1, 0, n, std::move(s), nullptr});
  }
  void AddReader(BodyReader* r, uint64_t len) { parts_.push_back({-1, 0, len, {}, r}); }
  uint64_t total() const;

  Result<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> DeclaredLength() const override { return total(); }

 private:
  struct Part {
    int fd;
    uint64_t off, len;
    std::string str;
    BodyReader* reader;
  };
  std::vector<Part> parts_;
  size_t cur_ = 0;
  uint64_t done_ = 0;
};

}  // namespace aisle::api
