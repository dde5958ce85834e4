#!/usr/bin/python3
"""End-to-end tests of the `aisle` CLI against a real aisle-node.

Exit codes: 0 success, 1 failure (message on stderr), 2 usage error. Skipped as a whole only when
the CLI binary (AISLE_CLI_BIN) does not exist."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

from aisle_testlib import (NodeTestCase, cli_bin, free_port, main, make_tmpdir,  # noqa: E402
                           remove_tmpdir)

CLI = cli_bin()
T = 15



def json_names(doc):
    """Object/bucket names from a --json listing, whatever the exact wrapping."""
    if isinstance(doc, dict):
        for k in ("entries", "Entries", "objects", "buckets", "items"):
            if k in doc:
                return json_names(doc[k])
        if "name" in doc:
            return [doc["name"]]
        raise AssertionError("unrecognised --json listing: %r" % (doc,))
    out = []
    for e in doc:
        if isinstance(e, str):
            out.append(e)
        elif isinstance(e, dict):
            out.append(e.get("name", e.get("n")))
    return out


@unittest.skipUnless(os.path.exists(CLI), "aisle CLI not found at %s (AISLE_CLI_BIN)" % CLI)
class CliTest(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = make_tmpdir("aisle-cli-")

    @classmethod
    def tearDownClass(cls):
        remove_tmpdir(cls.tmp)
        super().tearDownClass()

    def cli(self, *args, endpoint=None, json_out=False, input=None, timeout=60):
        argv = [CLI, "--endpoint", endpoint or self.node.url]
        if json_out:
            argv.append("--json")
        argv += list(args)
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, cwd=self.tmp)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, "aisle %s -> %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), p.returncode, p.stdout[:2000], p.stderr[:2000]))
        return p

    def fails(self, code, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, code, "aisle %s: want exit %d, got %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), code, p.returncode, p.stdout[:2000], p.stderr[:2000]))
        self.assertTrue(p.stderr.strip(), "no message on stderr for: aisle %s" % " ".join(args))
        return p

    def path(self, *parts):
        return os.path.join(self.tmp, self._testMethodName, *parts)

    def write(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def http_get(self, b, name):
        return requests.get(self.node.obj_url(b, name), timeout=T)

    def http_names(self, b, prefix=""):
        r = requests.get(self.node.bck_url(b), json={"action": "list", "value": {"prefix": prefix}}, timeout=T)
        r.raise_for_status()
        return [e["name"] for e in r.json()["entries"]]

    # -------------------------------------------------------------------------------------------
    def test_bucket_lifecycle(self):
        b = self.new_bucket_name()
        self.ok("bucket", "create", "ais://" + b)
        self.assertEqual(requests.head(self.node.bck_url(b), timeout=T).status_code, 200)
        p = self.fails(1, "bucket", "create", "ais://" + b)
        self.assertIn(b, p.stderr.decode())
        p = self.ok("bucket", "ls")
        self.assertIn(b, p.stdout.decode())
        p = self.ok("bucket", "ls", json_out=True)
        self.assertIn(b, json_names(json.loads(p.stdout)))
        self.ok("bucket", "rm", "ais://" + b)
        self.assertEqual(requests.head(self.node.bck_url(b), timeout=T).status_code, 404)
        self.fails(1, "bucket", "rm", "ais://" + b)
        p = self.ok("bucket", "ls", json_out=True)
        self.assertNotIn(b, json_names(json.loads(p.stdout)))

    def test_bucket_name_without_scheme(self):
        b = self.new_bucket_name()
        self.ok("bucket", "create", b)
        self.assertEqual(requests.head(self.node.bck_url(b), timeout=T).status_code, 200)
        self.ok("bucket", "rm", b)

    def test_put_get_cat_head_rm(self):
        b = self.make_bucket()
        data = os.urandom(300 * 1024 + 5)
        src = self.write("src.bin", data)
        self.ok("object", "put", src, "ais://%s/dir/obj.bin" % b)
        r = self.http_get(b, "dir/obj.bin")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, data)

        dst = self.path("out.bin")
        self.ok("object", "get", "ais://%s/dir/obj.bin" % b, dst)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), data)

        p = self.ok("object", "cat", "ais://%s/dir/obj.bin" % b)
        self.assertEqual(p.stdout, data)

        p = self.ok("object", "head", "ais://%s/dir/obj.bin" % b)
        self.assertIn(str(len(data)), p.stdout.decode())
        p = self.ok("object", "head", "ais://%s/dir/obj.bin" % b, json_out=True)
        doc = json.loads(p.stdout)
        self.assertIsInstance(doc, dict)
        self.assertIn(str(len(data)), json.dumps(doc))
        self.assertIn(r.headers["Ais-Checksum-Value"], json.dumps(doc))

        self.ok("object", "rm", "ais://%s/dir/obj.bin" % b)
        self.assertEqual(self.http_get(b, "dir/obj.bin").status_code, 404)
        self.fails(1, "object", "rm", "ais://%s/dir/obj.bin" % b)
        self.fails(1, "object", "get", "ais://%s/dir/obj.bin" % b, self.path("out2.bin"))
        p = self.fails(1, "object", "cat", "ais://%s/dir/obj.bin" % b)
        self.assertEqual(p.stdout, b"")
        self.fails(1, "object", "head", "ais://%s/dir/obj.bin" % b)

    def test_get_to_stdout_and_env_endpoint(self):
        # `aisle object get SRC -` writes to stdout (per `aisle object get --help`); the endpoint
        # may come from AIS_ENDPOINT as in AIStore's CLI
        b = self.make_bucket()
        data = os.urandom(70000)
        self.assertEqual(requests.put(self.node.obj_url(b, "o"), data=data, timeout=T).status_code, 200)
        p = self.ok("object", "get", "ais://%s/o" % b, "-")
        self.assertEqual(p.stdout, data)
        env = dict(os.environ, AIS_ENDPOINT=self.node.url)
        p = subprocess.run([CLI, "object", "cat", "ais://%s/o" % b], env=env, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, data)

    def test_overwrite_and_empty_object(self):
        b = self.make_bucket()
        src = self.write("a.txt", b"first")
        self.ok("object", "put", src, "ais://%s/a" % b)
        src = self.write("a.txt", b"")
        self.ok("object", "put", src, "ais://%s/a" % b)
        r = self.http_get(b, "a")
        self.assertEqual((r.status_code, r.content, r.headers.get("Ais-Version")), (200, b"", "2"))
        p = self.ok("object", "cat", "ais://%s/a" % b)
        self.assertEqual(p.stdout, b"")

    def test_large_object(self):
        b = self.make_bucket()
        data = os.urandom(12 * 1024 * 1024 + 3)
        src = self.write("big.bin", data)
        self.ok("object", "put", src, "ais://%s/big" % b)
        dst = self.path("big.out")
        self.ok("object", "get", "ais://%s/big" % b, dst)
        with open(dst, "rb") as f:
            self.assertTrue(f.read() == data, "12 MiB round trip differs")

    def test_names_needing_escapes(self):
        b = self.make_bucket()
        for name in ("with space.txt", "d/\u00fcnic\u00f8de.txt", "q?x#y%z"):
            with self.subTest(name=name):
                src = self.write("n.bin", name.encode())
                self.ok("object", "put", src, "ais://%s/%s" % (b, name))
                r = self.http_get(b, name)
                self.assertEqual(r.status_code, 200, name)
                self.assertEqual(r.content, name.encode())
                p = self.ok("object", "cat", "ais://%s/%s" % (b, name))
                self.assertEqual(p.stdout, name.encode())

    def test_ls(self):
        b = self.make_bucket()
        names = ["a/1", "a/2", "b/1", "c", "a/sub/3"]
        for n in names:
            self.assertEqual(requests.put(self.node.obj_url(b, n), data=n.encode(), timeout=T).status_code, 200)
        p = self.ok("object", "ls", "ais://" + b)
        out = p.stdout.decode()
        for n in names:
            self.assertIn(n, out)
        p = self.ok("object", "ls", "ais://" + b, json_out=True)
        self.assertEqual(sorted(json_names(json.loads(p.stdout))), sorted(names))
        p = self.ok("object", "ls", "ais://%s/a/" % b, json_out=True)
        self.assertEqual(sorted(json_names(json.loads(p.stdout))), ["a/1", "a/2", "a/sub/3"])
        p = self.ok("object", "ls", "ais://%s/a/" % b)
        self.assertNotIn("b/1", p.stdout.decode())
        p = self.ok("object", "ls", "ais://%s/zzz" % b, json_out=True)
        self.assertEqual(json_names(json.loads(p.stdout)), [])
        self.fails(1, "object", "ls", "ais://" + self.new_bucket_name("nob"))

    def test_ls_many_pages(self):
        b = self.make_bucket()
        s = requests.Session()
        names = ["p/%05d" % i for i in range(200)]
        for n in names:
            self.assertEqual(s.put(self.node.obj_url(b, n), data=b"x", timeout=T).status_code, 200)
        p = self.ok("object", "ls", "ais://" + b, json_out=True)
        got = json_names(json.loads(p.stdout))
        self.assertEqual(sorted(got), names)

    def test_recursive_put_get(self):
        b = self.make_bucket()
        files = {"top.txt": b"top", "d1/a.bin": os.urandom(5000), "d1/d2/b.bin": os.urandom(70000),
                 "d1/empty": b"", "d3/c c.txt": b"spaced"}
        root = self.path("tree")
        for rel, d in files.items():
            self.write(os.path.join("tree", rel), d)
        os.makedirs(os.path.join(root, "emptydir"), exist_ok=True)
        self.ok("object", "put", root, "ais://%s/pfx/" % b, "--recursive")
        self.assertEqual(sorted(self.http_names(b)), sorted("pfx/" + r for r in files))
        for rel, d in files.items():
            self.assertEqual(self.http_get(b, "pfx/" + rel).content, d, rel)

        out = self.path("out")
        os.makedirs(out, exist_ok=True)
        self.ok("object", "get", "ais://%s/pfx" % b, out, "--recursive")
        for rel, d in files.items():
            cands = [os.path.join(out, rel), os.path.join(out, "pfx", rel)]
            found = [c for c in cands if os.path.isfile(c)]
            self.assertTrue(found, "recursive get did not write %s (looked at %s)" % (rel, cands))
            with open(found[0], "rb") as f:
                self.assertEqual(f.read(), d, rel)

    def test_usage_errors(self):
        for args in ([], ["object"], ["object", "put"], ["object", "put", "onlyone"], ["bogus-command"],
                     ["bucket", "frobnicate"], ["object", "get", "ais://b/o", "f", "--no-such-flag"]):
            with self.subTest(args=args):
                p = self.cli(*args)
                self.assertEqual(p.returncode, 2, "aisle %s -> %d (stderr %s)" % (args, p.returncode, p.stderr))

    def test_bad_uri(self):
        src = self.write("f", b"x")
        for uri in ("notauri", "s3x://b/o", "ais://"):
            with self.subTest(uri=uri):
                p = self.cli("object", "put", src, uri)
                self.assertIn(p.returncode, (1, 2))
                self.assertTrue(p.stderr.strip())

    def test_missing_local_file(self):
        b = self.make_bucket()
        self.fails(1, "object", "put", self.path("does-not-exist"), "ais://%s/x" % b)
        self.assertEqual(self.http_names(b), [])

    def test_missing_bucket(self):
        nb = self.new_bucket_name("nob")
        src = self.write("f", b"x")
        p = self.fails(1, "object", "put", src, "ais://%s/x" % nb)
        self.assertIn(nb, p.stderr.decode())
        self.fails(1, "object", "cat", "ais://%s/x" % nb)

    def test_unreachable_endpoint(self):
        url = "http://127.0.0.1:%d" % free_port()
        p = self.cli("bucket", "ls", endpoint=url, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.strip())


if __name__ == "__main__":
    main()
