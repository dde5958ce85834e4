// Byte-stream interfaces shared by transport, API handlers and the storage engine.
// Both are blocking pulls/pushes called from a worker thread, never from an I/O thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace aisle {

// A request body or any other source of bytes.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to n bytes into buf. Returns 0 at the end of the body; an error on a
  // broken connection, timeout or malformed chunked encoding.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Declared length, when the sender declared one (Content-Length); nullopt for chunked.
  virtual std::optional<uint64_t> DeclaredLength() const = 0;
};

// A BodyReader over a memory buffer (tests, small internal bodies).
class StringBodyReader : public BodyReader {
 public:
  explicit StringBodyReader(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> DeclaredLength() const override { return data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace aisle
