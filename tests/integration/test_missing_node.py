#!/usr/bin/python3
"""A missing node is never "does not exist" (issue #18 item 6).

1 proxy + 3 targets, a copies=1 bucket, kill -9 of the target that owns an object: native
GET/HEAD and S3 HEAD answer 503 naming that target (not 404), a listing is refused with 503
naming it (not 1 of 3 targets' objects), a FUSE reader gets EIO mid-file and `ls` fails (not
ENOENT, not a partial directory); a copies=2 bucket keeps serving and listing; after the restart
everything is back. And a target's 4xx refusal of a listing page (a zip bomb) is passed on.
"""

import errno
import io
import os
import subprocess
import sys
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import requests  # noqa: E402
import test_cluster as tc  # noqa: E402
import test_fs as tf  # noqa: E402
import test_s3_cluster as tsc  # noqa: E402
from test_s3 import AK, SK, REGION  # noqa: E402

T = 30


def have_boto3():
    try:
        import boto3  # noqa: F401
        return True
    except ImportError:
        return False


class MissingNodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = tsc.S3Cluster(3)  # native API and S3 (keys) on the proxy

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def url(self, b, name=""):
        return self.c.url + "/v1/objects/%s/%s" % (b, tl.quote_name(name))

    def create(self, b, copies=1):
        r = requests.post(self.c.url + "/v1/buckets/" + b,
                          json={"action": "create-bck", "value": {"mirror": {"copies": copies}}},
                          timeout=T)
        self.assertEqual(r.status_code, 200, r.text)

    def put(self, b, name, data):
        r = requests.put(self.url(b, name), data=data, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)

    def list_names(self, b, **value):
        body = {"action": "list", "value": dict({"pagesize": 1000}, **value)}
        return requests.get(self.c.url + "/v1/buckets/" + b, json=body, timeout=T)

    def s3(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.c.url + "/s3", aws_access_key_id=AK,
                            aws_secret_access_key=SK, region_name=REGION,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                          s3={"addressing_style": "path"}))

    def wait_state(self, tid, state, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.c.smap()["tmap"][tid].get("aisle_state", "online") == state:
                return
            time.sleep(0.1)
        self.fail("target %s never became %s: %s" % (tid, state, self.c.smap()))

    def check_down_error(self, r, vid):
        self.assertEqual(r.status_code, 503, r.text[:300])
        self.assertIn(vid, r.json()["message"])

    def test_owner_down_is_unavailable_not_missing(self):
        ids = self.c.online_ids()
        victim = self.c.targets[1]
        vid = victim.node_id()
        b, b2 = "miss1", "miss2"
        self.create(b)
        self.create(b2, copies=2)
        names = ["o%03d" % i for i in range(30)]
        for n in names:
            self.put(b, n, n.encode() * 5)
            self.put(b2, n, n.encode() * 7)
        mine = [n for n in names if tc.hrw_owner(ids, b, n) == vid]
        others = [n for n in names if n not in mine]
        self.assertTrue(mine and others)
        big = next("big%d" % i for i in range(1000) if tc.hrw_owner(ids, b, "big%d" % i) == vid)
        blob = os.urandom(8 << 20)
        self.put(b, big, blob)
        names.append(big)

        m = None
        f = None
        if tf.fuse_available():
            # Everything over HTTP (no fd passing, no prefetch, no caches): the read after the
            # kill must reach the cluster.
            m = tf.Mount(self.c.url + "/" + b,
                         "attr_timeout=0,entry_timeout=0,negative_timeout=0,dir_timeout=0,"
                         "retry_timeout=2,local_reads=off,prefetch=off,direct_io,"
                         "readahead=128K").start()
        try:
            if m:
                f = open(m.path(big), "rb", buffering=0)
                self.assertEqual(f.read(65536), blob[:65536])
            victim.kill9()
            self.wait_state(vid, "down")

            # Native GET and HEAD through the proxy: 503 naming the target, never 404.
            for n in mine:
                self.check_down_error(requests.get(self.url(b, n), timeout=T), vid)
            r = requests.head(self.url(b, mine[0]), allow_redirects=True, timeout=T)
            self.assertEqual(r.status_code, 503)
            self.assertIn(vid, r.headers.get("Hdr-Error", ""))
            for n in others:
                self.assertEqual(requests.get(self.url(b, n), timeout=T).content, n.encode() * 5)
            # The listing would be 1 of 3 targets' objects short: refused, naming the target.
            self.check_down_error(self.list_names(b), vid)
            if os.path.exists(tl.cli_bin()):  # the CLI fails the listing, naming the target
                p = subprocess.run([tl.cli_bin(), "object", "ls", "ais://" + b],
                                   env=dict(os.environ, AIS_ENDPOINT=self.c.url),
                                   capture_output=True, text=True, timeout=60)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn(vid, p.stderr)
            # copies=2: every object keeps a copy online, so reads and listings go on.
            r = self.list_names(b2)
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertEqual(sorted(e["name"] for e in r.json()["entries"]), sorted(names[:-1]))
            for n in names[:-1]:
                self.assertEqual(requests.get(self.url(b2, n), timeout=T).content, n.encode() * 7)

            if have_boto3():
                from botocore.exceptions import ClientError
                s3 = self.s3()
                with self.assertRaises(ClientError) as cm:
                    s3.head_object(Bucket=b, Key=mine[0])
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
                with self.assertRaises(ClientError) as cm:
                    s3.get_object(Bucket=b, Key=mine[0])
                self.assertEqual(cm.exception.response["Error"]["Code"], "ServiceUnavailable")
                self.assertIn(vid, cm.exception.response["Error"]["Message"])
                with self.assertRaises(ClientError) as cm:
                    s3.list_objects_v2(Bucket=b)
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
                self.assertEqual(s3.head_object(Bucket=b, Key=others[0])["ContentLength"], 20)

            if m:
                # Mid-file: EIO, not ENOENT; a new lookup and `ls` fail too, never partial.
                f.seek(6 << 20)
                with self.assertRaises(OSError) as cm:
                    f.read(65536)
                self.assertEqual(cm.exception.errno, errno.EIO)
                with self.assertRaises(OSError) as cm:
                    os.listdir(m.path())
                self.assertEqual(cm.exception.errno, errno.EIO)
                with self.assertRaises(OSError) as cm:
                    os.stat(m.path(mine[0]))
                self.assertEqual(cm.exception.errno, errno.EIO)
        finally:
            if f:
                f.close()
            if m:
                m.stop()
            if not victim.alive():
                victim.start()
        self.c.wait_online(3)
        self.wait_state(vid, "online")
        for n in names[:-1]:
            self.assertEqual(requests.get(self.url(b, n), timeout=T).content, n.encode() * 5)
        self.assertEqual(requests.get(self.url(b, big), timeout=T).content, blob)
        r = self.list_names(b)
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertEqual(sorted(e["name"] for e in r.json()["entries"]), sorted(names))
        if have_boto3():
            self.assertEqual(self.s3().head_object(Bucket=b, Key=mine[0])["ContentLength"], 20)

    def test_target_refusal_of_a_listing_page_is_passed_on(self):
        b = "miss4xx"
        self.create(b)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros", b"\0" * (64 << 20))
        self.put(b, "bomb.zip", buf.getvalue())
        t0 = time.monotonic()
        r = self.list_names(b, prefix="bomb.zip/", flags="8")  # LsArchDir: the members
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertIn("zip bomb", r.json()["message"])
        self.assertLess(time.monotonic() - t0, 10)


if __name__ == "__main__":
    unittest.main()
