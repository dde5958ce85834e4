#!/usr/bin/python3
"""HA control plane (--etcd): 3 etcd members, 3 proxies and 3 targets on loopback.

The primary cut off etcd (a relay in front of its etcd URLs is closed; the nodes still reach
it: a partition from the control plane, done without namespaces): it steps down, another
proxy is elected, its metadata writes are refused; after the heal it follows and forwards.
kill -9 of the primary during PUT/GET and bucket creates: a new primary within the lease TTL,
every acknowledged object and bucket present, a bucket create through another proxy within
5 s; one etcd member killed: no effect; two stopped: objects still flow, bucket creates 503
naming etcd; members back: creates work again with no manual step. Everything started here is
killed in tearDownClass (and at exit by aisle_testlib).
"""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import etcd_lib  # noqa: E402

KEEPALIVE_MS = 200
DOWN_AFTER_MS = 3000
LEASE_TTL_S = 3


class EtcdProxy(tl.Node):
    def __init__(self, etcd_urls, prefix):
        super().__init__(n_mountpaths=0)
        self.etcd_urls = etcd_urls
        self.prefix = prefix

    def build_args(self, ready):
        return [self.binary, "--role", "proxy", "--port", "0", "--host", "127.0.0.1",
                "--data-dir", os.path.join(self.dir, "meta"), "--ready-file", ready,
                "--keepalive-ms", str(KEEPALIVE_MS), "--down-after-ms", str(DOWN_AFTER_MS),
                "--etcd", self.etcd_urls, "--etcd-prefix", self.prefix]


def smap_of(node):
    return requests.get(node.url + "/v1/daemon", params={"what": "smap"}, timeout=5).json()


def create_bucket(node, name, timeout=10):
    return requests.post(node.bck_url(name), json={"action": "create-bck"}, timeout=timeout)


@unittest.skipUnless(etcd_lib.available(), "no /usr/bin/etcd")
class EtcdHaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = etcd_lib.EtcdCluster(3)
        cls.proxies, cls.targets = [], []
        try:
            # The first proxy (the first primary) reaches etcd through a relay the partition
            # test cuts: it is then cut off etcd while the nodes still reach it.
            cls.relay = etcd_lib.Relay(cls.etcd.client)
            for i in range(3):
                p = EtcdProxy(cls.relay.urls if i == 0 else cls.etcd.urls,
                              "/aisle/test-%d" % os.getpid())
                p.start()
                cls.proxies.append(p)
            for _ in range(3):
                t = tl.Node(extra_args=["--primary", cls.proxies[0].url,
                                        "--keepalive-ms", str(KEEPALIVE_MS)])
                t.start()
                cls.targets.append(t)
            cls.wait_for(lambda: cls.settled(3, 3), "3 proxies and 3 targets in the map")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in cls.proxies + cls.targets:
            n.cleanup()
        cls.etcd.cleanup()

    @staticmethod
    def wait_for(cond, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what)

    @classmethod
    def live_proxies(cls):
        return [p for p in cls.proxies if p.alive()]

    @classmethod
    def settled(cls, n_proxies, n_targets):
        for p in cls.live_proxies():
            sm = smap_of(p)
            online = [v for v in sm["tmap"].values() if v.get("aisle_state", "online") == "online"]
            if len(sm["pmap"]) < n_proxies or len(online) != n_targets:
                return False
        return True

    @classmethod
    def primary(cls):
        """The proxy every live proxy names as primary (None while they disagree)."""
        ids = {smap_of(p)["proxy_si"]["daemon_id"] for p in cls.live_proxies()}
        if len(ids) != 1:
            return None
        pid = ids.pop()
        for p in cls.live_proxies():
            if p.node_id() == pid:
                return p
        return None

    def test_0_primary_cut_off_etcd(self):
        old = self.proxies[0]
        self.assertIs(self.primary(), old)
        others = self.proxies[1:]
        self.relay.cut()
        try:
            # It steps down as soon as a lease keepalive fails; another proxy is elected once
            # the lease expires.
            self.wait_for(lambda: create_bucket(old, "cut-0", timeout=10).status_code == 503,
                          "the cut-off primary refusing changes", timeout=5)
            self.wait_for(lambda: {smap_of(p)["proxy_si"]["daemon_id"] for p in others} ==
                          {smap_of(others[0])["proxy_si"]["daemon_id"]} and
                          smap_of(others[0])["proxy_si"]["daemon_id"] != old_id(old, others[0]),
                          "a new primary", timeout=10)
            # The old primary's metadata writes stay refused (fenced), also when sent to it.
            r = create_bucket(old, "cut-1", timeout=10)
            self.assertEqual(r.status_code, 503, r.text)
            self.assertIn("primary", r.json()["message"])
            self.assertEqual(create_bucket(others[0], "cut-2").status_code, 200)
            names = {b["name"] for b in requests.get(others[1].url + "/v1/buckets",
                                                     timeout=10).json()}
            self.assertNotIn("cut-0", names)
            self.assertNotIn("cut-1", names)
        finally:
            self.relay.heal()
        # Rejoined: it follows the new primary and forwards changes to it.
        self.wait_for(lambda: create_bucket(old, "cut-3", timeout=10).status_code == 200,
                      "the old primary forwarding after the partition heals", timeout=15)
        self.wait_for(lambda: self.primary() is not None, "one primary", timeout=10)

    def test_1_kill_primary(self):
        old = self.primary()
        self.assertIsNotNone(old)
        other = next(p for p in self.proxies if p is not old)
        bucket = "ha-data"
        self.assertEqual(create_bucket(other, bucket).status_code, 200)
        acked_objects, acked_buckets = {}, []
        stop = threading.Event()
        errors = []

        def data_loop():
            i = 0
            while not stop.is_set():
                name, body = "o-%d" % i, ("payload %d " % i).encode() * 50
                try:
                    r = requests.put(other.obj_url(bucket, name), data=body, timeout=10)
                    if r.status_code == 200:
                        acked_objects[name] = body
                        g = requests.get(other.obj_url(bucket, name), timeout=10)
                        if g.status_code != 200 or g.content != body:
                            errors.append("GET %s: %d" % (name, g.status_code))
                except requests.RequestException as e:
                    errors.append("data path: %s" % e)
                i += 1

        def bucket_loop():
            i = 0
            while not stop.is_set():
                name = "ha-b-%d" % i
                try:
                    r = create_bucket(other, name)
                    # 409: an earlier try was committed but its answer lost with the primary.
                    if r.status_code in (200, 409):
                        acked_buckets.append(name)
                        i += 1
                    else:
                        time.sleep(0.05)
                except requests.RequestException:
                    time.sleep(0.05)

        threads = [threading.Thread(target=data_loop), threading.Thread(target=bucket_loop)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            n_before = len(acked_buckets)
            killed_at = time.monotonic()
            old.kill9()
            # The first bucket create acknowledged after the kill, through another proxy.
            self.wait_for(lambda: len(acked_buckets) > n_before + 1, "a bucket create after the kill",
                          timeout=15)
            first_create = time.monotonic() - killed_at
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        sys.stderr.write("\n[failover: first bucket create %.2fs after kill -9]\n" % first_create)
        self.assertLessEqual(first_create, 5.0)
        self.wait_for(lambda: self.primary() is not None and self.primary() is not old,
                      "a new primary every proxy agrees on", timeout=10)
        self.assertEqual(errors, [])
        self.assertGreater(len(acked_objects), 5)
        # Everything acknowledged is there, through every surviving proxy.
        for p in self.live_proxies():
            names = requests.get(p.url + "/v1/buckets", timeout=10).json()
            have = {b["name"] for b in names}
            missing = [b for b in acked_buckets + [bucket] if b not in have]
            self.assertEqual(missing, [], "buckets missing at %s" % p.url)
        for name, body in acked_objects.items():
            r = requests.get(other.obj_url(bucket, name), timeout=10)
            self.assertEqual((r.status_code, r.content), (200, body), name)
        # The dead proxy is marked down; the data path and creates keep working.
        self.wait_for(lambda: smap_of(other)["pmap"][old_id(old, other)].get("aisle_state") == "down",
                      "the old primary marked down", timeout=10)

    def test_2_one_etcd_member_down(self):
        p = self.live_proxies()[0]
        self.etcd.kill(2)
        try:
            t0 = time.monotonic()
            for i in range(5):
                r = create_bucket(p, "one-down-%d" % i)
                self.assertEqual(r.status_code, 200, r.text)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertIsNotNone(self.primary())
        finally:
            self.etcd.start(2)

    def test_3_quorum_loss_and_recovery(self):
        p = self.live_proxies()[0]
        self.assertEqual(create_bucket(p, "quorum-data").status_code, 200)
        self.etcd.wait_healthy()
        self.etcd.stop(0)
        self.etcd.stop(1)
        try:
            # Metadata: 503 naming etcd (after the primary notices, within the lease TTL).
            deadline = time.monotonic() + 15
            while True:
                r = create_bucket(p, "no-quorum", timeout=20)
                if r.status_code == 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(r.status_code, 503, r.text)
            self.assertIn("etcd", r.json()["message"])
            # Objects in existing buckets keep flowing.
            for i in range(10):
                body = b"q%d" % i * 100
                self.assertEqual(requests.put(p.obj_url("quorum-data", "q%d" % i), data=body,
                                              timeout=10).status_code, 200)
                g = requests.get(p.obj_url("quorum-data", "q%d" % i), timeout=10)
                self.assertEqual((g.status_code, g.content), (200, body))
        finally:
            self.etcd.start(0)
            self.etcd.start(1)
        # Recovery with no manual step.
        self.wait_for(lambda: create_bucket(p, "after-quorum", timeout=10).status_code in (200, 409),
                      "bucket creates after quorum returns", timeout=30)
        # A create that timed out at etcd may still commit when quorum returns (its outcome
        # was unknown, hence the 503): whatever happened, every proxy agrees.
        names = {b["name"] for b in requests.get(p.url + "/v1/buckets", timeout=10).json()}
        self.assertIn("after-quorum", names)
        self.wait_for(lambda: all({b["name"] for b in requests.get(q.url + "/v1/buckets",
                                                                    timeout=10).json()} == names
                                  for q in self.live_proxies()),
                      "every proxy with the same buckets", timeout=10)


@unittest.skipUnless(etcd_lib.available(), "no /usr/bin/etcd")
class AisleUpEtcdTest(unittest.TestCase):
    """`aisle up --etcd` starts 3 etcd members beside the cluster; `aisle down` stops them."""

    def test_up_down(self):
        d = tl.make_tmpdir("aisle-up-etcd-")
        port = tl.free_port()
        cli = [tl.cli_bin()]
        try:
            r = subprocess.run(cli + ["up", "--etcd", "--proxies", "3", "--targets", "2", "--dir", d,
                                      "--port", str(port)], capture_output=True, text=True,
                               timeout=90)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("etcd: http://127.0.0.1:", r.stdout)
            with open(os.path.join(d, "cluster.json")) as f:
                st = json.load(f)
            members = [n for n in st["nodes"] if n.get("program") == "etcd"]
            self.assertEqual(len(members), 3)
            ep = "http://127.0.0.1:%d" % port
            r2 = requests.post(ep + "/v1/buckets/up-etcd", json={"action": "create-bck"}, timeout=10)
            self.assertEqual(r2.status_code, 200, r2.text)
            EtcdHaTest.wait_for(lambda: len(requests.get(ep + "/v1/daemon", params={"what": "smap"},
                                                          timeout=10).json()["pmap"]) == 3,
                                "3 proxies in the map", timeout=15)
        finally:
            subprocess.run(cli + ["down", "--dir", d], capture_output=True, timeout=60)
        for n in st["nodes"]:
            self.assertFalse(running(n["pid"]), "%s still running" % n["name"])
        tl.remove_tmpdir(d)


def running(pid):
    try:
        with open("/proc/%d/status" % pid, "rb") as f:
            return b"zombie" not in f.read().lower()
    except OSError:
        return False


def old_id(old, other):
    sm = smap_of(other)
    for pid, v in sm["pmap"].items():
        if "%s:%s" % (v["public_net"]["node_ip_addr"], v["public_net"]["daemon_port"]) == \
                "%s:%d" % (old.host, old.port):
            return pid
    raise KeyError("old primary not in the map")


if __name__ == "__main__":
    unittest.main()
