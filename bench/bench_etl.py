#!/usr/bin/python3
"""Helpers for bench/bench-etl.sh.

  populate URL BUCKET PREFIX COUNT SIZE        PUT COUNT objects PREFIX%05d of SIZE bytes
  load URL BUCKET PREFIX COUNT THREADS SECONDS [ETL [EXPECT_LEN]]
        GETs through the proxy (following its redirect to the owner, keep-alive connections,
        THREADS threads cycling over the objects) for SECONDS; with ETL adds ?etl_name=ETL.
        EXPECT_LEN: every body must have this length (else it counts as an error).
        Prints JSON {"objs_per_s", "mb_per_s", "gets", "errors", "first_error"}.
  wrk URL BUCKET PREFIX COUNT CONNS SECONDS [ETL]
        The same GETs with wrk (C client): the owner of each object is computed here (HRW,
        tests/integration/aisle_testlib.py) and one wrk per target cycles over its objects,
        CONNS connections split over the targets. Prints the same JSON (errors = non-2xx).
  count URL BUCKET                              number of objects in the bucket
  clientloop CLI SRC_BUCKET PREFIX DST_BUCKET FUNC_FILE TMPDIR
        What a user writes without server-side ETL: list the objects, then for each one
        `aisle object get` it to a file, transform it with FUNC_FILE's transform() in this
        (one, persistent) Python process, and `aisle object put` the result. Prints seconds.
  transform-dir FUNC_FILE DIR                   transform() every file under DIR in place
  stats V...                                    "median min max"
"""
import http.client
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from bench_common import follow, run_workers


def _conn(netloc, timeout=60):
    return http.client.HTTPConnection(netloc, timeout=timeout)


def _netloc(url):
    return urllib.parse.urlsplit(url).netloc


def populate(url, bucket, prefix, count, size, conns=16):
    c = _conn(_netloc(url))
    c.request("POST", "/v1/buckets/" + bucket, body=json.dumps({"action": "create-bck"}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status not in (200, 409):
        sys.exit("create bucket %s: %d" % (bucket, r.status))
    blob = os.urandom(size + 4096)
    errors = []

    def worker(k):
        conns_ = {}
        for i in range(k, count, conns):
            path = "/v1/objects/%s/%s%05d" % (bucket, prefix, i)
            data = blob[i % 4096:i % 4096 + size]
            status, body = follow(conns_, _netloc(url), "PUT", path, data)
            if status != 200:
                errors.append("PUT %s: %d %r" % (path, status, body[:200]))
                return

    run_workers(worker, conns, errors)


def load(url, bucket, prefix, count, threads, seconds, etl=None, expect_len=None):
    names = ["%s%05d" % (prefix, i) for i in range(count)]
    query = ("?etl_name=" + urllib.parse.quote(etl)) if etl else ""
    proxy = _netloc(url)
    stop = time.monotonic() + seconds
    totals = {"bytes": 0, "gets": 0, "errors": 0, "first_error": ""}
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)

    def worker(k):
        conns = {}
        i, nbytes, ngets, nerr, first = k * 7919, 0, 0, 0, ""
        start.wait()
        while time.monotonic() < stop:
            name = names[i % len(names)]
            i += 1
            path = "/v1/objects/%s/%s%s" % (bucket, name, query)
            try:
                status, body = follow(conns, proxy, "GET", path)
                if status == 200 and (expect_len is None or len(body) == expect_len):
                    nbytes += len(body)
                    ngets += 1
                else:
                    nerr += 1
                    if not first:
                        first = "%s: HTTP %d, %d bytes: %r" % (name, status, len(body), body[:300])
            except (OSError, http.client.HTTPException) as e:
                nerr += 1
                if not first:
                    first = "%s: %s" % (name, e)
                for c in conns.values():
                    c.close()
                conns.clear()
        with lock:
            totals["bytes"] += nbytes
            totals["gets"] += ngets
            totals["errors"] += nerr
            totals["first_error"] = totals["first_error"] or first

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    print(json.dumps({"objs_per_s": round(totals["gets"] / dt, 1), "mb_per_s": round(totals["bytes"] / dt / 1e6, 1),
                      "gets": totals["gets"], "errors": totals["errors"],
                      "first_error": totals["first_error"]}))


def run_wrk(url, bucket, prefix, count, conns, seconds, etl=None):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
    import aisle_testlib as tl
    c = _conn(_netloc(url))
    c.request("GET", "/v1/daemon?what=smap")
    smap = json.loads(c.getresponse().read())
    tids = {tid: n["public_net"]["direct_url"] for tid, n in smap["tmap"].items()}
    per = {tid: [] for tid in tids}
    query = ("?etl_name=" + urllib.parse.quote(etl)) if etl else ""
    for i in range(count):
        name = "%s%05d" % (prefix, i)
        per[tl.hrw_owner(list(tids), bucket, name)].append("/v1/objects/%s/%s%s" % (bucket, name, query))
    d = tempfile.mkdtemp(prefix="wrk-", dir=os.environ.get("BENCH_WORK", "/tmp"))
    procs = []
    active = [t for t in tids if per[t]]
    for k, tid in enumerate(active):
        lua = os.path.join(d, "%d.lua" % k)
        with open(lua, "w") as f:
            f.write("paths = {%s}\n" % ",".join('"%s"' % p for p in per[tid]))
            f.write("local i = 0\nrequest = function()\n  i = i + 1\n"
                    "  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
        n = max(1, round(conns * len(per[tid]) / count))
        procs.append(subprocess.Popen(["wrk", "-t1", "-c%d" % n, "-d%ds" % max(1, int(seconds)), "-s", lua,
                                       tids[tid]], stdout=subprocess.PIPE, text=True))
    rps, mbs, gets, errs = 0.0, 0.0, 0, 0
    for p in procs:
        out = p.communicate()[0]
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        rps += float(m.group(1)) if m else 0.0
        m = re.search(r"(\d+) requests in", out)
        gets += int(m.group(1)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        errs += int(m.group(1)) if m else 0
        m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
        if m:
            mbs += float(m.group(1)) * {"B": 1e-6, "KB": 1.024e-3, "MB": 1.048576, "GB": 1073.741824}.get(m.group(2), 0)
    shutil.rmtree(d, ignore_errors=True)
    ok_rps = rps * (gets - errs) / gets if gets else 0.0
    print(json.dumps({"objs_per_s": round(ok_rps, 1), "mb_per_s": round(mbs, 1), "gets": gets, "errors": errs,
                      "first_error": "%d non-2xx responses" % errs if errs else ""}))


def list_names(url, bucket, prefix=""):
    c = _conn(_netloc(url))
    names, token = [], ""
    while True:
        msg = {"action": "list", "value": {"prefix": prefix, "continuation_token": token}}
        c.request("GET", "/v1/buckets/" + bucket, body=json.dumps(msg),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("list %s: %d %r" % (bucket, r.status, body[:200]))
        j = json.loads(body)
        names += [e["name"] for e in (j.get("entries") or [])]
        token = j.get("continuation_token", "")
        if not token:
            return names


def load_func(path, name="transform"):
    spec = importlib.util.spec_from_file_location("user_transform", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def clientloop(cli, src, prefix, dst, func_file, tmpdir):
    fn = load_func(func_file)
    t0 = time.monotonic()
    # `aisle object ls` is what the user has; parse its NAME column.
    out = subprocess.run([cli, "object", "ls", "ais://%s/%s" % (src, prefix)], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    names = [l.split()[0] for l in out[1:] if l.strip()]
    inp, outp = os.path.join(tmpdir, "in.bin"), os.path.join(tmpdir, "out.bin")
    for n in names:
        subprocess.run([cli, "object", "get", "ais://%s/%s" % (src, n), inp], check=True,
                       stdout=subprocess.DEVNULL)
        with open(inp, "rb") as f:
            data = fn(f.read())
        with open(outp, "wb") as f:
            f.write(data)
        subprocess.run([cli, "object", "put", outp, "ais://%s/%s" % (dst, n)], check=True,
                       stdout=subprocess.DEVNULL)
    print("%.4f %d" % (time.monotonic() - t0, len(names)))


def transform_dir(func_file, d):
    fn = load_func(func_file)
    n = 0
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                data = fn(fh.read())
            with open(p, "wb") as fh:
                fh.write(data)
            n += 1
    print(n)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "populate":
        populate(a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "load":
        load(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]), a[6] if len(a) > 6 and a[6] else None,
             int(a[7]) if len(a) > 7 and a[7] else None)
    elif cmd == "wrk":
        run_wrk(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]), a[6] if len(a) > 6 and a[6] else None)
    elif cmd == "count":
        print(len(list_names(a[0], a[1])))
    elif cmd == "clientloop":
        clientloop(*a)
    elif cmd == "transform-dir":
        transform_dir(a[0], a[1])
    elif cmd == "stats":
        x = [float(v) for v in a]
        def fmt(v):
            return "%.0f" % v if abs(v) >= 1000 else "%.1f" % v if abs(v) >= 10 else "%.2f" % v
        print(" ".join(fmt(v) for v in (statistics.median(x), min(x), max(x))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
