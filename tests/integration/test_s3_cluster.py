#!/usr/bin/env python3
"""S3 through a cluster proxy: 1 proxy + 3 targets with SigV4 keys, every client against the
PROXY endpoint. The proxy relays object requests (streaming) to their HRW owners and answers
bucket-level ones itself. Checks placement (each target's local listing) and that the proxy
never buffers a whole object (VmHWM during a 200 MiB PUT/GET)."""
import hashlib
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import requests  # noqa: E402
import test_cluster as tc  # noqa: E402
import test_s3 as ts  # noqa: E402
from test_s3 import AK, SK, REGION, have, md5hex  # noqa: E402

KEYS = ["--s3-access-key", AK, "--s3-secret-key", SK]


class KeyedProxy(tc.Proxy):
    def build_args(self, ready):
        return super().build_args(ready) + KEYS


class S3Cluster(tc.Cluster):
    def __init__(self, n_targets):
        self.proxy = KeyedProxy()
        self.proxy.start()
        self.proxy.fixed_port = self.proxy.port
        self.targets = []
        for _ in range(n_targets):
            self.add_target()
        self.wait_online(n_targets)

    def add_target(self):
        t = tl.Node(extra_args=["--primary", self.proxy.url, "--keepalive-ms",
                                str(tc.KEEPALIVE_MS)] + KEYS)
        t.start()
        self.targets.append(t)
        return t


class ProxyS3(ts.S3Node):
    """test_s3's client helpers, pointed at the proxy."""

    def __init__(self, cluster):
        self.url = cluster.url
        self.endpoint = self.url + "/s3"
        self.home = tl.make_tmpdir("aisle-s3c-home-")

    def cleanup(self):
        tl.remove_tmpdir(self.home)


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class S3ClusterTest(ts.S3TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = S3Cluster(3)
        cls.s3 = ProxyS3(cls.cluster)

    @classmethod
    def tearDownClass(cls):
        if cls.s3:
            cls.s3.cleanup()
        cls.cluster.cleanup()

    def assert_placed(self, bucket, keys):
        """Every key sits on its HRW owner and only there."""
        ids = self.cluster.online_ids()
        held = {t.node_id(): set(tc.local_names(t, bucket)) for t in self.cluster.targets}
        for k in keys:
            owner = tc.hrw_owner(ids, bucket, k)
            self.assertIn(k, held[owner], "%s not on its owner %s" % (k, owner))
            for tid, names in held.items():
                if tid != owner:
                    self.assertNotIn(k, names, "%s also on %s" % (k, tid))

    def test_awscli_cp_ls_sync_rm_multipart(self):
        s3 = self.s3
        b = self.bucket()
        _, out, _ = s3.aws("s3", "ls")
        self.assertIn(b, out)
        files = {"d/f%d.txt" % i: ("file %d" % i).encode() * 50 for i in range(12)}
        past = time.time() - 120  # proxy listings carry whole-second times
        for n, d in files.items():
            os.utime(s3.write("src/" + n, d), (past, past))
        _, out, _ = s3.aws("s3", "sync", "src", "s3://%s/s" % b)
        self.assertEqual(out.count("upload:"), len(files))
        _, out, _ = s3.aws("s3", "sync", "src", "s3://%s/s" % b)
        self.assertEqual(out.count("upload:"), 0, out)
        _, out, _ = s3.aws("s3", "ls", "--recursive", "s3://%s/" % b)
        self.assertEqual(len(out.splitlines()), len(files))
        self.assert_placed(b, ["s/" + n for n in files])
        big = os.urandom(9 << 20)  # > 8 MiB: awscli goes multipart
        s3.write("big.bin", big)
        s3.aws("s3", "cp", "big.bin", "s3://%s/big.bin" % b)
        head = s3.aws_json("s3api", "head-object", "--bucket", b, "--key", "big.bin")
        self.assertTrue(head["ETag"].endswith('-2"'), head)
        s3.aws("s3", "cp", "s3://%s/big.bin" % b, "big-back.bin")
        self.assertEqual(s3.read("big-back.bin"), big)
        self.assert_placed(b, ["big.bin"])
        # DeleteBucket refuses a non-empty bucket, then works once it is empty.
        rc, _, err = s3.aws("s3api", "delete-bucket", "--bucket", b, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketNotEmpty", err)
        s3.aws("s3", "rm", "--recursive", "s3://%s/" % b)
        _, out, _ = s3.aws("s3", "ls", "--recursive", "s3://%s/" % b)
        self.assertEqual(out.strip(), "")
        s3.aws("s3", "rb", "s3://" + b)
        rc, _, err = s3.aws("s3api", "head-bucket", "--bucket", b, check=False)
        self.assertNotEqual(rc, 0)

    def test_boto3_put_get_list_paging_delete(self):
        from botocore.exceptions import ClientError
        c = self.boto()
        b = self.bucket(create=False)
        c.create_bucket(Bucket=b)
        with self.assertRaises(ClientError) as e:
            c.create_bucket(Bucket=b)
        self.assertEqual(e.exception.response["Error"]["Code"], "BucketAlreadyOwnedByYou")
        keys = ["k/%03d" % i for i in range(45)] + ["top"]
        for k in keys:
            c.put_object(Bucket=b, Key=k, Body=k.encode() * 3, ContentType="text/plain")
        self.assert_placed(b, keys)
        got = c.get_object(Bucket=b, Key="k/007")
        self.assertEqual(got["Body"].read(), b"k/007" * 3)
        self.assertEqual(got["ETag"], '"%s"' % md5hex(b"k/007" * 3))
        self.assertEqual(got["ContentType"], "text/plain")
        # Paging with v2 and v1, and a delimiter.
        seen = []
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=b, PaginationConfig={"PageSize": 10}):
            seen += [o["Key"] for o in page.get("Contents", [])]
            # Listings through the proxy carry the same ETag (MD5) and mtime as HEAD, so sync
            # tools comparing them do not re-upload.
            for o in page.get("Contents", []):
                self.assertEqual(o["ETag"], '"%s"' % md5hex(o["Key"].encode() * 3), o)
        self.assertEqual(seen, sorted(keys))
        head = c.head_object(Bucket=b, Key="k/007")
        listed = [o for o in c.list_objects_v2(Bucket=b, Prefix="k/007")["Contents"]][0]
        self.assertEqual(listed["LastModified"].replace(microsecond=0), head["LastModified"])
        seen = []
        for page in c.get_paginator("list_objects").paginate(Bucket=b, PaginationConfig={"PageSize": 7}):
            seen += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(seen, sorted(keys))
        r = c.list_objects_v2(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["k/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["top"])
        # Presigned GET through the proxy.
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "top"}, ExpiresIn=300)
        r = requests.get(url, timeout=30)
        self.assertEqual((r.status_code, r.content), (200, b"top" * 3))
        # Delete one, then multi-delete the rest (spread over all owners).
        c.delete_object(Bucket=b, Key="top")
        with self.assertRaises(ClientError):
            c.head_object(Bucket=b, Key="top")
        r = c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys[:-1]]})
        self.assertEqual(len(r.get("Deleted", [])), len(keys) - 1)
        self.assertFalse(r.get("Errors"))
        self.assertEqual(c.list_objects_v2(Bucket=b)["KeyCount"], 0)
        c.delete_bucket(Bucket=b)
        # A bad signature at the proxy (bucket-level) and at a target (relayed).
        bad = self.boto(sk="wrong")
        for call in (lambda: bad.list_objects_v2(Bucket=b), lambda: bad.get_object(Bucket=b, Key="x")):
            with self.assertRaises(ClientError) as e:
                call()
            self.assertEqual(e.exception.response["Error"]["Code"], "SignatureDoesNotMatch")

    def test_boto3_copy_across_targets(self):
        c = self.boto()
        b = self.bucket(create=False)
        c.create_bucket(Bucket=b)
        for i in range(12):
            c.put_object(Bucket=b, Key="src/%02d" % i, Body=b"payload-%02d" % i * 100,
                         ContentType="image/jpeg", Metadata={"label": str(i)})
        ids = self.cluster.online_ids()
        cross = 0
        for i in range(12):
            src, dst = "src/%02d" % i, "copy/%02d" % i
            cross += tc.hrw_owner(ids, b, src) != tc.hrw_owner(ids, b, dst)
            r = c.copy_object(Bucket=b, Key=dst, CopySource={"Bucket": b, "Key": src})
            self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % md5hex(b"payload-%02d" % i * 100))
            got = c.get_object(Bucket=b, Key=dst)
            self.assertEqual(got["Body"].read(), b"payload-%02d" % i * 100)
            self.assertEqual(got["ContentType"], "image/jpeg")
            self.assertEqual(got["Metadata"], {"label": str(i)})
        self.assertGreater(cross, 0)  # some copies did cross targets
        self.assert_placed(b, ["copy/%02d" % i for i in range(12)])
        r = c.copy_object(Bucket=b, Key="copy/r", CopySource={"Bucket": b, "Key": "src/01"},
                          MetadataDirective="REPLACE", ContentType="text/plain", Metadata={"x": "y"})
        got = c.get_object(Bucket=b, Key="copy/r")
        self.assertEqual((got["ContentType"], got["Metadata"]), ("text/plain", {"x": "y"}))
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as e:
            c.copy_object(Bucket=b, Key="copy/none", CopySource={"Bucket": b, "Key": "nosuch"})
        self.assertEqual(e.exception.response["Error"]["Code"], "NoSuchKey")

    def test_proxy_streams_200mib(self):
        c = self.boto()
        b = self.bucket()
        path = os.path.join(self.s3.home, "huge")
        h = hashlib.md5()
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for i in range(200):
                chunk = block[i:] + block[:i]
                f.write(chunk)
                h.update(chunk)
        pid = self.cluster.proxy.proc.pid
        put = c.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "huge"}, ExpiresIn=600)
        with open(path, "rb") as f:  # Content-Length body
            r = requests.put(put, data=f, timeout=120)
        self.assertEqual(r.status_code, 200, r.text)

        def gen():  # chunked body
            with open(path, "rb") as f:
                while True:
                    d = f.read(1 << 20)
                    if not d:
                        return
                    yield d
        put2 = c.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "huge2"}, ExpiresIn=600)
        r = requests.put(put2, data=gen(), timeout=120)
        self.assertEqual(r.status_code, 200, r.text)
        for key in ("huge", "huge2"):
            get = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=600)
            g = hashlib.md5()
            with requests.get(get, stream=True, timeout=120) as r:
                self.assertEqual(r.status_code, 200)
                self.assertEqual(int(r.headers["Content-Length"]), 200 << 20)
                for d in r.iter_content(1 << 20):
                    g.update(d)
            self.assertEqual(g.hexdigest(), h.hexdigest())
        hwm = vm_hwm_kib(pid)
        print("proxy VmHWM after 2x200 MiB PUT+GET: %d KiB" % hwm, file=sys.stderr)
        # A sanitizer's shadow memory inflates RSS by a multiple: the bound holds for the
        # normal build (CI's); sanitizer runs (scripts/test.sh --sanitize) check the bytes only.
        if not os.environ.get("AISLE_SANITIZER"):
            self.assertLess(hwm, 100 << 10, "proxy VmHWM %d KiB" % hwm)
        self.assert_placed(b, ["huge", "huge2"])
        os.unlink(path)
        c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "huge"}, {"Key": "huge2"}]})

    def test_target_down_is_503(self):
        c = self.boto()
        b = self.bucket()
        ids = self.cluster.online_ids()
        victim = self.cluster.targets[-1]
        vid = victim.node_id()
        key = next("k%d" % i for i in range(1000) if tc.hrw_owner(ids, b, "k%d" % i) == vid)
        c.put_object(Bucket=b, Key=key, Body=b"x")
        r = requests.get(self.s3.endpoint + "/%s/%s" % (b, key), timeout=30)
        self.assertEqual(r.status_code, 403)  # unsigned: the owner target refuses it
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=300)
        victim.kill9()
        try:
            # Before the proxy marks it down, the relay cannot connect: 503, S3 XML.
            r = requests.get(url, timeout=30)
            self.assertEqual(r.status_code, 503, r.text)
            self.assertIn("<Code>ServiceUnavailable</Code>", r.text)
        finally:
            victim.restart()
            self.cluster.wait_online(3)
        self.assertEqual(requests.get(url, timeout=30).content, b"x")

    def test_non_primary_proxy(self):
        """A second proxy relays CreateBucket/DeleteBucket to the primary, serves the rest."""
        import boto3
        from botocore.config import Config
        p2 = KeyedProxy(primary_url=self.cluster.url)
        p2.start()
        try:
            c = boto3.client("s3", endpoint_url=p2.url + "/s3", aws_access_key_id=AK,
                             aws_secret_access_key=SK, region_name=REGION,
                             config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
            b = "s3-non-primary"
            c.create_bucket(Bucket=b)
            self.assertIn(b, [x["Name"] for x in self.boto().list_buckets()["Buckets"]])
            c.put_object(Bucket=b, Key="a/b", Body=b"data")
            self.assertEqual(c.get_object(Bucket=b, Key="a/b")["Body"].read(), b"data")
            deadline = time.monotonic() + 10  # the BMD reaches p2 by metasync
            while b not in [x["Name"] for x in c.list_buckets()["Buckets"]]:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
            self.assertEqual([o["Key"] for o in c.list_objects_v2(Bucket=b)["Contents"]], ["a/b"])
            c.delete_object(Bucket=b, Key="a/b")
            c.delete_bucket(Bucket=b)
            self.assertNotIn(b, [x["Name"] for x in self.boto().list_buckets()["Buckets"]])
        finally:
            p2.cleanup()

    @unittest.skipUnless(have("s3cmd"), "s3cmd not installed")
    def test_s3cmd_put_get_ls(self):
        s3 = self.s3
        b = "s3cmd-cluster"
        cfg = ts.S3cmdTest.cfg(self)
        run = lambda *a, **kw: s3.run(["s3cmd", "-c", cfg] + list(a), **kw)  # noqa: E731
        run("mb", "s3://" + b)
        data = os.urandom(23456)
        s3.write("c/f.bin", data)
        run("put", "c/f.bin", "s3://%s/x/f.bin" % b)
        _, out, _ = run("ls", "s3://%s/x/" % b)
        self.assertIn("s3://%s/x/f.bin" % b, out)
        run("get", "--force", "s3://%s/x/f.bin" % b, "c/g.bin")
        self.assertEqual(s3.read("c/g.bin"), data)
        big = os.urandom(11 << 20)
        s3.write("c/big", big)
        run("put", "--multipart-chunk-size-mb=5", "c/big", "s3://%s/big" % b)
        run("get", "--force", "s3://%s/big" % b, "c/big-down")
        self.assertEqual(s3.read("c/big-down"), big)
        self.assert_placed(b, ["x/f.bin", "big"])
        run("del", "-r", "--force", "s3://%s/" % b)
        run("rb", "s3://" + b)

    @unittest.skipUnless(have("rclone"), "rclone not installed")
    def test_rclone_copy_check(self):
        s3 = self.s3
        b = self.bucket()
        files = {"r/a.txt": b"alpha" * 100, "r/d/b.bin": os.urandom(7 << 20), "r/d/e/c": b"c"}
        for n, d in files.items():
            s3.write(n, d)
        rclone = lambda *a: ts.RcloneTest.rclone(self, *a)  # noqa: E731
        rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "r", "ais:%s/rc" % b)
        rclone("check", "r", "ais:%s/rc" % b)
        rclone("copy", "ais:%s/rc" % b, "r-back")
        for n, d in files.items():
            self.assertEqual(s3.read("r-back/" + n[2:]), d)
        self.assert_placed(b, ["rc/a.txt", "rc/d/b.bin", "rc/d/e/c"])

    @unittest.skipUnless(have("s3fs") and os.path.exists("/dev/fuse") and have("fusermount3"),
                         "s3fs or FUSE not available")
    def test_s3fs_mount_read_write(self):
        ts.S3fsTest.test_mount_read_write(self)


if __name__ == "__main__":
    unittest.main()
