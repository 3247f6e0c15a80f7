"""mock-executor, control API (mock_executor/admin.h): statuses, errors,
shutdown/resume, and what the gRPC side sees of each."""

import http.client

import grpc
import pytest

from conftest import RPC_TIMEOUT, STATUS


def test_get_statuses_reflects_flags(mock):
    m = mock("--status", "a=NOT_SERVING", "--status", "b=unknown", "--status", "SERVING")
    assert m.statuses() == {"": "SERVING", "a": "NOT_SERVING", "b": "UNKNOWN"}


def test_get_statuses_content_type_json(mock):
    m = mock()
    host, port = m.listening["admin"]
    conn = http.client.HTTPConnection(host, port, timeout=RPC_TIMEOUT)
    try:
        conn.request("GET", "/v1/statuses")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert resp.getheader("Content-Type", "").startswith("application/json")
    finally:
        conn.close()


@pytest.mark.parametrize("status", ["SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN"])
def test_put_status_seen_by_check(mock, health, status):
    m = mock()
    body = m.set_status("svc", status)
    assert body == {"service": "svc", "status": status}
    assert m.statuses()["svc"] == status
    assert health(m).check("svc") == STATUS[status]


def test_put_overall_status(mock, health):
    m = mock()
    m.set_status("", "NOT_SERVING")
    assert health(m).check_raw(b"", timeout=RPC_TIMEOUT).status == STATUS["NOT_SERVING"]


def test_put_odd_service_names(mock, health):
    m = mock()
    names = ["with space", "a/b", "ünï", "x" * 200]
    for n in names:
        m.set_status(n, "NOT_SERVING")
    st = m.statuses()
    h = health(m)
    for n in names:
        assert st[n] == "NOT_SERVING"
        assert h.check(n) == STATUS["NOT_SERVING"]


@pytest.mark.parametrize("raw", [
    pytest.param(b"{not json", id="bad-json"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"[]", id="not-an-object"),
    pytest.param(b'{"status": "SERVING"}', id="missing-service"),
    pytest.param(b'{"service": "svc"}', id="missing-status"),
    pytest.param(b'{"service": "svc", "status": "BOGUS"}', id="unknown-status"),
    pytest.param(b'{"service": 7, "status": "SERVING"}', id="service-not-string"),
    pytest.param(b'{"service": "svc", "status": null}', id="status-null"),
    pytest.param(b'{"service": "svc", "status": 9}', id="status-out-of-range"),
])
def test_put_bad_input_400_state_unchanged(mock, health, watches, raw):
    m = mock("--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    before = m.statuses()
    code, body, payload = m.http("PUT", "/v1/statuses", raw=raw)
    assert code == 400, (code, payload)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], \
        payload
    assert m.statuses() == before
    assert health(m).check("svc") == STATUS["SERVING"]
    w.expect_quiet()  # watchers were not woken


def test_delete_known(mock, health):
    m = mock("--status", "svc=SERVING")
    m.remove("svc")
    assert "svc" not in m.statuses()
    with pytest.raises(grpc.RpcError) as info:
        health(m).check("svc")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_delete_unknown_404(mock):
    m = mock("--status", "svc=SERVING")
    before = m.statuses()
    m.remove("nosuch", expect=404)
    assert m.statuses() == before


def test_delete_overall_refused_400(mock, health):
    m = mock()
    code, body, payload = m.http("DELETE", "/v1/statuses/")
    assert code == 400, (code, payload)
    assert isinstance(body, dict) and body.get("error"), payload
    assert m.statuses()[""] == "SERVING"
    assert health(m).check("") == STATUS["SERVING"]


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/v1/nosuch", 404),
    ("GET", "/", 404),
    ("POST", "/v1/statuses", 405),
    ("DELETE", "/v1/statuses", 405),
    ("GET", "/v1/shutdown", 405),
    ("GET", "/v1/resume", 405),
])
def test_unknown_path_and_wrong_method(mock, method, path, expected):
    m = mock()
    before = m.statuses()
    code, _, payload = m.http(method, path)
    assert code == expected, (code, payload)
    assert m.statuses() == before


def test_shutdown_and_resume_T24_T25(mock, health, watches):
    m = mock("--status", "a=SERVING", "--status", "b=UNKNOWN")
    h = health(m)
    w = h.watch("a")
    watches.append(w)
    assert w.next() == "SERVING"

    m.shutdown()
    assert w.next() == "NOT_SERVING"  # H-WATCH-9: watchers notified
    assert m.statuses() == {"": "NOT_SERVING", "a": "NOT_SERVING", "b": "NOT_SERVING"}
    for name in ("", "a", "b"):
        assert h.check(name) == STATUS["NOT_SERVING"], name

    # Sets are refused while shut down, and change nothing.
    code, body, payload = m.http("PUT", "/v1/statuses", {"service": "a", "status": "SERVING"})
    assert code == 409, (code, payload)
    code, body, payload = m.http("PUT", "/v1/statuses", {"service": "new", "status": "SERVING"})
    assert code == 409, (code, payload)
    assert h.check("a") == STATUS["NOT_SERVING"]
    assert "new" not in m.statuses()
    w.expect_quiet()

    m.resume()
    assert w.next() == "SERVING"
    assert m.statuses() == {"": "SERVING", "a": "SERVING", "b": "SERVING"}
    m.set_status("a", "NOT_SERVING")
    assert w.next() == "NOT_SERVING"
    assert h.check("a") == STATUS["NOT_SERVING"]


def test_shutdown_is_idempotent(mock, health):
    m = mock()
    m.shutdown()
    m.shutdown()
    assert health(m).check("") == STATUS["NOT_SERVING"]
    m.resume()
    m.resume()
    assert health(m).check("") == STATUS["SERVING"]
