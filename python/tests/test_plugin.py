"""healthcheck_mock: the fixtures against the real mock-executor."""

import http.client
import os
import queue
import threading

import grpc
import pytest

from healthcheck_mock import MockExecutor, MockExecutorError, Unsupported

RPC_TIMEOUT = 5.0
SERVING, NOT_SERVING = 1, 2
OPTIONS = [("grpc.enable_http_proxy", 0)]


class Client:
    def __init__(self, target, pb):
        self.pb = pb
        self.channel = grpc.insecure_channel(target, options=OPTIONS)
        self._check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=pb.HealthCheckRequest.SerializeToString,
            response_deserializer=pb.HealthCheckResponse.FromString)
        self._watch = self.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=pb.HealthCheckRequest.SerializeToString,
            response_deserializer=pb.HealthCheckResponse.FromString)

    def check(self, service=""):
        return self._check(self.pb.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT).status

    def watch(self, service):
        """A queue of the statuses Watch sends, read on a thread."""
        call = self._watch(self.pb.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT * 2)
        q = queue.Queue()

        def read():
            try:
                for resp in call:
                    q.put(resp.status)
            except grpc.RpcError:
                pass
            q.put(None)
        threading.Thread(target=read, daemon=True).start()
        return call, q


@pytest.fixture
def client(health_pb2):
    made = []

    def make(mock):
        c = Client(mock.grpc_target, health_pb2)
        made.append(c)
        return c
    yield make
    for c in made:
        c.channel.close()


def http_get(url):
    host, port = url[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=RPC_TIMEOUT)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


def test_default_mock_serves(mock_executor, client):
    assert client(mock_executor).check("") == SERVING
    assert mock_executor.statuses() == {"": "SERVING"}


def test_set_status_reaches_a_watcher(mock_executor, client):
    mock_executor.set_status("db", "SERVING")
    call, q = client(mock_executor).watch("db")
    assert q.get(timeout=RPC_TIMEOUT) == SERVING
    mock_executor.set_status("db", "NOT_SERVING")
    assert q.get(timeout=RPC_TIMEOUT) == NOT_SERVING
    call.cancel()


def test_remove_and_bad_status(mock_executor, client):
    mock_executor.set_status("db", "SERVING")
    mock_executor.remove("db")
    with pytest.raises(grpc.RpcError) as e:
        client(mock_executor).check("db")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(MockExecutorError, match="HTTP 400"):
        mock_executor.set_status("db", "SLEEPY")


def test_http_listener(mock_executor_factory):
    mock = mock_executor_factory(grpc=False, http=True)
    assert http_get(mock.http_url) == 200
    mock.set_status("", "NOT_SERVING")
    assert http_get(mock.http_url) == 503


def test_timeline(mock_executor_factory, client):
    """PUT /v1/timelines when this build has it; the --timeline flag always."""
    mock = mock_executor_factory()
    try:
        mock.timeline("NOT_SERVING:200ms,SERVING", service="t")
    except Unsupported as e:
        assert "--timeline" in str(e)
        mock = mock_executor_factory("--timeline", "t=NOT_SERVING:200ms,SERVING")
    call, q = client(mock).watch("t")
    seen = []
    while SERVING not in seen:
        status = q.get(timeout=RPC_TIMEOUT)
        assert status is not None, f"Watch ended after {seen}"
        seen.append(status)
        assert len(seen) <= 3, f"no SERVING after {seen}"  # bounds the loop
    assert seen[0] == NOT_SERVING and seen[-1] == SERVING, seen
    call.cancel()


def test_violate(mock_executor_factory, client):
    """At run time (PUT /v1/violations) when this build has it:
    check-not-serving-unavailable (T04) makes a NOT_SERVING service fail Check.
    Otherwise at start: no-overall-health (T01) leaves "" unregistered."""
    mock = mock_executor_factory("--status", "db=NOT_SERVING")
    try:
        mock.violate("check-not-serving-unavailable")
        service, code = "db", grpc.StatusCode.UNAVAILABLE
    except Unsupported as e:
        assert "--violate" in str(e)
        mock = mock_executor_factory("--violate", "no-overall-health")
        service, code = "", grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        client(mock).check(service)
    assert e.value.code() == code


def test_journal(mock_executor, client):
    client(mock_executor).check("")
    records = mock_executor.journal()  # this repository's build has GET /v1/journal
    assert any("Check" in str(r.get("method", "")) for r in records), records


def test_stop_by_pid(mock_executor_factory):
    mock = mock_executor_factory()
    assert mock.stop() == 0
    with pytest.raises(ProcessLookupError):
        os.kill(mock.pid, 0)


def test_start_failure_names_the_problem():
    with pytest.raises(MockExecutorError, match="--no-such-flag"):
        MockExecutor.start("--no-such-flag")


def test_binary_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HC_MOCK_EXECUTOR", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError):
        MockExecutor.start()
