#!/usr/bin/python3
"""Object index benchmark (issue #24): N empty objects on one target, written straight in the
object format (index_bench create), then
  - the first start of the new node on that data dir (it builds its index once: migration),
  - restarts of the new node and of today's node (AISLE_OLD_NODE, the in-memory index) to
    ready, RSS at ready and after one full listing over HTTP, the listing rate,
  - the engine in-process (index_bench open): open time, listing rate, small PUT/GET,
  - small PUT/GET over HTTP on both nodes (one keep-alive stream, 10 KiB).
Usage: bench_index.py BUILD_DIR N [N ...]; prints a markdown table. AISLE_OLD_NODE: an
aisle-node built from the commit before the index (94755f3), e.g.
  git archive 94755f3 | tar -x -C OLD && cd OLD && AISLE_TARGETS=aisle-node scripts/build.sh
BENCH_DIR: where the data directory goes (default /tmp)."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
NEW = os.path.join(BUILD, "server", "aisle-node")
OLD = os.environ.get("AISLE_OLD_NODE", "/work/main/build/server/aisle-node")
TOOL = os.path.join(BUILD, "bench", "index_bench")


def rss_mib(pid, field="VmRSS:"):
    """RSS in MiB; field RssAnon: (heap) or RssFile: (mapped files: the index, reclaimable)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    return 0.0


def start(binary, mp, workdir):
    ready = os.path.join(workdir, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(os.path.join(workdir, "node.log"), "ab")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "--role", "target", "--port", "0", "--host", "127.0.0.1",
                          "--mountpath", mp, "--ready-file", ready], stdout=log,
                         stderr=subprocess.STDOUT, cwd=workdir)
    while True:
        if os.path.exists(ready) and open(ready).read().strip():
            break
        if p.poll() is not None:
            raise RuntimeError("node exited; see %s/node.log" % workdir)
        time.sleep(0.01)
    url = open(ready).read().strip()
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=600)
    while True:  # healthy = answers its health endpoint
        try:
            c.request("GET", "/v1/health")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                break
        except OSError:
            c.close()
            c = http.client.HTTPConnection(host, int(port), timeout=600)
        time.sleep(0.01)
    return p, c, time.monotonic() - t0


def stop(p):
    p.terminate()
    p.wait(120)


def list_all(c, pagesize=10000):
    token, n, t0 = "", 0, time.monotonic()
    while True:
        body = json.dumps({"action": "list", "value": {"pagesize": pagesize,
                                                       "continuation_token": token}})
        c.request("GET", "/v1/buckets/b", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        res = json.loads(r.read())
        n += len(res["entries"])
        token = res["continuation_token"]
        if not token:
            return n, time.monotonic() - t0


def small_ops(c, n=1000):
    data = os.urandom(10 * 1024)
    t0 = time.monotonic()
    for i in range(n):
        c.request("PUT", "/v1/objects/b/small/%d" % i, body=data)
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    put = n / (time.monotonic() - t0)
    t0 = time.monotonic()
    for i in range(n):
        c.request("GET", "/v1/objects/b/small/%d" % i)
        r = c.getresponse()
        r.read()
        assert r.status == 200
    return put, n / (time.monotonic() - t0)


def parallel_puts(c, threads=4, n=250):
    import threading
    host, port = c.host, c.port
    data = os.urandom(10 * 1024)

    def run(t):
        cc = http.client.HTTPConnection(host, port, timeout=600)
        for i in range(n):
            cc.request("PUT", "/v1/objects/b/par/%d/%d" % (t, i), body=data)
            r = cc.getresponse()
            r.read()
        cc.close()
    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return threads * n / (time.monotonic() - t0)


def node_round(binary, mp, work):
    os.sync()  # no writeback of earlier phases inside this one's fsyncs
    load = os.getloadavg()[0]  # a shared machine: other agents' builds
    p, c, ready_s = start(binary, mp, work)
    rss_ready = rss_mib(p.pid)
    n, list_s = list_all(c)
    rss_list = rss_mib(p.pid)
    anon, filemap = rss_mib(p.pid, "RssAnon:"), rss_mib(p.pid, "RssFile:")
    put, get = small_ops(c)
    par = parallel_puts(c)
    stop(p)
    return {"ready_s": ready_s, "rss_ready": rss_ready, "listed": n, "list_rate": n / list_s,
            "rss_list": rss_list, "anon": anon, "file": filemap, "put": put, "get": get,
            "par_put": par, "load": load}


def main():
    rows = []
    for n in [int(a) for a in sys.argv[2:]]:
        work = tempfile.mkdtemp(prefix="aisle-idxbench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
        mp = os.path.join(work, "mp")
        try:
            created = json.loads(subprocess.check_output([TOOL, "create", mp, str(n)]).splitlines()[-1])
            os.sync()
            p, c, build_s = start(NEW, mp, work)  # first start: builds the index once
            stop(p)
            new = node_round(NEW, mp, work)
            new2 = node_round(NEW, mp, work)  # a second restart: flat?
            # the engine before today's node: that one writes files the index would not know
            eng = json.loads(subprocess.check_output([TOOL, "open", mp]).splitlines()[-1])
            old = node_round(OLD, mp, work) if os.path.exists(OLD) else None
            eng["index_mib"] = os.path.getsize(os.path.join(mp, ".aisle", "index", "data.mdb")) / 2**20
            rows.append((n, created, build_s, new, new2, old, eng))
            sys.stderr.write(json.dumps(rows[-1]) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("| objects | first start (index build) | restart to healthy new / old | RSS at ready new / old (MiB) "
          "| RSS after full HTTP listing new / old (MiB) | HTTP listing new / old (obj/s) "
          "| engine: open, listing (obj/s), RSS after listing | small PUT new/old | small GET new/old "
          "| 4-stream small PUT new/old |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, created, build_s, new, new2, old, eng in rows:
        o = old or {k: float("nan") for k in new}
        print("| %d | %.1f s | %.2f s (again %.2f s) / %.2f s | %.0f / %.0f | %.0f / %.0f | %.0fk / %.0fk "
              "| %.3f s, %.0fk, %.0f MiB | %.0f / %.0f /s (%.2fx) | %.0f / %.0f /s (%.2fx) "
              "| %.0f / %.0f /s (%.2fx) |"
              % (n, build_s, new["ready_s"], new2["ready_s"], o["ready_s"], new["rss_ready"],
                 o["rss_ready"], new["rss_list"], o["rss_list"], new["list_rate"] / 1e3,
                 o["list_rate"] / 1e3, eng["open_s"], eng["list_per_s"] / 1e3, eng["rss_list_mib"],
                 new["put"], o["put"], new["put"] / o["put"], new["get"], o["get"],
                 new["get"] / o["get"], new["par_put"], o["par_put"],
                 new["par_put"] / o["par_put"]))
        print("RSS after listing, heap (RssAnon) / mapped files (RssFile), MiB: new %.0f / %.0f, "
              "old %.0f / %.0f; load average at the rounds: new %.1f, %.1f, old %.1f"
              % (new["anon"], new["file"], o["anon"], o["file"], new["load"], new2["load"],
                 o["load"]))


if __name__ == "__main__":
    main()
