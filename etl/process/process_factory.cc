// MakeProcessTransformer: picks the process-based Transformer for a spec's communication type.
#include "etl/exception_boundary.h"
#include "etl/process/http_program.h"
#include "etl/process/io_transformer.h"
#include "etl/process/process_util.h"
#include "etl/process/python_runtime_pool.h"
#include "etl/process/ws_transformer.h"
#include "etl/transformer.h"

namespace aisle::etl {

namespace {

Result<std::unique_ptr<Transformer>> MakeUnguarded(const EtlSpec& spec) {
  const std::string prefix = EtlPrefix(spec);
  if (spec.obj_timeout_ms < 0 || spec.init_timeout_ms < 0 || spec.concurrency < 0) {
    return Status::InvalidArgument(prefix + "negative timeout or concurrency");
  }
  switch (spec.comm) {
    case Comm::kCode:
      if (spec.code.empty() && spec.class_payload.empty())
        return Status::InvalidArgument(prefix + "no Python code");
      if (spec.work_dir.empty()) return Status::InvalidArgument(prefix + "no work dir");
      return MakePythonRuntimePool(spec);
    case Comm::kIo:
      if (spec.command.empty() && spec.code.empty())
        return Status::InvalidArgument(prefix + "io:// needs a command");
      if (!spec.code.empty() && spec.work_dir.empty())
        return Status::InvalidArgument(prefix + "no work dir");
      return MakeIoTransformer(spec);
    case Comm::kHpush:
    case Comm::kHpull:
    case Comm::kHrev:
      if (spec.command.empty()) {
        return Status::InvalidArgument(prefix + CommName(spec.comm) + " needs a command");
      }
      return MakeHttpProgramTransformer(spec);
    case Comm::kWs:
      if (spec.command.empty()) return Status::InvalidArgument(prefix + "ws:// needs a command");
      return MakeWsTransformer(spec);
    case Comm::kBuiltin: break;
  }
  return Status::InvalidArgument(prefix + "communication type " + CommName(spec.comm) +
                                 " is not run as a process");
}

}  // namespace

Result<std::unique_ptr<Transformer>> MakeProcessTransformer(const EtlSpec& spec) {
  AISLE_ASSIGN_OR_RETURN(std::unique_ptr<Transformer> t, MakeUnguarded(spec));
  return WithExceptionBoundary(std::move(t), spec);
}

}  // namespace aisle::etl
