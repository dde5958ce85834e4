// fs/core errno mapping: one Status -> errno table.
#include "fs/core/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace aisle::fs {
namespace {

TEST(ErrnoMapTest, OneTable) {
  EXPECT_EQ(ToErrno(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ToErrno(Status::Timeout("x")), EIO);
  EXPECT_EQ(ToErrno(Status::Unavailable("x")), EIO);
  EXPECT_EQ(ToErrno(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(ToErrno(ErrnoStatus(EXDEV, "x")), EXDEV);
  EXPECT_EQ(ToErrno(ErrnoStatus(ENOTEMPTY, "x").WithContext("ctx")), ENOTEMPTY);
  EXPECT_EQ(ToErrno(Status::OK()), 0);
}

// The errno comes from the typed field, end to end: whoever raised it, whatever the text says.
TEST(ErrnoMapTest, ErrnoFieldNotText) {
  EXPECT_EQ(ToErrno(ErrnoStatus(EISDIR, "reworded").WithContext("open")), EISDIR);
  // Errnos of other steps map by their code: a reader never sees an internal EBADF or EACCES.
  EXPECT_EQ(ToErrno(Status::FromErrno(EACCES, "open cache file")), EIO);
  EXPECT_EQ(ToErrno(Status::FromErrno(EBADF, "local pread")), EIO);
  EXPECT_EQ(ToErrno(Status::FromErrno(ENOENT, "open").WithContext("read")), ENOENT);
  // A message that merely looks like the old "errno:N|" tag is text: kInternal -> EIO.
  EXPECT_EQ(ToErrno(Status::Internal("errno:18|rename: Invalid cross-device link")), EIO);
  // Transport failures stay EIO whatever errno caused them.
  EXPECT_EQ(ToErrno(Status::FromErrno(ECONNRESET, "local-read receive")), EIO);
  EXPECT_EQ(ToErrno(Status::FromErrno(EAGAIN, "local-read receive")), EIO);
  Status st = ErrnoStatus(EROFS, "write f");
  EXPECT_EQ(st.sys_errno(), EROFS);
  EXPECT_EQ(st.message().rfind("write f: ", 0), 0u) << st.message();
}

}  // namespace
}  // namespace aisle::fs
