// HRW inputs as AIStore computes them (core/meta/hrw.go, cmn/xoshiro256): XXH64 with seed
// MLCG32 over node ids and "provider/@#/bucket/object" unames. The expected digests were
// computed independently of this code, with the pure-Python XXH64 of
// tests/integration/aisle_testlib.py (xxh64_py) and a Python transcription of AIStore's Go.
#include "common/hrw.h"

#include <gtest/gtest.h>

namespace aisle {
namespace {

TEST(HrwTest, UnameIsProviderNamespaceBucketObject) {
  EXPECT_EQ(MakeUname("bkt", "obj"), "ais/@#/bkt/obj");
  EXPECT_EQ(MakeUname("b", "a/b/c.txt"), "ais/@#/b/a/b/c.txt");
}

TEST(HrwTest, DigestIsXxh64WithTheMlcg32Seed) {
  EXPECT_EQ(kHrwSeed, 1103515245u);
  EXPECT_EQ(HrwDigest("t1"), 0xc5444cb0fa9287adULL);
  EXPECT_EQ(HrwDigest("ais/@#/bkt/obj"), 0x610db3d1f156860bULL);
}

}  // namespace
}  // namespace aisle
