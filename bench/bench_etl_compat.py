#!/usr/bin/python3
"""AIStore-SDK-shaped ETL benchmarks (run by bench/bench-etl-compat.sh), on a real cluster of
1 proxy + TARGETS targets on 127.0.0.1 (tests/integration/test_cluster.Cluster):

1. inline: an Etl.init_class ETL (ETL_CLASS_PAYLOAD, cloudpickle of an ETLServer subclass whose
   transform upper-cases) vs the same function as init-code (hpush://, transform(data)): GET
   ?etl_name= objects/s with THREADS keep-alive clients through the proxy, DUR s per run; each
   class run paired with an init-code run (alternating order); ratio = median of the paired
   ratios. Target >= 0.9x.
2. offline: one etl-bck job with TCBMsg {"id": "gunzip", "pipeline": ["md5"]} (built-ins
   decompress, then md5) vs two etl-bck jobs in sequence (gunzip into an intermediate bucket,
   then md5 of that), N_OFF gzip objects of OFF_KB KiB (decompressed); wall seconds from the
   POST to the end of the (last) job; ratio = two jobs / pipeline (> 1: the pipeline wins).
   Target >= 1.5x.
3. direct put: one etl-bck job through a 2-stage pipeline of hpush programs shaped like the
   SDK's webservers (upper-case, then reverse), N_DP objects of DP_KB KiB, once with
   "support_direct_put": true (the first program forwards to the second with Ais-Node-Url,
   which puts each result at the destination's owner) and once without (each program returns
   its result to the target, which calls the next and writes the last); ratio = returned /
   forwarded wall seconds (> 1: direct put wins).

PARTS (inline,offline,directput) picks the parts. Prints one JSON object with every run and the medians.
"""

import base64
import gzip
import http.client
import json
import os
import statistics
import sys
import threading
import time
import types
import abc
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402
from test_etl_direct_put import SDK_STYLE_SERVER  # noqa: E402

sys.path.insert(0, HERE)
from bench_common import etl_bck_job, etl_init, rm_bucket  # noqa: E402

import cloudpickle  # noqa: E402
import requests  # noqa: E402

RUNS = int(os.environ.get("RUNS", "5"))
TARGETS = int(os.environ.get("TARGETS", "2"))
DUR = float(os.environ.get("DUR", "4"))
THREADS = int(os.environ.get("THREADS", "8"))
N_OBJ = int(os.environ.get("N_OBJ", "200"))
OBJ_KB = int(os.environ.get("OBJ_KB", "64"))
N_OFF = int(os.environ.get("N_OFF", "1000"))
OFF_KB = int(os.environ.get("OFF_KB", "64"))
N_DP = int(os.environ.get("N_DP", "500"))
DP_KB = int(os.environ.get("DP_KB", "256"))
PARTS = os.environ.get("PARTS", "inline,offline,directput").split(",")

# The SDK's base classes by module path (the aistore package is not installed here), so the
# user class pickles as one written against the SDK does.
for _n in ("aistore", "aistore.sdk", "aistore.sdk.etl", "aistore.sdk.etl.webserver",
           "aistore.sdk.etl.webserver.base_etl_server", "aistore.sdk.etl.webserver.fastapi_server"):
    sys.modules[_n] = types.ModuleType(_n)
    sys.modules[_n].__path__ = []


class ETLServer(abc.ABC):
    def __init__(self):
        self.host_target = os.getenv("AIS_TARGET_URL")

    @abc.abstractmethod
    def transform(self, data, path, etl_args):
        pass


class FastAPIServer(ETLServer):
    def __init__(self, host="0.0.0.0", port=8000):
        super().__init__()


ETLServer.__module__ = "aistore.sdk.etl.webserver.base_etl_server"
FastAPIServer.__module__ = "aistore.sdk.etl.webserver.fastapi_server"
sys.modules[ETLServer.__module__].ETLServer = ETLServer
sys.modules[FastAPIServer.__module__].FastAPIServer = FastAPIServer


class UpperServer(FastAPIServer):
    def transform(self, data, path, etl_args):
        return data.upper()


CODE = "def transform(data):\n    return data.upper()\n"


def load(url, bucket, names, etl, seconds):
    """GETs ?etl_name=etl over names for `seconds` with THREADS keep-alive clients (following
    the proxy's redirect); objects/s."""
    stop = time.time() + seconds
    counts = [0] * THREADS
    errors = []
    base = urllib.parse.urlsplit(url)

    def worker(k):
        conns = {}
        i = k
        while time.time() < stop:
            path = "/v1/objects/%s/%s?etl_name=%s" % (bucket, names[i % len(names)], etl)
            netloc = base.netloc
            for _ in range(3):
                c = conns.get(netloc) or http.client.HTTPConnection(netloc, timeout=60)
                conns[netloc] = c
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                if r.status in (301, 302, 307):
                    loc = urllib.parse.urlsplit(r.getheader("Location"))
                    netloc, path = loc.netloc, loc.path + ("?" + loc.query if loc.query else "")
                    continue
                break
            if r.status != 200 or len(body) != OBJ_KB * 1024:
                errors.append("%d %s" % (r.status, body[:200]))
                return
            counts[k] += 1
            i += THREADS

    t0 = time.time()
    ths = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        raise SystemExit("load %s: %s" % (etl, errors[0]))
    return sum(counts) / (time.time() - t0)


def inline_part(s, url, out):
    s.post(url + "/v1/buckets/obj", json={"action": "create-bck"}, timeout=30)
    names = ["o/%05d" % i for i in range(N_OBJ)]
    blob = (b"lower case text " * (OBJ_KB * 64))[:OBJ_KB * 1024]
    put_many(url, "obj", names, lambda n: blob)
    payload = base64.b64encode(cloudpickle.dumps(UpperServer)).decode()
    etl_init(s, url, {"name": "cls-upper", "communication": "hpush://", "init_timeout": "5m",
                      "obj_timeout": "45s", "support_direct_put": True,
                      "runtime": {"image": "aistorage/runtime_python:3.11",
                                  "env": [{"name": "ETL_CLASS_PAYLOAD", "value": payload}]}})
    etl_init(s, url, {"name": "code-upper", "communication": "hpush://", "runtime": "python3",
                      "code": base64.b64encode(CODE.encode()).decode(),
                      "funcs": {"transform": "transform"}})
    for e in ("cls-upper", "code-upper"):  # warm-up
        load(url, "obj", names, e, 1.0)
    cls_runs, code_runs, ratios = [], [], []
    for r in range(RUNS):
        order = ("cls-upper", "code-upper") if r % 2 == 0 else ("code-upper", "cls-upper")
        v = {e: load(url, "obj", names, e, DUR) for e in order}
        cls_runs.append(v["cls-upper"])
        code_runs.append(v["code-upper"])
        ratios.append(v["cls-upper"] / v["code-upper"])
        print("inline run %d: class %.0f/s, init-code %.0f/s" % (r + 1, v["cls-upper"],
                                                               v["code-upper"]),
              file=sys.stderr)
    out["inline"] = {"class_objs_per_s": cls_runs, "code_objs_per_s": code_runs,
                     "ratios": ratios, "ratio_median": statistics.median(ratios)}


def offline_part(s, url, out):
    etl_init(s, url, {"name": "gunzip", "builtin": "decompress", "args": "format=gz"})
    etl_init(s, url, {"name": "md5", "builtin": "md5"})
    s.post(url + "/v1/buckets/gzsrc", json={"action": "create-bck"}, timeout=30)
    off_names = ["g/%05d.gz" % i for i in range(N_OFF)]

    def gz_of(n):
        raw = (("%s " % n) * (OFF_KB * 1024 // (len(n) + 1) + 1)).encode()[:OFF_KB * 1024]
        return gzip.compress(raw, compresslevel=6)

    put_many(url, "gzsrc", off_names, gz_of)
    pipe_runs, two_runs, off_ratios = [], [], []
    for r in range(RUNS):
        def pipeline():
            t0 = time.time()
            etl_bck_job(s, url, "gzsrc", "pipe-%d" % r, "gunzip", ["md5"])
            return time.time() - t0

        def two_jobs():
            t0 = time.time()
            etl_bck_job(s, url, "gzsrc", "mid-%d" % r, "gunzip")
            etl_bck_job(s, url, "mid-%d" % r, "two-%d" % r, "md5")
            return time.time() - t0

        if r % 2 == 0:
            p, t = pipeline(), two_jobs()
        else:
            t, p = two_jobs(), pipeline()
        for b in ("pipe-%d" % r, "mid-%d" % r, "two-%d" % r):
            rm_bucket(s, url, b)
        pipe_runs.append(p)
        two_runs.append(t)
        off_ratios.append(t / p)
        print("offline run %d: pipeline %.2fs, two jobs %.2fs" % (r + 1, p, t), file=sys.stderr)
    out["offline"] = {"pipeline_s": pipe_runs, "two_jobs_s": two_runs, "ratios": off_ratios,
                      "ratio_median": statistics.median(off_ratios)}


def directput_part(s, url, out):
    # The programs run as the sandboxed ETL user: their file must be readable by it.
    tmp = tl.make_tmpdir("aisle-bench-dp-")
    os.chmod(tmp, 0o755)
    prog = os.path.join(tmp, "sdk_style_server.py")
    with open(prog, "w") as f:
        f.write(SDK_STYLE_SERVER)
    for mode in ("upper", "rev"):
        for dp in (True, False):
            etl_init(s, url, {"name": "%s-%s" % (mode, "dp" if dp else "ret"),
                              "communication": "hpush://", "init_timeout": "1m",
                              "obj_timeout": "45s", "support_direct_put": dp,
                              "runtime": {"image": "python:3",
                                          "command": ["/usr/bin/python3", prog, mode]}})
    s.post(url + "/v1/buckets/dpsrc", json={"action": "create-bck"}, timeout=30)
    blob = (b"lower case text " * (DP_KB * 64))[:DP_KB * 1024]
    put_many(url, "dpsrc", ["d/%05d" % i for i in range(N_DP)], lambda n: blob)
    fwd_runs, ret_runs, ratios = [], [], []
    for r in range(RUNS):
        def job(kind):
            t0 = time.time()
            etl_bck_job(s, url, "dpsrc", "dp-%s-%d" % (kind, r), "upper-" + kind, ["rev-" + kind])
            rm_bucket(s, url, "dp-%s-%d" % (kind, r))
            return time.time() - t0

        if r % 2 == 0:
            f, t = job("dp"), job("ret")
        else:
            t, f = job("ret"), job("dp")
        fwd_runs.append(f)
        ret_runs.append(t)
        ratios.append(t / f)
        print("direct put run %d: forwarded %.2fs, returned %.2fs" % (r + 1, f, t),
              file=sys.stderr)
    out["directput"] = {"forwarded_s": fwd_runs, "returned_s": ret_runs, "ratios": ratios,
                        "ratio_median": statistics.median(ratios)}
    tl.remove_tmpdir(tmp)


def main():
    c = Cluster(TARGETS)
    out = {"cpu": "", "runs": RUNS}
    try:
        with open("/proc/cpuinfo") as f:
            out["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
        out["cores"] = os.cpu_count()
        url = c.url
        s = requests.Session()
        if "inline" in PARTS:
            inline_part(s, url, out)
        if "offline" in PARTS:
            offline_part(s, url, out)
        if "directput" in PARTS:
            directput_part(s, url, out)
        out["load_avg"] = open("/proc/loadavg").read().split()[:3]
    finally:
        c.cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
