// libFuzzer target for S3 authentication and aws-chunked bodies. The input is a request as
// text: the target line ("/bucket/key?query"), header lines ("Name: value"), an empty line,
// then a body decoded as aws-chunked (with chunk signatures checked against a fixed key).
// SigV4 headers, presigned V4/V2 queries and the chunk decoder all see it. Built and run by
// scripts/fuzz.sh, not in CI.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/body.h"
#include "server/api/http_types.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_body.h"

using namespace aisle;
using namespace aisle::api;

namespace {

std::string_view NextLine(std::string_view& in) {
  size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Request req;
  req.method = "PUT";
  req.target = std::string(NextLine(in));
  std::string_view target = req.target;
  size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) req.query = ParseQuery(target.substr(q + 1));
  while (!in.empty()) {
    std::string_view line = NextLine(in);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.Add(std::string(line.substr(0, colon)), std::string(value));
  }
  StringBodyReader body(in);
  req.body = &body;

  s3::S3Options opts;
  opts.keys = {{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
  constexpr int64_t kNow = 1440938160;  // 20150830T123600Z, the AWS examples' date
  auto verdict = s3::VerifyRequest(req, opts, kNow);
  (void)s3::VerifyV2Query(req, opts, kNow);

  // Decode the body as aws-chunked, verifying chunk signatures when the request verified,
  // else against a fixed signing key so the signature path runs too.
  s3::AuthInfo fixed;
  fixed.verified = true;
  fixed.payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  fixed.amz_date = "20150830T123600Z";
  fixed.scope = "20150830/us-east-1/s3/aws4_request";
  fixed.signing_key = std::string(32, 'k');
  fixed.seed_signature = std::string(64, '0');
  const s3::AuthInfo* auth = std::get_if<s3::AuthInfo>(&verdict);
  if (!auth || !auth->verified) auth = &fixed;
  s3::AwsChunkedReader chunked(body, std::nullopt, auth);
  char buf[4096];
  for (int i = 0; i < 4096; ++i) {
    auto n = chunked.Read(buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
  }
  return 0;
}
