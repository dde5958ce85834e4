#!/usr/bin/python3
"""A multi-host cluster in network namespaces (netns_lib): 1 proxy + 4 targets, each in its own
namespace with its own address on a bridge, links shaped with tbf, started as the systemd units
start them (`aisle-node --config FILE`, one JSON config per node, cluster secret included), and
aisle-fs plus every client request in a sixth namespace.

Checks: put/list/get through the proxy; a copies=2 bucket serves every GET while one target's
link is down and rebalance restores two copies when it returns; aisle-fs reads nothing locally
across namespaces (every target's local-read counters stay 0; a mount in a target's namespace
is the positive control); the mount rides over a target restart. Needs root; ~30 s.
"""

import concurrent.futures
import json
import os
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from netns_cluster import TARGETS, NetnsCluster, skip_reason  # noqa: E402

LINK_RATE = 100 << 20  # bytes/s per node link (tbf)


def put_many(base, bucket, items, workers=8):
    def put(kv):
        for attempt in range(5):
            r = requests.put("%s/v1/objects/%s/%s" % (base, bucket, kv[0]), data=kv[1], timeout=30)
            if r.status_code != 503:
                break
            time.sleep(0.2 * (attempt + 1))
        return r.status_code
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return set(ex.map(put, items.items()))


@unittest.skipIf(skip_reason(), skip_reason())
class NetnsClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.c = NetnsCluster(rate=LINK_RATE)
        try:
            cls.c.start_all()
        except Exception:
            cls.c.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        for name, p in cls.c.procs.items():
            if p.poll() is not None and p.returncode not in (0, -15):
                sys.stderr.write("\n[%s exited %s]:\n%s\n" % (name, p.returncode, cls.c.log_tail(name)))
        cls.c.cleanup()
        sys.stderr.write("\n[netns test: %.1f s]\n" % (time.monotonic() - cls.t0))

    def setUp(self):
        self.ns = self.c.lab.entered("client")
        self.ns.__enter__()

    def tearDown(self):
        self.ns.__exit__(None, None, None)

    def make_bucket(self, name, props=None):
        body = {"action": "create-bck"}
        if props:
            body["value"] = props
        r = requests.post(self.c.url + "/v1/buckets/" + name, json=body, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    def test_1_put_list_get_and_no_local_reads_across_namespaces(self):
        self.make_bucket("b")
        objs = {"d/%03d" % i: os.urandom(1000 + 97 * i) for i in range(60)}
        self.assertEqual(put_many(self.c.url, "b", objs), {200})
        r = requests.get(self.c.url + "/v1/buckets/b", data=json.dumps(
            {"action": "list", "value": {"prefix": "d/"}}), timeout=10)
        self.assertEqual(sorted(e["name"] for e in r.json()["entries"]), sorted(objs))
        for n, data in objs.items():
            g = requests.get(self.c.url + "/v1/objects/b/" + n, timeout=10)
            self.assertEqual(g.content, data, n)
            # The redirect went to the owner's namespace address, not to loopback.
            self.assertIn(g.history[0].headers["Location"].split("/")[2].split(":")[0],
                          [self.c.lab.hosts[t].addr for t in TARGETS])
        self.assertEqual({tl.hrw_owner(TARGETS, "b", n) for n in objs}, set(TARGETS))

        # Through a mount in the client namespace: same bytes, no local read offered or asked.
        mnt = self.c.mount("client")
        for n, data in objs.items():
            with open(os.path.join(mnt, "b", n), "rb") as f:
                self.assertEqual(f.read(), data, n)
        for t in TARGETS:
            self.assertEqual(self.c.local_read_counters(t), {"opens": 0, "errors": 0}, t)
        with open(mnt + ".log", errors="replace") as f:  # no local read begun and given up
            self.assertNotIn("reading over the network", f.read())

        # Positive control: a mount in t1's namespace reads t1's objects from its files.
        mine = [n for n in objs if tl.hrw_owner(TARGETS, "b", n) == "t1"]
        mnt1 = self.c.mount("t1", "prefetch=off")  # one local open per file, none batched
        for n in mine:
            with open(os.path.join(mnt1, "b", n), "rb") as f:
                self.assertEqual(f.read(), objs[n], n)
        self.assertEqual(self.c.local_read_counters("t1")["opens"], len(mine))
        for t in TARGETS[1:]:
            self.assertEqual(self.c.local_read_counters(t)["opens"], 0, t)
        self.c.unmount_all()

    def test_2_copies_serve_while_a_link_is_down_and_rebalance_restores(self):
        self.make_bucket("m", {"mirror": {"copies": 2}})
        objs = {"m/%03d" % i: ("%03d" % i).encode() * 300 for i in range(80)}
        self.assertEqual(put_many(self.c.url, "m", objs), {200})
        self.assertEqual(sum(len(self.c.local_names(t, "m")) for t in TARGETS), 2 * len(objs))

        self.c.lab.link_down("t2")
        try:
            self.c.wait_online(["t1", "t3", "t4"])
            # Every live target has the new map (no PUT replicates toward the dead link).
            self.c.wait_rebalanced(["t1", "t3", "t4"])
            for n, data in objs.items():
                self.assertEqual(requests.get(self.c.url + "/v1/objects/m/" + n, timeout=10).content,
                                 data, n)
            extra = {"new/%d" % i: b"new%d" % i for i in range(8)}
            self.assertEqual(put_many(self.c.url, "m", extra), {200})
            objs.update(extra)
        finally:
            self.c.lab.link_up("t2")
        self.c.wait_online(TARGETS)
        self.c.wait_rebalanced(TARGETS)
        for n, data in objs.items():
            self.assertEqual(requests.get(self.c.url + "/v1/objects/m/" + n, timeout=10).content,
                             data, n)
        # Back to two copies of everything, on the two HRW-first targets.
        held = {t: set(self.c.local_names(t, "m")) for t in TARGETS}
        self.assertEqual(sum(len(v) for v in held.values()), 2 * len(objs))
        for n in extra:
            self.assertEqual(sum(n in v for v in held.values()), 2, n)

    def test_3_mount_rides_over_a_target_restart(self):
        self.make_bucket("r")
        objs = {"f/%02d" % i: os.urandom(256 << 10) for i in range(24)}
        self.assertEqual(put_many(self.c.url, "r", objs), {200})
        mnt = self.c.mount("client", "retry_timeout=30,attr_timeout=0")
        victim = "t3"
        on_victim = [n for n in objs if tl.hrw_owner(TARGETS, "r", n) == victim]
        self.assertTrue(on_victim)
        errors, reads = [], [0]
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                for n in on_victim:
                    try:
                        with open(os.path.join(mnt, "r", n), "rb") as f:
                            if f.read() != objs[n]:
                                errors.append("%s: wrong bytes" % n)
                        reads[0] += 1
                    except OSError as e:
                        errors.append("%s: %s" % (n, e))
        th = threading.Thread(target=reader)
        th.start()
        try:
            time.sleep(0.5)
            before = reads[0]
            self.assertEqual(self.c.stop(victim), 0)
            time.sleep(0.5)  # reads wait for it (retry_timeout)
            self.c.start(victim)
            self.c.wait_online(TARGETS)
            mark = reads[0]
            self.c.wait(lambda: reads[0] >= mark + len(on_victim), "reads after the restart")
        finally:
            stop.set()
            th.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertGreater(before, 0)
        self.c.unmount_all()


if __name__ == "__main__":
    tl.main()
