#!/usr/bin/python3
"""TLS (docs/SECURITY.md "TLS"): 1 proxy + 2 targets serving https only, certificates from a
test CA made with the openssl command.

curl with the CA puts, gets (through the proxy's redirect to a target's https URL) and lists;
curl without the CA fails verification; plain HTTP to the TLS port is answered 400 at once;
boto3 talks S3 over https (relayed by the proxy); the CLI works with AIS_CLIENT_CA; aisle-fs
mounts over https and reads; SIGHUP loads a new certificate (seen by openssl s_client) while
an open keep-alive connection keeps working, and a bad one is refused (the old one stays); a
bad certificate at start exits 2 naming the file; mutual TLS refuses clients without a
certificate while nodes with theirs join and serve; `aisle up --tls` starts an https cluster
and prints its CA; a cluster with --auth takes tokens over https.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Proxy  # noqa: E402
from test_fs import FUSERMOUNT, FS_BIN, Mount, fuse_available  # noqa: E402

T = 15
OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=60, **kw)


class TestCa:
    """A CA and node certificates for 127.0.0.1 / localhost, in `d`."""

    def __init__(self, d):
        self.d = d
        self.ca_crt = os.path.join(d, "ca.crt")
        self.ca_key = os.path.join(d, "ca.key")
        self._ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.ca_key, "-out",
                  self.ca_crt, "-days", "30", "-subj", "/CN=Aisle test CA", "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"])

    def _ok(self, args):
        r = run(args)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.decode()))

    def issue(self, name, cn, serial):
        """(cert, key) paths of a new node certificate signed by the CA."""
        key = os.path.join(self.d, name + ".key")
        csr = os.path.join(self.d, name + ".csr")
        crt = os.path.join(self.d, name + ".crt")
        ext = os.path.join(self.d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        self._ok(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn])
        self._ok(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_crt, "-CAkey", self.ca_key,
                  "-set_serial", str(serial), "-out", crt, "-days", "30", "-extfile", ext])
        return crt, key


def tls_args(node_crt, node_key, ca):
    return ["--tls-cert", node_crt, "--tls-key", node_key, "--tls-ca", ca]


class TlsProxy(Proxy):
    def __init__(self, extra):
        super().__init__()
        self.extra = list(extra)

    def build_args(self, ready):
        return super().build_args(ready) + self.extra


def served_subject(port, ca):
    """The subject and serial of the certificate a new handshake gets (openssl s_client)."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", ca,
                        "-verify_return_error"], input=b"", capture_output=True, timeout=20)
    crt = r.stdout[r.stdout.find(b"-----BEGIN CERTIFICATE-----"):]
    x = subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial"], input=crt,
                       capture_output=True, timeout=20)
    return x.stdout.decode()


def wait_online(proxy_url, ca, n, headers=None, cert=None):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            sm = requests.get(proxy_url + "/v1/daemon", params={"what": "smap"}, verify=ca,
                              headers=headers, cert=cert, timeout=T).json()
            if sum(1 for v in sm["tmap"].values()
                   if v.get("aisle_state", "online") == "online") == n:
                return sm
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError("targets did not come online over https")


@unittest.skipUnless(OPENSSL and CURL, "needs the openssl and curl commands")
class TlsCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tl.make_tmpdir("aisle-tls-")
        cls.ca = TestCa(cls.dir)
        # Every node reads node.crt/node.key; the reload test rewrites them.
        crt, key = cls.ca.issue("first", "aisle-node-first", 1001)
        cls.crt = os.path.join(cls.dir, "node.crt")
        cls.key = os.path.join(cls.dir, "node.key")
        shutil.copy(crt, cls.crt)
        shutil.copy(key, cls.key)
        extra = tls_args(cls.crt, cls.key, cls.ca.ca_crt)
        cls.nodes = []
        cls.proxy = TlsProxy(extra)
        cls.nodes.append(cls.proxy)
        try:
            cls.proxy.start()
            assert cls.proxy.url.startswith("https://"), cls.proxy.url
            cls.targets = []
            for _ in range(2):
                t = tl.Node(extra_args=["--primary", cls.proxy.url, "--keepalive-ms", "300"] + extra)
                cls.nodes.append(t)
                t.start()
                cls.targets.append(t)
            cls.smap = wait_online(cls.proxy.url, cls.ca.ca_crt, 2)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in reversed(cls.nodes):
            n.cleanup()
        tl.remove_tmpdir(cls.dir)

    def curl(self, *args, ca=True):
        base = [CURL, "-sS", "--max-time", "20"]
        if ca:
            base += ["--cacert", self.ca.ca_crt]
        return run(base + list(args))

    def make_bucket(self, name):
        r = requests.post(self.proxy.url + "/v1/buckets/" + name, json={"action": "create-bck"},
                          verify=self.ca.ca_crt, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)

    def test_map_urls_are_https(self):
        for group in ("pmap", "tmap"):
            for node in self.smap[group].values():
                self.assertTrue(node["public_net"]["direct_url"].startswith("https://127.0.0.1:"),
                                node)

    def test_curl_put_get_list_through_redirect(self):
        self.make_bucket("tc")
        src = os.path.join(self.dir, "obj.bin")
        data = os.urandom(300000)
        with open(src, "wb") as f:
            f.write(data)
        url = self.proxy.url + "/v1/objects/tc/dir/obj.bin"
        r = self.curl("-L", "-f", "-T", src, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The proxy redirects to the owner's https URL.
        r = self.curl("-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url)
        code, loc = r.stdout.decode().split(" ", 1)
        self.assertEqual(code, "301")
        self.assertTrue(loc.startswith("https://127.0.0.1:"), loc)
        out = os.path.join(self.dir, "obj.out")
        r = self.curl("-L", "-f", "-o", out, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        r = self.curl("-L", "-f", self.proxy.url + "/v1/buckets/tc?props=name,size", "-X", "GET")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [e["name"] for e in json.loads(r.stdout)["entries"]]
        self.assertEqual(names, ["dir/obj.bin"])

    def test_curl_without_ca_fails_verification(self):
        r = self.curl("-f", self.proxy.url + "/v1/health", ca=False)
        self.assertEqual(r.returncode, 60, r.stderr)  # CURLE_PEER_FAILED_VERIFICATION
        self.assertIn(b"certificate", r.stderr)
        # The wrong host name fails too (the certificate is for 127.0.0.1 and localhost).
        r = self.curl("-f", "--resolve", "elsewhere.test:%d:127.0.0.1" % self.proxy.port,
                      "https://elsewhere.test:%d/v1/health" % self.proxy.port)
        self.assertEqual(r.returncode, 60, r.stderr)

    def test_plain_http_to_tls_port_fails_fast(self):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=5) as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break  # closed by the node
                got += chunk
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertTrue(got.startswith(b"HTTP/1.1 400 "), got)
        body = json.loads(got.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(body["status"], 400)
        self.assertIn("https", body["message"])
        r = run([CURL, "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                 "http://127.0.0.1:%d/v1/health" % self.proxy.port])
        self.assertEqual(r.stdout, b"400")

    def test_s3_over_https(self):
        try:
            import boto3
            import botocore.config
        except ImportError:
            self.skipTest("boto3 missing")
        s3 = boto3.client("s3", endpoint_url=self.proxy.url + "/s3", verify=self.ca.ca_crt,
                          aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1",
                          config=botocore.config.Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="tls-s3")
        body = os.urandom(2 * 1024 * 1024 + 17)
        s3.put_object(Bucket="tls-s3", Key="a/b", Body=body)
        self.assertEqual(s3.get_object(Bucket="tls-s3", Key="a/b")["Body"].read(), body)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tls-s3")["Contents"]]
        self.assertEqual(keys, ["a/b"])
        # Without the CA the client refuses the node.
        bad = boto3.client("s3", endpoint_url=self.proxy.url + "/s3", aws_access_key_id="k",
                           aws_secret_access_key="s", region_name="us-east-1")
        with self.assertRaises(Exception) as cm:
            bad.list_buckets()
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))

    def cli(self, *args, ca=True):
        env = dict(os.environ, AIS_ENDPOINT=self.proxy.url, HOME=self.dir)
        env.pop("AIS_CLIENT_CA", None)
        if ca:
            env["AIS_CLIENT_CA"] = self.ca.ca_crt
        return subprocess.run([tl.cli_bin()] + list(args), capture_output=True, env=env,
                              timeout=60)

    def test_cli_with_ca_env(self):
        r = self.cli("bucket", "create", "ais://tcli")
        self.assertEqual(r.returncode, 0, r.stderr)
        src = os.path.join(self.dir, "cli.txt")
        with open(src, "w") as f:
            f.write("over tls\n")
        r = self.cli("object", "put", src, "ais://tcli/x.txt")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("object", "get", "ais://tcli/x.txt", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"over tls\n")
        r = self.cli("object", "ls", "ais://tcli")
        self.assertIn(b"x.txt", r.stdout)
        r = self.cli("object", "ls", "ais://tcli", ca=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"certificate", r.stderr)

    @unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
    def test_fs_mount_over_https(self):
        self.make_bucket("tfs")
        data = os.urandom(3 * 1024 * 1024 + 5)
        src = os.path.join(self.dir, "fs.bin")
        with open(src, "wb") as f:
            f.write(data)
        r = self.curl("-L", "-f", "-T", src, self.proxy.url + "/v1/objects/tfs/d/f.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = Mount(self.proxy.url + "/tfs", opts="ca_file=" + self.ca.ca_crt).start()
        try:
            with open(m.path("d", "f.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            with open(m.path("d", "f.bin"), "rb") as f:  # a range in the middle
                f.seek(1000000)
                self.assertEqual(f.read(4096), data[1000000:1004096])
            self.assertEqual(os.listdir(m.path("d")), ["f.bin"])
        finally:
            m.stop()
        # Without the CA it does not mount.
        r = subprocess.run([FS_BIN, self.proxy.url + "/tfs", self.dir + "/nomnt", "-f"],
                           capture_output=True, timeout=30, env=dict(os.environ, AIS_CLIENT_CA=""))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"certificate", r.stderr)

    def test_sighup_reload(self):
        t = self.targets[0]
        self.assertIn("aisle-node-first", served_subject(t.port, self.ca.ca_crt))
        ctx = ssl.create_default_context(cafile=self.ca.ca_crt)
        conn = http.client.HTTPSConnection("127.0.0.1", t.port, context=ctx, timeout=T)
        conn.request("GET", "/v1/health")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        sock = conn.sock
        logs_before = t.log_tail(100000).count("reloaded TLS certificate")
        crt, key = self.ca.issue("second", "aisle-node-second", 2002)
        try:
            shutil.copy(crt, self.crt)
            shutil.copy(key, self.key)
            os.kill(t.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 10
            while t.log_tail(100000).count("reloaded TLS certificate") == logs_before:
                self.assertLess(time.monotonic(), deadline, t.log_tail())
                time.sleep(0.05)
            seen = served_subject(t.port, self.ca.ca_crt)
            self.assertIn("aisle-node-second", seen)
            self.assertIn("serial=07D2", seen)  # 2002
            # The connection opened before the reload goes on with its session.
            for _ in range(3):
                conn.request("GET", "/v1/health")
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            self.assertIs(conn.sock, sock)
            # A bad certificate at reload: logged, the current one stays.
            with open(self.crt, "w") as f:
                f.write("not a certificate\n")
            os.kill(t.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "TLS reload failed" not in t.log_tail(100000):
                self.assertLess(time.monotonic(), deadline, t.log_tail())
                time.sleep(0.05)
            self.assertIn(self.crt, t.log_tail(100000))
            self.assertIn("aisle-node-second", served_subject(t.port, self.ca.ca_crt))
            self.assertTrue(t.alive())
        finally:
            conn.close()
            first = os.path.join(self.dir, "first")
            shutil.copy(first + ".crt", self.crt)
            shutil.copy(first + ".key", self.key)
            os.kill(t.proc.pid, signal.SIGHUP)
        # The cluster still works with the target on its new certificate (peers verify it).
        wait_online(self.proxy.url, self.ca.ca_crt, 2)


@unittest.skipUnless(OPENSSL and CURL, "needs the openssl and curl commands")
class TlsStartAndMutual(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tl.make_tmpdir("aisle-tls2-")
        cls.ca = TestCa(cls.dir)
        cls.crt, cls.key = cls.ca.issue("node", "aisle-node", 3003)

    @classmethod
    def tearDownClass(cls):
        tl.remove_tmpdir(cls.dir)

    def start_fail(self, *args):
        mp = os.path.join(self.dir, "mp")
        os.makedirs(mp, exist_ok=True)
        return subprocess.run([tl.node_bin(), "--role", "target", "--port", "0", "--mountpath", mp]
                              + list(args), capture_output=True, timeout=30)

    def test_bad_cert_at_start_exits_2_naming_the_file(self):
        missing = os.path.join(self.dir, "missing.crt")
        r = self.start_fail("--tls-cert", missing, "--tls-key", self.key)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(missing.encode(), r.stderr)
        garbage = os.path.join(self.dir, "garbage.crt")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
        r = self.start_fail("--tls-cert", garbage, "--tls-key", self.key)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(garbage.encode(), r.stderr)
        other_crt, _ = self.ca.issue("other", "other", 3004)
        r = self.start_fail("--tls-cert", other_crt, "--tls-key", self.key)  # key mismatch
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(self.key.encode(), r.stderr)
        r = self.start_fail("--tls-cert", self.crt)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"--tls-key", r.stderr)

    def test_mutual_tls(self):
        """A proxy and a target that both require client certificates: the target joins (the
        nodes show theirs to each other); clients without one are refused."""
        extra = tls_args(self.crt, self.key, self.ca.ca_crt) + ["--tls-client-ca", self.ca.ca_crt]
        proxy = TlsProxy(extra)
        nodes = [proxy]
        try:
            proxy.start()
            t = tl.Node(extra_args=["--primary", proxy.url, "--keepalive-ms", "300"] + extra)
            nodes.append(t)
            t.start()
            wait_online(proxy.url, self.ca.ca_crt, 1, cert=(self.crt, self.key))
            base = [CURL, "-sS", "--max-time", "10", "--cacert", self.ca.ca_crt]
            for n in nodes:
                r = run(base + ["-f", n.url + "/v1/health"])
                self.assertNotEqual(r.returncode, 0)  # no client certificate: refused
                r = run(base + ["-f", "--cert", self.crt, "--key", self.key, n.url + "/v1/health"])
                self.assertEqual(r.returncode, 0, r.stderr)
            # An object through the proxy's redirect, client certificate on both hops.
            src = os.path.join(self.dir, "m.txt")
            with open(src, "w") as f:
                f.write("mutual\n")
            cert = ["--cert", self.crt, "--key", self.key]
            r = run(base + cert + ["-f", "-X", "POST", proxy.url + "/v1/buckets/mb", "-d",
                                   '{"action":"create-bck"}'])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run(base + cert + ["-f", "-L", "-T", src, proxy.url + "/v1/objects/mb/m.txt"])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run(base + cert + ["-f", "-L", proxy.url + "/v1/objects/mb/m.txt"])
            self.assertEqual(r.stdout, b"mutual\n")
        finally:
            for n in reversed(nodes):
                n.cleanup()


@unittest.skipUnless(OPENSSL and CURL, "needs the openssl and curl commands")
class UpTls(unittest.TestCase):
    def test_aisle_up_tls(self):
        d = tl.make_tmpdir("aisle-up-tls-")
        env = dict(os.environ, AISLE_NODE_BIN=tl.node_bin(), HOME=d)
        for k in ("AIS_ENDPOINT", "AIS_CLIENT_CA"):
            env.pop(k, None)
        up = [tl.cli_bin(), "up", "--tls", "--targets", "1", "--dir", d + "/c", "--port",
              str(tl.free_port())]
        try:
            r = subprocess.run(up, capture_output=True, env=env, timeout=90)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            ca = os.path.join(d, "c", "tls", "ca.crt")
            self.assertIn("export AIS_CLIENT_CA=" + ca, out)
            endpoint = [l.split("=", 1)[1] for l in out.splitlines()
                        if l.startswith("export AIS_ENDPOINT=")][0]
            self.assertTrue(endpoint.startswith("https://"), out)
            env.update(AIS_ENDPOINT=endpoint, AIS_CLIENT_CA=ca)
            r = subprocess.run([tl.cli_bin(), "bucket", "create", "ais://up"], capture_output=True,
                               env=env, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run([CURL, "-sS", "-f", "--cacert", ca, endpoint + "/v1/buckets"])
            self.assertIn(b"up", r.stdout)
        finally:
            subprocess.run([tl.cli_bin(), "down", "--dir", d + "/c"], capture_output=True,
                           env=env, timeout=60)
            tl.remove_tmpdir(d)


@unittest.skipUnless(OPENSSL and CURL, "needs the openssl and curl commands")
class TlsWithAuth(unittest.TestCase):
    """--auth and TLS together: login, tokens and redirect grants over https."""

    def test_token_over_tls(self):
        d = tl.make_tmpdir("aisle-tls3-")
        ca = TestCa(d)
        crt, key = ca.issue("node", "aisle-node", 4004)
        admin = os.path.join(d, "admin.password")
        with open(admin, "w") as f:
            f.write("s3cret-admin-pass\n")
        extra = tls_args(crt, key, ca.ca_crt) + ["--auth"]
        proxy = TlsProxy(extra + ["--admin-password-file", admin])
        nodes = [proxy]
        try:
            proxy.start()
            t = tl.Node(extra_args=["--primary", proxy.url, "--keepalive-ms", "300"] + extra)
            nodes.append(t)
            t.start()
            env = dict(os.environ, AIS_ENDPOINT=proxy.url, AIS_CLIENT_CA=ca.ca_crt, HOME=d)
            env.pop("AIS_AUTHN_TOKEN", None)

            def cli(*args):
                return subprocess.run([tl.cli_bin()] + list(args), capture_output=True, env=env,
                                      timeout=60)

            r = cli("auth", "login", "admin", "--password-file", admin)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, ".config", "aisle", "token")) as f:
                token = f.read().strip()
            hdr = {"Authorization": "Bearer " + token}
            wait_online(proxy.url, ca.ca_crt, 1, headers=hdr)
            r = cli("bucket", "create", "ais://ta")
            self.assertEqual(r.returncode, 0, r.stderr)
            src = os.path.join(d, "f.txt")
            with open(src, "w") as f:
                f.write("token over tls\n")
            r = cli("object", "put", src, "ais://ta/f.txt")
            self.assertEqual(r.returncode, 0, r.stderr)
            # curl -L drops Authorization on the redirect to the target: the grant in the
            # https Location carries it.
            r = run([CURL, "-sS", "-f", "-L", "--cacert", ca.ca_crt, "-H",
                     "Authorization: Bearer " + token, proxy.url + "/v1/objects/ta/f.txt"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"token over tls\n")
            r = requests.get(proxy.url + "/v1/objects/ta/f.txt", verify=ca.ca_crt, timeout=T)
            self.assertEqual(r.status_code, 401)
        finally:
            for n in reversed(nodes):
                n.cleanup()
            tl.remove_tmpdir(d)


if __name__ == "__main__":
    unittest.main()
