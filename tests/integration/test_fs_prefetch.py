"""aisle-fs batch prefetch (GetBatch) and shard member lookups, over real mounts of a real
1-proxy + 3-target cluster on 127.0.0.1.

What a read cost is counted on the targets (/metrics): object GETs, local reads (the targets
run on this host) and listing pages. A file served from the prefetch cache costs none of them.
Mounts and nodes are cleaned up by test_fs's and test_cluster's fixtures, even on failure.
"""

import hashlib
import io
import os
import random
import sys
import tarfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402
import test_cluster  # noqa: E402
from test_fs import Mount, fuse_available  # noqa: E402


def sha(b):
    return hashlib.sha256(b).hexdigest()


def counters(cluster, names=("ais_target_get_count", "ais_target_err_get_count",
                             "aisle_local_reads_total", "ais_target_lst_count")):
    """Sums of these counters over the targets."""
    out = dict.fromkeys(names, 0)
    for t in cluster.targets:
        text = requests.get(t.url + "/metrics", timeout=10).text
        for line in text.splitlines():
            parts = line.split()
            name = parts[0].split("{")[0] if parts else ""
            if len(parts) == 2 and name in out:
                out[name] += int(float(parts[1]))
    return out


def reads_cost(before, after):
    """Requests that moved object bytes: GETs (ok or not) and local reads."""
    keys = ("ais_target_get_count", "ais_target_err_get_count", "aisle_local_reads_total")
    return sum(after[k] - before[k] for k in keys)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
class FsPrefetchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = test_cluster.Cluster(3)
        cls.s = requests.Session()
        cls.blobs = {}

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        cls.cluster.cleanup()

    def setUp(self):
        self.mounts = []

    def tearDown(self):
        for m in self.mounts:
            m.stop()

    def mount(self, opts=""):
        m = Mount(self.cluster.url, opts=opts).start()
        self.mounts.append(m)
        return m

    def make_bucket(self, bucket, names, size_of):
        r = self.s.post(self.cluster.url + "/v1/buckets/" + bucket, json={"action": "create-bck"},
                        timeout=10)
        self.assertIn(r.status_code, (200, 409), r.text)
        rng = random.Random(bucket)
        data = {n: rng.randbytes(size_of(i)) for i, n in enumerate(names)}
        test_cluster.put_many(self.cluster.url, bucket, names, lambda n: data[n])
        return data

    def put(self, bucket, name, data):
        r = self.s.put(self.cluster.url + "/v1/objects/%s/%s" % (bucket, name), data=data,
                       timeout=30)
        self.assertEqual(r.status_code, 200, r.text)

    def check_all(self, m, bucket, data, order):
        for n in order:
            with open(m.path(bucket, n), "rb") as f:
                self.assertEqual(sha(f.read()), sha(data[n]), n)

    def test_sequential_reader_byte_checked_few_requests(self):
        names = ["d/f%04d" % i for i in range(300)]
        data = self.make_bucket("seq", names, lambda i: 20000 + 97 * i)
        m = self.mount()
        before = counters(self.cluster)
        self.check_all(m, "seq", data, names)  # by path, no readdir
        cost = reads_cost(before, counters(self.cluster))
        self.assertLess(cost, len(names) // 3, cost)

    def test_shuffled_reader_after_readdir(self):
        names = ["c%d/img%04d.jpg" % (i % 3, i) for i in range(300)]
        data = self.make_bucket("shuf", names, lambda i: 5000 + 131 * i)
        m = self.mount()
        for c in range(3):
            self.assertEqual(len(os.listdir(m.path("shuf", "c%d" % c))), 100)
        order = list(names)
        random.Random(7).shuffle(order)
        before = counters(self.cluster)
        self.check_all(m, "shuf", data, order)
        cost = reads_cost(before, counters(self.cluster))
        self.assertLess(cost, len(names) // 3, cost)

    def test_prefetch_off(self):
        names = ["p/f%03d" % i for i in range(60)]
        data = self.make_bucket("off", names, lambda i: 3000 + i)
        m = self.mount("prefetch=off")
        os.listdir(m.path("off", "p"))
        before = counters(self.cluster)
        self.check_all(m, "off", data, names)
        self.assertGreaterEqual(reads_cost(before, counters(self.cluster)), len(names))

    def test_memory_bound_reading_twice_the_budget(self):
        budget = 16 << 20
        names = ["m/f%04d" % i for i in range(400)]  # 400 x 80 KiB: 2x the budget
        data = self.make_bucket("mem", names, lambda i: 80 << 10)
        m = self.mount("prefetch_mem=16M")
        os.listdir(m.path("mem", "m"))
        base = rss_bytes(m.proc.pid)
        peak = base
        for i, n in enumerate(names):
            with open(m.path("mem", n), "rb") as f:
                self.assertEqual(sha(f.read()), sha(data[n]), n)
            if i % 20 == 0:
                peak = max(peak, rss_bytes(m.proc.pid))
        peak = max(peak, rss_bytes(m.proc.pid))
        # The cache itself stays within its budget; the rest is parse buffers and handles.
        self.assertLess(peak - base, budget + (24 << 20), (base, peak))

    def test_overwrite_while_cached_reads_new_version_after_ttl(self):
        names = ["o/f%02d" % i for i in range(40)]
        data = self.make_bucket("ow", names, lambda i: 4096)
        m = self.mount("dir_timeout=1,attr_timeout=1,entry_timeout=1,negative_timeout=1")
        os.listdir(m.path("ow", "o"))  # warms the whole directory
        time.sleep(0.5)
        new_same = os.urandom(4096)  # same size: only the version tells
        new_other = os.urandom(5000)
        self.put("ow", "o/f10", new_same)
        self.put("ow", "o/f20", new_other)
        time.sleep(1.5)  # past every TTL
        with open(m.path("ow", "o/f10"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(new_same))
        with open(m.path("ow", "o/f20"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(new_other))
        data["o/f10"], data["o/f20"] = new_same, new_other
        self.check_all(m, "ow", data, names)

    def test_missing_object_mid_batch(self):
        names = ["g/f%03d" % i for i in range(200)]  # 4 MB: more than 3/4 of 4M, no whole warm
        data = self.make_bucket("gone", names, lambda i: 20000)
        m = self.mount("prefetch_mem=4M,dir_timeout=60,attr_timeout=60,entry_timeout=60")
        os.listdir(m.path("gone", "g"))  # the listing (with the soon-missing names) is cached
        missing = {"g/f005", "g/f010", "g/f011"}
        for n in missing:
            r = self.s.delete(self.cluster.url + "/v1/objects/gone/" + n, timeout=10)
            self.assertEqual(r.status_code, 200, r.text)
        before = counters(self.cluster)
        for n in names:
            if n in missing:
                with self.assertRaises(OSError):
                    with open(m.path("gone", n), "rb") as f:
                        f.read()
            else:
                with open(m.path("gone", n), "rb") as f:
                    self.assertEqual(sha(f.read()), sha(data[n]), n)
        cost = reads_cost(before, counters(self.cluster))
        self.assertLess(cost, len(names) // 3, cost)


@unittest.skipUnless(fuse_available(), "needs /dev/fuse, fusermount3 and aisle-fs")
class FsShardMembersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = test_cluster.Cluster(3)
        s = requests.Session()
        r = s.post(cls.cluster.url + "/v1/buckets/sh", json={"action": "create-bck"}, timeout=10)
        assert r.status_code in (200, 409), r.text
        rng = random.Random(1)
        cls.members = {"m%05d.bin" % i: rng.randbytes(1024) for i in range(3000)}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for n, d in cls.members.items():
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        r = s.put(cls.cluster.url + "/v1/objects/sh/shard.tar", data=buf.getvalue(), timeout=60)
        assert r.status_code == 200, r.text
        s.close()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()

    def by_name_twice(self, opts):
        m = Mount(self.cluster.url, opts=opts).start()
        try:
            pick = random.Random(opts).sample(sorted(self.members), 400)
            for n in pick:  # no ls: each path is looked up by name
                with open(m.path("sh", "shard.tar", n), "rb") as f:
                    self.assertEqual(f.read(), self.members[n], n)
            # Let background work of the first pass (a whole-shard warm) finish: wait until the
            # servers' counters hold still (a fixed 0.5 s was too short on a loaded machine).
            before = counters(self.cluster)
            for _ in range(40):
                time.sleep(0.3)
                now = counters(self.cluster)
                if now == before:
                    break
                before = now
            for n in pick:
                with open(m.path("sh", "shard.tar", n), "rb") as f:
                    self.assertEqual(f.read(), self.members[n], n)
            after = counters(self.cluster)
            self.assertEqual(before, after, "the second pass reached a server")
        finally:
            m.stop()

    def test_members_by_name_without_ls(self):
        self.by_name_twice("entry_timeout=60,attr_timeout=60,dir_timeout=60")

    def test_members_by_name_prefetch_off(self):
        self.by_name_twice("prefetch=off,entry_timeout=60,attr_timeout=60,dir_timeout=60")


if __name__ == "__main__":
    tl.main()
