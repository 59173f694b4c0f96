#!/usr/bin/env bash
# test_deploy_manifests.sh — deploy/k8s, docker-compose.yml and the Dockerfile are
# consistent with the code they ship (no Docker engine or cluster here, so this
# checks them statically):
#   - every YAML parses (multi-document) and names apiVersion/kind/metadata.name;
#   - kustomization.yaml lists every manifest (and not the Secret template);
#   - each Deployment runs /usr/local/bin/<name> with workers/<name>/ or tools/<name>/
#     in the repo, with --config and the PRESSROOM_* env from existing ConfigMap keys,
#     its volumes backed by the ConfigMap and a ReadWriteMany claim, a grace period
#     to drain, and (verifier) OMP_THREAD_LIMIT=1 and a CPU per OCR thread;
#   - each ScaledObject targets an existing Deployment, a topic of the config's
#     topic list (prefix + jobs|verify|production|results|rejected|dlq) and that
#     worker's consumer group (group prefix + worker name);
#   - the ConfigMap's config.json equals examples/config.json;
#   - docker-compose.yml's services run existing binaries with the same env;
#   - the Dockerfile builds on Debian 12 with scripts/install-deps.sh, and its runtime
#     stage installs the package of every shared library the built binaries need.
# Then it mutates a copy of those files and expects each mistake to be caught.
source "$(dirname "$0")/../lib.sh"
stack_init deploy
PY=/usr/bin/python3
cd "$ROOT" || fail "cannot cd to $ROOT"
"$PY" -c 'import yaml' || fail "python3-yaml is missing: bash scripts/install-deps.sh"
ls "$BIN"/* >/dev/null 2>&1 || fail "no binaries in $BIN: run make first"

"$PY" - "$ROOT" "$BIN" "$STACK_DIR" <<'PYEOF' || fail "deploy manifest checks failed (see above)"
import glob, json, os, re, shutil, subprocess, sys
import yaml

ROOT, BIN, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
TOPICS = ["jobs", "verify", "production", "results", "rejected", "dlq"]
READS = {"preview-worker": "jobs", "verifier-worker": "verify", "production-worker": "production"}
WORKER_ENV = ["PRESSROOM_CONFIG", "PRESSROOM_BROKERS", "PRESSROOM_REDIS", "PRESSROOM_BLOBS"]
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in debian:12-slim
NAMESPACED = {"ConfigMap", "Secret", "Deployment", "Service", "PersistentVolumeClaim", "ScaledObject"}


def binary_exists(root, name):
    return any(os.path.isdir(os.path.join(root, d, name)) for d in ("workers", "tools"))


def cpu_cores(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def needed_packages(bindir):
    """Debian packages holding the shared libraries (DT_NEEDED) of every binary."""
    sonames = set()
    for b in sorted(glob.glob(os.path.join(bindir, "*"))):
        out = subprocess.run(["objdump", "-p", b], capture_output=True, text=True).stdout
        sonames |= set(re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M))
    cache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    paths = {}
    for m in re.finditer(r"^\s*(\S+) \(([^)]*)\) => (\S+)", cache, re.M):
        if "x86-64" in m.group(2) or "64" in m.group(2) or m.group(1) not in paths:
            paths.setdefault(m.group(1), m.group(3))
    pkgs = {}
    for so in sorted(sonames):
        path = paths.get(so)
        owner = None
        if path:
            real = os.path.realpath(path)
            cands = {path, real}
            for c in list(cands):
                cands.add(c[4:] if c.startswith("/usr/") else "/usr" + c)
            for c in sorted(cands):
                r = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0].strip()
                    break
        pkgs[so] = owner
    return pkgs


def check_repo(root, bindir, needed):
    """Returns a list of problems found in root's deploy files (empty = consistent)."""
    problems = []
    def bad(msg):
        problems.append(msg)

    def load_yaml(path):
        try:
            with open(path, encoding="utf-8") as f:
                return [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            bad(f"{os.path.relpath(path, root)}: not valid YAML: {e}")
            return []

    with open(os.path.join(root, "examples", "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    kafka = config.get("kafka", {})
    topic_prefix = kafka.get("topic_prefix", "pressroom.")
    group_prefix = kafka.get("group_prefix", "pressroom.")
    topics = {topic_prefix + t for t in TOPICS}
    workers = sorted(d for d in os.listdir(os.path.join(root, "workers"))
                     if os.path.isdir(os.path.join(root, "workers", d)))

    # ---- deploy/: parse everything ----
    k8s = os.path.join(root, "deploy", "k8s")
    docs = {}  # file -> docs
    for path in sorted(glob.glob(os.path.join(root, "deploy", "**", "*.y*ml"), recursive=True)):
        rel = os.path.relpath(path, root)
        docs[rel] = load_yaml(path)
        for d in docs[rel]:
            if os.path.basename(path) == "kustomization.yaml":
                continue
            if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") or \
                    not d.get("metadata", {}).get("name"):
                bad(f"{rel}: a document without apiVersion, kind and metadata.name")
            elif d["kind"] in NAMESPACED and d["metadata"].get("namespace") != "pressroom":
                bad(f"{rel}: {d['kind']} {d['metadata']['name']} is not in namespace pressroom")
    objs = [(rel, d) for rel, ds in docs.items() for d in ds if isinstance(d, dict) and "kind" in d]
    by_kind = lambda k: {d["metadata"]["name"]: (rel, d) for rel, d in objs if d["kind"] == k}
    deployments, scaled = by_kind("Deployment"), by_kind("ScaledObject")
    configmaps, pvcs = by_kind("ConfigMap"), by_kind("PersistentVolumeClaim")

    # ---- kustomization ----
    kpath = os.path.join(k8s, "kustomization.yaml")
    kdocs = docs.get(os.path.relpath(kpath, root)) or [{}]
    resources = kdocs[0].get("resources", []) if os.path.exists(kpath) else []
    if not os.path.exists(kpath):
        bad("deploy/k8s/kustomization.yaml is missing")
    for r in resources:
        if not os.path.exists(os.path.join(k8s, r)):
            bad(f"kustomization.yaml: resource {r} does not exist")
    for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
        name = os.path.basename(path)
        if name == "kustomization.yaml":
            continue
        if name.endswith(".example.yaml"):
            if name in resources:
                bad(f"kustomization.yaml applies the template {name}")
        elif name not in resources:
            bad(f"kustomization.yaml does not list {name}")

    # ---- ConfigMap carries examples/config.json ----
    cm = configmaps.get("pressroom-config")
    if not cm:
        bad("no ConfigMap pressroom-config")
    else:
        try:
            if json.loads(cm[1]["data"]["config.json"]) != config:
                bad(f"{cm[0]}: config.json differs from examples/config.json")
        except (KeyError, ValueError) as e:
            bad(f"{cm[0]}: data.config.json is missing or not JSON ({e})")

    # ---- Deployments ----
    for w in workers:
        if w not in deployments:
            bad(f"workers/{w} has no Deployment in deploy/k8s")
    for name, (rel, d) in deployments.items():
        spec = d.get("spec", {}).get("template", {}).get("spec", {})
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        containers = spec.get("containers", [])
        if not containers:
            bad(f"{rel}: Deployment {name} has no containers")
        for c in containers:
            where = f"{rel}: Deployment {name} container {c.get('name')}"
            if not c.get("image"):
                bad(f"{where}: names no image")
            cmd = c.get("command") or []
            m = re.fullmatch(r"/usr/local/bin/([A-Za-z0-9_.-]+)", cmd[0]) if cmd else None
            if not m:
                bad(f"{where}: command {cmd} is not /usr/local/bin/<binary>")
                continue
            binary = m.group(1)
            if not binary_exists(root, binary):
                bad(f"{where}: runs {binary}, but neither workers/{binary}/ nor tools/{binary}/ exists")
            args = list(cmd[1:]) + list(c.get("args") or [])
            env = {e["name"]: e for e in c.get("env", [])}
            for e in env.values():
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    target = configmaps.get(ref.get("name"))
                    if not target or ref.get("key") not in (target[1].get("data") or {}):
                        bad(f"{where}: env {e['name']} refers to ConfigMap key {ref} that does not exist")
            mounts = {m_["mountPath"]: m_ for m_ in c.get("volumeMounts", [])}
            if binary in workers:
                if "--config" not in args:
                    bad(f"{where}: runs {binary} without --config FILE")
                else:
                    cfg_path = args[args.index("--config") + 1] if args.index("--config") + 1 < len(args) else ""
                    mount = mounts.get(os.path.dirname(cfg_path))
                    vol = volumes.get(mount["name"]) if mount else None
                    if not vol or vol.get("configMap", {}).get("name") != "pressroom-config" or \
                            os.path.basename(cfg_path) != "config.json":
                        bad(f"{where}: --config {cfg_path} is not the pressroom-config ConfigMap's config.json")
                for var in WORKER_ENV:
                    if var not in env:
                        bad(f"{where}: env {var} is not set")
                # The endpoint the probes and Prometheus use must be the one the worker serves.
                listen = args[args.index("--metrics-listen") + 1] if "--metrics-listen" in args[:-1] else ""
                port = int(listen.rsplit(":", 1)[1]) if re.fullmatch(r"[0-9.]+:[0-9]+", listen) else None
                ports = {p_.get("containerPort"): p_.get("name") for p_ in c.get("ports", [])}
                if port is None:
                    bad(f"{where}: runs {binary} without --metrics-listen HOST:PORT (probes need it)")
                elif port not in ports:
                    bad(f"{where}: --metrics-listen port {port} is not a containerPort")
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = (c.get(probe) or {}).get("httpGet") or {}
                    if get.get("path") != path:
                        bad(f"{where}: {probe} is not an httpGet on {path}")
                    elif get.get("port") not in (port, ports.get(port)):
                        bad(f"{where}: {probe} port {get.get('port')} is not the --metrics-listen port {port}")
                ann = d["spec"]["template"].get("metadata", {}).get("annotations", {})
                if port is not None and str(ann.get("prometheus.io/port")) != str(port):
                    bad(f"{where}: prometheus.io/port annotation is not {port}")
                grace = spec.get("terminationGracePeriodSeconds", 30)
                if grace < 30:
                    bad(f"{where}: terminationGracePeriodSeconds {grace} is too short to drain (want >= 30)")
                blob_mount = mounts.get("/var/lib/pressroom/blobs")
                vol = volumes.get(blob_mount["name"]) if blob_mount else None
                claim = (vol or {}).get("persistentVolumeClaim", {}).get("claimName")
                if claim not in pvcs:
                    bad(f"{where}: /var/lib/pressroom/blobs is not mounted from a PersistentVolumeClaim in deploy/k8s")
                elif "ReadWriteMany" not in pvcs[claim][1]["spec"].get("accessModes", []):
                    bad(f"{rel}: claim {claim} is not ReadWriteMany, but every worker pod shares it")
            if binary == "verifier-worker":
                if env.get("OMP_THREAD_LIMIT", {}).get("value") != "1":
                    bad(f"{where}: OMP_THREAD_LIMIT is not \"1\"")
                threads = config.get("verifier", {}).get("threads", 0)
                req = c.get("resources", {}).get("requests", {}).get("cpu")
                if not req or (threads and cpu_cores(req) < threads):
                    bad(f"{where}: CPU request {req} is less than verifier.threads {threads}")

    # ---- ScaledObjects ----
    for w in READS:
        if w in workers and not any(d["spec"]["scaleTargetRef"].get("name") == w
                                    for _, d in scaled.values()):
            bad(f"no ScaledObject scales {w}")
    for name, (rel, d) in scaled.items():
        target = d.get("spec", {}).get("scaleTargetRef", {}).get("name")
        where = f"{rel}: ScaledObject {name}"
        if target not in deployments:
            bad(f"{where}: targets Deployment {target}, which is not in deploy/k8s")
            continue
        tc = deployments[target][1]["spec"]["template"]["spec"]["containers"][0]
        binary = os.path.basename((tc.get("command") or [""])[0])
        triggers = d["spec"].get("triggers", [])
        if not triggers:
            bad(f"{where}: has no triggers")
        for t in triggers:
            md = t.get("metadata", {})
            if t.get("type") != "kafka":
                bad(f"{where}: trigger type {t.get('type')} is not kafka")
                continue
            if md.get("topic") not in topics:
                bad(f"{where}: topic {md.get('topic')} is not one of the config's topics {sorted(topics)}")
            elif binary in READS and md["topic"] != topic_prefix + READS[binary]:
                bad(f"{where}: {binary} reads {topic_prefix + READS[binary]}, not {md['topic']}")
            if md.get("consumerGroup") != group_prefix + binary:
                bad(f"{where}: consumerGroup {md.get('consumerGroup')} is not {group_prefix + binary}")
            env_names = {e["name"] for e in tc.get("env", [])}
            if md.get("bootstrapServersFromEnv"):
                if md["bootstrapServersFromEnv"] not in env_names:
                    bad(f"{where}: bootstrapServersFromEnv {md['bootstrapServersFromEnv']} is not in {target}'s env")
            elif not md.get("bootstrapServers"):
                bad(f"{where}: no bootstrapServers")
            if not all(isinstance(v, str) for v in md.values()):
                bad(f"{where}: KEDA trigger metadata values must be strings")
        if d["spec"].get("maxReplicaCount", 100) < d["spec"].get("minReplicaCount", 0):
            bad(f"{where}: maxReplicaCount below minReplicaCount")

    # ---- docker-compose.yml ----
    compose_docs = load_yaml(os.path.join(root, "docker-compose.yml"))
    compose = compose_docs[0] if compose_docs else {}
    services = compose.get("services", {})
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for w in workers:
        if w not in services:
            bad(f"docker-compose.yml: no service for workers/{w}")
    for sname, s in services.items():
        where = f"docker-compose.yml: service {sname}"
        for dep in (s.get("depends_on") or {}):
            if dep not in services:
                bad(f"{where}: depends on {dep}, which is not a service")
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                if not os.path.exists(os.path.join(root, src)):
                    bad(f"{where}: mounts {src}, which does not exist")
            elif src not in declared_volumes:
                bad(f"{where}: volume {src} is not declared")
        image = str(s.get("image", ""))
        if not image.startswith("pressroom"):
            continue
        if "build" not in s:
            bad(f"{where}: uses {image} without build: .")
        cmd = s.get("entrypoint") or s.get("command") or []
        cmd = cmd.split() if isinstance(cmd, str) else cmd
        m = re.fullmatch(r"/usr/local/bin/([A-Za-z0-9_.-]+)", cmd[0]) if cmd else None
        if not m or not binary_exists(root, m.group(1)):
            bad(f"{where}: runs {cmd[:1]}, not /usr/local/bin/<a binary of workers/ or tools/>")
            continue
        env = s.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        if m.group(1) in workers:
            for var in WORKER_ENV:
                if var not in env:
                    bad(f"{where}: env {var} is not set")
            if "--config" not in cmd:
                bad(f"{where}: runs {m.group(1)} without --config FILE")
        if m.group(1) == "verifier-worker" and str(env.get("OMP_THREAD_LIMIT")) != "1":
            bad(f"{where}: OMP_THREAD_LIMIT is not 1")
    kafka_topics = " ".join(str(v) for s in services.values() for v in (s.get("command") or []))
    for t in TOPICS:
        if not re.search(r"\b" + t + r"\b", kafka_topics):
            bad(f"docker-compose.yml: no service creates topic {topic_prefix}{t}")

    # ---- Dockerfile ----
    dpath = os.path.join(root, "Dockerfile")
    if not os.path.exists(dpath):
        bad("Dockerfile is missing")
        return problems
    with open(dpath, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            cur = {"from": line.split()[1], "lines": []}
            stages.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    if len(stages) < 2:
        bad("Dockerfile: not multi-stage (want a build stage and a runtime stage)")
        return problems
    for st in stages:
        if not re.fullmatch(r"debian:(12|bookworm)(-slim)?(@.*)?", st["from"]):
            bad(f"Dockerfile: stage FROM {st['from']} is not Debian 12")
    build_lines = [l for st in stages[:-1] for l in st["lines"]]
    if not any(l.startswith("RUN") and "scripts/install-deps.sh" in l for l in build_lines):
        bad("Dockerfile: the build stage does not run scripts/install-deps.sh")
    if not any(l.startswith("RUN") and re.search(r"\bmake\b", l) for l in build_lines):
        bad("Dockerfile: the build stage does not run make")
    runtime = stages[-1]["lines"]
    if not any(l.startswith("COPY") and "--from=" in l and "build/bin" in l and "/usr/local/bin" in l
               for l in runtime):
        bad("Dockerfile: the runtime stage does not copy build/bin to /usr/local/bin")
    if not any(l.startswith("ENV") and re.search(r"OMP_THREAD_LIMIT=1\b", l) for l in runtime):
        bad("Dockerfile: the runtime stage does not set OMP_THREAD_LIMIT=1")
    installed = set()
    for l in runtime:
        if l.startswith("RUN") and "apt-get install" in l:
            for part in l.split("&&"):
                if "apt-get install" in part:
                    installed |= {w for w in part.split("apt-get install", 1)[1].split()
                                  if not w.startswith("-")}
    for p in sorted(installed):
        r = subprocess.run(["dpkg-query", "-W", p], capture_output=True, text=True)
        if r.returncode != 0:
            bad(f"Dockerfile: runtime package {p} is not a Debian 12 package known here")
    with open(os.path.join(root, "scripts", "install-deps.sh"), encoding="utf-8") as f:
        m = re.search(r"PACKAGES=\((.*?)\)", f.read(), re.S)
    deps = m.group(1).split() if m else []
    if not deps:
        bad("scripts/install-deps.sh: no PACKAGES=( ... ) list")
    for p in deps:
        if p.startswith("fonts-") or p.startswith("tesseract-ocr-"):
            if p not in installed:
                bad(f"Dockerfile: runtime stage lacks {p} (named in scripts/install-deps.sh, needed at run time)")
    for so, pkg in sorted(needed.items()):
        if pkg is None:
            bad(f"Dockerfile check: cannot find the Debian package of {so}")
        elif re.match(r"lib(asan|ubsan|lsan|tsan)\d*$", pkg):
            pass  # SANITIZE=1 builds only; the image builds with plain make
        elif pkg not in installed and pkg not in BASE_IMAGE_PACKAGES:
            bad(f"Dockerfile: runtime stage lacks {pkg}, which holds {so} (needed by {bindir})")
    return problems


needed = needed_packages(BIN)
print(f"shared libraries of {BIN}/*: " + ", ".join(f"{k} ({v})" for k, v in sorted(needed.items())))
problems = check_repo(ROOT, BIN, needed)
for p in problems:
    print("FAIL  " + p)
if problems:
    sys.exit(1)
print("ok    deploy/k8s, docker-compose.yml and Dockerfile are consistent with the repo")

# ---- The checks can fail: each mutation of a copy must be caught ----
copy = os.path.join(SCRATCH, "repo")
def fresh_copy():
    shutil.rmtree(copy, ignore_errors=True)
    os.makedirs(copy)
    for d in ["deploy", "examples", "scripts"]:
        shutil.copytree(os.path.join(ROOT, d), os.path.join(copy, d))
    for f in ["docker-compose.yml", "Dockerfile"]:
        shutil.copy(os.path.join(ROOT, f), copy)
    for d in ["workers", "tools"]:
        for n in os.listdir(os.path.join(ROOT, d)):
            if os.path.isdir(os.path.join(ROOT, d, n)):
                os.makedirs(os.path.join(copy, d, n))

def edit(rel, old, new):
    p = os.path.join(copy, rel)
    with open(p, encoding="utf-8") as f:
        t = f.read()
    assert old in t, f"mutation target {old!r} not in {rel}"
    with open(p, "w", encoding="utf-8") as f:
        f.write(t.replace(old, new, 1))

mutations = [
    ("a ScaledObject on a topic the config lacks", "topic",
     lambda: edit("deploy/k8s/keda-scaledobjects.yaml", "topic: pressroom.jobs", "topic: pressroom.job")),
    ("a ScaledObject on another worker's group", "consumerGroup",
     lambda: edit("deploy/k8s/keda-scaledobjects.yaml", "consumerGroup: pressroom.verifier-worker",
                  "consumerGroup: pressroom.preview-worker")),
    ("a ScaledObject targeting a missing Deployment", "targets Deployment",
     lambda: edit("deploy/k8s/keda-scaledobjects.yaml", "name: production-worker\n  minReplicaCount",
                  "name: prod-worker\n  minReplicaCount")),
    ("a readiness probe on the wrong path", "readinessProbe is not an httpGet on /readyz",
     lambda: edit("deploy/k8s/verifier-worker.yaml", "path: /readyz", "path: /ready")),
    ("a liveness probe on another port", "livenessProbe port",
     lambda: edit("deploy/k8s/production-worker.yaml", "path: /healthz, port: metrics", "path: /healthz, port: 8080")),
    ("a Deployment running a binary that does not exist", "neither workers/",
     lambda: edit("deploy/k8s/preview-worker.yaml", "/usr/local/bin/preview-worker", "/usr/local/bin/preview")),
    ("a Deployment without PRESSROOM_REDIS", "PRESSROOM_REDIS is not set",
     lambda: edit("deploy/k8s/production-worker.yaml", "- name: PRESSROOM_REDIS", "- name: PRESSROOM_REDIS_URL")),
    ("a verifier without OMP_THREAD_LIMIT=1", "OMP_THREAD_LIMIT",
     lambda: edit("deploy/k8s/verifier-worker.yaml", 'value: "1"', 'value: "4"')),
    ("a ConfigMap drifting from examples/config.json", "differs from examples/config.json",
     lambda: edit("examples/config.json", '"cap_usd": 50', '"cap_usd": 60')),
    ("a manifest left out of kustomization.yaml", "does not list",
     lambda: edit("deploy/k8s/kustomization.yaml", "  - renderer.yaml\n", "")),
    ("a YAML syntax error", "not valid YAML",
     lambda: edit("deploy/k8s/blobs-pvc.yaml", "accessModes: [", "accessModes: [[")),
    ("a compose service running a missing binary", "docker-compose.yml: service verifier-worker",
     lambda: edit("docker-compose.yml", "/usr/local/bin/verifier-worker", "/usr/local/bin/verify")),
    ("a Dockerfile that skips install-deps.sh", "install-deps.sh",
     lambda: edit("Dockerfile", "RUN PRESSROOM_NO_TEST_TOOLS=1 bash scripts/install-deps.sh", "RUN true")),
    ("a runtime stage without the fonts", "fonts-dejavu-core",
     lambda: edit("Dockerfile", "fonts-dejavu-core ", "")),
    ("a runtime stage without a needed library", "librdkafka1",
     lambda: edit("Dockerfile", "librdkafka1 ", "")),
]
caught = 0
for what, expect, mutate in mutations:
    fresh_copy()
    mutate()
    found = check_repo(copy, BIN, needed)
    hit = [p for p in found if expect in p]
    if hit:
        caught += 1
        print(f"ok    caught {what}: {hit[0]}")
    else:
        print(f"FAIL  missed {what} (expected a problem mentioning {expect!r}; got {found})")
shutil.rmtree(copy, ignore_errors=True)
print(f"{caught} of {len(mutations)} mutations caught")
sys.exit(0 if caught == len(mutations) else 1)
PYEOF
echo "deploy manifests consistent"
