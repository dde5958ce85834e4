"""bench-fs-cold: small-file reads through aisle-fs with batch prefetch (1 proxy + 3 targets on
this host), each side by side with local files. Prints JSON. See bench-fs-cold.sh."""

import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import test_cluster  # noqa: E402
from test_fs import Mount  # noqa: E402

N = int(os.environ.get("N_SMALL", "10000"))
SIZE = int(os.environ.get("SMALL_KB", "100")) * 1024
N_MEMBERS = int(os.environ.get("N_MEMBERS", "100000"))
N_PICK = int(os.environ.get("N_PICK", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp")
PREFETCH_MEM = os.environ.get("PREFETCH_MEM", "512M")


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(cmd, cwd):
    t = time.monotonic()
    subprocess.run(cmd, cwd=cwd, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakRss:
    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, False
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def med(xs):
    return statistics.median(xs)


def main():
    base = tempfile.mkdtemp(prefix="fscold-", dir=BENCH_DIR)
    local = os.path.join(base, "local")
    os.makedirs(local)
    cluster = test_cluster.Cluster(3)
    out = {"params": {"N": N, "SIZE": SIZE, "N_MEMBERS": N_MEMBERS, "N_PICK": N_PICK,
                      "RUNS": RUNS, "PREFETCH_MEM": PREFETCH_MEM}}
    mounts = []
    try:
        s = requests.Session()
        s.post(cluster.url + "/v1/buckets/cold", json={"action": "create-bck"}, timeout=10)
        names = ["f%05d.bin" % i for i in range(N)]
        rng = random.Random(1)
        blob = rng.randbytes(SIZE + 4096)

        def data_of(n):
            i = int(n[1:6])
            return blob[i % 4096:i % 4096 + SIZE]

        codes = test_cluster.put_many(cluster.url, "cold", names, data_of)
        assert all(c == 200 for c in codes), set(codes)
        for n in names:
            with open(os.path.join(local, n), "wb") as f:
                f.write(data_of(n))
        listf = os.path.join(base, "names.txt")
        with open(listf, "w") as f:
            f.write("\n".join(names) + "\n")
        cat4 = "xargs -a %s -P4 -n 64 cat > /dev/null" % listf

        def mount(opts):
            m = Mount(cluster.url, opts=opts).start()
            mounts.append(m)
            return m

        def unmount(m):
            m.stop()
            mounts.remove(m)

        def fs_run(opts, cold):
            if cold:
                drop_caches()
            m = mount(opts)
            peak = PeakRss(m.proc.pid)
            t = timed(cat4, m.path("cold"))
            p = peak.done()
            unmount(m)
            return t, p

        res = {"local_cold": [], "fs_cold": [], "fs_cold_off": [], "local_warm": [],
               "fs_warm": [], "fs_warm_off": [], "rss": []}
        for _ in range(RUNS):
            drop_caches()
            res["local_cold"].append(timed(cat4, local))
            t, p = fs_run("prefetch_mem=" + PREFETCH_MEM, True)
            res["fs_cold"].append(t)
            res["rss"].append(p)
            res["fs_cold_off"].append(fs_run("prefetch=off", True)[0])
        timed(cat4, local)  # warm the local copy; the cluster's copy is warm from here on
        fs_run("prefetch=off", False)
        for _ in range(RUNS):
            res["local_warm"].append(timed(cat4, local))
            t, p = fs_run("prefetch_mem=" + PREFETCH_MEM, False)
            res["fs_warm"].append(t)
            res["rss"].append(p)
            res["fs_warm_off"].append(fs_run("prefetch=off", False)[0])

        # (c) shard members by name, one reader, fresh mount, no ls; vs fuse-zip (stored zip).
        members = ["m%06d.bin" % i for i in range(N_MEMBERS)]
        mblob = rng.randbytes(1024 + 4096)
        tbuf = io.BytesIO()
        zpath = os.path.join(base, "shard.zip")
        with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.USTAR_FORMAT) as tf, \
                zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as zf:
            for i, n in enumerate(members):
                d = mblob[i % 4096:i % 4096 + 1024]
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
                zf.writestr(n, d)
        r = s.put(cluster.url + "/v1/objects/cold/shard.tar", data=tbuf.getvalue(), timeout=300)
        assert r.status_code == 200, r.text
        pick = random.Random(2).sample(members, N_PICK)
        pickf = os.path.join(base, "pick.txt")
        with open(pickf, "w") as f:
            f.write("\n".join(pick) + "\n")
        cat1 = "xargs -a %s -n 64 cat > /dev/null" % pickf
        res.update({"shard_fs": [], "shard_fs_2nd": [], "shard_fs_off": [], "fuse_zip": []})
        have_fz = shutil.which("fuse-zip") is not None
        for _ in range(RUNS):
            for opts, key in (("prefetch_mem=" + PREFETCH_MEM, "shard_fs"),
                              ("prefetch=off", "shard_fs_off")):
                m = mount(opts)
                res[key].append(N_PICK / timed(cat1, m.path("cold", "shard.tar")))
                if key == "shard_fs":
                    res["shard_fs_2nd"].append(N_PICK / timed(cat1, m.path("cold", "shard.tar")))
                unmount(m)
            if have_fz:
                zm = os.path.join(base, "zmnt")
                os.makedirs(zm, exist_ok=True)
                subprocess.run(["fuse-zip", "-r", zpath, zm], check=True)
                try:
                    res["fuse_zip"].append(N_PICK / timed(cat1, zm))
                except subprocess.CalledProcessError:
                    have_fz = False  # e.g. EIO on every read (seen with this host's fuse-zip)
                    out["fuse_zip_error"] = "fuse-zip read failed (EIO)"
                finally:
                    subprocess.run(["fusermount3", "-u", zm], check=False)
        out["runs"] = res
        out["have_fuse_zip"] = have_fz
        lc, fc = med(res["local_cold"]), med(res["fs_cold"])
        lw, fw = med(res["local_warm"]), med(res["fs_warm"])
        out["ratio_cold"] = lc / fc
        out["ratio_cold_off"] = lc / med(res["fs_cold_off"])
        out["ratio_warm"] = lw / fw
        out["ratio_warm_off"] = lw / med(res["fs_warm_off"])
        # Without a working fuse-zip, the reference is FUSE_ZIP_REF members/s (measured earlier
        # on this host: 13,700/s).
        fz_ref = med(res["fuse_zip"]) if have_fz and res["fuse_zip"] else float(
            os.environ.get("FUSE_ZIP_REF", "13700"))
        out["fuse_zip_ref"] = fz_ref
        out["ratio_shard"] = med(res["shard_fs"]) / fz_ref
        out["ratio_shard_off"] = med(res["shard_fs_off"]) / fz_ref
        out["rss_peak_mib"] = max(res["rss"]) / 2**20
        print(json.dumps(out))
    finally:
        for m in list(mounts):
            m.stop()
        cluster.cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
