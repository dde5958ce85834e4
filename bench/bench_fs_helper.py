"""Helpers for bench/bench-fs.sh and bench/bench-s3.sh: populate a bucket in parallel (keep-alive
connections), mirror files on local disk, upload a local directory tree, run N parallel readers
over a file list, GET a list of objects over N keep-alive connections, stream a file through
O_DIRECT reads, sample a process's RSS."""

import http.client
import json
import mmap
import os
import sys
import threading
import time
import urllib.parse

from bench_common import run_workers


def _conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def _req(c, method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read()


def create_bucket(url, bucket):
    c = _conn(url)
    st, body = _req(c, "POST", "/v1/buckets/" + bucket, json.dumps({"action": "create-bck"}).encode(),
                    {"Content-Type": "application/json"})
    if st not in (200, 409):
        sys.exit("create bucket %s: %d %r" % (bucket, st, body[:200]))


def populate(url, bucket, prefix, count, size, localdir, conns=32):
    """PUTs count objects prefix/f-NNNNNN of `size` random-ish bytes; mirrors them to localdir."""
    create_bucket(url, bucket)
    if localdir:
        os.makedirs(localdir, exist_ok=True)
    blob = os.urandom(max(size, 1) + 4096)
    errors = []

    def worker(k):
        c = _conn(url)
        for i in range(k, count, conns):
            name = "f-%06d" % i
            data = blob[i % 4096:i % 4096 + size]
            st, body = _req(c, "PUT", "/v1/objects/%s/%s/%s" % (bucket, prefix, name), data)
            if st != 200:
                errors.append("PUT %s: %d" % (name, st))
                return
            if localdir:
                with open(os.path.join(localdir, name), "wb") as f:
                    f.write(data)
        c.close()

    run_workers(worker, conns, errors)


def put_dir(url, bucket, prefix, localdir, conns=16):
    """PUTs every file under localdir as prefix/<relative path> (parallel, keep-alive
    connections, like populate); prints the number of objects written."""
    create_bucket(url, bucket)
    rels = []
    for d, _, files in os.walk(localdir):
        for f in files:
            rels.append(os.path.relpath(os.path.join(d, f), localdir))
    rels.sort()
    errors = []
    done = [0]
    lock = threading.Lock()

    def worker(k):
        c = _conn(url)
        n = 0
        for rel in rels[k::conns]:
            with open(os.path.join(localdir, rel), "rb") as f:
                data = f.read()
            name = urllib.parse.quote("%s/%s" % (prefix, rel.replace(os.sep, "/")))
            st, body = _req(c, "PUT", "/v1/objects/%s/%s" % (bucket, name), data)
            if st != 200:
                errors.append("PUT %s: %d %r" % (rel, st, body[:200]))
                return
            n += 1
        c.close()
        with lock:
            done[0] += n

    run_workers(worker, conns, errors)
    print(done[0])


def stream(path, total_bytes, bufsize=1 << 20):
    """Reads path again and again from the start until total_bytes were read, with O_DIRECT
    (page cache bypassed, so every pass goes through the file system again); if the file
    system refuses O_DIRECT, with buffered reads and posix_fadvise(DONTNEED) after each pass.
    Prints seconds, bytes read, passes, and the mode (direct|buffered). Fails on a short pass
    (a file of another size on a later pass) or an empty file."""
    mode = "direct"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        mode, fd = "buffered", os.open(path, os.O_RDONLY)
    buf = mmap.mmap(-1, bufsize)  # page aligned, as O_DIRECT wants
    total, passes, first = 0, 0, None
    t0 = time.monotonic()
    try:
        while total < total_bytes:
            os.lseek(fd, 0, os.SEEK_SET)
            n = 0
            while True:
                try:
                    got = os.readv(fd, [buf])
                except OSError:
                    if mode != "direct" or total or n:
                        raise
                    os.close(fd)  # O_DIRECT opened but refused at read time
                    mode, fd = "buffered", os.open(path, os.O_RDONLY)
                    continue
                if not got:
                    break
                n += got
            if n == 0:
                sys.exit("stream %s: empty file" % path)
            if first is None:
                first = n
            elif n != first:
                sys.exit("stream %s: pass %d read %d bytes, the first %d" % (path, passes + 1, n, first))
            if mode == "buffered":
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            total += n
            passes += 1
    finally:
        os.close(fd)
    print("%.4f %d %d %s" % (time.monotonic() - t0, total, passes, mode))


def read_files(listfile, readers):
    """Reads every file in listfile (one path a line) with `readers` threads; prints seconds."""
    with open(listfile) as f:
        paths = [l.rstrip("\n") for l in f if l.strip()]
    total = [0]
    lock = threading.Lock()

    def worker(k):
        n = 0
        for p in paths[k::readers]:
            with open(p, "rb", buffering=0) as fh:
                while True:
                    b = fh.read(1 << 20)
                    if not b:
                        break
                    n += len(b)
        with lock:
            total[0] += n

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(readers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    print("%.4f %d" % (dt, total[0]))


def get_objects(url, listfile, conns):
    """GETs every object path in listfile (one "bucket/name" a line) over `conns` keep-alive
    connections of the native API; prints seconds and bytes, like read_files."""
    with open(listfile) as f:
        names = [l.strip() for l in f if l.strip()]
    total = [0]
    errors = []
    lock = threading.Lock()

    def worker(k):
        c = _conn(url)
        n = 0
        for name in names[k::conns]:
            st, body = _req(c, "GET", "/v1/objects/" + name)
            if st != 200:
                errors.append("GET %s: %d" % (name, st))
                return
            n += len(body)
        c.close()
        with lock:
            total[0] += n

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        sys.exit(errors[0])
    print("%.4f %d" % (dt, total[0]))


def peak_rss(pid, stopfile, readyfile=None):
    """Samples VmRSS of pid every 50 ms until stopfile exists (at least once; readyfile, if
    given, is created after the first sample); prints the peak in MiB."""
    peak = 0
    first = True
    while first or not os.path.exists(stopfile):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        if first and readyfile:
            open(readyfile, "w").close()
        first = False
        time.sleep(0.05)
    print("%.1f" % (peak / 1024.0))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "populate":
        populate(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                 sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] != "-" else None)
    elif cmd == "putdir":
        put_dir(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "stream":
        stream(sys.argv[2], int(sys.argv[3]))
    elif cmd == "read":
        read_files(sys.argv[2], int(sys.argv[3]))
    elif cmd == "get":
        get_objects(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "rss":
        peak_rss(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit("unknown command " + cmd)
