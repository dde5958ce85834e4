// A Store on one mountpath for unit tests (aborts the test binary if it cannot open).
#pragma once

#include <memory>
#include <string>

#include "server/storage/store.h"

namespace aisle::testing {

inline std::unique_ptr<storage::Store> OpenStore(const std::string& mountpath) {
  storage::StoreOptions o;
  o.mountpaths = {mountpath};
  return std::move(storage::Store::Open(o)).value();
}

}  // namespace aisle::testing
