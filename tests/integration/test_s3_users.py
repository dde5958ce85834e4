#!/usr/bin/python3
"""S3 keys of users (docs/SECURITY.md "S3 keys of users"): 1 proxy + 2 targets with --auth.

Users get SigV4 keys from the token service (POST /v1/users/NAME/s3keys, `aisle auth s3key`);
boto3 with a user's key may do what the user's bucket permissions allow (AccessDenied in S3
XML elsewhere); a wrong secret is SignatureDoesNotMatch; anonymous S3 is refused; a removed
key is refused (InvalidAccessKeyId); a static --s3-access-key is an admin key.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_auth import RWL, READ, AuthProxy, bearer  # noqa: E402
from test_cluster import KEEPALIVE_MS  # noqa: E402

T = 15
STATIC_AK, STATIC_SK = "STATICADMINKEY", "static-admin-secret"


class StaticKeyAuthProxy(AuthProxy):
    def build_args(self, ready):
        return super().build_args(ready) + ["--s3-access-key", STATIC_AK,
                                            "--s3-secret-key", STATIC_SK]


class S3UsersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aisle-s3u-")
        cls.admin_pw = "admin-pw-" + os.urandom(4).hex()
        cls.admin_file = os.path.join(cls.tmp, "admin.password")
        with open(cls.admin_file, "w") as f:
            f.write(cls.admin_pw + "\n")
        os.chmod(cls.admin_file, 0o600)
        cls.proxy = StaticKeyAuthProxy(cls.admin_file)
        cls.proxy.start()
        cls.url = cls.proxy.url
        cls.targets = []
        for _ in range(2):
            t = tl.Node(extra_args=["--primary", cls.url, "--keepalive-ms", str(KEEPALIVE_MS),
                                    "--auth", "--s3-access-key", STATIC_AK,
                                    "--s3-secret-key", STATIC_SK])
            t.start()
            cls.targets.append(t)
        r = requests.post(cls.url + "/v1/users/admin", json={"password": cls.admin_pw}, timeout=T)
        assert r.status_code == 200, r.text
        cls.admin = bearer(r.json()["token"])
        deadline = time.monotonic() + 20
        while len(requests.get(cls.url + "/v1/daemon?what=smap", headers=cls.admin,
                               timeout=T).json().get("tmap", {})) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for b in ("bucket-a", "bucket-b"):
            r = requests.post(cls.url + "/v1/buckets/" + b, json={"action": "create-bck"},
                              headers=cls.admin, timeout=T)
            assert r.status_code == 200, r.text
        users = {"alice": [("bucket-a", RWL)], "bob": [("bucket-b", RWL), ("bucket-a", READ)]}
        cls.keys = {}
        for name, perms in users.items():
            body = {"id": name, "password": "pw-" + name,
                    "buckets": [{"bck": {"name": b, "provider": "ais"}, "perm": str(p)}
                                for b, p in perms]}
            r = requests.post(cls.url + "/v1/users", json=body, headers=cls.admin, timeout=T)
            assert r.status_code == 200, r.text
            r = requests.post(cls.url + "/v1/users/%s/s3keys" % name, headers=cls.admin, timeout=T)
            assert r.status_code == 200, r.text
            cls.keys[name] = (r.json()["access_key"], r.json()["secret_key"])

    @classmethod
    def tearDownClass(cls):
        for t in cls.targets:
            t.cleanup()
        cls.proxy.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def boto(self, ak, sk):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.url + "/s3", aws_access_key_id=ak,
                            aws_secret_access_key=sk, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def assert_code(self, code, fn, *args, **kw):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as e:
            fn(*args, **kw)
        self.assertEqual(e.exception.response["Error"]["Code"], code, e.exception.response)

    def test_user_permissions(self):
        a = self.boto(*self.keys["alice"])
        a.put_object(Bucket="bucket-a", Key="x/1", Body=b"from alice")
        self.assertEqual(a.get_object(Bucket="bucket-a", Key="x/1")["Body"].read(), b"from alice")
        self.assertEqual(a.head_object(Bucket="bucket-a", Key="x/1")["ContentLength"], 10)
        names = [o["Key"] for o in a.list_objects_v2(Bucket="bucket-a").get("Contents", [])]
        self.assertIn("x/1", names)
        # Multipart is a write.
        up = a.create_multipart_upload(Bucket="bucket-a", Key="mp")
        part = a.upload_part(Bucket="bucket-a", Key="mp", UploadId=up["UploadId"], PartNumber=1,
                             Body=b"p" * 100)
        a.complete_multipart_upload(Bucket="bucket-a", Key="mp", UploadId=up["UploadId"],
                                    MultipartUpload={"Parts": [{"ETag": part["ETag"],
                                                                "PartNumber": 1}]})
        # Nothing on bucket-b.
        self.assert_code("AccessDenied", a.put_object, Bucket="bucket-b", Key="x", Body=b"no")
        self.assert_code("AccessDenied", a.list_objects_v2, Bucket="bucket-b")
        # Bucket create/delete need the admin's bits.
        self.assert_code("AccessDenied", a.create_bucket, Bucket="bucket-new")
        self.assert_code("AccessDenied", a.delete_bucket, Bucket="bucket-a")

        # bob: read-only on bucket-a, everything on bucket-b.
        b = self.boto(*self.keys["bob"])
        self.assertEqual(b.get_object(Bucket="bucket-a", Key="x/1")["Body"].read(), b"from alice")
        self.assert_code("AccessDenied", b.put_object, Bucket="bucket-a", Key="y", Body=b"no")
        self.assert_code("AccessDenied", b.delete_object, Bucket="bucket-a", Key="x/1")
        # A copy needs GET on the source and PUT on the destination.
        b.copy_object(Bucket="bucket-b", Key="copy", CopySource={"Bucket": "bucket-a", "Key": "x/1"})
        self.assertEqual(b.get_object(Bucket="bucket-b", Key="copy")["Body"].read(), b"from alice")
        self.assert_code("AccessDenied", a.copy_object, Bucket="bucket-a", Key="c",
                         CopySource={"Bucket": "bucket-b", "Key": "copy"})
        # The refusal is S3 XML, 403.
        r = requests.get(self.url + "/s3/bucket-b/copy", timeout=T)
        self.assertEqual(r.status_code, 403)
        self.assertIn("<Code>AccessDenied</Code>", r.text)

    def test_wrong_secret_anonymous_static(self):
        ak, _ = self.keys["alice"]
        self.assert_code("SignatureDoesNotMatch", self.boto(ak, "wrong" * 8).get_object,
                         Bucket="bucket-a", Key="x/1")
        self.assert_code("InvalidAccessKeyId", self.boto("AKNOSUCHKEY", "x").get_object,
                         Bucket="bucket-a", Key="x/1")
        # Anonymous: at the proxy and at a target.
        for base in (self.url, self.targets[0].url):
            for method, path in (("GET", "/s3"), ("GET", "/s3/bucket-a"),
                                 ("PUT", "/s3/bucket-a/anon"), ("GET", "/s3/bucket-a/x/1")):
                r = requests.request(method, base + path, data=b"x" if method == "PUT" else None,
                                     timeout=T)
                self.assertEqual(r.status_code, 403, (base, method, path, r.text))
                self.assertIn("<Code>AccessDenied</Code>", r.text)
        # The static key is an admin key.
        s = self.boto(STATIC_AK, STATIC_SK)
        s.create_bucket(Bucket="bucket-static")
        s.put_object(Bucket="bucket-static", Key="k", Body=b"v")
        self.assertEqual(s.get_object(Bucket="bucket-static", Key="k")["Body"].read(), b"v")

    def test_key_removed_and_cli(self):
        cli = tl.cli_bin() if os.path.exists(tl.cli_bin()) else None
        env = dict(os.environ, AIS_ENDPOINT=self.url)
        r = requests.post(self.url + "/v1/users/admin", json={"password": self.admin_pw}, timeout=T)
        env["AIS_AUTHN_TOKEN"] = r.json()["token"]
        if cli:
            out = subprocess.run([cli, "auth", "s3key", "add", "alice"], env=env, check=True,
                                 capture_output=True, text=True, timeout=T).stdout
            lines = dict(ln.split(": ", 1) for ln in out.strip().splitlines())
            ak, sk = lines["access key"], lines["secret key"]
            ls = subprocess.run([cli, "auth", "s3key", "ls", "alice"], env=env, check=True,
                                capture_output=True, text=True, timeout=T).stdout
            self.assertIn(ak, ls.split())
        else:
            r = requests.post(self.url + "/v1/users/alice/s3keys", headers=self.admin, timeout=T)
            ak, sk = r.json()["access_key"], r.json()["secret_key"]
        self.assertNotIn(sk, requests.get(self.url + "/v1/users/alice", headers=self.admin,
                                          timeout=T).text)
        c = self.boto(ak, sk)
        c.put_object(Bucket="bucket-a", Key="second-key", Body=b"2")
        # Key management is for admins: alice's token may not add keys.
        tok = requests.post(self.url + "/v1/users/alice", json={"password": "pw-alice"},
                            timeout=T).json()["token"]
        r = requests.post(self.url + "/v1/users/alice/s3keys", headers=bearer(tok), timeout=T)
        self.assertEqual(r.status_code, 403, r.text)
        if cli:
            subprocess.run([cli, "auth", "s3key", "rm", "alice", ak], env=env, check=True,
                           capture_output=True, text=True, timeout=T)
        else:
            r = requests.delete(self.url + "/v1/users/alice/s3keys/" + ak, headers=self.admin,
                                timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
        self.assert_code("InvalidAccessKeyId", c.get_object, Bucket="bucket-a", Key="second-key")
        r = requests.delete(self.url + "/v1/users/alice/s3keys/" + ak, headers=self.admin, timeout=T)
        self.assertEqual(r.status_code, 404, r.text)
        # alice's first key still works.
        self.assertEqual(self.boto(*self.keys["alice"]).get_object(
            Bucket="bucket-a", Key="second-key")["Body"].read(), b"2")


if __name__ == "__main__":
    unittest.main()
