// HttpProgramTransformer (hpush://, hpull://, hrev://): the program is an HTTP server run by
// a ProgramSupervisor. hpush PUTs the bytes to <url>/<bucket>/<object>?etl_args=...; hpull
// and hrev GET that URL and the program fetches the object from AIS_TARGET_URL itself.
// A 200 response body is the result; other statuses are errors with the status and body.
#pragma once

#include <memory>

#include "etl/transformer.h"

namespace aisle::etl {

std::unique_ptr<Transformer> MakeHttpProgramTransformer(const EtlSpec& spec);

}  // namespace aisle::etl
