"""The wire engine (mock-executor --engine wire, libnghttp2) seen on the
wire: python3-grpcio for the calls, python3-h2 for the frames (the response
headers, each DATA frame's flag byte, trailers, GOAWAY's last-stream-id and
error code, PING, flow control). Every wait is bounded by the socket timeout
or an explicit deadline.
"""

import signal
import socket
import struct
import time

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from conftest import HEALTH, MSG_TIMEOUT, QUIET_WINDOW, RPC_TIMEOUT, STOP_TIMEOUT

CHECK = HEALTH + "Check"
WATCH = HEALTH + "Watch"
LIST = HEALTH + "List"


def grpc_frame(payload, flag=0):
    return struct.pack(">BI", flag, len(payload)) + payload


def request(service):
    return bytes([0x0A, len(service)]) + service.encode() if service else b""


class Stream:
    def __init__(self):
        self.headers, self.trailers, self.data = None, None, b""
        self.ended, self.reset = False, None
        self.end_on_headers = False
        self.frames = 0


class H2:
    """A plain HTTP/2 client connection to the mock, frame by frame."""

    def __init__(self, port, settings=None):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=RPC_TIMEOUT)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.streams, self.goaway, self.pings, self.closed = {}, None, [], False
        self.flush()

    def close(self):
        self.sock.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                self.closed = True

    def call(self, path, payload=b"", headers=(), content_type="application/grpc", end=True):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path),
                                     (":authority", f"127.0.0.1:{self.port}"),
                                     ("te", "trailers"), ("content-type", content_type),
                                     *headers])
        self.conn.send_data(sid, grpc_frame(payload), end_stream=end)
        self.streams[sid] = Stream()
        self.flush()
        return sid

    def pump(self, done, timeout=MSG_TIMEOUT, ack=True):
        """Reads frames until done() or the deadline; returns done()."""
        deadline = time.monotonic() + timeout
        while not done() and not self.closed and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                break
            for ev in self.conn.receive_data(data):
                self.event(ev, ack)
            self.flush()
        return done()

    def event(self, ev, ack):
        st = self.streams.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived):
            st.headers = dict(ev.headers)
            st.end_on_headers = ev.stream_ended is not None
        elif isinstance(ev, h2.events.TrailersReceived):
            st.trailers = dict(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            st.data += ev.data
            st.frames += 1
            if ack and ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            st.ended = True
        elif isinstance(ev, h2.events.StreamReset):
            st.reset, st.ended = ev.error_code, True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev
        elif isinstance(ev, h2.events.PingAckReceived):
            self.pings.append(ev.ping_data)


def messages(data):
    """[(flag, payload)] of a gRPC body."""
    out = []
    while len(data) >= 5:
        flag, n = struct.unpack(">BI", data[:5])
        out.append((flag, data[5:5 + n]))
        data = data[5 + n:]
    assert not data, f"a message cut short: {data!r}"
    return out


@pytest.fixture
def wire(mock):
    def start(*args):
        return mock("--engine", "wire", *args)
    return start


def test_check_framing(wire):
    """HTTP 200, application/grpc, one message with flag byte 0, then
    grpc-status 0 in trailers (H-CHECK-7, H-WIRE-3, H-WIRE-6)."""
    m = wire()
    c = H2(m.grpc_port)
    sid = c.call(CHECK)
    assert c.pump(lambda: c.streams[sid].ended)
    st = c.streams[sid]
    assert st.headers[":status"] == "200" and st.headers["content-type"] == "application/grpc"
    assert messages(st.data) == [(0, b"\x08\x01")]
    assert st.trailers == {"grpc-status": "0"}, st.trailers
    c.close()


def test_unknown_service_is_trailers_only(wire):
    m = wire()
    c = H2(m.grpc_port)
    sid = c.call(CHECK, request("nope"))
    assert c.pump(lambda: c.streams[sid].ended)
    st = c.streams[sid]
    assert st.end_on_headers and st.data == b"" and st.trailers is None
    assert st.headers["grpc-status"] == "5" and st.headers["grpc-message"] == "unknown service"
    c.close()


def test_text_plain_gets_415(wire):
    """H-WIRE-2: a request that is not gRPC gets HTTP 415."""
    m = wire()
    c = H2(m.grpc_port)
    sid = c.call(CHECK, content_type="text/plain")
    assert c.pump(lambda: c.streams[sid].ended)
    assert c.streams[sid].headers[":status"] == "415"
    c.close()


def test_ping_is_acked(wire):
    m = wire()
    c = H2(m.grpc_port)
    c.conn.ping(b"12345678")
    c.flush()
    assert c.pump(lambda: c.pings)
    assert c.pings == [b"12345678"]
    c.close()


def test_grpc_timeout_ends_a_watch(wire):
    """H-WIRE-5: the deadline the client sent ends the stream."""
    m = wire()
    c = H2(m.grpc_port)
    sid = c.call(WATCH, headers=[("grpc-timeout", "300m")])
    assert c.pump(lambda: c.streams[sid].ended, timeout=RPC_TIMEOUT)
    assert messages(c.streams[sid].data) == [(0, b"\x08\x01")]
    assert c.streams[sid].trailers["grpc-status"] == "4"
    c.close()


def test_flow_control_is_honoured(wire):
    """With a 16-byte stream window, no more than 16 bytes of List arrive
    until the client gives more; then the whole reply does."""
    names = [f"--status=service-{i:02d}=SERVING" for i in range(20)]
    m = wire(*names)
    c = H2(m.grpc_port, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16})
    sid = c.call(LIST)
    c.pump(lambda: False, timeout=QUIET_WINDOW, ack=False)
    st = c.streams[sid]
    assert 0 < len(st.data) <= 16 and not st.ended, (len(st.data), st.ended)
    c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
    c.conn.acknowledge_received_data(len(st.data), sid)
    c.flush()
    assert c.pump(lambda: st.ended)
    assert len(messages(st.data)) == 1 and st.trailers["grpc-status"] == "0"
    c.close()


def test_goaway_on_shutdown(wire):
    """SIGTERM: the Watch is told NOT_SERVING and ended UNAVAILABLE, and the
    connection gets GOAWAY(NO_ERROR) naming the last stream it took."""
    m = wire()
    c = H2(m.grpc_port)
    sid = c.call(WATCH)
    assert c.pump(lambda: c.streams[sid].data)
    m.proc.send_signal(signal.SIGTERM)
    assert c.pump(lambda: c.goaway and c.streams[sid].ended, timeout=RPC_TIMEOUT)
    assert c.goaway.error_code == 0 and c.goaway.last_stream_id == sid, c.goaway
    st = c.streams[sid]
    assert messages(st.data) == [(0, b"\x08\x01"), (0, b"\x08\x02")]
    assert st.trailers["grpc-status"] == "14", st.trailers
    assert m.wait_exit(STOP_TIMEOUT) == 0
    c.close()


def test_grpcio_against_the_wire_engine(wire):
    m = wire("--status", "svc=NOT_SERVING")
    check = m.channel.unary_unary(CHECK)
    assert check(b"", timeout=RPC_TIMEOUT) == b"\x08\x01"
    assert check(request("svc"), timeout=RPC_TIMEOUT) == b"\x08\x02"
    with pytest.raises(grpc.RpcError) as e:
        m.channel.unary_unary("/no.Such/Method")(b"", timeout=RPC_TIMEOUT)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    stream = m.channel.unary_stream(WATCH)(request("svc"), timeout=RPC_TIMEOUT)
    assert next(stream) == b"\x08\x02"
    m.set_status("svc", "SERVING")
    assert next(stream) == b"\x08\x01"
    stream.cancel()


# --- fault actions on the wire (inject.h, docs/faults.md) ----------------------

@pytest.fixture
def faulty(mock):
    """faulty(rule): a mock whose only rule is `rule,count=1`, without
    --engine: the rule alone makes it pick the wire engine."""
    def start(rule):
        m = mock("--fault", rule + ",count=1")
        return m
    return start


def first_call(m, path=CHECK, payload=b""):
    c = H2(m.grpc_port)
    sid = c.call(path, payload)
    c.pump(lambda: c.streams[sid].ended or c.closed or c.goaway, timeout=RPC_TIMEOUT)
    return c, sid, c.streams[sid]


def test_a_wire_fault_picks_the_wire_engine(faulty):
    m = faulty("method=Check,action=no-trailers")
    c, sid, st = first_call(m)
    assert messages(st.data) == [(0, b"\x08\x01")] and st.ended and st.trailers is None
    sid2 = c.call(CHECK)  # count=1: the next call is whole again
    assert c.pump(lambda: c.streams[sid2].ended)
    assert c.streams[sid2].trailers == {"grpc-status": "0"}
    c.close()


def test_goaway_no_error_answers_then_names_the_call(faulty):
    m = faulty("method=Check,action=goaway")
    c, sid, st = first_call(m)
    assert c.pump(lambda: c.goaway, timeout=RPC_TIMEOUT)
    assert st.trailers == {"grpc-status": "0"}, st.trailers
    assert c.goaway.error_code == 0 and c.goaway.last_stream_id == sid, c.goaway
    c.close()


def test_goaway_with_an_error_code(faulty):
    m = faulty("method=Check,action=goaway:ENHANCE_YOUR_CALM")
    c, sid, st = first_call(m)
    assert c.goaway is not None and not st.ended
    assert c.goaway.error_code == 11 and c.goaway.last_stream_id == 0, c.goaway
    c.close()


@pytest.mark.parametrize("rule,code,headers,data", [
    ("rst:REFUSED_STREAM", 7, False, b""),
    ("rst:CANCEL/after-headers", 8, True, b""),
    ("rst:2/after-message", 2, True, grpc_frame(b"\x08\x01")),
])
def test_rst_stream(faulty, rule, code, headers, data):
    m = faulty("method=Check,action=" + rule)
    c, sid, st = first_call(m)
    assert st.reset == code, (st.reset, st.headers)
    assert (st.headers is not None) == headers and st.data == data and st.trailers is None
    c.close()


def test_connection_closed_mid_call(faulty):
    m = faulty("method=Check,action=close")
    c, sid, st = first_call(m)
    assert c.closed and st.headers is not None and not st.ended, (c.closed, st.headers)
    c.close()


def test_connection_reset_mid_call(faulty):
    """A TCP RST: the headers went first, but a reset connection may drop
    what the client had not read yet, so only the reset is certain."""
    m = faulty("method=Check,action=reset")
    c, sid, st = first_call(m)
    assert c.closed and not st.ended, (c.closed, st.headers)
    c.close()


def test_http_status(faulty):
    m = faulty("method=Check,action=http-status:503")
    c, sid, st = first_call(m)
    assert st.headers[":status"] == "503" and "grpc-status" not in st.headers
    assert st.end_on_headers and st.data == b""
    c.close()


def test_status_in_headers(faulty):
    m = faulty("method=Check,action=status-in-headers")
    c, sid, st = first_call(m)
    assert st.headers["grpc-status"] == "0" and st.trailers is None and st.ended
    assert messages(st.data) == [(0, b"\x08\x01")]
    c.close()


def test_compressed_flag(faulty):
    m = faulty("method=Check,action=compressed-flag")
    c, sid, st = first_call(m)
    assert messages(st.data) == [(1, b"\x08\x01")]  # the flag byte, nothing compressed
    assert st.trailers == {"grpc-status": "0"}
    c.close()


def test_slow_trickles_one_byte_per_frame(faulty):
    m = faulty("method=Check,action=slow:200ms")
    c, sid, st = first_call(m)
    assert messages(st.data) == [(0, b"\x08\x01")] and st.trailers == {"grpc-status": "0"}
    assert st.frames == len(st.data), st.frames
    c.close()


@pytest.mark.parametrize("knob,check", [
    ("wire-no-grpc-status", lambda st: st.trailers is None and "grpc-status" not in st.headers),
    ("wire-http-404", lambda st: st.headers[":status"] == "404"),
    ("wire-trailers-only-ok", lambda st: st.end_on_headers and st.headers["grpc-status"] == "0"),
    ("wire-compressed-flag", lambda st: messages(st.data) == [(1, b"\x08\x01")]),
])
def test_wire_knobs_on_the_wire(mock, knob, check):
    m = mock("--violate", knob)
    c, sid, st = first_call(m)
    assert st.ended and check(st), (st.headers, st.data, st.trailers)
    c.close()


def test_wire_content_type_served(mock):
    m = mock("--violate", "wire-content-type-served")
    c = H2(m.grpc_port)
    sid = c.call(CHECK, content_type="text/plain")
    assert c.pump(lambda: c.streams[sid].ended)
    assert c.streams[sid].headers[":status"] == "200"
    assert c.streams[sid].trailers == {"grpc-status": "0"}
    c.close()


def test_fault_rule_by_control_api(wire):
    """POST /v1/faults reaches a wire listener like --fault (and YAML)."""
    m = wire()
    code, _, raw = m.http("POST", "/v1/faults", {"rule": "method=Check,action=rst:8,count=1"})
    assert code == 201, raw
    c, sid, st = first_call(m)
    assert st.reset == 8 and st.headers is None
    c.close()
