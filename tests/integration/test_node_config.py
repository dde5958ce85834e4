"""aisle-node --config FILE (the packages' units start nodes this way): a broken file ends the
process with exit code 2 and a message naming the file and, for a bad value, the key; a good
file starts a node (every key the flags have)."""

import json
import os
import subprocess
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402


class NodeConfigFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tl.make_tmpdir("aisle-cfg-")
        self.addCleanup(tl.remove_tmpdir, self.dir)

    def write(self, text, name="node.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def run_node(self, path, *extra):
        return subprocess.run([tl.node_bin(), "--config", path, *extra], capture_output=True,
                              text=True, timeout=30)

    def assert_refused(self, cfg, *needles):
        path = self.write(cfg)
        r = self.run_node(path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(path, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)
        return r.stderr

    def target(self, **kw):
        cfg = {"role": "target", "port": 0, "mountpaths": [os.path.join(self.dir, "mp")]}
        cfg.update(kw)
        return cfg

    def test_unknown_key(self):
        self.assert_refused(self.target(prot=8080), 'unknown key "prot"')

    def test_wrong_types(self):
        self.assert_refused(self.target(port="8080"), 'key "port"', "must be an integer",
                            "not string")
        self.assert_refused(self.target(mountpaths="/data"), 'key "mountpaths"',
                            "must be an array of strings")
        self.assert_refused(self.target(mountpaths=["/a", 3]), 'key "mountpaths"')
        self.assert_refused(self.target(auth="yes"), 'key "auth"', "must be a boolean")
        self.assert_refused(self.target(max_object_size=-1), 'key "max_object_size"',
                            "non-negative integer", "not -1")
        self.assert_refused(self.target(workers=1.5), 'key "workers"', "not 1.5")
        self.assert_refused(self.target(port=1 << 40), 'key "port"')
        self.assert_refused(self.target(s3_keys=[{"access_key": "a"}]), 'key "s3_keys"')

    def test_bad_json(self):
        err = self.assert_refused('{\n  "role": "target",\n  "port": 0,\n}\n', "invalid JSON",
                                  "line 4")
        self.assertNotIn("json.exception", err)  # the library's tag is noise
        self.assert_refused("[]", "must be a JSON object", "not array")
        self.assert_refused("", "invalid JSON")

    def test_missing_file(self):
        r = self.run_node(os.path.join(self.dir, "absent.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read config file " + os.path.join(self.dir, "absent.json"),
                      r.stderr)

    def test_good_file_starts_a_node(self):
        ready = os.path.join(self.dir, "ready")
        path = self.write(self.target(ready_file=ready, log_level="warn", workers=8,
                                      local_reads=False, s3_keys=[{"access_key": "ak",
                                                                   "secret_key": "sk"}]))
        proc = subprocess.Popen([tl.node_bin(), "--config", path], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        with tl._live_lock:
            tl._live_procs.add(proc)
        try:
            url = None
            for _ in range(200):
                if os.path.exists(ready) and os.path.getsize(ready) > 0:
                    with open(ready) as f:
                        url = f.read().strip()
                    break
                self.assertIsNone(proc.poll(), "node exited")
                time.sleep(0.1)
            self.assertIsNotNone(url, "no ready file")
            r = requests.get(url + "/v1/health", timeout=10)
            self.assertEqual(r.status_code, 200)
        finally:
            tl._kill_proc(proc)
            with tl._live_lock:
                tl._live_procs.discard(proc)


if __name__ == "__main__":
    unittest.main()
