"""S3 API integration tests: a real aisle-node on loopback and the real clients a user would
type (awscli, s3cmd, boto3, rclone, s3fs from Debian), plus SigV4 negative cases and
aws-chunked bodies built by hand.

Each client gets its HOME/config in a temp dir and an environment stripped of proxy and CA
variables; only 127.0.0.1 is contacted. The s3fs mount is always unmounted (fusermount3 -u).
Clients that are not installed are skipped (packaging/install-deps.sh installs them).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

import requests  # noqa: E402

AK = "AKIAAISLETEST"
SK = "aisle/secret+key/for-tests"
REGION = "us-east-1"
CMD_TIMEOUT = 120
AWS = "/usr/bin/aws"


def have(binary):
    return shutil.which(binary) is not None or os.path.exists(binary)


def md5hex(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts):
    return hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-%d" % len(parts)


class S3Node:
    """A node with S3 keys (or anonymous) and a scratch dir for client configs."""

    def __init__(self, keys=True, extra=()):
        args = list(extra)
        if keys:
            args += ["--s3-access-key", AK, "--s3-secret-key", SK]
        self.node = tl.Node(extra_args=args)
        self.url = self.node.start()
        self.url = self.node.url
        self.endpoint = self.url + "/s3"
        self.home = tl.make_tmpdir("aisle-s3-home-")

    def env(self, **extra):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": AK,
            "AWS_SECRET_ACCESS_KEY": SK,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(self.home, "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "aws-credentials"),
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1",
        }
        env.update(extra)
        return env

    def run(self, args, check=True, env=None, input=None, timeout=CMD_TIMEOUT):
        p = subprocess.run(args, env=env or self.env(), cwd=self.home, input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d):\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), p.returncode, out[-3000:], err[-3000:]))
        return p.returncode, out, err

    def aws(self, *args, check=True):
        return self.run([AWS, "--endpoint-url", self.endpoint] + list(args), check=check)

    def aws_json(self, *args):
        _, out, _ = self.aws(*args, "--output", "json")
        return json.loads(out) if out.strip() else {}

    def write(self, name, data):
        path = os.path.join(self.home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def read(self, name):
        with open(os.path.join(self.home, name), "rb") as f:
            return f.read()

    def cleanup(self):
        self.node.cleanup()
        tl.remove_tmpdir(self.home)


class S3TestCase(unittest.TestCase):
    KEYS = True
    s3 = None

    @classmethod
    def setUpClass(cls):
        cls.s3 = S3Node(keys=cls.KEYS)

    @classmethod
    def tearDownClass(cls):
        if cls.s3:
            cls.s3.cleanup()

    _seq = 0

    def bucket(self, create=True):
        type(self)._seq += 1
        name = "s3-%s-%d" % (type(self).__name__.lower()[:12], type(self)._seq)
        if create:
            self.s3.aws("s3", "mb", "s3://" + name)
        return name

    def boto(self, **kw):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.s3.endpoint, aws_access_key_id=kw.get("ak", AK),
                            aws_secret_access_key=kw.get("sk", SK), region_name=REGION,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                          signature_version=kw.get("sig", "s3v4")))


# ------------------------------------------------------------------------------------------
@unittest.skipUnless(have(AWS), "awscli not installed")
class AwsCliTest(S3TestCase):

    def test_bucket_object_lifecycle(self):
        s3 = self.s3
        b = self.bucket()
        data = os.urandom(100_000)
        s3.write("up/one.bin", data)
        s3.aws("s3", "cp", "up/one.bin", "s3://%s/dir/one.bin" % b, "--content-type", "image/png",
               "--metadata", "color=blue")
        _, out, _ = s3.aws("s3", "ls", "s3://%s/" % b)
        self.assertIn("PRE dir/", out)
        _, out, _ = s3.aws("s3", "ls", "s3://%s/dir/" % b)
        self.assertIn("one.bin", out)
        self.assertIn("100000", out)
        head = s3.aws_json("s3api", "head-object", "--bucket", b, "--key", "dir/one.bin")
        self.assertEqual(head["ETag"], '"%s"' % md5hex(data))
        self.assertEqual(head["ContentType"], "image/png")
        self.assertEqual(head["Metadata"], {"color": "blue"})
        self.assertEqual(head["ContentLength"], 100000)
        s3.aws("s3", "cp", "s3://%s/dir/one.bin" % b, "down/one.bin")
        self.assertEqual(s3.read("down/one.bin"), data)
        # The bucket is the native API's bucket too.
        r = requests.get(s3.url + "/v1/objects/%s/dir/one.bin" % b, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, data)
        # Silent success for a missing key; BucketNotEmpty for a non-empty bucket.
        s3.aws("s3", "rm", "s3://%s/no/such/key" % b)
        rc, _, err = s3.aws("s3", "rb", "s3://" + b, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketNotEmpty", err)
        s3.aws("s3", "rm", "--recursive", "s3://%s/" % b)
        s3.aws("s3", "rb", "s3://" + b)
        rc, _, err = s3.aws("s3api", "head-bucket", "--bucket", b, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("404", err)

    def test_create_existing_bucket_and_missing_key(self):
        b = self.bucket()
        rc, _, err = self.s3.aws("s3api", "create-bucket", "--bucket", b, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketAlreadyOwnedByYou", err)
        rc, _, err = self.s3.aws("s3api", "get-object", "--bucket", b, "--key", "nope", "/dev/null",
                                 check=False)
        self.assertIn("NoSuchKey", err)
        rc, _, err = self.s3.aws("s3", "ls", "s3://no-such-bucket-xyz/", check=False)
        self.assertIn("NoSuchBucket", err)

    def test_sync_and_listings(self):
        s3 = self.s3
        b = self.bucket()
        for name in ["a/1.txt", "a/2.txt", "a/sub/3.txt", "b/4.txt", "top.txt"]:
            s3.write("tree/" + name, name.encode() * 10)
        _, out, _ = s3.aws("s3", "sync", "tree", "s3://%s/t/" % b)
        self.assertEqual(out.count("upload:"), 5)
        _, out, _ = s3.aws("s3", "sync", "tree", "s3://%s/t/" % b)
        self.assertEqual(out.count("upload:"), 0, out)  # sizes and times match: nothing to do
        v1 = s3.aws_json("s3api", "list-objects", "--bucket", b, "--prefix", "t/",
                         "--delimiter", "/")
        self.assertEqual([c["Prefix"] for c in v1["CommonPrefixes"]], ["t/a/", "t/b/"])
        self.assertEqual([c["Key"] for c in v1["Contents"]], ["t/top.txt"])
        self.assertEqual(v1["Contents"][0]["ETag"], '"%s"' % md5hex(b"top.txt" * 10))
        v2 = s3.aws_json("s3api", "list-objects-v2", "--bucket", b, "--prefix", "t/a/",
                         "--delimiter", "/")
        self.assertEqual([c["Key"] for c in v2["Contents"]], ["t/a/1.txt", "t/a/2.txt"])
        self.assertEqual([c["Prefix"] for c in v2["CommonPrefixes"]], ["t/a/sub/"])
        # Paging, one key per page, by hand with continuation tokens.
        keys, token = [], None
        while True:
            args = ["s3api", "list-objects-v2", "--bucket", b, "--max-keys", "2", "--no-paginate"]
            if token:
                args += ["--continuation-token", token]
            page = s3.aws_json(*args)
            keys += [c["Key"] for c in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page["IsTruncated"]:
                break
        self.assertEqual(keys, sorted("t/" + n for n in
                                      ["a/1.txt", "a/2.txt", "a/sub/3.txt", "b/4.txt", "top.txt"]))

    def test_multipart_s3api(self):
        s3 = self.s3
        b = self.bucket()
        p1, p2 = os.urandom(5 << 20), os.urandom(1234)
        s3.write("p1", p1)
        s3.write("p2", p2)
        up = s3.aws_json("s3api", "create-multipart-upload", "--bucket", b, "--key", "mp/obj",
                         "--content-type", "text/csv")
        uid = up["UploadId"]
        e1 = s3.aws_json("s3api", "upload-part", "--bucket", b, "--key", "mp/obj", "--upload-id", uid,
                         "--part-number", "1", "--body", "p1")["ETag"]
        e2 = s3.aws_json("s3api", "upload-part", "--bucket", b, "--key", "mp/obj", "--upload-id", uid,
                         "--part-number", "2", "--body", "p2")["ETag"]
        self.assertEqual(e1, '"%s"' % md5hex(p1))
        parts = s3.aws_json("s3api", "list-parts", "--bucket", b, "--key", "mp/obj", "--upload-id", uid)
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in parts["Parts"]], [(1, 5 << 20), (2, 1234)])
        ups = s3.aws_json("s3api", "list-multipart-uploads", "--bucket", b)
        self.assertEqual([u["UploadId"] for u in ups["Uploads"]], [uid])
        # A wrong ETag is InvalidPart and stores nothing.
        bad = json.dumps({"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": '"00"'}]})
        rc, _, err = s3.aws("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp/obj",
                            "--upload-id", uid, "--multipart-upload", bad, check=False)
        self.assertIn("InvalidPart", err)
        mpu = json.dumps({"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        done = s3.aws_json("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp/obj",
                           "--upload-id", uid, "--multipart-upload", mpu)
        self.assertEqual(done["ETag"], '"%s"' % multipart_etag([p1, p2]))
        s3.aws("s3", "cp", "s3://%s/mp/obj" % b, "mp-down")
        self.assertEqual(s3.read("mp-down"), p1 + p2)
        head = s3.aws_json("s3api", "head-object", "--bucket", b, "--key", "mp/obj")
        self.assertEqual(head["ContentType"], "text/csv")
        # Abort: the upload is gone.
        uid2 = s3.aws_json("s3api", "create-multipart-upload", "--bucket", b, "--key", "x")["UploadId"]
        s3.aws("s3api", "abort-multipart-upload", "--bucket", b, "--key", "x", "--upload-id", uid2)
        rc, _, err = s3.aws("s3api", "list-parts", "--bucket", b, "--key", "x", "--upload-id", uid2,
                            check=False)
        self.assertIn("NoSuchUpload", err)

    def test_cp_large_file_is_multipart(self):
        s3 = self.s3
        b = self.bucket()
        data = os.urandom(20 << 20)
        s3.write("large", data)
        s3.aws("s3", "cp", "large", "s3://%s/large" % b)
        head = s3.aws_json("s3api", "head-object", "--bucket", b, "--key", "large")
        chunk = 8 << 20  # awscli's default multipart_chunksize
        parts = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        self.assertEqual(head["ETag"], '"%s"' % multipart_etag(parts))
        s3.aws("s3", "cp", "s3://%s/large" % b, "large-down")
        self.assertEqual(s3.read("large-down"), data)

    def test_multipart_uneven_and_reuploaded_parts(self):
        """Parts of differing sizes, sent out of order, one uploaded twice: the object is the
        listed parts' bytes, its ETag md5-of-md5s-N, its xxhash that of the same bytes PUT
        natively. Then uniform parts (the in-place assembly path) get the same checks."""
        c = self.boto()
        b = self.bucket()

        def native_xxhash(key):
            r = requests.head(self.s3.url + "/v1/objects/%s/%s" % (b, key), timeout=10)
            self.assertEqual(r.status_code, 200)
            return r.headers["Ais-Checksum-Value"]

        def check(key, data, parts, meta):
            g = c.get_object(Bucket=b, Key=key)
            self.assertTrue(g["Body"].read() == data)
            self.assertEqual(g["ETag"], '"%s"' % multipart_etag(parts))
            self.assertEqual(g["Metadata"], meta)
            r = requests.put(self.s3.url + "/v1/objects/%s/%s.native" % (b, key), data=data,
                             timeout=60)
            self.assertEqual(r.status_code, 200)
            self.assertEqual(native_xxhash(key), native_xxhash(key + ".native"))
            self.assertEqual(native_xxhash(key), tl.xxh64_hex(data))
            ls = requests.get(self.s3.url + "/v1/buckets/%s" % b, timeout=10,
                              json={"action": "list", "value": {"prefix": key, "props": "checksum"}})
            self.assertEqual(ls.status_code, 200)
            sums = {e["name"]: e.get("checksum") for e in ls.json()["entries"]}
            self.assertEqual(sums[key], tl.xxh64_hex(data))

        mp = c.create_multipart_upload(Bucket=b, Key="uneven", Metadata={"k": "v"})
        uid = mp["UploadId"]
        sizes = {1: 6 << 20, 2: (5 << 20) + 17, 3: 7 << 20, 4: 1000}
        first = {n: os.urandom(sz) for n, sz in sizes.items()}
        etags = {}
        for n in (2, 1, 4, 3):  # out of order
            etags[n] = c.upload_part(Bucket=b, Key="uneven", UploadId=uid, PartNumber=n,
                                     Body=first[n])["ETag"]
            self.assertEqual(etags[n], '"%s"' % md5hex(first[n]))
        final = dict(first)
        final[2] = os.urandom((5 << 20) + 1)  # re-uploaded, another size
        etags[2] = c.upload_part(Bucket=b, Key="uneven", UploadId=uid, PartNumber=2,
                                 Body=final[2])["ETag"]
        listed = c.list_parts(Bucket=b, Key="uneven", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in listed],
                         [(n, len(final[n]), etags[n]) for n in (1, 2, 3, 4)])
        done = c.complete_multipart_upload(
            Bucket=b, Key="uneven", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3, 4)]})
        parts = [final[n] for n in (1, 2, 3, 4)]
        self.assertEqual(done["ETag"], '"%s"' % multipart_etag(parts))
        check("uneven", b"".join(parts), parts, {"k": "v"})
        self.assertEqual(c.list_multipart_uploads(Bucket=b).get("Uploads", []), [])

        # Uniform parts 1..3 and a short last one; a part 5 uploaded but left out.
        mp = c.create_multipart_upload(Bucket=b, Key="uniform", Metadata={"a": "b"})
        uid = mp["UploadId"]
        parts = [os.urandom(5 << 20) for _ in range(3)] + [os.urandom(12345)]
        etags = [c.upload_part(Bucket=b, Key="uniform", UploadId=uid, PartNumber=i + 1,
                               Body=p)["ETag"] for i, p in enumerate(parts)]
        c.upload_part(Bucket=b, Key="uniform", UploadId=uid, PartNumber=5, Body=os.urandom(5 << 20))
        # Completing only 1..2 first must not lose parts 3..5 (the upload stays usable on error).
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError):
            c.complete_multipart_upload(
                Bucket=b, Key="uniform", UploadId=uid,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]},
                                           {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}]})
        done = c.complete_multipart_upload(
            Bucket=b, Key="uniform", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
        self.assertEqual(done["ETag"], '"%s"' % multipart_etag(parts))
        check("uniform", b"".join(parts), parts, {"a": "b"})

    def test_copy_range_conditionals(self):
        s3 = self.s3
        b = self.bucket()
        data = b"0123456789abcdefghij"
        s3.write("small", data)
        s3.aws("s3", "cp", "small", "s3://%s/src" % b, "--metadata", "k=v")
        s3.aws("s3api", "copy-object", "--bucket", b, "--key", "dst", "--copy-source", "%s/src" % b)
        head = s3.aws_json("s3api", "head-object", "--bucket", b, "--key", "dst")
        self.assertEqual(head["Metadata"], {"k": "v"})
        self.assertEqual(head["ETag"], '"%s"' % md5hex(data))
        s3.aws("s3api", "get-object", "--bucket", b, "--key", "dst", "--range", "bytes=2-5", "rng")
        self.assertEqual(s3.read("rng"), b"2345")
        rc, _, err = s3.aws("s3api", "get-object", "--bucket", b, "--key", "dst", "--range",
                            "bytes=100-200", "rng2", check=False)
        self.assertIn("InvalidRange", err)
        rc, _, err = s3.aws("s3api", "get-object", "--bucket", b, "--key", "dst", "--if-none-match",
                            head["ETag"], "x", check=False)
        self.assertIn("304", err)
        rc, _, err = s3.aws("s3api", "get-object", "--bucket", b, "--key", "dst", "--if-match",
                            '"nope"', "x", check=False)
        self.assertIn("PreconditionFailed", err)


# ------------------------------------------------------------------------------------------
class Boto3Test(S3TestCase):

    def setUp(self):
        try:
            import boto3  # noqa: F401
        except ImportError:
            self.skipTest("python3-boto3 not installed")

    def test_every_operation(self):
        c = self.boto()
        b = self.bucket(create=False)
        c.create_bucket(Bucket=b)
        self.assertIn(b, [x["Name"] for x in c.list_buckets()["Buckets"]])
        c.head_bucket(Bucket=b)
        loc = c.get_bucket_location(Bucket=b)
        self.assertIn(loc["LocationConstraint"], (None, "", REGION))
        body = os.urandom(4096)
        r = c.put_object(Bucket=b, Key="k1", Body=body, ContentType="text/plain",
                         Metadata={"owner": "me"})
        self.assertEqual(r["ETag"], '"%s"' % md5hex(body))
        # Content-MD5 verified: a wrong one stores nothing.
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            c.put_object(Bucket=b, Key="bad-md5", Body=b"abc",
                         ContentMD5=base64.b64encode(hashlib.md5(b"xyz").digest()).decode())
        self.assertEqual(cm.exception.response["Error"]["Code"], "BadDigest")
        g = c.get_object(Bucket=b, Key="k1")
        self.assertEqual(g["Body"].read(), body)
        self.assertEqual(g["ContentType"], "text/plain")
        self.assertEqual(g["Metadata"], {"owner": "me"})
        self.assertEqual(c.get_object(Bucket=b, Key="k1", Range="bytes=-10")["Body"].read(), body[-10:])
        h = c.head_object(Bucket=b, Key="k1")
        self.assertEqual(h["ContentLength"], 4096)
        with self.assertRaises(ClientError) as cm:
            c.get_object(Bucket=b, Key="k1", IfModifiedSince=h["LastModified"])
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        c.copy_object(Bucket=b, Key="k2", CopySource={"Bucket": b, "Key": "k1"},
                      MetadataDirective="REPLACE", Metadata={"x": "y"}, ContentType="a/b")
        h2 = c.head_object(Bucket=b, Key="k2")
        self.assertEqual((h2["Metadata"], h2["ContentType"]), ({"x": "y"}, "a/b"))
        # Paging through 25 keys, 7 at a time, v1 and v2, with odd names.
        names = sorted(["p/%02d key+with space&amp;é" % i for i in range(25)])
        for n in names:
            c.put_object(Bucket=b, Key=n, Body=n.encode())
        for version in ("v1", "v2"):
            got = []
            paginator = c.get_paginator("list_objects" if version == "v1" else "list_objects_v2")
            for page in paginator.paginate(Bucket=b, Prefix="p/", PaginationConfig={"PageSize": 7}):
                self.assertLessEqual(len(page.get("Contents", [])), 7)
                got += [o["Key"] for o in page.get("Contents", [])]
            self.assertEqual(got, names, version)
        v2 = c.list_objects_v2(Bucket=b, StartAfter="p/20", Prefix="p/")
        self.assertEqual([o["Key"] for o in v2["Contents"]], [n for n in names if n > "p/20"])
        # boto3 asks for encoding-type=url and decodes: the names come back intact.
        top = c.list_objects_v2(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], ["p/"])
        self.assertEqual(sorted(o["Key"] for o in top["Contents"]), ["k1", "k2"])
        # Presigned GET: SigV4, and the legacy SigV2 URLs this boto3 makes by default.
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k1"}, ExpiresIn=60)
        self.assertIn("X-Amz-Signature=", url)
        r = requests.get(url, timeout=10)
        self.assertEqual((r.status_code, r.content), (200, body))
        import boto3
        from botocore.config import Config
        legacy = boto3.client("s3", endpoint_url=self.s3.endpoint, aws_access_key_id=AK,
                              aws_secret_access_key=SK, region_name=REGION,
                              config=Config(s3={"addressing_style": "path"}))
        url = legacy.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k1"},
                                            ExpiresIn=60)
        r = requests.get(url, timeout=10)
        self.assertEqual((r.status_code, r.content), (200, body))
        # Multipart through the client API.
        mp = c.create_multipart_upload(Bucket=b, Key="mp")
        parts = [os.urandom(5 << 20), b"tail"]
        etags = [c.upload_part(Bucket=b, Key="mp", UploadId=mp["UploadId"], PartNumber=i + 1,
                               Body=p)["ETag"] for i, p in enumerate(parts)]
        self.assertEqual(len(c.list_parts(Bucket=b, Key="mp", UploadId=mp["UploadId"])["Parts"]), 2)
        self.assertEqual(len(c.list_multipart_uploads(Bucket=b)["Uploads"]), 1)
        done = c.complete_multipart_upload(
            Bucket=b, Key="mp", UploadId=mp["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
        self.assertEqual(done["ETag"], '"%s"' % multipart_etag(parts))
        self.assertEqual(c.get_object(Bucket=b, Key="mp")["Body"].read(), b"".join(parts))
        # Delete: single (missing is fine), multi, then the bucket.
        c.delete_object(Bucket=b, Key="does-not-exist")
        keys = [{"Key": k} for k in ["k1", "k2", "mp", "nope"] + names]
        res = c.delete_objects(Bucket=b, Delete={"Objects": keys})
        self.assertEqual(len(res["Deleted"]), len(keys))
        self.assertEqual(c.list_objects_v2(Bucket=b)["KeyCount"], 0)
        c.delete_bucket(Bucket=b)
        with self.assertRaises(ClientError) as cm:
            c.head_bucket(Bucket=b)
        self.assertEqual(cm.exception.response["Error"]["Code"], "404")


# ------------------------------------------------------------------------------------------
def sigv4_headers(method, url, body_hash, extra=None, ak=AK, sk=SK, when=None):
    """Minimal SigV4 signer for hand-built requests (aws-chunked)."""
    u = urllib.parse.urlsplit(url)
    when = when or datetime.datetime.utcnow()
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": u.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": body_hash}
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    names = sorted(headers)
    canon = "\n".join([method, urllib.parse.quote(u.path), "",
                       "".join("%s:%s\n" % (n, headers[n].strip()) for n in names),
                       ";".join(names), body_hash])
    scope = "%s/%s/s3/aws4_request" % (day, REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canon.encode()).hexdigest()])
    key = ("AWS4" + sk).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                % (ak, scope, ";".join(names), sig))
    return headers, key, amz_date, scope, sig


def chunked_body(chunks, key, amz_date, scope, seed, tamper=False):
    empty = hashlib.sha256(b"").hexdigest()
    out, prev = b"", seed
    for data in chunks + [b""]:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                         hashlib.sha256(data).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper and data:
            data = data[:-1] + bytes([data[-1] ^ 1])
        out += b"%x;chunk-signature=%s\r\n" % (len(data), sig.encode()) + data + b"\r\n"
        prev = sig
    return out


class SigV4Test(S3TestCase):

    def assert_s3_error(self, r, status, code):
        self.assertEqual(r.status_code, status, r.text)
        self.assertIn("<Code>%s</Code>" % code, r.text)

    def absent(self, b, key):
        r = requests.get(self.s3.url + "/v1/objects/%s/%s" % (b, key), timeout=10)
        self.assertEqual(r.status_code, 404)

    def test_wrong_secret_unknown_key_anonymous(self):
        from botocore.exceptions import ClientError
        b = self.bucket()
        with self.assertRaises(ClientError) as cm:
            self.boto(sk="wrong").put_object(Bucket=b, Key="k", Body=b"data")
        self.assertEqual(cm.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.absent(b, "k")
        with self.assertRaises(ClientError) as cm:
            self.boto(ak="AKIANOBODY").put_object(Bucket=b, Key="k", Body=b"data")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidAccessKeyId")
        self.absent(b, "k")
        r = requests.put(self.s3.endpoint + "/%s/k" % b, data=b"anon", timeout=10)
        self.assert_s3_error(r, 403, "AccessDenied")
        self.absent(b, "k")
        # A signed payload hash that does not match the body.
        h, *_ = sigv4_headers("PUT", self.s3.endpoint + "/%s/k" % b, hashlib.sha256(b"other").hexdigest())
        r = requests.put(self.s3.endpoint + "/%s/k" % b, data=b"data", headers=h, timeout=10)
        self.assert_s3_error(r, 400, "XAmzContentSHA256Mismatch")
        self.absent(b, "k")
        # Stale x-amz-date.
        old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
        h, *_ = sigv4_headers("GET", self.s3.endpoint + "/" + b, hashlib.sha256(b"").hexdigest(), when=old)
        r = requests.get(self.s3.endpoint + "/" + b, headers=h, timeout=10)
        self.assert_s3_error(r, 403, "RequestTimeTooSkewed")

    def test_presigned_expired_and_tampered(self):
        c = self.boto()
        b = self.bucket()
        c.put_object(Bucket=b, Key="k", Body=b"secret")
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=1)
        self.assertEqual(requests.get(url, timeout=10).content, b"secret")
        r = requests.get(url.replace("/k?", "/other?"), timeout=10)
        self.assert_s3_error(r, 403, "SignatureDoesNotMatch")
        time.sleep(2.1)
        self.assert_s3_error(requests.get(url, timeout=10), 403, "AccessDenied")
        # Presigned PUT.
        put = c.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "via-url"}, ExpiresIn=60)
        self.assertEqual(requests.put(put, data=b"uploaded", timeout=10).status_code, 200)
        self.assertEqual(c.get_object(Bucket=b, Key="via-url")["Body"].read(), b"uploaded")

    def test_aws_chunked_signed_streaming(self):
        b = self.bucket()
        url = self.s3.endpoint + "/%s/chunked" % b
        chunks = [os.urandom(65536), os.urandom(1000)]
        decoded = sum(len(c) for c in chunks)
        extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded)}
        for tamper in (True, False):
            h, key, amz_date, scope, seed = sigv4_headers(
                "PUT", url, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", extra)
            body = chunked_body(chunks, key, amz_date, scope, seed, tamper=tamper)
            r = requests.put(url, data=body, headers=h, timeout=10)
            if tamper:
                self.assert_s3_error(r, 403, "SignatureDoesNotMatch")
                self.absent(b, "chunked")
            else:
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(r.headers["ETag"], '"%s"' % md5hex(b"".join(chunks)))
        got = self.boto().get_object(Bucket=b, Key="chunked")["Body"].read()
        self.assertEqual(got, b"".join(chunks))

    def test_unsigned_payload_trailer(self):
        b = self.bucket()
        url = self.s3.endpoint + "/%s/trailer" % b
        data = os.urandom(3000)
        import zlib
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-trailer": "x-amz-checksum-crc32"}
        h, *_ = sigv4_headers("PUT", url, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", extra)
        body = (b"%x\r\n" % 1000 + data[:1000] + b"\r\n" + b"%x\r\n" % 2000 + data[1000:] + b"\r\n" +
                b"0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n")
        r = requests.put(url, data=body, headers=h, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.boto().get_object(Bucket=b, Key="trailer")["Body"].read(), data)


# ------------------------------------------------------------------------------------------
class AnonymousAndVirtualHostTest(S3TestCase):
    KEYS = False

    @classmethod
    def setUpClass(cls):
        cls.s3 = S3Node(keys=False, extra=["--s3-vhost-domain", "s3.aisle.test"])

    def test_anonymous_curl(self):
        b = self.bucket(create=False)
        ep = self.s3.endpoint
        self.assertEqual(requests.put(ep + "/" + b, timeout=10).status_code, 200)
        r = requests.put(ep + "/%s/a%%20b" % b, data=b"hi", timeout=10)
        self.assertEqual((r.status_code, r.headers["ETag"]), (200, '"%s"' % md5hex(b"hi")))
        self.assertEqual(requests.get(ep + "/%s/a b" % b, timeout=10).content, b"hi")
        r = requests.get(ep + "/" + b, timeout=10)
        self.assertIn("<Key>a b</Key>", r.text)
        r = requests.delete(ep + "/" + b, timeout=10)
        self.assertEqual(r.status_code, 409)
        self.assertIn("<Code>BucketNotEmpty</Code>", r.text)

    def test_error_and_listing_xml_is_well_formed(self):
        # Issue 16: control characters or non-UTF-8 bytes in an echoed key never break the XML.
        import xml.etree.ElementTree as ET
        b = self.bucket(create=False)
        ep = self.s3.endpoint
        self.assertEqual(requests.put(ep + "/" + b, timeout=10).status_code, 200)
        for key in ("a%00b", "a%01b%1Fc", "a%FFb", "a%0Bb"):
            r = requests.get(ep + "/%s/%s" % (b, key), timeout=10)
            self.assertGreaterEqual(r.status_code, 400, key)
            ET.fromstring(r.content)  # raises on malformed XML
        r = requests.put(ep + "/%s/ctl%%01key" % b, data=b"x", timeout=10)
        if r.status_code == 200:  # when such a key is accepted, its listing must still parse
            ET.fromstring(requests.get(ep + "/" + b, timeout=10).content)

    def test_virtual_host_style(self):
        b = self.bucket(create=False)
        host = "%s.s3.aisle.test:%d" % (b, self.s3.node.port)
        base = self.s3.url
        self.assertEqual(requests.put(base + "/", headers={"Host": host}, timeout=10).status_code, 200)
        r = requests.put(base + "/dir/obj", data=b"vhost", headers={"Host": host}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(requests.get(self.s3.endpoint + "/%s/dir/obj" % b, timeout=10).content, b"vhost")
        r = requests.get(base + "/", params={"list-type": "2"}, headers={"Host": host}, timeout=10)
        self.assertIn("<Key>dir/obj</Key>", r.text)
        # Native paths are untouched by the Host header.
        r = requests.get(base + "/v1/buckets", headers={"Host": host}, params={"provider": "ais"},
                         timeout=10)
        self.assertEqual(r.status_code, 200)


# ------------------------------------------------------------------------------------------
@unittest.skipUnless(have("s3cmd"), "s3cmd not installed")
class S3cmdTest(S3TestCase):

    def cfg(self):
        path = os.path.join(self.s3.home, "s3cfg")
        hp = self.s3.url[len("http://"):]
        with open(path, "w") as f:
            f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s/s3\n"
                    "host_bucket = %s/s3\nuse_https = False\nsignature_v2 = False\n"
                    "bucket_location = us-east-1\n" % (AK, SK, hp, hp))
        return path

    def s3cmd(self, *args, check=True):
        return self.s3.run(["s3cmd", "-c", self.cfg()] + list(args), check=check)

    def test_put_get_ls_del_sync(self):
        s3 = self.s3
        b = "s3cmd-bucket"
        self.s3cmd("mb", "s3://" + b)
        data = os.urandom(12345)
        s3.write("c/f.bin", data)
        self.s3cmd("put", "c/f.bin", "s3://%s/x/f.bin" % b)
        _, out, _ = self.s3cmd("ls", "s3://%s/x/" % b)
        self.assertIn("s3://%s/x/f.bin" % b, out)
        self.s3cmd("get", "--force", "s3://%s/x/f.bin" % b, "c/g.bin")
        self.assertEqual(s3.read("c/g.bin"), data)
        big = os.urandom(12 << 20)
        s3.write("c/big", big)
        self.s3cmd("put", "--multipart-chunk-size-mb=5", "c/big", "s3://%s/big" % b)
        head = self.boto().head_object(Bucket=b, Key="big")
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])  # went up in 3 parts
        self.s3cmd("get", "--force", "s3://%s/big" % b, "c/big-down")
        self.assertEqual(s3.read("c/big-down"), big)
        for n in ["s/1", "s/2/3"]:
            s3.write("sync/" + n, n.encode())
        _, out, _ = self.s3cmd("sync", "sync/", "s3://%s/sync/" % b)
        self.assertEqual(out.count("upload:"), 2)
        _, out, _ = self.s3cmd("sync", "sync/", "s3://%s/sync/" % b)
        self.assertEqual(out.count("upload:"), 0, out)  # md5 ETags match
        self.s3cmd("del", "s3://%s/x/f.bin" % b)
        _, out, _ = self.s3cmd("ls", "-r", "s3://%s" % b)
        self.assertNotIn("f.bin", out)
        self.s3cmd("del", "-r", "--force", "s3://%s/" % b)
        self.s3cmd("rb", "s3://" + b)


# ------------------------------------------------------------------------------------------
@unittest.skipUnless(have("rclone"), "rclone not installed")
class RcloneTest(S3TestCase):

    def rclone(self, *args, check=True):
        conf = os.path.join(self.s3.home, "rclone.conf")
        with open(conf, "w") as f:
            f.write("[ais]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\n"
                    "endpoint = %s\nforce_path_style = true\nregion = %s\n"
                    % (AK, SK, self.s3.endpoint, REGION))
        return self.s3.run(["rclone", "--config", conf, "--retries", "1", "--low-level-retries", "1"]
                           + list(args), check=check, env=self.s3.env(RCLONE_CONFIG=conf))

    def test_copy_ls_lsjson_check(self):
        s3 = self.s3
        b = self.bucket()
        files = {"r/a.txt": b"alpha" * 100, "r/d/b.bin": os.urandom(7 << 20), "r/d/e/c": b""}
        for n, d in files.items():
            s3.write(n, d)
        # Small cutoff/chunk: the 7 MiB file goes up as a 2-part multipart upload.
        self.rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M",
                    "r", "ais:%s/rc" % b)
        _, out, _ = self.rclone("ls", "ais:%s/rc" % b)
        self.assertEqual(sorted(line.split()[-1] for line in out.splitlines()), ["a.txt", "d/b.bin", "d/e/c"])
        _, out, _ = self.rclone("lsjson", "-R", "ais:%s/rc" % b)
        entries = {e["Path"]: e for e in json.loads(out)}
        self.assertEqual(entries["d/b.bin"]["Size"], 7 << 20)
        self.assertTrue(entries["d"]["IsDir"])
        self.rclone("check", "r", "ais:%s/rc" % b)
        self.rclone("copy", "ais:%s/rc" % b, "r-back")
        for n, d in files.items():
            self.assertEqual(s3.read("r-back/" + n[2:]), d)

    @unittest.skipUnless(os.path.exists("/dev/fuse") and have("fusermount3"), "FUSE not available")
    def test_mount_read_write(self):
        s3 = self.s3
        b = self.bucket()
        data = os.urandom(3 << 20)
        s3.write("rc-src", data)
        s3.aws("s3", "cp", "rc-src", "s3://%s/dir/in.bin" % b)
        mnt = os.path.join(s3.home, "rc-mnt")
        os.makedirs(mnt, exist_ok=True)
        conf = os.path.join(s3.home, "rclone.conf")
        self.rclone("version")  # writes the config
        log = open(os.path.join(s3.home, "rclone-mount.log"), "wb")
        proc = subprocess.Popen(["rclone", "--config", conf, "mount", "ais:" + b, mnt,
                                 "--vfs-cache-mode", "writes", "--vfs-write-back", "0s",
                                 "--dir-cache-time", "1s"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=s3.env(RCLONE_CONFIG=conf))
        out = os.urandom(1 << 20)
        try:
            deadline = time.monotonic() + 15
            while not os.path.ismount(mnt) and time.monotonic() < deadline:
                self.assertIsNone(proc.poll(), "rclone mount exited")
                time.sleep(0.1)
            self.assertTrue(os.path.ismount(mnt))
            self.assertEqual(sorted(os.listdir(mnt)), ["dir"])
            with open(os.path.join(mnt, "dir", "in.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            with open(os.path.join(mnt, "dir", "out.bin"), "wb") as f:
                f.write(out)
            # rclone uploads from its write cache after close, in the background.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    self.boto().head_object(Bucket=b, Key="dir/out.bin")
                    break
                except Exception:
                    time.sleep(0.2)
        finally:
            subprocess.run(["fusermount3", "-u", mnt], timeout=30)
            if os.path.ismount(mnt):
                subprocess.run(["fusermount3", "-uz", mnt], timeout=30)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        got = self.boto().get_object(Bucket=b, Key="dir/out.bin")
        self.assertEqual(got["Body"].read(), out)
        self.assertEqual(got["ETag"], '"%s"' % md5hex(out))


# ------------------------------------------------------------------------------------------
@unittest.skipUnless(have("s3fs") and os.path.exists("/dev/fuse") and have("fusermount3"),
                     "s3fs or FUSE not available")
class S3fsTest(S3TestCase):

    def test_mount_read_write(self):
        s3 = self.s3
        b = self.bucket()
        data = os.urandom(3 << 20)
        s3.write("s3fs-src", data)
        s3.aws("s3", "cp", "s3fs-src", "s3://%s/dir/in.bin" % b)
        pw = s3.write("passwd-s3fs", ("%s:%s" % (AK, SK)).encode())
        os.chmod(pw, 0o600)
        mnt = os.path.join(s3.home, "mnt")
        os.makedirs(mnt, exist_ok=True)
        s3.run(["s3fs", b, mnt, "-o", "url=" + s3.endpoint, "-o", "use_path_request_style",
                "-o", "passwd_file=" + pw, "-o", "dbglevel=warn",
                "-o", "logfile=" + os.path.join(s3.home, "s3fs.log")])
        try:
            deadline = time.monotonic() + 10
            while not os.path.ismount(mnt) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(os.path.ismount(mnt))
            self.assertEqual(sorted(os.listdir(mnt)), ["dir"])
            with open(os.path.join(mnt, "dir", "in.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            out = os.urandom(1 << 20)
            with open(os.path.join(mnt, "dir", "out.bin"), "wb") as f:
                f.write(out)
            os.sync()
        finally:
            subprocess.run(["fusermount3", "-u", mnt], timeout=30)
            if os.path.ismount(mnt):
                subprocess.run(["fusermount3", "-uz", mnt], timeout=30)
        got = self.boto().get_object(Bucket=b, Key="dir/out.bin")
        self.assertEqual(got["Body"].read(), out)
        self.assertEqual(got["ETag"], '"%s"' % md5hex(out))


if __name__ == "__main__":
    unittest.main()
