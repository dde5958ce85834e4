"""Multi-object operations (AIStore's ListRange) through a real proxy and three targets.

Every request is sent as the AIStore Python SDK sends it (ObjectGroup.delete/copy/transform:
DELETE or POST /v1/buckets/B with an ActMsg whose value is {"objnames": [...]} or
{"template": "..."} plus the TCBMsg fields, "tobck" and "coer"); the reply is the job id,
waited for with the SDK's job query (GET /v1/cluster?what=status {"ID": ...}). Templates with
steps and zero padding, name lists, missing names with and without continue-on-error, bad
messages (4xx in AIStore's error shape, nothing changed), and the node queries of the SDK's
cluster calls through the proxy, including /v1/reverse/daemon to each target.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402

T = 30


def ais_bck(name):
    # BucketModel.as_dict()
    return {"name": name, "provider": "ais"}


def copy_value(selection, to, prepend="", coer=False, etl=None):
    # TCMultiObj(to_bck, TCBckMsg(copy_msg, transform_msg), object_selection, coer).as_dict()
    v = dict(selection)
    if etl:
        v.update({"id": etl, "request_timeout": "5m"})
    v.update({"prefix": "", "prepend": prepend, "dry_run": False, "force": False,
              "latest-ver": False, "synchronize": False})
    v["tobck"] = ais_bck(to)
    v["coer"] = coer
    return v


class ListRangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        cls.url = cls.c.url
        cls.s = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def bucket(self, tag):
        name = "%s-%d" % (tag, int(time.time() * 1e6) % 10**9)
        r = self.s.post(self.url + "/v1/buckets/" + name, json={"action": "create-bck"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return name

    def fill(self, b, names):
        codes = put_many(self.url, b, names, lambda n: ("data of " + n).encode())
        self.assertEqual(set(codes), {200})

    def names(self, b):
        r = self.s.get(self.url + "/v1/buckets/" + b,
                       data=json.dumps({"action": "list", "value": {"props": "name"}}), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return sorted(e["name"] for e in r.json()["entries"] or [])

    def exists(self, b):
        r = self.s.head(self.url + "/v1/buckets/" + b, timeout=T)
        return r.status_code == 200

    def act(self, method, b, action, value, expect=200):
        # Bucket.make_request(method, action, value=...): ActionMsg JSON body, ?provider=ais
        r = self.s.request(method, self.url + "/v1/buckets/" + b, params={"provider": "ais"},
                           data=json.dumps({"action": action, "name": "", "value": value}),
                           headers={"Content-Type": "application/json"}, timeout=T)
        self.assertEqual(r.status_code, expect, r.text)
        return r

    def wait(self, jid, timeout=60):
        deadline = time.monotonic() + timeout
        args = {"ID": jid, "Kind": "", "DaemonID": "", "Bck": None, "Buckets": None}  # JobArgs
        while time.monotonic() < deadline:
            r = self.s.get(self.url + "/v1/cluster", params={"what": "status"},
                           data=json.dumps(args), timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            st = r.json()
            if st["end_time"] != 0:
                return st
            time.sleep(0.05)
        self.fail("job %s did not finish" % jid)

    def snaps(self, jid):
        r = self.s.get(self.url + "/v1/cluster", params={"what": "qryxstats"},
                       data=json.dumps({"ID": jid}), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return [s for per in r.json().values() for s in per]

    def assert_ais_error(self, r, code, needle):
        self.assertEqual(r.status_code, code, r.text)
        body = r.json()
        self.assertEqual(body.get("status"), code, body)
        self.assertIn(needle, body["message"])

    # --- delete-listrange ---------------------------------------------------------------

    def test_delete_template_with_step_and_padding(self):
        b = self.bucket("del")
        all_names = ["obj-%04d.bin" % i for i in range(20)] + ["keep-1"]
        self.fill(b, all_names)
        r = self.act("DELETE", b, "delete-listrange", {"template": "obj-{0000..0019..2}.bin"})
        jid = r.text
        self.assertTrue(jid.startswith("lr-"), jid)
        st = self.wait(jid)
        self.assertEqual((st["err"], st["aborted"]), ("", False), st)
        want = sorted(["obj-%04d.bin" % i for i in range(1, 20, 2)] + ["keep-1"])
        self.assertEqual(self.names(b), want)
        kinds = {s["kind"] for s in self.snaps(jid)}
        self.assertEqual(kinds, {"delete-listrange"})
        self.assertEqual(sum(int(s["stats"]["loc-objs"]) for s in self.snaps(jid)), 10)
        # Several ranges: the odd ones left, obj-0001 .. obj-0019.
        r = self.act("DELETE", b, "delete-listrange", {"template": "obj-00{0..1}{1..9..2}.bin"})
        self.assertEqual(self.wait(r.text)["err"], "")
        self.assertEqual(self.names(b), ["keep-1"])

    def test_delete_names_missing_with_and_without_coer(self):
        b = self.bucket("delm")
        self.fill(b, ["a", "b", "c", "d"])
        # Without continue-on-error the job fails, naming the missing object.
        r = self.act("DELETE", b, "delete-listrange", {"objnames": ["a", "no-such-1"]})
        st = self.wait(r.text)
        self.assertIn("no-such-1", st["err"])
        self.assertIn(b, st["err"])
        # With it, the missing one is counted and the job finishes; the others are gone.
        r = self.act("DELETE", b, "delete-listrange",
                     {"objnames": ["b", "no-such-2", "c"], "coer": True})
        st = self.wait(r.text)
        self.assertEqual((st["err"], st["aborted"]), ("", False), st)
        snaps = self.snaps(r.text)
        self.assertEqual(sum(s["ext"].get("errors", 0) for s in snaps), 1)
        self.assertTrue(any("no-such-2" in s["last-err"] for s in snaps))
        left = self.names(b)
        self.assertNotIn("b", left)
        self.assertNotIn("c", left)
        self.assertIn("d", left)

    # --- copy-listrange ---------------------------------------------------------------

    def test_copy_template_and_list(self):
        src = self.bucket("csrc")
        names = ["img-%03d.jpg" % i for i in range(30)]
        self.fill(src, names)
        dst = "cdst-%d" % (int(time.time() * 1e6) % 10**9)  # created by the job
        r = self.act("POST", src, "copy-listrange",
                     copy_value({"template": "img-{000..029..3}.jpg"}, dst, prepend="p/"))
        st = self.wait(r.text)
        self.assertEqual(st["err"], "", st)
        want = ["p/img-%03d.jpg" % i for i in range(0, 30, 3)]
        self.assertEqual(self.names(dst), want)
        for n in want:
            g = self.s.get("%s/v1/objects/%s/%s" % (self.url, dst, n), timeout=T)
            self.assertEqual(g.content, ("data of " + n[2:]).encode())
        # A list into the same destination, no prepend.
        r = self.act("POST", src, "copy-listrange",
                     copy_value({"objnames": ["img-001.jpg", "img-002.jpg"]}, dst))
        self.assertEqual(self.wait(r.text)["err"], "")
        self.assertEqual(self.names(dst), sorted(want + ["img-001.jpg", "img-002.jpg"]))
        self.assertEqual(self.names(src), names)  # the source is untouched

    def test_copy_missing_with_and_without_coer(self):
        src = self.bucket("cms")
        self.fill(src, ["x-%d" % i for i in range(5)])
        dst = self.bucket("cmd")
        r = self.act("POST", src, "copy-listrange", copy_value({"template": "x-{0..6}"}, dst))
        st = self.wait(r.text)
        self.assertRegex(st["err"], "x-[56]")
        r = self.act("POST", src, "copy-listrange",
                     copy_value({"template": "x-{0..6}"}, dst, coer=True))
        st = self.wait(r.text)
        self.assertEqual(st["err"], "", st)
        snaps = self.snaps(r.text)
        self.assertEqual(sum(s["ext"].get("errors", 0) for s in snaps), 2)
        self.assertEqual(sum(int(s["stats"]["out-objs"]) for s in snaps), 5)
        self.assertEqual(self.names(dst), ["x-%d" % i for i in range(5)])

    # --- etl-listrange ----------------------------------------------------------------

    def test_etl_listrange_with_builtin(self):
        r = self.s.put(self.url + "/v1/etl", data=json.dumps({"name": "lr-md5", "builtin": "md5"}),
                       timeout=120)
        self.assertEqual(r.status_code, 200, r.text)
        self.addCleanup(lambda: self.s.delete(self.url + "/v1/etl/lr-md5", timeout=30))
        src = self.bucket("esrc")
        names = ["s/%02d.txt" % i for i in range(12)]
        self.fill(src, names)
        dst = self.bucket("edst")
        r = self.act("POST", src, "etl-listrange",
                     copy_value({"template": "s/{00..11..2}.txt"}, dst, etl="lr-md5"))
        st = self.wait(r.text)
        self.assertEqual(st["err"], "", st)
        want = ["s/%02d.txt" % i for i in range(0, 12, 2)]
        self.assertEqual(self.names(dst), want)
        for n in want:
            g = self.s.get("%s/v1/objects/%s/%s" % (self.url, dst, n), timeout=T)
            self.assertEqual(g.text, hashlib.md5(("data of " + n).encode()).hexdigest())
        self.assertEqual({s["kind"] for s in self.snaps(r.text)}, {"etl-listrange"})
        # By names, with the TCBMsg extension map.
        r = self.act("POST", src, "etl-listrange",
                     dict(copy_value({"objnames": ["s/01.txt"]}, dst, etl="lr-md5"),
                          ext={"txt": "md5"}))
        self.assertEqual(self.wait(r.text)["err"], "")
        self.assertIn("s/01.md5", self.names(dst))

    # --- bad messages: 4xx, AIS error shape, nothing changed ----------------------------

    def test_bad_messages_change_nothing(self):
        b = self.bucket("bad")
        self.fill(b, ["k-%d" % i for i in range(4)])
        before = self.names(b)
        dst = "never-%d" % (int(time.time() * 1e6) % 10**9)
        for tmpl in ["k-{3..1}", "k-{0..3", "k-{a..c}", "k-{0..3..0}", "k-{0..9}{0..99999}{0..99}"]:
            r = self.act("DELETE", b, "delete-listrange", {"template": tmpl}, expect=400)
            self.assert_ais_error(r, 400, "template")
        r = self.act("DELETE", b, "delete-listrange", {"objnames": []}, expect=400)
        self.assert_ais_error(r, 400, "empty selection")
        r = self.act("DELETE", b, "delete-listrange", {"objnames": ["k-0"], "template": "k-{0..1}"},
                     expect=400)
        self.assert_ais_error(r, 400, "either")
        r = self.act("DELETE", "no-such-bucket", "delete-listrange", {"objnames": ["k-0"]},
                     expect=404)
        self.assert_ais_error(r, 404, "no-such-bucket")
        r = self.act("POST", "no-such-bucket", "copy-listrange",
                     copy_value({"objnames": ["k-0"]}, dst), expect=404)
        self.assert_ais_error(r, 404, "no-such-bucket")
        r = self.act("POST", b, "etl-listrange",
                     copy_value({"objnames": ["k-0"]}, dst, etl="no-such-etl"), expect=404)
        self.assert_ais_error(r, 404, "no-such-etl")
        r = self.act("POST", b, "copy-listrange", {"objnames": ["k-0"], "coer": False}, expect=400)
        self.assert_ais_error(r, 400, "destination")
        r = self.act("POST", b, "delete-listrange", {"objnames": ["k-0"]}, expect=400)
        self.assert_ais_error(r, 400, "DELETE")
        self.assertEqual(self.names(b), before)
        self.assertFalse(self.exists(dst))

    # --- CLI --------------------------------------------------------------------------

    def aisle(self, *args, rc=0):
        env = dict(os.environ, AIS_ENDPOINT=self.url)
        p = subprocess.run([tl.cli_bin()] + list(args), capture_output=True, text=True, env=env,
                           timeout=120)
        self.assertEqual(p.returncode, rc, "aisle %s: %s %s" % (args, p.stdout, p.stderr))
        return p

    def test_cli_rm_template_and_bucket_cp(self):
        src = self.bucket("cli")
        self.fill(src, ["f-%02d" % i for i in range(10)])
        dst = "clid-%d" % (int(time.time() * 1e6) % 10**9)
        self.aisle("bucket", "cp", "ais://" + src, "ais://" + dst, "--list", "f-01,f-02",
                   "--prepend", "c/", "--wait")
        self.assertEqual(self.names(dst), ["c/f-01", "c/f-02"])
        self.aisle("object", "rm", "ais://" + src, "--template", "f-{00..09..3}", "--wait")
        self.assertEqual(self.names(src), ["f-%02d" % i for i in range(10) if i % 3])
        # A missing name fails the job (exit 1) unless --continue-on-error.
        self.aisle("object", "rm", "ais://" + src, "--list", "f-01,nope", "--wait", rc=1)
        self.aisle("object", "rm", "ais://" + src, "--list", "f-02,nope", "--continue-on-error",
                   "--wait")
        self.assertNotIn("f-02", self.names(src))
        p = self.aisle("object", "rm", "ais://" + src, "--template", "f-{9..1}", rc=1)
        self.assertIn("template", p.stderr)

    # --- node queries of the SDK's cluster calls ----------------------------------------

    def test_node_queries_through_the_proxy(self):
        # Cluster.get_info(): GET /v1/daemon?what=smap -> Smap(tmap, pmap, proxy_si, ...)
        sm = self.s.get(self.url + "/v1/daemon", params={"what": "smap"}, timeout=T).json()
        for k in ("tmap", "pmap", "proxy_si", "version", "uuid", "creation_time"):
            self.assertIn(k, sm)
        self.assertEqual(len(sm["tmap"]), 3)
        self.assertIn("direct_url", sm["proxy_si"]["public_net"])
        # The proxy's own node queries.
        for what in ("node_status", "sysinfo", "config", "cluster_config", "disk", "log"):
            r = self.s.get(self.url + "/v1/daemon", params={"what": what}, timeout=T)
            self.assertEqual(r.status_code, 200, (what, r.text))
        # Cluster.get_performance(): GET /v1/reverse/daemon?what=node_status, Ais-Node-Id.
        for tid in sm["tmap"]:
            r = self.s.get(self.url + "/v1/reverse/daemon", params={"what": "node_status"},
                           headers={"Ais-Node-Id": tid}, timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            ns = r.json()
            self.assertEqual(ns["snode"]["daemon_id"], tid)  # answered by that target
            for k in ("tracker", "capacity", "status", "deployment", "ais_version",
                      "build_time", "k8s_pod_name", "sys_info", "smap_version"):
                self.assertIn(k, ns)
            cap = ns["capacity"]
            for k in ("pct_max", "pct_avg", "pct_min", "cs_err", "total_used", "total_avail"):
                self.assertIn(k, cap)
            for mp in cap["MountPaths"].values():
                for k in ("used", "avail", "pct_used", "disks", "mountpath_label", "fs"):
                    self.assertIn(k, mp)
            self.assertIsInstance(ns["tracker"].get("get.n", 0), int)
            for what in ("sysinfo", "disk", "config", "log"):
                r = self.s.get(self.url + "/v1/reverse/daemon", params={"what": what},
                               headers={"Ais-Node-Id": tid}, timeout=T)
                self.assertEqual(r.status_code, 200, (what, r.text))
        r = self.s.get(self.url + "/v1/reverse/daemon", params={"what": "node_status"},
                       headers={"Ais-Node-Id": "no-such-node"}, timeout=T)
        self.assert_ais_error(r, 404, "no-such-node")
        r = self.s.get(self.url + "/v1/reverse/daemon", params={"what": "node_status"}, timeout=T)
        self.assert_ais_error(r, 400, "Ais-Node-Id")
        # list_jobs_status() / list_running_jobs() / list_running_etls() shapes.
        r = self.s.get(self.url + "/v1/cluster", params={"what": "status_all"},
                       data=json.dumps({"kind": "", "node": "", "show_active": False}), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        for j in r.json() or []:
            for k in ("uuid", "err", "end_time", "aborted"):
                self.assertIn(k, j)
        r = self.s.get(self.url + "/v1/cluster", params={"what": "running_all"},
                       data=json.dumps({"kind": "", "node": "", "show_active": True}), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIsInstance(r.json(), list)
        r = self.s.get(self.url + "/v1/etl", timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIsInstance(r.json(), list)


if __name__ == "__main__":
    unittest.main()
