// fs/core mount options: mount(8)-style arguments parsed into the client's configuration.
#include "fs/core/mount_options.h"

#include <gtest/gtest.h>

namespace aisle::fs {
namespace {

TEST(MountOptionsTest, EndpointListAndMetricsAddress) {
  auto c = ParseMountArgs(
      {"aisle-fs", "127.0.0.1:1,http://h:2/bkt", "/m", "-o", "metrics=127.0.0.1:9105"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoints, (std::vector<std::string>{"http://127.0.0.1:1", "http://h:2"}));
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(c->fs.bucket, "bkt");
  EXPECT_EQ(c->metrics_addr, "127.0.0.1:9105");
  for (const char* bad : {"a:1,,b:2", ",", "a:1/x,b:2/y", "a:1,http://"})
    EXPECT_FALSE(ParseMountArgs({"aisle-fs", bad, "/m"}).ok()) << bad;
  for (const char* bad :
       {"metrics=", "metrics=9105", "metrics=h:", "metrics=h:70000", "metrics=h:x"})
    EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", bad}).ok()) << bad;
}

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

TEST(MountOptionsTest, PrefetchOptions) {
  auto d = ParseMountArgs({"aisle-fs", "h:1", "/m"});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->fs.prefetch);
  EXPECT_EQ(d->fs.prefetch_mem, 512u << 20);
  auto o = ParseMountArgs(
      {"aisle-fs", "h:1", "/m", "-o", "prefetch_mem=64M,prefetch_max=256K,prefetch_streams=2"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->fs.prefetch_mem, 64u << 20);
  EXPECT_EQ(o->fs.prefetch_max_object, 256u << 10);
  EXPECT_EQ(o->fs.prefetch_streams, 2);
  auto l = ParseMountArgs({"aisle-fs", "h:1", "/m", "--prefetch-mem", "1G", "--prefetch", "off"});
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->fs.prefetch_mem, 1u << 30);
  EXPECT_FALSE(l->fs.prefetch);
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "prefetch=maybe"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "prefetch_streams=0"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "--prefetch"}).ok());
  auto zero = ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "prefetch_mem=0"});
  ASSERT_TRUE(zero.ok());
  EXPECT_FALSE(zero->fs.prefetch);
}

TEST(MountOptionsTest, CheckValidatesWithoutMounting) {
  auto c = ParseMountArgs({"aisle-fs", "--check", "http://h:1/b", "/m", "-o", "ro", "-f"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->check);
  EXPECT_EQ(c->fs.bucket, "b");
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m"})->check);
  // --check does not excuse bad arguments: they fail as without it.
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "--check", "h:1"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "--check", "h:1", "/m", "-o", "bogus"}).ok());
}

}  // namespace
}  // namespace aisle::fs
