"""Debian packages, systemd units and the container image (docs/DEPLOY.md), end to end.

The .debs are made by CPack from the test build tree itself (the binaries the other tests ran;
no second Release build), checked with dpkg-deb, installed with `apt-get install ./aisle-*.deb`
in ONE clean Debian 12 root made by mmdebstrap from the Debian archive (packaging/
build-image.sh), and that root becomes the podman image in which a 1 proxy + 3 target cluster
runs (packaging/podman-cluster.sh, one container per node, host network, loopback ports);
objects are PUT, listed and read back with curl from the host.

Needs root, mmdebstrap, podman (+ runc) and the Debian archive: a missing piece FAILS the test
with a message saying which (it is not skipped). Containers, the image and temp dirs are
removed even when a step fails. Takes 45-95 s (mostly mmdebstrap, network-bound)."""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

REPO = tl.REPO
PKG = os.path.join(REPO, "packaging")
BUILD = os.environ.get("AISLE_BUILD_DIR") or os.path.join(REPO, "build")
UNITS = ["aisle-proxy.service", "aisle-target@.service", "aisle-fs@.service"]


def run(cmd, timeout=600, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" %
                             (" ".join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def free_port_block(n):
    """A base port with base..base+n-1 all free on 127.0.0.1 a moment ago. Taken below the
    kernel's ephemeral range, which other tests' connection floods can fill densely."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    top = low - n if low > 10000 + n else 65535 - n
    for _ in range(200):
        base = random.randrange(10000, top)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no block of %d free ports" % n)


class PackagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        missing = [t for t in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "mmdebstrap", "podman",
                               "runc", "systemd-analyze", "curl") if not shutil.which(t)]
        if missing:
            raise AssertionError("test_packaging needs %s (packaging/install-deps.sh)" %
                                 ", ".join(missing))
        if os.geteuid() != 0:
            raise AssertionError("test_packaging needs root (mmdebstrap root mode, podman)")
        cls.tmp = tl.make_tmpdir("aisle-pkg-")
        cls.tag = "localhost/aisle-it-%d:test" % os.getpid()
        cls.name = "aisle-it-%d" % os.getpid()
        cls.image_built = False
        cls.cluster_up = False
        cls.debs_dir = os.path.join(cls.tmp, "debs")
        cls.root = os.path.join(cls.tmp, "root")
        try:
            cls.build_debs()
            cls.build_image()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.cluster_up:
            cls.podman_cluster("down", check=False)
            cls.cluster_up = False
        if cls.image_built:
            run(["podman", "rmi", "-f", cls.tag], check=False)
            cls.image_built = False
        tl.remove_tmpdir(cls.tmp)
        print("test_packaging: %.1f s" % (time.monotonic() - cls.t0), file=sys.stderr)

    @classmethod
    def build_debs(cls):
        # The same build tree: CPack installs its binaries (stripped) into the packages.
        t = time.monotonic()
        run(["cpack", "-G", "DEB", "-B", cls.debs_dir], cwd=BUILD)
        cls.debs = {f.split("_")[0]: os.path.join(cls.debs_dir, f)
                    for f in os.listdir(cls.debs_dir) if f.endswith(".deb")}
        print("test_packaging: cpack %.1f s" % (time.monotonic() - t), file=sys.stderr)

    @classmethod
    def build_image(cls):
        t = time.monotonic()
        r = run(["bash", os.path.join(PKG, "build-image.sh"), "--debs", cls.debs_dir, "--tag",
                 cls.tag, "--root", cls.root], check=False)
        cls.image_built = True  # the import may have happened even if a later step failed
        if r.returncode != 0:
            raise AssertionError("packaging/build-image.sh failed (mmdebstrap needs the Debian "
                                 "archive over the network):\n%s%s" % (r.stdout, r.stderr))
        print("test_packaging: mmdebstrap + install + import %.1f s" % (time.monotonic() - t),
              file=sys.stderr)

    @classmethod
    def podman_cluster(cls, cmd, *args, check=True):
        return run(["bash", os.path.join(PKG, "podman-cluster.sh"), cmd, "--name", cls.name,
                    *args], check=check, timeout=120)

    # -- the packages ----------------------------------------------------------------------

    def control(self, pkg):
        fields = {}
        for line in run(["dpkg-deb", "-f", self.debs[pkg]]).stdout.splitlines():
            if ":" in line and not line.startswith(" "):
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        return fields

    def contents(self, pkg):
        out = {}
        for line in run(["dpkg-deb", "-c", self.debs[pkg]]).stdout.splitlines():
            parts = line.split()
            out[parts[5].lstrip(".")] = parts[0]
        return out

    def conffiles(self, pkg):
        r = run(["dpkg-deb", "-I", self.debs[pkg], "conffiles"], check=False)
        return r.stdout.split()

    def test_packages_metadata(self):
        self.assertEqual(sorted(self.debs), ["aisle", "aisle-fs", "aisle-node"])
        for pkg in self.debs:
            c = self.control(pkg)
            self.assertEqual(c["Package"], pkg)
            deps = [d.strip().split()[0] for d in c["Depends"].split(",")]
            self.assertIn("libc6", deps)
            self.assertFalse([d for d in deps if d.endswith("-dev")], c["Depends"])
            run(["dpkg-deb", "-I", self.debs[pkg]])
        node_deps = self.control("aisle-node")["Depends"]
        for d in ("python3", "adduser", "libarchive13", "libssl3"):
            self.assertIn(d, node_deps)
        self.assertIn("fuse3", self.control("aisle-fs")["Depends"])
        self.assertIn("libfuse3-3", self.control("aisle-fs")["Depends"])

    def test_packages_contents(self):
        node, cli, fs = (self.contents(p) for p in ("aisle-node", "aisle", "aisle-fs"))
        self.assertTrue(node["/usr/bin/aisle-node"].startswith("-rwxr-xr-x"))
        for f in ("/etc/aisle/proxy.json", "/etc/aisle/target-1.json",
                  "/lib/systemd/system/aisle-proxy.service",
                  "/lib/systemd/system/aisle-target@.service"):
            self.assertIn(f, node)
        self.assertIn("/usr/bin/aisle", cli)
        self.assertTrue(fs["/sbin/mount.fuse.aisle"].startswith("-rwxr-xr-x"))
        self.assertIn("/usr/bin/aisle-fs", fs)
        self.assertIn("/lib/systemd/system/aisle-fs@.service", fs)
        self.assertEqual(self.conffiles("aisle-node"),
                         ["/etc/aisle/proxy.json", "/etc/aisle/target-1.json"])
        self.assertEqual(self.conffiles("aisle-fs"), ["/etc/aisle/fs-data.conf"])
        self.assertEqual(self.conffiles("aisle"), [])
        # The example configs are configs aisle-node accepts.
        for f in ("proxy.json", "target-1.json"):
            with open(os.path.join(PKG, "etc", f)) as fh:
                json.load(fh)

    def test_systemd_units_verify(self):
        # systemd-analyze verify wants each Exec binary to exist: the units' copies point at
        # the build tree's binaries (the clean root has no systemd to verify with).
        d = os.path.join(self.tmp, "units")
        os.makedirs(d, exist_ok=True)
        subst = {"/usr/bin/aisle-node": os.path.join(BUILD, "server", "aisle-node"),
                 "/usr/bin/aisle-fs": os.path.join(BUILD, "fs", "aisle-fs")}
        paths = []
        for u, inst in zip(UNITS, ["aisle-proxy.service", "aisle-target@1.service",
                                   "aisle-fs@data.service"]):
            with open(os.path.join(PKG, "systemd", u)) as f:
                text = f.read()
            for a, b in subst.items():
                text = text.replace(a, b)
            for name in {u, inst}:
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            paths += [os.path.join(d, u), os.path.join(d, inst)]
        r = run(["systemd-analyze", "verify", *sorted(set(paths))], check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((r.stdout + r.stderr).strip(), "", "systemd-analyze verify warned")

    # -- the clean root --------------------------------------------------------------------

    def chroot(self, *cmd, check=True):
        return run(["chroot", self.root, *cmd], check=check, timeout=60)

    def test_installed_in_clean_root(self):
        status = self.chroot("dpkg-query", "-W", "-f", "${Package} ${Status}\n", "aisle",
                             "aisle-node", "aisle-fs").stdout
        self.assertEqual(status.count("install ok installed"), 3, status)
        pw = self.chroot("getent", "passwd", "aisle").stdout.split(":")
        self.assertEqual(pw[0], "aisle")
        self.assertEqual(pw[5], "/var/lib/aisle")
        self.assertTrue(pw[6].strip().endswith("nologin"))
        st = os.stat(os.path.join(self.root, "var/lib/aisle"))
        self.assertEqual(st.st_uid, int(pw[2]))
        self.assertIn("aisle-node", self.chroot("aisle-node", "--help").stdout)
        self.assertIn("aisle", self.chroot("aisle", "--help").stdout)
        self.assertEqual(self.chroot("aisle-fs", "--version").stdout.strip(), "aisle-fs 0.1.0")
        self.chroot("python3", "-c", "pass")  # the ETL runtime's interpreter came along
        self.assertTrue(os.access(os.path.join(self.root, "sbin/mount.fuse.aisle"), os.X_OK))
        conff = self.chroot("dpkg-query", "-W", "-f", "${Conffiles}", "aisle-node").stdout
        self.assertIn("/etc/aisle/proxy.json", conff)
        # The shipped configs parse in the packaged binary (a bad key would exit 2 here).
        r = self.chroot("aisle-node", "--config", "/etc/aisle/proxy.json", "--help")
        self.assertEqual(r.returncode, 0)

    def test_removal_keeps_user_and_data(self):
        # Runs after the install checks (name order); the image was imported in setUpClass.
        self.chroot("dpkg", "-r", "aisle-fs", "aisle", "aisle-node")
        self.assertFalse(os.path.exists(os.path.join(self.root, "usr/bin/aisle-node")))
        self.assertTrue(os.path.exists(os.path.join(self.root, "etc/aisle/proxy.json")))
        self.chroot("dpkg", "-P", "aisle-fs", "aisle-node")
        for f in ("proxy.json", "target-1.json", "fs-data.conf"):
            self.assertFalse(os.path.exists(os.path.join(self.root, "etc/aisle", f)), f)
        self.chroot("getent", "passwd", "aisle")
        self.assertTrue(os.path.isdir(os.path.join(self.root, "var/lib/aisle")))

    # -- the image -------------------------------------------------------------------------

    def test_image_cluster_smoke(self):
        port = free_port_block(4)
        self.__class__.cluster_up = True
        self.podman_cluster("up", "--image", self.tag, "--port", str(port), "--targets", "3")
        url = "http://127.0.0.1:%d" % port
        for n in ["proxy", "target1", "target2", "target3"]:
            r = run(["podman", "inspect", "-f", "{{.State.Running}}", "%s-%s" % (self.name, n)])
            self.assertEqual(r.stdout.strip(), "true")

        def curl(*args):
            return run(["curl", "-sS", "-L", "--fail-with-body", "--max-time", "30", *args],
                       timeout=60).stdout

        curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
             '{"action":"create-bck"}', url + "/v1/buckets/smoke")
        objs = {"o%02d/file.txt" % i: "object %d %s" % (i, "x" * i * 100) for i in range(12)}
        for name, body in objs.items():
            curl("-X", "PUT", "--data-binary", body, "%s/v1/objects/smoke/%s" % (url, name))
        listing = json.loads(curl("-X", "GET", "-H", "Content-Type: application/json", "-d",
                                  '{"action":"list","value":{}}',
                                  url + "/v1/buckets/smoke?provider=ais"))
        self.assertEqual(sorted(e["name"] for e in listing["entries"]), sorted(objs))
        for name, body in objs.items():
            self.assertEqual(curl("%s/v1/objects/smoke/%s" % (url, name)), body)
        smap = json.loads(curl(url + "/v1/daemon?what=smap"))
        self.assertEqual(len(smap["tmap"]), 3)
        # The CLI from the same image sees the same objects.
        r = run(["podman", "run", "--rm", "--runtime", "runc", "--network", "host",
                 "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
                 "--entrypoint", "aisle", self.tag, "--endpoint", url, "object", "ls",
                 "ais://smoke"], timeout=120)
        for name in objs:
            self.assertIn(name, r.stdout)
        # aisle-fs from the same image mounts the cluster inside a container (as the DaemonSet
        # does: /dev/fuse and CAP_SYS_ADMIN) and an ordinary program reads through the mount.
        script = ("aisle-fs %s /mnt && ls /mnt/smoke/o03 && cat /mnt/smoke/o03/file.txt; rc=$?; "
                  "fusermount3 -u /mnt; exit $rc" % url)
        r = run(["podman", "run", "--rm", "--runtime", "runc", "--network", "host",
                 "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
                 "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN", "--user", "root",
                 "--entrypoint", "sh", self.tag, "-c", script], timeout=120)
        self.assertEqual(r.stdout, "file.txt\n" + objs["o03/file.txt"])
        self.podman_cluster("down")
        self.__class__.cluster_up = False
        r = run(["podman", "ps", "-a", "--filter", "name=" + self.name, "--format",
                 "{{.Names}}"])
        self.assertEqual(r.stdout.strip(), "")

    def test_image_shipped_configs(self):
        # The conffiles as the units use them (--config), ports moved to free ones.
        port = free_port_block(2)
        url = "http://127.0.0.1:%d" % port
        common = ["podman", "run", "-d", "--runtime", "runc", "--network", "host", "--ulimit",
                  "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
        nodes = [("cfg-proxy", ["--config", "/etc/aisle/proxy.json", "--port", str(port)]),
                 ("cfg-target", ["--config", "/etc/aisle/target-1.json", "--port",
                                 str(port + 1), "--primary", url])]
        for n, args in nodes:
            name = "%s-%s" % (self.name, n)
            self.addCleanup(run, ["podman", "rm", "-f", "-t", "3", name], check=False)
            run(common + ["--name", name, self.tag] + args, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            r = run(["curl", "-sf", "--max-time", "5", url + "/v1/daemon?what=smap"],
                    check=False, timeout=30)
            if r.returncode == 0 and len(json.loads(r.stdout).get("tmap", {})) == 1:
                break
            if time.monotonic() > deadline:
                logs = run(["podman", "logs", "%s-cfg-target" % self.name], check=False)
                self.fail("no cluster from the shipped configs: %s%s" % (logs.stdout,
                                                                         logs.stderr))
            time.sleep(0.2)
        # The target's mountpath is the one of target-1.json, created by the node as aisle.
        r = run(["podman", "exec", "%s-cfg-target" % self.name, "stat", "-c", "%U %a",
                 "/var/lib/aisle/target-1/mp1"])
        self.assertEqual(r.stdout.strip(), "aisle 700")


if __name__ == "__main__":
    unittest.main()
