// IoTransformer (io://): one process per object. The object's bytes go to the program's
// stdin, its stdout is the result; a non-zero exit is an error naming the exit and the tail
// of its stderr. Concurrency is bounded by EtlSpec::concurrency.
#pragma once

#include <memory>

#include "etl/transformer.h"

namespace aisle::etl {

std::unique_ptr<Transformer> MakeIoTransformer(const EtlSpec& spec);

}  // namespace aisle::etl
