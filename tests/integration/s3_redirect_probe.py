"""Which S3 clients follow a 307 for object PUT/GET? (input for the proxy's relay default)

Starts a real aisle-node (with S3 keys) and, in front of it, a tiny loopback "proxy" that
answers object requests (/s3/BUCKET/KEY) with 307 + Location + XML TemporaryRedirect body
(as an AIStore proxy does) and relays bucket-level requests itself. Each client then PUTs
and GETs one object through the probe; the node's own view says whether the PUT landed.

Usage: AISLE_NODE_BIN=build-s3/server/aisle-node /usr/bin/python3 s3_redirect_probe.py
Prints a table; exits 0. Loopback only.
"""

import http.server
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import requests  # noqa: E402
import test_s3 as t  # noqa: E402


# PROBE_ANON=1: node without keys (no signatures to break); PROBE_ENDPOINT_S3=1: the XML
# <Endpoint> carries "/s3" (AIStore's S3-Redirect-Rebuild shape) for clients that use it.
ANON = os.environ.get("PROBE_ANON") == "1"
ENDPOINT_SUFFIX = "/s3" if os.environ.get("PROBE_ENDPOINT_S3") == "1" else ""


def make_probe(node_url):
    class Probe(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        redirects = []

        def log_message(self, *a):
            pass

        def handle_any(self):
            path = self.path.split("?")[0]
            parts = [p for p in path.split("/") if p]
            if len(parts) >= 3 and parts[0] == "s3":  # object request: redirect, body unread
                loc = node_url + self.path
                Probe.redirects.append((self.command, path))
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>TemporaryRedirect"
                        "</Code><Message>Redirect</Message><Endpoint>%s</Endpoint><Bucket>%s"
                        "</Bucket></Error>" % (node_url[7:] + ENDPOINT_SUFFIX, parts[1])).encode()
                self.send_response(307)
                self.send_header("Location", loc)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True
                return
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else b""
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length",)}
            r = requests.request(self.command, node_url + self.path, data=data, headers=hdrs,
                                 allow_redirects=False, timeout=30)
            self.send_response(r.status_code)
            for k, v in r.headers.items():
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(r.content)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Probe)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, Probe


def main():
    s3 = t.S3Node(keys=not ANON)
    print("keys: %s, Endpoint suffix: %r" % (not ANON, ENDPOINT_SUFFIX))
    srv, probe = make_probe(s3.url)
    purl = "http://127.0.0.1:%d" % srv.server_address[1]
    direct = s3.endpoint
    b = "probe"
    s3.aws("s3", "mb", "s3://" + b)
    data = os.urandom(100_000)
    s3.write("src", data)
    s3.aws("s3", "cp", "src", "s3://%s/seed" % b)
    results = []

    def stored(key):
        r = requests.get("%s/v1/objects/%s/%s" % (s3.url, b, key), timeout=10)
        return r.status_code == 200 and r.content == data

    def same(name):
        path = os.path.join(s3.home, name)
        return os.path.exists(path) and s3.read(name) == data

    def record(client, put_ok, get_ok, note=""):
        results.append((client, put_ok, get_ok, note))

    # awscli
    s3.endpoint = purl + "/s3"
    rc, _, err = s3.aws("s3", "cp", "src", "s3://%s/awscli" % b, check=False)
    put_ok = stored("awscli")
    rc2, _, err2 = s3.aws("s3", "cp", "s3://%s/seed" % b, "got-awscli", check=False)
    get_ok = rc2 == 0 and same("got-awscli")
    record("awscli", put_ok, get_ok, (err.strip().splitlines() or [""])[-1][:100] if not put_ok else "")
    # boto3
    import boto3
    from botocore.config import Config
    c = boto3.client("s3", endpoint_url=purl + "/s3", aws_access_key_id=t.AK,
                     aws_secret_access_key=t.SK, region_name=t.REGION,
                     config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    note = ""
    try:
        c.put_object(Bucket=b, Key="boto3", Body=data)
    except Exception as e:  # noqa: BLE001
        note = str(e)[:100]
    put_ok = stored("boto3")
    try:
        get_ok = c.get_object(Bucket=b, Key="seed")["Body"].read() == data
    except Exception as e:  # noqa: BLE001
        get_ok, note = False, note or str(e)[:100]
    record("boto3", put_ok, get_ok, note)
    # s3cmd
    hp = purl[7:]
    cfg = s3.write("s3cfg-probe", ("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s/s3\n"
                                   "host_bucket = %s/s3\nuse_https = False\nsignature_v2 = False\n"
                                   % (t.AK, t.SK, hp, hp)).encode())
    rc, out, err = s3.run(["s3cmd", "-c", cfg, "put", "src", "s3://%s/s3cmd" % b], check=False)
    put_ok = stored("s3cmd")
    rc2, _, err2 = s3.run(["s3cmd", "-c", cfg, "get", "--force", "s3://%s/seed" % b, "got-s3cmd"], check=False)
    get_ok = rc2 == 0 and same("got-s3cmd")
    record("s3cmd", put_ok, get_ok, (err + err2).strip().replace("\n", " ")[:100])
    # rclone
    conf = s3.write("rclone-probe.conf", ("[p]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                                          "secret_access_key = %s\nendpoint = %s/s3\n"
                                          "force_path_style = true\nregion = us-east-1\n"
                                          % (t.AK, t.SK, purl)).encode())
    rc, out, err = s3.run(["rclone", "--config", conf, "--retries", "1", "--low-level-retries", "1",
                           "copyto", "src", "p:%s/rclone" % b], check=False, timeout=60)
    put_ok = stored("rclone")
    rc2, out2, err2 = s3.run(["rclone", "--config", conf, "--retries", "1", "--low-level-retries", "1",
                              "copyto", "p:%s/seed" % b, "got-rclone"], check=False, timeout=60)
    get_ok = rc2 == 0 and same("got-rclone")
    record("rclone", put_ok, get_ok, (err + err2).strip().splitlines()[-1][:100] if (err + err2).strip() else "")
    # s3fs
    pw = s3.write("pw", ("%s:%s" % (t.AK, t.SK)).encode())
    os.chmod(pw, 0o600)
    mnt = os.path.join(s3.home, "mnt")
    os.makedirs(mnt, exist_ok=True)
    put_ok = get_ok = False
    note = ""
    rc, _, err = s3.run(["s3fs", b, mnt, "-o", "url=%s/s3" % purl, "-o", "use_path_request_style",
                         "-o", "passwd_file=" + pw, "-o", "dbglevel=warn", "-o",
                         "logfile=" + os.path.join(s3.home, "s3fs.log")], check=False)
    try:
        for _ in range(50):
            if os.path.ismount(mnt):
                break
            time.sleep(0.1)
        try:
            with open(os.path.join(mnt, "seed"), "rb") as f:
                get_ok = f.read() == data
        except OSError as e:
            note = "read: " + str(e)
        try:
            with open(os.path.join(mnt, "s3fs"), "wb") as f:
                f.write(data)
        except OSError as e:
            note += " write: " + str(e)
    finally:
        subprocess.run(["fusermount3", "-u", mnt], timeout=30)
    put_ok = stored("s3fs")
    record("s3fs", put_ok, get_ok, note[:100])

    print("\n| client | PUT via 307 | GET via 307 | note |\n|---|---|---|---|")
    for client, p, g, n in results:
        print("| %s | %s | %s | %s |" % (client, "follows" if p else "NO", "follows" if g else "NO", n))
    print("\nredirects answered: %d" % len(probe.redirects))
    srv.shutdown()
    s3.cleanup()


if __name__ == "__main__":
    main()
