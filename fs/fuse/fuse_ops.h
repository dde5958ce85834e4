// The FUSE low-level adapter: decodes each kernel request, makes one Filesystem call and
// sends exactly one reply. No libfuse types leak out of this directory's .cc files.
#pragma once

namespace aisle::fs {

class Filesystem;
struct MountConfig;

// Mounts `fs` at cfg.mountpoint and serves requests on a multi-threaded loop until unmounted
// or SIGINT/SIGTERM/SIGHUP (then unmounts cleanly). Daemonizes after the mount unless
// cfg.foreground; `make_fs` is called after that (threads do not survive fork).
// Returns the process exit code.
using MakeFilesystem = Filesystem* (*)(void* ctx);
int RunFuse(const MountConfig& cfg, MakeFilesystem make_fs, void* ctx);

}  // namespace aisle::fs
