"""aisle-fs over real mounts against a real aisle-node on 127.0.0.1.

Every mount is unmounted (fusermount3 -u, then -uz) and every aisle-fs process killed by PID
in tearDown/tearDownClass and at exit, even when a test fails. Skips (exit 0) when /dev/fuse
or fusermount3 is missing. Runtime well under 90 s.
"""

import atexit
import errno
import hashlib
import io
import mmap
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

FS_BIN = os.environ.get("AISLE_FS_BIN") or os.path.join(tl.REPO, "build", "fs", "aisle-fs")
FUSERMOUNT = shutil.which("fusermount3")
MOUNT_TIMEOUT = 15.0

_mounts = []
_mounts_lock = threading.Lock()


def fuse_available():
    return os.path.exists("/dev/fuse") and FUSERMOUNT is not None and os.path.exists(FS_BIN)



def is_mounted(path):
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 4 and parts[4] == real:
                return True
    return False


def pids_serving(mnt):
    """PIDs of aisle-fs processes whose command line names this (unique) mountpoint."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and os.path.basename(args[0]) == b"aisle-fs" and mnt.encode() in args:
            out.append(int(d))
    return out


class Mount:
    """One aisle-fs process serving one temp mountpoint."""

    def __init__(self, endpoint, opts="", foreground=True):
        # Not registered with aisle_testlib: its exit hook rmtree()s its dirs, which through a
        # live mount would delete objects. Only ever rmdir'ed here, once unmounted.
        self.mnt = tempfile.mkdtemp(prefix="aisle-fs-mnt-")
        self.endpoint = endpoint
        self.opts = opts
        self.foreground = foreground
        self.proc = None
        self.log_path = self.mnt + ".log"

    def start(self):
        args = [FS_BIN, self.endpoint, self.mnt]
        if self.foreground:
            args.append("-f")
        if self.opts:
            args += ["-o", self.opts]
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        with _mounts_lock:
            _mounts.append(self)
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not is_mounted(self.mnt):
            if self.foreground and self.proc.poll() is not None:
                raise RuntimeError("aisle-fs exited %s: %s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mount not ready: " + self.log())
            time.sleep(0.02)
        return self

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def stop(self):
        pids = set(pids_serving(self.mnt))
        if self.proc is not None and self.proc.poll() is None:
            pids.add(self.proc.pid)
        if is_mounted(self.mnt):
            subprocess.run([FUSERMOUNT, "-u", self.mnt], stderr=subprocess.DEVNULL, timeout=10)
            if is_mounted(self.mnt):
                subprocess.run([FUSERMOUNT, "-uz", self.mnt], stderr=subprocess.DEVNULL, timeout=10)
        deadline = time.monotonic() + 5
        for pid in pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if not _alive(pid):
                    break
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                time.sleep(0.3)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        with _mounts_lock:
            if self in _mounts:
                _mounts.remove(self)
        if not is_mounted(self.mnt):
            try:
                os.rmdir(self.mnt)
            except OSError:
                pass
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop_all_mounts():
    with _mounts_lock:
        ms = list(_mounts)
    for m in ms:
        try:
            m.stop()
        except Exception:
            pass


atexit.register(_stop_all_mounts)


class FixedPortNode(tl.Node):
    """A node that keeps its port across restarts (the mount's endpoint must stay valid)."""

    def __init__(self, port, **kw):
        super().__init__(**kw)
        self.fixed_port = port

    def start(self, timeout=tl.READY_TIMEOUT):
        self.extra_args = [a for a in self.extra_args]
        binary = self.binary
        self.starts += 1
        ready = os.path.join(self.dir, "ready-%d" % self.starts)
        self.log_path = os.path.join(self.dir, "node-%d.log" % self.starts)
        args = [binary, "--role", "target", "--port", str(self.fixed_port), "--host", "127.0.0.1"]
        for mp in self.mountpaths:
            args += ["--mountpath", mp]
        args += ["--ready-file", ready]
        deadline = time.monotonic() + timeout
        while True:  # the old socket may linger briefly after a kill
            log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
            log.close()
            with tl._live_lock:
                tl._live_procs.add(self.proc)
            while not os.path.exists(ready) and self.proc.poll() is None:
                if time.monotonic() > deadline:
                    self.kill9()
                    raise tl.NodeStartError("node not ready: " + self.log_tail())
                time.sleep(0.02)
            if os.path.exists(ready):
                break
            self._forget()
            if time.monotonic() > deadline:
                raise tl.NodeStartError("node failed: " + self.log_tail())
            time.sleep(0.2)
        self.url = "http://127.0.0.1:%d" % self.fixed_port
        self.host, self.port = "127.0.0.1", self.fixed_port
        return self.url


def sha(b):
    return hashlib.sha256(b).hexdigest()


@unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
class FsMountTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = FixedPortNode(tl.free_port())
        cls.node.start()
        cls.s = requests.Session()
        cls.bucket = "fsb"
        cls.make_bucket(cls.bucket)
        cls.make_bucket("fsb2")
        cls.objects = {
            "a/b/c.txt": b"hello c\n",
            "a/x.txt": b"x" * 1000,
            "top.txt": b"top\n",
            "deep/1/2/3/leaf.bin": os.urandom(70000),
            "big/blob.bin": os.urandom(24 << 20),
        }
        for name, data in cls.objects.items():
            cls.put(cls.bucket, name, data)
        cls.mount = Mount(cls.node.url).start()

    @classmethod
    def tearDownClass(cls):
        _stop_all_mounts()
        cls.node.cleanup()

    @classmethod
    def make_bucket(cls, b):
        r = cls.s.post(cls.node.bck_url(b), json={"action": "create-bck"}, timeout=10)
        assert r.status_code in (200, 409), r.text

    @classmethod
    def put(cls, b, name, data):
        r = cls.s.put(cls.node.obj_url(b, name), data=data, timeout=30)
        assert r.status_code == 200, r.text

    def get(self, b, name):
        r = self.s.get(self.node.obj_url(b, name), timeout=30)
        return r.status_code, r.content

    def p(self, *parts):
        return self.mount.path(self.bucket, *parts)

    # ---------------------------------------------------------------------------------------
    def test_ls_stat_cat_find_du_tar(self):
        out = subprocess.run(["ls", "-l", self.p()], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        names = sorted(line.split()[-1] for line in out.stdout.splitlines()[1:])
        names = [n for n in names if n not in ("w", "err", "shards")]  # other tests' files
        self.assertEqual(names, ["a", "big", "deep", "top.txt"])
        st = os.stat(self.p("a", "x.txt"))
        self.assertEqual(st.st_size, 1000)
        self.assertTrue(st.st_mode & 0o100000)
        self.assertTrue(os.path.isdir(self.p("deep", "1", "2")))
        cat = subprocess.run(["cat", self.p("a", "b", "c.txt")], capture_output=True, timeout=20)
        self.assertEqual(cat.stdout, b"hello c\n")
        find = subprocess.run(["find", self.p(), "-type", "f"], capture_output=True, text=True,
                              timeout=20)
        found = sorted(os.path.relpath(x, self.p()) for x in find.stdout.split())
        found = [f for f in found if f.split("/")[0] not in ("w", "err", "shards")]
        self.assertEqual(found, sorted(self.objects))
        du = subprocess.run(["du", "-sb", self.p("a"), self.p("big"), self.p("deep"), self.p("top.txt")], capture_output=True, text=True, timeout=20)
        du_total = sum(int(line.split()[0]) for line in du.stdout.splitlines())
        self.assertGreaterEqual(du_total, sum(len(v) for v in self.objects.values()))
        tar = subprocess.run(["tar", "-cf", "-", "-C", self.p(), "a", "deep"], capture_output=True,
                             timeout=30)
        self.assertEqual(tar.returncode, 0, tar.stderr)
        with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as tf:
            got = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
        self.assertEqual(got["deep/1/2/3/leaf.bin"], self.objects["deep/1/2/3/leaf.bin"])
        self.assertEqual(got["a/b/c.txt"], b"hello c\n")
        cp_dst = os.path.join(tl.make_tmpdir(), "blob")
        subprocess.run(["cp", self.p("big", "blob.bin"), cp_dst], check=True, timeout=30)
        with open(cp_dst, "rb") as f:
            self.assertEqual(sha(f.read()), sha(self.objects["big/blob.bin"]))

    def test_write_read_after_write(self):
        path = self.p("w", "new.txt")
        os.makedirs(self.p("w"), exist_ok=True)  # client-side empty directory
        with open(path, "wb") as f:
            f.write(b"first ")
            f.write(b"second")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"first second")
        self.assertEqual(self.get(self.bucket, "w/new.txt"), (200, b"first second"))
        with open(path, "ab") as f:
            f.write(b"!")
        self.assertEqual(self.get(self.bucket, "w/new.txt")[1], b"first second!")
        # Random-offset writes are spooled, then stored whole.
        with open(path, "r+b") as f:
            f.seek(0)
            f.write(b"FIRST")
        self.assertEqual(self.get(self.bucket, "w/new.txt")[1], b"FIRST second!")
        os.truncate(path, 5)
        self.assertEqual(os.stat(path).st_size, 5)
        self.assertEqual(self.get(self.bucket, "w/new.txt")[1], b"FIRST")
        big = os.urandom(20 << 20)
        src = os.path.join(tl.make_tmpdir(), "src.bin")
        with open(src, "wb") as f:
            f.write(big)
        subprocess.run(["cp", src, self.p("w", "copy.bin")], check=True, timeout=60)
        self.assertEqual(sha(self.get(self.bucket, "w/copy.bin")[1]), sha(big))
        with open(self.p("w", "copy.bin"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(big))
        os.rename(self.p("w", "copy.bin"), self.p("w", "moved.bin"))
        self.assertEqual(self.get(self.bucket, "w/copy.bin")[0], 404)
        self.assertEqual(sha(self.get(self.bucket, "w/moved.bin")[1]), sha(big))
        self.assertIn("moved.bin", os.listdir(self.p("w")))
        os.unlink(self.p("w", "moved.bin"))
        self.assertEqual(self.get(self.bucket, "w/moved.bin")[0], 404)
        self.assertFalse(os.path.exists(self.p("w", "moved.bin")))
        with open(self.p("w", "sync.bin"), "wb") as f:
            f.write(b"durable")
            f.flush()
            os.fsync(f.fileno())
            self.assertEqual(self.get(self.bucket, "w/sync.bin")[1], b"durable")  # before close
        os.mkdir(self.p("w", "empty"))
        self.assertTrue(os.path.isdir(self.p("w", "empty")))
        os.rmdir(self.p("w", "empty"))
        self.assertFalse(os.path.exists(self.p("w", "empty")))
        # An object written by another client shows up once the caches expire (TTL 5 s
        # by default; a fresh name has no negative entry).
        self.put(self.bucket, "w/other.txt", b"from http")
        with open(self.p("w", "other.txt"), "rb") as f:
            self.assertEqual(f.read(), b"from http")

    def test_concurrent_readers(self):
        # From the target's files (local reads, the shared mount) and over HTTP.
        self._concurrent_readers(self.p("big", "blob.bin"))
        m = Mount(self.node.url, "local_reads=off,ro").start()
        try:
            self._concurrent_readers(m.path(self.bucket, "big", "blob.bin"))
        finally:
            m.stop()

    def _concurrent_readers(self, path):
        blob = self.objects["big/blob.bin"]
        errors = []

        def reader(k):
            try:
                with open(path, "rb") as f:
                    if k % 2:
                        data = f.read()
                    else:  # random 64 KiB pieces
                        data = None
                        for i in range(40):
                            off = (i * 7919 * 4096 + k * 65536) % (len(blob) - 65536)
                            f.seek(off)
                            if f.read(65536) != blob[off:off + 65536]:
                                errors.append("piece %d/%d" % (k, i))
                if data is not None and sha(data) != sha(blob):
                    errors.append("reader %d mismatch" % k)
            except Exception as e:  # noqa: BLE001
                errors.append("reader %d: %r" % (k, e))

        ts = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
            self.assertFalse(t.is_alive(), "reader hung")
        self.assertEqual(errors, [])

    def test_direct_io_option(self):
        # -o direct_io: the same bytes past the page cache, sequential and random; a shared
        # mmap is refused by the kernel (documented), a private one still works.
        m = Mount(self.node.url, "direct_io,ro").start()
        try:
            blob = self.objects["big/blob.bin"]
            path = m.path(self.bucket, "big", "blob.bin")
            with open(path, "rb") as f:
                self.assertEqual(sha(f.read()), sha(blob))
                for off in (5 << 20, 123457, len(blob) - 1000):
                    f.seek(off)
                    self.assertEqual(f.read(1000), blob[off:off + 1000])
                with self.assertRaises(OSError) as cm:
                    mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
                self.assertEqual(cm.exception.errno, errno.ENODEV)
                mp = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
                self.assertEqual(mp[1000:2000], blob[1000:2000])
                mp.close()
        finally:
            m.stop()
        # -o direct_io_above=SIZE: only files of at least SIZE skip the page cache, so a
        # small file still maps shared.
        m = Mount(self.node.url, "direct_io_above=1M,ro").start()
        try:
            with open(m.path(self.bucket, "big", "blob.bin"), "rb") as f:
                self.assertEqual(sha(f.read()), sha(self.objects["big/blob.bin"]))
                with self.assertRaises(OSError) as cm:
                    mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
                self.assertEqual(cm.exception.errno, errno.ENODEV)
            with open(m.path(self.bucket, "top.txt"), "rb") as f:
                mp = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
                self.assertEqual(mp[:], b"top\n")
                mp.close()
        finally:
            m.stop()

    def local_opens(self):
        r = self.s.get(self.node.url + "/v1/daemon?what=stats", timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["local_reads"]["opens"]

    def test_local_reads(self):
        # The mount and the node share this host: files are read from the target's object
        # files (fd handed over a unix socket), unless -o local_reads=off.
        # A fresh mount: nothing in its page cache, so reads reach aisle-fs, whose first read
        # of the open file asks the target for it.
        blob = self.objects["big/blob.bin"]
        for opts, opened in (("ro", 1), ("local_reads=off,ro", 0)):
            before = self.local_opens()
            m = Mount(self.node.url, opts).start()
            try:
                with open(m.path(self.bucket, "big", "blob.bin"), "rb") as f:
                    self.assertEqual(sha(f.read()), sha(blob))
            finally:
                m.stop()
            self.assertEqual(self.local_opens(), before + opened, opts)
        # From its first read on, an open file reads one version, as a local file would, even
        # when the object is overwritten meanwhile (over HTTP the rest would be the new bytes);
        # the next open reads the new one.
        size = 3 << 20  # more than one readahead part: over HTTP it would not be one GET
        self.put("fsb2", "ow.bin", b"1" * size)  # not in fsb: test_python_walk lists it
        m = Mount(self.node.url, "attr_timeout=0,entry_timeout=0,dir_timeout=0").start()
        try:
            path = m.path("fsb2", "ow.bin")
            before = self.local_opens()
            with open(path, "rb", buffering=0) as f:
                first = f.read(1000)
                self.put("fsb2", "ow.bin", b"2" * size)
                rest = f.read()
            self.assertEqual(first + rest, b"1" * size)
            self.assertEqual(self.local_opens(), before + 1)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"2" * size)
        finally:
            m.stop()

    def test_local_reads_only_for_the_nodes_user(self):
        # Abstract unix sockets have no permissions: the node answers a peer of another uid
        # 403 and hands it no descriptor.
        node_id = self.s.get(self.node.url + "/v1/daemon?what=snode", timeout=10).json()["daemon_id"]
        probe = (
            "import json, os, socket, sys\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
            "s.connect('\\0aisle-local-read/' + sys.argv[1])\n"
            "s.send(json.dumps({'op': 'open', 'id': 7, 'bucket': sys.argv[2], "
            "'object': 'top.txt'}).encode())\n"
            "msg, anc, flags, addr = s.recvmsg(16384, socket.CMSG_SPACE(4))\n"
            "print(json.loads(msg)['status'], len(anc))\n")
        out = subprocess.run([sys.executable, "-c", probe, node_id, self.bucket],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["403", "0"])

    def test_paused_readers_do_not_hold_the_node(self):
        # Each file read sequentially streams from one open range GET, which one of the
        # node's request workers writes. Readers that pause must not hold them: with 3 workers
        # and 5 paused readers, the mount (and the node) still answer, and every reader goes
        # on with the right bytes once it reads again.
        node = tl.Node(extra_args=["--workers", "3"])
        node.start()
        m = None
        files = []
        try:
            r = self.s.post(node.bck_url("p"), json={"action": "create-bck"}, timeout=10)
            self.assertIn(r.status_code, (200, 409), r.text)
            blobs = {"f%d" % i: os.urandom(12 << 20) for i in range(5)}
            for name, data in blobs.items():
                r = self.s.put(node.obj_url("p", name), data=data, timeout=30)
                self.assertEqual(r.status_code, 200, r.text)
            r = self.s.put(node.obj_url("p", "small"), data=b"small\n", timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            m = Mount(node.url, "local_reads=off").start()  # streams over HTTP
            t0 = time.monotonic()
            for name in blobs:  # 2 MiB each: the second read opens the stream
                f = open(m.path("p", name), "rb", buffering=0)
                files.append((name, f, bytearray(f.read(1 << 20)) + f.read(1 << 20)))
            with open(m.path("p", "small"), "rb") as f:
                self.assertEqual(f.read(), b"small\n")
            # Held streams would keep the 4th reader waiting for the node's 30 s write timeout.
            self.assertLess(time.monotonic() - t0, 10, "the node's workers were held")
            time.sleep(1.5)  # paused past the idle timeout: every stream is closed
            for name, f, got in files:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    got += b
                self.assertEqual(sha(bytes(got)), sha(blobs[name]), name)
        finally:
            for _, f, _ in files:
                f.close()
            if m is not None:
                m.stop()
            node.cleanup()

    def test_python_walk(self):
        seen = {}
        for root, dirs, files in os.walk(self.p()):
            for fn in files:
                full = os.path.join(root, fn)
                rel = os.path.relpath(full, self.p())
                if rel.split("/")[0] in ("w", "err", "shards"):
                    continue  # written by other tests
                with open(full, "rb") as f:
                    seen[rel] = sha(f.read())
        self.assertEqual(seen, {k: sha(v) for k, v in self.objects.items()})

    def test_errnos(self):
        def err(fn, *a):
            try:
                fn(*a)
            except OSError as e:
                return e.errno
            return 0

        self.assertEqual(err(open, self.p("nope.txt"), "rb"), errno.ENOENT)
        self.assertEqual(err(os.stat, self.p("a", "nope")), errno.ENOENT)
        self.assertEqual(err(open, self.p("a"), "wb"), errno.EISDIR)
        self.assertEqual(err(os.rmdir, self.p("a")), errno.ENOTEMPTY)
        self.assertEqual(err(os.rmdir, self.p("top.txt")), errno.ENOTDIR)
        self.assertEqual(err(os.unlink, self.p("a")), errno.EISDIR)
        self.assertEqual(err(os.mkdir, self.p("a")), errno.EEXIST)
        self.assertEqual(err(os.listdir, self.p("top.txt")), errno.ENOTDIR)
        os.makedirs(self.p("err"), exist_ok=True)
        with open(self.p("err", "f"), "wb") as f:
            f.write(b"1")
        other = self.mount.path("fsb2", "f")
        # Across buckets rename is EXDEV (mv(1) then copies).
        self.assertEqual(err(os.rename, self.p("err", "f"), other), errno.EXDEV)
        self.assertEqual(err(os.rmdir, self.mount.path("fsb2")), errno.EPERM)
        ro = Mount(self.node.url + "/" + self.bucket, "ro").start()
        try:
            with open(ro.path("top.txt"), "rb") as f:
                self.assertEqual(f.read(), b"top\n")
            self.assertEqual(err(open, ro.path("new"), "wb"), errno.EROFS)
            self.assertEqual(err(os.unlink, ro.path("top.txt")), errno.EROFS)
            self.assertEqual(err(os.mkdir, ro.path("d")), errno.EROFS)
            self.assertEqual(sorted(os.listdir(ro.path())),
                             sorted(set(os.listdir(self.p()))))
        finally:
            ro.stop()

    def test_raw_and_etl_views(self):
        self.assertNotIn(".raw", os.listdir(self.mount.path()))
        with open(self.mount.path(".raw", self.bucket, "top.txt"), "rb") as f:
            self.assertEqual(f.read(), b"top\n")
        # A transform that does not exist is not a directory of /.etl: ENOENT at once.
        # (Reads through real transforms are tested in test_etl.py.)
        p = self.mount.path(".etl", "some-etl", self.bucket, "top.txt")
        self.assertFalse(os.path.exists(p))
        with self.assertRaises(OSError) as cm:
            with open(p, "rb") as f:
                f.read()
        self.assertEqual(cm.exception.errno, errno.ENOENT)

    def test_shard_directories(self):
        members = {"0001.jpg": b"jpeg-bytes-1", "0001.cls": b"3", "sub/0002.jpg": b"jpeg-2"}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for n, d in members.items():
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        self.put(self.bucket, "shards/s-0001.tar", buf.getvalue())
        # Probe the server contract (list with flags=8 returns "<shard>/<member>").
        r = self.s.get(self.node.bck_url(self.bucket), json={
            "action": "list", "value": {"prefix": "shards/s-0001.tar", "flags": "8"}}, timeout=10)
        names = [e["name"] for e in r.json().get("entries", [])] if r.status_code == 200 else []
        if "shards/s-0001.tar/0001.jpg" not in names:
            self.skipTest("server does not list shard members yet (flags=8)")
        # A fresh mount: the shared one may hold a listing of the bucket from before the PUT
        # (changes by other clients show up after dir_timeout).
        m = Mount(self.node.url + "/" + self.bucket).start()
        try:
            d = m.path("shards", "s-0001.tar")
            self.assertTrue(os.path.isdir(d))
            self.assertEqual(sorted(os.listdir(d)), ["0001.cls", "0001.jpg", "sub"])
            with open(os.path.join(d, "sub", "0002.jpg"), "rb") as f:
                self.assertEqual(f.read(), b"jpeg-2")
            with open(os.path.join(d, "0001.jpg"), "rb") as f:
                f.seek(5)
                self.assertEqual(f.read(5), b"bytes")  # a range inside a member
            self.assertEqual(os.stat(os.path.join(d, "0001.jpg")).st_size,
                             len(members["0001.jpg"]))
            with open(m.path(".raw", "shards", "s-0001.tar"), "rb") as f:
                self.assertEqual(f.read(), buf.getvalue())
            # A new file written into the shard directory is appended as a member.
            with open(os.path.join(d, "0003.txt"), "wb") as f:
                f.write(b"appended member")
            r = self.s.get(self.node.obj_url(self.bucket, "shards/s-0001.tar",
                                             {"archpath": "0003.txt"}), timeout=10)
            self.assertEqual((r.status_code, r.content), (200, b"appended member"))
            self.assertIn("0003.txt", os.listdir(d))
            with open(os.path.join(d, "0003.txt"), "rb") as f:
                self.assertEqual(f.read(), b"appended member")
            try:
                open(os.path.join(d, "0001.jpg"), "wb")
                self.fail("overwriting a member must fail")
            except OSError as e:
                self.assertIn(e.errno, (errno.EROFS, errno.EACCES))
        finally:
            m.stop()

    def test_z_node_restart_during_reads(self):
        # 'z': runs last in this class (unittest sorts by name); restarts the shared node.
        # Over HTTP, by default and with -o direct_io (whose sequential reads come from one
        # open range GET that the restart breaks mid-way), and with local reads, whose open
        # file outlives the node process.
        for opts in ("local_reads=off", "local_reads=off,direct_io", ""):
            with self.subTest(opts=opts or "default"):
                self._restart_during_read(opts)

    def _restart_during_read(self, opts):
        blob = self.objects["big/blob.bin"]
        result = {}

        def reader():
            try:
                got = bytearray()
                with open(m.path("big", "blob.bin"), "rb", buffering=0) as f:
                    while True:
                        b = f.read(256 << 10)
                        if not b:
                            break
                        got += b
                        time.sleep(0.005)  # slow reader: the restart lands mid-file
                result["data"] = bytes(got)
            except OSError as e:
                result["errno"] = e.errno

        # Fresh mount: nothing of the blob in any cache.
        m = Mount(self.node.url + "/" + self.bucket, opts).start()
        try:
            t = threading.Thread(target=reader)
            t.start()
            time.sleep(0.15)
            self.node.kill9()
            time.sleep(1.0)
            self.node.start()
            t.join(60)
            self.assertFalse(t.is_alive(), "read hung across a node restart")
            sys.stderr.write("[restart during read (%s): %s] " % (
                opts or "default",
                "EIO" if "errno" in result else "read completed, data intact"))
            if "errno" in result:
                # Over HTTP a read may give up (EIO); a locally read file outlives the node.
                self.assertIn("local_reads=off", opts, "a locally read file failed")
                self.assertEqual(result["errno"], errno.EIO)
            else:
                self.assertEqual(sha(result["data"]), sha(blob))
            with open(m.path("top.txt"), "rb") as f:  # the mount still works afterwards
                self.assertEqual(f.read(), b"top\n")
        finally:
            m.stop()

    def test_z_timeout_gives_eio_not_hang(self):
        m = Mount(self.node.url + "/" + self.bucket,
                  "attr_timeout=0,entry_timeout=0,negative_timeout=0,dir_timeout=0,"
                  "retry_timeout=2").start()
        try:
            os.listdir(m.path())
            self.node.kill9()
            t0 = time.monotonic()
            with self.assertRaises(OSError) as cm:
                with open(m.path("top.txt"), "rb") as f:
                    f.read()
            self.assertIn(cm.exception.errno, (errno.EIO, errno.ENOENT))
            self.assertLess(time.monotonic() - t0, 20)
        finally:
            m.stop()
            self.node.start()


@unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
class FsClusterLocalReadsTest(unittest.TestCase):
    def test_each_object_is_read_from_its_owner(self):
        # A mount of the proxy of a 2-target cluster on this host: every file is read from the
        # file of the target that owns it (HRW), each target handing out its own objects.
        import test_cluster  # the same directory: its Cluster (proxy + targets) fixture
        cluster = test_cluster.Cluster(2)
        m = None
        s = requests.Session()
        try:
            r = s.post(cluster.url + "/v1/buckets/cl", json={"action": "create-bck"}, timeout=10)
            self.assertIn(r.status_code, (200, 409), r.text)
            blobs = {"o%02d" % i: os.urandom(150000 + i) for i in range(16)}
            for name, data in blobs.items():
                r = s.put(cluster.url + "/v1/objects/cl/" + name, data=data, timeout=30)
                self.assertEqual(r.status_code, 200, r.text)

            def opens():
                return [s.get(t.url + "/v1/daemon?what=stats", timeout=10).json()["local_reads"]["opens"]
                        for t in cluster.targets]

            before = opens()
            # Without batch prefetch, which would serve some files from its cache instead.
            m = Mount(cluster.url, opts="prefetch=off").start()
            for name, data in blobs.items():
                with open(m.path("cl", name), "rb") as f:
                    self.assertEqual(sha(f.read()), sha(data), name)
            gained = [a - b for a, b in zip(opens(), before)]
            self.assertEqual(sum(gained), len(blobs), gained)
            self.assertTrue(all(g > 0 for g in gained), gained)
        finally:
            if m is not None:
                m.stop()
            s.close()
            cluster.cleanup()


@unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
class FsLifecycleTest(tl.NodeTestCase):
    def test_sigterm_unmounts_cleanly(self):
        requests.post(self.node.bck_url("lc"), json={"action": "create-bck"}, timeout=10)
        m = Mount(self.node.url).start()
        try:
            self.assertIn("lc", os.listdir(m.mnt))
            m.proc.send_signal(signal.SIGTERM)
            self.assertEqual(m.proc.wait(timeout=10), 0)
            self.assertFalse(is_mounted(m.mnt))
        finally:
            m.stop()

    def test_daemon_mode_and_bad_endpoint(self):
        m = Mount(self.node.url, foreground=False).start()
        try:
            self.assertEqual(m.proc.wait(timeout=10), 0)  # the parent exits once mounted
            self.assertTrue(is_mounted(m.mnt))
            self.assertTrue(pids_serving(m.mnt))
        finally:
            m.stop()
        self.assertFalse(is_mounted(m.mnt))
        bad = subprocess.run([FS_BIN, "127.0.0.1:1", tl.make_tmpdir(), "-f"], capture_output=True,
                             text=True, timeout=60)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("cannot reach", bad.stderr)
        usage = subprocess.run([FS_BIN, "-o", "bogus", "a", "b"], capture_output=True, text=True,
                               timeout=10)
        self.assertEqual(usage.returncode, 2)


if __name__ == "__main__":
    unittest.main()
