#!/usr/bin/python3
"""User authentication (docs/SECURITY.md "Users and tokens"): 1 proxy + 3 targets with --auth.

Every route of the proxy and of a target (the groups TargetApi::Handle and ProxyApi::Handle
route, each method they serve) is refused without a token, with an expired token, with a token
signed with another secret and with alg=none / HS512 (401, AIS error shape); per-bucket
permissions allow exactly their bucket (403 elsewhere); admin-only routes refuse non-admins;
wrong passwords are refused and slowed; redirects carry a grant that Python requests and
curl -L follow, valid for that request only; the CLI logs in and uses its token.
"""

import base64
import errno
import hashlib
import hmac
import json
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
from test_cluster import KEEPALIVE_MS, Proxy  # noqa: E402

T = 15
# apc.AccessAttrs (server/api/user_auth.h)
GET, OHEAD, PUT, APPEND, ODEL, OMOVE, BHEAD, OLIST = 1, 2, 4, 8, 16, 32, 128, 256
RWL = GET | OHEAD | BHEAD | PUT | APPEND | ODEL | OMOVE | OLIST
READ = GET | OHEAD | BHEAD | OLIST


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, key=None, alg="HS256", sign=True):
    key = tl.cluster_secret() if key is None else key
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    msg = (head + "." + body).encode()
    if not sign:
        return head + "." + body + "."
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    return head + "." + body + "." + b64(hmac.new(key, msg, digest).digest())


def claims(user, admin=False, buckets=None, ttl=600):
    return {"sub": user, "exp": int(time.time()) + ttl, "admin": admin,
            "buckets": [{"bck": {"name": b, "provider": "ais", "namespace": {"uuid": "", "name": ""}},
                         "perm": str(p)} for b, p in (buckets or {}).items()]}


def bearer(token):
    return {"Authorization": "Bearer " + token}


class AuthProxy(Proxy):
    def __init__(self, admin_file):
        super().__init__()
        self.admin_file = admin_file

    def build_args(self, ready):
        return super().build_args(ready) + ["--auth", "--admin-password-file", self.admin_file]


# The route table: (method, path, body) per group served by ProxyApi::Handle /
# TargetApi::Handle (server/native/proxy_api.cc, target_api.cc; etl, ml, jobs, users).
def routes(proxy):
    r = [("GET", "/v1/daemon?what=smap", None), ("GET", "/v1/daemon?what=snode", None),
         ("GET", "/v1/cluster?what=status_all", None),
         ("PUT", "/v1/cluster", {"action": "start-maintenance", "value": {"sid": "x"}}),
         ("PUT", "/v1/cluster", {"action": "stop", "name": "x"}),
         ("PUT", "/v1/metasync", {}),
         ("GET", "/v1/etl", None), ("POST", "/v1/etl", {"id": "x"}),
         ("POST", "/v1/etl/x/stop", None), ("DELETE", "/v1/etl/x", None),
         ("GET", "/v1/ml/moss", {"in": [{"objname": "o"}]}),
         ("GET", "/v1/buckets", None), ("GET", "/v1/buckets/", None),
         ("HEAD", "/v1/buckets/b1", None), ("GET", "/v1/buckets/b1", None),
         ("POST", "/v1/buckets/zz", {"action": "create-bck"}),
         ("DELETE", "/v1/buckets/b1", None), ("PATCH", "/v1/buckets/b1", {"action": "set-bprops"}),
         ("PUT", "/v1/buckets/b1", {"action": "archive"}),
         ("POST", "/v1/buckets/b1", {"action": "copy-bck"}),
         ("GET", "/v1/objects/b1/o", None), ("HEAD", "/v1/objects/b1/o", None),
         ("PUT", "/v1/objects/b1/o", None), ("DELETE", "/v1/objects/b1/o", None),
         ("POST", "/v1/objects/b1/o", {"action": "rename", "name": "p"}),
         ("PUT", "/v1/objects/b1/o?appendty=append", None),
         ("GET", "/v1/nosuchgroup", None)]
    if proxy:
        r += [("POST", "/v1/cluster/join", {}), ("POST", "/v1/cluster/keepalive/x", {}),
              ("GET", "/v1/users", None), ("GET", "/v1/users/admin", None),
              ("POST", "/v1/users", {"id": "u", "password": "p"}),
              ("PUT", "/v1/users/admin", {"password": "p"}), ("DELETE", "/v1/users/admin", None)]
    else:
        r += [("PUT", "/v1/daemon", {"action": "shutdown"})]
    return r


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aisle-auth-")
        cls.admin_pw = "admin-pw-" + os.urandom(4).hex()
        cls.admin_file = os.path.join(cls.tmp, "admin.password")
        with open(cls.admin_file, "w") as f:
            f.write(cls.admin_pw + "\n")
        os.chmod(cls.admin_file, 0o600)
        cls.proxy = AuthProxy(cls.admin_file)
        cls.proxy.start()
        cls.url = cls.proxy.url
        cls.targets = []
        for _ in range(3):
            t = tl.Node(extra_args=["--primary", cls.url, "--keepalive-ms", str(KEEPALIVE_MS), "--auth"])
            t.start()
            cls.targets.append(t)
        r = requests.post(cls.url + "/v1/users/admin", json={"password": cls.admin_pw}, timeout=T)
        assert r.status_code == 200, r.text
        cls.admin = r.json()["token"]
        deadline = time.monotonic() + 20
        while True:
            sm = requests.get(cls.url + "/v1/daemon?what=smap", headers=bearer(cls.admin), timeout=T).json()
            if len(sm.get("tmap", {})) == 3:
                break
            assert time.monotonic() < deadline, sm
            time.sleep(0.1)
        for b in ("b1", "b2"):
            r = requests.post(cls.url + "/v1/buckets/" + b, json={"action": "create-bck"},
                              headers=bearer(cls.admin), timeout=T)
            assert r.status_code == 200, r.text

    @classmethod
    def tearDownClass(cls):
        for t in cls.targets:
            t.cleanup()
        cls.proxy.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_refused(self, resp, status, where):
        self.assertEqual(resp.status_code, status, "%s: %s" % (where, resp.text[:300]))
        text = resp.headers.get("Hdr-Error") if resp.request.method == "HEAD" else resp.text
        err = json.loads(text)
        self.assertEqual(err["status"], status, where)
        self.assertTrue(err["message"], where)
        return err

    def call(self, base, method, path, body, headers=None):
        data = json.dumps(body) if body is not None else None
        return requests.request(method, base + path, data=data, headers=headers or {},
                                allow_redirects=False, timeout=T)

    def test_every_route_refused_without_valid_token(self):
        other = os.urandom(32)
        bad = {
            "none": {},
            "expired": bearer(jwt(claims("admin", admin=True, ttl=-5))),
            "other-secret": bearer(jwt(claims("admin", admin=True), key=other)),
            "alg-none": bearer(jwt(claims("admin", admin=True), alg="none", sign=False)),
            "alg-hs512": bearer(jwt(claims("admin", admin=True), alg="HS512")),
            "garbage": bearer("abc.def"),
            "basic": {"Authorization": "Basic YWRtaW46eA=="},
        }
        for node, proxy in [(self.proxy, True), (self.targets[0], False)]:
            for method, path, body in routes(proxy):
                for name, hdrs in bad.items():
                    r = self.call(node.url, method, path, body, hdrs)
                    self.check_refused(r, 401, "%s %s %s (%s)" % ("proxy" if proxy else "target",
                                                                   method, path, name))
        # Open: health, login (its own 401), /metrics.
        for node in [self.proxy] + self.targets:
            self.assertEqual(requests.get(node.url + "/v1/health", timeout=T).status_code, 200)
            self.assertEqual(requests.get(node.url + "/metrics", timeout=T).status_code, 200)

    def test_bucket_permissions(self):
        rw = bearer(jwt(claims("alice", buckets={"b1": RWL})))
        ro = bearer(jwt(claims("bob", buckets={"b1": READ})))
        u = self.url
        r = requests.put(u + "/v1/objects/b1/a", data=b"x" * 100, headers=rw, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(requests.get(u + "/v1/objects/b1/a", headers=rw, timeout=T).content, b"x" * 100)
        self.assertEqual(requests.head(u + "/v1/objects/b1/a", headers=rw, allow_redirects=True, timeout=T).status_code, 200)
        r = requests.get(u + "/v1/buckets/b1", headers=rw, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("a", [e["name"] for e in r.json()["entries"]])
        self.assertEqual(requests.head(u + "/v1/buckets/b1", headers=rw, timeout=T).status_code, 200)
        self.assertEqual(requests.get(u + "/v1/buckets", headers=rw, timeout=T).status_code, 200)
        # Another bucket's permission does not carry over (403), on the proxy and on a target.
        for base in [u, self.targets[1].url]:
            for method, path in [("GET", "/v1/objects/b2/a"), ("PUT", "/v1/objects/b2/a"),
                                 ("HEAD", "/v1/objects/b2/a"), ("DELETE", "/v1/objects/b2/a"),
                                 ("GET", "/v1/buckets/b2"), ("HEAD", "/v1/buckets/b2")]:
                self.check_refused(self.call(base, method, path, None, rw), 403, method + " " + path)
        # Read-only: reads and listings yes, writes no.
        self.assertEqual(requests.get(u + "/v1/objects/b1/a", headers=ro, timeout=T).status_code, 200)
        self.assertEqual(requests.get(u + "/v1/buckets/b1", headers=ro, timeout=T).status_code, 200)
        for method in ("PUT", "DELETE"):
            self.check_refused(self.call(u, method, "/v1/objects/b1/a", None, ro), 403, method)
        r = requests.delete(u + "/v1/objects/b1/a", headers=rw, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)

    def test_admin_only_routes(self):
        user = bearer(jwt(claims("carol", buckets={"b1": RWL})))
        for method, path, body in [
                ("POST", "/v1/buckets/newb", {"action": "create-bck"}),
                ("DELETE", "/v1/buckets/b1", {"action": "destroy-bck"}),
                ("PATCH", "/v1/buckets/b1", {"action": "set-bprops", "value": {"mirror": {"copies": 2}}}),
                ("PUT", "/v1/cluster", {"action": "start-maintenance", "value": {"sid": "x"}}),
                ("POST", "/v1/etl", {"id": "x"}), ("DELETE", "/v1/etl/x", None),
                ("POST", "/v1/etl/x/stop", None),
                ("GET", "/v1/users", None), ("POST", "/v1/users", {"id": "z", "password": "z"}),
                ("DELETE", "/v1/users/admin", None)]:
            err = self.check_refused(self.call(self.url, method, path, body, user), 403, method + " " + path)
            self.assertIn("admin", err["message"])
        # Users may read cluster state.
        self.assertEqual(requests.get(self.url + "/v1/daemon?what=smap", headers=user, timeout=T).status_code, 200)
        # An admin token may.
        r = self.call(self.url, "POST", "/v1/buckets/adm", {"action": "create-bck"}, bearer(self.admin))
        self.assertEqual(r.status_code, 200, r.text)
        r = self.call(self.url, "DELETE", "/v1/buckets/adm", {"action": "destroy-bck"}, bearer(self.admin))
        self.assertEqual(r.status_code, 200, r.text)

    def test_users_login_and_throttle(self):
        a = bearer(self.admin)
        r = requests.post(self.url + "/v1/users", headers=a, timeout=T,
                          json={"id": "dave", "password": "pw-dave", "roles": [],
                                "buckets": [{"bck": {"name": "b2", "provider": "ais"}, "perm": str(READ)}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("dave", requests.get(self.url + "/v1/users", headers=a, timeout=T).json())
        r = requests.post(self.url + "/v1/users/dave", json={"password": "pw-dave"}, timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        tok = r.json()["token"]
        payload = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
        self.assertEqual(payload["sub"], "dave")
        self.assertFalse(payload["admin"])
        self.assertEqual(payload["buckets"][0]["bck"]["name"], "b2")
        self.assertEqual(requests.get(self.url + "/v1/buckets/b2", headers=bearer(tok), timeout=T).status_code, 200)
        self.check_refused(self.call(self.url, "GET", "/v1/buckets/b1", None, bearer(tok)), 403, "dave b1")
        # Wrong password: 401; right away again: slowed (429 with Retry-After), even when right.
        r = requests.post(self.url + "/v1/users/dave", json={"password": "nope"}, timeout=T)
        self.check_refused(r, 401, "wrong password")
        r = requests.post(self.url + "/v1/users/dave", json={"password": "pw-dave"}, timeout=T)
        self.check_refused(r, 429, "throttled")
        self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
        time.sleep(0.6)
        r = requests.post(self.url + "/v1/users/dave", json={"password": "nope"}, timeout=T)
        self.check_refused(r, 401, "wrong again")
        t0 = time.monotonic()
        while True:  # the second failure waits longer than the first (exponential)
            r = requests.post(self.url + "/v1/users/dave", json={"password": "pw-dave"}, timeout=T)
            if r.status_code == 200:
                break
            self.assertEqual(r.status_code, 429)
            time.sleep(0.1)
        self.assertGreater(time.monotonic() - t0, 0.6)
        r = requests.post(self.url + "/v1/users/nobody", json={"password": "x"}, timeout=T)
        self.check_refused(r, 401, "unknown user")
        # Removed: the user can no longer log in; users persist in the proxy's data dir.
        self.assertEqual(requests.delete(self.url + "/v1/users/dave", headers=a, timeout=T).status_code, 200)
        time.sleep(0.1)
        r = requests.post(self.url + "/v1/users/dave", json={"password": "pw-dave"}, timeout=T)
        self.assertIn(r.status_code, (401, 429))
        with open(os.path.join(self.proxy.dir, "meta", "users.json")) as f:
            users = json.load(f)
        self.assertIn("admin", users)
        self.assertNotIn("dave", users)
        self.assertNotIn(self.admin_pw, json.dumps(users))

    def test_redirect_grants(self):
        h = bearer(jwt(claims("erin", buckets={"b1": RWL})))
        # Python requests drops Authorization when a redirect changes host:port; the grant
        # in the Location carries the permission for exactly that request.
        names = ["g%02d" % i for i in range(12)]
        for n in names:
            r = requests.put(self.url + "/v1/objects/b1/" + n, data=n.encode() * 50, headers=h, timeout=T)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertNotIn("Authorization", r.request.headers)  # the target saw only the grant
        for n in names:
            r = requests.get(self.url + "/v1/objects/b1/" + n, headers=h, timeout=T)
            self.assertEqual(r.content, n.encode() * 50)
            self.assertNotIn("Authorization", r.request.headers)
        r = requests.get(self.url + "/v1/buckets/b1", headers=h, timeout=T)
        self.assertTrue(set(names) <= {e["name"] for e in r.json()["entries"]})
        # The grant: valid alone for that request; not for another object, method or user bits.
        r = requests.get(self.url + "/v1/objects/b1/g00", headers=h, allow_redirects=False, timeout=T)
        self.assertEqual(r.status_code, 301)
        loc = r.headers["Location"]
        self.assertIn("aisle_grant=", loc)
        self.assertEqual(requests.get(loc, timeout=T).content, b"g00" * 50)
        other = loc.replace("/b1/g00", "/b1/g01")
        self.check_refused(requests.get(other, allow_redirects=False, timeout=T), 401, "grant replayed")
        self.check_refused(requests.delete(loc, allow_redirects=False, timeout=T), 401, "grant other method")
        tampered = loc.replace("aisle_grant=", "aisle_grant=9")
        self.check_refused(requests.get(tampered, allow_redirects=False, timeout=T), 401, "tampered")
        # curl -L with the header: follows the 301 and authenticates with the grant.
        if shutil.which("curl"):
            out = subprocess.run(["curl", "-sS", "-L", "-f", "-H", h["Authorization"].join(["Authorization: ", ""]),
                                  self.url + "/v1/objects/b1/g03"], capture_output=True, timeout=T)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, b"g03" * 50)
        # A user without permission gets no redirect at all.
        nope = bearer(jwt(claims("frank", buckets={"b2": RWL})))
        self.check_refused(requests.get(self.url + "/v1/objects/b1/g00", headers=nope, timeout=T), 403, "frank")

    def test_cli_login_put_get_ls(self):
        cli = tl.cli_bin()
        if not os.path.exists(cli):
            self.skipTest("aisle CLI not built")
        home = tempfile.mkdtemp(prefix="aisle-auth-home-")
        try:
            env = dict(os.environ, HOME=home, AIS_ENDPOINT=self.url)
            env.pop("AIS_AUTHN_TOKEN", None)
            env.pop("XDG_CONFIG_HOME", None)

            def run(*args, extra_env=None, ok=True):
                e = dict(env, **(extra_env or {}))
                p = subprocess.run([cli] + list(args), capture_output=True, env=e, timeout=60)
                if ok:
                    self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
                return p

            p = run("bucket", "ls", ok=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"authentication required", p.stderr)
            run("auth", "login", "admin", "--password-file", self.admin_file)
            tok_path = os.path.join(home, ".config", "aisle", "token")
            self.assertEqual(os.stat(tok_path).st_mode & 0o777, 0o600)
            pw = os.path.join(home, "pw")
            with open(pw, "w") as f:
                f.write("gina-pw\n")
            run("auth", "user", "add", "gina", "--password-file", pw, "--perm", "ais://b1=rwl")
            self.assertIn(b"gina", run("auth", "user", "ls").stdout)
            run("auth", "login", "gina", "--password-file", pw)
            src = os.path.join(home, "src")
            with open(src, "wb") as f:
                f.write(b"cli-data" * 1000)
            run("object", "put", src, "ais://b1/cli-obj")
            dst = os.path.join(home, "dst")
            run("object", "get", "ais://b1/cli-obj", dst)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), b"cli-data" * 1000)
            self.assertIn(b"cli-obj", run("object", "ls", "ais://b1").stdout)
            p = run("object", "put", src, "ais://b2/cli-obj", ok=False)
            self.assertNotEqual(p.returncode, 0)
            token = run("auth", "token").stdout.strip().decode()
            self.assertEqual(token.count("."), 2)
            # AIS_AUTHN_TOKEN wins over the file.
            p = run("object", "ls", "ais://b1", extra_env={"AIS_AUTHN_TOKEN": "x.y.z"}, ok=False)
            self.assertNotEqual(p.returncode, 0)
            run("object", "ls", "ais://b2", extra_env={"AIS_AUTHN_TOKEN": self.admin})
            run("auth", "login", "admin", "--password-file", self.admin_file)
            run("auth", "user", "rm", "gina")
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def test_fs_mount_with_token(self):
        """aisle-fs with a token reads and writes; without one it does not mount (exit 1, the
        401 message); a token without the bucket's permission reads EIO."""
        import test_fs
        if not test_fs.fuse_available():
            self.skipTest("needs /dev/fuse, fusermount3 and aisle-fs")
        r = requests.put(self.url + "/v1/objects/b1/fs/file.txt", data=b"through fuse",
                         headers=bearer(self.admin), timeout=T)
        self.assertEqual(r.status_code, 200, r.text)
        tok_file = os.path.join(self.tmp, "fs.token")
        with open(tok_file, "w") as f:
            f.write(jwt(claims("fsuser", buckets={"b1": RWL})) + "\n")
        m = test_fs.Mount(self.url + "/b1", opts="token_file=" + tok_file)
        try:
            m.start()
            with open(m.path("fs", "file.txt"), "rb") as f:
                self.assertEqual(f.read(), b"through fuse")
            with open(m.path("fs", "new.txt"), "wb") as f:
                f.write(b"written")
        finally:
            m.stop()
        r = requests.get(self.url + "/v1/objects/b1/fs/new.txt", headers=bearer(self.admin), timeout=T)
        self.assertEqual(r.content, b"written")
        # No token: the mount is refused up front with the cluster's 401 message.
        p = subprocess.run([test_fs.FS_BIN, self.url + "/b1", self.tmp, "-f"], capture_output=True,
                           timeout=60, env={k: v for k, v in os.environ.items() if k != "AIS_AUTHN_TOKEN"})
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"authentication required", p.stderr)
        # A token for another bucket: listing refused at mount; a whole-cluster mount shows the
        # bucket but reading it fails with EIO.
        with open(tok_file, "w") as f:
            f.write(jwt(claims("fsuser", buckets={"b2": RWL})) + "\n")
        m = test_fs.Mount(self.url, opts="token_file=" + tok_file)
        try:
            m.start()
            with self.assertRaises(OSError) as cm:
                with open(m.path("b1", "fs", "file.txt"), "rb") as f:
                    f.read()
            self.assertEqual(cm.exception.errno, errno.EIO)
        finally:
            m.stop()


class AuthStartTest(unittest.TestCase):
    def test_auth_needs_secret(self):
        d = tempfile.mkdtemp(prefix="aisle-auth-start-")
        try:
            p = subprocess.run([tl.node_bin(), "--role", "target", "--port", "0", "--mountpath", d,
                                "--auth"], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 2)
            self.assertIn(b"--cluster-secret-file", p.stderr + p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    tl.main()
