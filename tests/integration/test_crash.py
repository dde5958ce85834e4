#!/usr/bin/python3
"""Crash consistency: kill -9 an aisle-node in the middle of 200 concurrent PUTs, restart it on
the same mountpaths, and check that acknowledged objects survive byte-exact, that nothing torn or
temporary is visible, and that unacknowledged objects are absent or complete (design.md §3)."""

import hashlib
import http.client
import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

from aisle_testlib import Node, main, xxh64_hex  # noqa: E402

T = 30
N_PUTS = 200
N_OVERWRITES = 20  # of the 200, this many overwrite objects that existed before the crash
KIB, MIB = 1024, 1024 * 1024


def sha(b):
    return hashlib.sha256(b).hexdigest()


def list_all(url, bucket, pagesize=37):
    names, token, uuid = [], "", ""
    while True:
        r = requests.get("%s/v1/buckets/%s" % (url, bucket), timeout=T,
                         json={"action": "list", "value": {"pagesize": pagesize, "continuation_token": token,
                                                           "uuid": uuid}})
        r.raise_for_status()
        res = r.json()
        uuid = res["uuid"]
        names += res["entries"]
        token = res["continuation_token"]
        if not token:
            return names


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class CrashTest(unittest.TestCase):
    def _node(self, n_mountpaths):
        node = Node(n_mountpaths=n_mountpaths)
        self.addCleanup(node.cleanup)
        node.start()
        return node

    def _put(self, node, bucket, name, data, results, lock, kill_at, start):
        start.wait()
        c = http.client.HTTPConnection(node.host, node.port, timeout=T)
        try:
            c.request("PUT", node.obj_path(bucket, name), body=data)
            r = c.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException) as e:
            status = "error: %r" % e
        finally:
            c.close()
        with lock:
            results[name] = status
            # the thread that sees the kill_at-th acknowledgement kills the node at once (the main
            # thread would wait for the GIL behind 200 busy senders)
            if status == 200 and sum(1 for s in results.values() if s == 200) == kill_at:
                os.kill(node.proc.pid, signal.SIGKILL)

    def run_crash(self, n_mountpaths, seed):
        rnd = random.Random(seed)
        node = self._node(n_mountpaths)
        node_id = node.node_id()
        bucket = "crash"
        self.assertEqual(requests.post(node.bck_url(bucket), json={"action": "create-bck"},
                                       timeout=T).status_code, 200)

        old = {}
        for i in range(N_OVERWRITES):
            name = "ow/%02d" % i
            old[name] = rnd.randbytes(rnd.randrange(KIB, 64 * KIB))
            r = requests.put(node.obj_url(bucket, name), data=old[name], timeout=T)
            self.assertEqual(r.status_code, 200, r.text)

        new = {}
        for i in range(N_PUTS - N_OVERWRITES):
            new["new/%03d" % i] = rnd.randbytes(rnd.randrange(KIB, 2 * MIB + 1))
        for name in old:
            new[name] = rnd.randbytes(rnd.randrange(KIB, 2 * MIB + 1))
        new_sha = {n: sha(d) for n, d in new.items()}
        old_sha = {n: sha(d) for n, d in old.items()}

        results, lock, start = {}, threading.Lock(), threading.Event()
        order = list(new)
        rnd.shuffle(order)
        kill_at = N_PUTS // 4
        threads = [threading.Thread(target=self._put, daemon=True,
                                    args=(node, bucket, n, new[n], results, lock, kill_at, start))
                   for n in order]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(T + 5)
        self.assertFalse(any(t.is_alive() for t in threads), "PUT threads hung after kill -9")
        node.kill9()  # reaps it (no-op kill if the threshold already killed it)
        acked = {n for n, s in results.items() if s == 200}
        rejected = {n: s for n, s in results.items() if isinstance(s, int) and s != 200}
        sys.stderr.write("\n[crash mp=%d] acked %d of %d before kill -9; %d in flight\n"
                         % (n_mountpaths, len(acked), N_PUTS, N_PUTS - len(acked) - len(rejected)))
        self.assertEqual(rejected, {}, "PUTs rejected before the crash")
        self.assertGreater(len(acked), 0)

        node.start()
        self.assertEqual(node.node_id(), node_id, "node ID changed across restart")
        s = requests.Session()

        def get(name):
            r = s.get(node.obj_url(bucket, name), timeout=T)
            return r

        # 1. every acknowledged PUT is there, byte-exact
        for name in sorted(acked):
            r = get(name)
            self.assertEqual(r.status_code, 200, "acked %s lost: %r" % (name, r.content[:300]))
            self.assertEqual(sha(r.content), new_sha[name], "acked %s reads back wrong (%d bytes, want %d)"
                             % (name, len(r.content), len(new[name])))
            self.assertEqual(r.headers.get("Ais-Checksum-Value"), xxh64_hex(r.content))

        # 2. everything listed is a known name and reads back complete (old or new content)
        listed = list_all(node.url, bucket)
        names = [e["name"] for e in listed]
        self.assertEqual(len(names), len(set(names)), "duplicate names in listing")
        unknown = [n for n in names if n not in new and n not in old]
        self.assertEqual(unknown, [], "listing shows names nobody PUT (temp files?)")
        for e in listed:
            n = e["name"]
            r = get(n)
            self.assertEqual(r.status_code, 200, "listed %s does not read: %s" % (n, r.status_code))
            got = sha(r.content)
            self.assertIn(got, (new_sha.get(n), old_sha.get(n)), "listed %s is torn (%d bytes)" % (n, len(r.content)))
            self.assertEqual(int(e.get("size", "0")), len(r.content), n)
            self.assertEqual(e["checksum"], xxh64_hex(r.content), n)

        # 3. unacknowledged new objects: absent or complete; overwrites: old or new, never gone
        for n in new:
            if n in acked:
                continue
            r = get(n)
            if n in old:
                self.assertEqual(r.status_code, 200, "overwritten %s vanished" % n)
                self.assertIn(sha(r.content), (new_sha[n], old_sha[n]), "overwritten %s torn" % n)
                self.assertIn(n, names)
            elif r.status_code == 200:
                self.assertEqual(sha(r.content), new_sha[n], "unacked %s torn" % n)
                self.assertIn(n, names)
            else:
                self.assertEqual(r.status_code, 404, r.content[:300])
                self.assertNotIn(n, names)
        for n in old:
            self.assertIn(n, names)

        # 4. temp files of interrupted PUTs are gone from disk after restart
        stored = sum(int(e.get("size", "0")) for e in listed)
        slack = 8 * MIB + 64 * KIB * len(listed)
        deadline = time.monotonic() + 5
        while True:
            on_disk = sum(dir_bytes(mp) for mp in node.mountpaths)
            if on_disk <= stored + slack or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertLessEqual(on_disk, stored + slack,
                             "%d bytes on disk for %d bytes of objects: leftover temp files?" % (on_disk, stored))

        # 5. the node works normally afterwards
        for n in list(new)[:5]:
            r = s.put(node.obj_url(bucket, n), data=new[n], timeout=T)
            self.assertEqual(r.status_code, 200)
            self.assertEqual(get(n).content, new[n])
        if n_mountpaths > 1:
            per_mp = [dir_bytes(mp) for mp in node.mountpaths]
            self.assertTrue(all(b > MIB for b in per_mp), "objects not spread over mountpaths: %s" % per_mp)
            mps = s.get(node.url + "/v1/daemon", params={"what": "mountpaths"}, timeout=T).json()
            self.assertEqual(len(mps["available"]), n_mountpaths)
        s.close()
        self.assertEqual(node.stop(), 0, "node did not exit 0 on SIGTERM")

    def test_kill9_midway_one_mountpath(self):
        self.run_crash(1, seed=1)

    def test_kill9_midway_two_mountpaths(self):
        self.run_crash(2, seed=2)

    def test_kill9_during_puts_and_deletes(self):
        """kill -9 while PUTs and DELETEs run concurrently: after the restart (which reads the
        object index, no object file) every acknowledged op holds, and the index and the files
        agree: every listed object reads back with its listed size, every object file is
        listed, unacknowledged ops are all-or-nothing."""
        node = self._node(2)
        bucket = "pdcrash"
        self.assertEqual(requests.post(node.bck_url(bucket), json={"action": "create-bck"},
                                       timeout=T).status_code, 200)
        rnd = random.Random(11)
        old = {"d/%03d" % i: rnd.randbytes(rnd.randrange(0, 32 * KIB)) for i in range(120)}
        s = requests.Session()
        for n, d in old.items():
            self.assertEqual(s.put(node.obj_url(bucket, n), data=d, timeout=T).status_code, 200)
        new = {"p/%03d" % i: rnd.randbytes(rnd.randrange(0, 256 * KIB)) for i in range(120)}
        ops = [("PUT", n) for n in new] + [("DELETE", n) for n in old]
        rnd.shuffle(ops)
        results, lock, kill_at = {}, threading.Lock(), len(ops) // 3

        def worker(chunk):
            c = http.client.HTTPConnection(node.host, node.port, timeout=T)
            for method, name in chunk:
                try:
                    c.request(method, node.obj_path(bucket, name),
                              body=new.get(name) if method == "PUT" else None)
                    r = c.getresponse()
                    r.read()
                    status = r.status
                except (OSError, http.client.HTTPException):
                    break
                with lock:
                    results[name] = status
                    if sum(1 for v in results.values() if v == 200) == kill_at:
                        os.kill(node.proc.pid, signal.SIGKILL)
            c.close()

        threads = [threading.Thread(target=worker, args=(ops[i::8],), daemon=True) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T + 5)
        self.assertFalse(any(t.is_alive() for t in threads), "workers hung after kill -9")
        node.kill9()
        acked = {n for n, st in results.items() if st == 200}
        self.assertEqual({n: st for n, st in results.items() if st != 200}, {})
        self.assertGreater(len(acked), 0)
        node.start()
        with open(node.log_path, "rb") as f:
            log = f.read()
        self.assertIn(b"unclean shutdown", log)
        self.assertNotIn(b"building the object index", log,
                         "restart scanned the object files")

        listed = {e["name"]: e for e in list_all(node.url, bucket)}
        for n in acked:
            r = s.get(node.obj_url(bucket, n), timeout=T)
            if n in new:
                self.assertEqual(r.status_code, 200, "acked PUT %s lost" % n)
                self.assertEqual(r.content, new[n], n)
                self.assertIn(n, listed)
            else:
                self.assertEqual(r.status_code, 404, "acked DELETE %s came back" % n)
                self.assertNotIn(n, listed)
        for n, e in listed.items():
            r = s.get(node.obj_url(bucket, n), timeout=T)
            self.assertEqual(r.status_code, 200, "listed %s does not read" % n)
            self.assertIn(r.content, (new.get(n), old.get(n)), "listed %s torn" % n)
            self.assertEqual(int(e.get("size", "0")), len(r.content), n)
        for n in set(new) | set(old):
            if n not in listed:
                self.assertEqual(s.get(node.obj_url(bucket, n), timeout=T).status_code, 404, n)
        files = 0
        for mp in node.mountpaths:
            for root, _, names in os.walk(os.path.join(mp, "ais", bucket)):
                if os.path.basename(root) != ".shards":
                    files += sum(1 for f in names if f != ".props")
        self.assertEqual(files, len(listed), "object files and the index disagree")
        s.close()
        self.assertEqual(node.stop(), 0)

    def test_kill9_during_inplace_appends(self):
        """kill -9 while appends to tar shards run in a loop (in place: undo record, tail,
        header, fsync): after each restart every shard opens with tarfile, every acknowledged
        member is there byte-exact, and at most the one in-flight member per shard is extra."""
        import io
        import tarfile

        node = self._node(2)
        bucket = "appcrash"
        self.assertEqual(requests.post(node.bck_url(bucket), json={"action": "create-bck"},
                                       timeout=T).status_code, 200)
        rnd = random.Random(7)
        shards = ["s%d.tar" % i for i in range(3)]
        acked = {s: {} for s in shards}  # shard -> member -> bytes
        for sh in shards:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tf:
                ti = tarfile.TarInfo("base.bin")
                data = rnd.randbytes(300 * KIB)
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            acked[sh]["base.bin"] = data
            r = requests.put(node.obj_url(bucket, sh), data=buf.getvalue(), timeout=T)
            self.assertEqual(r.status_code, 200)
        modes = set()
        rollbacks = 0  # kills that landed inside an in-place append (timing dependent)
        for cycle in range(3):
            stop = threading.Event()
            counts = [0]
            lock = threading.Lock()
            inflight = {}

            def appender(sh, seed):
                rr = random.Random(seed)
                s = requests.Session()
                i = 0
                while not stop.is_set():
                    name = "c%d/%05d" % (cycle, i)
                    data = rr.randbytes(rr.choice([0, 100, 4 * KIB, 64 * KIB, 700 * KIB]))
                    inflight[sh] = (name, data)
                    try:
                        r = s.put(node.obj_url(bucket, sh), params={"archpath": name}, data=data,
                                  timeout=T)
                    except requests.RequestException:
                        break
                    if r.status_code != 200:
                        break
                    with lock:
                        acked[sh][name] = data
                        modes.add(r.headers.get("Ais-Append-Mode"))
                        counts[0] += 1
                    i += 1
                s.close()

            threads = [threading.Thread(target=appender, args=(sh, cycle * 10 + k), daemon=True)
                       for k, sh in enumerate(shards)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while counts[0] < 30 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rnd.random() * 0.05)
            node.kill9()
            stop.set()
            for t in threads:
                t.join(T + 5)
            self.assertFalse(any(t.is_alive() for t in threads), "appenders hung after kill -9")
            self.assertGreater(counts[0], 0)
            node.start()
            with open(node.log_path, "rb") as f:
                rollbacks += f.read().count(b"rolling back an interrupted in-place append")
            for mp in node.mountpaths:
                self.assertEqual(os.listdir(os.path.join(mp, ".aisle", "undo")), [])
            s = requests.Session()
            for sh in shards:
                r = s.get(node.obj_url(bucket, sh), timeout=T)
                self.assertEqual(r.status_code, 200)
                self.assertEqual(r.headers.get("Ais-Checksum-Value"), xxh64_hex(r.content), sh)
                got = {}
                with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
                    for ti in tf.getmembers():
                        got[ti.name] = tf.extractfile(ti).read()
                for name, data in acked[sh].items():
                    self.assertIn(name, got, "acked %s/%s lost" % (sh, name))
                    self.assertEqual(got[name], data, "acked %s/%s differs" % (sh, name))
                extra = set(got) - set(acked[sh])
                self.assertLessEqual(len(extra), 1, "%s: unexpected members %s" % (sh, extra))
                if extra:  # the append in flight at the kill: complete or absent
                    name, data = inflight[sh]
                    self.assertEqual(extra, {name})
                    self.assertEqual(got[name], data)
                    acked[sh][name] = data
                for name in list(acked[sh])[-5:]:
                    m = s.get(node.obj_url(bucket, sh), params={"archpath": name}, timeout=T)
                    self.assertEqual(m.content, acked[sh][name], "%s/%s" % (sh, name))
            s.close()
        sys.stderr.write("\n[append crash] %d members acked over 3 kills; modes %s; %d undo "
                         "records rolled back\n"
                         % (sum(len(a) for a in acked.values()), sorted(modes), rollbacks))
        self.assertIn("inplace", modes)
        self.assertEqual(node.stop(), 0)

    def test_sigterm_finishes_inflight(self):
        node = self._node(1)
        bucket = "graceful"
        self.assertEqual(requests.post(node.bck_url(bucket), json={"action": "create-bck"},
                                       timeout=T).status_code, 200)
        datas = {"g%d" % i: os.urandom(4 * MIB) for i in range(4)}
        # slow senders: half the body now, the rest after SIGTERM
        conns = {}
        for n, d in datas.items():
            c = http.client.HTTPConnection(node.host, node.port, timeout=T)
            c.putrequest("PUT", node.obj_path(bucket, n))
            c.putheader("Content-Length", str(len(d)))
            c.endheaders()
            c.send(d[:len(d) // 2])
            conns[n] = c
        time.sleep(0.3)
        node.proc.terminate()
        time.sleep(0.3)
        statuses = {}
        for n, c in conns.items():
            try:
                c.send(datas[n][len(datas[n]) // 2:])
                r = c.getresponse()
                r.read()
                statuses[n] = r.status
            except (OSError, http.client.HTTPException) as e:
                statuses[n] = repr(e)
            c.close()
        rc = node.proc.wait(timeout=15)
        node._forget()
        self.assertEqual(rc, 0, "exit code after SIGTERM")
        self.assertEqual(statuses, {n: 200 for n in datas}, "in-flight PUTs not finished on SIGTERM")
        node.start()
        for n, d in datas.items():
            r = requests.get(node.obj_url(bucket, n), timeout=T)
            self.assertEqual(r.content, d, n)


if __name__ == "__main__":
    main()
