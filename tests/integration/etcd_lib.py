"""A local etcd cluster for tests: N members of /usr/bin/etcd on loopback ports, data in a
temp dir, each process registered with aisle_testlib so it is killed at exit even when a
test fails. kill(i) is SIGKILL, stop(i) SIGTERM, start(i) brings a member back with its data.
"""

import os
import subprocess
import time

import requests

import aisle_testlib as tl

ETCD_BIN = "/usr/bin/etcd"


def available():
    return os.access(ETCD_BIN, os.X_OK)


class EtcdCluster:
    def __init__(self, n=3, host="127.0.0.1", wrap=None):
        self.dir = tl.make_tmpdir("aisle-etcd-")
        self.host = host
        self.n = n
        self.wrap = wrap  # optional: argv -> argv (e.g. run inside a network namespace)
        self.client = ["http://%s:%d" % (host, tl.free_port()) for _ in range(n)]
        self.peer = ["http://%s:%d" % (host, tl.free_port()) for _ in range(n)]
        self.procs = [None] * n
        self.initial = ",".join("m%d=%s" % (i, self.peer[i]) for i in range(n))
        for i in range(n):
            self.start(i, new=True)
        self.wait_healthy()

    @property
    def urls(self):
        return ",".join(self.client)

    def start(self, i, new=False):
        argv = [ETCD_BIN, "--name", "m%d" % i, "--data-dir", os.path.join(self.dir, "m%d" % i),
                "--listen-client-urls", self.client[i], "--advertise-client-urls", self.client[i],
                "--listen-peer-urls", self.peer[i], "--initial-advertise-peer-urls", self.peer[i],
                "--initial-cluster", self.initial, "--initial-cluster-state",
                "new" if new else "existing", "--initial-cluster-token", os.path.basename(self.dir),
                "--heartbeat-interval", "100", "--election-timeout", "1000"]
        if self.wrap:
            argv = self.wrap(argv)
        log = open(os.path.join(self.dir, "m%d.log" % i), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        with tl._live_lock:
            tl._live_procs.add(p)
        self.procs[i] = p

    def _end(self, i, sig_kill):
        p = self.procs[i]
        if p is None:
            return
        if sig_kill:
            p.kill()
        else:
            p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        with tl._live_lock:
            tl._live_procs.discard(p)
        self.procs[i] = None

    def kill(self, i):
        self._end(i, True)

    def stop(self, i):
        self._end(i, False)

    def healthy(self, i):
        try:
            r = requests.get(self.client[i] + "/health", timeout=2)
            return r.status_code == 200 and r.json().get("health") == "true"
        except (requests.RequestException, ValueError):
            return False

    def wait_healthy(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(self.procs[i] and self.healthy(i) for i in range(self.n)):
                return
            time.sleep(0.1)
        raise AssertionError("etcd did not become healthy; log:\n" + self.log_tail(0))

    def log_tail(self, i, n=3000):
        try:
            with open(os.path.join(self.dir, "m%d.log" % i), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def cleanup(self):
        for i in range(self.n):
            self._end(i, True)
        tl.remove_tmpdir(self.dir)


class Relay:
    """A TCP relay in front of etcd members, to cut one node off etcd on loopback: cut()
    closes the listeners and every relayed connection (the node sees refused connections),
    heal() listens again on the same ports."""

    def __init__(self, targets):
        import socket
        import threading
        self._socket, self._threading = socket, threading
        self.targets = [(u.split("//")[1].split(":")[0], int(u.rsplit(":", 1)[1])) for u in targets]
        self.ports = [tl.free_port() for _ in targets]
        self.lock = threading.Lock()
        self.conns, self.listeners = set(), []
        self.heal()

    @property
    def urls(self):
        return ",".join("http://127.0.0.1:%d" % p for p in self.ports)

    def heal(self):
        for port, target in zip(self.ports, self.targets):
            ls = self._socket.socket()
            ls.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", port))
            ls.listen(64)
            self.listeners.append(ls)
            self._threading.Thread(target=self._accept, args=(ls, target), daemon=True).start()

    def _accept(self, ls, target):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                u = self._socket.create_connection(target, timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.update((c, u))
            for a, b in ((c, u), (u, c)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        for ls in self.listeners:
            try:
                ls.shutdown(self._socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            ls.close()
        self.listeners = []
        with self.lock:
            conns, self.conns = list(self.conns), set()
        for s in conns:
            try:
                s.shutdown(self._socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
