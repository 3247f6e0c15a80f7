"""mock-executor fault injection (issue 6 part 3): --fault rules, by flag,
YAML and control API, seen by a grpcio client and an HTTP client."""

import http.client
import time

import grpc
import pytest

from conftest import RPC_TIMEOUT, SLOW, http_request

CLIENT_DEADLINE = 0.3 * SLOW  # the client's Check deadline, seconds


def check_code(m, pb, timeout=RPC_TIMEOUT, service=""):
    """(grpc code, serving status or None, details) of one Check."""
    rpc = m.channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=pb.health.HealthCheckRequest.SerializeToString,
                                response_deserializer=pb.health.HealthCheckResponse.FromString)
    try:
        resp = rpc(pb.health.HealthCheckRequest(service=service), timeout=timeout)
        return grpc.StatusCode.OK, resp.status, None
    except grpc.RpcError as e:
        return e.code(), None, e.details()


def faults(m):
    code, body, raw = m.http("GET", "/v1/faults")
    assert code == 200, raw
    return body["faults"]


def test_next_three_checks_hang_then_serving(mock, pb):
    """The issue's 'done when': a client with a 300 ms deadline and a retry
    loop sees three timeouts, then SERVING on the 4th attempt."""
    m = mock("--fault", "method=Check,action=hang,count=3")
    attempts = []
    for _ in range(6):
        code, status, _ = check_code(m, pb, timeout=CLIENT_DEADLINE)
        attempts.append(code)
        if code == grpc.StatusCode.OK:
            assert status == pb.health.HealthCheckResponse.SERVING
            break
    assert attempts == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3 + [grpc.StatusCode.OK], attempts
    [rule] = faults(m)
    assert (rule["remaining"], rule["hits"]) == (0, 3), rule


def test_unavailable_count_two_seen_exactly_twice(mock, pb):
    m = mock("--fault", "method=Check,service=,action=code:UNAVAILABLE,count=2,"
             "message=try again, later")
    got = [check_code(m, pb) for _ in range(4)]
    assert [g[0] for g in got] == [grpc.StatusCode.UNAVAILABLE] * 2 + [grpc.StatusCode.OK] * 2
    assert got[0][2] == "try again, later", got[0]


def test_service_filter_leaves_other_services_alone(mock, pb):
    m = mock("--status", "a=SERVING", "--fault", "method=Check,service=a,action=code:INTERNAL")
    assert check_code(m, pb, service="a")[0] == grpc.StatusCode.INTERNAL
    assert check_code(m, pb, service="")[0] == grpc.StatusCode.OK


def test_probability_seeded_same_sequence_twice(mock, pb):
    def sequence():
        m = mock("--fault-seed", "42", "--fault",
                 "method=Check,action=code:UNAVAILABLE,probability=0.5")
        seq = [check_code(m, pb)[0] == grpc.StatusCode.OK for _ in range(16)]
        m.stop()
        return seq
    first, second = sequence(), sequence()
    assert first == second
    assert 0 < sum(first) < 16, first  # a real mix, not all or nothing


def test_delay_answers_late_but_answers(mock, pb):
    m = mock("--fault", "method=Check,action=delay:300ms,count=1")
    start = time.monotonic()
    assert check_code(m, pb)[0] == grpc.StatusCode.OK
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    assert check_code(m, pb)[0] == grpc.StatusCode.OK
    assert time.monotonic() - start < 0.3


def test_watch_fails_then_streams(mock, pb):
    m = mock("--fault", "method=Watch,action=code:UNAVAILABLE,count=1")
    watch = m.channel.unary_stream(
        "/grpc.health.v1.Health/Watch",
        request_serializer=pb.health.HealthCheckRequest.SerializeToString,
        response_deserializer=pb.health.HealthCheckResponse.FromString)
    with pytest.raises(grpc.RpcError) as e:
        next(iter(watch(pb.health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    stream = watch(pb.health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
    assert next(iter(stream)).status == pb.health.HealthCheckResponse.SERVING
    stream.cancel()


def test_http_500_for_the_next_two_gets(mock_on):
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--fault", "path=/,action=http-status:500,count=2")
    port = m.ports("http")[0]
    codes = [http_request(port, "GET", "/")[0] for _ in range(3)]
    assert codes == [500, 500, 200], codes


def test_http_reset(mock_on):
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--fault", "path=/health/a,action=reset,count=1", "--status", "a=SERVING")
    port = m.ports("http")[0]
    with pytest.raises(ConnectionResetError):
        http_request(port, "GET", "/health/a")
    assert http_request(port, "GET", "/health/a")[0] == 200


def test_http_slow_body(mock_on):
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--fault", "path=/,action=slow-body:400ms,count=1")
    port = m.ports("http")[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=RPC_TIMEOUT)
    try:
        conn.request("GET", "/")
        start = time.monotonic()
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
        assert resp.read() == b"{}"
        assert time.monotonic() - start >= 0.15, "the body came at once"
    finally:
        conn.close()


def test_http_close(mock_on):
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--fault", "path=/,action=close,count=1")
    port = m.ports("http")[0]
    with pytest.raises(http.client.RemoteDisconnected):
        http_request(port, "GET", "/")
    assert http_request(port, "GET", "/")[0] == 200


def test_control_api_add_list_clear(mock, pb):
    m = mock()
    code, body, raw = m.http("POST", "/v1/faults", {"rule": "method=Check,action=hang,count=3"})
    assert code == 201, raw
    assert body["rule"] == "method=Check,action=hang,count=3"
    assert (body["protocol"], body["target"], body["remaining"]) == ("grpc", "Check", 3)
    assert check_code(m, pb, timeout=CLIENT_DEADLINE)[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    [rule] = faults(m)
    assert (rule["remaining"], rule["hits"], rule["service"]) == (2, 1, None), rule
    code, _, raw = m.http("DELETE", "/v1/faults")
    assert code == 204, raw
    assert faults(m) == []
    assert check_code(m, pb)[0] == grpc.StatusCode.OK


@pytest.mark.parametrize("rule,part", [
    ("method=Chek,action=hang", "method"),
    ("method=Check,action=explode", "action"),
    ("method=Check,action=code:NOPE", "action"),
    ("method=Check,action=hang,count=0", "count"),
    ("method=Check,action=hang,probability=2", "probability"),
    ("method=Check,action=hang,colour=red", "colour"),
    ("path=/,action=hang", "action"),
    ("method=Check,action=rst:NOPE", "HTTP/2 error code"),
    ("method=Check", "action"),
    ("action=hang", "method"),
])
def test_bad_rule_400_names_the_part(mock, rule, part):
    m = mock()
    code, body, raw = m.http("POST", "/v1/faults", {"rule": rule})
    assert code == 400, raw
    assert part in body["error"], body
    assert faults(m) == []


def test_bad_fault_flag_exit_2(spawn):
    p = spawn(["--port", "0", "--fault", "method=Check,action=code:NOPE"])
    p.expected_exit = {2}
    assert p.wait_exit(RPC_TIMEOUT) == 2, p.stderr()
    assert "--fault" in p.stderr() and "action" in p.stderr(), p.stderr()


def test_yaml_config_with_a_fault(mock, pb, tmp_path):
    cfg = tmp_path / "mock.yaml"
    cfg.write_text("fault:\n  - method=Check,action=code:UNAVAILABLE,count=1\nfault_seed: 7\n")
    m = mock("--config", str(cfg))
    assert check_code(m, pb)[0] == grpc.StatusCode.UNAVAILABLE
    assert check_code(m, pb)[0] == grpc.StatusCode.OK


def test_print_config_round_trips_faults(spawn, tmp_path):
    p = spawn(["--fault", "method=Watch,action=delay:1s", "--fault-seed", "9",
               "--print-config"])
    assert p.wait_exit(RPC_TIMEOUT) == 0, p.stderr()
    out = p.stdout()
    assert "method=Watch,action=delay:1s" in out and "fault_seed: 9" in out, out
