"""copy-listrange vs a client copying object by object (bench/bench-listrange.sh): a proxy and
three targets on loopback; N objects of SIZE bytes. Three ways to copy the same objects into a
fresh bucket, each timed to the end of the copy:
  - copy-listrange with a template ("obj-{000000..N-1}"), waited for with the job query;
  - CLIENTS Python threads (keep-alive requests sessions), one GET and one PUT per object
    through the proxy (what a client without multi-object operations does);
  - copy-bck with a prefix (the whole-bucket job, the same objects).
Prints JSON (objects/s per run, medians, ratios)."""

import concurrent.futures
import json
import os
import statistics
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from test_cluster import Cluster, put_many  # noqa: E402

N = int(os.environ.get("N", "2000"))
SIZE = int(os.environ.get("SIZE", "4096"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
RUNS = int(os.environ.get("RUNS", "5"))


def wait(base, jid):
    while True:
        r = requests.get(base + "/v1/cluster", params={"what": "status"}, json={"ID": jid},
                         timeout=60)
        st = r.json()
        if st["end_time"]:
            assert st["err"] == "", st
            return
        time.sleep(0.01)


def count(base, b):
    r = requests.get(base + "/v1/buckets/" + b,
                     data=json.dumps({"action": "list", "value": {"props": "name"}}), timeout=60)
    return len(r.json()["entries"] or [])


def main():
    c = Cluster(3)
    try:
        base = c.url
        requests.post(base + "/v1/buckets/src", json={"action": "create-bck"}, timeout=60)
        names = ["obj-%06d" % i for i in range(N)]
        payload = os.urandom(SIZE)
        assert set(put_many(base, "src", names, lambda n: payload)) == {200}
        res = {"listrange": [], "client": [], "copy_bck": []}
        for run in range(RUNS):
            dst = "lr%d" % run
            t0 = time.monotonic()
            r = requests.post(base + "/v1/buckets/src",
                              json={"action": "copy-listrange",
                                    "value": {"template": "obj-{000000..%06d}" % (N - 1),
                                              "tobck": {"name": dst, "provider": "ais"},
                                              "coer": False}}, timeout=60)
            assert r.status_code == 200, r.text
            wait(base, r.text)
            res["listrange"].append(N / (time.monotonic() - t0))
            assert count(base, dst) == N

            dst = "cl%d" % run
            requests.post(base + "/v1/buckets/" + dst, json={"action": "create-bck"}, timeout=60)

            def copy_part(part, dst=dst):
                s = requests.Session()
                for n in part:
                    g = s.get(base + "/v1/objects/src/" + n, timeout=60)
                    assert g.status_code == 200
                    p = s.put(base + "/v1/objects/%s/%s" % (dst, n), data=g.content, timeout=60)
                    assert p.status_code == 200, p.text
                return len(part)

            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
                assert sum(ex.map(copy_part, [names[i::CLIENTS] for i in range(CLIENTS)])) == N
            res["client"].append(N / (time.monotonic() - t0))

            dst = "cb%d" % run
            t0 = time.monotonic()
            r = requests.post(base + "/v1/buckets/src", params={"bck_to": dst},
                              json={"action": "copy-bck", "value": {"prefix": "obj-"}}, timeout=60)
            assert r.status_code == 200, r.text
            wait(base, r.text)
            res["copy_bck"].append(N / (time.monotonic() - t0))
            assert count(base, dst) == N
        med = {k: statistics.median(v) for k, v in res.items()}
        print(json.dumps({"params": {"N": N, "SIZE": SIZE, "CLIENTS": CLIENTS, "RUNS": RUNS},
                          "runs": res, "median": med,
                          "ratio_client": med["listrange"] / med["client"],
                          "ratio_copy_bck": med["listrange"] / med["copy_bck"]}))
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
