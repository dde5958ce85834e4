#!/usr/bin/python3
"""Driver of bench-etcd.sh: the HA control plane (--etcd) against the embedded one.

- failover: kill -9 of the primary -> first successful bucket create through another proxy
  (ROUNDS times; the killed proxy is started again between rounds), median;
- metadata ops/s: sequential bucket creates and ETL registrations (builtin identity) through
  the primary, etcd vs embedded;
- 10 KiB PUT and GET throughput through a proxy (THREADS keep-alive clients), etcd vs
  embedded.
Prints one JSON object. Every process started here is killed at the end (aisle_testlib).
"""
import json
import os
import statistics
import sys
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import aisle_testlib as tl  # noqa: E402
import etcd_lib  # noqa: E402
import test_etcd_ha as ha  # noqa: E402
from test_cluster import Cluster  # noqa: E402
from bench_common import follow  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "5"))
N_META = int(os.environ.get("N_META", "100"))
SECONDS = float(os.environ.get("SECONDS_IO", "5"))
THREADS = int(os.environ.get("THREADS", "8"))
BODY = os.urandom(10 * 1024)


def meta_rates(url, tag):
    s = requests.Session()
    t0 = time.monotonic()
    for i in range(N_META):
        r = s.post(url + "/v1/buckets/%s-%d" % (tag, i), json={"action": "create-bck"}, timeout=30)
        assert r.status_code == 200, r.text
    buckets = N_META / (time.monotonic() - t0)
    t0 = time.monotonic()
    for i in range(N_META):
        r = s.put(url + "/v1/etl", data=json.dumps({"name": "%s-e%d" % (tag, i),
                                                      "builtin": "identity"}), timeout=60)
        assert r.status_code == 200, r.text
    etls = N_META / (time.monotonic() - t0)
    return buckets, etls


def io_rates(url, bucket):
    netloc = url.split("//", 1)[1]
    names = ["o%05d" % i for i in range(2000)]
    out = {}
    for method in ("PUT", "GET"):
        stop = time.monotonic() + SECONDS
        counts = [0] * THREADS

        def worker(k):
            conns, i = {}, k
            while time.monotonic() < stop:
                path = "/v1/objects/%s/%s" % (bucket, names[i % len(names)])
                st, _ = follow(conns, netloc, method, path, BODY if method == "PUT" else None)
                if st == 200:
                    counts[k] += 1
                i += THREADS

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        out[method] = sum(counts) / SECONDS
    return out


def run_etcd():
    C = ha.EtcdHaTest
    C.setUpClass()
    try:
        prim = C.primary()
        res = {"buckets_s": None}
        res["buckets_s"], res["etl_s"] = meta_rates(prim.url, "m")
        other = next(p for p in C.proxies if p is not prim)
        requests.post(other.bck_url("io"), json={"action": "create-bck"}, timeout=10)
        res["io"] = io_rates(other.url, "io")
        times = []
        for rnd in range(ROUNDS):
            prim = C.primary()
            others = [p for p in C.proxies if p is not prim]
            prim.kill9()
            t0 = time.monotonic()
            i = 0
            while True:
                try:
                    r = ha.create_bucket(others[i % 2], "fo-%d-%d" % (rnd, i), timeout=10)
                    if r.status_code in (200, 409):
                        break
                except requests.RequestException:
                    pass
                i += 1
                time.sleep(0.02)
            times.append(time.monotonic() - t0)
            prim.start()
            C.wait_for(lambda: C.primary() is not None and C.settled(3, 3), "settled", 30)
        res["failover_s"] = times
        res["failover_median_s"] = statistics.median(times)
        return res
    finally:
        C.tearDownClass()


def run_embedded():
    c = Cluster(3)
    try:
        res = {}
        res["buckets_s"], res["etl_s"] = meta_rates(c.url, "m")
        requests.post(c.url + "/v1/buckets/io", json={"action": "create-bck"}, timeout=10)
        res["io"] = io_rates(c.url, "io")
        return res
    finally:
        c.cleanup()


def main():
    emb = run_embedded()
    etc = run_etcd()
    out = {"embedded": emb, "etcd": etc,
           "ratio_buckets": etc["buckets_s"] / emb["buckets_s"],
           "ratio_etl": etc["etl_s"] / emb["etl_s"],
           "ratio_put": etc["io"]["PUT"] / emb["io"]["PUT"],
           "ratio_get": etc["io"]["GET"] / emb["io"]["GET"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
