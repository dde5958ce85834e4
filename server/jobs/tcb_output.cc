#include "server/jobs/tcb_output.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/body.h"
#include "server/api/target_routing.h"
#include "server/storage/store.h"

namespace aisle::jobs {

Status ParseTcbExt(const nlohmann::json& ext_obj, ExtMap* ext) {
  for (auto it = ext_obj.begin(); it != ext_obj.end(); ++it) {
    if (!it.value().is_string())
      return Status::InvalidArgument("\"ext\" maps extensions to extensions: {\"jpg\":\"png\"}");
    std::string from = it.key(), to = it.value().get<std::string>();
    if (!from.empty() && from[0] == '.') from.erase(0, 1);
    if (!to.empty() && to[0] == '.') to.erase(0, 1);
    (*ext)[from] = to;
  }
  return Status::OK();
}

std::string TcbDestName(const std::string& prepend, const ExtMap& ext, const std::string& name) {
  std::string out = name;
  size_t dot = out.rfind('.');
  size_t slash = out.rfind('/');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    auto it = ext.find(out.substr(dot + 1));
    if (it != ext.end()) out = out.substr(0, dot + 1) + it->second;
  }
  return prepend + out;
}

Status WriteTcbOutput(const api::ApiContext& ctx, const std::string& dst,
                      const std::string& out_name, const std::string& data, bool dry_run,
                      Job& job) {
  if (!dry_run) {
    AISLE_RETURN_IF_ERROR(api::PutAtOwner(
        ctx, dst, out_name, data,
        [&] {
          StringBodyReader body(data);
          return ctx.store->Put(dst, out_name, body, {}).status();
        },
        std::chrono::milliseconds(120000)));
  }
  job.AddOutput(1, data.size());
  return Status::OK();
}

}  // namespace aisle::jobs
