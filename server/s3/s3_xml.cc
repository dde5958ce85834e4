#include "server/s3/s3_xml.h"

#include <cstdint>
#include <string>

#include "server/s3/s3_error.h"

namespace aisle::api::s3 {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] naming a character XML 1.0 allows
// (#x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF); 0 for anything else.
size_t XmlCharLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c >= 0x20 && c < 0x80) return 1;
  size_t n = c >= 0xF0 ? (c <= 0xF4 ? 4 : 0) : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(k) & 0x3F);
  }
  bool shortest = n == 2 || (n == 3 && cp >= 0x800) || (n == 4 && cp >= 0x10000);
  bool allowed =
      (cp < 0xD800 || (cp >= 0xE000 && cp <= 0xFFFD)) || (cp >= 0x10000 && cp <= 0x10FFFF);
  return shortest && allowed ? n : 0;
}

}  // namespace

// Every S3 body goes through here, so a key or message carrying NUL, another control character
// or bytes that are not UTF-8 still yields well-formed XML: such bytes become U+FFFD.
std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += "&#10;"; break;
      case '\t': out += c; break;
      default: {
        size_t n = XmlCharLength(s, i);
        if (n == 0) {
          out += kReplacement;
          ++i;
        } else {
          out.append(s.substr(i, n));
          i += n;
        }
        continue;
      }
    }
    ++i;
  }
  return out;
}

XmlWriter::XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

XmlWriter& XmlWriter::Open(std::string_view tag, std::string_view xmlns) {
  out_.append("<").append(tag);
  if (!xmlns.empty()) out_.append(" xmlns=\"").append(xmlns).append("\"");
  out_.append(">");
  return *this;
}

XmlWriter& XmlWriter::Close(std::string_view tag) {
  out_.append("</").append(tag).append(">");
  return *this;
}

XmlWriter& XmlWriter::Leaf(std::string_view tag, std::string_view text) {
  out_.append("<").append(tag).append(">").append(XmlEscape(text));
  out_.append("</").append(tag).append(">");
  return *this;
}

namespace {

bool DecodeEntities(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      *out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) return false;
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      *out += '&';
    else if (ent == "lt")
      *out += '<';
    else if (ent == "gt")
      *out += '>';
    else if (ent == "quot")
      *out += '"';
    else if (ent == "apos")
      *out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      unsigned long cp = 0;
      try {
        cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                 ? std::stoul(std::string(ent.substr(2)), nullptr, 16)
                 : std::stoul(std::string(ent.substr(1)), nullptr, 10);
      } catch (...) {
        return false;
      }
      if (cp < 0x80) {
        *out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        *out += static_cast<char>(0xC0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *out += static_cast<char>(0xE0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        *out += static_cast<char>(0xF0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      return false;
    }
    i = semi;
  }
  return true;
}

// Finds the next opening <tag> or <tag attr...> (not <tagX>); returns the position after '>'.
size_t FindOpen(std::string_view xml, std::string_view tag, size_t from, size_t* start) {
  std::string open = "<" + std::string(tag);
  for (size_t p = xml.find(open, from); p != std::string_view::npos; p = xml.find(open, p + 1)) {
    size_t after = p + open.size();
    if (after >= xml.size()) return std::string_view::npos;
    char c = xml[after];
    if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\n' && c != '\r') continue;
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return std::string_view::npos;
    *start = p;
    if (xml[gt - 1] == '/') return gt + 1;  // <tag/>: empty element, caller sees ""
    return gt + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  for (;;) {
    size_t start = 0;
    size_t body = FindOpen(xml, tag, pos, &start);
    if (body == std::string_view::npos) break;
    if (xml[body - 2] == '/') {
      out.emplace_back();
      pos = body;
      continue;
    }
    size_t end = xml.find(close, body);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(body, end - body));
    pos = end + close.size();
  }
  return out;
}

Result<std::vector<std::string>> XmlTexts(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  for (std::string_view b : XmlBlocks(xml, tag)) {
    std::string text;
    if (b.find('<') != std::string_view::npos || !DecodeEntities(b, &text))
      return Status::InvalidArgument("malformed <" + std::string(tag) + "> element");
    out.push_back(std::move(text));
  }
  return out;
}

void WriteS3Error(const Request& req, Response& resp, int http_status, std::string_view code,
                  std::string_view message, std::string_view resource) {
  resp.status = http_status;
  resp.file.reset();
  resp.head_length.reset();
  resp.headers.Set("Content-Type", "application/xml");
  if (req.method == "HEAD") {
    resp.body.clear();
    return;
  }
  XmlWriter w;
  w.Open("Error").Leaf("Code", code).Leaf("Message", message);
  w.Leaf("Resource", resource.empty() ? std::string_view(req.path) : resource);
  w.Leaf("RequestId", "0").Close("Error");
  resp.body = w.Take();
}

S3ErrorCode S3ErrorFor(const Status& st, std::string_view not_found_code) {
  S3ErrorCode e{"InternalError", 500};
  switch (st.code()) {
    case StatusCode::kOk: return {"", 200};
    case StatusCode::kInvalidArgument: e = {"InvalidArgument", 400}; break;
    case StatusCode::kNotFound:
      e = {not_found_code, 404};
      if (st.subject() == Subject::kBucket) e.code = "NoSuchBucket";
      if (st.subject() == Subject::kUpload) e.code = "NoSuchUpload";
      break;
    case StatusCode::kAlreadyExists: e = {"BucketAlreadyOwnedByYou", 409}; break;
    case StatusCode::kConflict: e = {"OperationAborted", 409}; break;
    case StatusCode::kRangeNotSatisfiable: e = {"InvalidRange", 416}; break;
    case StatusCode::kTooLarge: e = {"EntityTooLarge", 400}; break;
    case StatusCode::kNoSpace: e = {"InsufficientStorage", 507}; break;
    case StatusCode::kUnsupported: e = {"NotImplemented", 501}; break;
    case StatusCode::kUnavailable: e = {"ServiceUnavailable", 503}; break;
    case StatusCode::kTimeout: e = {"RequestTimeout", 400}; break;
    case StatusCode::kDataCorruption: e = {"BadDigest", 400}; break;
    case StatusCode::kIOError:
    case StatusCode::kInternal: e = {"InternalError", 500}; break;
  }
  // A code only S3 names (InvalidPart, ...) refines the generic one; the HTTP status stays.
  if (S3Code c = S3CodeOf(st); c != S3Code::kNone) e.code = S3CodeName(c);
  return e;
}

void WriteS3Status(const Request& req, Response& resp, const Status& st,
                   std::string_view not_found_code) {
  if (st.ok()) return;
  S3ErrorCode e = S3ErrorFor(st, not_found_code);
  WriteS3Error(req, resp, e.http, e.code, st.message());
}

}  // namespace aisle::api::s3
