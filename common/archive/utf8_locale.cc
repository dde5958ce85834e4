#include "common/archive/utf8_locale.h"

#include <locale.h>

namespace aisle::archive {

void EnsureUtf8Locale() {
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  thread_local bool done = false;
  if (done || utf8 == nullptr) return;
  uselocale(utf8);
  done = true;
}

}  // namespace aisle::archive
