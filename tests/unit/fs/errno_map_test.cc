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

}  // namespace
}  // namespace aisle::fs
