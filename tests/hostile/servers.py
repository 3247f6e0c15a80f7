#!/usr/bin/python3
"""Hostile servers for the runner (issue 7): each breaks the protocol in one
way, on purpose. `servers.py MODE` listens on 127.0.0.1, a port the kernel
picks, prints `LISTENING <port>` and serves every connection on its own
thread until it is killed. tests/integration/test_hostile.py runs
health-conformance against each.

Modes (see MODES at the bottom):
  garbage       64 KiB of random bytes instead of an HTTP/2 preface
  silent        accepts, reads, never writes a byte
  tls           answers the preface with a TLS ServerHello record and an alert
  watch-flood   a real HTTP/2 server whose Watch streams SERVING forever, as
                fast as flow control lets it (Check answers SERVING)
  huge-prefix   every reply's message declares 4 GiB, then zeros stream on
  huge-headers  every reply carries a 1 MiB header block (CONTINUATION frames)
  rst-flood     every stream is reset, then 2 000 more RST_STREAM frames follow
  goaway-flood  2 000 GOAWAY frames after the settings and on every request
  trickle       a real server that writes one byte every 20 ms
  http-endless  HTTP/1.1 200 with a body that never ends
  http-bad-json HTTP/1.1 200, application/json, a body that is not JSON
  compressed-flag  a real server whose replies set the compressed flag with no
                grpc-encoding (H-WIRE-6): what no knob of the C-core mock can do
  status-word   a real server whose Check trailers say grpc-status: OK (a word,
                not a code): the runner must not read it as 0
  check-flood   a real server whose Check answers SERVING messages without end
                and never the status (the 1.25 GiB runner of issue 13)
  drip          a real server that writes one byte a second
  one-shot      answers the first request well, then never another (the
                runner's later cases must fail fast, not each wait)
  headers-then-silent  answers every request with its headers, then nothing
  window-zero   SETTINGS_INITIAL_WINDOW_SIZE 0 and no WINDOW_UPDATE ever: no
                request message can be sent
  settings-flood  SETTINGS frames without end (each asks for an ACK)
  ping-flood    PING frames without end (each asks for a PING ACK)
  continuation-flood  a HEADERS frame without END_HEADERS, then CONTINUATION
                frames without end
  empty-data-flood  headers, then zero-length DATA frames without end
  reset-at-once accepts and resets the connection (SO_LINGER 0)
  http-huge-headers  HTTP/1.1 200 with header lines that never end
  http-drip     HTTP/1.1 answer written one byte a second
  slow          a valid health server (Check, Watch, List; UNIMPLEMENTED for
                the rest) whose every answer comes 1.5 s late: inside the
                default 2 s timeout, so only the run's budget (--max-time)
                bounds the run (T22's 200 Watches took 6 min)

Only the standard library and python3-h2; nothing listens beyond 127.0.0.1.
"""

import random
import socket
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"
SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING}
GRPC_HEADERS = [(":status", "200"), ("content-type", "application/grpc")]


def grpc_message(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def raw_frame(ftype, stream_id, payload, flags=0):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def drain(sock):
    """Reads and drops until the peer closes."""
    while sock.recv(65536):
        pass


# -- raw socket modes -------------------------------------------------------

def serve_garbage(sock):
    rng = random.Random(7)
    sock.sendall(bytes(rng.getrandbits(8) for _ in range(65536)))
    drain(sock)


def serve_silent(sock):
    drain(sock)


def serve_tls(sock):
    sock.recv(65536)  # the client's preface
    hello = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00"
    handshake = b"\x02" + struct.pack(">I", len(hello))[1:] + hello
    record = b"\x16\x03\x03" + struct.pack(">H", len(handshake)) + handshake
    alert = b"\x15\x03\x03\x00\x02\x02\x28"  # fatal handshake_failure
    sock.sendall(record + alert)
    drain(sock)


def serve_http_endless(sock):
    sock.recv(65536)
    sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                 b"transfer-encoding: chunked\r\n\r\n")
    chunk = b"4000\r\n" + b"{" * 0x4000 + b"\r\n"
    while True:
        sock.sendall(chunk)


def serve_http_bad_json(sock):
    while True:
        req = sock.recv(65536)
        if not req:
            return
        body = b'{"status": SERVING,,, \xff\xfe'
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(body) + body)


def serve_http_huge_headers(sock):
    sock.recv(65536)
    sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
    line = b"x-hostile: " + b"h" * 1000 + b"\r\n"
    while True:
        sock.sendall(line * 64)


def serve_http_drip(sock):
    sock.recv(65536)
    body = b"{}"
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" \
        b"content-length: %d\r\n\r\n" % len(body) + body
    for i in range(len(answer)):
        sock.sendall(answer[i:i + 1])
        time.sleep(1)
    drain(sock)


def serve_reset_at_once(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# -- raw HTTP/2 frame floods ------------------------------------------------

SETTINGS, PING, HEADERS, CONTINUATION, DATA = 0x4, 0x6, 0x1, 0x9, 0x0
END_HEADERS = 0x4
ACK = 0x1
STATUS_200 = b"\x88"  # HPACK: indexed :status 200
CT_GRPC = b"\x0f\x10" + bytes([len(b"application/grpc")]) + b"application/grpc"


def serve_frames(sock, first, flood):
    """The server preface (SETTINGS, and an ACK of the client's), `first`,
    then `flood` again and again; the client's bytes are read and dropped
    on another thread so that it never blocks on us."""
    sock.recv(65536)  # the client's preface and SETTINGS
    threading.Thread(target=drain, args=(sock,), daemon=True).start()
    sock.sendall(raw_frame(SETTINGS, 0, b"") + raw_frame(SETTINGS, 0, b"", ACK) + first)
    while True:
        sock.sendall(flood)


def serve_settings_flood(sock):
    serve_frames(sock, b"", raw_frame(SETTINGS, 0, b"") * 512)


def serve_ping_flood(sock):
    serve_frames(sock, b"", raw_frame(PING, 0, b"hostile!") * 512)


def serve_continuation_flood(sock):
    serve_frames(sock, raw_frame(HEADERS, 1, STATUS_200),
                 raw_frame(CONTINUATION, 1, b"\x40\x01x\x01y") * 512)  # literal x: y


def serve_empty_data_flood(sock):
    serve_frames(sock, raw_frame(HEADERS, 1, STATUS_200 + CT_GRPC, END_HEADERS),
                 raw_frame(DATA, 1, b"") * 512)


# -- HTTP/2 modes -----------------------------------------------------------

class H2Server:
    """One HTTP/2 connection; subclasses answer requests in on_request()."""

    def __init__(self, sock):
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.streams = set()  # streams being fed by pump()
        self.paths = {}  # stream -> :path of a request not yet whole

    def send(self, data):
        self.sock.sendall(data)

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.send(data)

    def reply_unary(self, sid, payload):
        self.conn.send_headers(sid, GRPC_HEADERS)
        self.conn.send_data(sid, grpc_message(payload))
        self.conn.send_headers(sid, [("grpc-status", "0")], end_stream=True)

    def reply_status(self, sid, code):
        self.conn.send_headers(sid, GRPC_HEADERS + [("grpc-status", str(code))],
                               end_stream=True)

    def on_preface(self):
        pass

    def on_data(self, ev):
        pass

    def idle_wait(self):
        """Seconds the loop may block in recv when pump() sent nothing;
        None: until the peer writes."""
        return None

    def on_request(self, sid, path):
        if path == CHECK:
            self.reply_unary(sid, SERVING)
        else:
            self.reply_status(sid, 12)  # UNIMPLEMENTED

    def feed_streams(self, chunk_for):
        """Sends chunk_for(room) on each of self.streams, room being what
        flow control lets go now; drops the streams that closed. True if
        something went."""
        sent = False
        for sid in list(self.streams):
            try:
                room = min(self.conn.local_flow_control_window(sid),
                           self.conn.max_outbound_frame_size)
                chunk = chunk_for(room) if room > 0 else b""
                if chunk:
                    self.conn.send_data(sid, chunk)
                    sent = True
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                self.streams.discard(sid)
        return sent

    def pump(self):
        """Feeds self.streams; True if it sent something (so more may go
        before the peer's next frame), False to block until the peer writes
        (a WINDOW_UPDATE, say)."""
        return False

    def run(self):
        self.conn.initiate_connection()
        self.flush()
        self.on_preface()
        self.flush()
        while True:
            self.sock.settimeout(0 if self.pump() else self.idle_wait())
            self.flush()
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, socket.timeout):
                continue
            if not data:
                return
            for ev in self.conn.receive_data(data):
                # Answer once the request message came (or the request
                # ended), as a gRPC server must to read it: an answer before
                # (an "early reply") makes curl 7.88 lose the trailers now
                # and then, which no mode here is about.
                if isinstance(ev, h2.events.RequestReceived):
                    self.paths[ev.stream_id] = dict(ev.headers).get(":path", "")
                if isinstance(ev, h2.events.DataReceived):
                    self.on_data(ev)
                if isinstance(ev, (h2.events.DataReceived, h2.events.StreamEnded)) and \
                        ev.stream_id in self.paths:
                    self.on_request(ev.stream_id, self.paths.pop(ev.stream_id))
                elif isinstance(ev, h2.events.StreamReset):
                    self.streams.discard(ev.stream_id)
            self.flush()


class WatchFlood(H2Server):
    def on_request(self, sid, path):
        if path == WATCH:
            self.conn.send_headers(sid, GRPC_HEADERS)
            self.streams.add(sid)
        else:
            super().on_request(sid, path)

    def pump(self):
        msg = grpc_message(SERVING)
        return self.feed_streams(lambda room: msg * (room // len(msg)))  # whole messages


class HugePrefix(WatchFlood):
    def on_request(self, sid, path):
        self.conn.send_headers(sid, GRPC_HEADERS)
        self.conn.send_data(sid, b"\x00\xff\xff\xff\xff" + SERVING)
        self.streams.add(sid)

    def pump(self):
        return self.feed_streams(bytes)  # the 4 GiB message, never ending


class HugeHeaders(H2Server):
    def on_request(self, sid, path):
        big = [("x-hostile-%04d" % i, "h" * 4096) for i in range(256)]  # 1 MiB
        self.conn.send_headers(sid, GRPC_HEADERS + big)
        self.conn.send_data(sid, grpc_message(SERVING))
        self.conn.send_headers(sid, [("grpc-status", "0")], end_stream=True)


FLOOD = 2000


class RstFlood(H2Server):
    def on_request(self, sid, path):
        self.conn.reset_stream(sid, error_code=8)  # CANCEL
        self.flush()
        frame = raw_frame(0x3, sid, struct.pack(">I", 8))
        self.send(frame * FLOOD)


GOAWAYS = b"".join(raw_frame(0x7, 0, struct.pack(">II", (FLOOD - i) * 2 + 1, 0))
                  for i in range(FLOOD))


class GoawayFlood(H2Server):
    def goaways(self):
        self.send(GOAWAYS)

    def on_preface(self):
        self.goaways()

    def on_request(self, sid, path):
        super().on_request(sid, path)
        self.flush()
        self.goaways()


class Trickle(H2Server):
    def send(self, data):
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(0.02)

    def on_request(self, sid, path):
        if path == WATCH:
            self.conn.send_headers(sid, GRPC_HEADERS)
            self.conn.send_data(sid, grpc_message(SERVING))
        else:
            super().on_request(sid, path)


class CompressedFlag(H2Server):
    """Check answers SERVING in a frame flagged compressed, though the
    request offered no encoding and the reply names none (kills T33)."""

    def reply_unary(self, sid, payload):
        self.conn.send_headers(sid, GRPC_HEADERS)
        self.conn.send_data(sid, b"\x01" + struct.pack(">I", len(payload)) + payload)
        self.conn.send_headers(sid, [("grpc-status", "0")], end_stream=True)


class StatusWord(H2Server):
    """Check answers SERVING, then trailers with grpc-status "OK": not a
    status code, so not success (kills T06 on a reader that atoi()s it)."""

    def reply_unary(self, sid, payload):
        self.conn.send_headers(sid, GRPC_HEADERS)
        self.conn.send_data(sid, grpc_message(SERVING))
        self.conn.send_headers(sid, [("grpc-status", "OK")], end_stream=True)


class TrailersOnlyNoStatus(H2Server):
    """Every call ends trailers-only (HEADERS :status 200, a gRPC
    content-type, END_STREAM) without a grpc-status: no answer at all
    (H-WIRE-3). The gRPC C core's client asserts on it in Debian's 1.51."""

    def reply_unary(self, sid, payload):
        self.conn.send_headers(sid, GRPC_HEADERS, end_stream=True)

    def reply_status(self, sid, code):
        self.conn.send_headers(sid, GRPC_HEADERS, end_stream=True)


class GateThenNoStatus(TrailersOnlyNoStatus):
    """The first Check (the runner's gate, over any connection) is answered
    well; every later call as trailers-only-no-status: the abort comes in
    the middle of a run, not before it."""

    def reply_unary(self, sid, payload):
        with ANSWERED_LOCK:
            first = not ANSWERED
            ANSWERED.append(sid)
        if first:
            H2Server.reply_unary(self, sid, payload)
        else:
            TrailersOnlyNoStatus.reply_unary(self, sid, payload)


class CheckFlood(WatchFlood):
    def on_request(self, sid, path):
        self.conn.send_headers(sid, GRPC_HEADERS)
        self.streams.add(sid)


class Drip(Trickle):
    def send(self, data):
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(1)


ANSWERED = []  # one-shot: the requests answered so far, over every connection
ANSWERED_LOCK = threading.Lock()


class OneShot(H2Server):
    def on_request(self, sid, path):
        with ANSWERED_LOCK:
            first = not ANSWERED
            ANSWERED.append(path)
        if first:
            super().on_request(sid, path)


class HeadersThenSilent(H2Server):
    def on_request(self, sid, path):
        self.conn.send_headers(sid, GRPC_HEADERS)


class WindowZero(H2Server):
    def __init__(self, sock):
        super().__init__(sock)
        self.conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})

    def on_request(self, sid, path):
        pass  # the request message cannot come (no window, no WINDOW_UPDATE): no answer


LIST = "/grpc.health.v1.Health/List"
# Inside the runner's default --timeout of 2 s, with room for a loaded
# machine: the gate must get its answer, or the run ends at once (exit 3)
# and the budget is never put to the test.
SLOW_S = 1.5
SERVICE_UNKNOWN = b"\x08\x03"
LIST_REPLY = b"\x0a\x06\x0a\x00\x12\x02" + SERVING  # statuses {"": SERVING}


def request_service(body):
    """The service of a HealthCheckRequest framed as a gRPC message, "" if
    none (field 1, one length byte: the runner's names are short)."""
    msg = body[5:]
    if len(msg) >= 2 and msg[0] == 0x0A:
        return msg[2:2 + msg[1]].decode("utf-8", "replace")
    return ""


class Slow(H2Server):
    """A valid health server that knows only "" (SERVING): Check, Watch
    (the first message, then the stream stays open), List; UNIMPLEMENTED
    for everything else, reflection included. Every answer leaves SLOW_S
    after the request came, each stream on its own clock."""

    def __init__(self, sock):
        super().__init__(sock)
        self.bodies = {}
        self.due = []  # (time, stream id, path), in time order

    def on_data(self, ev):
        self.bodies[ev.stream_id] = self.bodies.get(ev.stream_id, b"") + ev.data
        # Long runs over one connection: a valid server gives the window back.
        self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)

    def on_request(self, sid, path):
        self.due.append((time.monotonic() + SLOW_S, sid, path))

    def idle_wait(self):
        return max(0.0, self.due[0][0] - time.monotonic()) if self.due else None

    def answer(self, sid, path):
        known = request_service(self.bodies.pop(sid, b"")) == ""
        if path == CHECK:
            if known:
                self.reply_unary(sid, SERVING)
            else:
                self.reply_status(sid, 5)  # NOT_FOUND
        elif path == WATCH:
            self.conn.send_headers(sid, GRPC_HEADERS)
            self.conn.send_data(sid, grpc_message(SERVING if known else SERVICE_UNKNOWN))
        elif path == LIST:
            self.reply_unary(sid, LIST_REPLY)
        else:
            self.reply_status(sid, 12)  # UNIMPLEMENTED

    def pump(self):
        now = time.monotonic()
        while self.due and self.due[0][0] <= now:
            _, sid, path = self.due.pop(0)
            try:
                self.answer(sid, path)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass  # the client gave up first (its deadline): its right
        return False


def h2_mode(cls):
    return lambda sock: cls(sock).run()


MODES = {
    "garbage": serve_garbage,
    "silent": serve_silent,
    "tls": serve_tls,
    "watch-flood": h2_mode(WatchFlood),
    "huge-prefix": h2_mode(HugePrefix),
    "huge-headers": h2_mode(HugeHeaders),
    "rst-flood": h2_mode(RstFlood),
    "goaway-flood": h2_mode(GoawayFlood),
    "trickle": h2_mode(Trickle),
    "http-endless": serve_http_endless,
    "http-bad-json": serve_http_bad_json,
    "compressed-flag": h2_mode(CompressedFlag),
    "status-word": h2_mode(StatusWord),
    "check-flood": h2_mode(CheckFlood),
    "trailers-only-no-status": h2_mode(TrailersOnlyNoStatus),
    "gate-then-no-status": h2_mode(GateThenNoStatus),
    "drip": h2_mode(Drip),
    "one-shot": h2_mode(OneShot),
    "headers-then-silent": h2_mode(HeadersThenSilent),
    "window-zero": h2_mode(WindowZero),
    "settings-flood": serve_settings_flood,
    "ping-flood": serve_ping_flood,
    "continuation-flood": serve_continuation_flood,
    "empty-data-flood": serve_empty_data_flood,
    "reset-at-once": serve_reset_at_once,
    "http-huge-headers": serve_http_huge_headers,
    "http-drip": serve_http_drip,
    "slow": h2_mode(Slow),
}


def handle(serve, sock):
    try:
        serve(sock)
    except (OSError, h2.exceptions.ProtocolError):
        pass  # the runner closed or reset on us: that is its right
    finally:
        sock.close()


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        sys.stderr.write("usage: servers.py MODE (one of %s)\n" % ", ".join(MODES))
        return 2
    serve = MODES[sys.argv[1]]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    print("LISTENING %d" % lsock.getsockname()[1], flush=True)
    while True:
        sock, _ = lsock.accept()
        threading.Thread(target=handle, args=(serve, sock), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
