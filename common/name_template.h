// Object-name templates of AIStore's multi-object operations (cmn/cos template.go):
// bash-style brace ranges "img-{0000..9999}.jpg", "a-{0..100..2}-b-{01..10}" (several ranges,
// optional step, zero padding to the shorter bound's width) and "at" ranges "img-@0999.jpg"
// (0..999, padded to 4). A template without a range is a prefix. Aisle extension: brace lists
// "{a,b,c}" (bash style; AIStore has none) count as ranges over their items. Used by the
// multi-object operations (server/native/listrange), the archive job (server/shards) and
// `aisle object get-batch --template` (cli/get_batch).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle {

struct NameTemplate {
  struct Range {
    int64_t start = 0, end = 0, step = 1;
    int digits = 0;                  // zero-pad to this width
    std::vector<std::string> items;  // a list {a,b}: items[0..end] replace the numbers
    std::string gap;                 // the text after the range, up to the next one or the end
  };
  std::string prefix;
  std::vector<Range> ranges;  // empty: a prefix-only template

  bool IsPrefixOnly() const { return ranges.empty(); }
  // How many names the template expands to (saturates at UINT64_MAX; 1 for prefix-only).
  uint64_t Count() const;
  // Calls fn with each name in order (the last range varies fastest) until fn returns false.
  void ForEach(const std::function<bool(const std::string&)>& fn) const;
};

// The most names one template may expand to (AIStore's limit).
inline constexpr uint64_t kMaxTemplateNames = 10'000'000;

// Parses a template; kInvalidArgument for an empty one, malformed or unbalanced braces,
// non-numeric bounds, start > end, a non-positive step, or more than kMaxTemplateNames names.
// A brace with a ',' and no ".." is a list; "{x}" (neither) is refused.
Result<NameTemplate> ParseNameTemplate(std::string_view text);

}  // namespace aisle
