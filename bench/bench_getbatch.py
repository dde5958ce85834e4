"""GetBatch vs one GET per object (bench/bench-getbatch.sh): a proxy and three targets on
loopback; N objects of SIZE bytes; CLIENTS threads, each with its own keep-alive requests
Session. Baseline: GET /v1/objects/B/O through the proxy (301 to the owner, followed). GetBatch:
GET /v1/ml/moss/B with BATCH entries per request (streamed TAR, read with tarfile). With ETL=1
both sides go through a registered Python transform (upper-case): GET ?etl_name= per object vs
GetBatch with "etl_name" (Aisle extension). Prints JSON."""

import base64
import concurrent.futures
import json
import os
import statistics
import sys
import tarfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from test_cluster import Cluster, put_many  # noqa: E402

N = int(os.environ.get("N", "10000"))
SIZE = int(os.environ.get("SIZE", str(100 << 10)))
BATCH = int(os.environ.get("BATCH", "256"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
RUNS = int(os.environ.get("RUNS", "3"))
ETL = os.environ.get("ETL", "0") == "1"
ETL_CODE = "def transform(data):\n    return data.upper()\n"


def split(items, k):
    return [items[i::k] for i in range(k)]


def run_threads(fn, parts):
    with concurrent.futures.ThreadPoolExecutor(len(parts)) as ex:
        return sum(ex.map(fn, parts))


def main():
    c = Cluster(3)
    try:
        base = c.url
        requests.post(base + "/v1/buckets/bench", json={"action": "create-bck"}, timeout=60)
        names = ["obj-%06d" % i for i in range(N)]
        payload = os.urandom(SIZE)
        assert set(put_many(base, "bench", names, lambda n: payload)) == {200}
        q, extra = "", {}
        if ETL:
            msg = {"name": "bench-up", "runtime": "python3",
                   "code": base64.b64encode(ETL_CODE.encode()).decode()}
            r = requests.put(base + "/v1/etl", data=json.dumps(msg), timeout=120)
            assert r.status_code == 200, r.text
            q, extra = "?etl_name=bench-up", {"etl_name": "bench-up"}

        def per_object(part):
            s = requests.Session()
            n = 0
            for name in part:
                r = s.get(base + "/v1/objects/bench/" + name + q, timeout=60)
                assert r.status_code == 200 and len(r.content) == SIZE
                n += 1
            return n

        def batched(part):
            s = requests.Session()
            n = 0
            for i in range(0, len(part), BATCH):
                req = {"in": [{"objname": x} for x in part[i:i + BATCH]], "strm": True, **extra}
                r = s.get(base + "/v1/ml/moss/bench", json=req, stream=True, timeout=60)
                assert r.status_code == 200, r.text[:200]
                with tarfile.open(fileobj=r.raw, mode="r|") as tf:
                    for ti in tf:
                        assert len(tf.extractfile(ti).read()) == SIZE
                        n += 1
            return n

        res = {"get": [], "batch": []}
        parts = split(names, CLIENTS)
        for _ in range(RUNS):
            for key, fn in (("get", per_object), ("batch", batched)):
                t0 = time.monotonic()
                got = run_threads(fn, parts)
                dt = time.monotonic() - t0
                assert got == N
                res[key].append(N / dt)
        out = {k: {"runs": v, "median": statistics.median(v)} for k, v in res.items()}
        out["ratio"] = out["batch"]["median"] / out["get"]["median"]
        out["params"] = {"N": N, "SIZE": SIZE, "BATCH": BATCH, "CLIENTS": CLIENTS, "RUNS": RUNS,
                         "ETL": ETL}
        print(json.dumps(out))
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
