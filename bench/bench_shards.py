#!/usr/bin/python3
"""Shard benchmark driver (bench/bench-shards.sh runs it): random member reads over HTTP from an
aisle-node (keep-alive, READERS concurrent readers) vs archivemount / fuse-zip mounts of a local
copy (mount time included) vs Python's tarfile, on a 100k-member tar (1 KiB members) and a ~1 GB
tgz. Median of RUNS runs; every measurement is capped in time. Prints JSON results on stdout.
Starts one aisle-node and FUSE mounts; all are stopped/unmounted on exit, even on errors."""

import concurrent.futures as cf
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

import requests

WORK, NODE_BIN = sys.argv[1], sys.argv[2]
FS_BIN = sys.argv[3] if len(sys.argv) > 3 else ""
RUNS = int(os.environ.get("RUNS", "3"))
READERS = int(os.environ.get("READERS", "4"))
N_TAR = int(os.environ.get("N_TAR", "100000"))
TGZ_MB = int(os.environ.get("TGZ_MB", "1024"))
CAP_S = float(os.environ.get("CAP_S", "8"))        # per measurement
READS = int(os.environ.get("READS", "2000"))       # random reads per HTTP measurement
log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731

procs, mounts = [], []


def cleanup(*_):
    for m in mounts:
        subprocess.run(["fusermount", "-u", "-z", m], stderr=subprocess.DEVNULL)
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(1)))


def member_data(i, n=1024):
    return (b"%08d" % i) * (n // 8)


def make_inputs():
    tar_path = os.path.join(WORK, "small.tar")
    zip_path = os.path.join(WORK, "small.zip")
    tgz_path = os.path.join(WORK, "big.tgz")
    if not os.path.exists(tar_path):
        t0 = time.time()
        with tarfile.open(tar_path, "w", format=tarfile.USTAR_FORMAT) as tf:
            ti = tarfile.TarInfo("x")
            for i in range(N_TAR):
                ti.name = "d%02d/%06d.bin" % (i % 100, i)
                d = member_data(i)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
            for i in range(N_TAR):
                zi = zipfile.ZipInfo("d%02d/%06d.bin" % (i % 100, i), (2024, 1, 1, 0, 0, 0))
                zi.external_attr = 0o100644 << 16  # S_IFREG: fuse-zip answers EIO without it
                zf.writestr(zi, member_data(i))
        log("made %d-member tar and zip in %.1fs" % (N_TAR, time.time() - t0))
    if not os.path.exists(tgz_path):
        t0 = time.time()
        rng = random.Random(7)
        msize = 256 << 10
        count = max(1, (TGZ_MB << 20) // msize)
        with tarfile.open(tgz_path, "w:gz", compresslevel=1) as tf:
            for i in range(count):
                # Mostly random (like JPEG payloads), 1/8 repetitive: the tgz is ~0.9x TGZ_MB.
                d = rng.randbytes(msize * 7 // 8) + bytes([i % 251]) * (msize // 8)
                ti = tarfile.TarInfo("s%05d.bin" % i)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        log("made %d MB tgz (%d members) in %.1fs" % (os.path.getsize(tgz_path) >> 20, count,
                                                      time.time() - t0))
    return tar_path, zip_path, tgz_path


def tgz_names(path):
    with tarfile.open(path, "r:gz") as tf:
        return [m.name for m in tf.getmembers()]


def run_readers(fn, names, reads, cap):
    """READERS threads each call fn(name) for random names; returns (reads/s, latencies)."""
    lat, lock, stop = [], threading.Lock(), time.monotonic() + cap
    per = max(1, reads // READERS)

    def worker(seed):
        r = random.Random(seed)
        mine = []
        for _ in range(per):
            if time.monotonic() > stop:
                break
            n = r.choice(names)
            t = time.perf_counter()
            fn(n)
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(READERS) as ex:
        list(ex.map(worker, range(READERS)))
    el = time.perf_counter() - t0
    return len(lat) / el, lat


def start_node():
    mp = os.path.join(WORK, "mp")
    os.makedirs(mp, exist_ok=True)
    ready = os.path.join(WORK, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    p = subprocess.Popen([NODE_BIN, "--role", "target", "--port", "0", "--host", "127.0.0.1",
                          "--mountpath", mp, "--ready-file", ready],
                         stdout=open(os.path.join(WORK, "node.log"), "wb"), stderr=subprocess.STDOUT)
    procs.append(p)
    for _ in range(200):
        if os.path.exists(ready) and open(ready).read():
            return open(ready).read().strip()
        time.sleep(0.05)
    raise RuntimeError("aisle-node did not start")


def http_reader(url, bucket, shard):
    local = threading.local()

    def get(name):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        r = s.get("%s/v1/objects/%s/%s" % (url, bucket, shard), params={"archpath": name})
        if r.status_code != 200:
            raise RuntimeError("GET %s: %d %s" % (name, r.status_code, r.text[:200]))
    return get


def file_reader(root):
    def read(name):
        with open(os.path.join(root, name), "rb") as f:
            f.read()
    return read


def mount(cmd, mnt):
    os.makedirs(mnt, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run(cmd + [mnt], check=True)
    mounts.append(mnt)
    os.listdir(mnt)  # archivemount parses lazily on first access: include it
    return time.perf_counter() - t0


def umount(mnt):
    subprocess.run(["fusermount", "-u", mnt], check=False)
    if mnt in mounts:
        mounts.remove(mnt)


def fuse_side(cmd, archive, names, reads, cap):
    """Mount (timed) + random reads; rate counts mount time in the elapsed time."""
    mnt = os.path.join(WORK, "mnt-%s" % os.path.basename(cmd[0]))
    mt = mount(cmd + [archive], mnt)
    rate, lat = run_readers(file_reader(mnt), names, reads, cap)
    umount(mnt)
    n = len(lat)
    return {"mount_s": mt, "reads": n, "reads_per_s_incl_mount": n / (mt + n / rate) if n else 0,
            "reads_per_s": rate, "median_ms": statistics.median(lat) * 1000 if lat else None}


def aisle_fs_side(url, bucket, shard, names, reads, cap):
    """aisle-fs mounted at the node: mount + first member (a random one, read by path with no
    listing before it, timed together) and random member reads through BUCKET/SHARD/."""
    mnt = os.path.join(WORK, "mnt-aisle-fs")
    os.makedirs(mnt, exist_ok=True)
    root = os.path.join(mnt, bucket, shard)
    first = random.choice(names)
    t0 = time.perf_counter()
    p = subprocess.Popen([FS_BIN, url, mnt, "-f"], stdout=open(os.path.join(WORK, "fs.log"), "ab"),
                         stderr=subprocess.STDOUT)
    procs.append(p)
    mounts.append(mnt)
    while not os.path.ismount(mnt):
        if p.poll() is not None or time.perf_counter() - t0 > 10:
            raise RuntimeError("aisle-fs did not mount")
        time.sleep(0.002)
    file_reader(root)(first)
    mt = time.perf_counter() - t0
    rate, lat = run_readers(file_reader(root), names, reads, cap)
    umount(mnt)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    n = len(lat)
    return {"mount_s": mt, "reads": n, "reads_per_s_incl_mount": n / (mt + n / rate) if n else 0,
            "reads_per_s": rate, "median_ms": statistics.median(lat) * 1000 if lat else None}


def tarfile_side(path, names, reads, cap, mode):
    t0 = time.perf_counter()
    local = threading.local()

    def read(name):
        tf = getattr(local, "tf", None)
        if tf is None:
            tf = local.tf = tarfile.open(path, mode)
            tf.getmembers()  # the index tarfile needs for random access
        tf.extractfile(name).read()
    rate, lat = run_readers(read, names, reads, cap)
    el = time.perf_counter() - t0
    return {"reads": len(lat), "reads_per_s_incl_open": len(lat) / el,
            "median_ms": statistics.median(lat) * 1000 if lat else None}


def guarded(fn, *args):
    """A baseline that fails (e.g. fuse-zip answering EIO) is reported, not fatal."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        log("baseline failed: %s" % e)
        for m in list(mounts):
            umount(m)
        return {"error": (type(e).__name__ + ": " + (e.strerror if isinstance(e, OSError) and e.strerror else str(e)))[:120]}


WRK_LUA = """
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local n = tonumber(os.getenv("WRK_N"))
local fmt = os.getenv("WRK_FMT")
local two = os.getenv("WRK_TWO") == "1"
request = function()
  local i = math.random(0, n - 1)
  if two then return wrk.format("GET", string.format(fmt, i % 100, i)) end
  return wrk.format("GET", string.format(fmt, i))
end
"""


def wrk_side(url, shard, fmt, n, dur, two):
    """wrk (C, keep-alive): READERS connections, random archpath GETs; reads/s and median ms."""
    lua = os.path.join(WORK, "rand.lua")
    open(lua, "w").write(WRK_LUA)
    env = dict(os.environ, WRK_N=str(n), WRK_TWO="1" if two else "0",
               WRK_FMT="/v1/objects/bench/%s?archpath=%s" % (shard, fmt))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(READERS), "-d", "%ds" % max(1, int(dur)),
                          "--latency", "-s", lua, url], env=env, stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    rps = med_ms = None
    errors = 0
    for line in out.splitlines():
        t = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(t[1])
        elif len(t) == 2 and t[0] == "50%":
            v = t[1]
            med_ms = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") \
                else float(v[:-1]) * 1000
        elif "Non-2xx" in line:
            errors = int(t[-1])
    if errors or rps is None:
        raise RuntimeError("wrk: %d non-2xx responses\n%s" % (errors, out))
    return {"reads_per_s": rps, "median_ms": med_ms}


def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)} if vals else None


def main():
    tar_path, zip_path, tgz_path = make_inputs()
    tar_names = ["d%02d/%06d.bin" % (i % 100, i) for i in range(N_TAR)]
    big_names = tgz_names(tgz_path)
    url = start_node()
    requests.post(url + "/v1/buckets/bench", json={"action": "create-bck"}).raise_for_status()
    out = {"n_tar": N_TAR, "tgz_bytes": os.path.getsize(tgz_path), "readers": READERS, "runs": RUNS}
    for name, path in (("small.tar", tar_path), ("small.zip", zip_path), ("big.tgz", tgz_path)):
        with open(path, "rb") as f:
            requests.put("%s/v1/objects/bench/%s" % (url, name), data=f).raise_for_status()
    # Index build: first member access (lazy build + sidecar write).
    for name, member in (("small.tar", tar_names[-1]), ("small.zip", tar_names[-1]),
                         ("big.tgz", big_names[-1])):
        t0 = time.perf_counter()
        http_reader(url, "bench", name)(member)
        out["index_build_s_" + name] = time.perf_counter() - t0
    out["index_build_s_per_gb_tgz"] = out["index_build_s_big.tgz"] / (out["tgz_bytes"] / 1e9)

    res = {k: [] for k in ("aisle_tar_wrk", "aisle_tgz_wrk", "aisle_tar", "aisle_zip", "fusezip_zip", "archivemount_tar", "tarfile_tar", "aislefs_tar",
                           "aisle_tgz", "archivemount_tgz", "tarfile_tgz")}
    for run in range(RUNS):
        log("run %d/%d" % (run + 1, RUNS))
        res["aisle_tar_wrk"].append(
            guarded(wrk_side, url, "small.tar", "d%02d%%2F%06d.bin", N_TAR, CAP_S, True))
        res["aisle_tgz_wrk"].append(
            guarded(wrk_side, url, "big.tgz", "s%05d.bin", len(big_names), CAP_S, False))
        rate, lat = run_readers(http_reader(url, "bench", "small.tar"), tar_names, READS, CAP_S)
        res["aisle_tar"].append({"reads_per_s": rate, "median_ms": statistics.median(lat) * 1000})
        rate, lat = run_readers(http_reader(url, "bench", "small.zip"), tar_names, READS, CAP_S)
        res["aisle_zip"].append({"reads_per_s": rate, "median_ms": statistics.median(lat) * 1000})
        if FS_BIN:
            res["aislefs_tar"].append(guarded(aisle_fs_side, url, "bench", "small.tar", tar_names, READS, CAP_S))
        res["fusezip_zip"].append(guarded(fuse_side, ["fuse-zip", "-r"], zip_path, tar_names, READS, CAP_S))
        res["archivemount_tar"].append(guarded(
            fuse_side, ["archivemount", "-o", "ro,readonly"], tar_path, tar_names, READS, CAP_S))
        res["tarfile_tar"].append(guarded(tarfile_side, tar_path, tar_names, READS, CAP_S, "r:"))
        rate, lat = run_readers(http_reader(url, "bench", "big.tgz"), big_names, 200, CAP_S)
        res["aisle_tgz"].append({"reads_per_s": rate, "median_ms": statistics.median(lat) * 1000,
                                 "p90_ms": sorted(lat)[int(len(lat) * 0.9)] * 1000})
        res["archivemount_tgz"].append(guarded(
            fuse_side, ["archivemount", "-o", "ro,readonly"], tgz_path, big_names, 200, CAP_S))
        res["tarfile_tgz"].append(guarded(tarfile_side, tgz_path, big_names, 200, CAP_S, "r:gz"))
    summary = {}
    for k, runs in res.items():
        keys = set().union(*(r.keys() for r in runs)) - {"error"}
        summary[k] = {m: med(runs, m) for m in keys}
        errs = [r["error"] for r in runs if "error" in r]
        if errs:
            summary[k]["error"] = errs[0]
    out["results"] = summary
    out["raw"] = res
    print(json.dumps(out, indent=1))


try:
    main()
finally:
    cleanup()
