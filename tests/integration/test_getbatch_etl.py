"""GetBatch with an ETL (Aisle extension: MossReq "etl_name"/"etl_args"): one proxy and three
targets on loopback, a Python transform registered through the proxy, every member of every
answer byte-checked against the transform of what was PUT (whole objects spread over the three
targets, a range, a shard member), order kept, multipart sizes, errors (unknown ETL, a failing
transform with and without coer)."""

import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_archive import build  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402
from test_getbatch import data_of, parse_multipart, untar  # noqa: E402

T = 120

# Upper-cases; prefixes "ARGS:" when etl_args are given; refuses bytes that contain "boom".
CODE = """
def transform(data, args):
    if b"boom" in data:
        raise ValueError("boom is not allowed")
    return ((args + ":").encode() if args else b"") + data.upper()
"""


def xf(data, args=""):
    return ((args + ":").encode() if args else b"") + data.upper()


class GetBatchEtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        r = requests.post(cls.c.url + "/v1/buckets/gbe", json={"action": "create-bck"}, timeout=T)
        assert r.status_code == 200, r.text
        cls.names = ["obj-%03d" % i for i in range(60)]
        assert set(put_many(cls.c.url, "gbe", cls.names, data_of)) == {200}
        cls.booms = ["boom-%d" % i for i in range(6)]
        assert set(put_many(cls.c.url, "gbe", cls.booms, lambda n: b"a boom here")) == {200}
        cls.members = {"a/one.txt": b"first member\n" * 40, "b/two.txt": b"second" * 300}
        r = requests.put(cls.c.url + "/v1/objects/gbe/shard.tar",
                         data=build(".tar", cls.members), timeout=T)
        assert r.status_code == 200, r.text
        msg = {"name": "gb-up", "runtime": "python3",
               "code": base64.b64encode(CODE.encode()).decode()}
        r = requests.put(cls.c.url + "/v1/etl", data=json.dumps(msg), timeout=T)
        assert r.status_code == 200, r.text

    @classmethod
    def tearDownClass(cls):
        requests.delete(cls.c.url + "/v1/etl/gb-up", timeout=30)
        cls.c.cleanup()

    def check_error_json(self, text, status):
        """The AIS error shape, from the proxy (p[...]) or a target (t[...])."""
        err = json.loads(text)
        self.assertTrue(tl.ERROR_KEYS <= set(err), err)
        self.assertEqual(err["status"], status)
        self.assertTrue(err["message"])
        self.assertRegex(err["node"], r"^[pt]\[[A-Za-z][A-Za-z0-9_-]*\]$")
        return err

    def moss(self, req, status=200):
        r = requests.get(self.c.url + "/v1/ml/moss/gbe", json=req, timeout=T)
        self.assertEqual(r.status_code, status, r.content[:400])
        return r

    def obj_counts(self):
        """Objects the ETL transformed, per target."""
        r = requests.get(self.c.url + "/v1/etl/gb-up/metrics", timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return {m["target_id"]: m["obj_count"] for m in r.json()}

    def test_transformed_entries_across_targets_range_and_member(self):
        before = self.obj_counts()
        names = list(reversed(self.names))
        entries = [{"objname": n} for n in names]
        entries.append({"objname": names[3], "start": 5, "length": 20})
        entries.append({"objname": "shard.tar", "archpath": "b/two.txt"})
        entries.append({"objname": names[4], "start": 7, "length": -1})
        r = self.moss({"in": entries, "strm": True, "etl_name": "gb-up", "etl_args": "X"})
        got = untar(r.content, "r:")
        want = [("gbe/" + n, xf(data_of(n), "X")) for n in names]
        want.append(("gbe/" + names[3], xf(data_of(names[3])[5:25], "X")))
        want.append(("gbe/shard.tar/b/two.txt", xf(self.members["b/two.txt"], "X")))
        want.append(("gbe/" + names[4], xf(data_of(names[4])[7:], "X")))
        self.assertEqual([n for n, _ in got], [n for n, _ in want])
        for (gn, gd), (_, wd) in zip(got, want):
            self.assertEqual(gd, wd, gn)
        # The objects are spread over the three targets and each transformed its own.
        owners = {requests.get(self.c.url + "/v1/objects/gbe/" + n, allow_redirects=False,
                               timeout=T).headers["Location"].split("/v1/")[0] for n in names}
        self.assertEqual(len(owners), 3)
        after = self.obj_counts()
        self.assertEqual(len(after), 3)
        for tid, cnt in after.items():
            self.assertGreater(cnt, before.get(tid, 0), tid)
        self.assertGreaterEqual(sum(after.values()) - sum(before.values()), len(entries))

    def test_multipart_sizes_are_transformed_sizes(self):
        entries = [{"objname": n} for n in self.names[:20]]
        entries.append({"objname": "shard.tar", "archpath": "a/one.txt"})
        entries.append({"objname": self.names[0], "start": 1, "length": 9})
        r = self.moss({"in": entries, "strm": False, "etl_name": "gb-up", "etl_args": "argz"})
        parts = parse_multipart(r)
        meta = json.loads(parts["metadata"])
        want = [xf(data_of(n), "argz") for n in self.names[:20]]
        want.append(xf(self.members["a/one.txt"], "argz"))
        want.append(xf(data_of(self.names[0])[1:10], "argz"))
        self.assertEqual([o["size"] for o in meta["out"]], [len(w) for w in want])
        got = untar(parts["archive"], "r:")
        self.assertEqual([d for _, d in got], want)
        # Without etl_args the transform sees none.
        r = self.moss({"in": entries[:2], "strm": True, "etl_name": "gb-up"})
        self.assertEqual([d for _, d in untar(r.content, "r:")],
                         [xf(data_of(n)) for n in self.names[:2]])

    def test_unknown_etl_and_bad_fields(self):
        for strm in (True, False):
            r = self.moss({"in": [{"objname": self.names[0]}], "strm": strm,
                           "etl_name": "no-such-etl"}, status=404)
            err = self.check_error_json(r.text, 404)
            self.assertIn("no-such-etl", err["message"])
        r = self.moss({"in": [{"objname": self.names[0]}], "etl_args": "x"}, status=400)
        self.check_error_json(r.text, 400)
        r = self.moss({"in": [{"objname": self.names[0]}], "etl_name": 7}, status=400)
        self.check_error_json(r.text, 400)

    def test_failing_transform_with_and_without_coer(self):
        mixed = []
        for i, b in enumerate(self.booms):
            mixed += [{"objname": self.names[i]}, {"objname": b}]
        # Without coer the request fails (before streaming: the batch is small) in the AIS shape.
        for strm in (True, False):
            r = requests.get(self.c.url + "/v1/ml/moss/gbe", timeout=T,
                             json={"in": mixed, "strm": strm, "etl_name": "gb-up"})
            self.assertGreaterEqual(r.status_code, 400, r.content[:300])
            err = self.check_error_json(r.text, r.status_code)
            self.assertIn("boom is not allowed", err["message"])
        # With coer every failed entry is an empty __404__/ member; the others are transformed.
        r = self.moss({"in": mixed, "strm": True, "coer": True, "etl_name": "gb-up"})
        got = untar(r.content, "r:")
        want = []
        for i, b in enumerate(self.booms):
            want += [("gbe/" + self.names[i], xf(data_of(self.names[i]))),
                     ("__404__/gbe/" + b, b"")]
        self.assertEqual(got, want)
        r = self.moss({"in": mixed, "strm": False, "coer": True, "etl_name": "gb-up"})
        meta = json.loads(parse_multipart(r)["metadata"])["out"]
        for i, o in enumerate(meta):
            if i % 2:
                self.assertIn("boom is not allowed", o["err_msg"])
                self.assertEqual(o["size"], 0)
            else:
                self.assertNotIn("err_msg", o)
                self.assertEqual(o["size"], len(xf(data_of(self.names[i // 2]))))

    def test_cli_get_batch_etl(self):
        with tempfile.TemporaryDirectory() as d:
            lst = os.path.join(d, "list.txt")
            with open(lst, "w") as f:
                f.write("\n".join(self.names[:5] + ["shard.tar/a/one.txt"]) + "\n")
            out = os.path.join(d, "out.tar")
            p = subprocess.run([tl.cli_bin(), "object", "get-batch", "ais://gbe", "--list", lst,
                                "--etl", "gb-up", "--etl-args", "cli", "--output", out],
                               env=dict(os.environ, AIS_ENDPOINT=self.c.url),
                               capture_output=True, timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, "rb") as f:
                got = untar(f.read(), "r:")
            self.assertEqual(got, [("gbe/" + n, xf(data_of(n), "cli")) for n in self.names[:5]] +
                             [("gbe/shard.tar/a/one.txt", xf(self.members["a/one.txt"], "cli"))])


if __name__ == "__main__":
    unittest.main()
