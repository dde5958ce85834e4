#!/usr/bin/python3
"""Aisle ETL Python runtime: serves one user transform function over stdin/stdout.

The target starts one runtime process per worker, in the ETL's work dir (paths are relative
to it: inside the sandbox the absolute path of the work dir is not reachable):

    python3 -B -s -c "<read and exec aisle_etl_runtime.py>" --code transform_code.py \
        --func transform [--requirements requirements.txt]
    python3 ... --class-payload etl_class_payload.b64 [--requirements requirements.txt]

The second form serves the SDK's Etl.init_class: the file holds ETL_CLASS_PAYLOAD, base64 of
a (cloud)pickled subclass of aistore's ETLServer; it is unpickled (cloudpickle, Debian's
python3-cloudpickle), instantiated once per worker, and its transform(data, path, etl_args)
is called per object. Where the aistore package is not importable, compatible base classes
(ETLServer, FastAPIServer, FlaskServer, HTTPMultiThreadedServer under the SDK's module
paths) are provided so the pickled class loads; they never start a web server.

Frame protocol (binary, all integers big-endian), on the process's original stdin/stdout:

  ready frame   (runtime -> target, once, after loading the code)
                  u8 status (0 = ready, 1 = failed) | u64 length | payload
                  payload: b"ready", or the error text (missing module, syntax error, ...)
  request       (target -> runtime, one per object)
                  u32 path length | path (UTF-8 "BUCKET/OBJECT")
                  u32 args length | args (UTF-8 etl_args, may be empty)
                  u64 data length | data (the object's bytes)
  response      (runtime -> target, one per request)
                  u8 status (0 = ok, 1 = error) | u64 length | payload
                  payload: the transformed bytes, or a short reason ("ValueError: bad
                  input"); the traceback goes to stderr (the ETL's logs), never to clients

EOF on stdin ends the runtime with exit code 0. The user's transform is
`transform(data: bytes) -> bytes`, or `transform(data: bytes, args: str) -> bytes` when it
takes two parameters; returning str encodes it as UTF-8, None is an empty result.

Streaming form: a transform written as a generator function,
`def transform(chunks, args=""): for c in chunks: yield f(c)`, receives the object as an
iterator of byte chunks (at most 1 MiB each) and yields its output in pieces, so it never
needs the whole object as one Python value (the target still frames whole objects).

User output cannot corrupt the frames: the real stdout is dup()ed for frames, fd 1 and
sys.stdout then point at stderr (which the target collects into the ETL's logs), and
stdin is replaced with /dev/null.

Only the Python standard library is used; dependencies are never installed, only checked.
"""

import argparse
import importlib.util
import inspect
import os
import re
import struct
import sys
import traceback
import types

# Requirement name (lower case, '_' -> '-') -> (module to import, Debian package).
KNOWN_PACKAGES = {
    "pillow": ("PIL", "python3-pil"),
    "pyyaml": ("yaml", "python3-yaml"),
    "scikit-learn": ("sklearn", "python3-sklearn"),
    "scikit-image": ("skimage", "python3-skimage"),
    "opencv-python": ("cv2", "python3-opencv"),
    "opencv-python-headless": ("cv2", "python3-opencv"),
    "beautifulsoup4": ("bs4", "python3-bs4"),
    "python-dateutil": ("dateutil", "python3-dateutil"),
    "protobuf": ("google.protobuf", "python3-protobuf"),
    "msgpack-python": ("msgpack", "python3-msgpack"),
    "pycryptodome": ("Crypto", "python3-pycryptodome"),
    "torch": ("torch", "python3-torch"),
    "attrs": ("attr", "python3-attr"),
    "typing-extensions": ("typing_extensions", "python3-typing-extensions"),
}

STREAM_CHUNK = 1 << 20
TAIL_CHARS = 4000
BIG_REQUEST = 64 << 20


def parse_requirements(text):
    """Yields (requirement name, module, Debian package) for each requirement line."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if not m:
            continue
        name = m.group(0)
        key = name.lower().replace("_", "-")
        if key in KNOWN_PACKAGES:
            module, deb = KNOWN_PACKAGES[key]
        else:
            module = name.replace("-", "_")
            deb = "python3-" + key.replace(".", "-")
            if deb.startswith("python3-python-"):
                deb = "python3-" + deb[len("python3-python-"):]
        yield name, module, deb


def module_available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_requirements(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    missing = []
    for name, module, deb in parse_requirements(text):
        if module_available(module):
            continue
        what = "Python module '%s'" % module
        if module.lower() != name.lower().replace("-", "_"):
            what += " (requirement '%s')" % name
        missing.append("%s is not installed (install Debian package %s)" % (what, deb))
    return "; ".join(missing) if missing else None


def short_reason():
    """The current exception as one line, "ValueError: bad input", for the client; the full
    traceback (with file paths) is written to stderr, the ETL's logs."""
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()
    etype, value = sys.exc_info()[:2]
    name = etype.__name__ if etype else "Error"
    text = str(value).strip() if value is not None else ""
    if isinstance(value, SyntaxError) and value.lineno:
        text = "%s (line %d)" % (value.msg, value.lineno)
    text = text.splitlines()[0] if text else ""
    reason = name + (": " + text if text else "")
    return reason[:TAIL_CHARS]


def release_memory():
    """Gives the memory of a big request back to the system, so an idle worker does not keep
    it: the bytes themselves are mmap()ed and freed at once; trim what malloc keeps."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) != n:
        return None
    return data


def write_frame(f, status, payload):
    f.write(struct.pack(">BQ", status, len(payload)))
    f.write(payload)
    f.flush()


def positional_arity(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


def load_transform(code_path, func_name):
    # Relative to the cwd (the ETL's work dir): its absolute path is not reachable from inside
    # the sandbox, and error messages then name no server paths.
    code_dir = os.path.dirname(code_path) or "."
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    # importlib would make the path absolute: compile the file as read instead.
    with open(code_path, "rb") as f:
        source = f.read()
    module = types.ModuleType("transform_code")
    module.__file__ = code_path
    sys.modules["transform_code"] = module
    exec(compile(source, os.path.basename(code_path), "exec"), module.__dict__)
    fn = getattr(module, func_name, None)
    if fn is None:
        raise LookupError("the code defines no function '%s'" % func_name)
    if not callable(fn):
        raise TypeError("'%s' in the code is not callable" % func_name)
    return fn


SDK_WEBSERVER = "aistore.sdk.etl.webserver"


def install_sdk_compat():
    """Registers minimal stand-ins for the aistore SDK's ETL server classes (when the real
    package is not importable), so a pickled subclass finds its bases. Only what a transform
    may use is there: host_target, logger, direct_put/direct_fqn flags, get_mime_type()."""
    if module_available("aistore"):
        return
    import abc
    import logging

    def module(name):
        m = types.ModuleType(name)
        m.__path__ = []  # a package, so submodules import
        sys.modules[name] = m
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, m)
        return m

    for name in ("aistore", "aistore.sdk", "aistore.sdk.etl", SDK_WEBSERVER):
        module(name)

    class ETLServer(abc.ABC):
        def __init__(self, *args, **kwargs):
            self.host_target = os.getenv("AIS_TARGET_URL", "")
            self.direct_put = os.getenv("DIRECT_PUT", "false").lower() == "true"
            self.direct_fqn = False  # objects always come as bytes
            self.logger = logging.getLogger(self.__class__.__name__)
            if not logging.getLogger().handlers:
                logging.basicConfig(level=logging.INFO, stream=sys.stderr)

        @abc.abstractmethod
        def transform(self, data, path, etl_args):
            """Transforms one object's bytes."""

        def get_mime_type(self):
            return "application/octet-stream"

        def sanitize_fqn(self, fqn):
            from urllib.parse import unquote
            return os.path.normpath(os.path.join("/", unquote(fqn).lstrip("/")))

        def start(self):
            raise RuntimeError("Aisle runs the transform itself: start() is not used")

    def server_class(name):
        def init(self, host="0.0.0.0", port=8000, *args, **kwargs):
            ETLServer.__init__(self)
            self.host, self.port = host, port
        return type(name, (ETLServer,), {"__init__": init})

    base = module(SDK_WEBSERVER + ".base_etl_server")
    ETLServer.__module__ = base.__name__
    base.ETLServer = ETLServer
    for mod, cls in (("fastapi_server", "FastAPIServer"), ("flask_server", "FlaskServer"),
                     ("http_multi_threaded_server", "HTTPMultiThreadedServer")):
        m = module(SDK_WEBSERVER + "." + mod)
        c = server_class(cls)
        c.__module__ = m.__name__
        setattr(m, cls, c)


def load_class_transform(payload_path):
    """The init_class form: unpickles the ETLServer subclass and returns a bound
    transform(data, path, etl_args) of one instance."""
    import base64
    import binascii
    with open(payload_path, "rb") as f:
        text = f.read().strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("ETL_CLASS_PAYLOAD is not valid base64")
    install_sdk_compat()
    try:
        import cloudpickle  # the reconstructors of classes pickled by value live here
    except ImportError:
        raise LookupError("Python module 'cloudpickle' is not installed (install Debian "
                          "package python3-cloudpickle)")
    cls = cloudpickle.loads(raw)
    if not isinstance(cls, type) or not callable(getattr(cls, "transform", None)):
        raise TypeError("ETL_CLASS_PAYLOAD is not a class with a transform() method")
    return cls().transform


def to_bytes(result):
    if result is None:
        return b""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8")
    raise TypeError("transform returned %s, expected bytes" % type(result).__name__)


def chunks_of(data):
    """The streaming form's input: the object in pieces of at most STREAM_CHUNK bytes."""
    view = memoryview(data)
    for i in range(0, len(view), STREAM_CHUNK):
        yield bytes(view[i:i + STREAM_CHUNK])


def main():
    parser = argparse.ArgumentParser(description="Aisle ETL Python runtime")
    parser.add_argument("--code", default="")
    parser.add_argument("--class-payload", default="")
    parser.add_argument("--func", default="transform")
    parser.add_argument("--requirements", default="")
    opts = parser.parse_args()

    # Keep the real stdin/stdout for frames; user output goes to stderr.
    frames_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    frames_out = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, "r")

    missing = check_requirements(opts.requirements)
    if missing:
        write_frame(frames_out, 1, missing.encode("utf-8", "replace"))
        return 1
    with_path = bool(opts.class_payload)
    try:
        if with_path:
            fn = load_class_transform(opts.class_payload)
        else:
            fn = load_transform(opts.code, opts.func or "transform")
    except BaseException:  # noqa: B036 - SystemExit in user code is a load error too
        what = "the ETL class" if with_path else "the transform code"
        write_frame(frames_out, 1,
                    ("error loading %s: %s" % (what, short_reason())).encode(
                        "utf-8", "replace"))
        return 1
    with_args = with_path or positional_arity(fn) >= 2
    streaming = not with_path and inspect.isgeneratorfunction(fn)
    write_frame(frames_out, 0, b"ready")

    while True:
        head = read_exact(frames_in, 4)
        if head is None:
            return 0
        (path_len,) = struct.unpack(">I", head)
        path = read_exact(frames_in, path_len) if path_len else b""
        head = read_exact(frames_in, 4)
        if path is None or head is None:
            return 0
        (args_len,) = struct.unpack(">I", head)
        args = read_exact(frames_in, args_len) if args_len else b""
        size_raw = read_exact(frames_in, 8)
        if args is None or size_raw is None:
            return 0
        (size,) = struct.unpack(">Q", size_raw)
        data = read_exact(frames_in, size) if size else b""
        if data is None:
            return 0
        try:
            arg_list = [args.decode("utf-8", "replace")] if with_args else []
            if with_path:
                arg_list.insert(0, path.decode("utf-8", "replace"))
            if streaming:
                payload = b"".join(to_bytes(c) for c in fn(chunks_of(data), *arg_list))
            else:
                payload = to_bytes(fn(data, *arg_list))
            status = 0
        except BaseException:  # noqa: B036 - report even SystemExit, keep serving
            payload = short_reason().encode("utf-8", "replace")
            status = 1
        sys.stderr.flush()
        big = len(data) + len(payload) >= BIG_REQUEST
        write_frame(frames_out, status, payload)
        del data, payload
        if big:
            release_memory()


if __name__ == "__main__":
    sys.exit(main())
