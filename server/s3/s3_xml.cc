#include "server/s3/s3_xml.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace aisle::api::s3 {

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
        out += "&#10;";
        break;
      default:
        out += c;
    }
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

void WriteS3Status(const Request& req, Response& resp, const Status& st,
                   std::string_view not_found_code) {
  std::string_view code = "InternalError";
  int http = 500;
  switch (st.code()) {
    case StatusCode::kOk:
      return;
    case StatusCode::kInvalidArgument:
      code = "InvalidArgument";
      http = 400;
      break;
    case StatusCode::kNotFound:
      // The engine names the missing bucket first ("bucket ... does not exist").
      code = st.message().rfind("bucket \"", 0) == 0 ? "NoSuchBucket" : not_found_code;
      http = 404;
      break;
    case StatusCode::kAlreadyExists:
      code = "BucketAlreadyOwnedByYou";
      http = 409;
      break;
    case StatusCode::kConflict:
      code = "OperationAborted";
      http = 409;
      break;
    case StatusCode::kRangeNotSatisfiable:
      code = "InvalidRange";
      http = 416;
      break;
    case StatusCode::kTooLarge:
      code = "EntityTooLarge";
      http = 400;
      break;
    case StatusCode::kNoSpace:
      code = "InsufficientStorage";
      http = 507;
      break;
    case StatusCode::kUnsupported:
      code = "NotImplemented";
      http = 501;
      break;
    case StatusCode::kUnavailable:
      code = "ServiceUnavailable";
      http = 503;
      break;
    case StatusCode::kTimeout:
      code = "RequestTimeout";
      http = 400;
      break;
    case StatusCode::kDataCorruption:
      code = "BadDigest";
      http = 400;
      break;
    case StatusCode::kIOError:
      code = "InternalError";
      http = 500;
      break;
    case StatusCode::kInternal:
      code = "InternalError";
      http = 500;
      break;
  }
  // Callers may name the S3 code themselves: "InvalidPart: ...".
  const std::string& msg = st.message();
  size_t colon = msg.find(": ");
  if (colon != std::string::npos && colon > 0 && colon < 40 && msg[0] >= 'A' && msg[0] <= 'Z' &&
      std::all_of(msg.begin(), msg.begin() + colon, [](char ch) { return isalnum(ch); })) {
    return WriteS3Error(req, resp, http, std::string_view(msg).substr(0, colon),
                        std::string_view(msg).substr(colon + 2));
  }
  WriteS3Error(req, resp, http, code, msg);
}

}  // namespace aisle::api::s3
