"""health-conformance ping (issue 17.3): `jina ping`'s command line and exit
codes (docs/jina.md), against mock-executor --profile jina, a stopped
port and injected UNAVAILABLE answers; and deploy/jina's k8s probes and
Compose healthcheck run as written, with the port rewritten to the test's."""

import os
import shlex
import subprocess
import time

import pytest

from conftest import REPO, RPC_TIMEOUT, MockExecutor
from hc_runner import run, runner_path
from test_mock_lifecycle import free_port

yaml = pytest.importorskip("yaml", reason="python3-yaml parses the manifests")

JINA_DEPLOY = os.path.join(REPO, "deploy", "jina")
MANIFEST_ADDR = "127.0.0.1:8080"


def ping(*args, timeout=30):
    return run("ping", *args, timeout=timeout)


def jina_mock(mock, *args):
    return mock("--profile", "jina", *args)


def addr(m):
    return f"127.0.0.1:{m.grpc_port}"


def checks_journaled(m):
    code, body, raw = m.http("GET", "/v1/journal")
    assert code == 200, raw
    return [r for r in body["records"] if r["method"].endswith("/Check")]


def test_executor_serving_0_then_not_serving_1(mock):
    m = jina_mock(mock)
    p = ping("executor", addr(m))
    assert p.returncode == 0, p.stderr
    assert "readiness check succeeded 1 times" in p.stdout
    m.set_status("", "NOT_SERVING")
    p = ping("executor", addr(m))
    assert p.returncode == 1
    assert "NOT_SERVING" in p.stderr and "readiness check failed 1 times" in p.stderr


def test_timeout_minus_one_no_limit(mock):
    m = jina_mock(mock)
    assert ping("executor", addr(m), "--timeout", "-1").returncode == 0


def test_executor_stopped_port_1():
    p = ping("executor", f"127.0.0.1:{free_port()}", "--timeout", "1000")
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr


def test_executor_one_retry_on_unavailable(mock):
    """send_health_check_sync: a Check ending UNAVAILABLE is sent once more."""
    m = jina_mock(mock, "--fault", "method=Check,action=code:UNAVAILABLE,count=1")
    p = ping("executor", addr(m))
    assert p.returncode == 0, p.stderr
    assert len(checks_journaled(m)) == 2


def test_executor_no_retry_on_other_errors(mock):
    m = jina_mock(mock, "--fault", "method=Check,action=code:INTERNAL,count=1")
    assert ping("executor", addr(m)).returncode == 1
    assert len(checks_journaled(m)) == 1


@pytest.mark.parametrize("need, rc", [(2, 0), (3, 1)])
def test_attempts_and_min_successful(mock, need, rc):
    """Attempt 1 fails (UNAVAILABLE twice: the Check and its retry), 2 and 3 pass."""
    m = jina_mock(mock, "--fault", "method=Check,action=code:UNAVAILABLE,count=2")
    started = time.monotonic()
    p = ping("executor", addr(m), "--attempts", "3", "--min-successful-attempts", str(need))
    assert p.returncode == rc, p.stderr
    assert "attempt (1/3)" in p.stderr
    assert time.monotonic() - started >= 2.0  # 1 s between attempts
    assert len(checks_journaled(m)) == 4


def test_k8s_single_argument_timeout_ignored(mock):
    """Jina's liveness probe passes "--timeout 9000" as one argument."""
    m = jina_mock(mock)
    p = ping("executor", addr(m), "--timeout 9000")
    assert p.returncode == 0, p.stderr
    assert "ignored unknown argument '--timeout 9000'" in p.stderr


def test_unknown_flag_warned_and_ignored(mock):
    m = jina_mock(mock)
    p = ping("executor", addr(m), "--uses", "config.yml")
    assert p.returncode == 0, p.stderr
    assert "ignored unknown argument '--uses'" in p.stderr


def test_gateway_grpc_scheme(mock):
    m = jina_mock(mock)
    assert ping("gateway", "grpc://" + addr(m)).returncode == 0
    assert ping("gateway", addr(m)).returncode == 0


@pytest.mark.parametrize("scheme", ["http", "websocket", "ws"])
def test_gateway_http_get_root_200(mock_on, scheme):
    m = mock_on(("http", "admin"), "--profile", "jina", "--port", "0", "--protocol", "http")
    target = f"{scheme}://127.0.0.1:{m.ports('http')[0]}"
    assert ping("gateway", target).returncode == 0
    m.set_status("", "NOT_SERVING")
    p = ping("gateway", target)
    assert p.returncode == 1
    assert "HTTP 503" in p.stderr


def test_flow_on_executor_says_jina_specific(mock, mock_on):
    m = jina_mock(mock)
    p = ping("flow", addr(m))
    assert p.returncode == 1
    assert "Jina-specific" in p.stderr and "JinaGatewayDryRunRPC/dry_run" in p.stderr
    h = mock_on(("http", "admin"), "--profile", "jina", "--port", "0", "--protocol", "http")
    p = ping("flow", f"http://127.0.0.1:{h.ports('http')[0]}")
    assert p.returncode == 1
    assert "GET /dry_run: HTTP 404" in p.stderr


@pytest.mark.parametrize("args, needle", [
    ([], "give the target"),
    (["executor"], "give HOST:PORT"),
    (["pod", "127.0.0.1:1"], "'pod' is not a target"),
    (["gateway", "https://127.0.0.1:1"], "the scheme is not one of"),
    (["executor", "127.0.0.1:1", "--timeout", "soon"], "--timeout: 'soon'"),
    (["executor", "127.0.0.1:1", "--attempts", "0"], "--attempts: '0'"),
    (["executor", "127.0.0.1:1", "--attempts"], "--attempts needs a value"),
])
def test_usage_errors_exit_2(args, needle):
    p = ping(*args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert needle in p.stderr


def test_help_exit_0():
    p = ping("--help")
    assert p.returncode == 0 and "--min-successful-attempts" in p.stdout


# --- deploy/jina: the probes as written ----------------------------------------------

def manifest_commands():
    """(where, argv) of every probe and healthcheck in deploy/jina."""
    out = []
    with open(os.path.join(JINA_DEPLOY, "executor-k8s.yaml")) as f:
        for doc in yaml.safe_load_all(f):
            if doc["kind"] != "Deployment":
                continue
            c = doc["spec"]["template"]["spec"]["containers"][0]
            assert "readinessProbe" not in c  # Jina's template has none
            for kind in ("startupProbe", "livenessProbe"):
                out.append((f"k8s {kind}", c[kind]["exec"]["command"]))
            out.append(("k8s mock", ["mock-executor", *c["args"]]))
    with open(os.path.join(JINA_DEPLOY, "docker-compose.yml")) as f:
        svc = yaml.safe_load(f)["services"]["executor0"]
    out.append(("compose healthcheck", shlex.split(svc["healthcheck"]["test"])))
    out.append(("compose mock", [*svc["entrypoint"], *svc["command"]]))
    return out


def local(argv, port):
    """The manifest's argv with this build's binary and the test's port."""
    assert argv[0] == "health-conformance", argv
    assert MANIFEST_ADDR in argv, argv
    return [a.replace(MANIFEST_ADDR, f"127.0.0.1:{port}") for a in argv[1:]]


def test_manifest_probes_work_unchanged(mock):
    cmds = manifest_commands()
    probes = [(w, a) for w, a in cmds if a[0] == "health-conformance"]
    assert len(probes) == 3, cmds
    for where, argv in cmds:
        if argv[0] == "mock-executor":  # the Executor's own args: --profile jina
            assert argv[1:3] == ["--profile", "jina"], (where, argv)
    m = jina_mock(mock)
    for where, argv in probes:
        p = run(*local(argv, m.grpc_port), timeout=RPC_TIMEOUT * 4)
        assert p.returncode == 0, (where, p.stderr)
    m.set_status("", "NOT_SERVING")
    for where, argv in probes:
        assert run(*local(argv, m.grpc_port)).returncode == 1, where


def test_jina_wrapper_runs_an_exported_executor_and_its_probe(processes, monkeypatch, tmp_path):
    """deploy/jina/jina: `jina executor ...` as Jina's k8s export starts the
    container, `jina ping executor ...` as its probes run."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mock-executor").symlink_to(processes.binary)
    (bindir / "health-conformance").symlink_to(runner_path())
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    jina_cli = os.path.join(JINA_DEPLOY, "jina")
    m = MockExecutor(jina_cli, ["executor", "--native", "--uses", "config.yml", "--name",
                                "executor0", "--port", "0", "--host", "127.0.0.1",
                                "--protocol", "GRPC", "--port-monitoring", "9090"])
    processes.started.append(m)  # stopped by pid at teardown, checked for a clean exit
    m.wait_listening(("grpc",))
    probe = subprocess.run([jina_cli, "ping", "executor", m.grpc_addr], capture_output=True,
                           text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr
    assert "ignored unknown argument(s) (--profile jina): --native --uses config.yml" \
        in m.stderr()
    other = subprocess.run([jina_cli, "flow", "--uses", "x.yml"], capture_output=True,
                           text=True, timeout=30)
    assert other.returncode == 2 and "only 'jina executor' and 'jina ping'" in other.stderr


def test_jina_symlink_runs_ping(mock, tmp_path):
    """`ln -s health-conformance jina`: `jina ping executor ...` verbatim."""
    link = tmp_path / "jina"
    link.symlink_to(runner_path())
    m = jina_mock(mock)
    p = subprocess.run([str(link), "ping", "executor", addr(m)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
