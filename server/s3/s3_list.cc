// ListObjects v1 and v2 on Store::List pages: prefix, delimiter (CommonPrefixes; a rolled-up
// prefix is skipped by listing again after prefix+"\xff", which no UTF-8 name reaches),
// max-keys, marker / continuation-token / start-after, encoding-type=url.
#include "common/checksum.h"
#include "common/clock.h"
#include "server/s3/s3_crypto.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

constexpr int kMaxKeys = 1000;

struct Item {
  std::string name;
  bool common_prefix = false;
  storage::ListEntry entry;
};

struct Listing {
  std::vector<Item> items;
  bool truncated = false;
};

// Collects up to max_keys keys and common prefixes after `cursor`.
Result<Listing> Collect(S3Ctx& c, const std::string& prefix, const std::string& delimiter,
                        std::string cursor, int max_keys) {
  Listing out;
  if (max_keys == 0) return out;
  for (;;) {
    storage::ListOptions lo;
    lo.prefix = prefix;
    lo.start_after = cursor;
    lo.page_size = kMaxKeys;
    AISLE_ASSIGN_OR_RETURN(storage::ListPage page,
                           c.list ? c.list(c.bucket, lo) : c.store->List(c.bucket, lo));
    bool relist = false;
    for (auto& e : page.entries) {
      if (static_cast<int>(out.items.size()) == max_keys) {
        out.truncated = true;
        return out;
      }
      size_t pos = delimiter.empty() ? std::string::npos : e.name.find(delimiter, prefix.size());
      if (pos != std::string::npos) {
        Item it;
        it.name = e.name.substr(0, pos + delimiter.size());
        it.common_prefix = true;
        cursor = it.name + "\xff";
        out.items.push_back(std::move(it));
        relist = true;
        break;
      }
      cursor = e.name;
      out.items.push_back(Item{e.name, false, std::move(e)});
    }
    if (!relist && page.next_token.empty()) return out;
  }
}

std::string Enc(const std::string& s, bool url) { return url ? UriEncode(s, false) : s; }

// Continuation tokens are opaque to clients: base64 of a flag ('p' after a common prefix,
// 'k' after a key) and the name.
std::string MakeToken(const Item& last) {
  return Base64(std::string(last.common_prefix ? "p" : "k") + last.name);
}

bool CursorFromToken(const std::string& token, std::string* cursor) {
  std::string raw;
  if (!FromBase64(token, &raw) || raw.empty() || (raw[0] != 'p' && raw[0] != 'k')) return false;
  *cursor = raw.substr(1);
  if (raw[0] == 'p') *cursor += "\xff";
  return true;
}

}  // namespace

void ListObjects(S3Ctx& c, Request& req, Response& resp) {
  bool v2 = req.Query("list-type").value_or("") == "2";
  std::string prefix = req.Query("prefix").value_or("");
  std::string delimiter = req.Query("delimiter").value_or("");
  std::string encoding = req.Query("encoding-type").value_or("");
  if (!encoding.empty() && encoding != "url")
    return WriteS3Error(req, resp, 400, "InvalidArgument", "Invalid Encoding Method specified");
  bool url = encoding == "url";
  int max_keys = kMaxKeys;
  if (auto mk = req.Query("max-keys")) {
    if (mk->empty() || mk->size() > 9 || mk->find_first_not_of("0123456789") != std::string::npos)
      return WriteS3Error(req, resp, 400, "InvalidArgument",
                          "Provided max-keys not an integer or within integer range");
    max_keys = std::min(kMaxKeys, std::stoi(*mk));
  }
  std::string cursor, marker, start_after, token;
  if (v2) {
    start_after = req.Query("start-after").value_or("");
    token = req.Query("continuation-token").value_or("");
    cursor = start_after;
    if (!token.empty() && !CursorFromToken(token, &cursor))
      return WriteS3Error(req, resp, 400, "InvalidArgument",
                          "The continuation token provided is incorrect");
  } else {
    marker = req.Query("marker").value_or("");
    cursor = marker;
    // A marker that is a rolled-up common prefix skips everything under it.
    if (!delimiter.empty() && marker.size() > prefix.size() && marker.rfind(prefix, 0) == 0 &&
        marker.ends_with(delimiter))
      cursor += "\xff";
  }
  if (cursor < prefix && !prefix.empty()) cursor.clear();  // the listing starts at prefix anyway

  auto listing = Collect(c, prefix, delimiter, cursor, max_keys);
  if (!listing.ok()) return WriteS3Status(req, resp, listing.status(), "NoSuchBucket");

  XmlWriter w;
  w.Open("ListBucketResult", kS3Xmlns);
  w.Leaf("Name", c.bucket).Leaf("Prefix", Enc(prefix, url));
  if (v2) {
    if (!token.empty()) w.Leaf("ContinuationToken", token);
    if (!start_after.empty()) w.Leaf("StartAfter", Enc(start_after, url));
  } else {
    w.Leaf("Marker", Enc(marker, url));
  }
  w.Leaf("MaxKeys", std::to_string(max_keys));
  if (!delimiter.empty()) w.Leaf("Delimiter", Enc(delimiter, url));
  if (url) w.Leaf("EncodingType", "url");
  w.Leaf("IsTruncated", listing->truncated ? "true" : "false");
  if (listing->truncated && !listing->items.empty()) {
    if (v2)
      w.Leaf("NextContinuationToken", MakeToken(listing->items.back()));
    else
      w.Leaf("NextMarker", Enc(listing->items.back().name, url));
  }
  if (v2) w.Leaf("KeyCount", std::to_string(listing->items.size()));
  for (const Item& it : listing->items) {
    if (it.common_prefix) continue;
    // From the target's index, or carried by a proxy's merged listing.
    std::string etag = it.entry.etag.empty() ? Hex64(it.entry.xxhash) : it.entry.etag;
    w.Open("Contents").Leaf("Key", Enc(it.name, url));
    w.Leaf("LastModified", Iso8601Ms(it.entry.mtime_ns)).Leaf("ETag", "\"" + etag + "\"");
    w.Leaf("Size", std::to_string(it.entry.size)).Leaf("StorageClass", "STANDARD");
    if (!v2) w.Open("Owner").Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Owner");
    w.Close("Contents");
  }
  for (const Item& it : listing->items) {
    if (!it.common_prefix) continue;
    w.Open("CommonPrefixes").Leaf("Prefix", Enc(it.name, url)).Close("CommonPrefixes");
  }
  w.Close("ListBucketResult");
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = w.Take();
}

}  // namespace aisle::api::s3
