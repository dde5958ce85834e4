// Standard base64 (RFC 4648, with padding): ETL init messages carry code in it, ETL logs and
// S3 checksums are sent in it.
#pragma once

#include <string>
#include <string_view>

namespace aisle {

std::string Base64Encode(std::string_view raw);
// Decodes padded standard base64 (whitespace ignored); false on malformed input.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace aisle
