"""ETL sandbox (docs/SECURITY.md, "ETL sandbox"): real standalone targets on loopback, each
escape a transform could try, refused.

The programs run as an unprivileged uid of their own (--etl-user 64999:64999, so the fork bomb
here does not count against the processes of other tests' ETLs, which run as nobody). Each
escape fails for that object with an AIS-shaped error, and the node serves the next request.
"""

import base64
import json
import os
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

ETL_UID = 64999
MARKER_ENV = "AISLE_SANDBOX_TEST_NODE_ONLY"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def node(*extra):
    n = tl.Node(extra_args=["--etl-user", "%d:%d" % (ETL_UID, ETL_UID)] + list(extra))
    # Only the node's own chmod (0700 on its mountpaths) keeps the ETL user out.
    os.chmod(n.dir, 0o755)
    n.start()
    return n


def pids_with_marker(marker):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


class SandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ[MARKER_ENV] = "secret-of-the-node"
        cls.a = node()
        cls.b = node()  # another target on the same host
        cls.s = requests.Session()
        for n in (cls.a, cls.b):
            r = cls.s.post(n.bck_url("sb"), json={"action": "create-bck"}, timeout=30)
            assert r.status_code == 200, r.text
            r = cls.s.put(n.obj_url("sb", "o"), data=b"hello sandbox", timeout=30)
            assert r.status_code == 200, r.text

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        for n in (cls.a, cls.b):
            n.cleanup()
        os.environ.pop(MARKER_ENV, None)

    def init(self, n, msg, expect=200):
        r = self.s.put(n.url + "/v1/etl", data=json.dumps(msg), timeout=120)
        self.assertEqual(r.status_code, expect, r.text)
        if expect == 200:
            self.addCleanup(lambda: self.s.delete(n.url + "/v1/etl/" + msg["name"], timeout=30))
        return r

    def code(self, n, name, code, **kw):
        msg = {"name": name, "runtime": "python3", "code": b64(code), "concurrency": 1}
        msg.update(kw)
        return self.init(n, msg)

    def get(self, n, name, obj="o"):
        return self.s.get(n.obj_url("sb", obj), params={"etl_name": name}, timeout=120)

    def assert_serving(self, n):
        r = self.s.get(n.obj_url("sb", "o"), timeout=30)
        self.assertEqual((r.status_code, r.content), (200, b"hello sandbox"))

    def assert_failed(self, r, needle):
        self.assertGreaterEqual(r.status_code, 400, r.text)
        body = r.json()  # the AIS error shape
        self.assertIn(needle, body["message"])
        self.assertEqual(body["status"], r.status_code)
        return body["message"]

    def test_runs_as_unprivileged_user_with_clean_env(self):
        self.init(self.a, {"name": "id", "communication": "io://",
                           "runtime": {"command": ["/bin/sh", "-c", "id; echo; env"]}})
        r = self.get(self.a, "id")
        self.assertEqual(r.status_code, 200, r.text)
        out = r.text
        self.assertIn("uid=%d" % ETL_UID, out)
        self.assertNotIn("uid=0", out)
        self.assertIn("groups=%d" % ETL_UID, out)  # no supplementary groups
        self.assertNotIn(MARKER_ENV, out)  # nothing of the node's environment
        self.assertIn("AIS_OBJECT=o", out)

    def test_shadow_unreadable(self):
        self.code(self.a, "shadow", "def transform(d):\n    return open('/etc/shadow','rb').read()\n")
        self.assert_failed(self.get(self.a, "shadow"), "PermissionError")
        self.assert_serving(self.a)

    def test_mountpaths_and_other_targets_unreadable(self):
        for n in (self.a, self.b):
            for mp in n.mountpaths:
                self.assertEqual(os.stat(mp).st_mode & 0o777, 0o700, mp)
        code = ("import os, sys\n"
                "def transform(d, path):\n"
                "    if path.endswith('!w'):\n"
                "        open(path[:-2] + '/planted', 'w').write('x')\n"
                "        return b'wrote'\n"
                "    return repr(os.listdir(path)).encode()\n")
        self.code(self.a, "lister", code)
        targets = [self.a.mountpaths[0], os.path.join(self.a.mountpaths[0], "ais"),
                   self.b.mountpaths[0], self.b.dir + "/mp0/.aisle",
                   self.a.mountpaths[0] + "!w", self.b.mountpaths[0] + "!w"]
        for path in targets:
            r = self.s.get(self.a.obj_url("sb", "o"),
                           params={"etl_name": "lister", "etl_args": path}, timeout=60)
            self.assert_failed(r, "PermissionError")
        self.assertFalse(os.path.exists(os.path.join(self.a.mountpaths[0], "planted")))
        # Its own work dir (the cwd) is writable.
        self.code(self.a, "own-dir", "def transform(d):\n    open('scratch','wb').write(d)\n"
                  "    return open('scratch','rb').read()\n")
        r = self.get(self.a, "own-dir")
        self.assertEqual((r.status_code, r.content), (200, b"hello sandbox"))

    def test_fork_bomb_contained(self):
        code = ("import os, time\n"
                "def transform(d):\n"
                "    n = 0\n"
                "    try:\n"
                "        for _ in range(1000):\n"
                "            if os.fork() == 0:\n"
                "                time.sleep(30)\n"
                "                os._exit(0)\n"
                "            n += 1\n"
                "    except OSError as e:\n"
                "        raise RuntimeError('fork %d failed: %s' % (n, e.strerror))\n"
                "    return b'forked 1000'\n")
        self.code(self.a, "bomb", code)
        msg = self.assert_failed(self.get(self.a, "bomb"), "fork")
        self.assertIn("Resource temporarily unavailable", msg)
        self.assert_serving(self.a)
        # DELETE takes every forked child with it (their PID namespace ends).
        r = self.s.delete(self.a.url + "/v1/etl/bomb", timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        deadline = time.monotonic() + 10
        while self.uid_processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.uid_processes(), [])

    @staticmethod
    def uid_processes():
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.stat("/proc/" + d).st_uid == ETL_UID:
                        out.append(int(d))
                except OSError:
                    pass
        return out

    def test_memory_limit(self):
        self.code(self.a, "hog", "def transform(d):\n    x = bytearray(4 << 30)\n    return b'got it'\n")
        self.assert_failed(self.get(self.a, "hog"), "MemoryError")
        self.assert_serving(self.a)
        # Above the node's limit (--etl-memory-limit, 2 GiB by default): refused at init.
        r = self.init(self.a, {"name": "hog2", "runtime": "python3", "memory_limit": "8GiB",
                               "code": b64("def transform(d):\n    return d\n")}, expect=400)
        self.assertIn("etl-memory-limit", r.json()["message"])

    def test_setsid_double_fork_gone_after_delete_and_node_exit(self):
        marker = "sandbox-escape-%d" % os.getpid()
        code = ("import os\n"
                "def transform(d):\n"
                "    if os.fork() == 0:\n"
                "        os.setsid()\n"
                "        if os.fork() == 0:\n"
                "            os.execvp('sh', ['sh', '-c', 'sleep 600; : %s'])\n"
                "        os._exit(0)\n"
                "    os.wait()\n"
                "    return b'escaped?'\n") % marker
        n = node()
        self.addCleanup(n.cleanup)
        for how in ("delete", "kill -9"):
            r = self.s.post(n.bck_url("sb"), json={"action": "create-bck"}, timeout=30)
            r = self.s.put(n.obj_url("sb", "o"), data=b"x", timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            msg = {"name": "escape", "runtime": "python3", "code": b64(code), "concurrency": 1}
            r = self.s.put(n.url + "/v1/etl", data=json.dumps(msg), timeout=120)
            self.assertEqual(r.status_code, 200, r.text)
            r = self.get(n, "escape")
            self.assertEqual((r.status_code, r.content), (200, b"escaped?"))
            # The grandchild execs on its own after the transform returns: wait for it.
            deadline = time.monotonic() + 10
            while not pids_with_marker(marker) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(pids_with_marker(marker), "the double-forked child is not running")
            if how == "delete":
                r = self.s.delete(n.url + "/v1/etl/escape", timeout=30)
                self.assertEqual(r.status_code, 200, r.text)
            else:
                n.kill9()
            deadline = time.monotonic() + 10
            while pids_with_marker(marker) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(pids_with_marker(marker), [], how)

    def test_error_bodies_carry_no_traceback(self):
        self.code(self.a, "raiser", "def transform(d):\n    raise ValueError('bad input')\n")
        r = self.get(self.a, "raiser")
        msg = self.assert_failed(r, "ValueError: bad input")
        for leak in ("Traceback", 'File "', self.a.dir, "/.aisle/", "aisle_etl_runtime"):
            self.assertNotIn(leak, r.text)
        # The traceback is in the ETL's logs instead (collected from the runtime's stderr by a
        # reader thread line by line, so it may land a moment after the error reply, and its
        # last line, the one naming the error, after its first).
        deadline = time.monotonic() + 15
        while True:
            logs = self.s.get(self.a.url + "/v1/etl/raiser/logs", timeout=30).json()
            text = base64.b64decode(logs[0]["logs"]).decode()
            if ("Traceback" in text and "bad input" in text) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn("Traceback", text)
        self.assertIn("bad input", text)
        r = self.init(self.a, {"name": "syntax", "runtime": "python3",
                               "code": b64("def transform(:\n")}, expect=400)
        self.assertIn("SyntaxError", r.text)
        for leak in ("Traceback", self.a.dir, "/.aisle/"):
            self.assertNotIn(leak, r.text)
        self.assertLess(len(msg), 400)

    def test_worker_memory_released_after_big_result(self):
        self.s.put(self.a.obj_url("sb", "big"), data=os.urandom(8 << 20), timeout=60)
        self.code(self.a, "inflate", "def transform(d):\n    return d * 32\n")
        r = self.get(self.a, "inflate", obj="big")
        self.assertEqual((r.status_code, len(r.content)), (200, 256 << 20))
        del r
        m = self.s.get(self.a.url + "/v1/etl/inflate/metrics", timeout=30).json()[0]
        self.assertLess(m["mem"], 100 << 20, m)


class NetworkNoneTest(unittest.TestCase):
    def test_no_network_but_pipes_work(self):
        other = tl.Node()
        self.addCleanup(other.cleanup)
        other.start()
        n = node("--etl-network", "none")
        self.addCleanup(n.cleanup)
        s = requests.Session()
        self.addCleanup(s.close)
        s.post(n.bck_url("sb"), json={"action": "create-bck"}, timeout=30)
        self.assertEqual(s.put(n.obj_url("sb", "o"), data=b"quiet", timeout=30).status_code, 200)
        code = ("import socket\n"
                "def transform(d, port):\n"
                "    socket.create_connection(('127.0.0.1', int(port)), timeout=3)\n"
                "    return b'connected'\n")
        msg = {"name": "dial", "runtime": "python3", "code": b64(code), "concurrency": 1}
        r = s.put(n.url + "/v1/etl", data=json.dumps(msg), timeout=120)
        self.assertEqual(r.status_code, 200, r.text)
        for port in (other.port, n.port):  # another node, and its own node
            r = s.get(n.obj_url("sb", "o"), params={"etl_name": "dial", "etl_args": str(port)},
                      timeout=60)
            self.assertGreaterEqual(r.status_code, 500, r.text)
            self.assertIn("Error", r.json()["message"])
        # io:// over pipes works.
        msg = {"name": "upper", "communication": "io://",
               "runtime": {"command": ["tr", "a-z", "A-Z"]}}
        r = s.put(n.url + "/v1/etl", data=json.dumps(msg), timeout=120)
        self.assertEqual(r.status_code, 200, r.text)
        r = s.get(n.obj_url("sb", "o"), params={"etl_name": "upper"}, timeout=60)
        self.assertEqual((r.status_code, r.content), (200, b"QUIET"))
        # A protocol the node reaches over TCP is refused at init.
        msg = {"name": "push", "communication": "hpush://",
               "runtime": {"command": ["/bin/sh", "-c", "sleep 60"]}}
        r = s.put(n.url + "/v1/etl", data=json.dumps(msg), timeout=120)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("needs the network", r.json()["message"])
        for name in ("dial", "upper"):
            s.delete(n.url + "/v1/etl/" + name, timeout=30)


if __name__ == "__main__":
    tl.main()
