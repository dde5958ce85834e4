"""Helpers for Aisle integration tests: start/stop real `aisle-node` processes on loopback,
raw HTTP/1.1 over sockets (where `requests` would hide behaviour), XXH64, error-body checks.

Binary paths come from AISLE_NODE_BIN and AISLE_CLI_BIN (CTest sets both); without them the
default build tree locations (build/server/aisle-node, build/cli/aisle) are tried.
Every node started here is killed (SIGTERM, then SIGKILL) in tearDown/tearDownClass and at exit,
even when a test fails, and its temp directory is removed.
"""

import atexit
import ctypes
import ctypes.util
import faulthandler
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
READY_TIMEOUT = float(os.environ.get("AISLE_READY_TIMEOUT", "20"))
KEEP_TMP = os.environ.get("AISLE_KEEP_TMP") == "1"  # debugging aid: keep dirs and logs


def node_bin():
    return os.environ.get("AISLE_NODE_BIN") or os.path.join(REPO, "build", "server", "aisle-node")


def cli_bin():
    return os.environ.get("AISLE_CLI_BIN") or os.path.join(REPO, "build", "cli", "aisle")


# ------------------------------------------------------------------------------------------
# Process bookkeeping: everything we start is registered here and reaped at exit.

_live_lock = threading.RLock()
_live_procs = set()
_live_dirs = set()


def _kill_proc(proc, term_timeout=5.0):
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return proc.poll()
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    return proc.wait(timeout=10)


def _cleanup_all():
    with _live_lock:
        procs = list(_live_procs)
        dirs = list(_live_dirs)
        _live_procs.clear()
        _live_dirs.clear()
    for p in procs:
        try:
            _kill_proc(p, term_timeout=2.0)
        except Exception:
            pass
    if not KEEP_TMP:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    # os._exit: a SystemExit raised here would be swallowed by unittest as a test error
    # and the run would go on (e.g. after ctest's timeout SIGTERM).
    try:
        _cleanup_all()
    finally:
        os._exit(128 + signum)


try:  # `kill -USR1 <pid>` prints every thread's stack (debugging hung tests)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
except (AttributeError, ValueError, OSError):
    pass

for _sig in (signal.SIGTERM, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_signal)
    except (ValueError, OSError):
        pass


def free_port():
    """A loopback TCP port that was free a moment ago (for nodes started on a fixed port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_tmpdir(prefix="aisle-it-"):
    base = os.environ.get("AISLE_TEST_TMPDIR")
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    with _live_lock:
        _live_dirs.add(d)
    return d


def remove_tmpdir(d):
    with _live_lock:
        _live_dirs.discard(d)
    if not KEEP_TMP:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# Cluster secret: every node started here gets one by default (peer auth on, docs/SECURITY.md);
# Node(cluster_secret=None) starts one in the unauthenticated mode.

_secret = {}


def cluster_secret_file():
    """The suite's cluster secret file (created once per process, mode 0600)."""
    with _live_lock:
        if "path" not in _secret:
            d = make_tmpdir("aisle-secret-")
            path = os.path.join(d, "cluster.secret")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(32).hex().encode() + b"\n")
            os.close(fd)
            _secret["path"] = path
        return _secret["path"]


def cluster_secret():
    with open(cluster_secret_file(), "rb") as f:
        return f.read().rstrip(b"\r\n \t")


def intra_headers(method, target, sender, body=b"", ts=None, unsigned=False, secret=None):
    """Aisle-Intra headers of a node-to-node request from `sender` (a node ID in the cluster
    map), signed as the nodes sign: HMAC-SHA256 over method, target (path?query as sent),
    time, sender and the body's SHA-256 (or UNSIGNED-PAYLOAD)."""
    import hashlib
    import hmac
    if isinstance(body, str):
        body = body.encode()
    ts = int(time.time()) if ts is None else int(ts)
    digest = "UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body or b"").hexdigest()
    msg = "aisle-intra-v1\n%s\n%s\n%d\n%s\n%s" % (method, target, ts, sender, digest)
    key = cluster_secret() if secret is None else secret
    sig = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    return {"Aisle-Intra": sender, "Aisle-Intra-Time": str(ts), "Aisle-Intra-Body": digest,
            "Aisle-Intra-Sig": sig}


def intra_request(method, url, sender, data=b"", headers=None, unsigned=False, ts=None,
                  secret=None, timeout=30, **kw):
    """A `requests` call signed as node `sender` (intra_headers over the URL as sent)."""
    import requests
    if isinstance(data, str):
        data = data.encode()
    prep = requests.Request(method, url, data=data, headers=headers or {}, **kw).prepare()
    prep.headers.update(intra_headers(method, prep.path_url, sender, data, ts=ts,
                                      unsigned=unsigned, secret=secret))
    with requests.Session() as s:
        return s.send(prep, timeout=timeout)


class NodeStartError(RuntimeError):
    pass


class Node:
    """One `aisle-node --role target` process with its own temp dir and mountpaths.

    Node(n_mountpaths=1).start() -> url. restart() keeps the mountpaths (new ephemeral port).
    """

    def __init__(self, n_mountpaths=1, extra_args=(), workdir=None, cluster_secret=True):
        self.binary = node_bin()
        # True: the suite's secret; None: unauthenticated mode; else a secret file path.
        self.secret_file = cluster_secret_file() if cluster_secret is True else cluster_secret
        self.own_dir = workdir is None
        self.dir = workdir or make_tmpdir()
        self.mountpaths = []
        for i in range(n_mountpaths):
            mp = os.path.join(self.dir, "mp%d" % i)
            os.makedirs(mp, exist_ok=True)
            self.mountpaths.append(mp)
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None
        self.host = None
        self.port = None
        self.starts = 0
        self.log_path = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self, timeout=READY_TIMEOUT):
        if not os.path.exists(self.binary):
            raise NodeStartError("aisle-node binary not found: %s (set AISLE_NODE_BIN)" % self.binary)
        self.starts += 1
        ready = os.path.join(self.dir, "ready-%d" % self.starts)
        self.log_path = os.path.join(self.dir, "node-%d.log" % self.starts)
        args = self.build_args(ready)
        if self.secret_file and "--cluster-secret-file" not in args:
            args += ["--cluster-secret-file", self.secret_file]
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()
        with _live_lock:
            _live_procs.add(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            if os.path.exists(ready):
                with open(ready) as f:
                    url = f.read().strip()
                if url:
                    break
            if self.proc.poll() is not None:
                raise NodeStartError("aisle-node exited with %s before ready; log:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.kill9()
                raise NodeStartError("aisle-node not ready in %.0fs; log:\n%s" % (timeout, self.log_tail()))
            time.sleep(0.02)
        self.url = url
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        return url

    def build_args(self, ready):
        """The command line; subclasses (proxies) override it."""
        args = [self.binary, "--role", "target", "--port", "0", "--host", "127.0.0.1"]
        for mp in self.mountpaths:
            args += ["--mountpath", mp]
        return args + ["--ready-file", ready] + self.extra_args

    def _forget(self):
        with _live_lock:
            _live_procs.discard(self.proc)

    def stop(self, term_timeout=10.0):
        """SIGTERM, then SIGKILL after term_timeout. Returns the exit code."""
        if self.proc is None:
            return None
        rc = _kill_proc(self.proc, term_timeout)
        self._forget()
        return rc

    def kill9(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = self.proc.wait(timeout=10)
        self._forget()
        return rc

    def restart(self, timeout=READY_TIMEOUT):
        self.stop()
        return self.start(timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.stop(term_timeout=3.0)
        if self.own_dir:
            remove_tmpdir(self.dir)

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # --- convenience -------------------------------------------------------------------
    def obj_url(self, bucket, name, query=None):
        u = "%s/v1/objects/%s/%s" % (self.url, bucket, quote_name(name))
        if query:
            u += "?" + urllib.parse.urlencode(query)
        return u

    def obj_path(self, bucket, name):
        return "/v1/objects/%s/%s" % (bucket, quote_name(name))

    def bck_url(self, bucket=""):
        return "%s/v1/buckets/%s" % (self.url, bucket) if bucket else "%s/v1/buckets" % self.url

    def node_id(self):
        import requests
        r = requests.get(self.url + "/v1/daemon", params={"what": "snode"}, timeout=10)
        r.raise_for_status()
        return r.json()["daemon_id"]


def quote_name(name):
    """URL-escape an object name for the path, keeping '/' (as the Python SDK does)."""
    if isinstance(name, str):
        name = name.encode("utf-8")
    return urllib.parse.quote(name, safe="/")


# ------------------------------------------------------------------------------------------
# Test base classes.

class NodeTestCase(unittest.TestCase):
    """One node per test class (started in setUpClass, killed in tearDownClass)."""

    N_MOUNTPATHS = 1
    node = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = Node(n_mountpaths=cls.N_MOUNTPATHS)
        try:
            cls.node.start()
        except Exception:
            cls.node.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.node is not None:
            if not cls.node.alive():
                sys.stderr.write("\n[aisle-node died during %s]; log tail:\n%s\n"
                                 % (cls.__name__, cls.node.log_tail()))
            cls.node.cleanup()
        super().tearDownClass()

    _bucket_seq = 0

    def new_bucket_name(self, tag="b"):
        type(self)._bucket_seq += 1
        safe = re.sub(r"[^a-z0-9]", "", self._testMethodName.lower())[-30:]
        return "%s-%s-%d" % (tag, safe, type(self)._bucket_seq)

    def make_bucket(self, tag="b"):
        import requests
        b = self.new_bucket_name(tag)
        r = requests.post(self.node.bck_url(b), json={"action": "create-bck"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return b


# ------------------------------------------------------------------------------------------
# Raw HTTP/1.1 on a socket.

class RawResponse:
    def __init__(self, status, reason, headers, body, interim=()):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), original order
        self.body = body
        self.interim = list(interim)  # [(status, headers)] for 1xx responses

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return "RawResponse(%d %s, %r, body=%r)" % (self.status, self.reason, self.headers, self.body[:200])


class RawConn:
    """A keep-alive HTTP/1.1 connection where we write exact bytes and parse responses ourselves."""

    def __init__(self, host, port, timeout=15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.host = host
        self.port = port

    @classmethod
    def to(cls, node, timeout=15.0):
        return cls(node.host, node.port, timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def request_bytes(self, method, path, headers=None, body=None):
        h = [("Host", "%s:%d" % (self.host, self.port))]
        if body is not None:
            h.append(("Content-Length", str(len(body))))
        for k, v in (headers or {}).items() if isinstance(headers, dict) else (headers or []):
            h.append((k, v))
        out = "%s %s HTTP/1.1\r\n" % (method, path)
        out = out.encode("latin-1") if isinstance(path, str) else out
        head = "".join("%s: %s\r\n" % (k, v) for k, v in h).encode("latin-1") + b"\r\n"
        return out + head + (body or b"")

    def request(self, method, path, headers=None, body=None):
        if isinstance(path, bytes):
            path = path.decode("latin-1")
        self.send(self.request_bytes(method, path, headers, body))
        return self.read_response(head=(method == "HEAD"))

    # --- reading ---------------------------------------------------------------------------
    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _readline(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _readn(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        line = self._readline()
        m = re.match(rb"HTTP/1\.[01] (\d{3})(?: (.*))?$", line)
        if not m:
            raise ValueError("bad status line %r" % line)
        status = int(m.group(1))
        reason = (m.group(2) or b"").decode("latin-1")
        headers = []
        while True:
            line = self._readline()
            if line == b"":
                break
            k, _, v = line.partition(b":")
            headers.append((k.decode("latin-1").strip(), v.decode("latin-1").strip()))
        return status, reason, headers

    def read_response(self, head=False, allow_interim=True):
        interim = []
        while True:
            status, reason, headers = self.read_head()
            if 100 <= status < 200 and allow_interim:
                interim.append((status, headers))
                continue
            break
        resp = RawResponse(status, reason, headers, b"", interim)
        return self.read_body(resp, head)

    def read_body(self, resp, head=False):
        """Reads the body of a response whose head was already parsed (see read_head)."""
        status = resp.status
        if head or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size_line = self._readline()
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self._readline() != b"":
                        pass
                    break
                body += self._readn(size)
                if self._readn(2) != b"\r\n":
                    raise ValueError("bad chunk terminator")
            resp.body = body
        elif resp.get("Content-Length") is not None:
            resp.body = self._readn(int(resp.get("Content-Length")))
        else:
            # read until close
            try:
                while True:
                    self._fill()
            except ConnectionError:
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def closed_by_peer(self, wait=1.0):
        """True if the server closed the connection (EOF) within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1)
            return data == b""
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True


def raw_request(node, method, path, headers=None, body=None, timeout=15.0):
    with RawConn.to(node, timeout) as c:
        hs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if not any(k.lower() == "connection" for k, _ in hs):
            hs.append(("Connection", "close"))
        return c.request(method, path, hs, body)


# ------------------------------------------------------------------------------------------
# XXH64 (seed 0): libxxhash via ctypes, pure-Python fallback.

_xxh = None
try:
    _name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
    _xxh = ctypes.CDLL(_name)
    _xxh.XXH64.restype = ctypes.c_uint64
    _xxh.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
except OSError:
    _xxh = None

_P1, _P2, _P3, _P4, _P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                           9650029242287828579, 2870177450012600261)
_M = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    acc = (acc + lane * _P2) & _M
    return (_rotl(acc, 31) * _P1) & _M


def _merge(acc, val):
    acc ^= _round(0, val)
    return (acc * _P1 + _P4) & _M


def xxh64_py(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed & _M
        v4 = (seed - _P1) & _M
        while i + 32 <= n:
            l1, l2, l3, l4 = (int.from_bytes(data[i + k:i + k + 8], "little") for k in (0, 8, 16, 24))
            v1, v2, v3, v4 = _round(v1, l1), _round(v2, l2), _round(v3, l3), _round(v4, l4)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M
        h = (_rotl(h, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M
        h = (_rotl(h, 11) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h


def xxh64(data, seed=0):
    data = bytes(data)
    if _xxh is not None:
        return _xxh.XXH64(data, len(data), seed)
    return xxh64_py(data, seed)


def xxh64_hex(data):
    """AIStore's "xxhash" checksum value: 16 lowercase hex digits, big-endian."""
    return "%016x" % xxh64(data)


assert xxh64_py(b"") == 0xef46db3751d8e999
assert xxh64(b"") == 0xef46db3751d8e999


# ------------------------------------------------------------------------------------------
# Error body checks.

ERROR_KEYS = {"message", "method", "url_path", "remote_addr", "caller", "node", "status"}
OPTIONAL_ERROR_KEYS = {"tcode"}


class ErrorAsserts:
    """Mixin for unittest.TestCase: shape checks for Aisle/AIStore JSON errors."""

    def check_error_json(self, text, status, method=None, url_path=None, node_id=None, where=""):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.assertFalse(text.endswith("\n"), "error JSON has a trailing newline%s: %r" % (where, text))
        try:
            err = json.loads(text)
        except ValueError:
            self.fail("error body is not JSON%s: %r" % (where, text))
        self.assertIsInstance(err, dict)
        keys = set(err)
        self.assertTrue(ERROR_KEYS <= keys, "missing error keys %s%s: %r" % (ERROR_KEYS - keys, where, err))
        self.assertTrue(keys <= ERROR_KEYS | OPTIONAL_ERROR_KEYS,
                        "unexpected error keys %s%s" % (keys - ERROR_KEYS - OPTIONAL_ERROR_KEYS, where))
        self.assertEqual(err["status"], status, where)
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], "empty error message" + where)
        if method:
            self.assertEqual(err["method"], method, where)
        if url_path is not None:
            self.assertEqual(err["url_path"], url_path, where)
        self.assertRegex(err["remote_addr"], r"^127\.0\.0\.1:\d+$", where)
        self.assertIsInstance(err["caller"], str)
        if node_id:
            self.assertEqual(err["node"], "t[%s]" % node_id, where)
        else:
            self.assertRegex(err["node"], r"^t\[[A-Za-z][A-Za-z0-9_-]*\]$", where)
        return err

    def check_error_response(self, resp, status, method=None, url_path=None, node_id=None):
        """resp: requests.Response or RawResponse."""
        code = getattr(resp, "status_code", None) or resp.status
        body = resp.content if hasattr(resp, "content") else resp.body
        hget = resp.headers.get if hasattr(resp, "status_code") else resp.get
        where = " (%s %s -> %s)" % (method, url_path, code)
        self.assertEqual(code, status, "status%s body=%r" % (where, body[:300]))
        if method == "HEAD":
            self.assertEqual(body, b"", "HEAD error must have an empty body" + where)
            hdr = hget("Hdr-Error")
            self.assertIsNotNone(hdr, "HEAD error without Hdr-Error header" + where)
            return self.check_error_json(hdr, status, method, url_path, node_id, where)
        ctype = hget("Content-Type") or ""
        self.assertEqual(ctype.split(";")[0].strip(), "application/json", where)
        return self.check_error_json(body, status, method, url_path, node_id, where)


class EtlTestMixin:
    """Requests the ETL tests send as AIStore's SDK does, shared by test_etl, test_etl_compat
    and test_etl_direct_put. The test class provides `s` (a requests.Session), `url` (the
    proxy) and `tmp` (a directory the sandboxed ETL user can read)."""

    def init(self, msg, expect=200):
        """PUT /v1/etl; a registered ETL is deleted when the test ends."""
        r = self.s.put(self.url + "/v1/etl", json=msg, timeout=300)
        self.assertEqual(r.status_code, expect, r.text)
        if expect == 200:
            self.addCleanup(lambda: self.s.delete(self.url + "/v1/etl/" + msg["name"], timeout=30))
        return r

    def bucket(self, tag):
        name = "%s-%d" % (tag, int(time.time() * 1000) % 10**9)
        r = self.s.post(self.url + "/v1/buckets/" + name, json={"action": "create-bck"}, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        return name

    def put(self, bucket, name, data):
        r = self.s.put("%s/v1/objects/%s/%s" % (self.url, bucket, name), data=data, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)

    @staticmethod
    def write_file(directory, name, text):
        p = os.path.join(directory, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def write(self, name, text):
        return self.write_file(self.tmp, name, text)

    def get_etl(self, bucket, name, etl=None, args=None, pipeline=None, **q):
        """GET through ETLs as ETLConfig.update_qparams sends it: etl_name, etl_pipeline (the
        other stages, comma-joined), etl_args (a dict as compact JSON)."""
        params = dict(q)
        if etl:
            params["etl_name"] = etl
        if pipeline:
            params["etl_pipeline"] = ",".join(pipeline)
        if args is not None:
            params["etl_args"] = args if isinstance(args, str) else json.dumps(
                args, separators=(",", ":"))
        return self.s.get("%s/v1/objects/%s/%s" % (self.url, bucket, name), params=params,
                          timeout=120)

    def transform_bucket(self, src, dst, etl, pipeline=None, expect=200, **extra):
        """Bucket.transform: POST /v1/buckets/SRC?bck_to=ais/@#/DST/ {"action":"etl-bck"}."""
        value = {"id": etl, "request_timeout": "", "prepend": "", "ext": None, "dry_run": False,
                 "force": False, "latest-ver": False, "synchronize": False}
        if pipeline:
            value["pipeline"] = pipeline
        value.update(extra)
        r = self.s.post(self.url + "/v1/buckets/" + src,
                        params={"bck_to": "ais/@#/%s/" % dst, "provider": "ais"},
                        json={"action": "etl-bck", "name": src, "value": value}, timeout=60)
        self.assertEqual(r.status_code, expect, r.text)
        return r

    def listrange(self, src, dst, value, action="etl-listrange"):
        """TCMultiObj.as_dict(): the selection and TCBMsg fields, "tobck", "coer"; the job id."""
        v = {"prefix": "", "prepend": "", "dry_run": False, "force": False, "latest-ver": False,
             "synchronize": False, "coer": False, "tobck": {"name": dst, "provider": "ais"}}
        v.update(value)
        r = self.s.post(self.url + "/v1/buckets/" + src, json={"action": action, "value": v},
                        timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        return r.text.strip()

    def wait_job(self, job_id, timeout=300, allow_err=False):
        """Polls what=status until the job ends; its status (err must be empty unless
        allow_err)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.s.get(self.url + "/v1/cluster", params={"what": "status"},
                           json={"id": job_id}, timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            st = r.json()
            if st["end_time"]:
                if not allow_err:
                    self.assertEqual(st["err"], "", st)
                return st
            time.sleep(0.2)
        self.fail("job %s did not finish" % job_id)

    def snap_stats(self, job_id):
        """(objects read, objects written) over every target's Snap."""
        r = self.s.get(self.url + "/v1/cluster", params={"what": "qryxstats"},
                       json={"id": job_id}, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        objs = out = 0
        for snaps in r.json().values():
            for sn in snaps or []:
                objs += int(sn["stats"]["loc-objs"])
                out += int(sn["stats"]["out-objs"])
        return objs, out

    def listing(self, bucket):
        r = self.s.get(self.url + "/v1/buckets/" + bucket, json={"action": "list", "value": {}},
                       timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        return sorted(e["name"] for e in r.json()["entries"] or [])


def main():
    # unittest.main exits non-zero when anything fails or errors.
    unittest.main(verbosity=2)


# ------------------------------------------------------------------------------------------
# AIStore's HRW placement, computed independently of the server (as AIStore's Python SDK does:
# utils.get_digest / xoshiro256_hash), for placement checks and direct-to-owner clients.

HRW_SEED = 1103515245
_M64 = (1 << 64) - 1


def xoshiro_mix(s):
    z = (s + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 31)) + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 31)) * 5) & _M64
    z = ((z << 7) | (z >> 57)) & _M64
    return (z * 9) & _M64


def hrw_owner(target_ids, bucket, obj):
    """The target ID that owns ais://bucket/obj among target_ids."""
    digest = xxh64(("ais/@#/%s/%s" % (bucket, obj)).encode(), HRW_SEED)
    return max(target_ids, key=lambda tid: xoshiro_mix(xxh64(tid.encode(), HRW_SEED) ^ digest))
