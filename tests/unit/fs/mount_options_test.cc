// fs/core mount options: mount(8)-style arguments parsed into the client's configuration.
#include "fs/core/mount_options.h"

#include <gtest/gtest.h>

namespace aisle::fs {
namespace {

TEST(MountOptionsTest, ParsesEndpointBucketAndOptions) {
  auto c = ParseMountArgs({"aisle-fs", "127.0.0.1:8080/bkt/", "/mnt/x", "-o",
                           "ro,allow_other,uid=5,gid=6,umask=027,attr_timeout=1.5,readahead=32M,"
                           "max_conns=4,shards=off,direct_io,noauto,_netdev,x-systemd.automount",
                           "-f"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(c->fs.bucket, "bkt");
  EXPECT_EQ(c->mountpoint, "/mnt/x");
  EXPECT_TRUE(c->fs.read_only);
  EXPECT_TRUE(c->allow_other);
  EXPECT_TRUE(c->foreground);
  EXPECT_EQ(c->fs.uid, 5u);
  EXPECT_EQ(c->fs.gid, 6u);
  EXPECT_EQ(c->fs.umask, 027u);
  EXPECT_DOUBLE_EQ(c->fs.attr_timeout, 1.5);
  EXPECT_EQ(c->fs.readahead, 32u << 20);
  EXPECT_EQ(c->fs.max_conns, 4);
  EXPECT_FALSE(c->fs.shards);
  EXPECT_EQ(c->fs.direct_io_from, 0u);
  auto big = ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "direct_io_above=64M"});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->fs.direct_io_from, 64u << 20);
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "direct_io_above=lots"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "bogus"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "shards=maybe"}).ok());
  auto whole = ParseMountArgs({"aisle-fs", "http://h:1", "/m"});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->fs.bucket, "");
  EXPECT_EQ(whole->fs.direct_io_from, UINT64_MAX);  // page cache for every file
}

}  // namespace
}  // namespace aisle::fs
