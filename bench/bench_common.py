"""Pieces the Python bench helpers share (stdlib only): redirect-following requests over
per-host keep-alive connections, a worker-thread runner, and the ETL requests (given a
requests.Session) the ETL benches send."""

import http.client
import sys
import threading
import time
import urllib.parse


def follow(conns, netloc, method, path, body=None, timeout=60):
    """One request over keep-alive connections (one per host, kept in `conns`), following the
    proxy's 301/307 to the owner (3 hops at most). Returns (status, body)."""
    for _ in range(3):
        c = conns.get(netloc)
        if c is None:
            c = conns[netloc] = http.client.HTTPConnection(netloc, timeout=timeout)
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        if r.status in (301, 307):
            u = urllib.parse.urlsplit(r.getheader("Location"))
            netloc, path = u.netloc, u.path + ("?" + u.query if u.query else "")
            continue
        break
    return r.status, data


def run_workers(worker, n, errors):
    """Runs worker(0..n-1) in threads; exits with the first error any of them recorded."""
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(errors[0])


def etl_init(s, url, msg):
    """PUT /v1/etl (the init message as AIStore's SDK sends it); exits on failure."""
    r = s.put(url + "/v1/etl", json=msg, timeout=300)
    if r.status_code != 200:
        raise SystemExit("init %s: HTTP %d %s" % (msg["name"], r.status_code, r.text))


def etl_bck_job(s, url, src, dst, etl, pipeline=None):
    """One etl-bck job (TCBMsg {"id", "pipeline"}) to its end; exits when it failed."""
    value = {"id": etl, "prepend": "", "dry_run": False, "force": False}
    if pipeline:
        value["pipeline"] = pipeline
    r = s.post(url + "/v1/buckets/" + src, params={"bck_to": "ais/@#/%s/" % dst},
               json={"action": "etl-bck", "name": src, "value": value}, timeout=60)
    if r.status_code != 200:
        raise SystemExit("etl-bck: HTTP %d %s" % (r.status_code, r.text))
    job = r.text.strip()
    while True:
        st = s.get(url + "/v1/cluster", params={"what": "status"}, json={"id": job},
                   timeout=30).json()
        if st["end_time"]:
            if st["err"]:
                raise SystemExit("job %s: %s" % (job, st["err"]))
            return
        time.sleep(0.02)


def rm_bucket(s, url, b):
    s.delete(url + "/v1/buckets/" + b, json={"action": "destroy-bck"}, timeout=60)
