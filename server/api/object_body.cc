#include "server/api/object_body.h"

namespace aisle::api {

void SetObjectBody(const storage::ObjectReader& r, uint64_t start, uint64_t length,
                   Response& resp) {
  if (!r.small_data.empty() || r.meta.size == 0) {
    resp.body = r.small_data.substr(start, length);
    return;
  }
  FileBody fb;
  fb.owner = r.file;
  fb.fd = r.file->get();
  fb.offset = r.data_offset + start;
  fb.length = length;
  resp.file = fb;
}

}  // namespace aisle::api
