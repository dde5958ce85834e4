#!/usr/bin/python3
"""Peer auth (docs/SECURITY.md): 1 proxy + 3 targets sharing a cluster secret.

Each attack a client could make with a bare Aisle-Intra header is refused and changes nothing:
a rogue join, forged cluster messages, maintenance and shutdown, version rollback through a
copy PUT or an archappend, a write to a non-owner, a stale timestamp. A request signed by the
test with the secret is accepted, so the checks are real. One test runs without a secret (the
unauthenticated mode of by-hand demos).
"""

import io
import json
import os
import sys
import tarfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, local_names, put_many  # noqa: E402

T = 15
GARBAGE = {"Aisle-Intra": "x", "Aisle-Intra-Time": "1", "Aisle-Intra-Body": "UNSIGNED-PAYLOAD",
           "Aisle-Intra-Sig": "00" * 32}


def make_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class PeerAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        r = requests.post(cls.c.url + "/v1/buckets/keep", json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text
        cls.names = ["o%03d" % i for i in range(60)]
        assert set(put_many(cls.c.url, "keep", cls.names, lambda n: n.encode())) == {200}
        sm = cls.c.smap()
        cls.primary = sm["proxy_si"]["daemon_id"]
        cls.ids = sorted(sm["tmap"])
        cls.by_id = {t.node_id(): t for t in cls.c.targets}

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    # --- helpers ---------------------------------------------------------------------------
    def version(self):
        return int(self.c.smap()["version"])

    def holdings(self):
        return {tid: sorted(local_names(t, "keep")) for tid, t in self.by_id.items()}

    def assert_401(self, r):
        self.assertEqual(r.status_code, 401, r.text)
        j = r.json()  # the AIS error shape
        self.assertEqual(j["status"], 401)
        self.assertTrue(j["message"])
        self.assertIn("node", j)

    def owner_and_other(self, name):
        owner = tl.hrw_owner(self.ids, "keep", name)
        other = next(i for i in self.ids if i != owner)
        return self.by_id[owner], self.by_id[other]

    def obj_version(self, name):
        r = requests.head(self.c.url + "/v1/objects/keep/" + name, allow_redirects=True, timeout=T)
        self.assertEqual(r.status_code, 200)
        return r.headers["Ais-Version"]

    # --- attacks ---------------------------------------------------------------------------
    def test_rogue_join_refused(self):
        rogue = tl.Node(cluster_secret=None)  # a node that does not hold the secret
        rogue.start()
        try:
            rid = rogue.node_id()
            before, held = self.version(), self.holdings()
            si = {"daemon_id": rid, "daemon_type": "target",
                  "public_net": {"node_ip_addr": rogue.host, "daemon_port": str(rogue.port)}}
            body = json.dumps({"si": si})
            url = self.c.url + "/v1/cluster/join"
            # No signature, a garbage one, and one the rogue cannot have made.
            self.assert_401(requests.post(url, data=body, timeout=T))
            self.assert_401(requests.post(url, data=body, headers=GARBAGE, timeout=T))
            self.assert_401(requests.post(url, data=body, headers={"Aisle-Intra": rid}, timeout=T))
            self.assert_401(tl.intra_request("POST", url, rid, body, secret=b"z" * 32))
            # Even correctly signed, the node at that URL must prove it holds the secret.
            r = tl.intra_request("POST", url, rid, body)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("secret", r.json()["message"])
            # Signed by another node than the one joining.
            r = tl.intra_request("POST", url, self.ids[0], body)
            self.assertEqual(r.status_code, 400, r.text)
            time.sleep(1)  # a rebalance, had one started, would be moving data by now
            self.assertEqual(self.version(), before)
            self.assertNotIn(rid, self.c.smap()["tmap"])
            self.assertEqual(self.holdings(), held)
            stats = requests.get(rogue.url + "/v1/daemon", params={"what": "stats"}, timeout=T).json()
            self.assertEqual(stats["objects"], 0)
        finally:
            rogue.cleanup()

    def test_forged_metasync_refused_and_nothing_applied(self):
        t = self.c.targets[0]
        tsm = requests.get(t.url + "/v1/daemon", params={"what": "smap"}, timeout=T).json()
        bmd = requests.get(self.c.url + "/v1/daemon", params={"what": "bmd"}, timeout=T).json()
        v = int(tsm["version"])
        forged_bmd = dict(bmd, version=str(int(bmd["version"]) + 1), buckets={})
        forged_smap = dict(tsm, version=str(v + 1), tmap={})
        held = local_names(t, "keep")
        self.assertTrue(held)
        url = t.url + "/v1/metasync"
        for body in (json.dumps({"bmd": forged_bmd}), json.dumps({"smap": forged_smap})):
            self.assert_401(requests.put(url, data=body, timeout=T))
            self.assert_401(requests.put(url, data=body, headers={"Aisle-Intra": self.primary},
                                         timeout=T))
            self.assert_401(requests.put(url, data=body, headers=GARBAGE, timeout=T))
            # Signed, but by a target: only the primary sends cluster maps.
            self.assert_401(tl.intra_request("PUT", url, self.ids[0], body))
            # Signed for another body.
            h = tl.intra_headers("PUT", "/v1/metasync", self.primary, b"{}")
            self.assertEqual(requests.put(url, data=body, headers=h, timeout=T).status_code, 400)
        # A message the primary signed whose bucket metadata is stale: refused whole, so its
        # newer cluster map is not applied either.
        stale_bmd = dict(bmd, version=str(int(bmd["version"]) - 1))
        r = tl.intra_request("PUT", url, self.primary,
                             json.dumps({"smap": forged_smap, "bmd": stale_bmd}))
        self.assertEqual(r.status_code, 409, r.text)
        after = requests.get(t.url + "/v1/daemon", params={"what": "smap"}, timeout=T).json()
        self.assertEqual(int(after["version"]), v)
        self.assertEqual(sorted(after["tmap"]), sorted(tsm["tmap"]))
        self.assertEqual(local_names(t, "keep"), held)
        for n in self.names:
            r = requests.get(self.c.url + "/v1/objects/keep/" + n, timeout=T)
            self.assertEqual(r.content, n.encode())

    def test_maintenance_and_shutdown_need_a_signature(self):
        t = self.c.targets[1]
        tid = t.node_id()
        before = self.version()
        for action in ("start-maintenance", "decommission-node", "stop-maintenance"):
            body = json.dumps({"action": action, "value": {"sid": tid}})
            for h in ({}, {"Aisle-Intra": self.primary}, GARBAGE):
                self.assert_401(requests.put(self.c.url + "/v1/cluster", data=body, headers=h,
                                             timeout=T))
        shutdown = json.dumps({"action": "shutdown"})
        for h in ({}, {"Aisle-Intra": self.primary}, GARBAGE):
            self.assert_401(requests.put(t.url + "/v1/daemon", data=shutdown, headers=h, timeout=T))
        # Signed by a target, not the primary.
        self.assert_401(tl.intra_request("PUT", t.url + "/v1/daemon", self.ids[0], shutdown))
        time.sleep(0.5)
        self.assertTrue(t.alive())
        self.assertEqual(requests.get(t.url + "/v1/health", timeout=T).status_code, 200)
        self.assertEqual(self.version(), before)
        self.assertEqual(self.c.smap()["tmap"][tid].get("aisle_state", "online"), "online")
        # Job control stays open to clients (PUT /v1/cluster {"action":"stop"}).
        r = requests.put(self.c.url + "/v1/cluster", timeout=T,
                         data=json.dumps({"action": "stop", "value": {"kind": "nosuch"}}))
        self.assertNotEqual(r.status_code, 401, r.text)

    def test_signed_maintenance_accepted(self):
        t = self.c.targets[2]
        tid = t.node_id()
        try:
            for action, state in (("start-maintenance", "maintenance"), ("stop-maintenance", "online")):
                body = json.dumps({"action": action, "value": {"sid": tid}})
                r = tl.intra_request("PUT", self.c.url + "/v1/cluster", self.primary, body)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(self.c.smap()["tmap"][tid].get("aisle_state", "online"), state)
        finally:
            body = json.dumps({"action": "stop-maintenance", "value": {"sid": tid}})
            tl.intra_request("PUT", self.c.url + "/v1/cluster", self.primary, body)
            self.c.wait_online(3)
            self.c.wait_rebalanced()

    def test_version_rollback_and_non_owner_writes_refused(self):
        name = "roll"
        self.assertEqual(requests.put(self.c.url + "/v1/objects/keep/" + name, data=b"v1",
                                      timeout=T).status_code, 200)
        self.assertEqual(requests.put(self.c.url + "/v1/objects/keep/" + name, data=b"v2",
                                      timeout=T).status_code, 200)
        v = self.obj_version(name)
        owner, other = self.owner_and_other(name)
        copy = {"Ais-Version": "1", "Aisle-Mtime": "0"}
        for h in ({"Aisle-Intra": "x"}, GARBAGE):
            r = requests.put(owner.obj_url("keep", name), data=b"old", headers=dict(copy, **h),
                             timeout=T)
            self.assert_401(r)
            # A non-owner does not store what a client sends it.
            r = requests.put(other.obj_url("keep", "stray"), data=b"s", headers=h, timeout=T)
            self.assert_401(r)
        # ?local=true does not make a client's write stay on a non-owner either.
        r = requests.put(other.obj_url("keep", name, {"local": "true"}), data=b"x",
                         allow_redirects=False, timeout=T)
        self.assertEqual(r.status_code, 307)
        self.assertNotIn("stray", local_names(other, "keep"))
        self.assertNotIn(name, local_names(other, "keep"))
        self.assertEqual(self.obj_version(name), v)
        self.assertEqual(requests.get(self.c.url + "/v1/objects/keep/" + name, timeout=T).content,
                         b"v2")
        # A stale or future timestamp on an otherwise valid signature.
        for skew in (-3600, 3600):
            h = tl.intra_headers("PUT", "/v1/objects/keep/" + name, self.primary, b"old",
                                 ts=time.time() + skew)
            r = requests.put(owner.obj_url("keep", name), data=b"old", headers=dict(copy, **h),
                             timeout=T)
            self.assert_401(r)
            self.assertIn("clock", r.json()["message"])
        self.assertEqual(self.obj_version(name), v)
        # Signed with the secret: a copy keeps the version it names (the check is real).
        r = tl.intra_request("PUT", owner.obj_url("keep", name), self.primary, b"signed",
                             headers={"Ais-Version": "77", "Aisle-Mtime": "1"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.obj_version(name), "77")
        # UNSIGNED-PAYLOAD is for object data only.
        r = tl.intra_request("PUT", owner.url + "/v1/daemon", self.primary, b"{}", unsigned=True)
        self.assert_401(r)

    def test_archappend_needs_a_signature(self):
        name = "s.tar"
        base = {"a": b"one"}
        r = requests.put(self.c.url + "/v1/objects/keep/" + name, data=make_tar(base), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        v = self.obj_version(name)
        owner, _ = self.owner_and_other(name)
        url = owner.obj_url("keep", name, {"archappend": "true", "archmime": ".tar"})
        extra = make_tar({"b": b"two"})
        for h in ({"Aisle-Intra": "x"}, GARBAGE,
                  tl.intra_headers("PUT", "/v1/objects/keep/s.tar?archappend=true&archmime=.tar",
                                   self.primary, extra, ts=time.time() - 3600)):
            self.assert_401(requests.put(url, data=extra, headers=h, timeout=T))
        self.assertEqual(self.obj_version(name), v)
        r = tl.intra_request("PUT", url, self.primary, extra)
        self.assertEqual(r.status_code, 200, r.text)
        r = requests.get(self.c.url + "/v1/objects/keep/" + name, params={"archpath": "b"},
                         timeout=T)
        self.assertEqual(r.content, b"two")


class NoSecretModeTest(unittest.TestCase):
    """Without --cluster-secret-file: a loud warning, and Aisle-Intra is taken at its word."""

    def test_unauthenticated_mode(self):
        c = Cluster(2, cluster_secret=None)
        try:
            r = requests.post(c.url + "/v1/buckets/b", json={"action": "create-bck"}, timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(set(put_many(c.url, "b", ["x", "y"], lambda n: n.encode())), {200})
            for node in [c.proxy] + c.targets:
                with open(node.log_path) as f:
                    self.assertIn("NO CLUSTER SECRET", f.read())
            t = c.targets[0]
            # As before peer auth: the bare header marks a node-to-node request.
            r = requests.get(t.bck_url("b"), headers={"Aisle-Intra": "x"}, timeout=T,
                             data=json.dumps({"action": "list", "value": {}}))
            self.assertEqual(r.status_code, 200, r.text)
            sm = requests.get(t.url + "/v1/daemon", params={"what": "smap"}, timeout=T).json()
            stale = dict(sm, version=str(int(sm["version"]) - 1))
            r = requests.put(t.url + "/v1/metasync", data=json.dumps({"smap": stale}), timeout=T)
            self.assertEqual(r.status_code, 409, r.text)
        finally:
            c.cleanup()


if __name__ == "__main__":
    tl.main()
