// Test hook for the write paths: a named step may fail, or stop as a crash would.
#pragma once

#include <functional>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace aisle::storage {

// What a fault hook asks for at a step: go on (OK), fail with an error (the write cleans up as
// on any error), or simulate a crash (the write stops where it is and leaves its temp file or
// undo record behind, as a real crash does).
struct FaultResult {
  FaultResult() = default;
  // A plain error fails the step; implicit so a hook may return a Status.
  FaultResult(Status st) : status(std::move(st)) {}  // NOLINT(google-explicit-constructor)
  static FaultResult Crash() {
    FaultResult f(Status::Internal("simulated power loss"));
    f.crash = true;
    return f;
  }
  bool ok() const { return status.ok(); }

  Status status;
  bool crash = false;
};

// Called at named steps of a write (see Store::SetFaultHook).
using FaultHook = std::function<FaultResult(std::string_view step)>;

}  // namespace aisle::storage
