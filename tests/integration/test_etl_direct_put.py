"""AIStore's ETL webserver protocol beyond the transform itself, against a real primary proxy
and three targets on loopback:

- `Ais-Node-Url`: hpush programs that declare `support_direct_put` (as the SDK's webservers
  do) get the next pipeline stages' URLs in that header and forward their result themselves;
  offline, the last one puts the result straight at the destination's owner target
  (`PUT /v1/etl/_object/TOKEN/BUCKET/OBJECT`, 204 + `Ais-Direct-Put-Length` back);
- a program without `support_direct_put` never sees the header (the target chains it);
- `etl_args` in the hpush query, `etl_fqn` never sent;
- `pipeline` inside etl-listrange;
- TCBMsg `request_timeout` interrupting a hung stage (continue-on-error: that object fails,
  the others are written, the node stays up);
- `latest-ver` / `synchronize` on ais:// buckets (accepted, no effect) and `synchronize` with
  `prepend` (400, as AIStore).

The webserver below is written with the standard library only and behaves like the SDK's
HTTPMultiThreadedServer (python/aistore/sdk/etl/webserver): PUT /BUCKET/OBJECT, transform,
then either answer with the result or, with Ais-Node-Url, PUT it to the first URL (a stage's
base URL gets the object path appended; a URL with a path is the destination target's,
AIS_TARGET_URL's path prepended) with the rest of the list, and answer 204.
"""

import hashlib
import json
import os
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
from test_cluster import Cluster, put_many  # noqa: E402

PY = "/usr/bin/python3"

SDK_STYLE_SERVER = r'''
import hashlib, http.server, os, socketserver, sys, time, urllib.parse, urllib.request

MODE = sys.argv[1]
TARGET = urllib.parse.urlparse(os.environ["AIS_TARGET_URL"])


def transform(data, path, args):
    if MODE == "upper":
        out = data.upper()
    elif MODE == "rev":
        out = data[::-1]
    elif MODE in ("md5", "md5-direct"):
        out = hashlib.md5(data).hexdigest().encode()
    elif MODE == "hang":
        if b"hang" in data or "hang" in path:
            time.sleep(120)
        out = data
    else:
        raise ValueError(MODE)
    if args:
        out += b"|" + args.encode()
    return out


def compose(first, path):
    u = urllib.parse.urlparse(first)
    if u.path:  # the destination target: AIS_TARGET_URL's path, then the URL's own
        return urllib.parse.urlunparse(TARGET._replace(netloc=u.netloc, path=TARGET.path + u.path,
                                                       query=u.query))
    return first.rstrip("/") + path  # the next stage: its base URL + the object path


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body=b"", headers=()):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.answer(200, b"Running")
        self.answer(404)

    def do_PUT(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        args = q.get("etl_args", [""])[0]
        node_url = self.headers.get("Ais-Node-Url", "")
        if "etl_fqn" in q:  # the sandbox keeps programs away from the mountpaths
            return self.answer(400, b"etl_fqn sent")
        if MODE == "md5-direct" and "/v1/etl/_object/" not in node_url:
            return self.answer(400, b"expected a direct-put URL, got %r" % node_url)
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            out = transform(data, u.path, args)
        except Exception as e:
            return self.answer(500, str(e).encode())
        if not node_url:
            return self.answer(200, out)
        first, _, rest = node_url.partition(",")
        req = urllib.request.Request(compose(first.strip(), u.path), data=out, method="PUT")
        if rest:
            req.add_header("Ais-Node-Url", rest.strip())
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                code, body = r.status, r.read()
                length = r.headers.get("Ais-Direct-Put-Length", "0")
        except urllib.error.HTTPError as e:
            return self.answer(e.code, e.read())
        if code == 204:  # delivered further down
            return self.answer(204, b"", [("Ais-Direct-Put-Length", length)])
        if body:  # the next stage's result: back to the caller
            return self.answer(200, body)
        return self.answer(204, b"", [("Ais-Direct-Put-Length", str(len(out)))])  # a target


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


S(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
'''


class EtlDirectPutTest(tl.EtlTestMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(3)
        cls.url = cls.c.url
        cls.tmp = tl.make_tmpdir("aisle-etldp-")
        os.chmod(cls.tmp, 0o755)  # the sandboxed ETL user reads the program written here
        cls.s = requests.Session()
        cls.server = cls.write_file(cls.tmp, "sdk_style_server.py", SDK_STYLE_SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()
        tl.remove_tmpdir(cls.tmp)

    def program(self, name, mode, direct_put=True, obj_timeout="45s"):
        self.init({"name": name, "communication": "hpush://", "init_timeout": "1m",
                   "obj_timeout": obj_timeout, "support_direct_put": direct_put,
                   "runtime": {"image": "python:3", "command": [PY, self.server, mode]}})

    def etl_counts(self):
        r = self.s.get(self.url + "/v1/etl", timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        return {e["id"]: int(e["obj_count"]) for e in r.json()}

    def test_pipeline_forwarded_inline_and_direct_put_offline(self):
        src = self.bucket("dp-src")
        names = ["d/%03d.txt" % i for i in range(40)]
        put_many(self.url, src, names, lambda n: ("data of " + n).encode())
        self.program("dp-upper", "upper")
        self.program("dp-rev", "rev")
        self.program("dp-md5", "md5")
        self.program("dp-md5-direct", "md5-direct")  # refuses to answer with the result

        def expect(n):
            return hashlib.md5(("data of " + n).upper().encode()[::-1]).hexdigest().encode()

        # Inline: the target calls dp-upper only, with Ais-Node-Url = dp-rev,dp-md5; the
        # answer comes back through the programs.
        before = self.etl_counts()
        r = self.get_etl(src, names[0], "dp-upper", pipeline=["dp-rev", "dp-md5"])
        self.assertEqual((r.status_code, r.content), (200, expect(names[0])))
        after = self.etl_counts()
        self.assertEqual(after["dp-upper"] - before["dp-upper"], 1)
        self.assertEqual(after["dp-rev"] - before["dp-rev"], 0)  # reached by dp-upper itself
        self.assertEqual(after["dp-md5"] - before["dp-md5"], 0)
        # etl_args travel in the hpush query (to the first stage, as in AIStore).
        r = self.get_etl(src, names[0], "dp-upper", args="k=v")
        self.assertEqual(r.content, ("data of " + names[0]).upper().encode() + b"|k=v")

        # Offline: the last program puts each result at the destination's owner target.
        mid = self.etl_counts()
        dst = "dp-dst-%d" % (int(time.time() * 1000) % 10**9)
        r = self.transform_bucket(src, dst, "dp-upper", pipeline=["dp-rev", "dp-md5-direct"],
                                  prefix="d/", **{"latest-ver": True})
        job = r.text.strip()
        self.wait_job(job)
        self.assertEqual(self.listing(dst), names)
        for n in names[:8]:
            rr = self.s.get("%s/v1/objects/%s/%s" % (self.url, dst, n), timeout=30)
            self.assertEqual((rr.status_code, rr.content), (200, expect(n)))
        self.assertEqual(self.snap_stats(job), (len(names), len(names)))
        final = self.etl_counts()
        self.assertEqual(final["dp-upper"] - mid["dp-upper"], len(names))
        self.assertEqual(final["dp-md5-direct"], mid["dp-md5-direct"])

        # A direct put with a forged token is refused (the cluster runs with a secret).
        t = self.c.targets[0].url
        r = self.s.put(t + "/v1/etl/_object/%s/%s/forged" % ("0" * 64, dst), data=b"x",
                       timeout=30)
        self.assertEqual(r.status_code, 401, r.text)
        self.assertEqual(r.json()["status"], 401)

    def test_program_without_direct_put_is_chained_by_the_target(self):
        b = self.bucket("nodp")
        self.put(b, "o.txt", b"abc")
        self.program("nodp-upper", "upper", direct_put=False)
        self.program("nodp-rev", "rev", direct_put=False)
        before = self.etl_counts()
        r = self.get_etl(b, "o.txt", "nodp-upper", pipeline=["nodp-rev"], args="a")
        # Both stages called by the target, each with etl_args.
        self.assertEqual((r.status_code, r.content), (200, b"a|CBA|a"))
        after = self.etl_counts()
        self.assertEqual(after["nodp-rev"] - before["nodp-rev"], 1)

    def test_listrange_pipeline_and_request_timeout(self):
        src = self.bucket("lrp-src")
        names = ["img-%02d.txt" % i for i in range(20)]
        put_many(self.url, src, names, lambda n: n.encode())
        self.put(src, "img-hang.txt", b"hang here")
        self.program("lrp-upper", "upper")
        self.program("lrp-md5", "md5")
        self.program("lrp-hang", "hang", obj_timeout="60s")
        self.init({"name": "lrp-id", "runtime": {"image": "aisle/builtin:identity"}})

        # etl-listrange with a pipeline (TCOMsg as Bucket.transform(... ObjectGroup) sends it).
        dst = "lrp-dst-%d" % (int(time.time() * 1000) % 10**9)
        job = self.listrange(src, dst, {"template": "img-{00..19}.txt", "id": "lrp-upper",
                                        "pipeline": ["lrp-id", "lrp-md5"]})
        self.wait_job(job)
        self.assertEqual(self.listing(dst), names)
        rr = self.s.get("%s/v1/objects/%s/%s" % (self.url, dst, names[3]), timeout=30)
        self.assertEqual(rr.content, hashlib.md5(names[3].upper().encode()).hexdigest().encode())
        # An unknown stage: 404, nothing starts.
        r = self.s.post(self.url + "/v1/buckets/" + src,
                        json={"action": "etl-listrange",
                              "value": {"objnames": names[:2], "id": "lrp-upper",
                                        "pipeline": ["no-such-etl"],
                                        "tobck": {"name": dst, "provider": "ais"}}},
                        timeout=30)
        self.assertEqual(r.status_code, 404, r.text)
        self.assertIn("no-such-etl", r.json()["message"])

        # request_timeout interrupts the hung stage: with coer that object fails, the rest
        # are written, well before the stage's own 60s obj_timeout.
        dst2 = "lrp-to-%d" % (int(time.time() * 1000) % 10**9)
        t0 = time.time()
        job = self.listrange(src, dst2, {"objnames": names[:5] + ["img-hang.txt"],
                                         "id": "lrp-hang", "pipeline": ["lrp-upper"],
                                         "request_timeout": "2s", "coer": True})
        st = self.wait_job(job, allow_err=True)
        self.assertLess(time.time() - t0, 40)
        self.assertEqual(st["err"], "", st)
        self.assertEqual(self.listing(dst2), names[:5])
        r = self.s.get(self.url + "/v1/cluster", params={"what": "qryxstats"},
                       json={"id": job}, timeout=30)
        errs = [sn for snaps in r.json().values() for sn in (snaps or [])
                if int(sn.get("ext", {}).get("errors", 0))]
        self.assertEqual(len(errs), 1, r.text)
        self.assertIn("request_timeout", json.dumps(errs))
        # Without coer the job fails with the timeout; the node stays up and serves.
        job = self.listrange(src, dst2, {"objnames": ["img-hang.txt"], "id": "lrp-hang",
                                         "request_timeout": "1s"})
        st = self.wait_job(job, allow_err=True)
        self.assertIn("request_timeout", st["err"])
        r = self.get_etl(src, names[0], "lrp-upper")
        self.assertEqual((r.status_code, r.content), (200, names[0].upper().encode()))

    def test_sync_and_latest_ver(self):
        src = self.bucket("sync-src")
        self.put(src, "a.txt", b"a")
        self.init({"name": "sync-id", "runtime": {"image": "aisle/builtin:identity"}})
        dst = "sync-dst-%d" % (int(time.time() * 1000) % 10**9)
        # ais:// buckets: accepted, nothing to synchronize with.
        r = self.transform_bucket(src, dst, "sync-id", synchronize=True, **{"latest-ver": True})
        self.wait_job(r.text.strip())
        self.assertEqual(self.listing(dst), ["a.txt"])
        # AIStore: a prepend cannot be combined with synchronize (400, nothing starts).
        r = self.transform_bucket(src, dst, "sync-id", expect=400, synchronize=True,
                                  prepend="x/")
        self.assertIn("incompatible with the request to synchronize", r.json()["message"])
        r = self.s.post(self.url + "/v1/buckets/" + src,
                        params={"bck_to": "ais/@#/%s/" % dst},
                        json={"action": "copy-bck", "name": src,
                              "value": {"prepend": "y/", "synchronize": True}}, timeout=30)
        self.assertEqual(r.status_code, 400, r.text)


if __name__ == "__main__":
    unittest.main()
