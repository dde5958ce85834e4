// Raises the soft limit on open files to the hard limit: a node holds a descriptor per
// connection and open object (local reads hand out two per open file), so does aisle-fs.
#pragma once

#include <cstdint>

namespace aisle {

// Returns the soft limit now in effect.
uint64_t RaiseOpenFileLimit();

}  // namespace aisle
