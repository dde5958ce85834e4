// MakeBuiltinTransformer: a Transformer running one built-in in the calling thread, with
// arguments merged from the spec and the request, and at most spec.concurrency in flight.
#include <memory>
#include <new>
#include <semaphore>
#include <thread>

#include "etl/builtin/builtin_args.h"
#include "etl/builtin/builtin_ops.h"
#include "etl/exception_boundary.h"
#include "etl/transformer.h"

namespace aisle::etl {
namespace {

using builtin::Args;
using builtin::BuiltinOp;

class BuiltinTransformer final : public Transformer {
 public:
  BuiltinTransformer(const EtlSpec& spec, const BuiltinOp* op, Args defaults, int slots)
      : spec_(spec), op_(op), defaults_(std::move(defaults)), slots_(slots) {}

  Status Start() override { return Status::OK(); }
  void Stop() override {}

  Result<std::string> Transform(const TransformInput& in) override {
    // Bounds CPU-heavy work (image decode/encode) to the spec's concurrency.
    slots_.acquire();
    struct Release {
      std::counting_semaphore<>& s;
      ~Release() { s.release(); }
    } release{slots_};
    Result<std::string> r = Run(in);
    if (!r.ok()) return r.status().WithContext(Context());
    return r;
  }

 private:
  std::string Context() const { return "etl " + spec_.name + ": " + spec_.builtin; }

  Result<std::string> Run(const TransformInput& in) {
    const Args* args = &defaults_;
    Args merged;
    if (!in.args.empty()) {
      AISLE_ASSIGN_OR_RETURN(Args overrides, builtin::ParseArgs(in.args));
      merged = builtin::MergeArgs(defaults_, overrides);
      args = &merged;
    }
    AISLE_RETURN_IF_ERROR(op_->validate(*args, true));
    builtin::BuiltinCall call{in.data, in.object, args, spec_.max_output};
    return op_->run(call);
  }

  const EtlSpec spec_;
  const BuiltinOp* op_;
  const Args defaults_;
  std::counting_semaphore<> slots_;
};

}  // namespace

Result<std::unique_ptr<Transformer>> MakeBuiltinTransformer(const EtlSpec& spec) {
  std::string ctx = "etl " + spec.name;
  if (spec.comm != Comm::kBuiltin) {
    return Status::InvalidArgument(ctx + ": not a built-in transform (comm " + CommName(spec.comm) +
                                   ")");
  }
  const BuiltinOp* op = builtin::FindBuiltin(spec.builtin);
  if (op == nullptr) {
    return Status::InvalidArgument(ctx + ": unknown built-in transform '" + spec.builtin +
                                   "' (known: " + builtin::BuiltinNames() + ")");
  }
  ctx += ": " + spec.builtin;
  auto defaults = builtin::ParseArgs(spec.builtin_args);
  if (!defaults.ok()) return defaults.status().WithContext(ctx);
  Status st = op->validate(*defaults, false);
  if (!st.ok()) return st.WithContext(ctx);
  if (spec.concurrency < 0) {
    return Status::InvalidArgument(ctx + ": bad concurrency " + std::to_string(spec.concurrency));
  }
  int slots = spec.concurrency;
  if (slots == 0) slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return WithExceptionBoundary(
      std::make_unique<BuiltinTransformer>(spec, op, std::move(*defaults), slots), spec);
}

}  // namespace aisle::etl
