#include "server/api/http_types.h"

#include <strings.h>

#include "common/text.h"

namespace aisle::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::string* Headers::Find(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (IEquals(k, name)) return &v;
  }
  return nullptr;
}

std::string Headers::Get(std::string_view name) const {
  const std::string* v = Find(name);
  return v ? *v : std::string();
}

void Headers::Set(std::string_view name, std::string value) {
  for (auto& [k, v] : items_) {
    if (IEquals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string> Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

Result<std::string> Request::ReadBody(size_t limit) {
  std::string out;
  if (!body) return out;
  // A declared length over the limit is refused before a byte is read (or 100-continue sent).
  if (auto declared = body->DeclaredLength(); declared && *declared > limit)
    return Status::TooLarge("request body larger than " + std::to_string(limit) + " bytes");
  char buf[16384];
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t n, body->Read(buf, sizeof buf));
    if (n == 0) break;
    if (out.size() + n > limit)
      return Status::TooLarge("request body larger than " + std::to_string(limit) + " bytes");
    out.append(buf, n);
  }
  return out;
}

std::string PercentDecode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view kv = raw.substr(start, end - start);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string_view k = kv.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
      out.emplace_back(PercentDecode(k, true), PercentDecode(v, true));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace aisle::api
