// FsCoreTest: a Filesystem over MockClusterClient (three objects in bucket "b") and helpers
// that walk, list, open and read as the kernel would. Shared by the fs/core test files.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "fs/core/errno_map.h"
#include "fs/core/filesystem.h"
#include "tests/testing/fs_mock_cluster_client.h"

namespace aisle::fs {

inline int Err(const Status& st) { return ToErrno(st); }

class FsCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.AddBucket("b");
    client_.AddObject("b", "a/b/c.txt", "ccc");
    client_.AddObject("b", "a/x.txt", "xx");
    client_.AddObject("b", "top", "t");
    opts_.spool_dir = "/tmp";
    opts_.prefetch = false;  // counts requests exactly; batch_test.cc turns it on
  }
  std::unique_ptr<Filesystem> Make() { return std::make_unique<Filesystem>(client_, opts_); }
  // Walks a path from the root with lookups, as the kernel would.
  Result<EntryOut> Walk(Filesystem& fs, const std::vector<std::string>& parts) {
    uint64_t ino = kRootIno;
    Result<EntryOut> last = ErrnoStatus(ENOENT, "empty");
    for (const auto& p : parts) {
      last = fs.Lookup(ino, p);
      if (!last.ok()) return last;
      ino = last->attr.ino;
    }
    return last;
  }
  std::vector<std::string> ReadDirNames(Filesystem& fs, uint64_t ino, bool plus = true) {
    auto fh = fs.OpenDir(ino);
    EXPECT_TRUE(fh.ok()) << fh.status().ToString();
    std::vector<std::string> names;
    EXPECT_TRUE(fs.ReadDir(*fh, 0, plus, [&](const DirentOut& d, const EntryOut*) {
                    names.push_back(d.name);
                    return true;
                  }).ok());
    fs.ReleaseDir(*fh);
    return names;
  }
  // Opens the file at `parts` read-only (asserting it exists).
  OpenOut OpenForRead(Filesystem& fs, const std::vector<std::string>& parts) {
    auto e = Walk(fs, parts);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto o = e.ok() ? fs.Open(e->attr.ino, O_RDONLY) : Result<OpenOut>(e.status());
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? *o : OpenOut{};
  }
  std::string ReadAll(Filesystem& fs, uint64_t ino) {
    auto o = fs.Open(ino, O_RDONLY);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = fs.Read(o->fh, out.size(), sizeof buf, buf);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
      out.append(buf, *n);
    }
    EXPECT_TRUE(fs.Release(o->fh).ok());
    return out;
  }

  MockClusterClient client_;
  FsOptions opts_;
};

}  // namespace aisle::fs
