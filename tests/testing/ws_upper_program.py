# A minimal stdlib WebSocket ETL program (ws://), used by tests/unit/etl_process_test.cc and
# tests/integration/test_etl.py. GET /health answers "ok"; on /ws each object comes as AIStore
# frames it: a binary JSON control frame ({"path": "bucket/object", "etl_args"}) and a binary
# frame (its bytes), and the reply is one
# binary frame: the bytes upper-cased, followed by "|bucket|object|args" unless --plain. The
# bytes "fail" get a text frame (an error), "hang" a 30 s sleep, "die" an exit. Writes
# pid.<pid> into its working directory.
import base64, hashlib, json, os, struct, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PLAIN = "--plain" in sys.argv[1:]  # just the upper-cased bytes, no request echo
with open("pid.%d" % os.getpid(), "w") as f:
    f.write(str(os.getpid()))

def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError()
    return b

def read_frame(f):
    """Returns (opcode, payload) of a whole message (continuations joined)."""
    data, opcode = b"", None
    while True:
        b0, b1 = read_exact(f, 2)
        op, fin = b0 & 0x0F, b0 & 0x80
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(f, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(f, 8))[0]
        mask = read_exact(f, 4) if b1 & 0x80 else b"\0\0\0\0"
        payload = bytearray(read_exact(f, n))
        for i in range(n):
            payload[i] ^= mask[i % 4]
        if op == 8:
            raise EOFError()
        if op in (9, 10):
            continue
        if op != 0:
            opcode = op
        data += bytes(payload)
        if fin:
            return opcode, data

def write_frame(f, opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
    f.write(head + payload)
    f.flush()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/health":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        if self.path != "/ws":
            self.send_error(404)
            return
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                op, meta = read_frame(self.rfile)
                assert op == 2, op
                ctrl = json.loads(meta)
                bucket, _, obj = ctrl["path"].partition("/")
                req = {"bucket": bucket, "object": obj, "args": ctrl.get("etl_args", "")}
                op, data = read_frame(self.rfile)
                assert op == 2, op
                if data == b"hang":
                    import time
                    time.sleep(30)
                if data == b"die":
                    os._exit(1)
                if data == b"fail":
                    write_frame(self.wfile, 1, b"cannot transform " + req["object"].encode())
                    continue
                out = data.upper()
                if not PLAIN:
                    out += ("|%s|%s|%s" % (req["bucket"], req["object"], req["args"])).encode()
                write_frame(self.wfile, 2, out)
        except EOFError:
            pass
        self.close_connection = True

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
