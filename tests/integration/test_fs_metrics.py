#!/usr/bin/python3
"""aisle-fs's own Prometheus metrics (issue #16 item 6): `-o metrics=127.0.0.1:PORT`.

A mount of one node with the option; files read and written through it; GET /metrics answers
text format 0.0.4 that `promtool check metrics` accepts with no lint finding; the counts that
do not depend on the kernel's caching are exact (opens, bytes read and written, an ENOENT);
another path is 404; a bad or busy address is refused before mounting. Skips without FUSE or
/usr/bin/promtool.
"""

import os
import re
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import requests  # noqa: E402
import test_fs as tf  # noqa: E402

PROMTOOL = os.environ.get("AISLE_PROMTOOL", "/usr/bin/promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


@unittest.skipUnless(tf.fuse_available() and os.path.exists(PROMTOOL),
                     "needs /dev/fuse, fusermount3, aisle-fs and promtool")
class FsMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = tl.Node()
        cls.node.start()
        cls.bucket = "fsm"
        r = requests.post(cls.node.bck_url(cls.bucket), json={"action": "create-bck"}, timeout=10)
        assert r.status_code == 200, r.text
        cls.files = {"f%d.bin" % i: os.urandom(1000 + 37 * i) for i in range(5)}
        for name, data in cls.files.items():
            r = requests.put(cls.node.obj_url(cls.bucket, name), data=data, timeout=10)
            assert r.status_code == 200, r.text
        cls.port = tl.free_port()
        cls.murl = "http://127.0.0.1:%d/metrics" % cls.port
        # No prefetch: every read then goes through read(), none is answered ahead.
        cls.mount = tf.Mount(cls.node.url + "/" + cls.bucket,
                             opts="metrics=127.0.0.1:%d,negative_timeout=0,prefetch=off"
                             % cls.port).start()

    @classmethod
    def tearDownClass(cls):
        tf._stop_all_mounts()
        cls.node.cleanup()

    def scrape(self):
        r = requests.get(self.murl, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return r.text

    def test_counts_promtool_and_404(self):
        before = parse(self.scrape())
        op = lambda m, k: m.get(("aisle_fs_ops_total", frozenset({("op", k)})), 0)  # noqa: E731
        val = lambda m, n: m.get((n, frozenset()), 0)  # noqa: E731
        for name, data in self.files.items():
            with open(self.mount.path(name), "rb") as f:
                self.assertEqual(f.read(), data)
        written = b"w" * 4321
        with open(self.mount.path("new.bin"), "wb") as f:
            f.write(written)
        with self.assertRaises(FileNotFoundError):
            os.stat(self.mount.path("no-such-file"))
        text = self.scrape()
        after = parse(text)
        self.assertEqual(op(after, "open") - op(before, "open"), len(self.files))
        self.assertGreaterEqual(op(after, "read") - op(before, "read"), len(self.files))
        self.assertGreaterEqual(op(after, "lookup") - op(before, "lookup"), 1)
        self.assertGreaterEqual(op(after, "write") - op(before, "write"), 1)
        self.assertEqual(val(after, "aisle_fs_read_bytes_total") -
                         val(before, "aisle_fs_read_bytes_total"),
                         sum(len(d) for d in self.files.values()))
        self.assertEqual(val(after, "aisle_fs_written_bytes_total") -
                         val(before, "aisle_fs_written_bytes_total"), len(written))
        enoent = ("aisle_fs_errors_total", frozenset({("errno", "ENOENT")}))
        self.assertGreaterEqual(after.get(enoent, 0) - before.get(enoent, 0), 1)
        self.assertGreater(val(after, "aisle_fs_http_requests_total"),
                           val(before, "aisle_fs_http_requests_total"))
        for name in ("aisle_fs_http_errors_total", "aisle_fs_local_reads_total",
                     "aisle_fs_prefetch_cache_hits_total", "aisle_fs_prefetch_cache_misses_total",
                     "aisle_fs_prefetch_cache_bytes"):
            self.assertIn((name, frozenset()), after, name)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr).decode())
        r = requests.get("http://127.0.0.1:%d/other" % self.port, timeout=10)
        self.assertEqual(r.status_code, 404)
        r = requests.post(self.murl, timeout=10)
        self.assertEqual(r.status_code, 405)

    def test_bad_or_busy_address_refused(self):
        for bad in ("metrics=nonsense", "metrics=127.0.0.1:99999", "metrics=:"):
            p = subprocess.run([tf.FS_BIN, "--check", self.node.url, "/mnt/x", "-o", bad],
                               capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, (bad, p.stdout, p.stderr))
            self.assertIn(b"metrics", p.stderr)
        # The mount's own port is taken: refused before mounting, with the reason.
        p = subprocess.run([tf.FS_BIN, self.node.url, "/nonexistent-mnt", "-f",
                            "-o", "metrics=127.0.0.1:%d" % self.port],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"cannot listen", p.stderr)


if __name__ == "__main__":
    unittest.main()
