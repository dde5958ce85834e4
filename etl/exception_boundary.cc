#include "etl/exception_boundary.h"

#include <exception>
#include <new>

namespace aisle::etl {
namespace {

std::string What(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

class Boundary : public Transformer {
 public:
  Boundary(std::unique_ptr<Transformer> inner, const EtlSpec& spec)
      : inner_(std::move(inner)), prefix_("etl " + spec.name + ": ") {}
  ~Boundary() override { Stop(); }

  Status Start() override {
    try {
      return inner_->Start();
    } catch (...) {
      Status st = Status::Internal(prefix_ + "start: " + What(std::current_exception()));
      Stop();  // release whatever started before the failure
      return st;
    }
  }
  void Stop() override {
    try {
      inner_->Stop();
    } catch (...) {  // nothing better to do while stopping
    }
  }
  Result<std::string> Transform(const TransformInput& in) override {
    try {
      return inner_->Transform(in);
    } catch (...) {
      return Status::Internal(prefix_ + What(std::current_exception()));
    }
  }
  bool PullsData() const override { return inner_->PullsData(); }
  std::string ProgramUrl() const override {
    return Guard([&] { return inner_->ProgramUrl(); });
  }
  std::string Logs() const override {
    return Guard([&] { return inner_->Logs(); });
  }
  std::string Health() const override {
    try {
      return inner_->Health();
    } catch (...) {
      return "health check failed: " + What(std::current_exception());
    }
  }

 private:
  template <typename Fn>
  static std::string Guard(Fn fn) {
    try {
      return fn();
    } catch (...) {
      return "";
    }
  }

  std::unique_ptr<Transformer> inner_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<Transformer> WithExceptionBoundary(std::unique_ptr<Transformer> inner,
                                                   const EtlSpec& spec) {
  return std::make_unique<Boundary>(std::move(inner), spec);
}

}  // namespace aisle::etl
