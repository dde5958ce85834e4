#include "server/native/local_read_handler.h"

#include <string>

#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/store.h"

namespace aisle::api {

local::LocalOpenResult OpenForLocalRead(ApiContext& ctx, const localread::OpenRequest& req) {
  local::LocalOpenResult out;
  auto fail = [&](const Status& st) {
    out.reply.status = HttpStatusFor(st);
    out.reply.message = ctx.node.Name() + ": " + st.message();
    if (ctx.local_reads) ++ctx.local_reads->errors;
    return out;
  };
  if (Status st = CheckObjectName(req.bucket, req.object); !st.ok()) return fail(st);
  auto r = ctx.store->Get(req.bucket, req.object);
  if (!r.ok()) return fail(r.status());
  out.reply.status = 200;
  out.reply.node = ctx.node.id;
  out.reply.url = ctx.node.Url();
  out.reply.offset = r->data_offset;
  out.reply.size = r->meta.size;
  out.reply.version = std::to_string(r->meta.version);
  out.reply.mtime_ns = r->meta.mtime_ns;
  out.fd = r->file->get();
  out.hold = r->file;  // the fd and, with it, the read guard (not the small object's bytes)
  if (ctx.local_reads) ++ctx.local_reads->opens;
  return out;
}

}  // namespace aisle::api
