// PickFreePort: a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read the
// port, close). The program that gets it binds it soon after; the small race is accepted.
#pragma once

#include "common/result.h"

namespace aisle::etl {

Result<int> PickFreePort();

}  // namespace aisle::etl
