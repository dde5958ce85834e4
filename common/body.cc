#include "common/body.h"

#include <algorithm>
#include <cstring>

namespace aisle {

Result<size_t> StringBodyReader::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  if (k > 0) std::memcpy(buf, data_.data() + pos_, k);  // an empty view's data() may be null
  pos_ += k;
  return k;
}

}  // namespace aisle
