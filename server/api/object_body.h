// The body of a GET of a stored object: bytes [start, start + length) of its data, from memory
// when the store read a small object whole with its header (one writev), else as a file range
// the transport sends with sendfile (the open file keeps that version alive until sent).
#pragma once

#include <cstdint>

#include "server/api/http_types.h"
#include "server/storage/store.h"

namespace aisle::api {

void SetObjectBody(const storage::ObjectReader& r, uint64_t start, uint64_t length, Response& resp);

}  // namespace aisle::api
