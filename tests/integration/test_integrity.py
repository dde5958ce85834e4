#!/usr/bin/python3
"""Integrity integration tests: real nodes, corruption injected into object files on disk.

Validated GETs (bucket checksum.validate_warm_get, --validate-get) answer 5xx in AIStore's error
shape naming the object and the target, never the bytes; without validation the bytes are served
as before; with copies=2 the object is repaired from the other copy and the right bytes served.
The scrub job (API and CLI) finds every injected corruption among thousands of objects and
repairs those with copies. A shard whose member-index sidecar is damaged is re-indexed, never
read at wrong offsets.
"""

import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402

T = 30


def object_files(node, bucket):
    """{object name: file path} of every object a target stores in `bucket` (header parse)."""
    out = {}
    for mp in node.mountpaths:
        bdir = os.path.join(mp, "ais", bucket)
        for hh in os.listdir(bdir):
            if len(hh) != 2:
                continue
            for f in os.listdir(os.path.join(bdir, hh)):
                path = os.path.join(bdir, hh, f)
                with open(path, "rb") as fh:
                    head = fh.read(4096)
                # header: magic(8) hdr_len(4) meta_len(4) crc(8), then size xxhash version
                # mtime atime (5 x u64) and the name (u32 length + bytes); little-endian
                (nlen,) = struct.unpack_from("<I", head, 24 + 40)
                name = head[68:68 + nlen].decode()
                out[name] = path
    return out


def data_offset(path):
    with open(path, "rb") as fh:
        return struct.unpack_from("<I", fh.read(12), 8)[0]


def flip(path, at=None):
    """Flips one bit of a data byte (the middle one by default)."""
    off = data_offset(path)
    size = os.path.getsize(path) - off
    pos = off + (size // 2 if at is None else at)
    with open(path, "r+b") as fh:
        fh.seek(pos)
        b = fh.read(1)
        fh.seek(pos)
        fh.write(bytes([b[0] ^ 0x40]))


def truncate(path, keep):
    os.truncate(path, data_offset(path) + keep)


def payload(name, n=1000):
    seed = name.encode()
    return (seed * (n // len(seed) + 1))[:n]


def quarantined(node):
    return sum(len(os.listdir(os.path.join(mp, ".aisle", "quarantine")))
               for mp in node.mountpaths if os.path.isdir(os.path.join(mp, ".aisle", "quarantine")))


class IntegrityClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        cls.ids = {t.node_id(): t for t in cls.c.targets}

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def create(self, bucket, copies=1, validate=False):
        value = {"mirror": {"copies": copies}}
        if validate:
            value["checksum"] = {"type": "xxhash", "validate_warm_get": True}
        r = requests.post(self.c.url + "/v1/buckets/" + bucket,
                          json={"action": "create-bck", "value": value}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)

    def holders(self, bucket, name):
        """[(target, file path)] of every target holding a copy of bucket/name."""
        out = []
        for t in self.c.targets:
            files = object_files(t, bucket)
            if name in files:
                out.append((t, files[name]))
        return out

    def owner_file(self, bucket, name):
        r = requests.head(self.c.url + "/v1/objects/%s/%s" % (bucket, name), timeout=T,
                          allow_redirects=True)
        self.assertEqual(r.status_code, 200)
        tid = r.headers["Ais-Location"].split(":")[0][2:-1]  # t[ID]:mountpath
        t = self.ids[tid]
        return t, object_files(t, bucket)[name]

    def get(self, bucket, name):
        return requests.get(self.c.url + "/v1/objects/%s/%s" % (bucket, name), timeout=T)

    def start_scrub(self, bucket=None, rate=0):
        value = {"kind": "scrub", "rate": rate}
        if bucket:
            value["bck"] = {"name": bucket, "provider": "ais"}
        r = requests.put(self.c.url + "/v1/cluster", json={"action": "start", "value": value},
                         timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return r.text

    def wait_job(self, jid, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = requests.get(self.c.url + "/v1/cluster", params={"what": "status"},
                             data=json.dumps({"id": jid}), timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            if r.json()["end_time"] != 0:
                snaps = requests.get(self.c.url + "/v1/cluster", params={"what": "qryxstats"},
                                     data=json.dumps({"id": jid}), timeout=T).json()
                ext = {}
                for parts in snaps.values():
                    for s in parts:
                        for k, v in s["ext"].items():
                            ext[k] = ext.get(k, 0) + v
                return r.json(), ext
            time.sleep(0.2)
        self.fail("job %s did not end" % jid)

    def test_bucket_props_shape_and_validation(self):
        self.create("pv", validate=True)
        r = requests.head(self.c.url + "/v1/buckets/pv", timeout=T)
        props = json.loads(r.headers["Ais-Bucket-Props"])
        self.assertEqual(props["checksum"]["type"], "xxhash")
        self.assertTrue(props["checksum"]["validate_warm_get"])
        self.assertFalse(props["checksum"]["validate_cold_get"])
        # Bad values are a 400 in the AIS error shape.
        for bad in ({"checksum": {"type": "md5"}}, {"checksum": {"validate_warm_get": "yes"}}):
            r = requests.patch(self.c.url + "/v1/buckets/pv",
                               json={"action": "set-bprops", "value": bad}, timeout=T)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("checksum", r.json()["message"])

    def test_validated_get_fails_naming_object_and_node(self):
        self.create("v", validate=True)
        names = ["v/%d" % i for i in range(20)]
        self.assertEqual(set(put_many(self.c.url, "v", names, lambda n: payload(n, 200000))), {200})
        for name, damage in (("v/1", flip), ("v/2", lambda p: truncate(p, 1000))):
            t, path = self.owner_file("v", name)
            damage(path)
            r = self.get("v", name)
            self.assertEqual(r.status_code, 500, r.text[:200])
            j = r.json()
            self.assertIn("ais://v/" + name, j["message"])
            self.assertIn("t[%s]" % t.node_id(), j["message"])
            self.assertEqual(j["node"], "t[%s]" % t.node_id())
            self.assertEqual(j["status"], 500)
            self.assertNotEqual(r.content, payload(name, 200000))
            # Quarantined on disk, not served again.
            self.assertEqual(self.get("v", name).status_code, 404)
            self.assertGreaterEqual(quarantined(t), 1)
        self.assertEqual(self.get("v", "v/3").content, payload("v/3", 200000))

    def test_without_validation_bytes_are_served_then_set_bprops_turns_it_on(self):
        self.create("nv")
        self.assertEqual(put_many(self.c.url, "nv", ["x"], lambda n: payload(n, 50000)), [200])
        _, path = self.owner_file("nv", "x")
        flip(path)
        r = self.get("nv", "x")
        self.assertEqual(r.status_code, 200)  # the old behaviour: nothing checks
        self.assertNotEqual(r.content, payload("x", 50000))
        r = requests.patch(self.c.url + "/v1/buckets/nv",
                           json={"action": "set-bprops",
                                 "value": {"checksum": {"validate_cold_get": True}}}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        deadline = time.monotonic() + 10
        while self.get("nv", "x").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)  # the new bucket metadata reaches the targets
        self.assertEqual(self.get("nv", "x").status_code, 404)  # quarantined by the 500 above

    def test_copies_2_repaired_and_served(self):
        self.create("m", copies=2, validate=True)
        names = ["m/%d" % i for i in range(10)]
        self.assertEqual(set(put_many(self.c.url, "m", names, lambda n: payload(n, 300000))), {200})
        for name, damage in (("m/1", flip), ("m/2", lambda p: truncate(p, 10)),
                             ("m/3", lambda p: flip(p, 0))):
            t, path = self.owner_file("m", name)
            damage(path)
            r = self.get("m", name)
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertEqual(r.content, payload(name, 300000))
            # The owner's copy itself is good again (a ranged read is not validated).
            r = requests.get(self.c.url + "/v1/objects/m/" + name, headers={"Range": "bytes=0-"},
                             timeout=T)
            self.assertEqual(r.content, payload(name, 300000))
            self.assertEqual(len(self.holders("m", name)), 2)

    def test_scrub_finds_and_repairs(self):
        n_objects = 10000
        self.create("s", copies=2)
        self.create("s1")
        names = ["s/%05d" % i for i in range(n_objects)]
        t0 = time.monotonic()
        self.assertEqual(set(put_many(self.c.url, "s", names, lambda n: payload(n, 1024), workers=32)),
                         {200})
        singles = ["one/%d" % i for i in range(50)]
        self.assertEqual(set(put_many(self.c.url, "s1", singles, lambda n: payload(n, 4096))), {200})
        sys.stderr.write("\n[integrity] put %d objects x2 copies in %.1fs\n"
                         % (n_objects, time.monotonic() - t0))
        # One damaged copy of 12 objects (spread over the targets), and 4 unique objects.
        files = {id(t): object_files(t, "s") for t in self.c.targets}
        damaged = []
        for i, name in enumerate(names[::n_objects // 12][:12]):
            t = self.c.targets[i % 3]
            if name not in files[id(t)]:
                t = next(x for x in self.c.targets if name in files[id(x)])
            (flip if i % 2 else (lambda p: truncate(p, 100)))(files[id(t)][name])
            damaged.append(name)
        lost = singles[:4]
        for name in lost:
            _, path = self.owner_file("s1", name)
            flip(path)
        t0 = time.monotonic()
        job, ext = self.wait_job(self.start_scrub())
        secs = time.monotonic() - t0
        sys.stderr.write("[integrity] scrub of %d objects: %.1fs, %s\n" % (2 * n_objects + 50, secs, ext))
        # Every copy is read (truncated ones too: their headers are intact).
        # (other tests' buckets hold a few more, all intact)
        self.assertGreaterEqual(ext["checked"], 2 * n_objects + len(singles))
        self.assertEqual(ext["corrupt"], len(damaged) + len(lost))
        self.assertEqual(ext["repaired"], len(damaged))
        self.assertFalse(job["aborted"])
        for name in damaged:
            self.assertEqual(self.get("s", name).content, payload(name, 1024))
            self.assertEqual(len(self.holders("s", name)), 2, name)
        for name in lost:  # no copy: quarantined, gone
            self.assertEqual(self.get("s1", name).status_code, 404)
        self.assertEqual(self.get("s1", singles[-1]).content, payload(singles[-1], 4096))
        # Through the CLI: a clean bucket now; counts printed.
        cli = [tl.cli_bin(), "--endpoint", self.c.url]
        p = subprocess.run(cli + ["job", "start", "scrub", "ais://s", "--wait"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("%d objects checked" % (2 * n_objects), p.stdout)
        self.assertIn(" 0 corrupt, 0 repaired", p.stdout)
        # Abort on request: a slow scrub (1 KiB/s per target) stopped through the CLI.
        p = subprocess.run(cli + ["job", "start", "scrub", "--rate", "1024"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        jid = p.stdout.split()[-1]
        p = subprocess.run(cli + ["job", "abort", jid], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        job, _ = self.wait_job(jid, timeout=20)
        self.assertTrue(job["aborted"])
        # Bad requests: 4xx in the AIS shape.
        r = requests.put(self.c.url + "/v1/cluster",
                         json={"action": "start", "value": {"kind": "scrub", "bck": {"name": "nope"}}},
                         timeout=T)
        self.assertEqual(r.status_code, 404)
        r = requests.put(self.c.url + "/v1/cluster",
                         json={"action": "start", "value": {"kind": "bogus"}}, timeout=T)
        self.assertEqual(r.status_code, 400)
        self.assertIn("bogus", r.json()["message"])


def make_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class ShardSidecarTest(unittest.TestCase):
    """A standalone target: restarts empty its in-memory index cache, so the sidecar is read."""

    def setUp(self):
        self.node = tl.Node(extra_args=["--validate-get"])
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def test_damaged_sidecar_is_rebuilt_not_trusted(self):
        n = self.node
        self.assertEqual(requests.post(n.bck_url("sh"), json={"action": "create-bck"},
                                       timeout=T).status_code, 200)
        members = [("m%03d.txt" % i, ("member %d " % i).encode() * (50 + i)) for i in range(100)]
        self.assertEqual(requests.put(n.obj_url("sh", "a.tar"), data=make_tar(members),
                                      timeout=T).status_code, 200)
        def member(i):  # the URL changes with every restart (a new port)
            return requests.get(n.obj_url("sh", "a.tar"), params={"archpath": members[i][0]},
                                timeout=T)

        self.assertEqual(member(7).content, members[7][1])  # builds the index and its sidecar
        obj = object_files(n, "sh")["a.tar"]
        sidecar = os.path.join(os.path.dirname(os.path.dirname(obj)), ".shards",
                               os.path.basename(obj) + ".idx")
        self.assertTrue(os.path.exists(sidecar))
        with open(sidecar, "rb") as fh:
            good = fh.read()

        def damage_and_restart():
            # Shift member offsets: bytes in the middle of the encoded index.
            data = bytearray(good)
            for k in range(len(data) // 3, len(data) // 3 + 16):
                data[k] ^= 0x01
            with open(sidecar, "wb") as fh:
                fh.write(bytes(data))
            n.restart()

        # 1. The scrub finds it (checksum of the sidecar) and removes it.
        damage_and_restart()
        r = requests.put(n.url + "/v1/cluster",
                         json={"action": "start", "value": {"kind": "scrub"}}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        jid = r.text
        for _ in range(300):
            snaps = requests.get(n.url + "/v1/cluster", params={"what": "qryxstats"},
                                 data=json.dumps({"id": jid}), timeout=T).json()
            snap = list(snaps.values())[0][0]
            if snap["is_idle"]:
                break
            time.sleep(0.05)
        self.assertEqual(snap["ext"].get("sidecars"), 1, snap)
        self.assertEqual(snap["ext"].get("sidecars-bad"), 1, snap)
        self.assertEqual(snap["ext"].get("corrupt", 0), 0, snap)
        self.assertFalse(os.path.exists(sidecar))
        for i in (0, 42, 99):
            self.assertEqual(member(i).content, members[i][1])
        # 2. A member GET with a damaged sidecar (no scrub) re-indexes the shard.
        damage_and_restart()
        for i in (3, 50, 98):
            self.assertEqual(member(i).content, members[i][1])
        with open(sidecar, "rb") as fh:
            self.assertEqual(fh.read(), good)  # rebuilt, same index
        # The whole shard with --validate-get: intact, so served.
        self.assertEqual(requests.get(n.obj_url("sh", "a.tar"), timeout=T).status_code, 200)


if __name__ == "__main__":
    unittest.main()
