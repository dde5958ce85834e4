// PythonRuntimePool (Comm::kCode): a pool of EtlSpec::concurrency persistent python3
// processes running the embedded runtime (aisle_etl_runtime.py) over the user's code. Each
// Transform checks out an idle worker and exchanges one request/response frame pair with it.
// A hung worker is killed and replaced (Timeout); a crashed one is reported and replaced.
#pragma once

#include <memory>

#include "etl/transformer.h"

namespace aisle::etl {

std::unique_ptr<Transformer> MakePythonRuntimePool(const EtlSpec& spec);

}  // namespace aisle::etl
