"""GetBatch (AIStore's /v1/ml/moss) end to end: one proxy and three targets on loopback, driven
through the proxy with Python requests (which re-sends the body on the 307), as AIStore's SDK
`client.batch()` does. Every member of every answer is byte-checked against what was PUT."""

import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_archive import build  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402

T = 60


def data_of(name):
    return (name.encode() * (1 + (sum(name.encode()) % 50)))[: 100 + sum(name.encode()) % 3000]


def untar(data, mode="r:*"):
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as tf:
        for ti in tf.getmembers():
            assert ti.isfile(), ti.name
            out.append((ti.name, tf.extractfile(ti).read()))
    return out


def decode(fmt, data):
    if fmt in ("", ".tar"):
        return untar(data, "r:")
    if fmt in (".tgz", ".tar.gz"):
        return untar(data, "r:gz")
    if fmt == ".zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(i.filename, zf.read(i)) for i in zf.infolist()]
    tool = {".tar.lz4": "lz4", ".tar.zst": "zstd"}[fmt]
    raw = subprocess.run([tool, "-d", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                         check=True).stdout
    return untar(raw, "r:")


def parse_multipart(resp):
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/mixed; boundary="), ctype
    boundary = ctype.split("boundary=", 1)[1].encode()
    body = resp.content
    parts = body.split(b"--" + boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n", (parts[0][:50], parts[-1][:50])
    out = {}
    for p in parts[1:-1]:
        assert p.startswith(b"\r\n") and p.endswith(b"\r\n")
        head, _, content = p[2:-2].partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        out[name] = content
    return out


class GetBatchTest(unittest.TestCase, tl.ErrorAsserts):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        r = requests.post(cls.c.url + "/v1/buckets/gb", json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text
        cls.names = ["obj-%04d" % i for i in range(120)]
        assert set(put_many(cls.c.url, "gb", cls.names, data_of)) == {200}
        cls.members = {"a/one.txt": b"first member\n" * 40, "b/two.bin": os.urandom(5000),
                       "c/three": b"3" * 777}
        for fmt in (".tar", ".tgz", ".zip", ".tar.lz4", ".tar.zst"):
            r = requests.put(cls.c.url + "/v1/objects/gb/shard" + fmt,
                             data=build(fmt, cls.members), timeout=T)
            assert r.status_code == 200, r.text

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def check_error_json(self, text, status, node_id=None, where=""):
        """The AIS error shape, from the proxy (p[...]) or a target (t[...])."""
        err = json.loads(text)
        self.assertTrue(tl.ERROR_KEYS <= set(err), "%r%s" % (err, where))
        self.assertEqual(err["status"], status, where)
        self.assertTrue(err["message"], where)
        if node_id:
            self.assertEqual(err["node"], "t[%s]" % node_id, where)
        else:
            self.assertRegex(err["node"], r"^[pt]\[[A-Za-z][A-Za-z0-9_-]*\]$", where)
        return err

    def moss(self, req, bucket="gb", status=200, stream=False):
        url = self.c.url + "/v1/ml/moss" + ("/" + bucket if bucket else "")
        r = requests.get(url, json=req, timeout=T, stream=stream)
        if not stream:
            self.assertEqual(r.status_code, status, r.content[:400])
        return r

    def batch(self, entries, fmt="", **flags):
        req = {"in": entries, "mime": fmt, "strm": True}
        req.update(flags)
        r = self.moss(req)
        return decode(fmt, r.content), r

    def test_order_across_targets(self):
        names = list(reversed(self.names))
        got, r = self.batch([{"objname": n} for n in names])
        self.assertEqual(r.headers["Content-Type"], "application/x-tar")
        self.assertEqual([n for n, _ in got], ["gb/" + n for n in names])
        for (_, data), n in zip(got, names):
            self.assertEqual(data, data_of(n))
        # The objects really are spread over the three targets.
        owners = {requests.get(self.c.url + "/v1/objects/gb/" + n, allow_redirects=False,
                               timeout=T).headers["Location"].split("/v1/")[0] for n in names}
        self.assertEqual(len(owners), 3)

    def test_ranges(self):
        n = self.names[7]
        d = data_of(n)
        got, _ = self.batch([{"objname": n, "start": 10, "length": 20},
                             {"objname": n, "start": 5, "length": -1},
                             {"objname": n, "start": 0, "length": 0},
                             {"objname": n, "start": len(d), "length": -1}])
        self.assertEqual([g[1] for g in got], [d[10:30], d[5:], d, b""])
        for bad in ({"start": len(d) + 1, "length": -1}, {"start": len(d) - 5, "length": 6},
                    {"start": 0, "length": -2}):
            e = dict(bad, objname=n)
            r = self.moss({"in": [e], "strm": True}, status=416)
            self.check_error_json(r.text, 416)

    def test_archpath_members_every_format(self):
        for fmt in (".tar", ".tgz", ".zip", ".tar.lz4", ".tar.zst"):
            entries = [{"objname": "shard" + fmt, "archpath": m} for m in self.members]
            entries.append({"objname": "shard" + fmt, "archpath": "b/two.bin", "start": 100,
                            "length": 50})
            got, _ = self.batch(entries)
            want = [("gb/shard%s/%s" % (fmt, m), d) for m, d in self.members.items()]
            want.append(("gb/shard%s/b/two.bin" % fmt, self.members["b/two.bin"][100:150]))
            self.assertEqual(got, want, fmt)

    def test_output_formats(self):
        entries = [{"objname": n} for n in self.names[:10]]
        entries.append({"objname": "shard.tgz", "archpath": "c/three"})
        want = [("gb/" + n, data_of(n)) for n in self.names[:10]]
        want.append(("gb/shard.tgz/c/three", self.members["c/three"]))
        types = {"": "application/x-tar", ".tar": "application/x-tar", ".tgz": "application/gzip",
                 ".tar.gz": "application/gzip", ".zip": "application/zip",
                 ".tar.lz4": "application/x-lz4", ".tar.zst": "application/zstd"}
        for fmt, ctype in types.items():
            got, r = self.batch(entries, fmt)
            self.assertEqual(got, want, fmt)
            self.assertEqual(r.headers["Content-Type"], ctype)

    def test_onob_and_entry_buckets(self):
        r = requests.post(self.c.url + "/v1/buckets/gb2", json={"action": "create-bck"}, timeout=T)
        self.assertEqual(r.status_code, 200)
        put_many(self.c.url, "gb2", ["x/y"], lambda n: b"other bucket")
        got, _ = self.batch([{"objname": self.names[0]},
                             {"objname": "x/y", "bucket": "gb2", "provider": "ais"},
                             {"objname": "shard.zip", "archpath": "a/one.txt"},
                             {"uname": "ais/@#/gb2/x/y", "objname": "ignored"}], onob=True)
        self.assertEqual(got, [(self.names[0], data_of(self.names[0])), ("x/y", b"other bucket"),
                               ("shard.zip/a/one.txt", self.members["a/one.txt"]),
                               ("x/y", b"other bucket")])
        # No bucket in the URL: each entry names its own.
        r = self.moss({"in": [{"objname": "x/y", "bucket": "gb2"}], "strm": True}, bucket="")
        self.assertEqual(untar(r.content), [("gb2/x/y", b"other bucket")])
        r = self.moss({"in": [{"objname": "x/y"}]}, bucket="", status=400)
        self.check_error_json(r.text, 400)

    def test_coer_missing_object_and_member(self):
        entries = [{"objname": self.names[1]}, {"objname": "no-such-object"},
                   {"objname": "shard.tar", "archpath": "no/such/member"},
                   {"objname": "shard.tar.lz4", "archpath": "c/three"}]
        got, _ = self.batch(entries, coer=True)
        self.assertEqual(got, [("gb/" + self.names[1], data_of(self.names[1])),
                               ("__404__/gb/no-such-object", b""),
                               ("__404__/gb/shard.tar/no/such/member", b""),
                               ("gb/shard.tar.lz4/c/three", self.members["c/three"])])
        # Without coer the first missing entry fails the request with a JSON 404.
        for e in entries[1:3]:
            r = self.moss({"in": [entries[0], e], "strm": True}, status=404)
            self.check_error_json(r.text, 404)
            r = self.moss({"in": [entries[0], e]}, status=404)

    def test_buffered_multipart_metadata(self):
        o1 = b"\xfb\xff\x00user-1"
        entries = [{"objname": self.names[2], "opaque": base64.b64encode(o1).decode()},
                   {"objname": self.names[3], "opaque": base64.urlsafe_b64encode(o1).decode(),
                    "start": 1, "length": 3},
                   {"objname": "gone"},
                   {"objname": "shard.zip", "archpath": "b/two.bin"}]
        r = self.moss({"in": entries, "coer": True, "strm": False, "mime": ".tar"})
        parts = parse_multipart(r)
        self.assertEqual(list(parts), ["metadata", "archive"])
        meta = json.loads(parts["metadata"])
        self.assertIsInstance(meta["uuid"], str)
        out = meta["out"]
        self.assertEqual(len(out), 4)
        self.assertEqual(out[0], {"objname": self.names[2], "bucket": "gb", "provider": "ais",
                                  "opaque": base64.b64encode(o1).decode(),
                                  "size": len(data_of(self.names[2]))})
        self.assertEqual(out[1]["size"], 3)
        self.assertEqual(base64.b64decode(out[1]["opaque"]), o1)
        self.assertEqual(out[2]["size"], 0)
        self.assertIn("err_msg", out[2])
        self.assertEqual(out[3]["archpath"], "b/two.bin")
        self.assertEqual(out[3]["size"], 5000)
        got = untar(parts["archive"])
        self.assertEqual(got, [("gb/" + self.names[2], data_of(self.names[2])),
                               ("gb/" + self.names[3], data_of(self.names[3])[1:4]),
                               ("__404__/gb/gone", b""),
                               ("gb/shard.zip/b/two.bin", self.members["b/two.bin"])])

    def test_coloc_routes_to_owner(self):
        r = requests.get(self.c.url + "/v1/ml/moss/gb", json={"in": [{"objname": self.names[5]}],
                         "coloc": 1, "strm": True}, allow_redirects=False, timeout=T)
        self.assertEqual(r.status_code, 307)
        owner = requests.get(self.c.url + "/v1/objects/gb/" + self.names[5],
                             allow_redirects=False, timeout=T).headers["Location"]
        self.assertEqual(r.headers["Location"].split("/v1/")[0], owner.split("/v1/")[0])
        self.assertIn("/v1/ml/moss/gb", r.headers["Location"])

    def test_bad_requests(self):
        url = self.c.url + "/v1/ml/moss/gb"
        bad = [b"{not json", b"[]", json.dumps({"in": []}).encode(),
               json.dumps({"in": [{"objname": "a"}], "mime": ".rar"}).encode(),
               json.dumps({"in": [{"objname": "a", "opaque": "!!!not base64"}]}).encode(),
               json.dumps({"in": [{"archpath": "x"}]}).encode(),
               json.dumps({"in": [{"objname": "a", "start": "7"}]}).encode(),
               json.dumps({"in": "a"}).encode(), b""]
        for body in bad:
            r = requests.get(url, data=body, timeout=T)
            self.assertEqual(r.status_code, 400, body)
            self.check_error_json(r.text, 400, where=" for %r" % body)
        # Straight at a target, too.
        t = self.c.targets[0]
        r = requests.get("http://127.0.0.1:%d/v1/ml/moss/gb" % t.port, data=b"{", timeout=T)
        self.assertEqual(r.status_code, 400)
        self.check_error_json(r.text, 400, node_id=t.node_id())
        r = requests.get(self.c.url + "/v1/ml/moss/gb", params={"provider": "gcp"},
                         json={"in": [{"objname": "a"}]}, timeout=T)
        self.assertGreaterEqual(r.status_code, 400)
        self.assertLess(r.status_code, 600)

    def test_ten_thousand_entries(self):
        entries = [{"objname": self.names[i % len(self.names)]} for i in range(10000)]
        got, _ = self.batch(entries)
        self.assertEqual(len(got), 10000)
        for i, (name, data) in enumerate(got):
            n = self.names[i % len(self.names)]
            self.assertEqual(name, "gb/" + n)
            self.assertEqual(data, data_of(n))

    def test_client_disconnects_mid_stream(self):
        big = ["big-%d" % i for i in range(12)]
        put_many(self.c.url, "gb", big, lambda n: os.urandom(1 << 20))
        r = requests.get(self.c.url + "/v1/ml/moss/gb", allow_redirects=False, timeout=T,
                         json={"in": [{"objname": n} for n in big * 4], "strm": True})
        loc = r.headers["Location"]
        host, port = loc.split("//")[1].split("/")[0].split(":")
        body = json.dumps({"in": [{"objname": n} for n in big * 4], "strm": True}).encode()
        path = "/" + loc.split("//")[1].split("/", 1)[1]
        s = socket.create_connection((host, int(port)), timeout=T)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)) + body)
        got = s.recv(65536)
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:100])
        s.close()
        for t in self.c.targets:
            self.assertTrue(t.alive())
        got, _ = self.batch([{"objname": n} for n in self.names[:20]])
        self.assertEqual(len(got), 20)

    def test_cli_get_batch(self):
        with tempfile.TemporaryDirectory() as d:
            lst = os.path.join(d, "list.txt")
            with open(lst, "w") as f:
                f.write("\n".join(self.names[:5] + ["shard.tar/a/one.txt"]) + "\n")
            env = dict(os.environ, AIS_ENDPOINT=self.c.url)
            out = os.path.join(d, "out.tar")
            p = subprocess.run([tl.cli_bin(), "object", "get-batch", "ais://gb", "--list", lst,
                                "--output", out], env=env, capture_output=True, timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, "rb") as f:
                got = untar(f.read())
            self.assertEqual([g[0] for g in got], ["gb/" + n for n in self.names[:5]] +
                             ["gb/shard.tar/a/one.txt"])
            self.assertEqual(got[-1][1], self.members["a/one.txt"])
            outdir = os.path.join(d, "x")
            p = subprocess.run([tl.cli_bin(), "object", "get-batch", "ais://gb", "--template",
                                "obj-{0000..0009}", "--output-dir", outdir, "--mime", ".tgz"],
                               env=env, capture_output=True, timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            for n in self.names[:10]:
                with open(os.path.join(outdir, "gb", n), "rb") as f:
                    self.assertEqual(f.read(), data_of(n))
            p = subprocess.run([tl.cli_bin(), "object", "get-batch", "ais://gb", "--template",
                                "nope-{0..2}", "--output", out], env=env, capture_output=True,
                               timeout=T)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"nope-0", p.stderr)
            p = subprocess.run([tl.cli_bin(), "object", "get-batch", "ais://gb", "--template",
                                "nope-{0..2}", "--coer", "--output", out], env=env,
                               capture_output=True, timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
