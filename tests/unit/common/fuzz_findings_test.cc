// Regressions for what fuzzing found in common/ (tests/fuzz, docs/TESTING.md): each input
// used to crash the process; now it is an error value.
#include <gtest/gtest.h>

#include "common/body.h"
#include "common/local_read_protocol.h"

namespace aisle {
namespace {

TEST(FuzzFindingsTest, LocalReadFieldsOfTheWrongTypeAreInvalidArgument) {
  for (const char* msg : {R"({"op":3})", R"({"op":"open","bucket":"b","object":"o","id":"x"})",
                          R"({"status":"200"})", R"({"status":404,"message":7})"}) {
    auto req = localread::DecodeRequest(msg);
    auto reply = localread::DecodeReply(msg);
    if (!req.ok()) {
      EXPECT_EQ(req.status().code(), StatusCode::kInvalidArgument) << msg;
    }
    if (!reply.ok()) {
      EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument) << msg;
    }
  }
  EXPECT_FALSE(localread::DecodeRequest(R"({"op":3})").ok());
  EXPECT_FALSE(localread::DecodeReply(R"({"status":"200"})").ok());
}

TEST(FuzzFindingsTest, EmptyStringBodyReadsZeroBytes) {
  StringBodyReader empty{std::string_view()};
  char buf[8];
  auto n = empty.Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

}  // namespace
}  // namespace aisle
