"""A lab of Linux network namespaces for multi-host tests and benchmarks (needs root, iproute2).

Lab("aisle-nt") makes a hub namespace holding a bridge, and each add_host(name) a namespace
with one veth pair to that bridge and its own address (10.77.0.N/24, eth0 inside). Nothing is
made in the caller's namespace, so traffic stays among the lab's namespaces. Links can be
shaped (tbf, both directions) and taken down/up; processes run in a host's namespace:

    lab = Lab("aisle-nt")              # removes what a crashed earlier run of this prefix left
    t1 = lab.add_host("t1", rate=50 << 20)   # bytes/s each way, or None
    p = lab.popen("t1", ["aisle-node", "--config", cfg], stdout=log)
    with lab.entered("t1"): requests.get("http://%s:8080/v1/health" % t1.addr)
    lab.link_down("t1"); lab.link_up("t1")
    lab.cleanup()                      # also at exit and on SIGTERM/SIGHUP

Names are PREFIX<pid>-<host> (the hub: PREFIX<pid>-hub): a namespace of this prefix whose pid
is gone is stale and removed at the next Lab() (its processes killed first), as are temp dirs
and mounts named with lab.tag (PREFIX<pid>-). Cleanup kills the
processes started here by PID, then anything still in the lab's namespaces (children they
forked), runs the callbacks given to on_cleanup (unmounts) first, and deletes the namespaces.

popen(..., shared_mounts=False) uses `ip netns exec`, which also gives the process a private
mount namespace; shared_mounts=True uses `nsenter --net` instead, so a FUSE mount the process
makes is visible to everyone (aisle-fs). entered(name) moves the calling thread (and threads it
starts) into a namespace with setns(2): the test's own HTTP requests and reads come from there.
"""

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def available():
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "tc", "nsenter"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/sbin:/usr/bin").split(":") + ["/usr/sbin", "/sbin"]):
            return "needs %s" % tool
    return None


def _run(*args, check=True):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.decode(errors="replace").strip()))
    return r.stdout.decode()


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def list_netns():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def netns_pids(ns):
    """The processes in `ns` but this one (whose thread may be in it: entered())."""
    out = _run("ip", "netns", "pids", ns, check=False)
    return [int(x) for x in out.split() if x.isdigit() and int(x) != os.getpid()]


def delete_netns(ns):
    """Kills every process in `ns` and deletes it."""
    for _ in range(3):
        pids = netns_pids(ns)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    _run("ip", "netns", "del", ns, check=False)


def remove_stale(prefix):
    """Removes what earlier runs of `prefix` left behind (those whose pid no longer runs): FUSE
    mounts at paths naming them (lazily unmounted), namespaces with their processes, and temp
    directories named PREFIX<pid>-*."""
    pat = re.compile(re.escape(prefix) + r"(\d+)-")
    stale = set()
    for ns in list_netns():
        m = pat.match(ns)
        if m and not _alive(int(m.group(1))):
            stale.add(m.group(0))
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2].startswith("fuse"):
                m = pat.search(os.path.basename(parts[1]))
                if m and not _alive(int(m.group(1))):
                    subprocess.run(["umount", "-l", parts[1]], stderr=subprocess.DEVNULL)
    for ns in list_netns():
        if any(ns.startswith(s) for s in stale):
            delete_netns(ns)
    # Temp dirs named with the tag (data, configs, mountpoints), once nothing is mounted there.
    tmp = tempfile.gettempdir()
    with open("/proc/self/mounts") as f:
        mounted = [line.split()[1] for line in f if len(line.split()) > 1]
    for d in os.listdir(tmp):
        m = pat.match(d)
        path = os.path.join(tmp, d)
        if m and not _alive(int(m.group(1))) and not any(x.startswith(path) for x in mounted):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)


class Host:
    def __init__(self, name, ns, addr, hub_if):
        self.name, self.ns, self.addr, self.hub_if = name, ns, addr, hub_if


class Lab:
    def __init__(self, prefix="aisle-nt", subnet="10.77.0"):
        why = available()
        if why:
            raise RuntimeError(why)
        remove_stale(prefix)
        self.tag = "%s%d-" % (prefix, os.getpid())  # also a good prefix for temp dirs
        self.subnet = subnet
        self.hub = self.tag + "hub"
        self.hosts = {}
        self.procs = []
        self._callbacks = []
        self._lock = threading.Lock()
        self._namespaces = [self.hub]  # deleted last to first
        _install_hooks(self)
        _run("ip", "netns", "add", self.hub)
        self._ip(self.hub, "link", "set", "lo", "up")
        self._ip(self.hub, "link", "add", "br0", "type", "bridge")
        self._ip(self.hub, "link", "set", "br0", "up")

    # --- topology --------------------------------------------------------------------------
    @staticmethod
    def _ip(ns, *args):
        return _run("ip", "-n", ns, *args)

    def add_host(self, name, octet=None, rate=None):
        """A namespace `name` with eth0 at SUBNET.octet (default: the next free one) bridged
        to the others; rate (bytes/s) shapes its link both ways."""
        octet = octet or (len(self.hosts) + 2)
        ns = self.tag + name
        hub_if = ("v" + name)[:15]
        self._namespaces.append(ns)
        _run("ip", "netns", "add", ns)
        h = Host(name, ns, "%s.%d" % (self.subnet, octet), hub_if)
        self.hosts[name] = h
        self._ip(self.hub, "link", "add", hub_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self._ip(self.hub, "link", "set", hub_if, "master", "br0")
        self._ip(self.hub, "link", "set", hub_if, "up")
        self._ip(ns, "link", "set", "lo", "up")
        self._ip(ns, "addr", "add", h.addr + "/24", "dev", "eth0")
        self._ip(ns, "link", "set", "eth0", "up")
        if rate:
            self.shape(name, rate)
        return h

    def shape(self, name, rate):
        """Caps host `name`'s link at `rate` bytes/s in each direction (tbf on both veth ends)."""
        h = self.hosts[name]
        burst = max(64 << 10, rate // 100)  # 10 ms of traffic, at least a GSO packet
        spec = ["tbf", "rate", "%dbit" % (rate * 8), "burst", str(burst), "latency", "50ms"]
        _run("tc", "-n", h.ns, "qdisc", "replace", "dev", "eth0", "root", *spec)
        _run("tc", "-n", self.hub, "qdisc", "replace", "dev", h.hub_if, "root", *spec)

    def link_down(self, name):
        self._ip(self.hosts[name].ns, "link", "set", "eth0", "down")

    def link_up(self, name):
        self._ip(self.hosts[name].ns, "link", "set", "eth0", "up")

    # --- processes -------------------------------------------------------------------------
    def wrap(self, name, argv, shared_mounts=False):
        ns = self.hosts[name].ns
        if shared_mounts:
            return ["nsenter", "--net=%s/%s" % (NETNS_DIR, ns), "--"] + list(argv)
        return ["ip", "netns", "exec", ns] + list(argv)

    def popen(self, name, argv, shared_mounts=False, **kw):
        """subprocess.Popen of argv in host `name`'s namespace (the Popen's pid is the
        program's: both wrappers exec it). Killed by cleanup() unless stopped before."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.wrap(name, argv, shared_mounts), **kw)
        with self._lock:
            self.procs.append(p)
        return p

    def run(self, name, argv, shared_mounts=False, **kw):
        return subprocess.run(self.wrap(name, argv, shared_mounts), **kw)

    @staticmethod
    def stop(proc, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        return proc.wait(timeout=10)

    @contextlib.contextmanager
    def entered(self, name):
        """Runs the with-block's thread (and threads it starts) in host `name`'s namespace."""
        here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open("%s/%s" % (NETNS_DIR, self.hosts[name].ns), os.O_RDONLY)
        try:
            _setns(there)
            try:
                yield self.hosts[name]
            finally:
                _setns(here)
        finally:
            os.close(here)
            os.close(there)

    def on_cleanup(self, fn):
        """fn() runs first at cleanup (e.g. unmount before the processes are killed)."""
        self._callbacks.append(fn)

    def cleanup(self):
        """Idempotent, and re-entrant: a signal handler that runs it while it runs (a SIGTERM
        during tearDown) finishes it. Each step is dropped only once it is done."""
        while self._callbacks:
            try:
                self._callbacks[-1]()
            except Exception:
                pass
            self._callbacks.pop()
        while self.procs:
            try:
                self.stop(self.procs[-1], timeout=3.0)
            except Exception:
                pass
            self.procs.pop()
        while self._namespaces:
            delete_netns(self._namespaces[-1])
            self._namespaces.pop()
        _labs.discard(self)


# Cleanup at exit and on SIGTERM/SIGHUP (chained to the handler installed before, e.g.
# aisle_testlib's, which ends the process).
_labs = set()
_hooked = []


def _cleanup_labs():
    for lab in list(_labs):
        lab.cleanup()


def _install_hooks(lab):
    _labs.add(lab)
    if _hooked:
        return
    _hooked.append(True)
    atexit.register(_cleanup_labs)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        prev = signal.getsignal(sig)

        def handler(signum, frame, prev=prev):
            _cleanup_labs()
            if callable(prev):
                prev(signum, frame)
            else:
                os._exit(128 + signum)
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
