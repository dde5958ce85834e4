#!/usr/bin/python3
"""Transport starvation tests against a real cluster (1 proxy + 3 targets on loopback).

Slow-loris heads aimed at the primary hold no worker and end at the head deadline (408) while
the cluster map stays put and GET/PUT keep working; slow bodies that pin every general worker
still leave the peers' keepalives their reserved workers; connections per client address are
capped (503); a huge declared Content-Length on a bounded route is 413 before any body byte.
Attack traffic comes from other loopback addresses (127.0.0.2-4) so the cluster's own
traffic (127.0.0.1) keeps its per-address budget.
"""

import os
import socket
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import test_cluster as tc  # noqa: E402

KEEPALIVE_MS = 500
DOWN_AFTER_MS = 2000
HEAD_TIMEOUT_MS = 4000
MAX_CONNS_PER_IP = 150


class Proxy(tc.Proxy):
    def build_args(self, ready):
        return [self.binary, "--role", "proxy", "--port", str(self.fixed_port), "--host",
                "127.0.0.1", "--data-dir", os.path.join(self.dir, "meta"), "--ready-file", ready,
                "--keepalive-ms", str(KEEPALIVE_MS), "--down-after-ms", str(DOWN_AFTER_MS),
                "--head-timeout-ms", str(HEAD_TIMEOUT_MS),
                "--max-conns-per-ip", str(MAX_CONNS_PER_IP)]


class Cluster(tc.Cluster):
    def __init__(self, n_targets):
        self.proxy = Proxy()
        self.targets = []
        try:
            self.proxy.start()
            for _ in range(n_targets):
                self.add_target()
            self.wait_online(n_targets)
        except Exception:
            self.cleanup()
            raise

    def add_target(self):
        t = tl.Node(extra_args=["--primary", self.proxy.url, "--keepalive-ms", str(KEEPALIVE_MS)])
        self.targets.append(t)
        t.start()
        return t


def connect_from(src, node, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((node.host, node.port))
    return s


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def read_reply(s):
    """Everything the server sends until it closes (or the socket times out)."""
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out, True
            out += chunk
    except socket.timeout:
        return out, False
    except ConnectionResetError:
        return out, True


class Trickler:
    """Sends one byte per second to every socket (errors ignored) until stopped."""

    def __init__(self, socks, byte=b"a"):
        self.socks, self.byte = socks, byte
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_ev.wait(1.0):
            for s in self.socks:
                try:
                    s.send(self.byte, socket.MSG_DONTWAIT)
                except OSError:
                    pass

    def stop(self):
        self.stop_ev.set()
        self.thread.join()


class TransportTest(unittest.TestCase, tl.ErrorAsserts):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(3)
        cls.bucket = "transport"
        r = requests.post(cls.cluster.url + "/v1/buckets/" + cls.bucket,
                          json={"action": "create-bck"}, timeout=30)
        if r.status_code != 200:
            cls.cluster.cleanup()
            raise AssertionError("create bucket: %s %s" % (r.status_code, r.text))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def smap_state(self):
        sm = self.cluster.smap()
        down = sorted(k for k, v in sm["tmap"].items() if v.get("aisle_state", "online") != "online")
        return int(sm["version"]), down

    def put_get(self, name, timeout=5):
        url = "%s/v1/objects/%s/%s" % (self.cluster.url, self.bucket, name)
        data = os.urandom(1024)
        t0 = time.monotonic()
        r = requests.put(url, data=data, timeout=timeout)
        self.assertEqual(r.status_code, 200, r.text)
        r = requests.get(url, timeout=timeout)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, data)
        return time.monotonic() - t0

    def test_slow_loris_on_the_primary_changes_nothing(self):
        version, down = self.smap_state()
        self.assertEqual(down, [])
        proxy = self.cluster.proxy
        socks, trickler = [], None
        try:
            start = time.monotonic()
            for _ in range(120):
                s = connect_from("127.0.0.2", proxy, timeout=HEAD_TIMEOUT_MS / 1000 + 5)
                s.sendall(b"GET /v1/daemon?what=smap HTTP/1.1\r\nHost: h\r\nX-Slow: ")
                socks.append(s)
            trickler = Trickler(socks)
            # The flood lasts until the head deadline: 8 keepalive intervals, twice down-after.
            i = 0
            while time.monotonic() - start < HEAD_TIMEOUT_MS / 1000 - 0.5:
                self.assertLess(self.put_get("loris-%d" % i), 2.0)
                self.assertEqual(self.smap_state(), (version, []))
                i += 1
                time.sleep(0.2)
            self.assertGreater(i, 5)
            timed_out = 0
            for s in socks:
                data, closed = read_reply(s)
                if data.startswith(b"HTTP/1.1 408 ") and b'"status":408' in data and closed:
                    timed_out += 1
            elapsed = time.monotonic() - start
            self.assertEqual(timed_out, len(socks))
            self.assertLess(elapsed, HEAD_TIMEOUT_MS / 1000 + 3)
        finally:
            if trickler:
                trickler.stop()
            close_all(socks)
        time.sleep(DOWN_AFTER_MS / 1000)
        self.assertEqual(self.smap_state(), (version, []))
        self.put_get("after-loris")

    def test_slow_bodies_leave_keepalives_their_workers(self):
        version, down = self.smap_state()
        self.assertEqual(down, [])
        proxy = self.cluster.proxy
        socks, trickler = [], None
        try:
            for _ in range(80):  # more than the 64 general workers
                s = connect_from("127.0.0.4", proxy)
                s.sendall(b"POST /v1/buckets/slowbody HTTP/1.1\r\nHost: h\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
                socks.append(s)
            trickler = Trickler(socks, b" ")
            # Every general worker waits on a body; the targets' keepalives must still land
            # for twice down-after (seen through a target's copy of the map).
            target = self.cluster.targets[0]
            deadline = time.monotonic() + 2 * DOWN_AFTER_MS / 1000
            while time.monotonic() < deadline:
                sm = requests.get(target.url + "/v1/daemon", params={"what": "smap"},
                                  timeout=10).json()
                self.assertEqual(int(sm["version"]), version)
                time.sleep(0.25)
        finally:
            if trickler:
                trickler.stop()
            close_all(socks)
        self.assertEqual(self.smap_state(), (version, []))
        self.put_get("after-slow-bodies")

    def test_connections_per_address_are_capped(self):
        proxy = self.cluster.proxy
        socks = []
        try:
            for _ in range(MAX_CONNS_PER_IP):
                socks.append(connect_from("127.0.0.3", proxy))
            over = connect_from("127.0.0.3", proxy)
            socks.append(over)
            data, closed = read_reply(over)
            self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data)
            self.assertIn(b"too many connections from 127.0.0.3", data)
            self.assertTrue(closed)
            # Other addresses are not affected, and the held connections work.
            self.put_get("limit")
            held = socks[0]
            held.sendall(b"GET /v1/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            data, closed = read_reply(held)
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data)
        finally:
            close_all(socks)
        # Closed connections free their slots.
        deadline = time.monotonic() + 5
        while True:
            s = connect_from("127.0.0.3", proxy)
            try:
                s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                data, _ = read_reply(s)
            finally:
                s.close()
            if data.startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data)

    def test_huge_declared_body_is_413_before_the_body(self):
        target = self.cluster.targets[0]
        for node, intra in ((self.cluster.proxy, False), (target, True)):
            headers = [("Content-Type", "application/json"), ("Content-Length", str(10 ** 12)),
                       ("Expect", "100-continue")]
            if intra:  # a signed node-to-node request, which the target does not redirect
                path = "/v1/buckets/" + self.bucket
                headers += list(tl.intra_headers("POST", path, self.cluster.proxy.node_id()).items())
            with tl.RawConn.to(node, timeout=5) as c:
                t0 = time.monotonic()
                c.send(c.request_bytes("POST", "/v1/buckets/" + self.bucket, headers))
                resp = c.read_response(allow_interim=False)  # no 100 Continue first
                self.assertLess(time.monotonic() - t0, 2.0)
                if intra:
                    self.check_error_response(resp, 413, "POST", "/v1/buckets/" + self.bucket,
                                              target.node_id())
                else:
                    self.assertEqual(resp.status, 413, resp.body)
                    self.assertIn(b'"status":413', resp.body)
                self.assertTrue(c.closed_by_peer(2.0))


if __name__ == "__main__":
    tl.main()
