#include "etl/transformer.h"

#include <algorithm>

namespace aisle::etl {

int64_t EffectiveTimeoutMs(const TransformInput& in, int64_t obj_timeout_ms,
                           bool* bound_by_deadline) {
  *bound_by_deadline = false;
  if (in.deadline == std::chrono::steady_clock::time_point::max()) return obj_timeout_ms;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  in.deadline - std::chrono::steady_clock::now())
                  .count();
  left = std::max<int64_t>(left, 0);
  if (obj_timeout_ms > 0 && obj_timeout_ms <= left) return obj_timeout_ms;
  *bound_by_deadline = true;
  return left;
}

}  // namespace aisle::etl
