// JSON Web Tokens as AIStore's AuthN issues them: HS256 (HMAC-SHA256) with the cluster
// secret, base64url without padding. Only HS256 is accepted ("none" and every other alg is
// refused); the signature is compared in constant time. Claims are the caller's business.
#pragma once

#include <string>
#include <string_view>

#include "common/net/intra_auth.h"
#include "common/result.h"

namespace aisle {

std::string Base64UrlEncode(std::string_view data);  // no padding
// Constant-time comparison of two byte strings (lengths are not secret).
bool ConstantTimeEqual(std::string_view a, std::string_view b);
// Strict: only [A-Za-z0-9-_], no padding, no leftover bits; kInvalidArgument otherwise.
Result<std::string> Base64UrlDecode(std::string_view text);

// "header.payload.signature" for `payload_json` (a JSON object) with header
// {"alg":"HS256","typ":"JWT"}.
std::string SignJwt(const ClusterSecret& secret, std::string_view payload_json);

// Checks the form, the header (a JSON object whose alg is exactly "HS256") and the signature;
// returns the decoded payload (JSON text, not parsed). Every failure is kInvalidArgument with
// the reason (malformed, alg, signature); expiry is the caller's (claims).
Result<std::string> VerifyJwt(const ClusterSecret& secret, std::string_view token);

}  // namespace aisle
