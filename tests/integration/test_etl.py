"""ETL integration tests: a real primary proxy and three targets on loopback.

Python code run by the persistent runtime, user programs over io://, hpush://, hpull://,
hrev:// and ws:// (small programs this test writes), built-in transforms, inline GETs
(also of one shard member), the offline bucket-to-bucket job over 1,000 objects, lifecycle
(stop/start/rm), crash and hang of a transform, bad init messages, a restarted target
getting its ETLs back, the CLI, and a transform view read through an aisle-fs mount.
"""

import base64
import concurrent.futures
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402
import test_fs  # noqa: E402

PY = "/usr/bin/python3"

UPPER_CODE = """
import sys
def transform(data):
    print("transforming", len(data), "bytes")  # must not corrupt the runtime's frames
    return data.upper()
"""

FAULTY_CODE = """
import os, time
def transform(data, args):
    if data == b"crash":
        os._exit(3)
    if data == b"hang":
        time.sleep(120)
    if data == b"boom":
        raise ValueError("boom is not allowed")
    return (args + ":").encode() + data
"""

# An HTTP program for hpush/hpull/hrev: PUT bodies are upper-cased; GETs pull the object from
# the target (AIS_TARGET_URL) and reverse it.
HTTP_PROGRAM = r"""
import os, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = os.environ["AIS_TARGET_URL"]

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, body, code=200):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(b"ok")
        path = self.path.split("?", 1)[0]
        with urllib.request.urlopen(TARGET + "/v1/objects" + path) as r:
            data = r.read()
        self.reply(data[::-1])

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.reply(data.upper())

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""

# ws:// program: the shared stdlib WebSocket server (also used by the unit tests); --plain:
# it answers each object with its bytes upper-cased.
WS_PROGRAM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "testing",
                                          "ws_upper_program.py"))


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtlTestBase(tl.EtlTestMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        cls.url = cls.c.url
        cls.tmp = tl.make_tmpdir("aisle-etl-")
        # Programs run as the unprivileged ETL user (the sandbox): it must read the files
        # this test writes for them.
        os.chmod(cls.tmp, 0o755)
        cls.s = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()
        tl.remove_tmpdir(cls.tmp)

    def get(self, bucket, name, **q):
        return self.s.get("%s/v1/objects/%s/%s" % (self.url, bucket, name), params=q, timeout=60)

    def aisle(self, *args, check=True, timeout=180):
        env = dict(os.environ, AIS_ENDPOINT=self.url)
        p = subprocess.run([tl.cli_bin()] + list(args), capture_output=True, text=True, env=env,
                           timeout=timeout)
        if check:
            self.assertEqual(p.returncode, 0, "aisle %s: %s %s" % (args, p.stdout, p.stderr))
        return p


class InlineTest(EtlTestBase):
    def test_python_code_through_cli_inline_and_listing(self):
        b = self.bucket("py")
        names = ["obj-%03d.txt" % i for i in range(30)]
        put_many(self.url, b, names, lambda n: ("hello " + n).encode())
        code = self.write("upper.py", UPPER_CODE)
        self.aisle("etl", "init", "code", "up-py", code)
        self.addCleanup(lambda: self.s.delete(self.url + "/v1/etl/up-py", timeout=30))
        for n in names:
            r = self.get(b, n, etl_name="up-py")
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.content, ("hello " + n).upper().encode())
        # Range applies to the transformed bytes.
        r = self.get(b, names[0], etl_name="up-py", **{})
        rr = self.s.get("%s/v1/objects/%s/%s?etl_name=up-py" % (self.url, b, names[0]),
                        headers={"Range": "bytes=0-4"}, timeout=30)
        self.assertEqual(rr.status_code, 206)
        self.assertEqual(rr.content, r.content[:5])
        # Listing through the proxy: one ETL, running, counting the objects of all targets.
        ls = self.s.get(self.url + "/v1/etl", timeout=30).json()
        e = [x for x in ls if x["id"] == "up-py"][0]
        self.assertEqual(e["stage"], "Running")
        self.assertGreaterEqual(e["obj_count"], len(names))
        out = self.aisle("etl", "ls").stdout
        self.assertIn("up-py", out)
        self.assertIn("Running", out)
        # The runtime is persistent: one worker pool per target, not a process per object.
        # Logs per target, base64; user prints went to stderr (the log), not into the frames.
        logs = self.s.get(self.url + "/v1/etl/up-py/logs", timeout=30).json()
        self.assertEqual(len(logs), 3)
        all_logs = b"".join(base64.b64decode(x["logs"]) for x in logs)
        self.assertIn(b"transforming", all_logs)
        # Metrics: the runtime's worker processes, their memory, per target.
        metrics = self.s.get(self.url + "/v1/etl/up-py/metrics", timeout=30).json()
        self.assertEqual(len(metrics), 3)
        for m in metrics:
            self.assertGreaterEqual(m["processes"], 1, m)
            self.assertGreater(m["mem"], 1 << 20, m)
            self.assertGreaterEqual(m["cpu"], 0)
        health = self.s.get(self.url + "/v1/etl/up-py/health", timeout=30).json()
        self.assertEqual(sorted(h["health_status"] for h in health), ["Running"] * 3)
        # The CLI's inline transform writes the result.
        out = os.path.join(self.tmp, "out.txt")
        self.aisle("etl", "transform", "up-py", "ais://%s/%s" % (b, names[1]), out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), ("hello " + names[1]).upper().encode())

    def test_python_errors_crash_and_hang(self):
        b = self.bucket("faulty")
        for n, d in [("ok", b"fine"), ("boom", b"boom"), ("crash", b"crash"), ("hang", b"hang")]:
            self.put(b, n, d)
        self.init({"name": "faulty", "runtime": "python3", "code": b64(FAULTY_CODE),
                   "funcs": {"transform": "transform"}, "obj_timeout": "2s", "concurrency": 2})
        r = self.get(b, "ok", etl_name="faulty", etl_args="A")
        self.assertEqual((r.status_code, r.content), (200, b"A:fine"))
        r = self.get(b, "boom", etl_name="faulty")
        self.assertGreaterEqual(r.status_code, 400)
        self.assertIn("boom is not allowed", r.json()["message"])
        self.assertIn("etl faulty", r.json()["message"])
        r = self.get(b, "crash", etl_name="faulty")
        self.assertGreaterEqual(r.status_code, 500)
        self.assertIn("exited", r.json()["message"])
        t0 = time.monotonic()
        r = self.get(b, "hang", etl_name="faulty")
        took = time.monotonic() - t0
        self.assertEqual(r.status_code, 504, r.text)
        self.assertIn("timed out", r.json()["message"])
        self.assertLess(took, 15)
        # The node is up and the worker came back: the next object works.
        for _ in range(3):
            r = self.get(b, "ok", etl_name="faulty", etl_args="B")
            self.assertEqual((r.status_code, r.content), (200, b"B:fine"))
        details = self.s.get(self.url + "/v1/etl/faulty", timeout=30).json()
        msgs = " ".join(e["msg"] for e in details["obj_errors"])
        self.assertIn("boom is not allowed", msgs)
        self.assertIn("timed out", msgs)

    def test_python_streaming_form(self):
        b = self.bucket("stream")
        big = os.urandom(3 << 20) + b"tail"
        self.put(b, "big.bin", big)
        code = ("def transform(chunks, args):\n"
                "    n = 0\n"
                "    for c in chunks:\n"
                "        assert len(c) <= (1 << 20)\n"
                "        n += 1\n"
                "        yield c[::-1]\n"
                "    yield ('|%d chunks|' % n + args).encode()\n")
        self.init({"name": "py-stream", "runtime": "python3", "code": b64(code)})
        r = self.get(b, "big.bin", etl_name="py-stream", etl_args="ok")
        self.assertEqual(r.status_code, 200, r.text[:500])
        want = b"".join(big[i:i + (1 << 20)][::-1] for i in range(0, len(big), 1 << 20))
        self.assertEqual(r.content, want + b"|4 chunks|ok")

    def test_io_program(self):
        b = self.bucket("io")
        self.put(b, "a.txt", b"make me loud")
        self.aisle("etl", "init", "program", "io-tr", "--comm", "io://", "--", "tr", "a-z", "A-Z")
        self.addCleanup(lambda: self.s.delete(self.url + "/v1/etl/io-tr", timeout=30))
        r = self.get(b, "a.txt", etl_name="io-tr")
        self.assertEqual((r.status_code, r.content), (200, b"MAKE ME LOUD"))
        # A program that fails: the error names the exit and its stderr.
        self.init({"name": "io-fail", "communication": "io://",
                   "runtime": {"command": ["/bin/sh", "-c", "echo broken pipe dream >&2; exit 7"]}})
        r = self.get(b, "a.txt", etl_name="io-fail")
        self.assertGreaterEqual(r.status_code, 500)
        self.assertIn("broken pipe dream", r.json()["message"])

    def test_http_programs_hpush_hpull_hrev(self):
        b = self.bucket("http")
        self.put(b, "x.txt", b"abc-def")
        prog = self.write("http_prog.py", HTTP_PROGRAM)
        for comm, want in [("hpush://", b"ABC-DEF"), ("hpull://", b"fed-cba"), ("hrev://", b"fed-cba")]:
            name = "http-" + comm[:-3]
            self.init({"name": name, "communication": comm,
                       "runtime": {"image": "ignored", "command": [PY, prog]}})
            r = self.get(b, "x.txt", etl_name=name)
            self.assertEqual((r.status_code, r.content), (200, want), comm)
        # hpull answers with a redirect to the program (the client fetches from it).
        owner_get = requests.get("%s/v1/objects/%s/x.txt" % (self.url, b),
                                 params={"etl_name": "http-hpull"}, allow_redirects=False, timeout=30)
        self.assertIn(owner_get.status_code, (301, 307))

    def test_ws_program(self):
        b = self.bucket("ws")
        self.put(b, "w.txt", b"over a websocket")
        self.init({"name": "ws-up", "communication": "ws://",
                   "runtime": {"command": [PY, WS_PROGRAM, "--plain"]}})
        for _ in range(3):
            r = self.get(b, "w.txt", etl_name="ws-up")
            self.assertEqual((r.status_code, r.content), (200, b"OVER A WEBSOCKET"))

    def test_builtin_and_shard_member(self):
        b = self.bucket("bi")
        data = os.urandom(100000)
        self.put(b, "blob.bin", data)
        self.aisle("etl", "init", "builtin", "md5-sum", "md5")
        self.addCleanup(lambda: self.s.delete(self.url + "/v1/etl/md5-sum", timeout=30))
        r = self.get(b, "blob.bin", etl_name="md5-sum")
        self.assertEqual((r.status_code, r.text), (200, hashlib.md5(data).hexdigest()))
        # One member of a shard, transformed: archpath + etl_name.
        buf = io.BytesIO()
        members = {"s1/img.jpg": os.urandom(5000), "s1/label.cls": b"7", "s2/img.jpg": b"x" * 10}
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for n, d in members.items():
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        self.put(b, "shard.tar", buf.getvalue())
        for n, d in members.items():
            r = self.get(b, "shard.tar", archpath=n, etl_name="md5-sum")
            self.assertEqual((r.status_code, r.text), (200, hashlib.md5(d).hexdigest()), n)
        # A pipeline: identity then md5.
        self.init({"name": "ident", "builtin": "identity"})
        r = self.get(b, "blob.bin", etl_name="ident", etl_pipeline="md5-sum")
        self.assertEqual((r.status_code, r.text), (200, hashlib.md5(data).hexdigest()))


class LifecycleTest(EtlTestBase):
    def test_stop_start_rm_and_duplicates(self):
        b = self.bucket("life")
        self.put(b, "o", b"quiet")
        self.init({"name": "life-up", "runtime": "python3", "code": b64(UPPER_CODE)})
        self.init({"name": "life-up", "builtin": "identity"}, expect=409)
        self.aisle("etl", "stop", "life-up")
        r = self.get(b, "o", etl_name="life-up")
        self.assertEqual(r.status_code, 503, r.text)
        self.assertIn("stopped", r.json()["message"])
        ls = {e["id"]: e for e in self.s.get(self.url + "/v1/etl", timeout=30).json()}
        self.assertEqual(ls["life-up"]["stage"], "Stopped")
        self.aisle("etl", "start", "life-up")
        r = self.get(b, "o", etl_name="life-up")
        self.assertEqual((r.status_code, r.content), (200, b"QUIET"))
        self.aisle("etl", "rm", "life-up")
        r = self.get(b, "o", etl_name="life-up")
        self.assertEqual(r.status_code, 404)
        self.assertIn("etl job life-up", r.json()["message"])
        p = self.aisle("etl", "rm", "life-up", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not exist", p.stderr)

    def test_bad_init_messages(self):
        cases = [
            ({"name": "X_bad"}, "invalid etl name"),
            ({"name": "ok-name", "communication": "smoke://", "runtime": {"command": ["true"]}},
             "unknown communication"),
            ({"name": "ok-name", "spec": b64("apiVersion: v1")}, "Kubernetes"),
            ({"name": "ok-name", "code": "!!notbase64!!"}, "base64"),
            ({"name": "ok-name", "builtin": "no-such-thing"}, "no-such-thing"),
            ({"name": "ok-name", "runtime": "python3", "code": b64("def transform(:\n")},
             "SyntaxError"),
            ({"name": "ok-name", "runtime": "python3", "code": b64(UPPER_CODE),
              "dependencies": b64("numpy_not_a_module\n")}, "numpy_not_a_module"),
            ({"name": "ok-name", "communication": "hpush://",
              "runtime": {"command": ["/bin/sh", "-c", "echo cannot start >&2; exit 1"]},
              "init_timeout": "10s"}, "cannot start"),
        ]
        for msg, needle in cases:
            r = self.s.put(self.url + "/v1/etl", data=json.dumps(msg), timeout=120)
            self.assertGreaterEqual(r.status_code, 400, msg)
            self.assertLess(r.status_code, 600, msg)
            self.assertIn(needle, r.json()["message"], msg)
        r = self.s.put(self.url + "/v1/etl", data="{not json", timeout=30)
        self.assertEqual(r.status_code, 400)
        # Nothing half-registered remains.
        self.assertEqual([e for e in self.s.get(self.url + "/v1/etl", timeout=30).json()
                          if e["id"] == "ok-name"], [])
        r = self.get("nobucket", "o", etl_name="nope-etl")
        self.assertGreaterEqual(r.status_code, 400)

    def test_restarted_target_gets_its_etls_back(self):
        b = self.bucket("rst")
        names = ["r-%d" % i for i in range(12)]
        put_many(self.url, b, names, lambda n: n.encode())
        self.init({"name": "rst-up", "runtime": "python3", "code": b64(UPPER_CODE)})
        t = self.c.targets[0]
        old = self.etl_pids(t)
        self.assertTrue(old, "the target runs no ETL worker processes?")
        t.kill9()
        t.restart()
        self.c.wait_online(3)
        deadline = time.monotonic() + 30
        while True:
            codes = [self.get(b, n, etl_name="rst-up").status_code for n in names]
            if codes == [200] * len(names) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(codes, [200] * len(names))
        for n in names:
            self.assertEqual(self.get(b, n, etl_name="rst-up").content, n.upper().encode())
        # The workers of the killed target process were found and killed by the new one.
        alive = [p for p in old if os.path.exists("/proc/%d" % p)]
        self.assertEqual(alive, [])

    @staticmethod
    def etl_pids(target):
        """PIDs of processes whose cwd is under the target's ETL work root."""
        roots = [os.path.realpath(os.path.join(mp, ".aisle", "etl")) for mp in target.mountpaths]
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cwd = os.readlink("/proc/%s/cwd" % d)
            except OSError:
                continue
            if any(cwd.startswith(r + "/") for r in roots):
                pids.append(int(d))
        return pids


class OfflineTest(EtlTestBase):
    def test_offline_job_1000_objects_on_3_targets(self):
        src = self.bucket("src")
        names = ["img/%04d.txt" % i for i in range(1000)]
        put_many(self.url, src, names, lambda n: ("data of " + n).encode(), workers=32)
        self.put(src, "other/skip.txt", b"not under the prefix")
        self.init({"name": "off-up", "runtime": "python3", "code": b64(UPPER_CODE)})
        dst = "dst-%d" % (int(time.time() * 1000) % 10**9)
        p = self.aisle("etl", "transform", "off-up", "ais://%s/img/" % src, "ais://" + dst,
                       "--ext", "txt:out", "--wait", timeout=600)
        self.assertIn("finished", p.stdout)
        job_id = [w for w in p.stdout.split() if w.startswith("tcb-")][0]
        # One job on three targets is one row.
        rows = [l for l in self.aisle("job", "ls").stdout.splitlines() if job_id in l]
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("finished", rows[0])
        self.assertIn("1000/1000", rows[0])
        listing, token = [], ""
        while True:
            r = self.s.get(self.url + "/v1/buckets/" + dst,
                           data=json.dumps({"action": "list", "value": {"continuation_token": token}}),
                           timeout=60)
            self.assertEqual(r.status_code, 200, r.text)
            j = r.json()
            listing += [e["name"] for e in j["entries"]]
            token = j.get("continuation_token", "")
            if not token:
                break
        want = sorted(n[:-4] + ".out" for n in names)
        self.assertEqual(sorted(listing), want)

        def check(n):
            r = requests.get("%s/v1/objects/%s/%s" % (self.url, dst, n), timeout=30)
            expect = ("data of " + n[:-4] + ".txt").upper().encode()
            if r.status_code == 200 and r.content == expect:
                return None
            return "%s: %d %r" % (n, r.status_code, r.content[:200])

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            bad = [x for x in ex.map(check, want) if x]
        self.assertEqual(bad, [])
        # Dry run writes nothing; a missing ETL is refused with its name.
        dst2 = dst + "-dry"
        r = self.s.post(self.url + "/v1/buckets/" + src, params={"bck_to": "ais/@#/%s/" % dst2},
                        data=json.dumps({"action": "etl-bck",
                                         "value": {"id": "off-up", "dry_run": True, "prefix": "img/"}}),
                        timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        self.aisle("job", "wait", r.text.strip(), timeout=300)
        r2 = self.s.get(self.url + "/v1/buckets/" + dst2,
                        data=json.dumps({"action": "list", "value": {}}), timeout=30)
        self.assertEqual(r2.json()["entries"] or [], [])
        r = self.s.post(self.url + "/v1/buckets/" + src, params={"bck_to": dst2},
                        data=json.dumps({"action": "etl-bck", "value": {"id": "no-such-etl"}}),
                        timeout=60)
        self.assertEqual(r.status_code, 404)
        self.assertIn("etl job no-such-etl", r.json()["message"])


@unittest.skipUnless(test_fs.fuse_available(), "FUSE or aisle-fs not available")
class MountTest(EtlTestBase):
    def test_transform_view_through_the_mount(self):
        b = self.bucket("view")
        files = {"train/cat/1.txt": b"meow", "train/dog/2.txt": b"woof woof"}
        for n, d in files.items():
            self.put(b, n, d)
        self.init({"name": "view-up", "runtime": "python3", "code": b64(UPPER_CODE)})
        m = test_fs.Mount(self.url).start()
        self.addCleanup(m.stop)
        self.assertIn("view-up", os.listdir(m.path(".etl")))
        for n, d in files.items():
            with open(m.path(".etl", "view-up", b, n), "rb") as f:
                self.assertEqual(f.read(), d.upper(), n)
        walked = sorted(os.path.relpath(os.path.join(r, f), m.path(".etl", "view-up", b))
                        for r, _, fs in os.walk(m.path(".etl", "view-up", b)) for f in fs)
        self.assertEqual(walked, sorted(files))
        with self.assertRaises(OSError):
            with open(m.path(".etl", "no-such-etl", b, "train/cat/1.txt"), "rb") as f:
                f.read()

    @unittest.skipUnless(os.path.exists("/usr/lib/python3/dist-packages/torchvision"),
                         "python3-torchvision not installed (packaging/install-deps.sh installs it)")
    def test_unmodified_imagefolder_over_a_transform_view(self):
        """examples/imagefolder/train.py (plain torchvision) over /.etl/resize/BUCKET/images."""
        b = self.bucket("imgs")
        local = os.path.join(self.tmp, "ds")
        subprocess.run([PY, os.path.join(tl.REPO, "tools", "gen-dataset.py"), local, "--images", "24",
                        "--classes", "3", "--size", "300"], check=True, capture_output=True)
        root = os.path.join(local, "images")
        for d, _, fs in os.walk(root):
            for f in fs:
                with open(os.path.join(d, f), "rb") as fh:
                    self.put(b, "images/" + os.path.relpath(os.path.join(d, f), root), fh.read())
        self.init({"name": "resize", "builtin": "image-resize", "args": "size=256,crop=224"})
        m = test_fs.Mount(self.url).start()
        self.addCleanup(m.stop)
        train = os.path.join(tl.REPO, "examples", "imagefolder", "train.py")

        def run(*args):
            p = subprocess.run([PY, train] + list(args), capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            line = [x for x in p.stdout.splitlines() if x.startswith("epoch 1:")][0]
            mean = float(line.split("mean pixel ")[1].split(",")[0])
            return line, mean

        view, view_mean = run(m.path(".etl", "resize", b, "images"))
        self.assertIn("24 images, 3 classes", view)
        self.assertIn("image shape (3, 224, 224)", view)
        ref, ref_mean = run(root, "--client-resize")
        self.assertIn("image shape (3, 224, 224)", ref)
        # Same images, resized on the targets (turbojpeg + our filter) or by PIL: close, not equal.
        self.assertAlmostEqual(view_mean, ref_mean, delta=0.02)


if __name__ == "__main__":
    unittest.main()
