#include "common/name_template.h"

#include <charconv>
#include <limits>

namespace aisle {
namespace {

Status Invalid(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("invalid template \"" + std::string(text) + "\": " + why +
                                 " (expecting e.g. \"prefix-{0001..0010..2}-suffix\")");
}

// A non-negative decimal bound; its written width gives the zero padding.
bool ParseBound(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t d = s.find("..");
    if (d == std::string_view::npos) {
      parts.push_back(s);
      return parts;
    }
    parts.push_back(s.substr(0, d));
    s.remove_prefix(d + 2);
  }
}

// The items of a brace list "a,b,,c" (empty items are kept, as bash does).
std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> items;
  for (;;) {
    size_t c = s.find(',');
    items.emplace_back(s.substr(0, c));
    if (c == std::string_view::npos) return items;
    s.remove_prefix(c + 1);
  }
}

// Takes the text before the next `mark` (the next range; all when there is none) off rest:
// the prefix, or the gap after a range.
std::string TakeGap(std::string_view& rest, char mark) {
  size_t next = rest.find(mark);
  std::string gap(rest.substr(0, next));
  rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
  return gap;
}

Status CheckRange(std::string_view text, const NameTemplate::Range& r) {
  if (r.start > r.end) return Invalid(text, "start is greater than end");
  if (r.step <= 0) return Invalid(text, "step must be positive");
  return Status::OK();
}

Result<NameTemplate> ParseBash(std::string_view text) {
  NameTemplate t;
  std::string_view rest = text;
  t.prefix = TakeGap(rest, '{');
  while (!rest.empty()) {
    // rest starts at '{'
    size_t right = rest.find('}');
    if (right == std::string_view::npos) return Invalid(text, "unbalanced '{'");
    std::string_view inside = rest.substr(1, right - 1);
    if (inside.find('{') != std::string_view::npos) return Invalid(text, "nested '{'");
    NameTemplate::Range r;
    if (inside.find("..") == std::string_view::npos && inside.find(',') != std::string_view::npos) {
      r.items = SplitCommas(inside);
      r.end = static_cast<int64_t>(r.items.size()) - 1;
    } else {
      std::vector<std::string_view> parts = SplitDots(inside);
      if (parts.size() < 2 || parts.size() > 3)
        return Invalid(text, "a range is {START..END}, {START..END..STEP} or a list {A,B}");
      if (!ParseBound(parts[0], &r.start) || !ParseBound(parts[1], &r.end) ||
          (parts.size() == 3 && !ParseBound(parts[2], &r.step)))
        return Invalid(text, "range bounds must be non-negative decimal numbers");
      r.digits = static_cast<int>(std::min(parts[0].size(), parts[1].size()));
      AISLE_RETURN_IF_ERROR(CheckRange(text, r));
    }
    rest.remove_prefix(right + 1);
    r.gap = TakeGap(rest, '{');
    if (r.gap.find('}') != std::string::npos) return Invalid(text, "unbalanced '}'");
    t.ranges.push_back(std::move(r));
  }
  return t;
}

Result<NameTemplate> ParseAt(std::string_view text) {
  NameTemplate t;
  std::string_view rest = text;
  t.prefix = TakeGap(rest, '@');
  while (!rest.empty()) {
    // rest starts at '@'
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    NameTemplate::Range r;
    if (!ParseBound(rest.substr(1, n - 1), &r.end))
      return Invalid(text, "'@' must be followed by a decimal number");
    r.digits = static_cast<int>(n - 1);
    rest.remove_prefix(n);
    r.gap = TakeGap(rest, '@');
    t.ranges.push_back(std::move(r));
  }
  return t;
}

void AppendPadded(std::string& out, int64_t v, int digits) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  for (int pad = digits - static_cast<int>(p - buf); pad > 0; --pad) out += '0';
  out.append(buf, p);
}

}  // namespace

uint64_t NameTemplate::Count() const {
  uint64_t n = 1;
  for (const auto& r : ranges) {
    uint64_t k = static_cast<uint64_t>((r.end - r.start) / r.step) + 1;
    if (n > std::numeric_limits<uint64_t>::max() / k) return std::numeric_limits<uint64_t>::max();
    n *= k;
  }
  return n;
}

void NameTemplate::ForEach(const std::function<bool(const std::string&)>& fn) const {
  if (ranges.empty()) {
    fn(prefix);
    return;
  }
  std::vector<int64_t> at(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) at[i] = ranges[i].start;
  std::string name;
  for (;;) {
    name = prefix;
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (ranges[i].items.empty())
        AppendPadded(name, at[i], ranges[i].digits);
      else
        name += ranges[i].items[static_cast<size_t>(at[i])];
      name += ranges[i].gap;
    }
    if (!fn(name)) return;
    // Odometer: advance the last range; carry into the ones before it.
    size_t i = ranges.size();
    for (;;) {
      if (i == 0) return;
      --i;
      if (at[i] <= ranges[i].end - ranges[i].step) {
        at[i] += ranges[i].step;
        break;
      }
      at[i] = ranges[i].start;
    }
  }
}

Result<NameTemplate> ParseNameTemplate(std::string_view text) {
  if (text.empty() || text == "*") return Status::InvalidArgument("empty template");
  Result<NameTemplate> t = NameTemplate{};
  if (text.find('{') != std::string_view::npos) {
    t = ParseBash(text);
  } else if (text.find('}') != std::string_view::npos) {
    return Invalid(text, "unbalanced '}'");
  } else if (text.find('@') != std::string_view::npos) {
    t = ParseAt(text);
  } else {
    NameTemplate p;
    p.prefix = std::string(text);
    return p;
  }
  if (!t.ok()) return t;
  if (t->Count() > kMaxTemplateNames)
    return Invalid(text, "expands to more than " + std::to_string(kMaxTemplateNames) + " names");
  return t;
}

}  // namespace aisle
