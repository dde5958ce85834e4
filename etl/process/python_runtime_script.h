// The Python ETL runtime (etl/runtime/python/aisle_etl_runtime.py), embedded at build time
// so an installed target needs no share/ files. Generated into the build directory.
#pragma once

#include <string_view>

namespace aisle::etl {

std::string_view PythonRuntimeScript();

}  // namespace aisle::etl
