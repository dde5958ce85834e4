#include "server/storage/work_dirs.h"

namespace aisle::storage {
namespace {

std::string Sub(std::string_view mountpath, std::string_view name) {
  return WorkDir(mountpath) + "/" + std::string(name);
}

}  // namespace

std::string WorkDir(std::string_view mountpath) { return std::string(mountpath) + "/.aisle"; }
std::string NodeIdFile(std::string_view dir) { return std::string(dir) + "/node-id"; }
std::string TmpDir(std::string_view mountpath) { return Sub(mountpath, "tmp"); }
std::string TrashDir(std::string_view mountpath) { return Sub(mountpath, "trash"); }
std::string UndoDir(std::string_view mountpath) { return Sub(mountpath, "undo"); }
std::string QuarantineDir(std::string_view mountpath) { return Sub(mountpath, "quarantine"); }
std::string EtlDir(std::string_view mountpath) { return Sub(mountpath, "etl"); }
std::string S3UploadsDir(std::string_view mountpath) { return Sub(mountpath, "s3-mpu"); }
std::string IndexDir(std::string_view mountpath) { return Sub(mountpath, "index"); }

}  // namespace aisle::storage
