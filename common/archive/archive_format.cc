#include "common/archive/archive_format.h"

#include <cctype>
#include <string>

namespace aisle::archive {
namespace {

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  s = s.substr(s.size() - suffix.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != suffix[i]) return false;
  }
  return true;
}

bool ContainsNoCase(std::string_view s, std::string_view needle) {
  std::string low(s);
  for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return low.find(needle) != std::string::npos;
}

// Every shard extension, lower case (the one list: servers, the FUSE client and the archive
// job ask ShardExtension / FormatFromName).
struct Ext {
  std::string_view ext;
  Format format;
};
constexpr Ext kExtensions[] = {
    {".tar", Format::kTar},         {".tgz", Format::kTgz},        {".tar.gz", Format::kTgz},
    {".zip", Format::kZip},         {".tar.lz4", Format::kTarLz4}, {".tar.zst", Format::kTarZst},
    {".tar.zstd", Format::kTarZst},
};

const Ext* FindExtension(std::string_view name) {
  for (const Ext& e : kExtensions) {
    if (EndsWithNoCase(name, e.ext)) return &e;
  }
  return nullptr;
}

}  // namespace

const char* FormatExtension(Format f) {
  switch (f) {
    case Format::kTar: return ".tar";
    case Format::kTgz: return ".tgz";
    case Format::kZip: return ".zip";
    case Format::kTarLz4: return ".tar.lz4";
    case Format::kTarZst: return ".tar.zst";
    case Format::kUnknown: break;
  }
  return "";
}

std::string_view ShardExtension(std::string_view name) {
  const Ext* e = FindExtension(name);
  return e ? name.substr(name.size() - e->ext.size()) : std::string_view();
}

Format FormatFromName(std::string_view name) {
  const Ext* e = FindExtension(name);
  return e ? e->format : Format::kUnknown;
}

Format FormatFromMime(std::string_view mime) {
  // Longest first: "tar.gz" contains "tar".
  if (ContainsNoCase(mime, "tar.gz") || ContainsNoCase(mime, "tgz") || ContainsNoCase(mime, "gzip"))
    return Format::kTgz;
  if (ContainsNoCase(mime, "lz4")) return Format::kTarLz4;
  if (ContainsNoCase(mime, "zst")) return Format::kTarZst;
  if (ContainsNoCase(mime, "zip")) return Format::kZip;
  if (ContainsNoCase(mime, "tar")) return Format::kTar;
  return Format::kUnknown;
}

Format FormatFromMagic(std::string_view h) {
  auto at = [&](size_t i) { return i < h.size() ? static_cast<unsigned char>(h[i]) : 0x100u; };
  if (at(0) == 0x1f && at(1) == 0x8b) return Format::kTgz;
  if (at(0) == 0x04 && at(1) == 0x22 && at(2) == 0x4d && at(3) == 0x18) return Format::kTarLz4;
  if (at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd) return Format::kTarZst;
  if (at(0) == 'P' && at(1) == 'K' && (at(2) == 3 || at(2) == 5)) return Format::kZip;
  if (h.size() >= 262 && h.substr(257, 5) == "ustar") return Format::kTar;
  return Format::kUnknown;
}

}  // namespace aisle::archive
