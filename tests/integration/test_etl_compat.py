"""AIStore ETL compatibility: each request is sent exactly as AIStore's Python SDK and its ETL
webservers send it (method, path, headers, JSON, binary WebSocket frames), against a real
primary proxy and three targets on loopback.

- init-code with communication io:// (AIStore's legacy runtime: the code is a program that
  reads the object on stdin and writes the result to stdout);
- Etl.init_class: ETL_CLASS_PAYLOAD made with python3-cloudpickle from an ETLServer subclass
  (the aistore package is not installed here: the SDK-shaped base classes below stand in for
  it when pickling, the runtime's stand-ins when loading);
- a ws:// ETL webserver written with python3-websockets that speaks AIStore's framing (binary
  JSON control frame, binary data frame; binary result or text error);
- 3-stage pipelines inline (etl_name + etl_pipeline) and offline (TCBMsg "pipeline"), and the
  SDK's dry run;
- bad messages: 4xx with the AIS error shape, nothing registered.
"""

import abc
import base64
import hashlib
import io
import os
import sys
import tarfile
import time
import types
import unittest

import cloudpickle
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402

PY = "/usr/bin/python3"

# The legacy io:// runtime's contract: the module calls its own function at import.
IO_LEGACY_CODE = """
import sys

def transform():
    data = sys.stdin.buffer.read()
    sys.stdout.buffer.write(data.upper())

transform()
"""

# An ETL webserver speaking AIStore's ws:// framing, as the SDK's FastAPIServer does:
# control = binary JSON {"path", "etl_args", "fqn", "pipeline"}, then the bytes (binary);
# the reply is the result (binary) or an error (text).
WS_SERVER = r"""
import asyncio, http, json, os
import websockets

async def handler(ws, path=None):
    async for ctrl in ws:
        assert isinstance(ctrl, bytes), "control frame must be binary"
        msg = json.loads(ctrl)
        data = await ws.recv()
        assert isinstance(data, bytes), "data frame must be binary"
        if data.startswith(b"fail"):
            await ws.send("Transform error: cannot reverse " + msg["path"])
            continue
        out = data[::-1]
        if msg.get("etl_args"):
            out += b"|" + msg["etl_args"].encode()
        await ws.send(out)

async def health(path, headers):
    if path == "/health":
        return http.HTTPStatus.OK, [], b"Running"
    return None

async def main():
    async with websockets.serve(handler, "127.0.0.1", int(os.environ["PORT"]),
                                process_request=health, max_size=None):
        await asyncio.Future()

asyncio.run(main())
"""


# --- SDK-shaped base classes (aistore.sdk.etl.webserver), so pickling references them by
# module path exactly as a class written against the real SDK does.
def _sdk_module(name):
    m = types.ModuleType(name)
    m.__path__ = []
    sys.modules[name] = m
    return m


for _name in ("aistore", "aistore.sdk", "aistore.sdk.etl", "aistore.sdk.etl.webserver"):
    _sdk_module(_name)
_base = _sdk_module("aistore.sdk.etl.webserver.base_etl_server")
_fastapi = _sdk_module("aistore.sdk.etl.webserver.fastapi_server")


class ETLServer(abc.ABC):
    def __init__(self):
        self.host_target = os.getenv("AIS_TARGET_URL")

    @abc.abstractmethod
    def transform(self, data, path, etl_args):
        pass


class FastAPIServer(ETLServer):
    def __init__(self, host="0.0.0.0", port=8000):
        super().__init__()
        self.host, self.port = host, port


ETLServer.__module__ = _base.__name__
FastAPIServer.__module__ = _fastapi.__name__
_base.ETLServer = ETLServer
_fastapi.FastAPIServer = FastAPIServer


# User classes (this module is __main__: cloudpickle pickles them by value).
class UpperServer(FastAPIServer):
    def __init__(self):
        super().__init__()
        self.sep = b"|"  # per-instance setup, as __init__ hooks do

    def transform(self, data, path, etl_args):
        out = data.upper()
        if etl_args:
            out += self.sep + path.encode() + self.sep + etl_args.encode()
        return out


class FailingServer(FastAPIServer):
    def transform(self, data, path, etl_args):
        raise ValueError("cannot handle " + path)


class Md5Server(FastAPIServer):
    def transform(self, data, path, etl_args):
        return hashlib.md5(data).hexdigest().encode()


def class_payload(cls):
    return base64.b64encode(cloudpickle.dumps(cls)).decode()


def init_class_msg(name, cls, comm="hpush://", **env):
    """Etl.init_class → Etl.init: the ETLSpecMsg as the SDK serializes it."""
    env_list = [{"name": "ETL_CLASS_PAYLOAD", "value": class_payload(cls)}]
    env_list += [{"name": k, "value": v} for k, v in env.items()]
    return {"name": name, "communication": comm, "init_timeout": "5m", "obj_timeout": "45s",
            "support_direct_put": True,
            "runtime": {"image": "aistorage/runtime_python:3.11", "env": env_list}}


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtlCompatTest(tl.EtlTestMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        cls.url = cls.c.url
        cls.tmp = tl.make_tmpdir("aisle-etlc-")
        os.chmod(cls.tmp, 0o755)  # the sandboxed ETL user reads the programs written here
        cls.s = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()
        tl.remove_tmpdir(cls.tmp)

    # --- requests as the SDK sends them (the rest: tl.EtlTestMixin) ---
    get = tl.EtlTestMixin.get_etl

    def refused(self, msg, *needles):
        """A bad init: 4xx, the AIS error shape, and nothing registered."""
        r = self.s.put(self.url + "/v1/etl", json=msg, timeout=300)
        self.assertGreaterEqual(r.status_code, 400, r.text)
        self.assertLess(r.status_code, 500, r.text)
        err = r.json()
        self.assertEqual(err["status"], r.status_code, err)
        for n in needles:
            self.assertIn(n, err["message"])
        names = [e["id"] for e in self.s.get(self.url + "/v1/etl", timeout=30).json()]
        self.assertNotIn(msg["name"], names)
        self.assertEqual(self.s.get(self.url + "/v1/etl/" + msg["name"], timeout=30).status_code,
                         404)
        return err

    # --- tests ---
    def test_io_legacy_init_code(self):
        b = self.bucket("io")
        big = os.urandom(1 << 19).hex().encode()  # 1 MiB of text
        self.put(b, "t.txt", b"hello legacy io")
        self.put(b, "big.txt", big)
        self.put(b, "empty.txt", b"")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for n, d in [("a/x.txt", b"member x"), ("a/y.txt", b"member y")]:
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        self.put(b, "shard.tar", buf.getvalue())
        # The legacy InitCodeMsg as the former SDK's init_code sent it.
        self.init({"name": "io-legacy", "communication": "io://", "runtime": "python3.11v2",
                   "code": b64(IO_LEGACY_CODE), "dependencies": "", "chunk_size": 0,
                   "funcs": {"transform": "transform"}, "init_timeout": "5m",
                   "obj_timeout": "45s"})
        r = self.get(b, "t.txt", etl="io-legacy")
        self.assertEqual((r.status_code, r.content), (200, b"HELLO LEGACY IO"))
        r = self.get(b, "big.txt", etl="io-legacy")
        self.assertEqual(r.status_code, 200, r.text[:200])
        self.assertEqual(r.content, big.upper())
        r = self.get(b, "empty.txt", etl="io-legacy")
        self.assertEqual((r.status_code, r.content), (200, b""))
        r = self.get(b, "shard.tar", etl="io-legacy", archpath="a/y.txt")
        self.assertEqual((r.status_code, r.content), (200, b"MEMBER Y"))
        # init-code runs under io://, hpush:// or hpull:// only.
        r = self.init({"name": "io-bad-comm", "communication": "ws://", "runtime": "python3",
                       "code": b64(IO_LEGACY_CODE)}, expect=400)
        self.assertIn("io://, hpush:// and hpull://", r.json()["message"])

    def test_init_class(self):
        b = self.bucket("cls")
        self.put(b, "o.txt", b"pickled class")
        self.init(init_class_msg("cls-upper", UpperServer, NUM_WORKERS="2"))
        r = self.get(b, "o.txt", etl="cls-upper")
        self.assertEqual((r.status_code, r.content), (200, b"PICKLED CLASS"))
        # etl_args as ETLConfig sends a dict (compact JSON); path = BUCKET/OBJECT.
        r = self.get(b, "o.txt", etl="cls-upper", args={"k": "v"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.content, b'PICKLED CLASS|%s/o.txt|{"k":"v"}' % b.encode())
        # The same class as ws:// (the communication type does not change how it runs).
        self.init(init_class_msg("cls-upper-ws", UpperServer, comm="ws://"))
        r = self.get(b, "o.txt", etl="cls-upper-ws", args="a")
        self.assertEqual(r.content, b"PICKLED CLASS|%s/o.txt|a" % b.encode())

        # A failing transform: an error per object with the exception, the ETL keeps serving.
        self.init(init_class_msg("cls-fail", FailingServer))
        r = self.get(b, "o.txt", etl="cls-fail")
        self.assertEqual(r.status_code, 500, r.text)
        self.assertIn("ValueError: cannot handle %s/o.txt" % b, r.json()["message"])
        r = self.get(b, "o.txt", etl="cls-fail")
        self.assertEqual(r.status_code, 500)

        # PACKAGES not installed: a clear 4xx naming the Debian package, nothing registered.
        self.refused(init_class_msg("cls-nopkg", UpperServer,
                                    PACKAGES="surely-missing-etl-pkg,cloudpickle"),
                     "python3-surely-missing-etl-pkg")
        self.refused(init_class_msg("cls-noos", UpperServer, OS_PACKAGES="surely-missing-osdeb"),
                     "surely-missing-osdeb")
        # Not a pickle / not base64 / not a class.
        msg = init_class_msg("cls-garbage", UpperServer)
        msg["runtime"]["env"][0]["value"] = "%%% not base64"
        self.refused(msg, "ETL_CLASS_PAYLOAD")
        msg["runtime"]["env"][0]["value"] = base64.b64encode(b"not a pickle").decode()
        self.refused(msg, "error loading the ETL class")
        msg["runtime"]["env"][0]["value"] = base64.b64encode(cloudpickle.dumps(42)).decode()
        self.refused(msg, "not a class")
        # An image without a class payload still needs a command.
        self.refused({"name": "cls-nothing", "communication": "hpush://",
                      "runtime": {"image": "aistorage/runtime_python:3.11"}}, "command")

    def test_ws_webserver_with_aistore_framing(self):
        b = self.bucket("ws")
        self.put(b, "w.bin", b"0123456789")
        big = os.urandom(3 << 20)
        self.put(b, "big.bin", big)
        self.put(b, "f.bin", b"fail me")
        server = self.write("ws_server.py", WS_SERVER)
        self.init({"name": "ws-rev", "communication": "ws://", "init_timeout": "1m",
                   "obj_timeout": "45s", "support_direct_put": False,
                   "runtime": {"image": "python:3", "command": [PY, server]}})
        r = self.get(b, "w.bin", etl="ws-rev")
        self.assertEqual((r.status_code, r.content), (200, b"9876543210"))
        r = self.get(b, "w.bin", etl="ws-rev", args="x=1")
        self.assertEqual(r.content, b"9876543210|x=1")
        r = self.get(b, "big.bin", etl="ws-rev")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, big[::-1])
        r = self.get(b, "f.bin", etl="ws-rev")
        self.assertEqual(r.status_code, 500)
        self.assertIn("Transform error: cannot reverse %s/f.bin" % b, r.json()["message"])
        r = self.get(b, "w.bin", etl="ws-rev")  # the connection survives an error reply
        self.assertEqual(r.content, b"9876543210")

    def test_pipelines_inline_offline_and_dry_run(self):
        src = self.bucket("pipe-src")
        names = ["p/%03d.txt" % i for i in range(60)]
        put_many(self.url, src, names, lambda n: ("data of " + n).encode())
        server = self.write("ws_server_p.py", WS_SERVER)
        self.init(init_class_msg("pl-upper", UpperServer))
        self.init({"name": "pl-rev", "communication": "ws://",
                   "runtime": {"image": "python:3", "command": [PY, server]}})
        self.init({"name": "pl-md5", "runtime": {"image": "aisle/builtin:md5"}})

        def expect(n):
            return hashlib.md5(("data of " + n).upper().encode()[::-1]).hexdigest().encode()

        # Inline: etl_name = the first stage, etl_pipeline = the rest (Etl >> Etl).
        r = self.get(src, names[0], etl="pl-upper", pipeline=["pl-rev", "pl-md5"])
        self.assertEqual((r.status_code, r.content), (200, expect(names[0])))
        r = self.get(src, names[0], etl="pl-upper", pipeline=["pl-rev", "no-such-etl"])
        self.assertEqual(r.status_code, 404, r.text)

        # Offline: TCBMsg {"id", "pipeline", "request_timeout"}.
        dst = "pipe-dst-%d" % (int(time.time() * 1000) % 10**9)
        r = self.transform_bucket(src, dst, "pl-upper", pipeline=["pl-rev", "pl-md5"],
                                  request_timeout="2m", prefix="p/")
        self.wait_job(r.text.strip())
        got = self.listing(dst)
        self.assertEqual(got, names)
        for n in names[:10]:
            rr = self.s.get("%s/v1/objects/%s/%s" % (self.url, dst, n), timeout=30)
            self.assertEqual((rr.status_code, rr.content), (200, expect(n)))

        # Dry run (the SDK's dry_run=True): every object transformed, nothing written.
        dry = "pipe-dry-%d" % (int(time.time() * 1000) % 10**9)
        r = self.transform_bucket(src, dry, "pl-upper", pipeline=["pl-md5"], dry_run=True)
        job = r.text.strip()
        self.wait_job(job)
        self.assertEqual(self.snap_stats(job), (len(names), len(names)))
        self.assertEqual(self.listing(dry), [])

        # Bad pipelines: 4xx with the AIS error shape, no job, no destination bucket.
        bad_dst = "pipe-bad-%d" % (int(time.time() * 1000) % 10**9)
        for pipeline, code, needle in [(["pl-rev", "no-such-etl"], 404, "no-such-etl"),
                                       ("pl-rev", 400, "pipeline"),
                                       ([""], 400, "pipeline")]:
            r = self.transform_bucket(src, bad_dst, "pl-upper", pipeline=pipeline, expect=code)
            self.assertEqual(r.json()["status"], code)
            self.assertIn(needle, r.json()["message"])
        r = self.transform_bucket(src, bad_dst, "pl-upper", request_timeout="soon", expect=400)
        self.assertIn("request_timeout", r.json()["message"])
        r = self.s.head(self.url + "/v1/buckets/" + bad_dst, timeout=30)
        self.assertEqual(r.status_code, 404)


if __name__ == "__main__":
    unittest.main()
