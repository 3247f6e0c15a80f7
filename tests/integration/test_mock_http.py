"""mock-executor, HTTP side (issue 3): GET/HEAD / and /health/{name} per
ServingStatus, codes per status, keep-alive, several listeners on one
registry, the HTTP violation knobs, the request journal and the control
API's bearer token."""

import http.client
import json
import socket
import struct

import grpc
import h2.config
import h2.connection
import h2.events
import pytest

from conftest import RPC_TIMEOUT, STATUS, http_request

ALL_STATUSES = ["SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN"]
JSON = "application/json"


def http_mock(mock_on, *args):
    """One HTTP listener, one gRPC listener, the control API."""
    return mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                   *args)


def get(m, path, method="GET", headers=None, index=0):
    return http_request(m.ports("http")[index], method, path, headers=headers)


# --- one listener ------------------------------------------------------------

def test_listening_lines_one_per_pair(mock_on):
    m = mock_on(("http", "http", "grpc", "admin"), "--port", "0", "0", "0", "--protocol",
                "http", "grpc", "http")
    kinds = [k for k, _, _ in m.listeners]
    assert sorted(kinds) == ["admin", "grpc", "http", "http"], m.stdout()
    ports = [p for _, _, p in m.listeners]
    assert len(set(ports)) == 4 and all(0 < p < 65536 for p in ports), m.listeners
    assert all(host == "127.0.0.1" for _, host, _ in m.listeners), m.listeners


def test_repeated_port_and_protocol_flags(mock_on, health):
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "--protocol", "http", "--port", "0",
                "--protocol", "grpc")
    assert get(m, "/")[0] == 200
    assert health(m).check("") == STATUS["SERVING"]


def test_root_per_status(mock_on):
    m = http_mock(mock_on)
    for status in ALL_STATUSES:
        m.set_status("", status)
        code, headers, body = get(m, "/")
        assert headers["content-type"].startswith(JSON), headers
        if status == "SERVING":
            assert (code, json.loads(body)) == (200, {})
        else:
            assert code == 503, (status, code, body)
            assert json.loads(body) == {"status": status}


def test_root_head_same_code_no_body(mock_on):
    m = http_mock(mock_on, "--status", "svc=NOT_SERVING")
    code, headers, body = get(m, "/", method="HEAD")
    assert (code, body) == (200, b"")
    assert headers["content-type"].startswith(JSON)
    assert get(m, "/health/svc", method="HEAD")[:3:2] == (503, b"")
    assert get(m, "/health/nope", method="HEAD")[:3:2] == (404, b"")


def test_named_service(mock_on):
    m = http_mock(mock_on, "--status", "up=SERVING", "--status", "down=NOT_SERVING")
    assert get(m, "/health/up")[0::2] == (200, b"{}")
    code, _, body = get(m, "/health/down")
    assert (code, json.loads(body)) == (503, {"status": "NOT_SERVING"})
    code, headers, body = get(m, "/health/nope")
    assert code == 404 and headers["content-type"].startswith(JSON)
    assert "error" in json.loads(body)


def test_other_paths_404_other_methods_405(mock_on):
    m = http_mock(mock_on)
    for path in ("/health", "/healthz", "/v1/statuses", "/index.html"):
        code, headers, body = get(m, path)
        assert code == 404 and headers["content-type"].startswith(JSON), path
        assert "error" in json.loads(body)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        code, headers, _ = get(m, "/", method=method)
        assert code == 405, method
        assert headers["allow"] == "GET, HEAD"


def test_keep_alive_one_connection(mock_on):
    m = http_mock(mock_on)
    conn = http.client.HTTPConnection("127.0.0.1", m.ports("http")[0], timeout=RPC_TIMEOUT)
    try:
        conn.connect()
        sock = conn.sock
        for path, code in [("/", 200), ("/health/nope", 404), ("/", 200), ("/x", 404),
                           ("/", 200)]:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == code
            assert not resp.will_close, f"server closed the connection after {path}"
            assert conn.sock is sock, "the client had to reconnect"
        conn.request("HEAD", "/")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200 and conn.sock is sock
    finally:
        conn.close()


def test_http_code_per_status(mock_on):
    m = http_mock(mock_on, "--http-code", "NOT_SERVING=429", "--http-code", "SERVING=202",
                  "--status", "svc=NOT_SERVING", "--status", "u=UNKNOWN")
    assert get(m, "/")[0] == 202
    assert get(m, "/health/svc")[0] == 429
    assert get(m, "/health/u")[0] == 503  # not configured: the default
    assert get(m, "/health/nope")[0] == 404  # unknown names stay 404


@pytest.mark.parametrize("value", ["NOT_SERVING=42", "NOT_SERVING=600", "BOGUS=500",
                                   "NOT_SERVING", "NOT_SERVING=abc"])
def test_http_code_bad_exit_2(spawn, value):
    p = spawn(["--port", "0", "--protocol", "http", "--http-code", value])
    p.expected_exit = {2}
    assert p.wait_exit(RPC_TIMEOUT) == 2, p.stderr()
    assert "--http-code" in p.stderr(), p.stderr()
    assert "LISTENING" not in p.stdout()


# --- several listeners, one registry ---------------------------------------------

def test_both_protocols_change_together(mock_on, health):
    m = mock_on(("http", "http", "grpc", "admin"), "--port", "0", "0", "0", "--protocol",
                "http", "http", "grpc")
    h = health(m)
    assert [get(m, "/", index=i)[0] for i in (0, 1)] == [200, 200]
    assert h.check("") == STATUS["SERVING"]
    m.set_status("", "NOT_SERVING")
    assert [get(m, "/", index=i)[0] for i in (0, 1)] == [503, 503]
    assert h.check("") == STATUS["NOT_SERVING"]
    m.set_status("x", "SERVING")
    assert [get(m, "/health/x", index=i)[0] for i in (0, 1)] == [200, 200]
    assert h.check("x") == STATUS["SERVING"]


def test_http_watchers_and_grpc_see_one_put(mock_on, health, watches):
    m = http_mock(mock_on)
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "SERVING"
    m.set_status("", "NOT_SERVING")
    assert w.next() == "NOT_SERVING"
    assert get(m, "/")[0] == 503


def test_http_only_no_grpc(mock_on):
    m = mock_on(("http", "admin"), "--port", "0", "--protocol", "http")
    assert get(m, "/")[0] == 200
    assert m.ports("grpc") == []


# --- violation knobs ------------------------------------------------------------

def test_violate_http_knobs_from_flags(mock_on):
    m = http_mock(mock_on, "--status", "NOT_SERVING", "--violate", "http-ok-when-unhealthy",
                  "--violate", "http-wrong-content-type")
    code, headers, body = get(m, "/")
    assert (code, body) == (200, b"{}")
    assert headers["content-type"].startswith("text/html")


def test_violate_http_not_json_via_control_api(mock_on):
    m = http_mock(mock_on)
    code, body, raw = m.http("PUT", "/v1/violations",
                             {"violation": "http-not-json", "enabled": True})
    assert code == 200, raw
    code, headers, body = get(m, "/")
    assert code == 200 and headers["content-type"].startswith(JSON)
    with pytest.raises(ValueError):
        json.loads(body)
    code, body, _ = m.http("GET", "/v1/violations")
    assert body["enabled"] == ["http-not-json"]
    assert any(v["name"] == "http-not-json" for v in body["available"])
    m.http("PUT", "/v1/violations", {"violation": "http-not-json", "enabled": False})
    assert get(m, "/")[0::2] == (200, b"{}")


def test_violation_unknown_knob_400(mock_on):
    m = http_mock(mock_on)
    code, body, raw = m.http("PUT", "/v1/violations", {"violation": "nope", "enabled": True})
    assert code == 400 and "nope" in body["error"], raw
    assert m.http("GET", "/v1/violations")[1]["enabled"] == []


def test_violate_unknown_flag_exit_2(spawn):
    p = spawn(["--port", "0", "--violate", "no-such-knob"])
    p.expected_exit = {2}
    assert p.wait_exit(RPC_TIMEOUT) == 2
    assert "no-such-knob" in p.stderr(), p.stderr()


@pytest.mark.parametrize("flag", ["--help", "--version", "--list-violations"])
def test_information_flags_exit_0(spawn, flag):
    p = spawn([flag])
    assert p.wait_exit(RPC_TIMEOUT) == 0, (flag, p.stderr())
    assert p.stdout(), flag


def test_list_violations(spawn):
    p = spawn(["--list-violations"])
    assert p.wait_exit(RPC_TIMEOUT) == 0, p.stderr()
    out = p.stdout()
    for name in ("http-not-json", "watch-duplicates", "check-slow"):
        assert name in out, out
    assert "T19" in out, out
    assert "LISTENING" not in out


# --- journal -------------------------------------------------------------------

def journal(m):
    code, body, raw = m.http("GET", "/v1/journal")
    assert code == 200, raw
    return body


def raw_call(port, path, service, headers):
    """One call over plain HTTP/2 (h2) with exactly these extra headers:
    a gRPC client library re-encodes its deadline from a cached clock when
    it writes grpc-timeout, so under load it may ask for a few ms more than
    its caller gave it. Returns the response headers and trailers."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding="utf-8"))
    payload = bytes([0x0A, len(service)]) + service.encode()
    got, ended = {}, False
    with socket.create_connection(("127.0.0.1", port), timeout=RPC_TIMEOUT) as sock:
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                              (":path", path),
                              (":authority", f"127.0.0.1:{port}"), ("te", "trailers"),
                              ("content-type", "application/grpc"), *headers])
        conn.send_data(1, struct.pack(">BI", 0, len(payload)) + payload, end_stream=True)
        sock.sendall(conn.data_to_send())
        while not ended:
            data = sock.recv(65536)  # bounded by the socket timeout
            assert data, f"the mock closed the connection before the answer ended: {got}"
            for ev in conn.receive_data(data):
                if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    got.update(dict(ev.headers))
                ended |= isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset))
            sock.sendall(conn.data_to_send())
    return got


def test_journal_records_grpc_and_http(mock_on):
    m = http_mock(mock_on, "--status", "svc=NOT_SERVING")
    reply = raw_call(m.ports("grpc")[0], "/grpc.health.v1.Health/Check", "svc",
                      [("grpc-timeout", "4S"), ("user-agent", "journal-probe/1.0")])
    assert reply.get("grpc-status") == "0", reply
    assert get(m, "/health/svc", headers={"User-Agent": "http-probe/2.0"})[0] == 503

    records = journal(m)["records"]
    checks = [r for r in records if r["protocol"] == "grpc" and r["method"].endswith("/Check")]
    assert len(checks) == 1, records
    rec = checks[0]
    assert rec["method"] == "/grpc.health.v1.Health/Check"
    assert rec["service"] == "svc"
    assert rec["deadline_ms"] is not None and 0 < rec["deadline_ms"] <= 4000, rec
    assert "journal-probe/1.0" in rec["user_agent"], rec
    assert "127.0.0.1" in rec["peer"], rec
    assert rec["time"].endswith("Z"), rec

    hits = [r for r in records if r["protocol"] == "http"]
    assert len(hits) == 1, records
    assert hits[0]["method"] == "GET /health/svc"
    assert hits[0]["service"] == "svc"
    assert hits[0]["deadline_ms"] is None
    assert hits[0]["user_agent"] == "http-probe/2.0"
    assert hits[0]["peer"].startswith("ipv4:127.0.0.1:"), hits[0]
    assert hits[0]["result"] == "503"


def test_journal_peer_is_each_connections_own(mock_on):
    """The HTTP peer is formatted once per connection (httpd.c): two
    keep-alive connections, two requests each, every record naming its own
    connection's client port, none another's."""
    m = http_mock(mock_on)
    conns = [http.client.HTTPConnection("127.0.0.1", m.ports("http")[0], timeout=RPC_TIMEOUT)
             for _ in range(2)]
    try:
        for conn in conns:
            conn.connect()
        for conn in conns + conns:  # interleaved: a, b, a, b
            conn.request("GET", f"/health/c{conn.sock.getsockname()[1]}")
            resp = conn.getresponse()
            resp.read()
        hits = [r for r in journal(m)["records"] if r["protocol"] == "http"]
        assert len(hits) == 4, hits
        for r in hits:
            assert r["peer"] == f"ipv4:127.0.0.1:{r['service'][1:]}", r
        assert len({r["peer"] for r in hits}) == 2, hits
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.parametrize("engine", ["core", "wire"])
def test_journal_grpc_peer_named_alike_by_both_engines(mock_on, engine):
    """The wire engine names a peer as the core does (netaddr_peer_name):
    "ipv4:127.0.0.1:PORT", PORT the client's."""
    m = http_mock(mock_on, "--engine", engine)
    assert raw_call(m.ports("grpc")[0], "/grpc.health.v1.Health/Check", "", []) \
        .get("grpc-status") == "0"
    recs = [r for r in journal(m)["records"] if r["protocol"] == "grpc"]
    assert len(recs) == 1, recs
    host, port = recs[0]["peer"].removeprefix("ipv4:").rsplit(":", 1)
    assert host == "127.0.0.1" and 0 < int(port) < 65536, recs[0]


def test_journal_off_http_still_answers(mock_on):
    """--journal-size 0: GET / and a 404 are answered with no journal
    observer on the listener, and the journal stays empty."""
    m = http_mock(mock_on, "--journal-size", "0")
    assert get(m, "/")[0] == 200
    assert get(m, "/health/nope")[0] == 404
    assert journal(m)["records"] == []


@pytest.mark.parametrize("size, code", [(12000, 200), (20000, 431)])
def test_request_head_size_as_uvicorn(mock_on, size, code):
    """A request head up to 16 KiB (uvicorn's h11 limit, Jina's HTTP server)
    is answered; a larger one gets 431 and the listener keeps serving."""
    m = http_mock(mock_on)
    assert get(m, "/", headers={"X-Big": "a" * size})[0] == code
    assert get(m, "/")[0] == 200


def test_journal_deadline_of_an_unknown_method(mock_on):
    """A method the mock does not serve records the deadline it came with."""
    m = http_mock(mock_on)
    reply = raw_call(m.ports("grpc")[0], "/grpc.health.v1.Health/Nope", "", [("grpc-timeout", "2S")])
    assert reply.get("grpc-status") == "12", reply
    recs = [r for r in journal(m)["records"] if r["method"].endswith("/Nope")]
    assert len(recs) == 1 and 0 < recs[0]["deadline_ms"] <= 2000, recs


def test_journal_no_deadline_is_null(mock_on):
    m = http_mock(mock_on)
    ch = grpc.insecure_channel(f"127.0.0.1:{m.ports('grpc')[0]}",
                               options=[("grpc.enable_http_proxy", 0)])
    try:
        check = ch.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
        fut = check.future(b"")  # no timeout: no grpc-timeout header
        fut.result(timeout=RPC_TIMEOUT)
    finally:
        ch.close()
    checks = [r for r in journal(m)["records"] if r["method"].endswith("/Check")]
    assert len(checks) == 1 and checks[0]["deadline_ms"] is None, checks


def test_journal_delete_clears(mock_on):
    m = http_mock(mock_on)
    get(m, "/")
    assert journal(m)["records"], "the GET / was not recorded"
    code, _, raw = m.http("DELETE", "/v1/journal")
    assert code == 204, raw
    assert journal(m)["records"] == []


def test_journal_size_bounds_the_ring(mock_on):
    m = http_mock(mock_on, "--journal-size", "2")
    for path in ("/health/a", "/health/b", "/health/c"):
        get(m, path)
    body = journal(m)
    assert body["capacity"] == 2
    assert [r["method"] for r in body["records"]] == ["GET /health/b", "GET /health/c"]
    assert body["dropped"] == 1


# --- control API token -------------------------------------------------------------

def test_admin_token(mock_on):
    m = http_mock(mock_on, "--admin-token", "t0ken")
    port = m.admin_port
    code, headers, _ = http_request(port, "GET", "/v1/statuses")
    assert code == 401 and headers["www-authenticate"].startswith("Bearer"), headers
    code, _, _ = http_request(port, "GET", "/v1/statuses",
                              headers={"Authorization": "Bearer wrong"})
    assert code == 401
    code, _, _ = http_request(port, "PUT", "/v1/statuses", {"service": "", "status": "2"},
                              headers={"Authorization": "Bearer wrong"})
    assert code == 401
    assert get(m, "/")[0] == 200  # the refused PUT changed nothing
    code, _, body = http_request(port, "GET", "/v1/statuses",
                                 headers={"Authorization": "Bearer t0ken"})
    assert code == 200 and json.loads(body)["statuses"] == {"": "SERVING"}
    # The health listeners take no token.
    assert get(m, "/")[0] == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_admin_refuses_non_loopback_without_token(spawn, host):
    p = spawn(["--port", "0", "--host", "127.0.0.1", "--admin-port", "0", "--admin-host", host])
    p.expected_exit = {2}
    assert p.wait_exit(RPC_TIMEOUT) == 2, p.stderr()
    assert "--admin-token" in p.stderr() and "--admin-insecure" in p.stderr(), p.stderr()
    assert "LISTENING admin" not in p.stdout()
