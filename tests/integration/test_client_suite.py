"""`health-conformance client` (issue 18): the reference probes pass every
scenario; each deliberately wrong probe fails exactly the scenarios named
for it; a probe that hangs is killed at the bound, its process group with it.

The probes are real programs: the runner's own `probe`, curl, and
tests/clients/grpc_probe.py (python3-grpcio, written as kubelet's grpc
probe behaves, with --mode for the wrong ones).
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO, SLOW
from hc_runner import WATCH_TIMING, run, run_json, runner_path

CLIENTS = os.path.join(REPO, "tests", "clients")
PY_PROBE = f"{sys.executable} {CLIENTS}/grpc_probe.py {{addr}} --service {{service}}"
# Python starts slowly on a loaded machine: the slack covers it (SLOW for
# sanitizer builds); the probes' own timeout is 1 s.
TIMING = ["--probe-timeout", "2s", "--slack", f"{int(3 * SLOW)}s"]

GRPC_IDS = {"probe/serving", "probe/not-serving", "probe/unknown-status", "probe/not-found",
            "probe/service-unknown", "probe/no-health-service", "probe/rpc-error",
            "probe/slow-server", "probe/connection-refused", "probe/silent-server",
            "probe/second-message", "probe/no-message", "probe/tls-plaintext-server",
            "probe/no-grpc-status", "probe/grpc-http-503", "probe/compressed-flag",
            "probe/rst-stream", "probe/goaway-error", "probe/goaway-graceful",
            "probe/deadline-sent", "probe/service-asked", "probe/one-call", "probe/user-agent"}
TLS_ONLY = {"probe/tls-plaintext-server", "probe/http-tls-plaintext-server"}  # skipped without
HTTP_IDS = {"probe/http-ok", "probe/http-503", "probe/http-500", "probe/http-404",
            "probe/http-slow", "probe/http-connection-refused", "probe/http-path-asked",
            "probe/http-tls-plaintext-server",
            "probe/http-one-request", "probe/http-user-agent"}


def client(*args):
    """Runs `health-conformance client ARGS --format json`; returns (exit
    code, {id: record}) and checks that every scenario reported."""
    code, cases, summary, proc = run_json("client", *args)
    assert summary is not None, proc.stderr
    return code, cases


# A message flagged compressed with no grpc-encoding: the gRPC C core (the
# runner's probe, grpcio) reads it, which the scenario reports as a WARN.
LENIENT = {"probe/compressed-flag"}


def failed(cases):
    """Failures; a WARN outside LENIENT counts as one."""
    return {i for i, r in cases.items()
            if r["result"] == "fail" or (r["result"] == "warn" and i not in LENIENT)}


def skipped(cases):
    return {i for i, r in cases.items() if r["result"] == "skip"}


def test_runner_probe_passes_every_grpc_scenario():
    """The done-when line of issue 18: the runner's own probe, as a user
    runs it, passes every gRPC scenario (defaults: 1 s dial, 1 s RPC)."""
    code, cases = client("--probe-cmd", f"{runner_path()} probe --target {{addr}}")
    assert set(cases) == GRPC_IDS
    assert failed(cases) == set() and skipped(cases) <= TLS_ONLY, cases
    assert code == 0
    assert "grpc-c/" in cases["probe/user-agent"]["message"]


def test_runner_probe_with_a_named_service_and_its_exit_codes():
    """{service} reaches the probe; grpc_health_probe's exit codes declared
    (2 connect, 3 RPC, 4 not SERVING) are the unhealthy ones."""
    code, cases = client("--service", "hc-svc-a", "--unhealthy-exit", "2,3,4",
                         "--probe-cmd",
                         f"{runner_path()} probe --target {{addr}} --service {{service}}")
    assert failed(cases) == set(), cases
    assert cases["probe/service-asked"]["message"] == "asked for 'hc-svc-a'"
    assert code == 0


def test_runner_wait_as_a_probe_passes():
    """`wait` Watches instead of Checking: the scenarios play on every
    Health method, and the journal counts its Watch as the run's call; the
    two that break Check alone are skipped."""
    code, cases = client("--probe-cmd", f"{runner_path()} wait --target {{addr}} "
                         "--service {service} --timeout 1s")
    assert failed(cases) == set(), cases
    assert skipped(cases) == {"probe/second-message", "probe/no-message",
                              "probe/no-grpc-status", "probe/tls-plaintext-server"}
    assert code == 0


def test_kubelet_like_probe_passes():
    code, cases = client(*TIMING, "--probe-cmd", PY_PROBE)
    assert failed(cases) == set() and skipped(cases) <= TLS_ONLY, cases
    assert "kube-probe/1.27" in cases["probe/user-agent"]["message"]
    assert code == 0


@pytest.mark.parametrize("mode,expected", [
    # exit 0 on any reply: every answer that is not SERVING is missed
    ("any-answer", {"probe/not-serving", "probe/unknown-status", "probe/service-unknown"}),
    # no deadline: hangs on a server that never answers or never ends its
    # reply (two messages, no status yet), and says so on the wire
    ("no-deadline", {"probe/slow-server", "probe/silent-server", "probe/second-message",
                     "probe/deadline-sent"}),
    # envoy#10825: a crash on Check answering SERVICE_UNKNOWN
    ("crash-on-service-unknown", {"probe/service-unknown"}),
])
def test_wrong_probe_fails_exactly_its_scenarios(mode, expected):
    code, cases = client(*TIMING, "--probe-cmd", f"{PY_PROBE} --mode {mode}")
    assert set(cases) == GRPC_IDS
    assert failed(cases) == expected, {i: (r["result"], r.get("seen"), r["message"])
                                       for i, r in cases.items()}
    assert code == 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_with_a_timeout_passes_every_http_scenario():
    code, cases = client("--protocol", "http", "--probe-cmd", "curl -fsS -m 1 {url}")
    assert set(cases) == HTTP_IDS
    assert failed(cases) == set(), cases
    assert code == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_without_a_timeout_fails_only_the_slow_server():
    """curl has no default timeout: against a server that never answers it
    waits until it is killed, and only that scenario says so."""
    code, cases = client("--protocol", "http", "--service", "hc-web",
                         "--probe-cmd", "curl -fsS {url}")
    assert failed(cases) == {"probe/http-slow"}
    assert "killed" in cases["probe/http-slow"]["seen"]
    assert cases["probe/http-path-asked"]["result"] == "pass"  # GET /health/hc-web
    assert code == 1


def test_a_probe_that_hangs_is_killed_with_its_group():
    """The bounded-time rule: a probe that never exits fails each scenario
    at --probe-timeout + --slack, and nothing it started survives."""
    marker = f"{time.monotonic_ns() % 100000 + 1000}.5"  # a unique sleep argument
    t0 = time.monotonic()
    code, cases = client("--probe-timeout", "300ms", "--slack", "300ms",
                         "--run", "probe/serving", "--run", "probe/slow-server",
                         "--probe-cmd", f"sleep {marker} & sleep {marker}; wait")
    elapsed = time.monotonic() - t0
    assert failed(cases) == {"probe/serving", "probe/slow-server"}
    for rec in cases.values():
        assert "still running after" in rec["seen"] and "killed" in rec["seen"], rec
    assert code == 1
    assert elapsed < 30 * SLOW
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    left.append(pid)
        except OSError:
            pass
    assert left == [], f"processes of the probe survived: {left}"


@pytest.mark.parametrize("args,message", [
    ([], "one of --probe-cmd CMD or --watch-cmd CMD is required"),
    (["--probe-cmd", ""], "--probe-cmd is empty"),
    (["--probe-cmd", "true", "--healthy-exit", "x"], "is not an exit code"),
    (["--probe-cmd", "true", "--healthy-exit", "0", "--unhealthy-exit", "1,0"],
     "exit 0 is both healthy and unhealthy"),
    (["--probe-cmd", "true", "--probe-timeout", "soon"], "--probe-timeout: 'soon'"),
    (["--probe-cmd", "true", "--mock", "/nonexistent/mock"], "--mock: '/nonexistent/mock'"),
    (["--probe-cmd", "true", "--run", "probe/nope"], "probe/nope"),
    (["--probe-cmd", "true", "--protocol", "udp"], "unknown protocol 'udp'"),
    (["--probe-cmd", "true", "--watch-cmd", "true"], "one of --probe-cmd CMD or --watch-cmd"),
    (["--watch-cmd", "true", "--protocol", "http"], "--watch-cmd is for gRPC clients"),
    (["--watch-cmd", "true", "--healthy-regex", "(up"], "--healthy-regex '(up'"),
    (["--watch-cmd", "true", "--timeout", "0s"], "--timeout: '0s'"),
    (["--probe-cmd", "true", "--tls-cert", "/etc/hostname"], "--tls-cert and --tls-key come"),
    (["--probe-cmd", "true", "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"],
     "cannot read --tls-cert"),
])
def test_usage_errors(args, message):
    proc = run("client", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_list_and_reports(tmp_path):
    proc = run("client", "--list", "--protocol", "http")
    assert proc.returncode == 0
    assert "probe/http-slow" in proc.stdout and "C24" in proc.stdout
    junit = tmp_path / "client.xml"
    proc = run("client", "--run", "probe/connection-refused", "--format", "junit",
               "--output", str(junit), "--format", "tap",
               "--probe-cmd", f"{runner_path()} probe --target {{addr}}")
    assert proc.returncode == 0, proc.stderr
    assert "ok 1 - probe/connection-refused" in proc.stdout
    assert 'name="probe/connection-refused"' in junit.read_text()


@pytest.mark.parametrize("args, rc, message", [
    (["--run", "nosuch"], 2, "--run 'nosuch' matches no case (see --list)"),
    (["--protocol", "http", "--run", "probe/serving"], 2, "--run 'probe/serving' matches no case"),
    (["--run", "watch/*"], 0, ""),  # every table at once: a watch scenario is a match
])
def test_list_checks_the_selection_as_a_run_does(args, rc, message):
    """client --list refuses a pattern that matches no scenario (exit 2), as
    client runs and `list` do, instead of printing empty tables."""
    proc = run("client", "--list", *args)
    assert proc.returncode == rc, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    if rc:
        assert proc.stdout == ""
        assert "Try 'health-conformance client --help'." in proc.stderr, proc.stderr
    else:
        assert "watch/flips-followed" in proc.stdout and "probe/" not in proc.stdout


def test_mock_found_beside_the_runner():
    """Without --mock, the build tree's mock-executor is used (it is not on
    PATH here)."""
    assert shutil.which("mock-executor") is None or "build" not in shutil.which("mock-executor")
    proc = run("client", "--run", "probe/serving",
               "--probe-cmd", f"{runner_path()} probe --target {{addr}}")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)


# ---- TLS --------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_cert(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 (openssl, at run time)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    d = str(tmp_path_factory.mktemp("client-tls"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for args in (["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                  "-subj", "/CN=ca"],
                 ["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
                  "-subj", "/CN=localhost"],
                 ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext"]):
        res = subprocess.run(["openssl", *args], cwd=d, capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stderr
    return lambda name: os.path.join(d, name)


def test_tls_probes_pass_and_refuse_a_plaintext_server(server_cert):
    tls = ["--tls-cert", server_cert("server.pem"), "--tls-key", server_cert("server.key")]
    code, cases = client(*tls, "--probe-cmd", f"{runner_path()} probe --target {{addr}} --tls "
                         f"--tls-ca-cert {server_cert('ca.pem')}")
    assert set(cases) == GRPC_IDS
    assert failed(cases) == set(), cases
    # the wire engine that breaks the framing serves plaintext only
    assert skipped(cases) == {"probe/no-grpc-status", "probe/grpc-http-503",
                              "probe/compressed-flag", "probe/rst-stream", "probe/goaway-error",
                              "probe/goaway-graceful"}
    assert code == 0
    if shutil.which("curl") is None:
        return
    curl = f"curl -fsS -m 1 --cacert {server_cert('ca.pem')}"
    code, cases = client(*tls, "--protocol", "http", "--probe-cmd", f"{curl} {{url}}")
    assert failed(cases) | skipped(cases) == set(), cases
    # wrong: falls back to plaintext when TLS fails
    fallback = f"{curl} {{url}} || curl -fsS -m 1 http://{{host}}:{{port}}/"
    code, cases = client(*tls, "--protocol", "http", "--probe-cmd", fallback)
    assert failed(cases) == {"probe/http-tls-plaintext-server"}, cases
    assert code == 1


# ---- long-lived clients (--watch-cmd) ----------------------------------------

RAW_WATCH = f"{sys.executable} {CLIENTS}/raw_watch.py {{addr}} --service {{service}}"
WATCH_IDS = {"watch/initial-healthy", "watch/flips-followed",
             "watch/service-unknown-then-serving", "watch/unimplemented-healthy",
             "watch/reopen-after-end", "watch/retry-backoff", "watch/server-restart-recovered",
             "watch/goaway-recovered", "watch/dropped-connection-recovered"}


def test_hand_written_watch_loop_passes():
    code, cases = client(*WATCH_TIMING, "--watch-cmd", RAW_WATCH)
    assert set(cases) == WATCH_IDS
    assert failed(cases) == set(), cases
    assert code == 0


@pytest.mark.parametrize("mode,expected,exit_code", [
    # never re-opens an ended Watch: stuck after an OK end, a failure, a restart
    ("no-reopen", {"watch/reopen-after-end", "watch/retry-backoff",
                   "watch/server-restart-recovered", "watch/goaway-recovered",
                   "watch/dropped-connection-recovered"}, 1),
    # re-opens at once, every time: caught by counting Watch calls (a SHOULD)
    ("no-backoff", {"watch/retry-backoff"}, 0),
])
def test_wrong_watch_client_fails_exactly_its_scenarios(mode, expected, exit_code):
    code, cases = client(*WATCH_TIMING, "--watch-cmd", f"{RAW_WATCH} --mode {mode}")
    assert failed(cases) == expected, {i: cases[i]["seen"] for i in failed(cases)}
    assert code == exit_code


def test_watch_views_by_regex_through_a_pipeline():
    """Any client that prints its view: the lines are matched by the given
    patterns (other lines ignored), and the pipeline's group is ended."""
    cmd = f"{RAW_WATCH} | sed -u 's/^HEALTHY$/state: up/; s/^UNHEALTHY$/state: down/'"
    code, cases = client(*WATCH_TIMING, "--run", "watch/flips-followed",
                         "--healthy-regex", "^state: up$", "--unhealthy-regex", "down$",
                         "--watch-cmd", cmd)
    assert failed(cases) == set(), cases
    assert code == 0

