#include "common/archive/utf8_locale.h"

#include <locale.h>

namespace aisle::archive {

void EnsureUtf8Locale() {
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  thread_local bool done = false;
  if (done || utf8 == static_cast<locale_t>(0)) return;
  uselocale(utf8);
  done = true;
}

}  // namespace aisle::archive
