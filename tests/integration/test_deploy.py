"""deploy/: the Dockerfile and the Kubernetes manifests, checked without a
container engine or a cluster.

The mock's arguments are read back by the mock itself (`--print-config`
prints the effective config as YAML), so ports and protocols come from the
real parser; health-conformance's flags are checked against its --help.
Then: every listener has its containerPort, every probe hits a listener of
its kind and a service the mock serves, every Service targets a containerPort
of the Pods it selects, and the Job's --target and --control name a Service
port that leads to the right listener.
"""

import glob
import os
import re
import subprocess
import urllib.parse

import pytest

from conftest import BUILD, REPO

yaml = pytest.importorskip("yaml", reason="python3-yaml parses the manifests")

MOCK = os.path.join(BUILD, "mock_executor", "mock-executor")
RUNNER = os.path.join(BUILD, "conformance", "health-conformance")
DEPLOY = os.path.join(REPO, "deploy")
TIMEOUT = 30


def load_manifests():
    docs = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))):
        with open(path) as f:
            docs += [(os.path.basename(path), d) for d in yaml.safe_load_all(f) if d]
    return docs


DOCS = load_manifests()


def of_kind(kind):
    return [d for _, d in DOCS if d["kind"] == kind]


def mock_config(args):
    """The mock's effective config for args, as it parses them."""
    res = subprocess.run([MOCK, *args, "--print-config"], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, f"mock-executor {' '.join(args)}: {res.stderr}"
    return yaml.safe_load(res.stdout)


def listeners(container):
    """containerPort -> 'grpc' | 'http' | 'admin' for a mock-executor container."""
    assert container["command"] == ["mock-executor"], container["command"]
    cfg = mock_config([str(a) for a in container.get("args", [])])
    ports, protocols = cfg["port"], cfg["protocol"]
    if len(protocols) == 1:
        protocols = protocols * len(ports)
    out = dict(zip(ports, protocols))
    assert 0 not in out, "a Pod's listener needs a fixed port, not 0"
    if cfg.get("admin_port", -1) not in (-1, None):
        out[cfg["admin_port"]] = "admin"
    return out, cfg


def resolve_port(container, port):
    """A probe's or Service's port (a number or a containerPort name) -> number."""
    if isinstance(port, int):
        return port
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"no containerPort named {port!r}"
    return named[port]


def mock_deployments():
    return [d for d in of_kind("Deployment")
            if d["spec"]["template"]["spec"]["containers"][0]["command"] == ["mock-executor"]]


def test_manifests_parse_and_cover_both_protocols():
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Deployment", "Service", "Job"} <= kinds, kinds
    protocols = set()
    for dep in mock_deployments():
        c = dep["spec"]["template"]["spec"]["containers"][0]
        protocols |= set(listeners(c)[0].values())
    assert {"grpc", "http"} <= protocols


@pytest.mark.parametrize("dep", mock_deployments(), ids=lambda d: d["metadata"]["name"])
def test_deployment_ports_and_probes(dep):
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    c = pod["spec"]["containers"][0]
    ports, cfg = listeners(c)
    assert cfg["host"] in ("0.0.0.0", "::"), "the kubelet probes the Pod IP"
    declared = {p["containerPort"] for p in c["ports"]}
    assert declared == set(ports), f"containerPorts {declared} != listeners {ports}"
    served = set(cfg.get("status") or {}) | {""}

    probes = {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in c}
    assert {"readinessProbe", "livenessProbe"} <= set(probes)
    for kind, probe in probes.items():
        if "grpc" in probe:
            assert ports[probe["grpc"]["port"]] == "grpc", f"{kind} is not on a gRPC listener"
            assert probe["grpc"].get("service", "") in served, f"{kind}: service not served"
        else:
            get = probe["httpGet"]
            assert ports[resolve_port(c, get["port"])] == "http", f"{kind} not on HTTP"
            m = re.fullmatch(r"/(?:health/(.+))?", get["path"])
            assert m, f"{kind}: {get['path']} is not / or /health/NAME"
            assert (m.group(1) or "") in served, f"{kind}: {get['path']} names no service"
    # Liveness asks a service that a flapping "" does not take down.
    live = probes["livenessProbe"]
    live_service = live["grpc"].get("service", "") if "grpc" in live else \
        live["httpGet"]["path"].rpartition("/")[2]
    assert live_service, "liveness on \"\" restarts the Pod whenever it flaps"
    # The Pod gets time to drain: the grace period outlasts --grace.
    grace_ms = int(re.fullmatch(r"(\d+)ms", cfg["grace"]).group(1))
    assert pod["spec"].get("terminationGracePeriodSeconds", 30) * 1000 > grace_ms


def test_services_target_container_ports():
    pods = {}
    for dep in of_kind("Deployment"):
        labels = dep["spec"]["template"]["metadata"]["labels"]
        pods[tuple(sorted(labels.items()))] = dep["spec"]["template"]["spec"]["containers"][0]
    assert of_kind("Service")
    for svc in of_kind("Service"):
        sel = svc["spec"]["selector"].items()
        matches = [c for labels, c in pods.items() if sel <= dict(labels).items()]
        assert len(matches) == 1, f"Service {svc['metadata']['name']} selects {len(matches)}"
        for p in svc["spec"]["ports"]:
            resolve_port(matches[0], p.get("targetPort", p["port"]))


def service_listener(host, port):
    """The mock listener kind reached through Service host:port."""
    name = host.split(".")[0]
    svcs = [s for s in of_kind("Service") if s["metadata"]["name"] == name]
    assert svcs, f"no Service named {name}"
    svc = svcs[0]
    sp = [p for p in svc["spec"]["ports"] if p["port"] == port]
    assert sp, f"Service {name} has no port {port}"
    sel = svc["spec"]["selector"].items()
    dep = next(d for d in of_kind("Deployment")
               if sel <= d["spec"]["template"]["metadata"]["labels"].items())
    c = dep["spec"]["template"]["spec"]["containers"][0]
    return svc, listeners(c)[0][resolve_port(c, sp[0].get("targetPort", port))]


def runner_flags():
    text = subprocess.run([RUNNER, "--help"], capture_output=True, text=True,
                          timeout=TIMEOUT).stdout
    usage = [line for line in text.splitlines() if "health-conformance " in line]
    subs = {m.group(1) for line in usage
            for m in [re.search(r"health-conformance \[?([a-z]+)\]?\s", line)] if m}
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)), subs


def test_job_targets_the_service():
    jobs = of_kind("Job")
    assert jobs
    flags, subs = runner_flags()
    pending = set()
    for job in jobs:
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] == "Never"
        assert job["spec"].get("activeDeadlineSeconds"), "bound the Job"
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert c["command"] == ["health-conformance"]
            args = [str(a) for a in c["args"]]
            if not args[0].startswith("-") and args[0] not in subs:
                pending.add(args[0])
            else:
                unknown = {a for a in args if a.startswith("--")} - flags
                assert not unknown, f"{c['name']}: not in --help: {unknown}"
            target = args[args.index("--target") + 1]
            host, _, port = target.rpartition(":")
            svc, kind = service_listener(host, int(port))
            assert kind == "grpc", f"--target {target} reaches a {kind} listener"
            # The suite makes "" NOT_SERVING itself: its Service must keep routing.
            assert svc["spec"].get("publishNotReadyAddresses") is True, svc["metadata"]["name"]
            if "--all-addresses" in args:
                # Every Pod a target: only a headless Service resolves to them all.
                assert svc["spec"].get("clusterIP") == "None", svc["metadata"]["name"]
            if "--control" in args:
                url = urllib.parse.urlsplit(args[args.index("--control") + 1])
                if url.hostname == "{host}":  # each Pod's own API, on the target's Service
                    assert "--all-addresses" in args
                    assert service_listener(host, url.port)[1] == "admin"
                else:
                    assert service_listener(url.hostname, url.port)[1] == "admin"
    assert not pending, f"subcommand(s) {sorted(pending)} not in this build's --help"


def test_control_port_admits_only_the_job():
    """--admin-insecure exposes the control API without a token: a
    NetworkPolicy must limit its port to the conformance Job's Pods."""
    job_labels = of_kind("Job")[0]["spec"]["template"]["metadata"]["labels"].items()
    for dep in mock_deployments():
        c = dep["spec"]["template"]["spec"]["containers"][0]
        ports, cfg = listeners(c)
        if not cfg.get("admin_insecure"):
            continue
        admin = next(p for p, k in ports.items() if k == "admin")
        labels = dep["spec"]["template"]["metadata"]["labels"].items()
        policies = [p for p in of_kind("NetworkPolicy")
                    if p["spec"]["podSelector"]["matchLabels"].items() <= labels]
        assert policies, f"{dep['metadata']['name']}: control API open to the cluster"
        for rule in policies[0]["spec"]["ingress"]:
            if admin in [p["port"] for p in rule.get("ports", [])]:
                froms = rule.get("from", [])
                assert froms and all(f["podSelector"]["matchLabels"].items() <= job_labels
                                     for f in froms), rule


def test_images_are_the_dockerfiles():
    images = {c["image"] for kind in ("Deployment", "Job") for d in of_kind(kind)
              for c in d["spec"]["template"]["spec"].get("initContainers", []) +
              d["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1, images
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        dockerfile = f.read()
    assert images.pop().split(":")[0] in dockerfile  # the tag the build comment uses
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert len(stages) >= 2 and all(s == "debian:bookworm-slim" for s in stages), stages
    assert re.search(r"^COPY --from=build .*\.deb", dockerfile, re.M)
    assert re.search(r"apt-get install .*\.deb", dockerfile)
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile, re.M)
               for p in line.split()}
    declared = {p["containerPort"] for d in of_kind("Deployment")
                for p in d["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert declared <= exposed, f"EXPOSE {exposed} misses {declared - exposed}"
    for src in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
        assert os.path.exists(os.path.join(REPO, src)), f"COPY {src}: not in the repository"
