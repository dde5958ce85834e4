// AisClient: a thin typed wrapper over the AIStore native API (docs/API.md) for the commands.
// Server errors become Status values carrying the server's "message" text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/proxy_failover.h"
#include "common/net/http_client.h"
#include "common/result.h"

namespace aisle::cli {

struct BucketInfo {
  std::string name;
  std::string provider;
};

struct ObjectEntry {
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  std::string atime;
  std::string version;
  uint64_t flags = 0;
};

struct ListObjectsArgs {
  std::string prefix;
  std::string uuid;
  std::string continuation_token;
  uint32_t pagesize = 0;  // 0 = server default
};

struct ObjectPage {
  std::string uuid;
  std::string continuation_token;  // empty on the last page
  std::vector<ObjectEntry> entries;
};

// Object attributes as carried by PUT/GET/HEAD response headers.
struct ObjectAttrs {
  std::optional<uint64_t> size;
  std::string checksum_type;
  std::string checksum_value;
  std::string version;
  std::string atime;  // unix nanoseconds, as a decimal string
  std::vector<std::pair<std::string, std::string>> custom;
  std::string location;
  std::optional<bool> present;
};

class AisClient {
 public:
  // endpoint: "http://host:port" (a trailing '/' is ignored); requests on it go through
  // `http`, which fails over to the cluster's other proxies.
  AisClient(ProxyFailover* http, std::string_view endpoint);

  Status CreateBucket(const std::string& bucket);
  Status DestroyBucket(const std::string& bucket);
  Result<std::vector<BucketInfo>> ListBuckets();
  Result<ObjectPage> ListObjectsPage(const std::string& bucket, const ListObjectsArgs& args);

  // Streams the file from disk; on_progress gets the bytes sent so far by the current attempt.
  Result<ObjectAttrs> PutObject(const std::string& bucket, const std::string& name,
                                const std::string& path,
                                std::function<void(uint64_t)> on_progress = nullptr);
  Result<ObjectAttrs> GetObject(const std::string& bucket, const std::string& name,
                                std::function<Status(std::string_view)> sink);
  Result<ObjectAttrs> HeadObject(const std::string& bucket, const std::string& name);
  Status DeleteObject(const std::string& bucket, const std::string& name);

 private:
  std::string BucketUrl(const std::string& bucket) const;
  std::string ObjectUrl(const std::string& bucket, const std::string& name) const;
  // Runs the request; a non-2xx status becomes an error Status.
  Result<HttpResponse> Call(const HttpRequest& req);

  ProxyFailover* http_;
  std::string endpoint_;
};

// Maps an HTTP error response to a Status whose message is the server's "message" (from the
// JSON body, or the Hdr-Error header for HEAD).
Status StatusFromHttpError(const HttpResponse& resp, std::string_view method);

}  // namespace aisle::cli
