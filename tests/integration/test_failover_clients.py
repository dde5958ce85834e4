#!/usr/bin/python3
"""Clients that fail over between proxies (issue #18 item 4), embedded mode.

1 primary + 1 non-primary proxy + 3 targets. The CLI with AIS_ENDPOINT=dead,live lists, puts
and gets; given only a proxy that answers 503 to everything but the cluster map, it learns the
live proxies from that map and goes on; with every URL dead it fails naming each one. aisle-fs
mounted with dead,live reads; mounted with one proxy only, it keeps working after kill -9 of that
proxy because it learned the other proxies from the map. Every process and mount is cleaned up.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import requests  # noqa: E402
import test_cluster as tc  # noqa: E402
import test_fs as tf  # noqa: E402

T = 30


def dead_url():
    return "http://127.0.0.1:%d" % tl.free_port()  # nothing listens there


class FakeProxy:
    """Answers GET /v1/daemon?what=smap with the real cluster's map and 503 to all else: a
    proxy that is up but cannot serve (not ready, not primary)."""

    def __init__(self, real_url):
        real = real_url

        class H(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                if self.path.startswith("/v1/daemon") and "what=smap" in self.path:
                    body = requests.get(real + "/v1/daemon", params={"what": "smap"},
                                        timeout=T).content
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    body = json.dumps({"message": "not the primary", "status": 503}).encode()
                    self.send_response(503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FailoverClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = tc.Cluster(3)
        try:
            cls.p2 = tc.Proxy(primary_url=cls.c.url)
            cls.p2.start()
            cls.wait_proxies(2)
            cls.tmp = tl.make_tmpdir("aisle-failover-")
            cls.bucket = "fo-%d" % os.getpid()
            r = requests.post(cls.c.url + "/v1/buckets/" + cls.bucket,
                              json={"action": "create-bck"}, timeout=T)
            assert r.status_code == 200, r.text
            for i in range(4):
                cls.put("seed/%d.txt" % i, b"seed %d\n" % i * 100)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        tf._stop_all_mounts()
        for p in getattr(cls, "extra", []):
            p.cleanup()
        if getattr(cls, "p2", None):
            cls.p2.cleanup()
        cls.c.cleanup()
        if getattr(cls, "tmp", None):
            tl.remove_tmpdir(cls.tmp)

    @classmethod
    def wait_proxies(cls, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(cls.c.smap().get("pmap", {})) >= n:
                return
            time.sleep(0.1)
        raise AssertionError("expected %d proxies: %s" % (n, cls.c.smap()))

    @classmethod
    def put(cls, name, data):
        r = requests.put("%s/v1/objects/%s/%s" % (cls.c.url, cls.bucket, tl.quote_name(name)),
                         data=data, timeout=T)
        assert r.status_code == 200, r.text

    def cli(self, endpoint, *args):
        env = dict(os.environ, AIS_ENDPOINT=endpoint)
        env.pop("AIS_AUTHN_TOKEN", None)
        return subprocess.run([tl.cli_bin()] + list(args), env=env, capture_output=True,
                              timeout=60, cwd=self.tmp)

    def ok(self, endpoint, *args):
        p = self.cli(endpoint, *args)
        self.assertEqual(p.returncode, 0, "aisle %s -> %d\nstderr: %s"
                         % (" ".join(args), p.returncode, p.stderr.decode()[:2000]))
        return p

    # ---------------------------------------------------------------------------------------
    def test_cli_dead_then_live(self):
        ep = dead_url() + "," + self.p2.url
        p = self.ok(ep, "bucket", "ls")
        self.assertIn(self.bucket, p.stdout.decode())
        src = os.path.join(self.tmp, "cli-src.bin")
        data = os.urandom(200_000)
        with open(src, "wb") as f:
            f.write(data)
        self.ok(ep, "object", "put", src, "ais://%s/cli/obj.bin" % self.bucket)
        dst = os.path.join(self.tmp, "cli-dst.bin")
        self.ok(ep, "object", "get", "ais://%s/cli/obj.bin" % self.bucket, dst)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), data)
        p = self.ok(ep, "object", "ls", "ais://%s" % self.bucket)
        self.assertIn("cli/obj.bin", p.stdout.decode())
        # --endpoint takes the same list.
        p = self.cli("", "--endpoint", ep, "bucket", "ls")
        self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_cli_learns_proxies_from_the_map(self):
        fake = FakeProxy(self.c.url)
        try:
            # The only URL given answers 503 to the request but serves the map: the command
            # goes on through a proxy it names.
            p = self.ok(fake.url, "object", "get", "ais://%s/seed/1.txt" % self.bucket, "-")
            self.assertEqual(p.stdout, b"seed 1\n" * 100)
        finally:
            fake.close()

    def test_cli_all_dead_names_every_url(self):
        d1, d2 = dead_url(), dead_url()
        p = self.cli(d1 + "," + d2, "bucket", "ls")
        self.assertEqual(p.returncode, 1, p.stderr.decode())
        err = p.stderr.decode()
        self.assertIn(d1, err)
        self.assertIn(d2, err)
        # An empty item is a usage error.
        p = self.cli(self.c.url + ",", "bucket", "ls")
        self.assertEqual(p.returncode, 2, p.stderr.decode())

    @unittest.skipUnless(tf.fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
    def test_fs_dead_then_live(self):
        m = tf.Mount(dead_url() + "," + self.p2.url + "/" + self.bucket).start()
        try:
            with open(m.path("seed", "2.txt"), "rb") as f:
                self.assertEqual(f.read(), b"seed 2\n" * 100)
            self.assertEqual(sorted(os.listdir(m.path("seed"))), ["%d.txt" % i for i in range(4)])
        finally:
            m.stop()

    @unittest.skipUnless(tf.fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
    def test_fs_learns_proxies_and_survives_kill9(self):
        p3 = tc.Proxy(primary_url=self.c.url)
        self.__class__.extra = getattr(self.__class__, "extra", []) + [p3]
        p3.start()
        self.wait_proxies(3)
        m = tf.Mount(p3.url + "/" + self.bucket,
                     opts="dir_timeout=0,attr_timeout=0,entry_timeout=0,negative_timeout=0").start()
        try:
            with open(m.path("seed", "0.txt"), "rb") as f:
                self.assertEqual(f.read(), b"seed 0\n" * 100)
            p3.kill9()
            # New names: their lookups and the listing need a proxy, which must be another one.
            self.put("after/kill.txt", b"still here\n")
            with open(m.path("after", "kill.txt"), "rb") as f:
                self.assertEqual(f.read(), b"still here\n")
            self.assertIn("kill.txt", os.listdir(m.path("after")))
            # Writes through a proxy too.
            with open(m.path("after", "written.txt"), "wb") as f:
                f.write(b"written after the kill\n")
            r = requests.get("%s/v1/objects/%s/after/written.txt" % (self.c.url, self.bucket),
                             timeout=T)
            self.assertEqual(r.content, b"written after the kill\n")
        finally:
            m.stop()
            p3.cleanup()

    def test_fs_check_validates_the_list(self):
        fs = tf.FS_BIN
        if not os.path.exists(fs):
            self.skipTest("no aisle-fs")
        p = subprocess.run([fs, "--check", "127.0.0.1:1,127.0.0.1:2/b", "/mnt/x"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"http://127.0.0.1:1,http://127.0.0.1:2", p.stdout)
        self.assertIn(b"bucket b", p.stdout)
        for bad in ["127.0.0.1:1,,127.0.0.1:2", "127.0.0.1:1/a,127.0.0.1:2/b", ","]:
            p = subprocess.run([fs, "--check", bad, "/mnt/x"], capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, (bad, p.stdout, p.stderr))


if __name__ == "__main__":
    unittest.main()
