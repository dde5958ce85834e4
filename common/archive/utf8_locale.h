// libarchive converts member names through the thread's locale; in the C locale a UTF-8 name
// cannot be converted (and some writers then crash on a NULL name). Archive code calls this
// first: it switches only the calling thread to C.UTF-8 (uselocale), once per thread.
#pragma once

namespace aisle::archive {

void EnsureUtf8Locale();

}  // namespace aisle::archive
