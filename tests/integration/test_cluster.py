#!/usr/bin/python3
"""Cluster integration tests: a real primary proxy and targets on loopback.

HRW placement (checked against an independent Python computation of AIStore's formula),
redirects, listing through the proxy, a joining target and rebalance, copies=2 with kill -9,
primary restart, stale and malformed cluster messages, and `aisle up|down|cluster`.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

KEEPALIVE_MS = 200
DOWN_AFTER_MS = 3000  # generous: CI machines are loaded
hrw_owner = tl.hrw_owner


class Proxy(tl.Node):
    def __init__(self, primary_url=None, port=0, workdir=None, cluster_secret=True):
        super().__init__(n_mountpaths=0, workdir=workdir, cluster_secret=cluster_secret)
        self.primary_url = primary_url
        self.fixed_port = port

    def build_args(self, ready):
        args = [self.binary, "--role", "proxy", "--port", str(self.fixed_port), "--host", "127.0.0.1",
                "--data-dir", os.path.join(self.dir, "meta"), "--ready-file", ready,
                "--keepalive-ms", str(KEEPALIVE_MS), "--down-after-ms", str(DOWN_AFTER_MS)]
        if self.primary_url:
            args += ["--primary", self.primary_url]
        return args


class Cluster:
    def __init__(self, n_targets, cluster_secret=True):
        self.cluster_secret = cluster_secret  # False/None: the unauthenticated mode
        self.proxy = Proxy(cluster_secret=cluster_secret or None)
        self.proxy.start()
        self.proxy.fixed_port = self.proxy.port  # restarts keep the endpoint
        self.targets = []
        for _ in range(n_targets):
            self.add_target()
        self.wait_online(n_targets)

    @property
    def url(self):
        return self.proxy.url

    def add_target(self):
        t = tl.Node(extra_args=["--primary", self.proxy.url, "--keepalive-ms", str(KEEPALIVE_MS)],
                    cluster_secret=self.cluster_secret or None)
        t.start()
        self.targets.append(t)
        return t

    def smap(self):
        return requests.get(self.url + "/v1/daemon", params={"what": "smap"}, timeout=10).json()

    def online_ids(self):
        sm = self.smap()
        return sorted(k for k, v in sm["tmap"].items() if v.get("aisle_state", "online") == "online")

    def wait_online(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if len(self.online_ids()) == n:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("expected %d online targets, smap: %s" % (n, self.smap()))

    def wait_rebalanced(self, timeout=30):
        """Until every live target has finished a rebalance pass for the current map."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            version = int(self.smap()["version"])
            done = True
            for t in self.targets:
                if not t.alive():
                    continue
                r = requests.get(t.url + "/v1/daemon", params={"what": "rebalance"}, timeout=10).json()
                if r["running"] or r["smap_version"] < version or r["errors"]:
                    done = False
            if done:
                return
            time.sleep(0.2)
        raise AssertionError("rebalance did not finish")

    def target_by_id(self, tid):
        for t in self.targets:
            if t.alive() and t.node_id() == tid:
                return t
        return None

    def cleanup(self):
        for t in self.targets:
            t.cleanup()
        self.proxy.cleanup()


def put_many(base, bucket, names, data_of, workers=16):
    def put(n):
        # 503 means "try again" (e.g. a target was marked down for a moment on a loaded
        # machine): clients retry it, and so does this one, a few times.
        for attempt in range(5):
            r = requests.put("%s/v1/objects/%s/%s" % (base, bucket, tl.quote_name(n)),
                             data=data_of(n), timeout=30)
            if r.status_code != 503:
                break
            time.sleep(0.2 * (attempt + 1))
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        codes = list(ex.map(put, names))
    return codes


def local_names(target, bucket):
    """Names a target holds itself (a node-to-node listing of one target)."""
    names, token = [], ""
    while True:
        body = {"action": "list", "value": {"pagesize": 10000, "continuation_token": token}}
        r = tl.intra_request("GET", target.bck_url(bucket), target.node_id(), json.dumps(body))
        r.raise_for_status()
        j = r.json()
        names += [e["name"] for e in j["entries"]]
        token = j["continuation_token"]
        if not token:
            return names


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(3)
        r = requests.post(self.c.url + "/v1/buckets/b", json={"action": "create-bck"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    def tearDown(self):
        self.c.cleanup()

    def test_placement_redirects_and_listing(self):
        names = ["obj-%05d" % i for i in range(300)] + ["dir/a", "dir/a/b", "unicode/файл"]
        codes = put_many(self.c.url, "b", names, lambda n: n.encode())
        self.assertEqual(set(codes), {200})
        ids = self.c.online_ids()
        # Every object lies on its HRW owner, computed independently.
        by_id = {t.node_id(): t for t in self.c.targets}
        for tid, t in by_id.items():
            held = local_names(t, "b")
            for n in held:
                self.assertEqual(hrw_owner(ids, "b", n), tid, n)
        self.assertEqual(sum(len(local_names(t, "b")) for t in self.c.targets), len(names))
        # Redirect shapes: GET 301, PUT 307 with pid and utm; the proxy never reads the body.
        r = requests.get(self.c.url + "/v1/objects/b/obj-00001", allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 301)
        loc = r.headers["Location"]
        self.assertIn("pid=", loc)
        self.assertIn("utm=", loc)
        self.assertTrue(loc.startswith(by_id[hrw_owner(ids, "b", "obj-00001")].url))
        r = requests.put(self.c.url + "/v1/objects/b/x", data=b"abc", allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 307)
        raw = tl.RawConn(self.c.proxy.host, self.c.proxy.port)
        raw.send(b"PUT /v1/objects/b/big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                 b"Expect: 100-continue\r\n\r\n")
        resp = raw.read_response(allow_interim=False)
        self.assertEqual(resp.status, 307)
        raw.close()
        # A target that does not own an object redirects to the owner.
        other = next(t for tid, t in by_id.items() if tid != hrw_owner(ids, "b", "obj-00002"))
        r = requests.get(other.obj_url("b", "obj-00002"), timeout=10)
        self.assertEqual(r.content, b"obj-00002")
        # Listing through the proxy: sorted, no duplicates or gaps across pages.
        got, token, pages = [], "", 0
        while True:
            body = {"action": "list", "value": {"pagesize": 37, "continuation_token": token}}
            j = requests.get(self.c.url + "/v1/buckets/b", data=json.dumps(body), timeout=10).json()
            got += [e["name"] for e in j["entries"]]
            token, pages = j["continuation_token"], pages + 1
            if not token:
                break
        self.assertEqual(got, sorted(names))
        self.assertGreater(pages, 5)
        # msgpack, as AIStore's SDK asks for it.
        import msgpack
        r = requests.get(self.c.url + "/v1/buckets/b", headers={"Accept": "application/msgpack"},
                         data=json.dumps({"action": "list", "value": {"pagesize": 5}}), timeout=10)
        self.assertEqual(r.headers["Content-Type"], "application/msgpack")
        m = msgpack.unpackb(r.content, raw=False)
        self.assertEqual(sorted(m.keys()), ["ContinuationToken", "Entries", "Flags", "UUID"])
        self.assertEqual(len(m["Entries"]), 5)
        # Bucket list and errors through the proxy.
        self.assertEqual([b["name"] for b in requests.get(self.c.url + "/v1/buckets", timeout=10).json()], ["b"])
        r = requests.get(self.c.url + "/v1/objects/nob/x", timeout=10)
        self.assertEqual(r.status_code, 404)
        self.assertIn('ais://nob', r.json()["message"])
        r = requests.post(self.c.url + "/v1/buckets/b", json={"action": "create-bck"}, timeout=10)
        self.assertEqual(r.status_code, 409)
        # Delete through the proxy.
        r = requests.delete(self.c.url + "/v1/objects/b/dir/a", timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(requests.get(self.c.url + "/v1/objects/b/dir/a", timeout=10).status_code, 404)

    def test_listing_10k_in_pages_of_1000(self):
        names = ["k/%06d" % i for i in range(10000)]
        codes = put_many(self.c.url, "b", names, lambda n: b"x", workers=32)
        self.assertEqual(set(codes), {200})
        got, token = [], ""
        while True:
            body = {"action": "list", "value": {"pagesize": 1000, "continuation_token": token}}
            j = requests.get(self.c.url + "/v1/buckets/b", data=json.dumps(body), timeout=30).json()
            self.assertLessEqual(len(j["entries"]), 1000)
            got += [e["name"] for e in j["entries"]]
            token = j["continuation_token"]
            if not token:
                break
        self.assertEqual(len(got), len(set(got)))
        self.assertEqual(got, names)

    def test_join_rebalances_to_new_owner(self):
        names = ["r/%04d" % i for i in range(400)]
        self.assertEqual(set(put_many(self.c.url, "b", names, lambda n: n.encode())), {200})
        newt = self.c.add_target()
        self.c.wait_online(4)
        # Readable throughout the move.
        for n in names[::7]:
            self.assertEqual(requests.get(self.c.url + "/v1/objects/b/" + n, timeout=10).content, n.encode())
        self.c.wait_rebalanced()
        ids = self.c.online_ids()
        new_id = newt.node_id()
        moved = local_names(newt, "b")
        self.assertGreater(len(moved), 0)
        for t in self.c.targets:
            tid = t.node_id()
            for n in local_names(t, "b"):
                self.assertEqual(hrw_owner(ids, "b", n), tid, n)
        self.assertEqual(sum(len(local_names(t, "b")) for t in self.c.targets), len(names))
        self.assertTrue(all(hrw_owner(ids, "b", n) == new_id for n in moved))
        for n in names:
            self.assertEqual(requests.get(self.c.url + "/v1/objects/b/" + n, timeout=10).content, n.encode())
        # Rebalance passes are jobs, listed through the proxy (merged from every target).
        jobs = requests.get(self.c.url + "/v1/cluster", params={"what": "status_all"},
                            data=json.dumps({"kind": "rebalance"}), timeout=10).json()
        self.assertTrue(any(j["kind"] == "rebalance" and j["end_time"] for j in jobs), jobs)
        moved_out = sum(int(j.get("stats", {}).get("out-objs", "0"))
                        for snaps in requests.get(self.c.url + "/v1/cluster", params={"what": "qryxstats"},
                                                  data=json.dumps({"kind": "rebalance"}), timeout=10).json().values()
                        for j in snaps)
        self.assertGreaterEqual(moved_out, len(moved))

    def test_copies_survive_kill9_and_restart(self):
        r = requests.post(self.c.url + "/v1/buckets/m", json={"action": "create-bck", "value": {"mirror": {"copies": 2}}},
                          timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        names = ["m/%04d" % i for i in range(200)]
        self.assertEqual(set(put_many(self.c.url, "m", names, lambda n: n.encode() * 10)), {200})
        self.assertEqual(sum(len(local_names(t, "m")) for t in self.c.targets), 2 * len(names))
        victim = self.c.targets[1]
        victim.kill9()
        self.c.wait_online(2)
        ok = sum(requests.get(self.c.url + "/v1/objects/m/" + n, timeout=10).content == n.encode() * 10
                 for n in names)
        self.assertEqual(ok, len(names))
        # Writes go on with the two live targets.
        self.assertEqual(set(put_many(self.c.url, "m", ["new/1", "new/2"], lambda n: b"new")), {200})
        victim.start()
        self.c.wait_online(3)
        self.c.wait_rebalanced()
        for n in names:
            self.assertEqual(requests.get(self.c.url + "/v1/objects/m/" + n, timeout=10).content, n.encode() * 10)
        self.assertEqual(requests.get(self.c.url + "/v1/objects/m/new/1", timeout=10).content, b"new")
        # Back to exactly two copies of everything.
        self.assertEqual(sum(len(local_names(t, "m")) for t in self.c.targets), 2 * (len(names) + 2))

    def test_primary_restart_and_bad_cluster_messages(self):
        names = ["p/%03d" % i for i in range(50)]
        self.assertEqual(set(put_many(self.c.url, "b", names, lambda n: n.encode())), {200})
        before = int(self.c.smap()["version"])
        self.c.proxy.kill9()
        self.c.proxy.start()
        self.c.wait_online(3)
        self.assertGreater(int(self.c.smap()["version"]), before)
        for n in names:
            self.assertEqual(requests.get(self.c.url + "/v1/objects/b/" + n, timeout=10).content, n.encode())
        self.assertEqual(set(put_many(self.c.url, "b", ["after"], lambda n: b"ok")), {200})
        sm = self.c.smap()
        version = int(sm["version"])
        t = self.c.targets[0]
        deadline = time.monotonic() + 10  # the target catches up through its keepalive
        while int(requests.get(t.url + "/v1/daemon", params={"what": "smap"}, timeout=10).json()["version"]) < version:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        # A stale map pushed to a target is rejected and changes nothing.
        stale = dict(sm, version=str(version - 1))
        primary = sm["proxy_si"]["daemon_id"]
        r = tl.intra_request("PUT", t.url + "/v1/metasync", primary, json.dumps({"smap": stale}))
        self.assertEqual(r.status_code, 409, r.text)
        self.assertIn("stale", r.json()["message"])
        tsm = requests.get(t.url + "/v1/daemon", params={"what": "smap"}, timeout=10).json()
        self.assertEqual(int(tsm["version"]), version)
        # Malformed messages: clear 4xx, no map change.
        for body in ["{", "[]", json.dumps({"si": {"daemon_id": "x"}}), json.dumps({"si": {
                "daemon_id": "bad id!", "daemon_type": "target",
                "public_net": {"node_ip_addr": "127.0.0.1", "daemon_port": "1"}}})]:
            r = tl.intra_request("POST", self.c.url + "/v1/cluster/join", "x", body)
            self.assertEqual(r.status_code, 400, body)
            self.assertTrue(r.json()["message"])
        r = tl.intra_request("PUT", t.url + "/v1/metasync", primary, "{not json")
        self.assertEqual(r.status_code, 400)
        # A join that reuses a live target's ID from another address is refused.
        tid = t.node_id()
        dup = {"si": {"daemon_id": tid, "daemon_type": "target",
                      "public_net": {"node_ip_addr": "127.0.0.1", "daemon_port": "1"}}}
        r = tl.intra_request("POST", self.c.url + "/v1/cluster/join", tid, json.dumps(dup))
        self.assertEqual(r.status_code, 409)
        self.assertIn("duplicate", r.json()["message"])
        self.assertEqual(int(self.c.smap()["version"]), version)
        self.assertEqual(self.c.smap()["tmap"][tid]["public_net"]["direct_url"], t.url)


class UpDownTest(unittest.TestCase):
    def test_aisle_up_put_list_read_remove_down(self):
        d = tl.make_tmpdir()
        cli = tl.cli_bin()
        # `aisle up` makes DIR/cluster.secret; membership changes are signed with it.
        env = dict(os.environ, AISLE_NODE_BIN=tl.node_bin(),
                   AISLE_CLUSTER_SECRET_FILE=os.path.join(d, "cluster.secret"))

        def aisle(*args, check=True):
            p = subprocess.run([cli, "--endpoint", endpoint] + list(args), capture_output=True,
                               text=True, timeout=120, env=env)
            if check:
                self.assertEqual(p.returncode, 0, p.stderr)
            return p

        try:
            endpoint = "http://127.0.0.1:1"
            p = aisle("up", "--dir", d, "--targets", "3", "--port", str(tl.free_port()),
                      "--keepalive-ms", str(KEEPALIVE_MS))
            with open(os.path.join(d, "cluster.json")) as f:
                state = json.load(f)
            endpoint = state["endpoint"]
            self.assertIn(endpoint, p.stdout)
            self.assertEqual(state["secret_file"], env["AISLE_CLUSTER_SECRET_FILE"])
            self.assertEqual(os.stat(state["secret_file"]).st_mode & 0o777, 0o600)
            self.assertGreaterEqual(len(open(state["secret_file"], "rb").read().strip()), 32)
            aisle("bucket", "create", "ais://demo")
            src = os.path.join(d, "src")
            os.makedirs(src)
            for i in range(40):
                with open(os.path.join(src, "f%02d" % i), "w") as f:
                    f.write("file %d" % i)
            aisle("object", "put", src, "ais://demo/s/", "--recursive")
            ls = aisle("object", "ls", "ais://demo", "--json").stdout
            self.assertEqual(len(json.loads(ls)), 40)
            self.assertEqual(aisle("object", "cat", "ais://demo/s/f07").stdout, "file 7")
            show = json.loads(aisle("cluster", "show", "--json").stdout)
            targets = [n for n in show["nodes"] if n["role"] == "target"]
            self.assertEqual(len(targets), 3)
            self.assertEqual(sum(n["objects"] for n in targets), 40)
            # Drain one target: everything stays readable, it leaves the map.
            aisle("cluster", "remove", targets[0]["id"])
            show = json.loads(aisle("cluster", "show", "--json").stdout)
            self.assertEqual(len([n for n in show["nodes"] if n["role"] == "target"]), 2)
            for i in range(40):
                self.assertEqual(aisle("object", "cat", "ais://demo/s/f%02d" % i).stdout, "file %d" % i)
            self.assertNotEqual(aisle("cluster", "remove", "nosuch", check=False).returncode, 0)
        finally:
            subprocess.run([cli, "down", "--dir", d], capture_output=True, timeout=60)
            tl.remove_tmpdir(d)
        for n in state["nodes"]:  # `aisle down` stopped every node it started
            try:
                with open("/proc/%d/cmdline" % n["pid"], "rb") as f:
                    self.assertNotIn(b"aisle-node", f.read())
            except FileNotFoundError:
                pass



if __name__ == "__main__":
    unittest.main()
