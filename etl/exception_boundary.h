// The one place where exceptions stop on their way out of a Transformer: the factories wrap
// every transformer they make, so implementations may let std::bad_alloc or std::system_error
// (a thread or mutex failure) escape and callers still only ever see Status values.
#pragma once

#include <memory>

#include "etl/transformer.h"

namespace aisle::etl {

std::unique_ptr<Transformer> WithExceptionBoundary(std::unique_ptr<Transformer> inner,
                                                   const EtlSpec& spec);

}  // namespace aisle::etl
