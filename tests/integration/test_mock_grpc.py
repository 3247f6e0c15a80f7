"""mock-executor, gRPC side: Check, Watch, List, unknown methods, reflection.

Test names carry the clause IDs of docs/protocol.md (H-*) or the case
IDs of the catalogue (T*, health-conformance list).
"""

import time

import grpc
import pytest
from google.protobuf import descriptor_pb2

from conftest import MSG_TIMEOUT, RPC_TIMEOUT, SLOW, STATUS

ALL_STATUSES = ["SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN"]


def rpc_error(fn, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as info:
        fn(*args, **kwargs)
    return info.value


# --- Check ------------------------------------------------------------------

def test_check_overall_default_serving_T01(mock, health):
    """No --status: "" is SERVING (H-SVC-3, H-CHECK-3)."""
    m = mock()
    assert health(m).check("") == STATUS["SERVING"]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_check_each_status_H_CHECK_1(mock, health, status):
    m = mock("--status", f"svc={status}")
    assert health(m).check("svc") == STATUS[status]


@pytest.mark.parametrize("spelling,expected", [
    ("not_serving", "NOT_SERVING"), ("Serving", "SERVING"), ("0", "UNKNOWN"),
    ("2", "NOT_SERVING"), ("3", "SERVICE_UNKNOWN")])
def test_check_status_flag_spellings(mock, health, spelling, expected):
    m = mock("--status", f"svc={spelling}", "--status", spelling)
    h = health(m)
    assert h.check("svc") == STATUS[expected]
    assert h.check("") == STATUS[expected]  # --status STATUS sets ""


def test_check_unknown_not_found_H_CHECK_2(mock, health):
    m = mock("--status", "svc=SERVING")
    err = rpc_error(health(m).check, "nosuch")
    assert err.code() == grpc.StatusCode.NOT_FOUND
    # Names match exactly (H-SVC-5, T08).
    for name in ("SVC", "svc ", "sv"):
        assert rpc_error(health(m).check, name).code() == grpc.StatusCode.NOT_FOUND, name


def test_check_zero_byte_request_H_CHECK_8(mock, health):
    """The 0-byte request every probe sends means service "" (T02)."""
    m = mock("--status", "NOT_SERVING")
    resp = health(m).check_raw(b"", timeout=RPC_TIMEOUT)
    assert resp.status == STATUS["NOT_SERVING"]


def test_check_unknown_field_ignored_H_CHECK_9(mock, health):
    m = mock("--status", "x=NOT_SERVING")
    resp = health(m).check_raw(b"\x0a\x01x\x10\x01", timeout=RPC_TIMEOUT)
    assert resp.status == STATUS["NOT_SERVING"]


# --- Watch ------------------------------------------------------------------

@pytest.mark.parametrize("status", ALL_STATUSES)
def test_watch_initial_each_status_H_WATCH_1(mock, health, watches, status):
    m = mock("--status", f"svc={status}")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == status
    w.expect_quiet()  # no duplicate, no end of stream (H-WATCH-7)


def test_watch_transitions_T17(mock, health, watches):
    m = mock("--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    for status in ("NOT_SERVING", "UNKNOWN", "SERVING", "NOT_SERVING"):
        m.set_status("svc", status)
        assert w.next() == status
    w.expect_quiet()


def test_watch_other_names_do_not_wake(mock, health, watches):
    m = mock("--status", "svc=SERVING", "--status", "other=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    m.set_status("other", "NOT_SERVING")
    m.set_status("svc", "UNKNOWN")
    assert w.next() == "UNKNOWN"  # not NOT_SERVING from "other"


def read_until(watch, last, most=8):
    """Messages up to and including `last`: at most `most`, each bounded by
    watch.next."""
    got = []
    while not got or got[-1] != last:
        got.append(watch.next())
        assert len(got) <= most, got
    return got


def test_watch_no_consecutive_duplicates_T19(mock, health, watches):
    """Set X, X again, then Y: the messages are X then Y, never X, X
    (H-WATCH-5). Y alone is allowed too: a watch may coalesce while a send
    is in flight (H-WATCH-6), but never repeat the status sent last."""
    m = mock("--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    m.set_status("svc", "NOT_SERVING")
    m.set_status("svc", "NOT_SERVING")
    m.set_status("svc", "UNKNOWN")
    assert read_until(w, "UNKNOWN") in (["NOT_SERVING", "UNKNOWN"], ["UNKNOWN"])
    # Setting the status just sent sends nothing: the next message is the
    # one after a real change.
    m.set_status("svc", "UNKNOWN")
    m.set_status("svc", "SERVING")
    assert w.next() == "SERVING"
    w.expect_quiet()


def test_watch_unknown_then_known_T16_T18(mock, health, watches):
    m = mock()
    w = health(m).watch("late")
    watches.append(w)
    assert w.next() == "SERVICE_UNKNOWN"
    w.expect_quiet()  # H-WATCH-3: the stream stays open
    m.set_status("late", "SERVING")
    assert w.next() == "SERVING"  # H-WATCH-4


def test_watch_removed_service_unknown(mock, health, watches):
    m = mock("--status", "svc=SERVING")
    h = health(m)
    w = h.watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    m.remove("svc")
    assert w.next() == "SERVICE_UNKNOWN"
    assert rpc_error(h.check, "svc").code() == grpc.StatusCode.NOT_FOUND
    m.set_status("svc", "NOT_SERVING")
    assert w.next() == "NOT_SERVING"


def test_watch_five_watchers_all_notified_T21(mock, health, watches):
    m = mock("--status", "svc=SERVING")
    # Two channels, so both the one-connection and many-connection paths run.
    channels = [m.channel, m.new_channel()]
    readers = [health(channels[i % 2]).watch("svc") for i in range(5)]
    watches.extend(readers)
    for r in readers:
        assert r.next() == "SERVING"
    m.set_status("svc", "NOT_SERVING")
    assert [r.next() for r in readers] == ["NOT_SERVING"] * 5


def test_watch_cancelled_watchers_do_not_break_server_T22(mock, health, watches):
    m = mock("--status", "svc=SERVING")
    h = health(m)
    for _ in range(20):
        w = h.watch("svc")
        assert w.next() == "SERVING"
        w.cancel()
    w = h.watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    m.set_status("svc", "NOT_SERVING")
    assert w.next() == "NOT_SERVING"
    assert h.check("svc") == STATUS["NOT_SERVING"]


# --- List -------------------------------------------------------------------

def test_list_all_services_H_LIST_2(mock, health):
    m = mock("--status", "a=SERVING", "--status", "b=NOT_SERVING", "--status", "c=UNKNOWN")
    m.set_status("d", "SERVICE_UNKNOWN")
    listed = health(m).list()
    expected = {k: STATUS[v] for k, v in m.statuses().items()}
    assert listed == expected
    assert {"a", "b", "c", "d"} <= set(listed)


def test_list_limit_T27(mock, health):
    limit = 5
    m = mock("--list-limit", str(limit))
    h = health(m)
    have = set(m.statuses())
    assert len(have) < limit
    for i in range(limit - len(have)):
        m.set_status(f"svc{i}", "SERVING")
    assert len(m.statuses()) == limit
    assert len(h.list()) == limit  # exactly the limit: OK
    m.set_status("one-too-many", "SERVING")
    err = rpc_error(h.list)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    m.remove("one-too-many")
    assert len(h.list()) == limit


# --- Undecodable requests --------------------------------------------------------

@pytest.mark.parametrize("engine", ["core", "wire"])
@pytest.mark.parametrize("method", ["Check", "Watch", "List"])
def test_undecodable_request_invalid_argument(mock, health, engine, method):
    """A request that does not parse as the method's message (H-SVC-2:
    HealthCheckRequest is `string service = 1`; \xff\xff\xff is a tag whose
    varint never ends, not an unknown field to skip as in H-CHECK-9) gets
    INVALID_ARGUMENT "could not parse request" on either engine, and the
    server keeps answering. No clause fixes the code: it is the mock's."""
    m = mock("--engine", engine)
    path = "/grpc.health.v1.Health/" + method
    if method == "Watch":
        call = m.channel.unary_stream(path)(b"\xff\xff\xff", timeout=RPC_TIMEOUT)
        err = rpc_error(next, call)
    else:
        err = rpc_error(m.channel.unary_unary(path), b"\xff\xff\xff", timeout=RPC_TIMEOUT)
    assert (err.code(), err.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                           "could not parse request")
    assert health(m).check("") == STATUS["SERVING"]


# --- Unknown methods ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/grpc.health.v1.Health/Bogus", "/no.Such/Svc"])
def test_unknown_method_unimplemented_T13(mock, path):
    m = mock()
    rpc = m.channel.unary_unary(path, request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
    started = time.monotonic()
    err = rpc_error(rpc, b"", timeout=2.0 * SLOW)
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED, (err.code(), err.details())
    assert time.monotonic() - started < 1.0 * SLOW


# --- Reflection -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_list_services_T29(mock, reflection, version):
    m = mock()
    s = reflection(m.channel, version)
    s.send(list_services="*")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "list_services_response", resp
    names = [svc.name for svc in resp.list_services_response.service]
    assert "grpc.health.v1.Health" in names
    assert s.close() == grpc.StatusCode.OK


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_health_descriptor_T30(mock, reflection, version):
    m = mock()
    s = reflection(m.channel, version)
    s.send(file_containing_symbol="grpc.health.v1.Health")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in resp.file_descriptor_response.file_descriptor_proto]
    health_file = next((f for f in files if any(sv.name == "Health" for sv in f.service)), None)
    assert health_file is not None, [f.name for f in files]
    assert health_file.package == "grpc.health.v1"
    assert health_file.syntax == "proto3"
    service = next(sv for sv in health_file.service if sv.name == "Health")
    methods = {md.name: md for md in service.method}
    assert {"Check", "Watch"} <= set(methods)
    assert methods["Watch"].server_streaming
    assert not methods["Check"].server_streaming
    assert methods["Check"].input_type == ".grpc.health.v1.HealthCheckRequest"
    assert methods["Watch"].output_type == ".grpc.health.v1.HealthCheckResponse"
    messages = {msg.name for msg in health_file.message_type}
    assert {"HealthCheckRequest", "HealthCheckResponse"} <= messages
    assert s.close() == grpc.StatusCode.OK


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_unknown_symbol_stream_usable_T32(mock, reflection, version):
    m = mock()
    s = reflection(m.channel, version)
    s.send(file_containing_symbol="no.such.Symbol")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "error_response", resp
    assert resp.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    # The same stream answers the next request (H-REFL-5).
    s.send(file_containing_symbol="grpc.health.v1.HealthCheckResponse")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    s.send(list_services="")
    resp = s.recv()
    assert resp.WhichOneof("message_response") == "list_services_response", resp
    assert s.close() == grpc.StatusCode.OK


def test_reflection_does_not_block_health(mock, health, reflection):
    """An idle open reflection stream does not hold up Check or Watch."""
    m = mock()
    s = reflection(m.channel, "v1")
    h = health(m)
    assert h.check("") == STATUS["SERVING"]
    w = h.watch("")
    try:
        assert w.next(MSG_TIMEOUT) == "SERVING"
    finally:
        w.cancel()
    s.send(list_services="")
    assert s.recv().WhichOneof("message_response") == "list_services_response"


# --- Load and edge cases ----------------------------------------------------------

def test_watch_burst_ends_on_latest_T20(mock, health, watches):
    """100 flips in a burst: whatever is coalesced, the last message is the
    last status set, and no status repeats back to back (H-WATCH-5/6)."""
    m = mock("--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    for i in range(100):
        m.set_status("svc", "NOT_SERVING" if i % 2 == 0 else "SERVING")
    m.set_status("svc", "UNKNOWN")
    got = read_until(w, "UNKNOWN", most=101)
    assert all(a != b for a, b in zip(["SERVING"] + got, got)), got
    w.expect_quiet()


def test_concurrent_checks_one_connection_T12(mock, health):
    m = mock("--status", "svc=NOT_SERVING")
    h = health(m)
    futures = [h.check_rpc.future(h.pb.HealthCheckRequest(service="svc"), timeout=RPC_TIMEOUT)
               for _ in range(50)]
    assert [f.result().status for f in futures] == [STATUS["NOT_SERVING"]] * 50


def test_check_answers_with_64_open_watches_T36(mock, health, watches):
    m = mock()
    h = health(m)
    readers = [h.watch("") for _ in range(64)]
    watches.extend(readers)
    for r in readers:
        assert r.next() == "SERVING"
    started = time.monotonic()
    assert h.check("", timeout=1.0 * SLOW) == STATUS["SERVING"]
    assert time.monotonic() - started < 0.5 * SLOW
    m.set_status("", "NOT_SERVING")
    assert [r.next() for r in readers] == ["NOT_SERVING"] * 64


@pytest.mark.parametrize("queues", ["1", "2", "8"])
def test_watch_streams_over_completion_queues(mock, health, watches, queues):
    """--cq-threads N: the first queue polls and answers Checks, the other
    N-1 hold the Watch streams. With one queue everything shares it; with
    more, 48 streams over three connections are spread over the Watch
    queues and each flip, and only the flip, still reaches every one of
    them in order (H-WATCH-2, H-WATCH-5) while Checks keep answering."""
    m = mock("--status", "svc=SERVING", "--cq-threads", queues)
    hs = [health(c) for c in (m.channel, m.new_channel(), m.new_channel())]
    readers = [hs[i % 3].watch("svc") for i in range(48)]
    watches.extend(readers)
    assert [r.next() for r in readers] == ["SERVING"] * 48
    for status in ("NOT_SERVING", "SERVING", "UNKNOWN"):
        m.set_status("svc", status)
        assert hs[0].check("svc") == STATUS[status]
        assert [r.next() for r in readers] == [status] * 48
    readers[0].expect_quiet()


def test_check_long_name_T35(mock, health):
    m = mock()
    h = health(m)
    err = rpc_error(h.check, "n" * 4096)
    assert err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    assert h.check("") == STATUS["SERVING"]


def test_grpc_without_admin(mock, health):
    m = mock("--status", "NOT_SERVING", admin=False)
    assert health(m).check("") == STATUS["NOT_SERVING"]
