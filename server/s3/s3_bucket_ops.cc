// S3 bucket calls: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
// and the bucket sub-resources clients probe (versioning, acl); listing is in s3_list.cc.
#include "common/clock.h"
#include "common/names.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

constexpr size_t kMaxCreateBody = 64 * 1024;

void Xml(Response& resp, std::string body) {
  resp.status = 200;
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = std::move(body);
}

void Owner(XmlWriter& w) {
  w.Open("Owner").Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Owner");
}

void CreateBucket(S3Ctx& c, Request& req, Response& resp) {
  ServeCreateBucket(c, req, resp, kMaxCreateBody, [&] { return c.store->CreateBucket(c.bucket); });
}

void DeleteBucket(S3Ctx& c, Request& req, Response& resp) {
  storage::ListOptions lo;
  lo.page_size = 1;
  auto page = c.store->List(c.bucket, lo);
  if (!page.ok()) return WriteS3Status(req, resp, page.status(), "NoSuchBucket");
  if (!page->entries.empty())
    return WriteS3Error(req, resp, 409, "BucketNotEmpty",
                        "The bucket you tried to delete is not empty.");
  c.mpu->AbortAll(c.bucket);
  Status st = c.store->DestroyBucket(c.bucket);
  if (!st.ok()) return WriteS3Status(req, resp, st, "NoSuchBucket");
  resp.status = 204;
}

}  // namespace

void ListBuckets(S3Ctx& c, Request& req, Response& resp) {
  XmlWriter w;
  w.Open("ListAllMyBucketsResult", kS3Xmlns);
  Owner(w);
  w.Open("Buckets");
  for (const auto& b : c.store->ListBuckets()) {
    w.Open("Bucket").Leaf("Name", b.name).Leaf("CreationDate", Iso8601Ms(b.created_ns));
    w.Close("Bucket");
  }
  w.Close("Buckets").Close("ListAllMyBucketsResult");
  Xml(resp, w.Take());
  if (req.method == "HEAD") resp.body.clear();
}

void BucketRequest(S3Ctx& c, Request& req, Response& resp) {
  const std::string& m = req.method;
  if (m == "PUT") {
    for (const char* sub : {"acl", "versioning", "policy", "cors", "lifecycle", "tagging",
                            "website", "logging", "notification", "encryption"}) {
      if (req.Query(sub))
        return WriteS3Error(req, resp, 501, "NotImplemented",
                            std::string("bucket ") + sub + " is not supported");
    }
    return CreateBucket(c, req, resp);
  }
  if (m == "DELETE") {
    if (req.Query("cors") || req.Query("policy") || req.Query("lifecycle") || req.Query("tagging"))
      return WriteS3Error(req, resp, 501, "NotImplemented", "not supported");
    return DeleteBucket(c, req, resp);
  }
  if (m == "POST") {
    if (req.Query("delete")) return DeleteObjects(c, req, resp);
    return WriteS3Error(req, resp, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this resource.");
  }
  if (m != "GET" && m != "HEAD")
    return WriteS3Error(req, resp, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this resource.");
  auto info = c.store->HeadBucket(c.bucket);
  if (!info.ok()) return WriteS3Status(req, resp, info.status(), "NoSuchBucket");
  if (m == "HEAD") {
    resp.headers.Set("x-amz-bucket-region", c.opts->region);
    return;
  }
  if (req.Query("location")) {
    // us-east-1 is reported as an empty constraint, as S3 does.
    std::string region = c.opts->region == "us-east-1" ? "" : XmlEscape(c.opts->region);
    std::string body = XmlWriter().Take() + "<LocationConstraint xmlns=\"" + std::string(kS3Xmlns) +
                       "\">" + region + "</LocationConstraint>";
    return Xml(resp, std::move(body));
  }
  if (req.Query("versioning")) {
    XmlWriter w;
    w.Open("VersioningConfiguration", kS3Xmlns).Close("VersioningConfiguration");
    return Xml(resp, w.Take());
  }
  if (req.Query("acl")) {
    XmlWriter w;
    w.Open("AccessControlPolicy", kS3Xmlns);
    Owner(w);
    w.Open("AccessControlList").Open("Grant");
    w.Open(
        "Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"CanonicalUser\"");
    w.Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Grantee");
    w.Leaf("Permission", "FULL_CONTROL").Close("Grant").Close("AccessControlList");
    w.Close("AccessControlPolicy");
    return Xml(resp, w.Take());
  }
  if (req.Query("uploads")) return ListUploads(c, req, resp);
  for (const char* sub :
       {"policy", "cors", "lifecycle", "tagging", "website", "logging", "notification",
        "encryption", "replication", "object-lock", "requestPayment", "accelerate",
        "ownershipControls", "publicAccessBlock"}) {
    if (req.Query(sub))
      return WriteS3Error(req, resp, 501, "NotImplemented",
                          std::string("bucket ") + sub + " is not supported");
  }
  ListObjects(c, req, resp);
}

void ServeCreateBucket(S3Ctx& c, Request& req, Response& resp, size_t max_body,
                       const std::function<Status()>& create) {
  if (Status st = ValidateBucketName(c.bucket); !st.ok())
    return WriteS3Error(req, resp, 400, "InvalidBucketName", st.message());
  // The body may hold a CreateBucketConfiguration (LocationConstraint): accepted, ignored.
  auto body = ReadSmallBody(c, req, max_body);
  if (!body.ok()) return WriteS3Error(req, resp, 400, "MalformedXML", body.status().message());
  Status st = create();
  if (st.code() == StatusCode::kAlreadyExists)
    return WriteS3Error(req, resp, 409, "BucketAlreadyOwnedByYou",
                        "Your previous request to create the named bucket succeeded and you "
                        "already own it.");
  if (!st.ok()) return WriteS3Status(req, resp, st);
  resp.headers.Set("Location", "/" + c.bucket);
}

}  // namespace aisle::api::s3
