"""A cluster in network namespaces (netns_lib) for tests and benchmarks: 1 proxy + N targets,
each in its own namespace (proxy 10.77.0.2, target tK 10.77.0.1K, client 10.77.0.100), started
as the systemd units start them: `aisle-node --config FILE`, one JSON config per node with the
suite's cluster secret, every node on port 8080 of its own address. Targets listen on 0.0.0.0
and advertise their address (advertise_host). aisle-fs mounts run in a chosen namespace with
the mount visible here. Call the HTTP helpers inside `lab.entered("client")`.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

import requests

import aisle_testlib as tl
import netns_lib

FS_BIN = os.environ.get("AISLE_FS_BIN") or os.path.join(tl.REPO, "build", "fs", "aisle-fs")
FUSERMOUNT = shutil.which("fusermount3")
PORT = 8080  # every node on AIStore's default port: each has a host (namespace) of its own
TARGETS = ["t1", "t2", "t3", "t4"]


def skip_reason(fuse=True):
    why = netns_lib.available()
    if why:
        return why
    if not os.path.exists(tl.node_bin()):
        return "no aisle-node binary"
    if fuse and not (os.path.exists("/dev/fuse") and FUSERMOUNT and os.path.exists(FS_BIN)):
        return "needs /dev/fuse, fusermount3 and aisle-fs"
    return None


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(len(p) > 4 and p[4] == os.path.realpath(path) for p in (ln.split() for ln in f))


class NetnsCluster:
    """The lab, the nodes' configs and processes, and the mounts."""

    def __init__(self, targets=TARGETS, rate=None, client_rate=None, prefix="aisle-nt"):
        """rate: bytes/s of the proxy's and each target's link (tbf), None = unshaped."""
        self.lab = netns_lib.Lab(prefix)
        self.dir = tl.make_tmpdir(self.lab.tag)
        self.targets = list(targets)
        self.proxy = self.lab.add_host("proxy", rate=rate)
        for name in self.targets:
            self.lab.add_host(name, octet=10 + int(name[1:]), rate=rate)
        self.client = self.lab.add_host("client", octet=100, rate=client_rate)
        self.url = "http://%s:%d" % (self.proxy.addr, PORT)
        self.procs = {}
        self.mounts = []
        self.lab.on_cleanup(self.unmount_all)
        self.write_config("proxy", {"role": "proxy", "host": self.proxy.addr, "id": "p1",
                                    "data_dir": os.path.join(self.dir, "proxy")})
        for name in self.targets:
            # A wildcard listen address plus the one the others reach it at (--advertise-host).
            self.write_config(name, {"role": "target", "host": "0.0.0.0", "id": name,
                                     "advertise_host": self.lab.hosts[name].addr,
                                     "primary_url": self.url,
                                     "mountpaths": [os.path.join(self.dir, name, "mp0")]})

    def write_config(self, name, cfg):
        cfg.update({"port": PORT, "cluster_secret_file": tl.cluster_secret_file(),
                    "keepalive_ms": 200, "down_after_ms": 2000})
        with open(os.path.join(self.dir, name + ".json"), "w") as f:
            json.dump(cfg, f, indent=1)

    def start(self, name):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        self.procs[name] = self.lab.popen(
            name, [tl.node_bin(), "--config", os.path.join(self.dir, name + ".json")],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        url = "http://%s:%d/v1/health" % (self.lab.hosts[name].addr, PORT)
        with self.lab.entered("client"):
            self.wait(lambda: requests.get(url, timeout=2).status_code == 200, "%s serving" % name)

    def start_all(self):
        """The proxy, then every target, until the map has them all online."""
        self.start("proxy")
        for name in self.targets:
            self.start(name)
        with self.lab.entered("client"):
            self.wait_online(self.targets)

    def stop(self, name):
        return self.lab.stop(self.procs[name])

    def log_tail(self, name):
        with open(os.path.join(self.dir, name + ".log"), "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    @staticmethod
    def wait(cond, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if cond():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(0.1)

    # Called inside the client namespace.
    def smap(self):
        return requests.get(self.url + "/v1/daemon", params={"what": "smap"}, timeout=5).json()

    def wait_online(self, ids):
        def ok():
            tmap = self.smap()["tmap"]
            return sorted(k for k, v in tmap.items()
                          if v.get("aisle_state", "online") == "online") == sorted(ids)
        self.wait(ok, "online targets %s" % ids)

    def target_url(self, name):
        return "http://%s:%d" % (self.lab.hosts[name].addr, PORT)

    def wait_rebalanced(self, names):
        def done():
            version = int(self.smap()["version"])
            for n in names:
                r = requests.get(self.target_url(n) + "/v1/daemon", params={"what": "rebalance"},
                                 timeout=5).json()
                if r["running"] or r["smap_version"] < version or r["errors"]:
                    return False
            return True
        self.wait(done, "rebalance", timeout=40)

    def local_names(self, name, bucket):
        body = json.dumps({"action": "list", "value": {"pagesize": 10000}})
        r = tl.intra_request("GET", self.target_url(name) + "/v1/buckets/" + bucket, name, body)
        r.raise_for_status()
        return [e["name"] for e in r.json()["entries"]]

    def local_read_counters(self, name):
        r = requests.get(self.target_url(name) + "/v1/daemon", params={"what": "stats"}, timeout=5)
        return r.json()["local_reads"]

    # Mounts: aisle-fs in a namespace, its mount visible to this process (nsenter --net).
    def mount(self, host, opts="retry_timeout=30"):
        mnt = tempfile.mkdtemp(prefix=self.lab.tag + "mnt-")  # the tag: stale-mount cleanup
        log = open(mnt + ".log", "wb")
        p = self.lab.popen(host, [FS_BIN, self.url, mnt, "-f", "-o", opts], shared_mounts=True,
                           stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.mounts.append((mnt, p))
        self.wait(lambda: is_mounted(mnt) or p.poll() is not None, "mount " + mnt)
        if p.poll() is not None:
            raise AssertionError("aisle-fs exited: " + open(mnt + ".log").read())
        return mnt

    def unmount_all(self):
        for mnt, p in self.mounts:
            if is_mounted(mnt):
                subprocess.run([FUSERMOUNT, "-u", mnt], stderr=subprocess.DEVNULL, timeout=10)
                if is_mounted(mnt):
                    subprocess.run([FUSERMOUNT, "-uz", mnt], stderr=subprocess.DEVNULL, timeout=10)
            self.lab.stop(p, timeout=5)
            try:
                os.rmdir(mnt)
                os.unlink(mnt + ".log")
            except OSError:
                pass
        self.mounts = []

    def cleanup(self):
        self.lab.cleanup()
        tl.remove_tmpdir(self.dir)
