"""Pieces the Python bench helpers share (stdlib only): redirect-following requests over
per-host keep-alive connections, and a worker-thread runner."""

import http.client
import sys
import threading
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
