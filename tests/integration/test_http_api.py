#!/usr/bin/python3
"""Integration tests of the native HTTP API (docs/API.md) against one real aisle-node."""

import concurrent.futures
import email.utils
import json
import os
import random
import re
import subprocess
import sys
import threading
import unittest
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402
import requests  # noqa: E402

from aisle_testlib import (ErrorAsserts, Node, NodeTestCase, RawConn, RawResponse,  # noqa: E402
                           main, node_bin, raw_request, xxh64_hex)

T = 15  # per-request timeout (s)
EMPTY_XXH = "ef46db3751d8e999"
HEX16 = re.compile(r"^[0-9a-f]{16}$")


class Base(NodeTestCase, ErrorAsserts):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = requests.Session()
        cls.node_id = cls.node.node_id()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        super().tearDownClass()

    # --- helpers ---------------------------------------------------------------------------
    def put(self, b, name, data, headers=None, query=None):
        return self.s.put(self.node.obj_url(b, name, query), data=data, headers=headers or {}, timeout=T)

    def put_ok(self, b, name, data, headers=None):
        r = self.put(b, name, data, headers)
        self.assertEqual(r.status_code, 200, "PUT %s/%s: %s" % (b, name, r.text))
        return r

    def get(self, b, name, headers=None, query=None):
        return self.s.get(self.node.obj_url(b, name, query), headers=headers or {}, timeout=T)

    def head(self, b, name):
        return self.s.head(self.node.obj_url(b, name), timeout=T)

    def list_json(self, b, value=None, headers=None):
        body = {"action": "list", "value": value if value is not None else {}}
        r = self.s.get(self.node.bck_url(b), json=body, headers=headers or {}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return r

    def list_all_names(self, b, prefix=""):
        return [e["name"] for e in self.list_json(b, {"prefix": prefix}).json()["entries"]]


# ==========================================================================================
class CommandLineTest(unittest.TestCase):
    """aisle-node's own flags: --help documents each one; bad ones end the process early."""

    FLAGS = ("--config", "--role", "--host", "--port", "--mountpath", "--id", "--io-threads",
             "--workers", "--log-level", "--ready-file", "--max-object-size", "--s3-access-key",
             "--s3-secret-key", "--s3-region", "--s3-vhost-domain", "--rate-limit", "--primary",
             "--data-dir", "--keepalive-ms", "--down-after-ms", "--no-local-reads",
             "--cluster-secret-file", "--advertise-host")

    def run_node(self, *args):
        return subprocess.run([node_bin(), *args], capture_output=True, text=True, timeout=30)

    def test_help_lists_every_flag(self):
        p = self.run_node("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in self.FLAGS:
            line = next((ln for ln in p.stdout.splitlines() if ln.strip().startswith(flag + " ")
                         or ln.strip() == flag), None)
            self.assertIsNotNone(line, "%s missing from --help:\n%s" % (flag, p.stdout))

    def test_bad_flag_fails(self):
        p = self.run_node("--no-such-flag")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--no-such-flag", p.stderr)

    def test_target_without_mountpath_fails(self):
        p = self.run_node("--role", "target")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--mountpath", p.stderr)

    def test_wildcard_host_needs_and_uses_advertise_host(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            p = self.run_node("--role", "target", "--mountpath", d, "--host", "0.0.0.0")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--advertise-host", p.stderr)
        # Listening on every address, it names the advertised one (here: loopback's other name).
        n = Node()
        n.build_args = lambda ready: [n.binary, "--role", "target", "--port", "0", "--host", "0.0.0.0",
                                      "--advertise-host", "localhost", "--mountpath",
                                      n.mountpaths[0], "--ready-file", ready]
        try:
            url = n.start()
            self.assertTrue(url.startswith("http://localhost:"), url)
            r = requests.get("http://127.0.0.1:%d/v1/daemon?what=snode" % n.port, timeout=T)
            self.assertEqual(r.json()["public_net"]["direct_url"], url)
        finally:
            n.cleanup()

    def test_short_or_unreadable_cluster_secret_fails(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            short = os.path.join(d, "short")
            with open(short, "w") as f:
                f.write("x" * 31 + "\n")
            for path, why in ((short, "at least 32"), (os.path.join(d, "none"), "cannot read")):
                p = self.run_node("--role", "target", "--mountpath", d, "--cluster-secret-file", path)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("--cluster-secret-file", p.stderr)
                self.assertIn(why, p.stderr)


# ==========================================================================================
class HealthAndDaemonTest(Base):
    def test_health(self):
        r = self.s.get(self.node.url + "/v1/health", timeout=T)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"")
        self.assertRegex(r.headers.get("Ais-Node-Uptime", ""), r"^\d+$")

    def test_daemon_snode(self):
        r = self.s.get(self.node.url + "/v1/daemon", params={"what": "snode"}, timeout=T)
        self.assertEqual(r.status_code, 200)
        sn = r.json()
        self.assertEqual(sn["daemon_type"], "target")
        self.assertRegex(sn["daemon_id"], r"^[A-Za-z][A-Za-z0-9_-]{7,}$")
        self.assertEqual(sn["public_net"]["direct_url"], self.node.url)
        self.assertEqual(int(sn["public_net"]["daemon_port"]), self.node.port)

    def test_daemon_smap(self):
        r = self.s.get(self.node.url + "/v1/daemon", params={"what": "smap"}, timeout=T)
        self.assertEqual(r.status_code, 200)
        sm = r.json()
        for k in ("tmap", "pmap", "proxy_si", "version", "uuid"):
            self.assertIn(k, sm)
        self.assertIn(self.node_id, sm["tmap"])
        self.assertEqual(sm["tmap"][self.node_id]["public_net"]["direct_url"], self.node.url)

    def test_daemon_mountpaths(self):
        r = self.s.get(self.node.url + "/v1/daemon", params={"what": "mountpaths"}, timeout=T)
        self.assertEqual(r.status_code, 200)
        mp = r.json()
        self.assertEqual(set(mp), {"available", "waiting_dd", "disabled"})
        self.assertEqual([os.path.realpath(p) for p in mp["available"]],
                         [os.path.realpath(p) for p in self.node.mountpaths])
        self.assertEqual(mp["waiting_dd"], [])
        self.assertEqual(mp["disabled"], [])

    def test_method_not_allowed(self):
        r = self.s.delete(self.node.url + "/v1/health", timeout=T)
        self.check_error_response(r, 405, "DELETE", "/v1/health", self.node_id)

    def test_header_block_too_large(self):
        resp = raw_request(self.node, "GET", "/v1/health", {"X-Big": "a" * (20 * 1024)})
        self.assertEqual(resp.status, 431, resp)


# ==========================================================================================
class BucketTest(Base):
    def test_create_conflict_list_head_destroy(self):
        b = self.new_bucket_name()
        url = self.node.bck_url(b)
        r = self.s.post(url, json={"action": "create-bck"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.content, b"")

        r = self.s.post(url, json={"action": "create-bck"}, timeout=T)
        err = self.check_error_response(r, 409, "POST", "/v1/buckets/" + b, self.node_id)
        self.assertIn('bucket "ais://%s" already exists' % b, err["message"])

        r = self.s.get(self.node.bck_url(), timeout=T)
        self.assertEqual(r.status_code, 200)
        lst = r.json()
        self.assertIn({"name": b, "provider": "ais", "namespace": {"uuid": "", "name": ""}}, lst)
        names = [x["name"] for x in lst]
        self.assertEqual(names, sorted(names))

        # the Python SDK's list-buckets form: action message with value null
        r = self.s.get(self.node.bck_url(), json={"action": "list", "name": "", "value": None},
                       params={"provider": "ais"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn(b, [x["name"] for x in r.json()])

        r = self.s.head(url, timeout=T)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"")
        props = json.loads(r.headers["Ais-Bucket-Props"])
        self.assertIsInstance(props, dict)

        r = self.s.delete(url, json={"action": "destroy-bck"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        r = self.s.delete(url, json={"action": "destroy-bck"}, timeout=T)
        err = self.check_error_response(r, 404, "DELETE", "/v1/buckets/" + b, self.node_id)
        self.assertIn('bucket "ais://%s" does not exist' % b, err["message"])

        r = self.s.head(url, timeout=T)
        err = self.check_error_response(r, 404, "HEAD", "/v1/buckets/" + b, self.node_id)
        self.assertIn("ais://%s" % b, err["message"])

        r = self.s.get(self.node.bck_url(), timeout=T)
        self.assertNotIn(b, [x["name"] for x in r.json()])

    def test_list_buckets_sorted(self):
        made = [self.new_bucket_name(t) for t in ("zz", "aa", "mm")]
        for b in made:
            self.assertEqual(self.s.post(self.node.bck_url(b), json={"action": "create-bck"},
                                         timeout=T).status_code, 200)
        names = [x["name"] for x in self.s.get(self.node.bck_url(), timeout=T).json()]
        self.assertEqual(names, sorted(names, key=lambda s: s.encode()))
        for b in made:
            self.assertIn(b, names)
            self.assertEqual(self.s.delete(self.node.bck_url(b), timeout=T).status_code, 200)

    def test_destroy_without_body_and_with_objects(self):
        b = self.make_bucket()
        self.put_ok(b, "x/1", b"one")
        self.put_ok(b, "x/2", b"two")
        r = self.s.delete(self.node.bck_url(b), timeout=T)  # no body
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get(b, "x/1").status_code, 404)
        # re-created bucket is empty
        self.assertEqual(self.s.post(self.node.bck_url(b), json={"action": "create-bck"},
                                     timeout=T).status_code, 200)
        self.assertEqual(self.list_all_names(b), [])
        self.assertEqual(self.get(b, "x/1").status_code, 404)

    BAD_BUCKETS = ["bad%20name", "x" * 65, "b%40d", "a%2Fb", "%00x", "..", ".", "b%FFc", "b%3Ac"]

    def _bad_bucket_errors(self):
        for enc in self.BAD_BUCKETS:
            resp = raw_request(self.node, "POST", "/v1/buckets/" + enc, {"Content-Type": "application/json"},
                               b'{"action":"create-bck"}')
            yield enc, resp

    def test_invalid_bucket_names(self):
        for enc, resp in self._bad_bucket_errors():
            with self.subTest(bucket=enc):
                self.check_error_response(resp, 400, "POST", None, self.node_id)
        # the longest legal name works
        ok = "y" * 64
        r = self.s.post(self.node.bck_url(ok), json={"action": "create-bck"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.s.delete(self.node.bck_url(ok), timeout=T).status_code, 200)

    def test_invalid_bucket_name_messages(self):
        # docs/API.md "Errors": messages name the bucket as ais://b
        for enc, resp in self._bad_bucket_errors():
            with self.subTest(bucket=enc):
                self.assertEqual(resp.status, 400)
                self.assertIn("ais://", json.loads(resp.body)["message"])

    def test_malformed_json_and_unknown_action(self):
        b = self.new_bucket_name()
        url = self.node.bck_url(b)
        r = self.s.post(url, data=b'{"action": "create-bck"', headers={"Content-Type": "application/json"},
                        timeout=T)
        self.check_error_response(r, 400, "POST", "/v1/buckets/" + b, self.node_id)
        r = self.s.post(url, json={"action": "no-such-action"}, timeout=T)
        self.check_error_response(r, 400, "POST", "/v1/buckets/" + b, self.node_id)
        # neither created the bucket
        self.assertEqual(self.s.head(url, timeout=T).status_code, 404)

    def test_list_missing_bucket(self):
        b = self.new_bucket_name("missing")
        r = self.s.get(self.node.bck_url(b), json={"action": "list", "value": {}}, timeout=T)
        err = self.check_error_response(r, 404, "GET", "/v1/buckets/" + b, self.node_id)
        self.assertIn('bucket "ais://%s" does not exist' % b, err["message"])


# ==========================================================================================
class ObjectTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = "objects"
        r = cls.s.post(cls.node.bck_url(cls.b), json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text

    def check_obj_headers(self, h, data, version=None):
        self.assertEqual(h.get("Ais-Checksum-Type"), "xxhash")
        self.assertRegex(h.get("Ais-Checksum-Value", ""), HEX16)
        self.assertEqual(h.get("Ais-Checksum-Value"), xxh64_hex(data))
        self.assertRegex(h.get("Ais-Version", ""), r"^[1-9]\d*$")
        if version is not None:
            self.assertEqual(h.get("Ais-Version"), str(version))
        atime = h.get("Ais-Atime", "")
        self.assertRegex(atime, r"^\d+$")
        self.assertLess(abs(int(atime) / 1e9 - time.time()), 3600, "Ais-Atime is not unix ns: %s" % atime)

    def test_put_get_head_delete(self):
        data = os.urandom(12345)
        name = "dir/sub/obj.bin"
        r = self.put_ok(self.b, name, data)
        self.assertEqual(r.content, b"")
        self.check_obj_headers(r.headers, data, 1)

        r = self.get(self.b, name)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, data)
        self.assertEqual(r.headers["Content-Length"], str(len(data)))
        self.check_obj_headers(r.headers, data, 1)
        self.assertEqual(r.headers.get("Accept-Ranges"), "bytes")
        lm = email.utils.parsedate_to_datetime(r.headers["Last-Modified"])
        self.assertLess(abs(lm.timestamp() - time.time()), 3600)

        r = self.head(self.b, name)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"")
        self.assertEqual(r.headers["Content-Length"], str(len(data)))
        self.check_obj_headers(r.headers, data, 1)
        self.assertEqual(r.headers.get("Ais-Name"), name)
        self.assertEqual(r.headers.get("Ais-Bucket-Name"), self.b)
        self.assertEqual(r.headers.get("Ais-Bucket-Provider"), "ais")
        self.assertEqual(r.headers.get("Ais-Present"), "true")
        self.assertTrue(r.headers.get("Ais-Location"))

        r = self.s.delete(self.node.obj_url(self.b, name), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        path = self.node.obj_path(self.b, name)
        r = self.get(self.b, name)
        err = self.check_error_response(r, 404, "GET", path, self.node_id)
        self.assertIn("t[%s]: ais://%s/%s does not exist" % (self.node_id, self.b, name), err["message"])
        r = self.head(self.b, name)
        err = self.check_error_response(r, 404, "HEAD", path, self.node_id)
        self.assertIn("ais://%s/%s" % (self.b, name), err["message"])
        r = self.s.delete(self.node.obj_url(self.b, name), timeout=T)
        self.check_error_response(r, 404, "DELETE", path, self.node_id)

    def test_provider_query_param(self):
        data = b"with provider"
        r = self.put(self.b, "prov", data, query={"provider": "ais"})
        self.assertEqual(r.status_code, 200, r.text)
        r = self.get(self.b, "prov", query={"provider": "ais"})
        self.assertEqual(r.content, data)

    def test_empty_object(self):
        r = self.put_ok(self.b, "empty", b"")
        self.assertEqual(r.headers.get("Ais-Checksum-Value"), EMPTY_XXH)
        r = self.get(self.b, "empty")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"")
        self.assertEqual(r.headers.get("Content-Length"), "0")
        self.assertEqual(r.headers.get("Ais-Checksum-Value"), EMPTY_XXH)

    def test_known_checksum_vectors(self):
        for data, want in ((b"abc", "44bc2cf5ad770999"), (b"", EMPTY_XXH)):
            r = self.put_ok(self.b, "vec", data)
            self.assertEqual(r.headers.get("Ais-Checksum-Value"), want)

    def test_versions_increment(self):
        name = "versioned"
        for v in range(1, 5):
            data = ("version %d" % v).encode()
            r = self.put_ok(self.b, name, data)
            self.assertEqual(r.headers.get("Ais-Version"), str(v))
            g = self.get(self.b, name)
            self.assertEqual(g.content, data)
            self.assertEqual(g.headers.get("Ais-Version"), str(v))
        ents = [e for e in self.list_json(self.b, {"prefix": name}).json()["entries"] if e["name"] == name]
        self.assertEqual(ents[0]["version"], "4")
        # delete and re-create: starts over at 1 (AIStore ais-bucket semantics)
        self.assertEqual(self.s.delete(self.node.obj_url(self.b, name), timeout=T).status_code, 200)
        self.assertEqual(self.put_ok(self.b, name, b"again").headers.get("Ais-Version"), "1")

    def test_missing_bucket(self):
        nb = self.new_bucket_name("nob")
        r = self.put(nb, "o", b"x")
        err = self.check_error_response(r, 404, "PUT", "/v1/objects/%s/o" % nb, self.node_id)
        self.assertIn("ais://%s" % nb, err["message"])
        r = self.get(nb, "o")
        err = self.check_error_response(r, 404, "GET", "/v1/objects/%s/o" % nb, self.node_id)
        self.assertIn("ais://%s" % nb, err["message"])
        r = self.head(nb, "o")
        self.check_error_response(r, 404, "HEAD", "/v1/objects/%s/o" % nb, self.node_id)

    def test_s3_naming_file_and_prefix(self):
        b = self.make_bucket()
        objs = {"a": b"file a", "a/b": b"file a/b", "a/b/c": b"file a/b/c", "a/bc": b"a/bc", "a-": b"a-"}
        for n, d in objs.items():
            self.put_ok(b, n, d)
        for n, d in objs.items():
            self.assertEqual(self.get(b, n).content, d, n)
        self.assertEqual(self.list_all_names(b), sorted(objs, key=lambda s: s.encode()))
        self.assertEqual(self.list_all_names(b, "a/b"), ["a/b", "a/b/c", "a/bc"])
        self.assertEqual(self.s.delete(self.node.obj_url(b, "a"), timeout=T).status_code, 200)
        self.assertEqual(self.get(b, "a").status_code, 404)
        self.assertEqual(self.get(b, "a/b").content, b"file a/b")
        self.assertEqual(self.s.delete(self.node.obj_url(b, "a/b"), timeout=T).status_code, 200)
        self.assertEqual(self.get(b, "a/b/c").content, b"file a/b/c")

    def test_slash_escaping_equivalent(self):
        self.put_ok(self.b, "esc/x/y", b"escaped")
        r = self.s.get("%s/v1/objects/%s/esc%%2Fx%%2Fy" % (self.node.url, self.b), timeout=T)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"escaped")

    def test_unusual_but_valid_names(self):
        b = self.make_bucket()
        names = ["spaces in name", "unicode-\u00e9\u4e2d\u6587-\U0001F600", "q?mark", "hash#tag",
                 "pct%41", "a..b", "...", "x/...", "dots.", "plus+sign", "semi;colon", "x/y/.hidden",
                 "tab\tchar", "trailing/", "n" * 1024]
        for n in names:
            with self.subTest(name=n[:40]):
                data = ("content of " + n).encode()
                r = self.put(b, n, data)
                self.assertEqual(r.status_code, 200, r.text)
                g = self.get(b, n)
                self.assertEqual(g.status_code, 200)
                self.assertEqual(g.content, data)
        listed = self.list_all_names(b)
        self.assertEqual(listed, sorted(names, key=lambda s: s.encode()))

    BAD_OBJECTS = {
        "dotdot": "a/../b", "dotdot-lead": "../x", "dotdot-tail": "a/..", "dotdot-only": "..",
        "dot-seg": "a/./b", "dotdot-escaped": "a/%2E%2E/b", "dotdot-escaped-slash": "a%2F..%2Fb",
        "nul": "a%00b", "nul-end": "ab%00", "bad-utf8": "a%FFb", "overlong-utf8": "%C0%AE",
        "too-long": "n" * 1025, "too-long-escaped": "%C3%A9" * 513, "empty": "",
    }

    def test_invalid_object_name_messages(self):
        # docs/API.md "Errors": messages name objects as ais://b/o (at least the bucket part)
        for tag, enc in self.BAD_OBJECTS.items():
            if tag == "empty":
                continue
            with self.subTest(case=tag):
                resp = raw_request(self.node, "PUT", "/v1/objects/%s/%s" % (self.b, enc), body=b"payload")
                self.assertEqual(resp.status, 400)
                self.assertIn("ais://%s/" % self.b, json.loads(resp.body)["message"])

    def test_invalid_object_names(self):
        for tag, enc in self.BAD_OBJECTS.items():
            path = "/v1/objects/%s/%s" % (self.b, enc)
            with self.subTest(case=tag):
                resp = raw_request(self.node, "PUT", path, body=b"payload")
                self.check_error_response(resp, 400, "PUT", None, self.node_id)
                resp = raw_request(self.node, "GET", path)
                self.check_error_response(resp, 400, "GET", None, self.node_id)
        # nothing got stored under any spelling
        names = self.list_all_names(self.b)
        for n in names:
            self.assertNotIn("\x00", n)
            self.assertNotIn("..", n.split("/"))
            self.assertLessEqual(len(n.encode()), 1024)

    def test_leading_slash_cannot_escape(self):
        # `//etc/...`: either rejected (400) or stored as a plain object inside the bucket.
        marker = "aisle-it-escape-%d" % os.getpid()
        path = "/v1/objects/%s//tmp/%s" % (self.b, marker)
        resp = raw_request(self.node, "PUT", path, body=b"nope")
        self.assertIn(resp.status, (200, 400), resp)
        self.assertFalse(os.path.exists("/tmp/" + marker))
        resp = raw_request(self.node, "PUT", "/v1/objects/%s/..%%2F..%%2F..%%2Ftmp%%2F%s" % (self.b, marker),
                           body=b"nope")
        self.assertEqual(resp.status, 400, resp)
        self.assertFalse(os.path.exists("/tmp/" + marker))

    def test_custom_metadata(self):
        name = "custom"
        self.put_ok(self.b, name, b"md", headers={"Ais-Custom-Md": "k1=v1,k2=v2"})
        path = self.node.obj_path(self.b, name)
        with RawConn.to(self.node) as c:
            for method in ("GET", "HEAD"):
                resp = c.request(method, path)
                self.assertEqual(resp.status, 200)
                self.assertEqual(sorted(resp.get_all("Ais-Custom-Md")), ["k1=v1", "k2=v2"], method)
            r = self.s.patch(self.node.obj_url(self.b, name), json={"action": "", "value": {"k3": "v3"}},
                             timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            resp = c.request("GET", path)
            self.assertEqual(sorted(resp.get_all("Ais-Custom-Md")), ["k1=v1", "k2=v2", "k3=v3"])
            self.assertEqual(resp.body, b"md")
            r = self.s.patch(self.node.obj_url(self.b, name, {"set-new-custom": "true"}),
                             json={"action": "", "value": {"k9": "v9"}}, timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            resp = c.request("HEAD", path)
            self.assertEqual(resp.get_all("Ais-Custom-Md"), ["k9=v9"])
        r = self.s.patch(self.node.obj_url(self.b, "no-such-obj"), json={"action": "", "value": {"a": "b"}},
                         timeout=T)
        self.check_error_response(r, 404, "PATCH", self.node.obj_path(self.b, "no-such-obj"), self.node_id)
        # overwrite without custom md drops it
        self.put_ok(self.b, name, b"md2")
        resp = raw_request(self.node, "HEAD", path)
        self.assertEqual(resp.get_all("Ais-Custom-Md"), [])

    def test_checksum_verified_on_put(self):
        data = os.urandom(5000)
        good = {"Ais-Checksum-Type": "xxhash", "Ais-Checksum-Value": xxh64_hex(data)}
        r = self.put(self.b, "ck-good", data, headers=good)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("Ais-Checksum-Value"), xxh64_hex(data))

        bad = {"Ais-Checksum-Type": "xxhash", "Ais-Checksum-Value": xxh64_hex(data + b"x")}
        r = self.put(self.b, "ck-bad", data, headers=bad)
        err = self.check_error_response(r, 400, "PUT", self.node.obj_path(self.b, "ck-bad"), self.node_id)
        self.assertIn("BAD DATA CHECKSUM", err["message"])
        self.assertEqual(self.get(self.b, "ck-bad").status_code, 404)
        self.assertNotIn("ck-bad", self.list_all_names(self.b, "ck-"))

        # a failed overwrite keeps the old object and its version
        r = self.put(self.b, "ck-good", b"other", headers=bad)
        self.assertEqual(r.status_code, 400)
        g = self.get(self.b, "ck-good")
        self.assertEqual(g.content, data)
        self.assertEqual(g.headers.get("Ais-Version"), "1")

    def test_range_requests(self):
        data = bytes(range(100))
        self.put_ok(self.b, "range", data)
        cases = [("bytes=0-0", 0, 0), ("bytes=-5", 95, 99), ("bytes=5-", 5, 99), ("bytes=10-19", 10, 19),
                 ("bytes=95-200", 95, 99), ("bytes=0-99", 0, 99), ("bytes=99-", 99, 99), ("bytes=-200", 0, 99)]
        for rng, a, z in cases:
            with self.subTest(range=rng):
                r = self.get(self.b, "range", headers={"Range": rng})
                self.assertEqual(r.status_code, 206, r.text)
                self.assertEqual(r.content, data[a:z + 1])
                self.assertEqual(r.headers.get("Content-Range"), "bytes %d-%d/100" % (a, z))
                self.assertEqual(r.headers.get("Content-Length"), str(z - a + 1))
                self.assertEqual(r.headers.get("Accept-Ranges"), "bytes")
        for rng in ("bytes=100-", "bytes=200-300", "bytes=100-100", "bytes=-0"):
            with self.subTest(range=rng):
                r = self.get(self.b, "range", headers={"Range": rng})
                self.check_error_response(r, 416, "GET", self.node.obj_path(self.b, "range"), self.node_id)
                self.assertEqual(r.headers.get("Content-Range"), "bytes */100")
        for rng in ("bytes=0-1,5-6", "bytes=0-0, 10-"):
            with self.subTest(range=rng):
                r = self.get(self.b, "range", headers={"Range": rng})
                self.assertEqual(r.status_code, 416, r.text)
        for rng in ("bytes=abc", "bytes=5-2", "items=0-5", "bytes=--5", "bytes="):
            with self.subTest(range=rng):
                r = self.get(self.b, "range", headers={"Range": rng})
                self.assertEqual(r.status_code, 200, "malformed range %r must be ignored" % rng)
                self.assertEqual(r.content, data)

    def test_range_on_empty_object(self):
        self.put_ok(self.b, "range-empty", b"")
        for rng in ("bytes=0-0", "bytes=0-", "bytes=5-10"):
            with self.subTest(range=rng):
                r = self.get(self.b, "range-empty", headers={"Range": rng})
                self.assertEqual(r.status_code, 416, r.text)
                self.assertEqual(r.headers.get("Content-Range"), "bytes */0")
        r = self.get(self.b, "range-empty", headers={"Range": "bytes=-5"})
        # suffix range on an empty representation: unsatisfiable (416) or the whole (empty) object
        self.assertIn(r.status_code, (200, 416), r.text)
        if r.status_code == 416:
            self.assertEqual(r.headers.get("Content-Range"), "bytes */0")
        else:
            self.assertEqual(r.content, b"")

    def test_range_large_object(self):
        data = os.urandom(3 * 1024 * 1024 + 7)
        self.put_ok(self.b, "range-big", data)
        for a, z in ((0, 65535), (1 << 20, (2 << 20) + 12345), (len(data) - 10, len(data) - 1)):
            r = self.get(self.b, "range-big", headers={"Range": "bytes=%d-%d" % (a, z)})
            self.assertEqual(r.status_code, 206)
            self.assertEqual(r.content, data[a:z + 1])

    def test_rename(self):
        b = self.make_bucket()
        self.put_ok(b, "old/name", b"to be renamed", headers={"Ais-Custom-Md": "k=v"})
        r = self.s.post(self.node.obj_url(b, "old/name"), json={"action": "rename-obj", "name": "new/name"},
                        timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get(b, "old/name").status_code, 404)
        g = self.get(b, "new/name")
        self.assertEqual(g.status_code, 200)
        self.assertEqual(g.content, b"to be renamed")
        self.assertEqual(g.headers.get("Ais-Checksum-Value"), xxh64_hex(b"to be renamed"))
        self.assertEqual(self.list_all_names(b), ["new/name"])
        r = self.s.post(self.node.obj_url(b, "old/name"), json={"action": "rename-obj", "name": "x"}, timeout=T)
        self.check_error_response(r, 404, "POST", "/v1/objects/%s/old/name" % b, self.node_id)
        r = self.s.post(self.node.obj_url(b, "new/name"), json={"action": "rename-obj", "name": "a/../b"},
                        timeout=T)
        self.check_error_response(r, 400, "POST", "/v1/objects/%s/new/name" % b, self.node_id)
        self.assertEqual(self.get(b, "new/name").content, b"to be renamed")
        # rename onto an existing name replaces it
        self.put_ok(b, "other", b"other")
        r = self.s.post(self.node.obj_url(b, "other"), json={"action": "rename-obj", "name": "new/name"},
                        timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get(b, "new/name").content, b"other")
        self.assertEqual(self.list_all_names(b), ["new/name"])

    def _append(self, b, name, data, handle, typ="append"):
        r = self.put(b, name, data, query={"append_type": typ, "append_handle": handle})
        self.assertEqual(r.status_code, 200, "append %s: %s" % (typ, r.text))
        return r

    def test_append_flow(self):
        b = self.make_bucket()
        r = self._append(b, "log", b"abc", "")
        h = r.headers.get("Ais-Append-Handle", "")
        self.assertTrue(h.startswith(self.node_id + "|"), h)
        parts = h.split("|")
        self.assertEqual(len(parts), 4, h)
        self.assertEqual(parts[2], "xxhash")
        self.assertTrue(parts[1])
        r = self._append(b, "log", b"def", h)
        self.assertEqual(r.headers.get("Ais-Append-Handle"), h)
        r = self._append(b, "log", os.urandom(0), h)  # empty append is fine
        self.assertEqual(self.get(b, "log").status_code, 404, "object visible before flush")
        self._append(b, "log", b"", h, "flush")
        g = self.get(b, "log")
        self.assertEqual(g.status_code, 200)
        self.assertEqual(g.content, b"abcdef")
        self.assertEqual(g.headers.get("Ais-Checksum-Value"), xxh64_hex(b"abcdef"))
        self.assertEqual(self.list_all_names(b), ["log"])

    def test_append_to_existing_object(self):
        b = self.make_bucket()
        self.put_ok(b, "base", b"XYZ")
        h = self._append(b, "base", b"123", "").headers["Ais-Append-Handle"]
        self.assertEqual(self.get(b, "base").content, b"XYZ", "old content changed before flush")
        h2 = self._append(b, "base", b"456" * 100000, h).headers["Ais-Append-Handle"]
        self.assertEqual(h2, h)
        self._append(b, "base", b"", h, "flush")
        want = b"XYZ123" + b"456" * 100000
        g = self.get(b, "base")
        self.assertEqual(g.content, want)
        self.assertEqual(g.headers.get("Ais-Checksum-Value"), xxh64_hex(want))
        self.assertEqual(g.headers.get("Ais-Version"), "2")

    def test_append_bad_handle(self):
        b = self.make_bucket()
        r = self.put(b, "x", b"zz", query={"append_type": "append", "append_handle": "garbage"})
        self.assertEqual(r.status_code // 100, 4, r.text)
        r = self.put(b, "x", b"zz", query={"append_type": "bogus", "append_handle": ""})
        self.check_error_response(r, 400, "PUT", "/v1/objects/%s/x" % b, self.node_id)
        self.assertEqual(self.list_all_names(b), [])

    def test_big_roundtrip_20mib(self):
        data = os.urandom(20 * 1024 * 1024)
        r = self.put_ok(self.b, "big/20m", data)
        self.assertEqual(r.headers.get("Ais-Checksum-Value"), xxh64_hex(data))
        g = self.s.get(self.node.obj_url(self.b, "big/20m"), timeout=60)
        self.assertEqual(g.status_code, 200)
        self.assertEqual(len(g.content), len(data))
        self.assertTrue(g.content == data, "20 MiB GET differs from PUT")
        self.assertEqual(g.headers.get("Ais-Checksum-Value"), xxh64_hex(data))

    def _contended_puts(self, b, n=8):
        contents = [bytes([i]) * (1024 * 1024 + i) for i in range(n)]

        def one(i):
            with requests.Session() as s:
                return s.put(self.node.obj_url(b, "contended"), data=contents[i], timeout=60)

        with concurrent.futures.ThreadPoolExecutor(n) as ex:
            results = list(ex.map(one, range(n)))
        for r in results:
            self.assertEqual(r.status_code, 200, r.text)
        return contents, results

    def test_overwrite_and_delete_during_get(self):
        # a GET that has started streams one consistent version: overwrite or delete mid-stream
        # must not tear it (headers and bytes belong to the same version)
        b = self.make_bucket()
        old = os.urandom(16 * 1024 * 1024)
        self.put_ok(b, "hot", old)
        for action in ("overwrite", "delete"):
            with self.subTest(action=action):
                with requests.get(self.node.obj_url(b, "hot"), stream=True, timeout=60) as r:
                    self.assertEqual(r.status_code, 200)
                    it = r.iter_content(256 * 1024)
                    first = next(it)
                    if action == "overwrite":
                        self.put_ok(b, "hot", os.urandom(len(old)))
                    else:
                        self.assertEqual(self.s.delete(self.node.obj_url(b, "hot"), timeout=T).status_code, 200)
                    body = first + b"".join(it)
                    self.assertEqual(len(body), int(r.headers["Content-Length"]))
                    self.assertTrue(body == old, "GET body torn by a concurrent %s" % action)
                    self.assertEqual(r.headers["Ais-Checksum-Value"], xxh64_hex(old))
                if action == "overwrite":
                    old = self.get(b, "hot").content

    def test_concurrent_puts_same_name(self):
        b = self.make_bucket()
        contents, results = self._contended_puts(b)
        g = self.get(b, "contended")
        self.assertIn(g.content, contents, "final object is not one complete version")
        self.assertEqual(g.headers.get("Ais-Checksum-Value"), xxh64_hex(g.content))
        # the winner's PUT response describes the object that is stored
        winner = [r for r in results if r.headers.get("Ais-Checksum-Value") == xxh64_hex(g.content)]
        self.assertEqual(len(winner), 1)
        ents = self.list_json(b).json()["entries"]
        self.assertEqual([e["name"] for e in ents], ["contended"])
        self.assertEqual(int(ents[0]["size"]), len(g.content))
        self.assertEqual(ents[0]["checksum"], xxh64_hex(g.content))

    def test_concurrent_puts_versions_distinct(self):
        # every acknowledged overwrite is "+1" (ais-api.md §2): 8 PUTs => versions 1..8, last one stored
        b = self.make_bucket()
        contents, results = self._contended_puts(b)
        versions = sorted(int(r.headers["Ais-Version"]) for r in results)
        self.assertEqual(versions, list(range(1, 9)), "versions of 8 concurrent PUTs")
        g = self.get(b, "contended")
        self.assertEqual(g.headers.get("Ais-Version"), "8")
        winner = [r for r in results if r.headers.get("Ais-Checksum-Value") == xxh64_hex(g.content)]
        self.assertEqual([r.headers.get("Ais-Version") for r in winner], ["8"])


# ==========================================================================================
class ListObjectsTest(Base):
    N = 25

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = "listing"
        r = cls.s.post(cls.node.bck_url(cls.b), json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text
        cls.objs = {}
        rnd = random.Random(7)
        for i in range(cls.N):
            name = ("dir%d/" % (i % 3)) + "obj-%03d" % rnd.randrange(1000) + "-%d" % i
            data = os.urandom(rnd.randrange(0, 3000))
            cls.objs[name] = data
            r = cls.s.put(cls.node.obj_url(cls.b, name), data=data, timeout=T)
            assert r.status_code == 200, r.text
        cls.names = sorted(cls.objs, key=lambda s: s.encode())

    def test_json_shape(self):
        r = self.list_json(self.b)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
        res = r.json()
        self.assertEqual(set(res), {"uuid", "continuation_token", "entries", "flags"})
        self.assertTrue(res["uuid"])
        self.assertEqual(res["continuation_token"], "")
        self.assertIsInstance(res["flags"], int)
        self.assertEqual([e["name"] for e in res["entries"]], self.names)
        for e in res["entries"]:
            data = self.objs[e["name"]]
            self.assertIsInstance(e["size"], str)
            if data:
                self.assertEqual(e["size"], str(len(data)))
            else:
                self.assertIn(e.get("size", "0"), ("0",))
            self.assertEqual(e["checksum"], xxh64_hex(data))
            self.assertEqual(e["version"], "1")
            email.utils.parsedate_to_datetime(e["atime"])  # RFC822
            self.assertEqual(e.get("flags", 0) & 64, 64, e)
            self.assertTrue(set(e) <= {"name", "size", "checksum", "atime", "version", "flags", "location",
                                       "custom-md", "copies"}, e)

    def test_no_body_defaults(self):
        r = self.s.get(self.node.bck_url(self.b), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([e["name"] for e in r.json()["entries"]], self.names)

    def test_python_sdk_body(self):
        body = {"action": "list", "name": "", "value": {"prefix": "", "pagesize": 0, "uuid": "", "props": "",
                                                        "continuation_token": "", "flags": "0", "target": ""}}
        r = self.s.get(self.node.bck_url(self.b), params={"provider": "ais"}, json=body,
                       headers={"Accept": "application/msgpack"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("Content-Type"), "application/msgpack")
        res = msgpack.unpackb(r.content, raw=False)
        self.assertEqual([e["n"] for e in res["Entries"]], self.names)

    def test_msgpack_shape(self):
        r = self.list_json(self.b, {}, headers={"Accept": "application/msgpack"})
        self.assertEqual(r.headers.get("Content-Type"), "application/msgpack")
        res = msgpack.unpackb(r.content, raw=False)
        self.assertIsInstance(res, dict)
        self.assertEqual(set(res), {"UUID", "ContinuationToken", "Entries", "Flags"})
        self.assertTrue(res["UUID"])
        self.assertEqual(res["ContinuationToken"], "")
        self.assertIsInstance(res["Flags"], int)
        self.assertEqual([e["n"] for e in res["Entries"]], self.names)
        for e in res["Entries"]:
            data = self.objs[e["n"]]
            self.assertTrue(set(e) <= {"n", "s", "cs", "a", "v", "f", "t", "m", "c"}, e)
            self.assertEqual(e.get("s", 0), len(data))
            if data:
                self.assertIsInstance(e["s"], int)
            self.assertEqual(e["cs"], xxh64_hex(data))
            self.assertEqual(e["v"], "1")
            self.assertEqual(e["f"] & 64, 64)
            self.assertTrue(e["a"])

    def test_msgpack_empty_bucket(self):
        b = self.make_bucket()
        r = self.list_json(b, {}, headers={"Accept": "application/msgpack"})
        self.assertEqual(r.headers.get("Content-Type"), "application/msgpack")
        res = msgpack.unpackb(r.content, raw=False)
        self.assertEqual(set(res), {"UUID", "ContinuationToken", "Entries", "Flags"})
        self.assertEqual(res["Entries"], [])
        self.assertEqual(res["ContinuationToken"], "")
        self.assertTrue(res["UUID"])

    def _paginate(self, pagesize, prefix="", msgpack_fmt=False):
        pages, token, uuid = [], "", ""
        for _ in range(100):
            value = {"pagesize": pagesize, "continuation_token": token, "uuid": uuid, "prefix": prefix}
            hdrs = {"Accept": "application/msgpack"} if msgpack_fmt else {}
            r = self.list_json(self.b, value, headers=hdrs)
            if msgpack_fmt:
                m = msgpack.unpackb(r.content, raw=False)
                res = {"uuid": m["UUID"], "continuation_token": m["ContinuationToken"],
                       "entries": [{"name": e["n"]} for e in m["Entries"]]}
            else:
                res = r.json()
            self.assertTrue(res["uuid"])
            if uuid:
                self.assertEqual(res["uuid"], uuid)
            uuid = res["uuid"]
            pages.append([e["name"] for e in res["entries"]])
            token = res["continuation_token"]
            if not token:
                return pages
        self.fail("pagination did not terminate")

    def test_pagination(self):
        for fmt in (False, True):
            for ps in (1, 7, 10, 25, 26):
                with self.subTest(pagesize=ps, msgpack=fmt):
                    pages = self._paginate(ps, msgpack_fmt=fmt)
                    flat = [n for p in pages for n in p]
                    self.assertEqual(flat, self.names, "duplicates or gaps")
                    for p in pages[:-1]:
                        self.assertEqual(len(p), ps)
                    self.assertLessEqual(len(pages[-1]), ps)
                    self.assertLessEqual(len(pages), self.N // ps + 1)

    def test_pagination_with_concurrent_changes(self):
        b = self.make_bucket()
        for i in range(10):
            self.put_ok(b, "p%02d" % i, b"x")
        r = self.list_json(b, {"pagesize": 4}).json()
        got = [e["name"] for e in r["entries"]]
        self.assertEqual(got, ["p00", "p01", "p02", "p03"])
        # a name inserted before the cursor and one after
        self.put_ok(b, "p00a", b"y")
        self.put_ok(b, "p05a", b"y")
        token, uuid = r["continuation_token"], r["uuid"]
        while token:
            r = self.list_json(b, {"pagesize": 4, "continuation_token": token, "uuid": uuid}).json()
            got += [e["name"] for e in r["entries"]]
            token = r["continuation_token"]
        self.assertEqual(len(got), len(set(got)), "duplicates: %s" % got)
        self.assertEqual(got, sorted(got))
        for i in range(10):
            self.assertIn("p%02d" % i, got)
        self.assertIn("p05a", got)

    def test_prefix(self):
        for pfx in ("dir1/", "dir2/obj", "dir", "nomatch", ""):
            with self.subTest(prefix=pfx):
                want = [n for n in self.names if n.startswith(pfx)]
                self.assertEqual(self.list_all_names(self.b, pfx), want)
                pages = self._paginate(3, prefix=pfx)
                self.assertEqual([n for p in pages for n in p], want)

    def test_start_after(self):
        mid = self.names[10]
        r = self.list_json(self.b, {"start_after": mid})
        self.assertEqual([e["name"] for e in r.json()["entries"]], self.names[11:])

    def test_pagesize_zero_is_all(self):
        r = self.list_json(self.b, {"pagesize": 0})
        self.assertEqual(len(r.json()["entries"]), self.N)

    def test_bad_list_body(self):
        r = self.s.get(self.node.bck_url(self.b), data=b'{"action":"list","value":{', timeout=T,
                       headers={"Content-Type": "application/json"})
        self.check_error_response(r, 400, "GET", "/v1/buckets/" + self.b, self.node_id)


# ==========================================================================================
class WireTest(Base):
    """HTTP/1.1 behaviour that `requests` would hide: 100-continue, chunked bodies, keep-alive."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = "wire"
        r = cls.s.post(cls.node.bck_url(cls.b), json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text

    def test_expect_100_continue(self):
        data = os.urandom(300000)
        path = self.node.obj_path(self.b, "expect")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Content-Length", str(len(data))),
                                                 ("Expect", "100-continue")]))
            status, _, _ = c.read_head()
            self.assertEqual(status, 100, "no 100 Continue before the body was sent")
            c.send(data)
            resp = c.read_response()
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.get("Ais-Checksum-Value"), xxh64_hex(data))
            # connection still usable
            resp = c.request("GET", path)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.body, data)

    def test_expect_100_continue_error_first(self):
        # missing bucket: the server may answer 404 right away, or send 100 and then 404
        path = "/v1/objects/%s/x" % self.new_bucket_name("nob")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Content-Length", "1000"), ("Expect", "100-continue"),
                                                 ("Connection", "close")]))
            status, reason, headers = c.read_head()
            if status == 100:
                c.send(b"z" * 1000)
                resp = c.read_response()
            else:
                resp = c.read_body(RawResponse(status, reason, headers, b""))
            self.check_error_response(resp, 404, "PUT", path, self.node_id)

    def test_unknown_expectation_is_417_before_the_body(self):
        # Issue 16: anything but 100-continue (case-insensitive) is refused; no body is read.
        path = self.node.obj_path(self.b, "expect-bogus")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Content-Length", "1000"),
                                                 ("Expect", "200-ok")]))
            resp = c.read_response()
            self.check_error_response(resp, 417, "PUT", path, self.node_id)
        self.assertEqual(raw_request(self.node, "HEAD", path).status, 404)
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Content-Length", "3"),
                                                 ("Expect", "100-Continue")]))
            status, _, _ = c.read_head()
            self.assertEqual(status, 100)
            c.send(b"abc")
            self.assertEqual(c.read_response().status, 200)

    def test_trace_and_unknown_methods_are_405(self):
        for method in ("TRACE", "CONNECT", "FROB"):
            for path in ("/v1/health", "/v1/daemon?what=smap", self.node.obj_path(self.b, "x"),
                         "/v1/buckets/" + self.b):
                resp = raw_request(self.node, method, path)
                self.check_error_response(resp, 405, method, path.split("?")[0], self.node_id)

    def test_chunked_request_body(self):
        pieces = [os.urandom(n) for n in (1, 100, 65536, 3, 200000, 17)]
        data = b"".join(pieces)
        path = self.node.obj_path(self.b, "chunked")
        body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Transfer-Encoding", "chunked")]))
            # send in odd slices so chunk framing straddles reads
            for i in range(0, len(body), 7777):
                c.send(body[i:i + 7777])
            resp = c.read_response()
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.get("Ais-Checksum-Value"), xxh64_hex(data))
            resp = c.request("GET", path)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.body, data)

    def test_chunked_with_extension_and_trailer(self):
        path = self.node.obj_path(self.b, "chunked-ext")
        body = b"5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Transfer-Encoding", "chunked")]) + body)
            resp = c.read_response()
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(c.request("GET", path).body, b"hello world")

    def test_chunked_with_expect_and_checksum(self):
        data = os.urandom(50000)
        path = self.node.obj_path(self.b, "chunked-ck")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", path, [("Transfer-Encoding", "chunked"), ("Expect", "100-continue"),
                                                 ("Ais-Checksum-Type", "xxhash"),
                                                 ("Ais-Checksum-Value", xxh64_hex(data))]))
            status, _, _ = c.read_head()
            self.assertEqual(status, 100)
            c.send(b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
            resp = c.read_response()
            self.assertEqual(resp.status, 200, resp)

    def test_keep_alive(self):
        with RawConn.to(self.node) as c:
            p = self.node.obj_path(self.b, "ka")
            for i in range(5):
                data = os.urandom(1000 * (i + 1))
                resp = c.request("PUT", p, body=data)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.get("Ais-Version"), str(i + 1))
                resp = c.request("GET", p)
                self.assertEqual(resp.body, data)
                resp = c.request("HEAD", p)
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.get("Content-Length"), str(len(data)))
                resp = c.request("GET", self.node.obj_path(self.b, "ka-missing"))
                self.assertEqual(resp.status, 404)
                resp = c.request("HEAD", self.node.obj_path(self.b, "ka-missing"))
                self.assertEqual(resp.status, 404)
                self.assertTrue(resp.get("Hdr-Error"))
                resp = c.request("GET", "/v1/health")
                self.assertEqual(resp.status, 200)
                resp = c.request("GET", p, [("Range", "bytes=-3")])
                self.assertEqual(resp.body, data[-3:])
            resp = c.request("DELETE", p)
            self.assertEqual(resp.status, 200)
            self.assertFalse(c.closed_by_peer(0.2))

    def test_pipelined_requests(self):
        p = self.node.obj_path(self.b, "pipe")
        self.assertEqual(raw_request(self.node, "PUT", p, body=b"pipelined").status, 200)
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("GET", p) + c.request_bytes("HEAD", p) + c.request_bytes("GET", "/v1/health")
                   + c.request_bytes("GET", p))
            r1 = c.read_response()
            r2 = c.read_response(head=True)
            r3 = c.read_response()
            r4 = c.read_response()
            self.assertEqual((r1.status, r1.body), (200, b"pipelined"))
            self.assertEqual(r2.status, 200)
            self.assertEqual(r3.status, 200)
            self.assertEqual((r4.status, r4.body), (200, b"pipelined"))

    def test_idle_and_slow_connections_do_not_block(self):
        idle = [RawConn.to(self.node) for _ in range(100)]
        slow = RawConn.to(self.node)
        try:
            slow.send(b"GET /v1/hea")  # a request line that never completes
            t0 = time.monotonic()
            for _ in range(5):
                r = self.s.get(self.node.url + "/v1/health", timeout=5)
                self.assertEqual(r.status_code, 200)
            self.assertLess(time.monotonic() - t0, 3.0)
            # idle connections still work afterwards
            resp = idle[7].request("GET", "/v1/health")
            self.assertEqual(resp.status, 200)
        finally:
            for c in idle:
                c.close()
            slow.close()

    def test_connection_close_honoured(self):
        with RawConn.to(self.node) as c:
            resp = c.request("GET", "/v1/health", [("Connection", "close")])
            self.assertEqual(resp.status, 200)
            self.assertTrue(c.closed_by_peer(2.0))

    def test_http10(self):
        with RawConn.to(self.node) as c:
            c.send(b"GET /v1/health HTTP/1.0\r\n\r\n")
            resp = c.read_response()
            self.assertEqual(resp.status, 200)

    def test_put_without_length_rejected_or_read(self):
        # A PUT with neither Content-Length nor chunked has an empty body (RFC 9112 §6.3).
        p = self.node.obj_path(self.b, "nolen")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", p))
            resp = c.read_response()
            self.assertIn(resp.status, (200, 411), resp)
            if resp.status == 200:
                self.assertEqual(c.request("GET", p).body, b"")

    def test_garbage_request_line(self):
        with RawConn.to(self.node) as c:
            c.send(b"THIS IS NOT HTTP\r\n\r\n")
            try:
                resp = c.read_response()
                self.assertEqual(resp.status // 100, 4, resp)
            except ConnectionError:
                pass  # closing the connection is acceptable too
        # the node survives
        self.assertEqual(self.s.get(self.node.url + "/v1/health", timeout=T).status_code, 200)

    def test_client_disconnect_mid_put(self):
        p = self.node.obj_path(self.b, "aborted")
        with RawConn.to(self.node) as c:
            c.send(c.request_bytes("PUT", p, [("Content-Length", str(1 << 20))]) + b"q" * 1000)
        time.sleep(0.3)
        r = self.s.get(self.node.url + p, timeout=T)
        self.assertEqual(r.status_code, 404, "a torn PUT became visible")
        self.assertNotIn("aborted", self.list_all_names(self.b))
        self.assertEqual(self.s.get(self.node.url + "/v1/health", timeout=T).status_code, 200)


class ConcurrencySmokeTest(Base):
    def test_parallel_mixed(self):
        b = self.make_bucket()
        lock = threading.Lock()
        errors = []

        def worker(w):
            with requests.Session() as s:
                for i in range(15):
                    name = "w%d/o%d" % (w, i)
                    data = os.urandom(random.randrange(1, 200000))
                    r = s.put(self.node.obj_url(b, name), data=data, timeout=30)
                    g = s.get(self.node.obj_url(b, name), timeout=30)
                    if r.status_code != 200 or g.content != data:
                        with lock:
                            errors.append((name, r.status_code, g.status_code))

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(self.list_all_names(b)), 8 * 15)


if __name__ == "__main__":
    main()
