"""health-conformance probe and wait (issue 5)."""

import socket
import time

import pytest

from conftest import SLOW
from hc_runner import run, start_http_mock


@pytest.fixture
def closed_port():
    """A port bound but not listening: connections are refused, and nothing
    else can take it while the test runs."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


# The probe's 1 s defaults (those of grpc_health_probe and kubelet), stretched
# for sanitizer builds on a loaded machine.
BOUNDS = ("--connect-timeout", f"{int(1000 * SLOW)}ms", "--rpc-timeout", f"{int(1000 * SLOW)}ms")


@pytest.mark.parametrize("status,code", [("SERVING", 0), ("NOT_SERVING", 4), ("UNKNOWN", 4)])
def test_grpc_probe_exit_per_status(mock, status, code):
    m = mock("--status", status)
    p = run("probe", "--target", m.grpc_addr, *BOUNDS)
    assert p.returncode == code, p.stdout + p.stderr
    assert f"status: {status}" in p.stdout + p.stderr


def test_grpc_probe_unknown_service_is_rpc_failure(mock):
    m = mock()
    p = run("probe", "--target", m.grpc_addr, "--service", "no-such-service", *BOUNDS)
    assert p.returncode == 3
    assert "NOT_FOUND" in p.stderr


def test_grpc_probe_rpc_timeout_is_3(mock):
    m = mock("--violate", "check-slow")  # every Check 600 ms late
    t0 = time.monotonic()
    p = run("probe", "--target", m.grpc_addr, "--rpc-timeout", "200ms")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "timeout" in p.stderr
    assert time.monotonic() - t0 < 1.4 * SLOW + 1


def test_probe_closed_port_is_2(closed_port):
    for target in (f"127.0.0.1:{closed_port}", f"http://127.0.0.1:{closed_port}"):
        p = run("probe", "--target", target, *BOUNDS)
        assert p.returncode == 2, (target, p.stderr)


@pytest.mark.parametrize("status,code", [("SERVING", 0), ("NOT_SERVING", 4)])
def test_http_probe_exit_per_status(spawn, status, code):
    m = start_http_mock(spawn, "--status", status)
    p = run("probe", "--target", m.http_target, *BOUNDS)
    assert p.returncode == code, p.stdout + p.stderr


def test_http_probe_named_service(spawn):
    m = start_http_mock(spawn, "--status", "db=NOT_SERVING")
    assert run("probe", "--target", m.http_target, "--service", "db", *BOUNDS).returncode == 4


def test_probe_attempts_min_successful(mock):
    m = mock()
    p = run("probe", "--target", m.grpc_addr, "--attempts", "3", "--min-successful", "2",
            "--interval", "10ms")
    assert p.returncode == 0, p.stderr
    assert "2 of 3 attempts succeeded" in p.stdout  # stops once enough succeeded


def test_probe_attempts_all_fail(closed_port):
    p = run("probe", "--target", f"127.0.0.1:{closed_port}", "--attempts", "2",
            "--interval", "10ms")
    assert p.returncode == 2
    assert "0 of 2 attempts succeeded" in p.stdout


@pytest.mark.parametrize("args,names", [
    (["--attempts", "0"], ["--attempts", "'0'"]),
    (["--min-successful", "3", "--attempts", "2"], ["--min-successful 3", "--attempts 2"]),
    (["--rpc-timeout", "1"], ["--rpc-timeout", "'1'"]),
    (["--connect-timeout", "abc"], ["--connect-timeout", "'abc'"]),
    (["--interval", "0s"], ["--interval", "'0s'"]),
    (["--status", "SERVING"], ["--status"]),
    ([], ["--target"]),
])
def test_probe_usage_errors_exit_1(args, names):
    p = run("probe", "--target", "127.0.0.1:1", *args) if args else run("probe")
    assert p.returncode == 1, p.stderr
    assert "health-conformance:" in p.stderr
    for name in names:
        assert name in p.stderr, (name, p.stderr)


def test_wait_reaches_serving_on_a_timeline(mock):
    m = mock("--timeline", f"NOT_SERVING:{int(1000 * SLOW)}ms,SERVING")
    t0 = time.monotonic()
    p = run("wait", "--target", m.grpc_addr, "--timeout", f"{10 * SLOW:.0f}s")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "NOT_SERVING" in p.stdout and "reached SERVING" in p.stdout
    assert time.monotonic() - t0 >= 0.5  # it did wait for the timeline


def test_wait_times_out(mock):
    m = mock("--status", "NOT_SERVING")
    t0 = time.monotonic()
    p = run("wait", "--target", m.grpc_addr, "--timeout", "700ms")
    assert p.returncode == 1, p.stdout
    assert "did not reach SERVING" in p.stdout
    assert time.monotonic() - t0 < 5 * SLOW


def test_wait_for_not_serving(mock):
    m = mock("--timeline", "SERVING:500ms,NOT_SERVING")
    p = run("wait", "--target", m.grpc_addr, "--status", "NOT_SERVING", "--timeout", "10s")
    assert p.returncode == 0, p.stdout


def test_wait_http_timeline(spawn):
    # The first step outlasts the runner's start, even under sanitizers.
    m = start_http_mock(spawn, "--timeline", f"NOT_SERVING:{int(800 * SLOW)}ms,SERVING")
    p = run("wait", "--target", m.http_target, "--timeout", f"{10 * SLOW:.0f}s")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "NOT_SERVING (HTTP 503)" in p.stdout and "reached SERVING" in p.stdout


def test_wait_for_a_server_that_starts_late(spawn):
    """--load-time keeps the port closed at first, as a loading Executor."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # the mock takes it next; another process could race us here
    m = spawn(["--host", "127.0.0.1", "--port", str(port), "--load-time", "1s"])
    p = run("wait", "--target", f"127.0.0.1:{port}", "--timeout", f"{15 * SLOW:.0f}s")
    assert p.returncode == 0, p.stdout + m.stderr()
    assert "not answering" in p.stdout and "reached SERVING" in p.stdout
