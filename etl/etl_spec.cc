#include "etl/etl_spec.h"

namespace aisle::etl {

const char* CommName(Comm c) {
  switch (c) {
    case Comm::kBuiltin: return "builtin";
    case Comm::kCode: return "code";
    case Comm::kIo: return "io://";
    case Comm::kHpush: return "hpush://";
    case Comm::kHpull: return "hpull://";
    case Comm::kHrev: return "hrev://";
    case Comm::kWs: return "ws://";
  }
  return "?";
}

}  // namespace aisle::etl
