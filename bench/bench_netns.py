#!/usr/bin/python3
"""The network-namespace benchmark (run by bench/bench-netns.sh; see it for the what and why).

1 proxy + 4 targets + a client, each in its own namespace (tests/integration/netns_cluster.py),
every target's and the proxy's link capped at RATE bytes/s each way with tbf, the client's not.
  1. aggregate GET: OBJS_PER_TARGET objects of OBJ_MB on each target, fetched all at once by
     that many curl processes per target in the client namespace (through the proxy, following
     its redirect): the objects of one target vs those of all four.
  2. sequential read of one BIG_MB object (owned by t1) from the client namespace: aisle-fs
     (a fresh mount per run, -o direct_io, dd bs=1M) vs curl -L of the same object.
Medians over RUNS runs (the two sides alternate which goes first). Prints a markdown report.
"""

import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import aisle_testlib as tl  # noqa: E402
from netns_cluster import TARGETS, NetnsCluster, skip_reason  # noqa: E402

MiB = 1 << 20
RATE = int(os.environ.get("RATE", str(50 * MiB)))
RUNS = int(os.environ.get("RUNS", "5"))
OBJ_MB = int(os.environ.get("OBJ_MB", "32"))
OBJS_PER_TARGET = int(os.environ.get("OBJS_PER_TARGET", "4"))
BIG_MB = int(os.environ.get("BIG_MB", "256"))
BUCKET = "bench"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def put_object(c, name, size):
    """Writes `size` random bytes as BUCKET/name through the proxy (curl in the client ns)."""
    path = os.path.join(c.dir, "obj.bin")
    with open(path, "wb") as f:
        for _ in range(size // MiB):
            f.write(os.urandom(MiB))
    r = c.lab.run("client", ["curl", "-sfL", "-o", "/dev/null", "-T", path,
                             "%s/v1/objects/%s/%s" % (c.url, BUCKET, name)])
    os.unlink(path)
    if r.returncode != 0:
        raise RuntimeError("PUT %s failed (curl %d)" % (name, r.returncode))


def names_on(target, count, tag):
    out, i = [], 0
    while len(out) < count:
        n = "%s/%05d" % (tag, i)
        if tl.hrw_owner(TARGETS, BUCKET, n) == target:
            out.append(n)
        i += 1
    return out


def parallel_get(c, names):
    """Seconds to GET every name at once (one curl each, client namespace)."""
    t0 = time.monotonic()
    procs = [c.lab.popen("client", ["curl", "-sfL", "-o", "/dev/null",
                                    "%s/v1/objects/%s/%s" % (c.url, BUCKET, n)]) for n in names]
    bad = [p.wait() for p in procs]
    dt = time.monotonic() - t0
    if any(bad):
        raise RuntimeError("GET failed: curl exit codes %s" % bad)
    return dt


def curl_read(c, name):
    t0 = time.monotonic()
    r = c.lab.run("client", ["curl", "-sfL", "-o", "/dev/null",
                             "%s/v1/objects/%s/%s" % (c.url, BUCKET, name)])
    if r.returncode != 0:
        raise RuntimeError("curl GET failed: %d" % r.returncode)
    return time.monotonic() - t0


def fs_read(c, name):
    mnt = c.mount("client", "direct_io")
    try:
        t0 = time.monotonic()
        r = c.lab.run("client", ["dd", "if=" + os.path.join(mnt, BUCKET, name), "of=/dev/null",
                                 "bs=1M"], shared_mounts=True, stderr=subprocess.PIPE)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError("dd failed: %s" % r.stderr.decode(errors="replace"))
        return dt
    finally:
        c.unmount_all()


def main():
    why = skip_reason()
    if why:
        sys.exit("bench-netns: " + why)
    c = NetnsCluster(rate=RATE, prefix="aisle-nb")
    try:
        c.start_all()
        with c.lab.entered("client"):
            import requests
            r = requests.post(c.url + "/v1/buckets/" + BUCKET, json={"action": "create-bck"},
                              timeout=10)
            r.raise_for_status()
        # Loading: PUTs cross the capped links too; the objects get spread across the four.
        per = {t: names_on(t, OBJS_PER_TARGET, "agg") for t in TARGETS}
        for names in per.values():
            for n in names:
                put_object(c, n, OBJ_MB * MiB)
        big = names_on("t1", 1, "big")[0]
        put_object(c, big, BIG_MB * MiB)
        every = [n for names in per.values() for n in names]
        parallel_get(c, every)  # warms the targets' page caches: the links are what is measured

        one, four = [], []
        for i in range(RUNS):
            for label in (("one", "four") if i % 2 == 0 else ("four", "one")):
                if label == "one":
                    one.append(OBJS_PER_TARGET * OBJ_MB / parallel_get(c, per["t1"]))
                else:
                    four.append(len(every) * OBJ_MB / parallel_get(c, every))
        seq_curl, seq_fs = [], []
        for i in range(RUNS):
            for label in (("curl", "fs") if i % 2 == 0 else ("fs", "curl")):
                if label == "curl":
                    seq_curl.append(BIG_MB / curl_read(c, big))
                else:
                    seq_fs.append(BIG_MB / fs_read(c, big))
    finally:
        c.cleanup()

    m = statistics.median
    fmt = lambda xs: " / ".join("%.1f" % x for x in xs)  # noqa: E731
    agg, seq = m(four) / m(one), m(seq_fs) / m(seq_curl)
    print("## Network namespaces (issue #17) — %s\n" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print("`RATE=%d RUNS=%d OBJ_MB=%d OBJS_PER_TARGET=%d BIG_MB=%d bash bench/bench-netns.sh`. "
          "CPU: %s (%d cores, shared with the other work on the machine). Links: tbf at %.0f MiB/s "
          "each way on the proxy and every target; the client's unshaped.\n"
          % (RATE, RUNS, OBJ_MB, OBJS_PER_TARGET, BIG_MB, cpu_model(), os.cpu_count(), RATE / MiB))
    print("| measurement | MiB/s (median) | runs |")
    print("|---|---|---|")
    print("| GET, %d x %d MiB objects of 1 target, all at once | %.1f | %s |"
          % (OBJS_PER_TARGET, OBJ_MB, m(one), fmt(one)))
    print("| GET, %d x %d MiB objects of 4 targets, all at once | %.1f | %s |"
          % (len(every), OBJ_MB, m(four), fmt(four)))
    print("| curl -L, one %d MiB object | %.1f | %s |" % (BIG_MB, m(seq_curl), fmt(seq_curl)))
    print("| aisle-fs -o direct_io, dd bs=1M of it (fresh mount) | %.1f | %s |"
          % (m(seq_fs), fmt(seq_fs)))
    print("\nRatios: **4 targets / 1 = %.2fx** (target >= 3.6x); **aisle-fs / curl = %.2fx** "
          "(target >= 0.9x)." % (agg, seq))


if __name__ == "__main__":
    main()
