"""mock-executor, command line: LISTENING lines, bad flags, ports in use,
signals (H-WATCH-9)."""

import signal
import socket
import time
import urllib.request

import pytest

from conftest import LISTENING_RE, SLOW, STATUS, STOP_TIMEOUT


def wait_failed_exit(proc, timeout=STOP_TIMEOUT):
    rc = proc.wait_exit(timeout)
    assert rc is not None, (f"still running {timeout:.0f}s after {proc.args[1:]}; "
                            f"stdout={proc.stdout()!r} stderr={proc.stderr()!r}")
    return rc


def test_listening_lines(mock):
    m = mock()
    lines = [ln for ln in m.stdout().splitlines() if ln.startswith("LISTENING")]
    assert len(lines) == 2, m.stdout()
    parsed = {LISTENING_RE.match(ln).group(1): LISTENING_RE.match(ln) for ln in lines}
    assert set(parsed) == {"grpc", "admin"}
    for kind, match in parsed.items():
        assert match.group(2) == "127.0.0.1", lines
        assert 0 < int(match.group(3)) < 65536, lines
    assert m.grpc_port != m.admin_port


def test_list_limit_flag_accepted(mock, health):
    m = mock("--list-limit", "1")
    assert health(m).list() == {"": STATUS["SERVING"]}


@pytest.mark.parametrize("args,flag", [
    pytest.param(["--port", "0", "--bogus"], "--bogus", id="unknown-flag"),
    pytest.param(["--port", "0", "--status", "BOGUS"], "--status", id="status-bogus"),
    pytest.param(["--port", "0", "--status", "svc=BOGUS"], "--status", id="status-name-bogus"),
    pytest.param(["--port", "0", "--status", "4"], "--status", id="status-4"),
    pytest.param(["--port", "abc"], "--port", id="port-abc"),
    pytest.param(["--port", "70000"], "--port", id="port-70000"),
    pytest.param(["--port", "-1"], "--port", id="port-negative"),
    pytest.param(["--port", "80x"], "--port", id="port-trailing-junk"),
    pytest.param(["--port"], "--port", id="port-missing-value"),
    pytest.param(["--port", "0", "--status"], "--status", id="status-missing-value"),
    pytest.param(["--port", "0", "--admin-port", "abc"], "--admin-port", id="admin-port-abc"),
    pytest.param(["--port", "0", "--list-limit", "abc"], "--list-limit", id="list-limit-abc"),
])
def test_bad_flags_exit_2(spawn, args, flag):
    p = spawn(args)
    p.expected_exit = {2}
    rc = wait_failed_exit(p)
    assert rc == 2, f"exit {rc}, stderr={p.stderr()!r}"
    assert flag in p.stderr(), f"stderr does not name {flag}: {p.stderr()!r}"
    assert "LISTENING" not in p.stdout()


@pytest.mark.parametrize("flag", ["--repeat", "--admin-insecure", "--print-config",
                                  "--list-violations", "--help", "--version"])
def test_switch_with_a_value_exit_2(spawn, flag):
    """--flag=VALUE on a switch is a usage error naming it: not run, not
    printed (--help, --version, --print-config) with the value dropped."""
    p = spawn(["--port", "0", f"{flag}=1"])
    p.expected_exit = {2}
    rc = wait_failed_exit(p)
    assert rc == 2, f"exit {rc}, stderr={p.stderr()!r}"
    assert f"mock-executor: {flag} takes no value\n" in p.stderr(), p.stderr()
    assert p.stdout() == "", p.stdout()


def in_use_message(stderr, port):
    text = stderr.lower()
    return str(port) in text or "in use" in text


def test_grpc_port_in_use_by_other_socket(spawn):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = spawn(["--port", str(port), "--host", "127.0.0.1"])
        p.expected_exit = {1}  # main.c: any start failure exits 1
        rc = wait_failed_exit(p)
    assert rc == 1, (rc, p.stderr())
    assert in_use_message(p.stderr(), port), p.stderr()
    assert "LISTENING grpc" not in p.stdout()


@pytest.mark.parametrize("engine", ["core", "wire"])
@pytest.mark.parametrize("host", ["nosuch.invalid", "256.1.1.1"])
def test_grpc_host_that_does_not_resolve(spawn, engine, host):
    """Said as such, not as a port in use (docs/bad-input.md, --host). Exit 1
    as for any start failure: whether a name resolves is up to the
    resolver, as whether a port is free, not to the command line."""
    p = spawn(["--port", "0", "--host", host, "--engine", engine])
    p.expected_exit = {1}
    rc = wait_failed_exit(p)
    assert rc == 1, (rc, p.stderr())
    assert f"mock-executor: grpc: cannot use host {host}: " in p.stderr(), p.stderr()
    assert "in use" not in p.stderr(), p.stderr()
    assert "LISTENING grpc" not in p.stdout()


@pytest.mark.parametrize("engine", ["core", "wire"])
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_ipv6_host_bare_or_bracketed_on_every_listener(spawn, health, engine, host):
    """--host and --admin-host take ::1 and [::1] alike on every listener
    (netaddr.c): both gRPC engines, HTTP health and the control API, which
    counts either spelling as loopback (no --admin-token needed). Before,
    [::1] worked on the core engine only."""
    p = spawn(["--port", "0", "--port", "0", "--protocol", "grpc", "http", "--engine", engine,
               "--host", host, "--admin-port", "0", "--admin-host", host])
    p.wait_listening(("grpc", "http", "admin"))
    assert all(h == "[::1]" for _, h, _ in p.listeners), p.listeners
    assert health(p).check("") == STATUS["SERVING"]
    for kind, path in (("http", "/"), ("admin", "/v1/health")):
        with urllib.request.urlopen(f"http://[::1]:{p.listening[kind][1]}{path}",
                                    timeout=STOP_TIMEOUT) as r:
            assert r.status == 200, (kind, r.status)


def test_grpc_port_in_use_by_another_mock(mock, spawn, health):
    """A second mock on the same port must fail, not share it (SO_REUSEPORT)."""
    first = mock()
    p = spawn(["--port", str(first.grpc_port), "--host", "127.0.0.1", "--admin-port", "0"])
    p.expected_exit = {1}  # main.c: any start failure exits 1
    rc = wait_failed_exit(p)
    assert rc == 1, p.stdout()
    assert in_use_message(p.stderr(), first.grpc_port), p.stderr()
    assert health(first).check("") == STATUS["SERVING"]


def test_admin_port_in_use(mock, spawn):
    first = mock()
    p = spawn(["--port", "0", "--host", "127.0.0.1", "--admin-port", str(first.admin_port),
               "--admin-host", "127.0.0.1"])
    p.expected_exit = {1}  # main.c: any start failure exits 1
    rc = wait_failed_exit(p)
    assert rc == 1, p.stdout()
    assert in_use_message(p.stderr(), first.admin_port), p.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_notifies_watchers_and_exits_0_H_WATCH_9(mock, health, watches, sig):
    m = mock("--status", "a=SERVING", "--status", "b=UNKNOWN")
    readers = [health(m).watch(n) for n in ("", "a", "b")]
    watches.extend(readers)
    assert [r.next() for r in readers] == ["SERVING", "SERVING", "UNKNOWN"]

    started = time.monotonic()
    m.signal(sig)
    rc = m.wait_exit(1.0 * SLOW)
    elapsed = time.monotonic() - started
    assert rc is not None, f"still running {elapsed:.2f}s after {sig.name} with open Watches"
    assert rc == 0, f"exit {rc} after {sig.name}; stderr={m.stderr()[-2000:]!r}"
    for r in readers:
        code, details, msgs = r.end()
        assert msgs == ["NOT_SERVING"], (f"Watch saw {msgs} before ending with {code} "
                                         f"{details!r}")


def test_signal_idle_server_exits_0(mock):
    m = mock()
    started = time.monotonic()
    m.signal(signal.SIGTERM)
    rc = m.wait_exit(1.0 * SLOW)
    assert rc == 0, f"exit {rc} after {time.monotonic() - started:.2f}s"
