#!/usr/bin/python3
"""--log-format json: one JSON object per log line, request IDs and the access log.

A proxy and two targets log JSON; a PUT and a GET through the proxy (curl -L follows the
redirect) carry one request ID, echoed in Aisle-Request-Id, that both the proxy's and the
serving target's access lines show. Client-given IDs are kept when sane; bad --log-format
values are usage errors (exit 2).
"""

import json
import os
import subprocess
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

JSON_ARGS = ["--log-format", "json", "--keepalive-ms", "200"]


class Proxy(tl.Node):
    def __init__(self):
        super().__init__(n_mountpaths=0, extra_args=JSON_ARGS)

    def build_args(self, ready):
        return [self.binary, "--role", "proxy", "--port", "0", "--host", "127.0.0.1",
                "--data-dir", os.path.join(self.dir, "meta"), "--ready-file", ready] + self.extra_args


def log_records(node):
    """Every line of the node's log, each parsed as JSON (a non-JSON line fails the test)."""
    with open(node.log_path, "rb") as f:
        lines = f.read().decode("utf-8").splitlines()
    out = []
    for line in lines:
        if line.startswith("aisle-node: listening on "):
            continue  # the documented ready line on stdout (the test merges it into the log)
        rec = json.loads(line)  # raises on a non-JSON line
        for k in ("ts", "level", "node", "msg"):
            assert k in rec, "missing %r in %s" % (k, line)
        out.append(rec)
    return out


def curl_ids(args):
    """Runs curl -L -sS -D - -o /dev/null ARGS; returns the Aisle-Request-Id of each response."""
    r = subprocess.run(["curl", "-L", "-sS", "-D", "-", "-o", "/dev/null", "--max-time", "30"] + args,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ids, statuses = [], []
    for line in r.stdout.splitlines():
        if line.startswith("HTTP/"):
            code = int(line.split()[1])
            if code >= 200:  # not 100 Continue
                statuses.append(code)
        elif line.lower().startswith("aisle-request-id:"):
            ids.append(line.split(":", 1)[1].strip())
    return ids, statuses


class JsonLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy()
        cls.targets = []
        try:
            cls.proxy.start()
            for _ in range(2):
                t = tl.Node(extra_args=JSON_ARGS + ["--primary", cls.proxy.url])
                cls.targets.append(t)
                t.start()
            deadline = time.monotonic() + 15
            while True:
                sm = requests.get(cls.proxy.url + "/v1/daemon", params={"what": "smap"},
                                  timeout=10).json()
                if len(sm.get("tmap", {})) == 2:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("targets did not join: %s" % sm)
                time.sleep(0.1)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for t in cls.targets:
            t.cleanup()
        cls.proxy.cleanup()

    def access_lines(self, node, req_id):
        return [r for r in log_records(node) if r.get("req") == req_id and "status" in r]

    def test_put_get_through_proxy(self):
        p = self.proxy
        r = requests.post(p.url + "/v1/buckets/jl", json={"action": "create-bck"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        path = os.path.join(p.dir, "payload")
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
        for args, method in ((["-T", path], "PUT"), ([], "GET")):
            ids, statuses = curl_ids(args + [p.url + "/v1/objects/jl/obj1"])
            self.assertEqual(len(statuses), 2, (method, ids, statuses))
            self.assertIn(statuses[0], (301, 307), statuses)  # GET: 301, PUT: 307 (as AIS)
            self.assertEqual(statuses[1], 200, statuses)
            self.assertEqual(len(ids), 2, ids)
            self.assertEqual(ids[0], ids[1], "the target kept the proxy's request ID")
            rid = ids[0]
            time.sleep(0.2)  # the access line is written after the response
            plines = self.access_lines(p, rid)
            self.assertEqual(len(plines), 1, plines)
            self.assertEqual(plines[0]["method"], method)
            self.assertEqual(plines[0]["path"], "/v1/objects/jl/obj1")
            self.assertEqual(plines[0]["status"], statuses[0])
            self.assertEqual(plines[0]["level"], "info")
            tlines = [ln for t in self.targets for ln in self.access_lines(t, rid)]
            self.assertEqual(len(tlines), 1, tlines)
            self.assertEqual(tlines[0]["status"], 200)
            self.assertEqual(tlines[0]["method"], method)
            if method == "GET":
                self.assertEqual(tlines[0]["bytes"], 1000)
            self.assertIn("duration_ms", tlines[0])
        # Node names: the proxy's and targets' IDs, not one shared name.
        names = {r["node"] for r in log_records(p)}
        self.assertIn(requests.get(p.url + "/v1/daemon", params={"what": "snode"},
                                   timeout=10).json()["daemon_id"], names)

    def test_client_request_id(self):
        t = self.targets[0]
        r = requests.get(t.url + "/v1/health", headers={"X-Request-Id": "client-id.42"}, timeout=10)
        self.assertEqual(r.headers.get("Aisle-Request-Id"), "client-id.42")
        r = requests.get(t.url + "/v1/health", headers={"X-Request-Id": "bad id\"{}"}, timeout=10)
        rid = r.headers.get("Aisle-Request-Id")
        self.assertTrue(rid and rid != "bad id\"{}", rid)
        time.sleep(0.2)
        self.assertEqual(len(self.access_lines(t, "client-id.42")), 1)

    def test_daemon_log_is_json(self):
        r = requests.get(self.targets[0].url + "/v1/daemon", params={"what": "log"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        lines = [ln for ln in r.text.splitlines() if ln.strip()]
        self.assertTrue(lines)
        for ln in lines:
            self.assertIn("msg", json.loads(ln))


class BadLogFormatTest(unittest.TestCase):
    def test_bad_flag_and_config_value(self):
        d = tl.make_tmpdir()
        try:
            base = [tl.node_bin(), "--role", "target", "--mountpath", d, "--check-config"]
            r = subprocess.run(base + ["--log-format", "yaml"], capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            cfg = os.path.join(d, "c.json")
            with open(cfg, "w") as f:
                json.dump({"log_format": "xml"}, f)
            r = subprocess.run(base + ["--config", cfg], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("log_format", r.stdout + r.stderr)
            with open(cfg, "w") as f:
                json.dump({"log_format": "json"}, f)
            r = subprocess.run(base + ["--config", cfg], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["log_format"], "json")
        finally:
            tl.remove_tmpdir(d)


if __name__ == "__main__":
    tl.main()
