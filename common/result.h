// Result<T>: a value or a Status (std::expected is C++23).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace aisle {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace aisle

#define AISLE_CONCAT_INNER(a, b) a##b
#define AISLE_CONCAT(a, b) AISLE_CONCAT_INNER(a, b)
// AISLE_ASSIGN_OR_RETURN(auto x, Foo()); returns Foo()'s Status on error.
#define AISLE_ASSIGN_OR_RETURN(lhs, expr)                                                 \
  auto AISLE_CONCAT(_res_, __LINE__) = (expr);                                            \
  if (!AISLE_CONCAT(_res_, __LINE__).ok()) return AISLE_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(AISLE_CONCAT(_res_, __LINE__)).value()
