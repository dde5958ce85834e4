#!/usr/bin/python3
"""Shards end to end against a real aisle-node: for tar, tgz, zip, tar.lz4 and tar.zst archives
built here (tarfile/zipfile, lz4/zstd CLIs): PUT, list (LsArchDir, JSON listing, WebDataset
samples), GET every member byte-equal, Range inside a member, multi-select TAR, APPEND and list
again; corrupt and truncated shards; tar-slip names; a 100k-member tar; the archive job, on one
node and through a proxy over a 3-target cluster."""

import io
import json
import os
import random
import subprocess
import sys
import tarfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402
import requests  # noqa: E402

import aisle_testlib as tl  # noqa: E402
from aisle_testlib import (NodeTestCase, cli_bin, hrw_owner, main, make_tmpdir,  # noqa: E402
                           remove_tmpdir, xxh64_hex)

T = 30
LS_ARCH_DIR = 8
ENTRY_IN_ARCH = 128
ENTRY_IS_ARCHIVE = 512


def rand_bytes(n, seed, text=False):
    r = random.Random(seed)
    if text:
        return bytes(r.choice(b"abcd \n") for _ in range(n))
    return r.randbytes(n)


def members_fixture():
    m = {
        "000001.jpg": rand_bytes(70000, 1),
        "000001.cls": b"7\n",
        "000002.jpg": rand_bytes(1, 2),
        "000002.cls": b"3\n",
        "sub/dir/000003.txt": rand_bytes(5000, 3, text=True),
        "empty.bin": b"",
        "big.bin": rand_bytes(3 << 20, 4),  # spans several seek points of compressed tars
        "z/" + "n" * 140 + ".dat": b"long name",  # pax header in tar
        "unicode-\u00e9\u00e8.txt": "h\u00e9llo".encode(),
    }
    return m


def make_tar(members, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            ti.mode = 0o640
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (name, data) in enumerate(members.items()):
            zi = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            zi.external_attr = (0o100640) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED if i % 2 == 0 else zipfile.ZIP_STORED
            zf.writestr(zi, data)
    return buf.getvalue()


def compress_cli(tool, data, *args):
    return subprocess.run([tool, "-q", "-c", *args], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def build(fmt, members):
    if fmt == ".tar":
        return make_tar(members)
    if fmt == ".tgz":
        return make_tar(members, "w:gz")
    if fmt == ".zip":
        return make_zip(members)
    if fmt == ".tar.lz4":
        return compress_cli("lz4", make_tar(members))
    if fmt == ".tar.zst":
        return compress_cli("zstd", make_tar(members))
    raise ValueError(fmt)


def read_tar(data):
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for ti in tf.getmembers():
            if ti.isfile():
                out[ti.name] = tf.extractfile(ti).read()
    return out


class ArchiveTestBase(NodeTestCase):
    def put(self, bucket, name, data, **kw):
        r = requests.put(self.node.obj_url(bucket, name), data=data, timeout=T, **kw)
        self.assertEqual(r.status_code, 200, r.content[:300])
        return r

    def member(self, bucket, shard, path, headers=None, method="GET", extra=None):
        q = {"archpath": path, "archregx": ""}  # the Python SDK sends both
        if extra:
            q.update(extra)
        return requests.request(method, self.node.obj_url(bucket, shard), params=q,
                                headers=headers or {}, timeout=T)

    def list_arch(self, bucket, prefix, msgpack_fmt=False):
        value = {"prefix": prefix, "flags": str(LS_ARCH_DIR), "props": "name,size"}
        hdr = {"Accept": "application/msgpack"} if msgpack_fmt else {}
        r = requests.get(self.node.bck_url(bucket), json={"action": "list", "value": value},
                         headers=hdr, timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        if msgpack_fmt:
            doc = msgpack.unpackb(r.content, raw=False)
            return [(e["n"], e.get("s", 0), e["f"]) for e in doc["Entries"]]
        return [(e["name"], int(e.get("size", "0")), e["flags"]) for e in r.json()["entries"]]

    def check_error(self, r, status, needle=None):
        self.assertEqual(r.status_code, status, r.content[:300])
        doc = r.json()
        self.assertEqual(doc["status"], status)
        if needle:
            self.assertIn(needle, doc["message"])


class FormatsTest(ArchiveTestBase):
    def run_format(self, fmt):
        b = self.make_bucket()
        members = members_fixture()
        shard = "shards/s-0001" + fmt
        self.put(b, shard, build(fmt, members))

        # List: the shard (IsArchive) then every member as shard/member (InArch), sizes exact.
        for mp in (False, True):
            got = self.list_arch(b, shard, msgpack_fmt=mp)
            self.assertEqual(got[0][0], shard)
            self.assertTrue(got[0][2] & ENTRY_IS_ARCHIVE)
            want = sorted((shard + "/" + n, len(d)) for n, d in members.items())
            self.assertEqual(sorted((n, s) for n, s, _ in got[1:]), want)
            for _, _, f in got[1:]:
                self.assertTrue(f & ENTRY_IN_ARCH and not f & ENTRY_IS_ARCHIVE)

        # GET every member, byte-equal; HEAD gives the length.
        for name, data in members.items():
            r = self.member(b, shard, name)
            self.assertEqual(r.status_code, 200, "%s: %s" % (name, r.content[:200]))
            self.assertEqual(r.content, data, name)
            h = self.member(b, shard, name, method="HEAD")
            self.assertEqual(h.status_code, 200)
            self.assertEqual(int(h.headers["Content-Length"]), len(data))

        # Range inside a member (also deep inside the big one, across seek points).
        big = members["big.bin"]
        for rng, lo, hi in (("bytes=10-19", 10, 19), ("bytes=3000000-", 3000000, len(big) - 1),
                            ("bytes=-5", len(big) - 5, len(big) - 1)):
            r = self.member(b, shard, "big.bin", headers={"Range": rng})
            self.assertEqual(r.status_code, 206, r.content[:200])
            self.assertEqual(r.content, big[lo:hi + 1])
            self.assertEqual(r.headers["Content-Range"], "bytes %d-%d/%d" % (lo, hi, len(big)))
        r = self.member(b, shard, "000002.cls", headers={"Range": "bytes=5-9"})
        self.assertEqual(r.status_code, 416)
        self.assertEqual(r.headers.get("Content-Range"), "bytes */2")

        # Missing member -> 404 naming the shard.
        self.check_error(self.member(b, shard, "nope.jpg"), 404, "ais://%s/%s" % (b, shard))

        # Multi-select: a TAR of the matches.
        r = requests.get(self.node.obj_url(b, shard), timeout=T,
                         params={"archregx": "000001", "archmode": "prefix"})
        self.assertEqual(r.status_code, 200, r.content[:200])
        self.assertEqual(r.headers["Content-Type"], "application/x-tar")
        self.assertEqual(read_tar(r.content),
                         {"000001.jpg": members["000001.jpg"], "000001.cls": members["000001.cls"]})
        r = requests.get(self.node.obj_url(b, shard), timeout=T,
                         params={"archregx": r"^0+2\.(jpg|cls)$", "archmode": "regexp"})
        self.assertEqual(sorted(read_tar(r.content)), ["000002.cls", "000002.jpg"])
        r = requests.get(self.node.obj_url(b, shard), timeout=T,
                         params={"archregx": "000001", "archmode": "wdskey"})
        self.assertEqual(sorted(read_tar(r.content)), ["000001.cls", "000001.jpg"])
        r = requests.get(self.node.obj_url(b, shard), timeout=T,
                         params={"archregx": "nothing-matches", "archmode": "substr"})
        self.assertEqual(r.status_code, 404)
        r = requests.get(self.node.obj_url(b, shard), timeout=T,
                         params={"archregx": "(", "archmode": "regexp"})
        self.check_error(r, 400, "invalid archregx")

        # JSON listing with WebDataset samples.
        r = requests.get(self.node.obj_url(b, shard), params={"archlist": "true", "group": "samples"},
                         timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        doc = r.json()
        self.assertEqual(doc["format"], {".tar.gz": ".tgz"}.get(fmt, fmt))
        self.assertEqual(len(doc["members"]), len(members))
        samples = {s["key"]: s["members"] for s in doc["samples"]}
        self.assertEqual(samples["000001"], {"jpg": "000001.jpg", "cls": "000001.cls"})
        self.assertEqual(samples["sub/dir/000003"], {"txt": "sub/dir/000003.txt"})

        # APPEND (tar: in place as a new version; others: rewrite), then list and read again.
        new = {"added/one.bin": rand_bytes(12345, 9), "added/two.txt": b"second"}
        for name, data in new.items():
            r = requests.put(self.node.obj_url(b, shard), params={"archpath": name}, data=data,
                             headers={"Ais-Pine": "1"}, timeout=T)
            self.assertEqual(r.status_code, 200, r.content[:300])
        all_members = dict(members, **new)
        got = self.list_arch(b, shard)
        self.assertEqual(sorted((n, s) for n, s, _ in got[1:]),
                         sorted((shard + "/" + n, len(d)) for n, d in all_members.items()))
        for name, data in all_members.items():
            r = self.member(b, shard, name)
            self.assertEqual(r.content, data, name)
        # The whole object is still a valid archive for standard tools.
        whole = requests.get(self.node.obj_url(b, shard), timeout=T).content
        if fmt == ".zip":
            with zipfile.ZipFile(io.BytesIO(whole)) as zf:
                self.assertEqual(zf.read("added/one.bin"), new["added/one.bin"])
        elif fmt in (".tar", ".tgz"):
            self.assertEqual(read_tar(whole)["added/two.txt"], b"second")

    def test_tar(self):
        self.run_format(".tar")

    def test_tgz(self):
        self.run_format(".tgz")

    def test_zip(self):
        self.run_format(".zip")

    def test_tar_lz4(self):
        self.run_format(".tar.lz4")

    def test_tar_zst(self):
        self.run_format(".tar.zst")


class SafetyTest(ArchiveTestBase):
    def test_truncated_and_corrupt_shards(self):
        b = self.make_bucket()
        members = {"a.bin": rand_bytes(200000, 5), "b.bin": rand_bytes(1000, 6, text=True)}
        for fmt in (".tar", ".tgz", ".zip", ".tar.lz4", ".tar.zst"):
            data = build(fmt, members)
            self.put(b, "trunc" + fmt, data[:len(data) // 2])
            r = self.member(b, "trunc" + fmt, "b.bin")
            self.assertEqual(r.status_code, 400, "%s: %s" % (fmt, r.content[:300]))
            self.assertTrue(any(w in r.json()["message"] for w in ("truncated", "corrupt")),
                            r.json()["message"])
            bad = bytearray(data)
            for i in range(700, len(bad), 101):
                bad[i] ^= 0x55
            self.put(b, "bad" + fmt, bytes(bad))
            r = self.member(b, "bad" + fmt, "a.bin")
            if fmt != ".tar":  # plain tar has no data checksum: flipped data bytes are served
                self.assertIn(r.status_code, (400, 404), "%s: %s" % (fmt, r.content[:300]))
        # Not an archive at all.
        self.put(b, "plain.tar", b"hello, not a tar" * 100)
        self.check_error(self.member(b, "plain.tar", "x"), 400, "corrupt tar")
        self.put(b, "noext", b"hello")
        self.check_error(self.member(b, "noext", "x"), 400, "unknown format")
        # Missing shard -> 404 with the object's name.
        self.check_error(self.member(b, "missing.tar", "x"), 404, "ais://%s/missing.tar" % b)
        # Listing still works and lists a corrupt shard as a plain object.
        got = self.list_arch(b, "bad.tar.zst")
        self.assertEqual([n for n, _, _ in got], ["bad.tar.zst"])
        self.assertTrue(requests.get(self.node.url + "/v1/health", timeout=T).ok)

    def test_tar_slip_names_are_flagged_not_resolved(self):
        b = self.make_bucket()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
            for name in ("../../evil.txt", "/etc/passwd-copy", "ok/fine.txt"):
                ti = tarfile.TarInfo(name)
                data = ("data of " + name).encode()
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
        self.put(b, "slip.tar", buf.getvalue())
        r = requests.get(self.node.obj_url(b, "slip.tar"), params={"archlist": "true"}, timeout=T)
        unsafe = {m["name"]: m.get("unsafe", "") for m in r.json()["members"]}
        self.assertIn("'..'", unsafe["../../evil.txt"])
        self.assertIn("absolute", unsafe["/etc/passwd-copy"])
        self.assertEqual(unsafe["ok/fine.txt"], "")
        # Served by their stored name as bytes; nothing is ever written to a path.
        r = self.member(b, "slip.tar", "../../evil.txt")
        self.assertEqual(r.content, b"data of ../../evil.txt")
        # A TAR of matching members never carries an unsafe name (issue 16): they are skipped.
        r = requests.get(self.node.obj_url(b, "slip.tar"), params={"archregx": ".", "archmode": "regexp"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
            self.assertEqual(tf.getnames(), ["ok/fine.txt"])
        r = requests.get(self.node.obj_url(b, "slip.tar"),
                         params={"archregx": "evil", "archmode": "substr"}, timeout=T)
        self.assertEqual(r.status_code, 404, r.text)
        # Appending an unsafe name is refused.
        for name in ("../x", "/abs", "a/../../b", "a\x00b"):
            r = requests.put(self.node.obj_url(b, "slip.tar"), params={"archpath": name},
                             data=b"x", timeout=T)
            self.check_error(r, 400, "invalid archpath")

    def test_zip_bomb_is_refused(self):
        b = self.make_bucket()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros", b"\0" * (64 << 20))
        self.put(b, "bomb.zip", buf.getvalue())
        self.check_error(self.member(b, "bomb.zip", "zeros"), 400, "zip bomb")

    def test_append_creates_and_requires(self):
        b = self.make_bucket()
        # Ais-Pine 1 (ArchAppend): the shard must exist.
        r = requests.put(self.node.obj_url(b, "new.tar"), params={"archpath": "a"}, data=b"1",
                         headers={"Ais-Pine": "1"}, timeout=T)
        self.assertEqual(r.status_code, 404, r.content[:300])
        # Without it, a missing shard is created.
        for fmt in (".tar", ".zip", ".tgz"):
            r = requests.put(self.node.obj_url(b, "new" + fmt), params={"archpath": "a/b.txt"},
                             data=b"first", timeout=T)
            self.assertEqual(r.status_code, 200, r.content[:300])
            self.assertEqual(self.member(b, "new" + fmt, "a/b.txt").content, b"first")
        # Concurrent appends to one shard are serialised: none is lost.
        import concurrent.futures as cf

        def app(i):
            return requests.put(self.node.obj_url(b, "new.tar"), params={"archpath": "c/%03d" % i},
                                data=b"v%d" % i, timeout=T).status_code

        with cf.ThreadPoolExecutor(8) as ex:
            self.assertEqual(set(ex.map(app, range(40))), {200})
        got = self.list_arch(b, "new.tar")
        self.assertEqual(len(got), 1 + 1 + 40)
        self.assertEqual(self.member(b, "new.tar", "c/017").content, b"v17")
        # An ordinary overwrite invalidates the cached index.
        self.put(b, "new.tar", make_tar({"only.txt": b"replaced"}))
        self.assertEqual(self.member(b, "new.tar", "only.txt").content, b"replaced")
        self.assertEqual(self.member(b, "new.tar", "c/017").status_code, 404)


class InPlaceAppendTest(ArchiveTestBase):
    """APPEND to a plain tar goes in place (Ais-Append-Mode: inplace): byte-exact members and
    whole-shard checksum after many appends; a reader streaming the whole shard forces a rewrite
    and still gets the old bytes; other formats are rewritten."""

    def append(self, b, shard, name, data):
        r = requests.put(self.node.obj_url(b, shard), params={"archpath": name}, data=data,
                         timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        return r

    def test_200_appends_in_place(self):
        b = self.make_bucket()
        base = {"000001.jpg": rand_bytes(70000, 1), "x/y.txt": b"hello"}
        self.put(b, "s.tar", make_tar(base))
        want = dict(base)
        rnd = random.Random(5)
        version = int(requests.head(self.node.obj_url(b, "s.tar"), timeout=T)
                      .headers["Ais-Version"])
        sess = requests.Session()
        for i in range(200):
            name = "app/%04d.%s" % (i, "bin" if i % 3 else "txt")
            if i % 50 == 7:
                name = "long/" + "n" * 120 + "/%d.dat" % i  # pax header
            data = rand_bytes(rnd.choice([0, 1, 511, 512, 513, 4096, 20000]), 100 + i)
            r = sess.put(self.node.obj_url(b, "s.tar"), params={"archpath": name}, data=data,
                         timeout=T)
            self.assertEqual(r.status_code, 200, r.content[:300])
            self.assertEqual(r.headers.get("Ais-Append-Mode"), "inplace", i)
            version += 1
            self.assertEqual(int(r.headers["Ais-Version"]), version)
            want[name] = data
        # The same member name again shadows the old one.
        r = self.append(b, "s.tar", "x/y.txt", b"newer")
        self.assertEqual(r.headers.get("Ais-Append-Mode"), "inplace")
        want["x/y.txt"] = b"newer"
        for name, data in want.items():
            got = sess.get(self.node.obj_url(b, "s.tar"), params={"archpath": name}, timeout=T)
            self.assertEqual(got.status_code, 200, name)
            self.assertEqual(got.content, data, name)
        whole = sess.get(self.node.obj_url(b, "s.tar"), timeout=T)
        self.assertEqual(whole.status_code, 200)
        self.assertEqual(whole.headers["Ais-Checksum-Value"], xxh64_hex(whole.content))
        self.assertEqual(read_tar(whole.content), want)  # tarfile: the last duplicate wins
        listed = {n: sz for n, sz, _ in self.list_arch(b, "s.tar")}
        self.assertEqual(listed["s.tar"], len(whole.content))
        sess.close()

    def test_reader_forces_rewrite_and_keeps_old_bytes(self):
        b = self.make_bucket()
        big = make_tar({"big.bin": rand_bytes(48 << 20, 9)})  # more than the socket buffers
        self.put(b, "r.tar", big)
        with requests.get(self.node.obj_url(b, "r.tar"), stream=True, timeout=T) as held:
            self.assertEqual(held.status_code, 200)
            r = self.append(b, "r.tar", "while-read", b"w" * 1000)
            self.assertEqual(r.headers.get("Ais-Append-Mode"), "rewrite")
            old = b"".join(held.iter_content(1 << 20))
        self.assertEqual(old, big)  # the reader saw the version it opened, untouched
        # Once the reader is done, appends go in place again (the server may still be
        # finishing the response for a moment).
        mode = None
        for i in range(50):
            mode = self.append(b, "r.tar", "after-%d" % i, b"a").headers.get("Ais-Append-Mode")
            if mode == "inplace":
                break
            time.sleep(0.1)
        self.assertEqual(mode, "inplace")
        self.assertEqual(self.member(b, "r.tar", "while-read").content, b"w" * 1000)
        self.assertEqual(self.member(b, "r.tar", "big.bin").content, big[512:512 + (48 << 20)])

    def test_other_formats_rewrite(self):
        b = self.make_bucket()
        r = self.append(b, "n.tgz", "a", b"1")
        self.assertEqual(r.headers.get("Ais-Append-Mode"), "create")
        r = self.append(b, "n.tgz", "b", b"2")
        self.assertEqual(r.headers.get("Ais-Append-Mode"), "rewrite")
        self.assertEqual(self.member(b, "n.tgz", "a").content, b"1")
        self.assertEqual(self.member(b, "n.tgz", "b").content, b"2")


class BigTarTest(ArchiveTestBase):
    def test_100k_member_tar(self):
        n = 100000
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            ti = tarfile.TarInfo("x")
            for i in range(n):
                ti.name = "%06d.bin" % i
                data = b"%06d" % i * 170  # 1020 bytes
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
        b = self.make_bucket()
        self.put(b, "big.tar", buf.getvalue())
        t0 = time.monotonic()
        r = self.member(b, "big.tar", "099999.bin")
        first = time.monotonic() - t0
        self.assertEqual(r.content, b"099999" * 170)
        s = requests.Session()
        t0 = time.monotonic()
        for i in random.Random(1).sample(range(n), 200):
            r = s.get(self.node.obj_url(b, "big.tar"), params={"archpath": "%06d.bin" % i}, timeout=T)
            self.assertEqual(r.content, b"%06d" % i * 170)
        per = (time.monotonic() - t0) / 200
        s.close()
        sys.stderr.write("\n100k tar: index build + first GET %.3fs, then %.2f ms/member\n"
                         % (first, per * 1000))
        self.assertLess(first, 20)
        self.assertLess(per, 0.05)
        got = self.list_arch(b, "big.tar")
        self.assertEqual(len(got), n + 1)


class ArchiveJobTest(ArchiveTestBase):
    def wait_job(self, jid, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = requests.get(self.node.url + "/v1/cluster", params={"what": "status"},
                             json={"ID": jid}, timeout=T)
            self.assertEqual(r.status_code, 200, r.content[:300])
            st = r.json()
            if st["end_time"] != 0:
                return st
            time.sleep(0.05)
        self.fail("job %s did not finish" % jid)

    def test_archive_action_template_list_and_split(self):
        src, dst = self.make_bucket("src"), self.make_bucket("dst")
        data = {}
        for i in range(30):
            data["img-%04d.jpg" % i] = rand_bytes(10000 + i, 100 + i)
            self.put(src, "img-%04d.jpg" % i, data["img-%04d.jpg" % i])
        # AIStore's message, as the Python SDK sends it (template form).
        msg = {"action": "archive", "value": {"template": "img-{0000..0009}.jpg", "archname": "t.tar",
                                              "isbn": False, "aate": False, "coer": False,
                                              "tobck": {"name": dst, "provider": "ais", "namespace": None}}}
        r = requests.put(self.node.bck_url(src), json=msg, timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        st = self.wait_job(r.text)
        self.assertEqual(st["kind"], "archive")
        self.assertEqual(st["err"], "")
        self.assertFalse(st["aborted"])
        got = self.list_arch(dst, "t.tar")
        self.assertEqual(len(got), 11)
        self.assertEqual(self.member(dst, "t.tar", "img-0003.jpg").content, data["img-0003.jpg"])
        # Object list -> tgz; prefix (whole bucket) -> zip split at 100 KB.
        msg = {"action": "archive", "value": {"objnames": ["img-0001.jpg", "img-0020.jpg"],
                                              "archname": "l.tgz", "tobck": {"name": dst}}}
        jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        self.assertEqual(self.member(dst, "l.tgz", "img-0020.jpg").content, data["img-0020.jpg"])
        msg = {"action": "archive", "value": {"prefix": "img-", "archname": "p.zip",
                                              "max_shard_size": 100000, "tobck": {"name": dst}}}
        jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        r = requests.get(self.node.url + "/v1/cluster", params={"what": "qryxstats"},
                         json={"id": jid}, timeout=T)
        snap = list(r.json().values())[0][0]
        self.assertTrue(snap["is_idle"])
        self.assertEqual(snap["stats"]["loc-objs"], "30")
        # The job's record names its buckets (clang-tidy found them moved out before use).
        self.assertEqual(snap["bck"]["name"], src)
        self.assertEqual(snap["dst-bck"]["name"], dst)
        entries = requests.get(self.node.bck_url(dst), json={
            "action": "list", "value": {"prefix": "p-"}}, timeout=T).json()["entries"]
        shards = [e["name"] for e in entries]
        self.assertGreater(len(shards), 2)
        self.assertEqual(int(snap["stats"]["out-objs"]), len(shards))
        seen = {}
        for s in shards:
            for n, sz, _ in self.list_arch(dst, s)[1:]:
                seen[n.split("/", 1)[1]] = sz
        self.assertEqual(seen, {k: len(v) for k, v in data.items()})
        # Failures: missing object without coer -> the job fails with the reason.
        msg = {"action": "archive", "value": {"objnames": ["nope"], "archname": "f.tar"}}
        jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
        self.assertIn("does not exist", self.wait_job(jid)["err"])
        # Bad requests are 400; unknown job ids 404; stop of a finished job is harmless.
        r = requests.put(self.node.bck_url(src), json={"action": "archive", "value": {"archname": "x.rar"}},
                         timeout=T)
        self.check_error(r, 400, "supported extension")
        r = requests.get(self.node.url + "/v1/cluster", params={"what": "status"}, json={"ID": "nosuch"},
                         timeout=T)
        self.assertEqual(r.status_code, 404)
        r = requests.put(self.node.url + "/v1/cluster", json={"action": "stop", "value": {"ID": jid}},
                         timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        r = requests.get(self.node.url + "/v1/cluster", params={"what": "status_all"}, json={}, timeout=T)
        self.assertEqual(len([j for j in r.json() if j["kind"] == "archive"]), 4)


class AppendIfExistsJobTest(ArchiveTestBase):
    """The archive job with aate on one node: created when missing, else appended (tar in
    place, as the job's ext stats say; other formats rewritten)."""

    wait_job = ArchiveJobTest.wait_job

    def job_ext(self, jid):
        r = requests.get(self.node.url + "/v1/cluster", params={"what": "qryxstats"},
                         json={"id": jid}, timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        return list(r.json().values())[0][0]["ext"]

    def check_members(self, b, shard, want):
        """?archlist=true and the LsArchDir listing name exactly `want`; every member reads
        back byte-equal through ?archpath=."""
        doc = requests.get(self.node.obj_url(b, shard), params={"archlist": "true"},
                           timeout=T).json()
        visible = [m["name"] for m in doc["members"] if not m.get("shadowed")]
        self.assertEqual(sorted(visible), sorted(want))
        listed = {n.split("/", 1)[1]: sz for n, sz, _ in self.list_arch(b, shard)
                  if n.startswith(shard + "/")}
        self.assertEqual(listed, {k: len(v) for k, v in want.items()})
        for name, data in want.items():
            self.assertEqual(self.member(b, shard, name).content, data, name)
        return doc

    def test_archive_append_if_exists(self):
        src, dst = self.make_bucket("src"), self.make_bucket("dst")
        data = {"o-%02d.bin" % i: rand_bytes(3000 + 517 * i, 900 + i) for i in range(12)}
        data["o-11.bin"] = rand_bytes(200000, 77)  # several buffers
        for n, d in data.items():
            self.put(src, n, d)
        for shard, second_mode in (("t.tar", "shards-inplace"), ("t.tgz", "shards-rewrite"),
                                   ("t.zip", "shards-rewrite")):
            first = ["o-%02d.bin" % i for i in range(5)]
            second = ["o-%02d.bin" % i for i in range(5, 12)]
            msg = {"action": "archive", "value": {"objnames": first, "archname": shard,
                                                  "aate": True, "tobck": {"name": dst}}}
            jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
            self.assertEqual(self.wait_job(jid)["err"], "")
            self.assertEqual(self.job_ext(jid), {"shards-create": 1})  # missing: created
            version = requests.head(self.node.obj_url(dst, shard), timeout=T).headers["Ais-Version"]
            msg["value"]["objnames"] = second
            jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
            st = self.wait_job(jid)
            self.assertEqual(st["err"], "")
            self.assertEqual(self.job_ext(jid), {second_mode: 1}, shard)
            self.assertNotEqual(requests.head(self.node.obj_url(dst, shard), timeout=T)
                                .headers["Ais-Version"], version)
            self.check_members(dst, shard, data)
        # A name already in the shard: the new bytes win (tar: the old member stays, shadowed).
        self.put(src, "o-03.bin", b"new three")
        msg = {"action": "archive", "value": {"objnames": ["o-03.bin"], "archname": "t.tar",
                                              "aate": True, "tobck": {"name": dst}}}
        jid = requests.put(self.node.bck_url(src), json=msg, timeout=T).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        self.assertEqual(self.job_ext(jid), {"shards-inplace": 1})
        doc = self.check_members(dst, "t.tar", dict(data, **{"o-03.bin": b"new three"}))
        self.assertEqual([m.get("shadowed", False) for m in doc["members"]
                          if m["name"] == "o-03.bin"], [True, False])
        # aate names one shard: a split is refused.
        msg["value"]["max_shard_size"] = 100000
        r = requests.put(self.node.bck_url(src), json=msg, timeout=T)
        self.check_error(r, 400, "max_shard_size")
        # The shard-append route is Aisle-internal.
        r = requests.put(self.node.obj_url(dst, "t.tar"), params={"archappend": "true"},
                         data=make_tar({"z": b"z"}), timeout=T)
        self.check_error(r, 403, "Aisle-internal")


@unittest.skipUnless(os.path.exists(cli_bin()), "aisle CLI not built (AISLE_CLI_BIN)")
class CliTest(ArchiveTestBase):
    def cli(self, *args, rc=0):
        p = subprocess.run([cli_bin(), "--endpoint", self.node.url, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, rc, "aisle %s: %s" % (" ".join(args), p.stderr.decode()))
        return p.stdout.decode(), p.stderr.decode()

    def test_archive_and_job_commands(self):
        b = self.make_bucket()
        members = {"a/000.jpg": rand_bytes(5000, 1), "a/000.cls": b"1", "../slip": b"bad"}
        self.put(b, "s.tar", make_tar(members))
        out, _ = self.cli("archive", "ls", "ais://%s/s.tar" % b)
        self.assertIn("a/000.jpg", out)
        self.assertIn("'..' path segment", out)
        out, _ = self.cli("--json", "archive", "ls", "--samples", "ais://%s/s.tar" % b)
        self.assertEqual({s["key"] for s in json.loads(out)["samples"]}, {"a/000", "../slip"})
        d = make_tmpdir()
        try:
            dest = os.path.join(d, "x.jpg")
            self.cli("archive", "get", "ais://%s/s.tar" % b, "a/000.jpg", dest)
            self.assertEqual(open(dest, "rb").read(), members["a/000.jpg"])
            out, _ = self.cli("archive", "get", "ais://%s/s.tar" % b, "a/000.cls", "-")
            self.assertEqual(out, "1")
            # No local path is derived from an unsafe member name.
            _, err = self.cli("archive", "get", "ais://%s/s.tar" % b, "../slip", rc=1)
            self.assertIn("refusing", err)
            src = os.path.join(d, "new.txt")
            open(src, "wb").write(b"appended")
            self.cli("archive", "append", "ais://%s/s.tar" % b, src, "--name", "a/001.txt",
                     "--must-exist")
            self.assertEqual(self.member(b, "s.tar", "a/001.txt").content, b"appended")
            self.cli("archive", "append", "ais://%s/nope.tar" % b, src, "--must-exist", rc=1)
        finally:
            remove_tmpdir(d)
        for i in range(5):
            self.put(b, "o-%d.bin" % i, b"%d" % i * 100)
        out, _ = self.cli("archive", "create", "ais://%s" % b, "ais://%s/out.tgz" % b,
                          "--template", "o-{0..4}.bin", "--wait")
        self.assertIn("5 objects", out)
        self.assertEqual(self.member(b, "out.tgz", "o-3.bin").content, b"3" * 100)
        # --append (aate): more objects into the existing shard.
        self.put(b, "o-5.bin", b"five")
        self.cli("archive", "create", "ais://%s" % b, "ais://%s/out.tgz" % b,
                 "--list", "o-5.bin", "--append", "--wait")
        self.assertEqual(self.member(b, "out.tgz", "o-5.bin").content, b"five")
        self.assertEqual(self.member(b, "out.tgz", "o-3.bin").content, b"3" * 100)
        out, _ = self.cli("archive", "create", "--help")
        self.assertIn("--append", out)
        out, _ = self.cli("--json", "archive", "create", "ais://%s" % b, "ais://%s/l.zip" % b,
                          "--list", "o-1.bin,o-2.bin")
        jid = json.loads(out)["job"]
        self.cli("job", "wait", jid, "--timeout", "30")
        out, _ = self.cli("job", "show", jid)
        self.assertIn("finished", out)
        out, _ = self.cli("job", "ls")
        self.assertIn(jid, out)
        # A failing job makes `job wait` exit 1 with the reason.
        out, _ = self.cli("--json", "archive", "create", "ais://%s" % b, "ais://%s/f.tar" % b,
                          "--list", "missing")
        _, err = self.cli("job", "wait", json.loads(out)["job"], rc=1)
        self.assertIn("does not exist", err)
        self.cli("job", "abort", "nosuchjob", rc=1)


class ClusterArchiveTest(unittest.TestCase):
    """The archive job through a proxy: one target runs it, reading from every owner."""

    @classmethod
    def setUpClass(cls):
        from test_cluster import Cluster  # noqa: E402 (a sibling module; starts real nodes)
        cls.c = Cluster(3)

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def bucket(self, name):
        r = requests.post(self.c.url + "/v1/buckets/" + name, json={"action": "create-bck"},
                          timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        return name

    def start(self, src, value, status=200):
        r = requests.put(self.c.url + "/v1/buckets/" + src, json={"action": "archive", "value": value},
                         timeout=T)
        self.assertEqual(r.status_code, status, r.content[:300])
        return r

    def wait_job(self, jid, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = requests.get(self.c.url + "/v1/cluster", params={"what": "status"},
                             json={"id": jid}, timeout=T)
            self.assertEqual(r.status_code, 200, r.content[:300])
            st = r.json()
            if st["end_time"] != 0:
                self.assertEqual(st["kind"], "archive")
                return st
            time.sleep(0.1)
        self.fail("job %s did not finish" % jid)

    def names(self, bucket, prefix):
        r = requests.get(self.c.url + "/v1/buckets/" + bucket,
                         json={"action": "list", "value": {"prefix": prefix}}, timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        return sorted(e["name"] for e in r.json()["entries"])

    def shard(self, bucket, name):
        r = requests.get("%s/v1/objects/%s/%s" % (self.c.url, bucket, name), timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        return r.content

    def check_shards(self, bucket, shards, expect):
        """Every shard read through the proxy; members in order, bytes equal to the sources."""
        from test_cluster import local_names  # noqa: E402
        ids = self.c.online_ids()
        got = []
        for s in shards:
            with tarfile.open(fileobj=io.BytesIO(self.shard(bucket, s))) as tf:
                for ti in tf.getmembers():
                    self.assertEqual(tf.extractfile(ti).read(), expect[ti.name], ti.name)
                    got.append(ti.name)
            # Written to (not just readable through) its HRW owner.
            owner = self.c.target_by_id(hrw_owner(ids, bucket, s))
            self.assertIn(s, local_names(owner, bucket))
        self.assertEqual(got, sorted(expect))

    def test_archive_append_if_exists(self):
        from test_cluster import local_names, put_many  # noqa: E402
        src, dst = self.bucket("asrc"), self.bucket("adst")
        data = {"a/%03d.bin" % i: rand_bytes(1000 + 313 * i, 1100 + i) for i in range(30)}
        data["a/029.bin"] = rand_bytes(250000, 3)
        self.assertEqual(set(put_many(self.c.url, src, sorted(data), lambda n: data[n])), {200})
        ids = self.c.online_ids()

        def ext(jid):
            r = requests.get(self.c.url + "/v1/cluster", params={"what": "qryxstats"},
                             json={"id": jid}, timeout=T)
            snaps = [s for v in r.json().values() for s in v]
            self.assertEqual(len(snaps), 1)
            return snaps[0]["ext"]

        def members(shard, want):
            url = "%s/v1/objects/%s/%s" % (self.c.url, dst, shard)
            doc = requests.get(url, params={"archlist": "true"}, timeout=T).json()
            self.assertEqual(sorted(m["name"] for m in doc["members"] if not m.get("shadowed")),
                             sorted(want))
            r = requests.get(self.c.url + "/v1/buckets/" + dst, timeout=T, json={
                "action": "list", "value": {"prefix": shard, "flags": str(LS_ARCH_DIR)}})
            self.assertEqual(sorted(e["name"] for e in r.json()["entries"]
                                    if e["name"].startswith(shard + "/")),
                             sorted(shard + "/" + n for n in want))
            for n, d in want.items():
                r = requests.get(url, params={"archpath": n}, timeout=T)
                self.assertEqual(r.status_code, 200, r.content[:300])
                self.assertEqual(r.content, d, n)
            owner = self.c.target_by_id(hrw_owner(ids, dst, shard))
            self.assertIn(shard, local_names(owner, dst))

        for shard, mode in (("j.tar", "shards-inplace"), ("j.tar.zst", "shards-rewrite")):
            v = {"template": "a/{000..014}.bin", "archname": shard, "aate": True,
                 "tobck": {"name": dst}}
            jid = self.start(src, v).text
            self.assertEqual(self.wait_job(jid)["err"], "")
            self.assertEqual(ext(jid), {"shards-create": 1})
            v["template"] = "a/{015..029}.bin"
            jid = self.start(src, v).text
            self.assertEqual(self.wait_job(jid)["err"], "")
            self.assertEqual(ext(jid), {mode: 1}, shard)
            members(shard, data)
        self.start(src, {"archname": "x.tar", "aate": True, "max_shard_size": 1000}, status=400)

        # The owner's Aisle-internal route the job uses when the owner is another target: all
        # members of one tar in one in-place append.
        owner = self.c.target_by_id(hrw_owner(ids, dst, "j.tar"))
        extra = {"b/1": b"one", "b/2": rand_bytes(5000, 8)}
        url = owner.obj_url(dst, "j.tar", {"archappend": "true", "archmime": ".tar"})
        r = tl.intra_request("PUT", url, owner.node_id(), make_tar(extra), timeout=T)
        self.assertEqual(r.status_code, 200, r.content[:300])
        self.assertEqual(r.headers["Ais-Append-Mode"], "inplace")
        members("j.tar", dict(data, **extra))
        r = requests.put(url, data=make_tar(extra), timeout=T)
        self.assertEqual(r.status_code, 403, r.content[:300])

    def test_archive_across_targets(self):
        from test_cluster import local_names, put_many  # noqa: E402
        src, dst = self.bucket("csrc"), self.bucket("cdst")
        data = {}
        for i in range(50):
            data["c/img-%04d.jpg" % i] = rand_bytes(2000 + 97 * i, 500 + i)
        for i in range(10):
            data["other-%d.bin" % i] = rand_bytes(300 + i, 700 + i)
        data["c/img-0007.jpg"] = rand_bytes(300000, 9)  # several network buffers
        codes = put_many(self.c.url, src, sorted(data), lambda n: data[n])
        self.assertEqual(set(codes), {200})
        held = [set(local_names(t, src)) for t in self.c.targets]
        self.assertEqual(sum(len(h) for h in held), len(data))
        self.assertGreaterEqual(len([h for h in held if h]), 2)  # really spread out

        # Template, split at ~150 KB (the 300 KB object gets a shard of its own).
        jid = self.start(src, {"template": "c/img-{0000..0039}.jpg", "archname": "t.tar",
                               "max_shard_size": 150000, "tobck": {"name": dst}}).text
        st = self.wait_job(jid)
        self.assertEqual(st["err"], "")
        shards = self.names(dst, "t-")
        self.assertGreater(len(shards), 2)
        self.check_shards(dst, shards, {n: data[n] for n in data if n < "c/img-0040"})
        r = requests.get(self.c.url + "/v1/cluster", params={"what": "qryxstats"},
                         json={"id": jid}, timeout=T)
        snaps = [s for v in r.json().values() for s in v]
        self.assertEqual(len(snaps), 1)  # one target ran it
        self.assertEqual(snaps[0]["stats"]["loc-objs"], "40")
        self.assertEqual(int(snaps[0]["stats"]["out-objs"]), len(shards))

        # Prefix: the names come from every target's listing.
        jid = self.start(src, {"prefix": "c/", "archname": "p.tar", "max_shard_size": 200000,
                               "tobck": {"name": dst}}).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        self.check_shards(dst, self.names(dst, "p-"), {n: data[n] for n in data if n.startswith("c/")})

        # Whole bucket into itself, one shard: its own output is not packed.
        jid = self.start(src, {"archname": "all.tar"}).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        self.check_shards(src, ["all.tar"], data)

        # continue_on_error skips a missing template name; without it the job fails.
        tmpl = "other-{0,1,7,nosuch}.bin"
        jid = self.start(src, {"template": tmpl, "archname": "coer.tar", "coer": True,
                               "tobck": {"name": dst}}).text
        self.assertEqual(self.wait_job(jid)["err"], "")
        self.check_shards(dst, ["coer.tar"], {"other-%d.bin" % i: data["other-%d.bin" % i]
                                              for i in (0, 1, 7)})
        jid = self.start(src, {"template": tmpl, "archname": "fail.tar", "tobck": {"name": dst}}).text
        self.assertIn("does not exist", self.wait_job(jid)["err"])
        self.assertEqual(self.names(dst, "fail"), [])

        # Missing buckets: 404 from the proxy, AIStore-style; bad messages 400.
        r = self.start("nosuch", {"archname": "x.tar"}, status=404)
        self.assertEqual(r.json()["status"], 404)
        self.assertIn("nosuch", r.json()["message"])
        r = self.start(src, {"archname": "x.tar", "tobck": {"name": "nodst"}}, status=404)
        self.assertIn("nodst", r.json()["message"])
        r = self.start(src, {"archname": "x.rar"}, status=400)
        self.assertIn("supported extension", r.json()["message"])

        # The CLI against the proxy: start, then poll the job through it.
        if os.path.exists(cli_bin()):
            p = subprocess.run([cli_bin(), "--endpoint", self.c.url, "archive", "create",
                                "ais://" + src, "ais://%s/cli.tar" % dst,
                                "--template", "other-{0..9}.bin", "--wait"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertIn("10 objects", p.stdout.decode())
            self.check_shards(dst, ["cli.tar"], {n: data[n] for n in data if n.startswith("other-")})


if __name__ == "__main__":
    main()
