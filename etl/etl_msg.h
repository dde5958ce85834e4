// ETL init messages → EtlSpec. Accepts, in this order:
//   - Aisle's built-in form  {"name","builtin":"image-resize","args":"size=256,crop=224"}
//   - AIStore's former init-code message {"name","code":"<b64>","dependencies":"<b64>",
//     "funcs":{"transform":"fn"},"runtime":"python3.11v2",...}: run by the Python runtime
//   - AIStore's ETLSpecMsg {"name","communication","runtime":{"image","command":[..],"env"}}:
//     with no container runtime the command runs as a local program; an image named
//     "aisle/builtin:NAME" selects a built-in instead
//   - Aisle's shorthand {"name","communication","command":[..] | "shell command"}
// AIStore's deprecated pod-spec message is refused with a clear error (it needs Kubernetes).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "etl/etl_spec.h"

namespace aisle::etl {

// Lowercase letters, digits and '-', 2..32 chars, starting and ending alphanumeric.
Status ValidateEtlName(std::string_view name);

// Parses and validates an init message; work_dir and target_url are left empty.
Result<EtlSpec> ParseInitMsg(std::string_view json);

// "5m", "45s", "1m30s", "500ms", "2h" (Go durations) → milliseconds; bare integers are
// nanoseconds (Go's JSON for time.Duration).
Result<int64_t> ParseDurationMs(std::string_view s);

}  // namespace aisle::etl
