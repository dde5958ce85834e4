#!/usr/bin/env python3
"""The Kubernetes manifests (deploy/k8s, docs/DEPLOY.md "Kubernetes"), checked offline.

No cluster: every document must parse, and the names, labels, ports and volumes must agree
(selectors match pod labels, Service ports reach containerPorts, volumeMounts name volumes or
volumeClaimTemplates, referenced ConfigMap/Secret keys exist, probes hit ports that exist, the
URLs in the command lines name Services and pods that exist, the node configuration's paths
lie on the volumes meant for them). Then each container's command line runs with this build's
real binaries in their validate-and-exit modes (aisle-node --check-config, aisle-fs --check),
with the ConfigMap and Secret written where the pod would see them and $(VAR)s expanded as
the kubelet would. Broken copies of the manifests must be caught, so the checks can fail.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aisle_testlib as tl  # noqa: E402

import yaml  # noqa: E402  (python3-yaml, packaging/install-deps.sh)

K8S_DIR = os.path.join(tl.REPO, "deploy", "k8s")
IMAGE = "localhost/aisle:latest"
NODE = "/usr/bin/aisle-node"
FS = "/usr/bin/aisle-fs"
FS_BIN = os.environ.get("AISLE_FS_BIN") or os.path.join(tl.REPO, "build", "fs", "aisle-fs")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Pod")
FIELD_REFS = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.podIP")
HEALTH = "/v1/health"
POD_IP = "10.1.2.3"
TEST_SECRET = "k8s-test-secret-" + "x" * 40  # >= 32 bytes: what the docs tell users to create


# ------------------------------------------------------------------------------------------
# Loading


def load(root):
    """[(file, doc)] of every YAML document under root, and the parse problems."""
    docs, problems = [], []
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if not f.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            try:
                with open(path) as fh:
                    parsed = [d for d in yaml.safe_load_all(fh) if d is not None]
            except yaml.YAMLError as e:
                problems.append("%s: does not parse: %s" % (rel, e))
                continue
            for d in parsed:
                if not isinstance(d, dict) or not all(k in d for k in ("apiVersion", "kind")) \
                        or not (d.get("metadata") or {}).get("name"):
                    problems.append("%s: a document without apiVersion, kind or metadata.name" % rel)
                    continue
                docs.append((rel, d))
    if not docs:
        problems.append("no manifests under %s" % root)
    return docs, problems


def ns_of(d):
    return d["metadata"].get("namespace", "default")


def name_of(d):
    return "%s/%s" % (d["kind"], d["metadata"]["name"])


def pod_spec(d):
    return d.get("spec", {}) if d["kind"] == "Pod" else d["spec"]["template"].get("spec", {})


def pod_meta(d):
    return d["metadata"] if d["kind"] == "Pod" else d["spec"]["template"].get("metadata", {})


def containers(d):
    s = pod_spec(d)
    return list(s.get("initContainers") or []) + list(s.get("containers") or [])


def matches(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def port_of(c, ref):
    """The containerPort a probe or targetPort names (a name or a number), or None."""
    for p in c.get("ports") or []:
        if ref == p.get("name") or ref == p.get("containerPort"):
            return p["containerPort"]
    return None


def aisle_binary(c):
    cmd = c.get("command") or []
    return cmd[0] if cmd and cmd[0] in (NODE, FS) else None


class Index:
    def __init__(self, docs):
        self.docs = docs
        self.by = {}
        for _, d in docs:
            self.by.setdefault((d["kind"], ns_of(d), d["metadata"]["name"]), d)

    def get(self, kind, ns, name):
        return self.by.get((kind, ns, name))

    def workloads(self):
        return [d for _, d in self.docs if d["kind"] in WORKLOADS]

    def keys(self, kind, ns, name):
        d = self.get(kind, ns, name)
        if d is None:
            return None
        keys = set((d.get("data") or {}).keys())
        if kind == "Secret":
            keys |= set((d.get("stringData") or {}).keys())
        return keys

    def file_content(self, kind, ns, name, key):
        d = self.get(kind, ns, name)
        if kind == "Secret":
            if key in (d.get("stringData") or {}):
                return d["stringData"][key]
            import base64
            return base64.b64decode(d["data"][key]).decode()
        return d["data"][key]


# ------------------------------------------------------------------------------------------
# Static cross-checks

# The fields these manifests may use where a misspelling would go unnoticed offline (the API
# server rejects unknown fields; a parser does not). Not a schema: extend when adding fields.
KNOWN = {
    "metadata": {"name", "namespace", "labels", "annotations"},
    "pod": {"containers", "initContainers", "volumes", "nodeSelector", "restartPolicy",
            "terminationGracePeriodSeconds", "securityContext", "affinity", "tolerations",
            "hostNetwork", "dnsPolicy", "serviceAccountName", "priorityClassName"},
    "container": {"name", "image", "imagePullPolicy", "command", "args", "env", "ports",
                  "readinessProbe", "livenessProbe", "startupProbe", "resources",
                  "volumeMounts", "securityContext", "restartPolicy", "workingDir"},
    "volumeMount": {"name", "mountPath", "readOnly", "mountPropagation", "subPath"},
    "probe": {"httpGet", "exec", "tcpSocket", "periodSeconds", "failureThreshold",
              "initialDelaySeconds", "timeoutSeconds", "successThreshold"},
    "volume": {"name", "configMap", "secret", "hostPath", "emptyDir", "persistentVolumeClaim"},
    "StatefulSet": {"serviceName", "replicas", "podManagementPolicy", "selector", "template",
                    "volumeClaimTemplates", "updateStrategy"},
    "DaemonSet": {"selector", "template", "updateStrategy"},
    "Deployment": {"replicas", "selector", "template", "strategy"},
    "Service": {"selector", "ports", "clusterIP", "publishNotReadyAddresses", "type"},
    "servicePort": {"name", "port", "targetPort", "protocol"},
}
PROPAGATION = ("None", "HostToContainer", "Bidirectional")


def check_keys(d, problems):
    where = name_of(d)

    def known(obj, kind, at):
        for k in sorted(set(obj or {}) - KNOWN[kind]):
            problems.append("%s: unknown field %s in %s" % (where, k, at))

    known(d["metadata"], "metadata", "metadata")
    if d["kind"] in KNOWN:
        known(d.get("spec"), d["kind"], "spec")
    if d["kind"] == "Service":
        for p in d["spec"].get("ports") or []:
            known(p, "servicePort", "a Service port")
    if d["kind"] not in WORKLOADS:
        return
    if d["kind"] != "Pod":
        known(pod_meta(d), "metadata", "the pod template's metadata")
    known(pod_spec(d), "pod", "the pod spec")
    for v in pod_spec(d).get("volumes") or []:
        known(v, "volume", "volume %s" % v.get("name"))
    for c in containers(d):
        known(c, "container", "container %s" % c.get("name"))
        for m in c.get("volumeMounts") or []:
            known(m, "volumeMount", "container %s volumeMount %s" % (c.get("name"), m.get("name")))
            if m.get("mountPropagation", "None") not in PROPAGATION:
                problems.append("%s: mountPropagation %s" % (where, m["mountPropagation"]))
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in c:
                known(c[probe], "probe", "container %s %s" % (c.get("name"), probe))


def volume_source(spec, name):
    for v in spec.get("volumes") or []:
        if v.get("name") == name:
            return v
    return None


def check_refs(idx, d, problems):
    """ConfigMap and Secret references of a workload: the objects and keys exist."""
    ns, where = ns_of(d), name_of(d)
    spec = pod_spec(d)

    def need(kind, name, key):
        keys = idx.keys(kind, ns, name)
        if keys is None:
            problems.append("%s: %s %s/%s does not exist" % (where, kind, ns, name))
        elif key is not None and key not in keys:
            problems.append("%s: %s %s has no key %s" % (where, kind, name, key))

    for v in spec.get("volumes") or []:
        for kind, src, field in (("ConfigMap", v.get("configMap"), "name"),
                                 ("Secret", v.get("secret"), "secretName")):
            if src is None:
                continue
            need(kind, src.get(field), None)
            for item in src.get("items") or []:
                need(kind, src.get(field), item.get("key"))
    for c in containers(d):
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "configMapKeyRef" in vf:
                need("ConfigMap", vf["configMapKeyRef"]["name"], vf["configMapKeyRef"]["key"])
            if "secretKeyRef" in vf:
                need("Secret", vf["secretKeyRef"]["name"], vf["secretKeyRef"]["key"])
            if "fieldRef" in vf and vf["fieldRef"].get("fieldPath") not in FIELD_REFS:
                problems.append("%s: env %s: unknown fieldRef %s" %
                                (where, e["name"], vf["fieldRef"].get("fieldPath")))


def check_workload(idx, d, problems):
    where, ns = name_of(d), ns_of(d)
    spec, labels = pod_spec(d), pod_meta(d).get("labels") or {}
    if d["kind"] != "Pod":
        sel = (d["spec"].get("selector") or {}).get("matchLabels")
        if not matches(sel, labels):
            problems.append("%s: selector %s does not match the pod labels %s" % (where, sel, labels))
    volumes = {v["name"] for v in spec.get("volumes") or []}
    claims = {t["metadata"]["name"] for t in d["spec"].get("volumeClaimTemplates") or []} \
        if d["kind"] == "StatefulSet" else set()
    if volumes & claims:
        problems.append("%s: volumes and volumeClaimTemplates share names %s" % (where, volumes & claims))
    used = set()
    for c in containers(d):
        cw = "%s container %s" % (where, c["name"])
        if aisle_binary(c) and c.get("image") != IMAGE:
            problems.append("%s: image %s, not %s" % (cw, c.get("image"), IMAGE))
        if aisle_binary(c) and (c.get("securityContext") or {}).get("runAsUser") != 0:
            # The image runs as user aisle, which owns neither the volumes nor /dev/fuse.
            problems.append("%s: runs as root (securityContext.runAsUser: 0)" % cw)
        names = [p.get("name") for p in c.get("ports") or [] if p.get("name")]
        if len(names) != len(set(names)):
            problems.append("%s: duplicate port names" % cw)
        for m in c.get("volumeMounts") or []:
            used.add(m["name"])
            if m["name"] not in volumes | claims:
                problems.append("%s: volumeMount %s names no volume or volumeClaimTemplate" %
                                (cw, m["name"]))
            if m.get("mountPropagation") == "Bidirectional" and \
                    not (c.get("securityContext") or {}).get("privileged"):
                problems.append("%s: Bidirectional mount propagation needs a privileged container" % cw)
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            hg = (c.get(probe) or {}).get("httpGet")
            if hg is not None and port_of(c, hg.get("port")) is None:
                problems.append("%s: %s port %s is not a containerPort" % (cw, probe, hg.get("port")))
        if aisle_binary(c) == NODE:
            for probe in ("readinessProbe", "livenessProbe"):
                path = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                if path != HEALTH:
                    problems.append("%s: %s must GET %s (has %s)" % (cw, probe, HEALTH, path))
        defined = {e["name"] for e in c.get("env") or []}
        for arg in (c.get("command") or []) + (c.get("args") or []):
            for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                if var not in defined:
                    problems.append("%s: $(%s) in the command line is not in env" % (cw, var))
    for unused in sorted((volumes | claims) - used):
        problems.append("%s: volume %s is mounted nowhere" % (where, unused))
    ann = pod_meta(d).get("annotations") or {}
    if ann.get("prometheus.io/scrape") == "true":
        port = ann.get("prometheus.io/port")
        listening = port is not None and port.isdigit() and \
            any(port_of(c, int(port)) for c in containers(d))
        if not listening:
            problems.append("%s: prometheus.io/port %s is not a containerPort" % (where, port))
        if ann.get("prometheus.io/path") != "/metrics":
            problems.append("%s: prometheus.io/path is not /metrics" % where)
    elif any(aisle_binary(c) == NODE for c in containers(d)):
        problems.append("%s: aisle-node pods carry prometheus.io/scrape annotations" % where)
    if d["kind"] == "StatefulSet":
        svc = idx.get("Service", ns, d["spec"].get("serviceName"))
        if svc is None:
            problems.append("%s: serviceName %s is not a Service" % (where, d["spec"].get("serviceName")))
        elif svc["spec"].get("clusterIP") != "None":
            problems.append("%s: serviceName %s is not headless" % (where, svc["metadata"]["name"]))
        elif not matches(svc["spec"].get("selector"), labels):
            problems.append("%s: its Service %s does not select its pods" % (where, svc["metadata"]["name"]))
    check_refs(idx, d, problems)


def check_service(idx, s, problems):
    where, ns = name_of(s), ns_of(s)
    sel = s["spec"].get("selector")
    pods = [w for w in idx.workloads() if ns_of(w) == ns and matches(sel, pod_meta(w).get("labels"))]
    if not pods:
        problems.append("%s: selector %s matches no pods" % (where, sel))
        return
    for p in s["spec"].get("ports") or []:
        tp = p.get("targetPort", p.get("port"))
        for w in pods:
            if not any(port_of(c, tp) for c in containers(w)):
                problems.append("%s: port %s targets %s, not a containerPort of %s" %
                                (where, p.get("name", p.get("port")), tp, name_of(w)))


def resolve_url(idx, url, ns_default):
    """A cluster-DNS URL -> (port the pod listens on, pod name or None, workload) or a problem."""
    m = re.match(r"^http://([a-z0-9.-]+):(\d+)(/.*)?$", url)
    if not m:
        return None, "%s: not http://HOST:PORT[/BUCKET]" % url
    labels, port = m.group(1).split("."), int(m.group(2))
    if labels[-1] != "svc" or len(labels) not in (3, 4):
        return None, "%s: not <service>.<ns>.svc or <pod>.<service>.<ns>.svc" % url
    pod = labels[0] if len(labels) == 4 else None
    svc_name, ns = labels[-3], labels[-2]
    svc = idx.get("Service", ns, svc_name)
    if svc is None:
        return None, "%s: no Service %s in namespace %s" % (url, svc_name, ns)
    if pod is None:
        for p in svc["spec"].get("ports") or []:
            if p["port"] == port:
                return (p.get("targetPort", port), None, svc), None
        return None, "%s: Service %s has no port %d" % (url, svc_name, port)
    if svc["spec"].get("clusterIP") != "None":
        return None, "%s: Service %s is not headless: no per-pod DNS names" % (url, svc_name)
    for w in idx.workloads():
        if w["kind"] == "StatefulSet" and ns_of(w) == ns and w["spec"].get("serviceName") == svc_name:
            base = w["metadata"]["name"]
            m2 = re.match(r"^%s-(\d+)$" % re.escape(base), pod)
            if m2 and int(m2.group(1)) < max(1, w["spec"].get("replicas", 1)):
                return (port, pod, w), None
    return None, "%s: no pod %s behind Service %s" % (url, pod, svc_name)


def check_node_args(idx, d, problems):
    """The node configuration in the ConfigMap against the pod: paths on the right volumes,
    the port the container exposes, the URLs it joins."""
    where, ns = name_of(d), ns_of(d)
    spec = pod_spec(d)
    for c in containers(d):
        if aisle_binary(c) is None:
            continue
        mounts = {m["mountPath"].rstrip("/"): m for m in c.get("volumeMounts") or []}

        def mount_of(path):
            best = None
            for mp in mounts:
                if path == mp or path.startswith(mp + "/"):
                    best = mp if best is None or len(mp) > len(best) else best
            return mounts.get(best)

        def file_in(path, kinds):
            """The (kind, object, key) a file path is in, per the pod's volumes."""
            m = mount_of(path)
            if m is None:
                return None
            v = volume_source(spec, m["name"]) or {}
            rel = os.path.relpath(path, m["mountPath"])
            for kind, src, field in (("ConfigMap", v.get("configMap"), "name"),
                                     ("Secret", v.get("secret"), "secretName")):
                if src is None or kind not in kinds:
                    continue
                items = src.get("items")
                key = next((i["key"] for i in items if i["path"] == rel), None) if items else rel
                if key is not None and key in (idx.keys(kind, ns, src[field]) or set()):
                    return kind, src[field], key
            return None

        args = c.get("args") or []
        if aisle_binary(c) == FS:
            pos, skip = [], False
            for a in args:
                if not skip and not a.startswith("-"):
                    pos.append(a)
                skip = a in ("-o", "--token-file")
            why = resolve_url(idx, pos[0], ns)[1] if pos else "missing"
            if why:
                problems.append("%s: aisle-fs endpoint: %s" % (where, why))
            continue
        # Node flags are written --flag=value, so that they can be read here without the
        # binary's flag table (the run with --check-config reads them the binary's way).
        for a in args:
            boolean = a in ("--auth", "--validate-get", "--no-local-reads")
            if not (a.startswith("--") and "=" in a) and not boolean:
                problems.append("%s: node argument %s: write --flag=value" % (where, a))
        flags = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
        src = file_in(flags.get("config", ""), ("ConfigMap",))
        if src is None:
            problems.append("%s: --config %s is not a ConfigMap key mounted in the pod" %
                            (where, flags.get("config")))
            continue
        try:
            cfg = json.loads(idx.file_content(src[0], ns, src[1], src[2]))
        except ValueError as e:
            problems.append("%s: %s key %s is not JSON: %s" % (where, src[1], src[2], e))
            continue
        http = port_of(c, "http")
        if cfg.get("port", 8080) != http:
            problems.append("%s: config port %s, containerPort http %s" % (where, cfg.get("port"), http))
        secret = cfg.get("cluster_secret_file")
        if not secret or file_in(secret, ("Secret",)) is None:
            problems.append("%s: cluster_secret_file %s is not a Secret key mounted in the pod" %
                            (where, secret))
        claims = {t["metadata"]["name"] for t in d["spec"].get("volumeClaimTemplates") or []} \
            if d["kind"] == "StatefulSet" else set()
        pvc_mounts = sorted(m["mountPath"].rstrip("/") for m in mounts.values() if m["name"] in claims)
        if cfg.get("role") == "target":
            mps = [p.rstrip("/") for p in cfg.get("mountpaths") or []]
            if sorted(mps) != pvc_mounts:
                problems.append("%s: mountpaths %s are not the PersistentVolumeClaim mounts %s" %
                                (where, mps, pvc_mounts))
        else:
            if cfg.get("data_dir", "").rstrip("/") not in pvc_mounts:
                problems.append("%s: data_dir %s is not a PersistentVolumeClaim mount" %
                                (where, cfg.get("data_dir")))
        if d["kind"] != "StatefulSet":
            problems.append("%s: aisle-node runs in a StatefulSet (stable IDs and URLs)" % where)
            continue
        adv = flags.get("advertise-host", "")
        want = "$(POD_NAME).%s.$(POD_NAMESPACE).svc" % d["spec"].get("serviceName")
        if adv != want:
            problems.append("%s: --advertise-host %s, want %s" % (where, adv, want))
        env = {e["name"]: (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
               for e in c.get("env") or []}
        for var, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"),
                           ("AISLE_NODE_ID", "metadata.name")):
            if env.get(var) != field:
                problems.append("%s: env %s must come from %s" % (where, var, field))
        primary = flags.get("primary", "").replace("$(POD_NAMESPACE)", ns)
        r, why = resolve_url(idx, primary, ns)
        if why:
            problems.append("%s: --primary %s" % (where, why))
        elif r[1] is None or r[2]["kind"] != "StatefulSet" or \
                r[1] != r[2]["metadata"]["name"] + "-0":
            problems.append("%s: --primary %s is not pod 0 of the proxies" % (where, primary))
        else:
            pc = next((x for x in containers(r[2]) if aisle_binary(x) == NODE), None)
            if pc is None or port_of(pc, r[0]) is None:
                problems.append("%s: --primary port %s is not the proxy's containerPort" % (where, r[0]))


def check(root):
    docs, problems = load(root)
    idx = Index(docs)
    seen = set()
    for rel, d in docs:
        key = (d["kind"], ns_of(d), d["metadata"]["name"])
        if key in seen:
            problems.append("%s: %s defined twice" % (rel, name_of(d)))
        seen.add(key)
        try:
            check_keys(d, problems)
            if d["kind"] in WORKLOADS:
                check_workload(idx, d, problems)
                check_node_args(idx, d, problems)
            elif d["kind"] == "Service":
                check_service(idx, d, problems)
            elif d["kind"] == "ConfigMap":
                for k, v in (d.get("data") or {}).items():
                    if k.endswith(".json"):
                        try:
                            json.loads(v)
                        except ValueError as e:
                            problems.append("%s: ConfigMap key %s is not JSON: %s" % (rel, k, e))
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            problems.append("%s: %s has an unexpected shape: %r" % (rel, name_of(d), e))
    return problems


# ------------------------------------------------------------------------------------------
# The command lines, run with the real binaries


def pod_names(d):
    base = d["metadata"]["name"]
    if d["kind"] == "StatefulSet":
        # Pod 0 and pod 1 (even beyond replicas: scaling up must work too).
        return ["%s-0" % base, "%s-1" % base]
    if d["kind"] == "Pod":
        return [base]
    return ["%s-x7k2q" % base]


def run_commands(root, secret=TEST_SECRET):
    """Runs every aisle container's command line in its check mode as each of some pods.
    Returns (problems, [(pod, container, parsed output)])."""
    docs, problems = load(root)
    idx = Index(docs)
    results = []
    for d in idx.workloads():
        ns = ns_of(d)
        spec = pod_spec(d)
        for pod in pod_names(d):
            for c in containers(d):
                binary = aisle_binary(c)
                if binary is None:
                    continue
                fake_root = tempfile.mkdtemp(prefix="aisle-k8s-")
                try:
                    out, why = run_one(idx, ns, spec, c, pod, binary, fake_root, secret)
                finally:
                    shutil.rmtree(fake_root, ignore_errors=True)
                where = "%s pod %s container %s" % (name_of(d), pod, c["name"])
                if why:
                    problems.append("%s: %s" % (where, why))
                else:
                    results.append((d, pod, c, out))
    return problems, results


def run_one(idx, ns, spec, c, pod, binary, fake_root, secret):
    mounts = sorted((m["mountPath"].rstrip("/") for m in c.get("volumeMounts") or []),
                    key=len, reverse=True)

    def relocate(path):
        for mp in mounts:
            if path == mp or path.startswith(mp + "/"):
                return fake_root + path
        return path

    # The pod's files: ConfigMap and Secret volumes written out, other volumes as directories.
    for m in c.get("volumeMounts") or []:
        where = fake_root + m["mountPath"]
        os.makedirs(where, exist_ok=True)
        v = volume_source(spec, m["name"]) or {}
        for kind, src, field in (("ConfigMap", v.get("configMap"), "name"),
                                 ("Secret", v.get("secret"), "secretName")):
            if src is None:
                continue
            keys = idx.keys(kind, ns, src[field]) or set()
            items = src.get("items") or [{"key": k, "path": k} for k in sorted(keys)]
            for it in items:
                if it["key"] not in keys:
                    return None, "%s %s has no key %s" % (kind, src[field], it["key"])
                text = idx.file_content(kind, ns, src[field], it["key"])
                if kind == "Secret" and secret is not None:
                    text = secret
                if kind == "ConfigMap" and it["key"].endswith(".json"):
                    cfg = json.loads(text)
                    for k, val in cfg.items():
                        if isinstance(val, str):
                            cfg[k] = relocate(val)
                        elif isinstance(val, list):
                            cfg[k] = [relocate(x) if isinstance(x, str) else x for x in val]
                    text = json.dumps(cfg)
                os.makedirs(os.path.dirname(os.path.join(where, it["path"])), exist_ok=True)
                with open(os.path.join(where, it["path"]), "w") as fh:
                    fh.write(text)
    # The container's environment as the kubelet sets it, then $(VAR) expansion.
    fields = {"metadata.name": pod, "metadata.namespace": ns, "spec.nodeName": "node-a",
              "status.podIP": POD_IP}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISLE_", "AIS_"))}
    cenv = {}
    for e in c.get("env") or []:
        vf = e.get("valueFrom") or {}
        if "fieldRef" in vf:
            cenv[e["name"]] = fields[vf["fieldRef"]["fieldPath"]]
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"]
            cenv[e["name"]] = idx.file_content("ConfigMap", ns, r["name"], r["key"])
        elif "secretKeyRef" in vf:
            r = vf["secretKeyRef"]
            cenv[e["name"]] = idx.file_content("Secret", ns, r["name"], r["key"])
        else:
            cenv[e["name"]] = str(e.get("value", ""))
    env.update(cenv)

    def expand(s):
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: cenv.get(m.group(1), m.group(0)), s)

    argv = [expand(a) for a in (c.get("command") or [])[1:] + (c.get("args") or [])]
    fixed = []
    for a in argv:
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            fixed.append(k + "=" + relocate(v))
        else:
            fixed.append(relocate(a))
    if binary == NODE:
        cmd = [tl.node_bin()] + fixed + ["--check-config"]
    else:
        cmd = [FS_BIN, "--check"] + fixed
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return None, "%s exits %d: %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout).strip())
    if binary == FS:
        return {"stdout": p.stdout}, None
    out = json.loads(p.stdout)
    # Back to the paths the pod sees.
    for k in ("data_dir", "cluster_secret_file"):
        out[k] = out[k].replace(fake_root, "", 1)
    out["mountpaths"] = [m.replace(fake_root, "", 1) for m in out["mountpaths"]]
    return out, None


# ------------------------------------------------------------------------------------------


def broken_copy(edits):
    """A copy of deploy/k8s with each (file, old, new) edit made once; the edit must apply."""
    d = tempfile.mkdtemp(prefix="aisle-k8s-broken-")
    root = os.path.join(d, "k8s")
    shutil.copytree(K8S_DIR, root)
    for f, old, new in edits:
        path = os.path.join(root, f)
        with open(path) as fh:
            text = fh.read()
        assert old in text, "%s: %r not found (the test's edit is stale)" % (f, old)
        with open(path, "w") as fh:
            fh.write(text.replace(old, new, 1))
    return d, root


class K8sManifestsTest(unittest.TestCase):
    def test_manifests_agree(self):
        docs, problems = load(K8S_DIR)
        self.assertEqual(problems, [])
        kinds = sorted({d["kind"] for _, d in docs})
        for k in ("ConfigMap", "DaemonSet", "Namespace", "Pod", "Secret", "Service", "StatefulSet"):
            self.assertIn(k, kinds)
        self.assertEqual(check(K8S_DIR), [])

    def test_broken_copies_are_caught(self):
        cases = [
            ("service targetPort", [("20-proxy.yaml", "targetPort: http", "targetPort: https")],
             "not a containerPort"),
            ("volumeMount name", [("30-target.yaml", "- name: mp1\n              mountPath",
                                   "- name: mp2\n              mountPath")],
             "volumeMount mp2 names no volume"),
            ("mountpath off its PVC", [("10-config.yaml", "/var/lib/aisle/mp1", "/var/lib/aisle/mp9")],
             "are not the PersistentVolumeClaim mounts"),
            ("probe port", [("30-target.yaml", "port: http\n            periodSeconds: 5",
                             "port: 9090\n            periodSeconds: 5")],
             "readinessProbe port 9090"),
            ("selector", [("30-target.yaml", "    matchLabels:\n      app.kubernetes.io/name: aisle-target",
                           "    matchLabels:\n      app.kubernetes.io/name: aisle-targets")],
             "does not match the pod labels"),
            ("secret key", [("20-proxy.yaml", "- key: cluster-secret", "- key: secret")],
             "has no key secret"),
            ("configmap name", [("10-config.yaml", "name: aisle-config", "name: aisle-conf")],
             "ConfigMap aisle/aisle-config does not exist"),
            ("primary not headless", [("30-target.yaml", "aisle-proxy-0.aisle-proxy-hl.",
                                       "aisle-proxy-0.aisle-proxy.")],
             "is not headless"),
            ("config port", [("10-config.yaml", '"port": 8080', '"port": 8081')],
             "config port 8081"),
            ("advertise host", [("30-target.yaml", "$(POD_NAME).aisle-target.", "$(POD_NAME).aisle-tgt.")],
             "--advertise-host"),
            ("fs endpoint", [("40-aisle-fs.yaml", "http://aisle-proxy.aisle.svc:8080",
                              "http://aisle-proxy.aisle.svc:8081")],
             "has no port 8081"),
            ("scrape port", [("20-proxy.yaml", 'prometheus.io/port: "8080"', 'prometheus.io/port: "9100"')],
             "prometheus.io/port 9100"),
            ("image user", [("30-target.yaml", "runAsUser: 0\n", "runAsUser: 1000\n")],
             "runs as root"),
            ("misspelled field", [("40-aisle-fs.yaml", "mountPropagation: Bidirectional",
                                   "mountPropogation: Bidirectional")],
             "unknown field mountPropogation"),
            ("yaml syntax", [("30-target.yaml", "  replicas: 3", "  replicas: [3")], "does not parse"),
        ]
        for label, edits, want in cases:
            with self.subTest(label):
                d, root = broken_copy(edits)
                try:
                    problems = check(root)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
                self.assertTrue(any(want in p for p in problems),
                                "%s: %r not among %s" % (label, want, problems))

    def test_command_lines_with_real_binaries(self):
        for b in (tl.node_bin(), FS_BIN):
            self.assertTrue(os.access(b, os.X_OK), "%s is not built" % b)
        problems, results = run_commands(K8S_DIR)
        self.assertEqual(problems, [])
        seen = set()
        for d, pod, c, out in results:
            name = d["metadata"]["name"]
            if aisle_binary(c) == FS:
                self.assertIn("endpoint http://aisle-proxy.aisle.svc:8080", out["stdout"])
                seen.add("fs")
                continue
            ns = ns_of(d)
            self.assertEqual(out["id"], pod)
            self.assertEqual(out["advertise_host"], "%s.%s.%s.svc" % (pod, d["spec"]["serviceName"], ns))
            self.assertEqual(out["host"], "0.0.0.0")
            self.assertEqual(out["port"], port_of(c, "http"))
            self.assertEqual(out["cluster_secret_file"], "/etc/aisle/secret/cluster-secret")
            primary = "http://aisle-proxy-0.aisle-proxy-hl.%s.svc:8080" % ns
            if out["role"] == "proxy":
                seen.add(pod)
                # Pod 0 finds its own URL in --primary: it is the primary; the others join it.
                self.assertEqual(out["primary"], pod == name + "-0", pod)
                self.assertEqual(out["primary_url"], "" if pod == name + "-0" else primary)
                self.assertEqual(out["data_dir"], "/var/lib/aisle/proxy")
            else:
                seen.add(pod)
                self.assertEqual(out["primary_url"], primary)
                self.assertEqual(out["mountpaths"], ["/var/lib/aisle/mp0", "/var/lib/aisle/mp1"])
        self.assertEqual(seen, {"aisle-proxy-0", "aisle-proxy-1", "aisle-target-0", "aisle-target-1", "fs"})

    def test_placeholder_secret_is_refused(self):
        # examples/secret.yaml is a placeholder: a node given it as-is must not start.
        problems, _ = run_commands(K8S_DIR, secret=None)
        self.assertTrue(problems)
        self.assertTrue(all("exits 2" in p and "cluster secret" in p for p in problems
                            if "aisle-node" in p), problems)

    def test_broken_command_lines_are_caught(self):
        cases = [
            ("unknown node flag", [("30-target.yaml", "- --advertise-host=", "- --advertize-host=")],
             "exits 2"),
            ("bad config value", [("10-config.yaml", '"role": "target"', '"role": "storage"')],
             "exits 2"),
            ("unknown fs option", [("40-aisle-fs.yaml", "allow_other,ro", "allow_other,rw_please")],
             "exits 2"),
        ]
        for label, edits, want in cases:
            with self.subTest(label):
                d, root = broken_copy(edits)
                try:
                    problems, _ = run_commands(root)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
                self.assertTrue(any(want in p for p in problems),
                                "%s: %r not among %s" % (label, want, problems))


class NamedNode(tl.Node):
    """A node as the manifests run it, on loopback: it listens on 127.0.0.1 and advertises the
    name "localhost" (in a pod: 0.0.0.0 and its DNS name); every proxy gets the same --primary,
    the URL of proxy 0."""

    def __init__(self, role, port, primary_url, node_id):
        super().__init__(n_mountpaths=1 if role == "target" else 0)
        self.role, self.fixed_port, self.primary_url, self.node_id_ = role, port, primary_url, node_id

    def build_args(self, ready):
        args = [self.binary, "--role", self.role, "--host", "127.0.0.1", "--port", str(self.fixed_port),
                "--advertise-host", "localhost", "--primary", self.primary_url, "--id", self.node_id_,
                "--ready-file", ready]
        if self.role == "proxy":
            return args + ["--data-dir", os.path.join(self.dir, "meta")]
        return args + sum((["--mountpath", mp] for mp in self.mountpaths), [])


class AdvertiseHostTest(unittest.TestCase):
    """--advertise-host and the self-naming --primary on real nodes: the map, the redirects and
    the joins use the advertised name."""

    def test_cluster_by_advertised_names(self):
        import requests
        ports = [tl.free_port() for _ in range(3)]
        primary = "http://localhost:%d" % ports[0]
        nodes = [NamedNode("proxy", ports[0], primary, "proxy-0"),
                 NamedNode("proxy", ports[1], primary, "proxy-1"),
                 NamedNode("target", ports[2], primary, "target-0")]
        try:
            for n in nodes:
                self.assertEqual(n.start(), "http://localhost:%d" % n.fixed_port)
            smap = requests.get(primary + "/v1/daemon?what=smap", timeout=10).json()
            self.assertEqual(smap["proxy_si"]["daemon_id"], "proxy-0")  # found itself in --primary
            self.assertEqual(sorted(smap["pmap"]), ["proxy-0", "proxy-1"])
            self.assertEqual(smap["tmap"]["target-0"]["public_net"]["node_ip_addr"], "localhost")
            self.assertEqual(smap["tmap"]["target-0"]["public_net"]["direct_url"],
                             "http://localhost:%d" % ports[2])
            via = "http://127.0.0.1:%d" % ports[1]  # the non-primary proxy
            r = requests.post(via + "/v1/buckets/k8s", json={"action": "create-bck"}, timeout=10)
            self.assertEqual(r.status_code, 200, r.text)
            deadline = time.monotonic() + 10
            while True:  # the bucket reaches the target with the next map push
                r = requests.put(via + "/v1/objects/k8s/a", data=b"abc", timeout=10, allow_redirects=False)
                if r.status_code == 307 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(r.status_code, 307, r.text)
            self.assertTrue(r.headers["Location"].startswith("http://localhost:%d/" % ports[2]))
            self.assertEqual(requests.put(r.headers["Location"], data=b"abc", timeout=10).status_code, 200)
            self.assertEqual(requests.get(via + "/v1/objects/k8s/a", timeout=10).content, b"abc")
        finally:
            for n in reversed(nodes):
                n.cleanup()

    def test_check_config_refusals(self):
        def check(*args):
            return subprocess.run([tl.node_bin(), *args, "--check-config"], capture_output=True,
                                  text=True, timeout=30)
        d = tempfile.mkdtemp(prefix="aisle-k8s-")
        try:
            # A name is not a listen address.
            p = check("--role", "proxy", "--data-dir", d, "--host", "localhost")
            self.assertEqual(p.returncode, 2)
            self.assertIn("not an IP address", p.stderr)
            # Peers cannot reach 0.0.0.0: a clustered node there must advertise a name.
            p = check("--role", "target", "--mountpath", d, "--host", "0.0.0.0", "--primary", "http://p:1")
            self.assertEqual(p.returncode, 2)
            self.assertIn("needs --advertise-host", p.stderr)
            p = check("--role", "target", "--mountpath", d, "--advertise-host", "http://x")
            self.assertEqual(p.returncode, 2)
            # The config file's role is checked as the flag's is.
            with open(os.path.join(d, "c.json"), "w") as f:
                json.dump({"role": "storage"}, f)
            p = check("--config", os.path.join(d, "c.json"))
            self.assertEqual(p.returncode, 2)
            self.assertIn("role storage", p.stderr)
            # A proxy whose --primary names another node joins it; its own URL: it is the primary.
            p = check("--role", "proxy", "--data-dir", d, "--port", "9000", "--advertise-host", "a.b",
                      "--primary", "http://a.b:9001")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(json.loads(p.stdout)["primary"])
            p = check("--role", "proxy", "--data-dir", d, "--port", "9000", "--advertise-host", "a.b",
                      "--primary", "http://a.b:9000/")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(json.loads(p.stdout)["primary"])
            # Nothing was started: the data dir is as it was.
            self.assertEqual(os.listdir(d), ["c.json"])
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
