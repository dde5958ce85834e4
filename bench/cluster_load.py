#!/usr/bin/python3
"""Load generator for bench-cluster.sh: GETs objects through a proxy (following its redirect
to the owning target, as AIStore clients do) or directly from the owner (HRW computed here),
over keep-alive connections, and prints throughput as JSON.

usage: cluster_load.py ENDPOINT BUCKET PREFIX COUNT SECONDS THREADS {proxy|direct}
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import aisle_testlib as tl  # noqa: E402  (hrw_owner)
from bench_common import follow  # noqa: E402

def main():
    endpoint, bucket, prefix, count, seconds, threads, mode = sys.argv[1:8]
    count, seconds, threads = int(count), float(seconds), int(threads)
    names = ["%s%05d" % (prefix, i) for i in range(count)]
    owners = {}
    if mode == "direct":
        c = http.client.HTTPConnection(urllib.parse.urlsplit(endpoint).netloc)
        c.request("GET", "/v1/daemon?what=smap")
        smap = json.loads(c.getresponse().read())
        tids = {tid: n["public_net"]["direct_url"] for tid, n in smap["tmap"].items()}
        for n in names:
            owners[n] = urllib.parse.urlsplit(tids[tl.hrw_owner(list(tids), bucket, n)]).netloc
    proxy = urllib.parse.urlsplit(endpoint).netloc
    stop = time.monotonic() + seconds
    totals = {"bytes": 0, "gets": 0, "errors": 0}
    lock = threading.Lock()

    def worker(k):
        conns = {}
        i, nbytes, ngets, nerr = k, 0, 0, 0
        while time.monotonic() < stop:
            name = names[i % len(names)]
            i += threads
            path = "/v1/objects/%s/%s" % (bucket, name)
            netloc = owners[name] if mode == "direct" else proxy
            try:
                status, body = follow(conns, netloc, "GET", path, timeout=30)
                if status == 200:
                    nbytes += len(body)
                    ngets += 1
                else:
                    nerr += 1
            except (OSError, http.client.HTTPException):
                nerr += 1
                conns.clear()
        with lock:
            totals["bytes"] += nbytes
            totals["gets"] += ngets
            totals["errors"] += nerr

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    print(json.dumps({"mbps": totals["bytes"] / dt / 1e6, "gets_per_s": totals["gets"] / dt,
                      "errors": totals["errors"]}))


if __name__ == "__main__":
    main()
