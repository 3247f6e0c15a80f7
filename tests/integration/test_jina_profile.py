"""mock-executor --profile jina (issue 17.1): from the outside it must look
like a Jina 3.x Executor (docs/jina.md). gRPC through python3-grpcio
and a reflection v1alpha client (the conftest's, on protoc-generated
messages): grpcurl is not in Debian, so `grpcurl -plaintext h:p list` and
`grpcurl -plaintext h:p grpc.health.v1.Health/Check` are proven here by the
exact reflection requests grpcurl sends (ListServices; FileContainingSymbol
grpc.health.v1.Health, after v1 answered UNIMPLEMENTED). HTTP through
urllib, as Jina's own readiness check (urllib.request.urlopen) does."""

import json
import signal
import time
import urllib.error
import urllib.request

import grpc
import pytest
from google.protobuf import descriptor_pb2

from conftest import RPC_TIMEOUT, SLOW, STATUS, STOP_TIMEOUT
from test_mock_lifecycle import free_port, refused

# jina/serve/runtimes/servers/grpc.py service_names, sorted as grpcio-reflection lists them.
JINA_SERVICES = sorted([
    "jina.JinaRPC", "jina.JinaSingleDataRequestRPC", "jina.JinaDataRequestRPC",
    "jina.JinaGatewayDryRunRPC", "jina.JinaDiscoverEndpointsRPC", "jina.JinaInfoRPC",
    "grpc.reflection.v1alpha.ServerReflection",
])


def jina(mock, *args):
    return mock("--profile", "jina", *args)


# --- gRPC ----------------------------------------------------------------------

def test_every_service_and_overall_serving(mock, health):
    h = health(jina(mock))
    for name in ["", *JINA_SERVICES]:
        assert h.check(name) == STATUS["SERVING"], name


def test_health_service_itself_not_found(mock, health):
    h = health(jina(mock))
    with pytest.raises(grpc.RpcError) as e:
        h.check("grpc.health.v1.Health")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_v1alpha_lists_exactly_the_executor_services(mock, reflection):
    """grpcurl ... list prints exactly these (ListServices, sorted)."""
    m = jina(mock)
    s = reflection(m.channel, "v1alpha")
    s.send(list_services="*")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "list_services_response", resp
    assert [svc.name for svc in resp.list_services_response.service] == JINA_SERVICES
    assert s.close() == grpc.StatusCode.OK


def test_reflection_v1_unimplemented(mock, reflection):
    """An Executor registers v1alpha only; grpcurl falls back to it."""
    m = jina(mock)
    s = reflection(m.channel, "v1")
    s.send(list_services="*")
    with pytest.raises(AssertionError, match="UNIMPLEMENTED"):
        s.recv()


def test_reflection_resolves_health_symbol_then_check(mock, reflection, health):
    """What `grpcurl -plaintext h:p grpc.health.v1.Health/Check` does: resolve the
    symbol over v1alpha, then call Check with an empty request -> SERVING."""
    m = jina(mock)
    s = reflection(m.channel, "v1alpha")
    s.send(file_containing_symbol="grpc.health.v1.Health")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in resp.file_descriptor_response.file_descriptor_proto]
    assert any(f.package == "grpc.health.v1" and any(sv.name == "Health" for sv in f.service)
               for f in files), [f.name for f in files]
    assert s.close() == grpc.StatusCode.OK
    reply = health(m).check_raw(b"", timeout=RPC_TIMEOUT)
    assert reply.status == STATUS["SERVING"]


def test_watch_deduplicates(mock, health, watches):
    m = jina(mock)
    w = health(m).watch("jina.JinaRPC")
    watches.append(w)
    assert w.next() == "SERVING"
    m.set_status("jina.JinaRPC", "SERVING")
    w.expect_quiet()
    m.set_status("jina.JinaRPC", "NOT_SERVING")
    assert w.next() == "NOT_SERVING"


def test_status_flag_wins_over_profile(mock, health):
    h = health(jina(mock, "--status", "jina.JinaInfoRPC=NOT_SERVING"))
    assert h.check("jina.JinaInfoRPC") == STATUS["NOT_SERVING"]
    assert h.check("jina.JinaRPC") == STATUS["SERVING"]


def test_sigterm_all_not_serving_pushed_then_exit_within_grace(mock, health, watches):
    m = jina(mock, "--drain-watch", "keep")
    h = health(m)
    ws = {name: h.watch(name) for name in ("", "jina.JinaRPC", "jina.JinaInfoRPC")}
    watches.extend(ws.values())
    for w in ws.values():
        assert w.next() == "SERVING"
    sent = time.monotonic()
    m.signal(signal.SIGTERM)
    for name, w in ws.items():
        assert w.next() == "NOT_SERVING", name
    rc = m.wait_exit(1.0 + 3.0 * SLOW)  # Jina: server.stop(1.0)
    assert rc == 0, (rc, m.stderr())
    assert time.monotonic() - sent < 1.0 + 3.0 * SLOW


def test_load_time_refused_then_serving(spawn, health):
    load_s = 2.0 * SLOW
    port = free_port()
    started = time.monotonic()
    p = spawn(["--profile", "jina", "--port", str(port), "--host", "127.0.0.1",
               "--load-time", f"{int(load_s * 1000)}ms"])
    closed = refused(port)
    if time.monotonic() - started < load_s * 0.9:  # still loading when we looked
        assert closed, "the port accepted while loading"  # an Executor's __init__ runs first
    p.wait_listening(("grpc",), timeout=load_s + 10 * SLOW)
    assert health(p).check("jina.JinaSingleDataRequestRPC") == STATUS["SERVING"]


def test_yaml_profile_and_print_config(tmp_path, mock_on, health, spawn):
    cfg = tmp_path / "jina.yml"
    cfg.write_text("profile: jina\nport: [0]\n")
    m = mock_on(("grpc", "admin"), "--config", str(cfg))
    assert health(m).check("jina.JinaDiscoverEndpointsRPC") == STATUS["SERVING"]
    p = spawn(["--config", str(cfg), "--print-config"])
    assert p.wait_exit(STOP_TIMEOUT) == 0, p.stderr()
    assert "profile: jina" in p.stdout()


def test_bad_profile_exit_2(spawn):
    p = spawn(["--profile", "triton"])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2
    assert "--profile: 'triton' is not one of none, jina" in p.stderr()


# --- HTTP (FastAPI on uvicorn) -----------------------------------------------------

def http_jina(mock_on, *args):
    m = mock_on(("http", "admin"), "--profile", "jina", "--port", "0", "--protocol", "http",
                *args)
    return m, f"http://127.0.0.1:{m.ports('http')[0]}"


def fetch(url, method="GET"):
    """(status, headers lower-cased, body) through urllib, errors included."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=RPC_TIMEOUT) as resp:
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_http_root_is_fastapi_health(mock_on):
    _, base = http_jina(mock_on)
    code, headers, body = fetch(base)  # Jina's is_ready: urlopen(f'http://{addr}')
    assert (code, body) == (200, b"{}")
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == "2"
    assert headers["server"] == "uvicorn"
    assert "date" in headers


def test_http_head_root_405_fastapi_body(mock_on):
    _, base = http_jina(mock_on)
    code, headers, body = fetch(base + "/", "HEAD")
    assert code == 405
    assert headers["allow"] == "GET"
    assert headers["content-type"] == "application/json"
    # HEAD carries no body; its length is that of FastAPI's GET-less answer.
    assert headers["content-length"] == str(len(b'{"detail":"Method Not Allowed"}'))
    code, _, body = fetch(base + "/", "POST")
    assert (code, body) == (405, b'{"detail":"Method Not Allowed"}')


@pytest.mark.parametrize("path", ["/nope", "/status", "/dry_run", "/post", "/health/x"])
def test_http_unknown_path_404_detail(mock_on, path):
    _, base = http_jina(mock_on)
    code, headers, body = fetch(base + path)
    assert (code, body) == (404, b'{"detail":"Not Found"}')
    assert headers["server"] == "uvicorn"


def test_http_openapi_and_docs(mock_on):
    _, base = http_jina(mock_on)
    code, headers, body = fetch(base + "/openapi.json")
    assert code == 200 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["paths"]["/"]["get"]["summary"] == "Get the health of Jina Executor service"
    assert list(doc["paths"]) == ["/"]
    for path in ("/docs", "/redoc"):
        code, headers, body = fetch(base + path)
        assert code == 200 and headers["content-type"].startswith("text/html"), path
        assert b"/openapi.json" in body
    assert fetch(base + "/docs", "HEAD")[0] == 200
    assert fetch(base + "/docs", "POST")[:2][0] == 405


def test_http_not_serving_is_not_200(mock_on):
    """A mock extension (an Executor never answers non-200): unhealthy means no 200."""
    m, base = http_jina(mock_on)
    m.set_status("", "NOT_SERVING")
    code, headers, body = fetch(base)
    assert (code, body) == (503, b'{"detail":"Service Unavailable"}')
    assert headers["server"] == "uvicorn"


# --- Jina's command line (issue 17.2) ------------------------------------------------

def test_jina_executor_command_line_accepted(spawn, health):
    """What a script passes to `jina executor`: aliases, upper-case protocols,
    and flags the mock does not model, set aside with a warning."""
    p = spawn(["--profile", "jina", "--uses", "config.yml", "--name", "executor0",
               "--port-expose", "0", "--protocols", "GRPC", "--host", "127.0.0.1",
               "--timeout-ready", "600000", "--quiet", "--uses-with", "{\"a\": 1}"])
    p.wait_listening(("grpc",))
    assert health(p).check("jina.JinaRPC") == STATUS["SERVING"]
    assert ("ignored unknown argument(s) (--profile jina): --uses config.yml --name executor0 "
            "--quiet --uses-with {\"a\": 1}") in p.stderr(), p.stderr()


@pytest.mark.parametrize("alias", ["--port", "--ports", "--port-in", "--port-expose"])
def test_port_aliases_take_several_values(mock_on, alias):
    m = mock_on(("http", "grpc", "admin"), "--profile", "jina", alias, "0", "0",
                "--protocol", "HTTP", "Grpc")
    assert len(m.ports("http")) == 1 and len(m.ports("grpc")) == 1


def test_unknown_flag_without_profile_exit_2(spawn):
    p = spawn(["--uses", "config.yml"])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2
    assert "unknown option '--uses'" in p.stderr()


def test_timeout_ready_shorter_than_load_fails_start(spawn):
    p = spawn(["--profile", "jina", "--host", "127.0.0.1", "--port", "0", "--load-time", "30s",
               "--timeout-ready", "200"])
    p.expected_exit = {1}
    assert p.wait_exit(STOP_TIMEOUT) == 1
    assert ("timeout after waiting for 200ms, if your executor takes time to load, "
            "you may increase --timeout-ready") in p.stderr()
    assert "LISTENING" not in p.stdout()


@pytest.mark.parametrize("value", ["soon", "-2", "1.5"])
def test_timeout_ready_bad_value_exit_2(spawn, value):
    p = spawn(["--profile", "jina", "--timeout-ready", value])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2
    assert f"--timeout-ready: '{value}'" in p.stderr()


def test_timeout_ready_minus_one_no_limit(spawn, health):
    p = spawn(["--profile", "jina", "--host", "127.0.0.1", "--port", "0", "--load-time", "200ms",
               "--timeout-ready", "-1"])
    p.wait_listening(("grpc",))
    assert health(p).check("") == STATUS["SERVING"]
