#!/usr/bin/python3
"""Prometheus /metrics on every node: a proxy and 3 targets on loopback take N PUTs, M GETs
(plain, through a transform, of a shard member) and a failing GET; then every node's
exposition passes `promtool check metrics`, the sums over targets are exact, and a real
Prometheus scraping the cluster answers sum(ais_target_get_count) == M.

Skips (not fails) when /usr/bin/promtool or /usr/bin/prometheus is missing (Debian package
`prometheus`).
"""

import io
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster  # noqa: E402

PROMTOOL = os.environ.get("AISLE_PROMTOOL", "/usr/bin/promtool")
PROMETHEUS = os.environ.get("AISLE_PROMETHEUS", "/usr/bin/prometheus")
N_PUTS = 12
SIZE = 10 * 1024
N_PLAIN_GETS = 20
N_ETL_GETS = 3
M_GETS = N_PLAIN_GETS + N_ETL_GETS + 1  # + one shard member

# promtool's lint rules that AIStore's own metric names break (ais_target_get_count is a
# counter without _total; ais_target_get_ns_total abbreviates its unit). Aisle keeps
# AIStore's names for compatibility; every aisle_* metric must lint clean.
AIS_NAME_LINTS = ('counter metrics should have "_total" suffix',
                  'non-histogram and non-summary metrics should not have "_count" suffix',
                  'metric names should not contain abbreviated units')

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text):
    """[(name, {label: value}, float)] of an exposition (label values without escapes)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "malformed sample line: %r" % line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def total(samples, name, **labels):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items()))


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [b for b in (PROMTOOL, PROMETHEUS) if not os.access(b, os.X_OK)]
        if missing:
            raise unittest.SkipTest("missing %s (Debian package prometheus)" % ", ".join(missing))
        cls.c = Cluster(3)
        try:
            cls.nodes = [cls.c.proxy] + cls.c.targets
            cls.traffic()
        except Exception:
            cls.c.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    @classmethod
    def traffic(cls):
        s = requests.Session()
        url = cls.c.url
        b = "metrics-b"
        r = s.post(url + "/v1/buckets/" + b, json={"action": "create-bck"}, timeout=30)
        assert r.status_code == 200, r.text
        for i in range(N_PUTS):
            r = s.put("%s/v1/objects/%s/o%d" % (url, b, i), data=os.urandom(SIZE), timeout=30)
            assert r.status_code == 200, r.text
        for i in range(N_PLAIN_GETS):
            r = s.get("%s/v1/objects/%s/o%d" % (url, b, i % N_PUTS), timeout=30)
            assert r.status_code == 200 and len(r.content) == SIZE, r.status_code
        r = s.get("%s/v1/objects/%s/no-such-object" % (url, b), timeout=30)
        assert r.status_code == 404, r.status_code
        # A transform and a shard member.
        r = s.put(url + "/v1/etl", json={"name": "ident", "builtin": "identity"}, timeout=120)
        assert r.status_code == 200, r.text
        for i in range(N_ETL_GETS):
            r = s.get("%s/v1/objects/%s/o%d" % (url, b, i), params={"etl_name": "ident"}, timeout=60)
            assert r.status_code == 200 and len(r.content) == SIZE, r.text
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo("a.txt")
            ti.size = 5
            tf.addfile(ti, io.BytesIO(b"hello"))
        cls.shard = buf.getvalue()
        r = s.put("%s/v1/objects/%s/shard.tar" % (url, b), data=cls.shard, timeout=30)
        assert r.status_code == 200, r.text
        r = s.get("%s/v1/objects/%s/shard.tar" % (url, b), params={"archpath": "a.txt"}, timeout=30)
        assert r.status_code == 200 and r.content == b"hello", r.text

    def scrape(self, node):
        r = requests.get(node.url + "/metrics", timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                        r.headers["Content-Type"])
        return r.text

    def test_promtool_accepts_every_node(self):
        for node in self.nodes:
            text = self.scrape(node)
            p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=60)
            report = (p.stdout + p.stderr).decode()
            # 0: clean; 3: lint findings only (1 would be a parse error).
            self.assertIn(p.returncode, (0, 3), report)
            for line in filter(None, report.splitlines()):
                name, _, problem = line.partition(" ")
                self.assertTrue(name.startswith("ais_") and problem in AIS_NAME_LINTS,
                                "lint finding on a non-AIStore name: %r" % line)
            nid = node.node_id()
            for n, labels, _ in parse(text):
                self.assertEqual(labels.get("node_id"), nid, n)

    def test_target_sums_are_exact(self):
        samples = []
        for t in self.c.targets:
            samples += parse(self.scrape(t))
        n_puts = N_PUTS + 1  # and the shard
        self.assertEqual(total(samples, "ais_target_get_count"), M_GETS)
        self.assertEqual(total(samples, "ais_target_err_get_count"), 1)
        self.assertEqual(total(samples, "ais_target_put_count"), n_puts)
        self.assertEqual(total(samples, "ais_target_put_bytes"), N_PUTS * SIZE + len(self.shard))
        self.assertEqual(total(samples, "ais_target_get_bytes"),
                         (N_PLAIN_GETS + N_ETL_GETS) * SIZE + 5)
        self.assertEqual(total(samples, "ais_target_err_put_count"), 0)
        self.assertGreater(total(samples, "ais_target_get_ns_total"), 0)
        self.assertEqual(total(samples, "aisle_etl_calls_total", etl_name="ident"), N_ETL_GETS)
        self.assertEqual(total(samples, "aisle_etl_errors_total", etl_name="ident"), 0)
        self.assertEqual(total(samples, "aisle_shard_member_reads_total"), 1)
        self.assertEqual(total(samples, "aisle_shard_index_builds_total"), 1)
        self.assertGreaterEqual(total(samples, "aisle_jobs_started_total", kind="rebalance"), 1)
        for t in self.c.targets:
            mine = parse(self.scrape(t))
            mps = {l["mountpath"] for n, l, _ in mine if n == "aisle_disk_available_bytes"}
            self.assertEqual(len(mps), len(t.mountpaths))
            self.assertGreater(total(mine, "aisle_disk_used_bytes"), 0)
            self.assertGreaterEqual(total(mine, "aisle_http_open_connections"), 1)  # this scrape
            self.assertGreater(total(mine, "ais_target_uptime"), 0)

    def test_proxy_counts_redirects(self):
        p = parse(self.scrape(self.c.proxy))
        self.assertEqual(total(p, "ais_proxy_get_count"), M_GETS + 1)  # the 404 was redirected too
        self.assertEqual(total(p, "ais_proxy_put_count"), N_PUTS + 1)
        self.assertGreater(total(p, "aisle_http_requests_total", method="GET"), M_GETS)
        self.assertGreater(total(p, "ais_proxy_uptime"), 0)

    def test_bad_method_is_405_in_ais_shape(self):
        for node in self.nodes:
            for method in ("POST", "PUT", "DELETE"):
                r = requests.request(method, node.url + "/metrics", data=b"x", timeout=10)
                self.assertEqual(r.status_code, 405, r.text)
                j = r.json()
                self.assertEqual(j["status"], 405)
                self.assertIn("not allowed", j["message"])
        r = requests.head(self.c.targets[0].url + "/metrics", timeout=10)
        self.assertEqual(r.status_code, 200)

    def test_prometheus_scrapes_the_cluster(self):
        tmp = tl.make_tmpdir("aisle-prom-")
        port = tl.free_port()
        targets = ", ".join('"127.0.0.1:%d"' % n.port for n in self.nodes)
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: aisle\n    metrics_path: /metrics\n"
                    "    static_configs:\n      - targets: [%s]\n" % targets)
        log = open(os.path.join(tmp, "prometheus.log"), "wb")
        proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            api = "http://127.0.0.1:%d/api/v1/query" % port
            got, deadline = None, time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    r = requests.get(api, params={"query": "sum(ais_target_get_count)"}, timeout=5)
                    res = r.json()["data"]["result"] if r.status_code == 200 else []
                    if res:
                        got = float(res[0]["value"][1])
                        if got == M_GETS:
                            break
                except (requests.RequestException, ValueError, KeyError):
                    pass
                time.sleep(0.5)
            if got != M_GETS:
                with open(log.name, errors="replace") as f:
                    self.fail("sum(ais_target_get_count) = %s, want %d; Prometheus log:\n%s"
                              % (got, M_GETS, f.read()[-3000:]))
            r = requests.get(api, params={"query": 'count(up{job="aisle"} == 1)'}, timeout=5)
            self.assertEqual(r.json()["data"]["result"][0]["value"][1], str(len(self.nodes)))
        finally:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
            log.close()
            tl.remove_tmpdir(tmp)


if __name__ == "__main__":
    unittest.main()
