"""mock-executor, lifecycle (issue 3): timelines seen through Watch, the
control API over timelines, the loading phase, the ready delay, graceful
drain on SIGTERM (--drain-watch end|keep, a second signal), and the YAML
config file (--config, --print-config, errors naming FILE:LINE and key).

Timelines use short steps and every wait is bounded; timings are scaled by
SLOW for sanitizer builds."""

import signal
import socket
import time

import grpc
import pytest

from conftest import MSG_TIMEOUT, SANITIZED, SLOW, STATUS, STOP_TIMEOUT, http_request

STEP_MS = int(200 * SLOW)  # one timeline step


def ms(n):
    return f"{int(n)}ms"


# --- timelines -------------------------------------------------------------------

def test_timeline_repeat_seen_by_watch(mock, health, watches):
    m = mock("--timeline", f"NOT_SERVING:{ms(STEP_MS)},SERVING:{ms(STEP_MS)}", "--repeat")
    w = health(m).watch("")
    watches.append(w)
    seen = [w.next() for _ in range(5)]
    # Whatever step it joined at, the stream alternates: every step is sent
    # (H-WATCH-3) and no step twice (H-WATCH-7).
    assert set(seen) == {"NOT_SERVING", "SERVING"}, seen
    assert all(a != b for a, b in zip(seen, seen[1:])), seen


def test_timeline_flag_named_service_ends_on_last_step(mock, health, watches):
    first_ms = int(800 * SLOW)  # long enough to open the Watch within it
    m = mock("--timeline", f"svc=NOT_SERVING:{ms(first_ms)},SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "NOT_SERVING"
    assert w.next(timeout=first_ms / 1000 + MSG_TIMEOUT) == "SERVING"
    w.expect_quiet()
    assert health(m).check("") == STATUS["SERVING"]  # "" is not touched


def test_timeline_put_seen_by_watch_every_step(mock, health, watches):
    m = mock("--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    code, body, raw = m.http("PUT", "/v1/timelines", {
        "service": "svc", "timeline": f"NOT_SERVING:{ms(STEP_MS)},UNKNOWN:{ms(STEP_MS)},SERVING"})
    assert code == 200, raw
    assert body == {"service": "svc", "timeline":
                    f"NOT_SERVING:{ms(STEP_MS)},UNKNOWN:{ms(STEP_MS)},SERVING", "repeat": False}
    assert [w.next(), w.next(), w.next()] == ["NOT_SERVING", "UNKNOWN", "SERVING"]
    w.expect_quiet()


def test_timeline_replace_and_stop_via_control_api(mock, health, watches):
    m = mock("--timeline", f"NOT_SERVING:{ms(STEP_MS)},SERVING:{ms(STEP_MS)}", "--repeat")
    code, body, raw = m.http("GET", "/v1/timelines")
    assert code == 200 and set(body["timelines"]) == {""}, raw
    assert body["timelines"][""]["repeat"] is True

    # Replace "" with a timeline holding UNKNOWN for a minute.
    code, _, raw = m.http("PUT", "/v1/timelines",
                          {"service": "", "timeline": "UNKNOWN:60s,SERVING"})
    assert code == 200, raw
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "UNKNOWN"
    w.expect_quiet(window=2 * STEP_MS / 1000)  # the old timeline no longer runs

    code, _, raw = m.http("DELETE", "/v1/timelines/")  # "" is allowed here
    assert code == 204, raw
    assert m.http("GET", "/v1/timelines")[1] == {"timelines": {}}
    assert m.http("DELETE", "/v1/timelines/")[0] == 404
    assert health(m).check("") == STATUS["UNKNOWN"]  # stopping leaves the status


def test_timeline_put_bad_spec_400_names_step(mock):
    m = mock("--timeline", "svc=NOT_SERVING:60s,SERVING")
    code, body, raw = m.http("PUT", "/v1/timelines",
                             {"service": "svc", "timeline": "SERVING:1s,HEALTHY:1s"})
    assert code == 400 and "step 2" in body["error"] and "HEALTHY" in body["error"], raw
    tl = m.http("GET", "/v1/timelines")[1]["timelines"]
    assert [s["status"] for s in tl["svc"]["steps"]] == ["NOT_SERVING", "SERVING"]


@pytest.mark.parametrize("spec,needle", [
    ("svc=BOGUS:1s", "BOGUS"),
    ("SERVING:1s,NOT_SERVING:soon", "soon"),
    ("", "empty"),
])
def test_timeline_flag_bad_exit_2(spawn, spec, needle):
    p = spawn(["--port", "0", "--timeline", spec])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2, p.stderr()
    assert "--timeline" in p.stderr() and needle in p.stderr(), p.stderr()


def test_timeline_repeat_needs_every_duration_exit_2(spawn):
    p = spawn(["--port", "0", "--timeline", "SERVING:1s,NOT_SERVING", "--repeat"])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2, p.stderr()
    assert "step 2" in p.stderr(), p.stderr()


# --- loading phase and ready delay ---------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True


def test_load_time_ports_closed_then_serving(spawn, health):
    load_s = 1.0
    port = free_port()
    started = time.monotonic()
    p = spawn(["--port", str(port), "--host", "127.0.0.1", "--load-time", ms(load_s * 1000)])
    last_refused = None
    deadline = started + load_s + 10 * SLOW
    while "grpc" not in p.listening:
        assert time.monotonic() < deadline, f"no LISTENING line; stderr={p.stderr()!r}"
        assert p.proc.poll() is None, p.stderr()
        if refused(port):
            last_refused = time.monotonic() - started
        try:
            p.wait_listening(("grpc",), timeout=0.05)
        except AssertionError:
            pass
    listening_at = time.monotonic() - started
    # Closed well into the loading phase, LISTENING only once it is over.
    assert last_refused is not None and last_refused >= 0.6 * load_s, last_refused
    assert listening_at >= load_s * 0.9, listening_at
    assert not refused(port)
    assert health(p).check("") == STATUS["SERVING"]


def test_ready_delay_not_serving_then_configured(mock_on, health, watches):
    delay_s = 1.0 * SLOW
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--status", "svc=SERVING", "--status", "down=NOT_SERVING",
                "--ready-delay", ms(delay_s * 1000))
    listening_at = time.monotonic()
    h = health(m)
    w = h.watch("svc")
    watches.append(w)
    # Ports are open at once, and everything is NOT_SERVING.
    assert h.check("") == STATUS["NOT_SERVING"]
    assert http_request(m.ports("http")[0], "GET", "/")[0] == 503
    assert w.next() == "NOT_SERVING"
    assert w.next(timeout=delay_s + MSG_TIMEOUT) == "SERVING"
    assert time.monotonic() - listening_at >= delay_s * 0.5
    assert h.check("") == STATUS["SERVING"]
    assert h.check("down") == STATUS["NOT_SERVING"]
    assert http_request(m.ports("http")[0], "GET", "/")[0] == 200


# --- graceful drain ------------------------------------------------------------------

def test_drain_end_watch_unavailable_exit_fast(mock, health, watches):
    grace_s = 4.0
    m = mock("--grace", f"{int(grace_s)}s", "--drain-watch", "end")
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "SERVING"
    sent = time.monotonic()
    m.signal(signal.SIGTERM)
    code, _, msgs = w.end(timeout=MSG_TIMEOUT)
    assert msgs == ["NOT_SERVING"], msgs  # notified before the end (H-WATCH-9)
    assert code == grpc.StatusCode.UNAVAILABLE, code
    rc = m.wait_exit(grace_s * 0.5)
    assert rc == 0, (rc, m.stderr())
    assert time.monotonic() - sent < grace_s * 0.5


def test_drain_keep_watch_open_until_grace(mock, health, watches):
    grace_s = 1.5
    m = mock("--grace", ms(grace_s * 1000), "--drain-watch", "keep")
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "SERVING"
    sent = time.monotonic()
    m.signal(signal.SIGTERM)
    assert w.next() == "NOT_SERVING"
    w.expect_quiet(window=grace_s * 0.5)  # the stream stays open during the grace
    assert m.proc.poll() is None, "exited before the grace ran out"
    rc = m.wait_exit(grace_s + STOP_TIMEOUT)
    elapsed = time.monotonic() - sent
    assert rc == 0, (rc, m.stderr())
    assert elapsed >= grace_s * 0.9, elapsed
    code, _, _ = w.end(timeout=MSG_TIMEOUT)
    assert code != grpc.StatusCode.OK


def test_drain_second_signal_exits_at_once(mock, health, watches):
    m = mock("--grace", "30s", "--drain-watch", "keep")
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "SERVING"
    m.signal(signal.SIGTERM)
    assert w.next() == "NOT_SERVING"  # the drain has begun
    sent = time.monotonic()
    m.signal(signal.SIGINT)
    rc = m.wait_exit(2.0 * SLOW)
    assert rc is not None, "still running 2 s after the second signal"
    assert time.monotonic() - sent < 2.0 * SLOW
    # Stop signals are blocked and waited for (mock_executor/main.c), so the
    # second one cuts the drain short and the exit is the ordinary one.
    assert rc == 0, (rc, m.stderr())
    assert "second signal, exiting now" in m.stderr(), m.stderr()


def test_drain_every_service_not_serving(mock_on, health, watches):
    """During the drain every service reads NOT_SERVING (H-WATCH-9); the HTTP
    listeners keep answering until the process exits."""
    m = mock_on(("http", "grpc", "admin"), "--port", "0", "0", "--protocol", "http", "grpc",
                "--grace", "30s", "--drain-watch", "keep", "--status", "svc=SERVING")
    w = health(m).watch("svc")
    watches.append(w)
    assert w.next() == "SERVING"
    m.signal(signal.SIGTERM)
    assert w.next() == "NOT_SERVING"
    port = m.ports("http")[0]
    assert http_request(port, "GET", "/")[0] == 503
    assert http_request(port, "GET", "/health/svc")[0] == 503
    m.signal(signal.SIGTERM)  # second signal: exit now
    rc = m.wait_exit(2.0 * SLOW)
    assert rc == 0, (rc, m.stderr())


def test_drain_control_api_still_answers(mock, health, watches):
    """The control API outlives the drain: timelines are over (a PUT is
    refused with 409, the registry being shut down) but still readable."""
    m = mock("--grace", "30s", "--drain-watch", "keep",
             "--timeline", f"svc=SERVING:{ms(STEP_MS)},NOT_SERVING:{ms(STEP_MS)}", "--repeat")
    w = health(m).watch("")
    watches.append(w)
    assert w.next() == "SERVING"
    m.signal(signal.SIGTERM)
    assert w.next() == "NOT_SERVING"
    code, body, raw = m.http("GET", "/v1/timelines")
    assert code == 200 and body == {"timelines": {}}, raw
    code, _, raw = m.http("DELETE", "/v1/timelines/svc")
    assert code == 404, raw
    code, _, raw = m.http("PUT", "/v1/timelines",
                          {"service": "", "timeline": "SERVING:1s,NOT_SERVING"})
    assert code == 409, raw
    assert m.statuses() == {"": "NOT_SERVING", "svc": "NOT_SERVING"}
    m.signal(signal.SIGTERM)  # second signal: exit now
    rc = m.wait_exit(2.0 * SLOW)
    assert rc == 0, (rc, m.stderr())


# --- config file -------------------------------------------------------------------

def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_config_file_applies(tmp_path, mock_on, health):
    cfg = write(tmp_path, "mock.yaml",
                "# a comment\n"
                "port: [0, 0]\n"
                "protocol: [http, grpc]\n"
                "status:\n"
                "  \"\": NOT_SERVING\n"
                "  foo: SERVING\n"
                "http_code: {NOT_SERVING: 429}\n"
                "list_limit: 5\n")
    m = mock_on(("http", "grpc", "admin"), "--config", cfg)
    assert http_request(m.ports("http")[0], "GET", "/")[0] == 429
    h = health(m)
    assert h.check("foo") == STATUS["SERVING"]
    assert h.list() == {"": STATUS["NOT_SERVING"], "foo": STATUS["SERVING"]}


def test_config_flags_override_file(tmp_path, mock, health):
    cfg = write(tmp_path, "mock.yaml",
                "list_limit: 1\n"
                "status: {\"\": NOT_SERVING, a: SERVING}\n")
    m = mock("--config", cfg, "--status", "SERVING", "--list-limit", "5")
    h = health(m)
    assert h.check("") == STATUS["SERVING"]
    assert h.list() == {"": STATUS["SERVING"], "a": STATUS["SERVING"]}


def test_config_timeline_and_repeat(tmp_path, mock, health, watches):
    cfg = write(tmp_path, "mock.yaml",
                f"timeline: {{\"\": \"NOT_SERVING:{ms(STEP_MS)},SERVING:{ms(STEP_MS)}\"}}\n"
                "repeat: true\n")
    m = mock("--config", cfg)
    w = health(m).watch("")
    watches.append(w)
    seen = [w.next() for _ in range(3)]
    assert all(a != b for a, b in zip(seen, seen[1:])), seen


@pytest.mark.parametrize("text,line,key", [
    pytest.param("list_limit: 5\nbogus_key: 1\n", 2, "bogus_key", id="unknown-key"),
    pytest.param("list_limit: [1, 2]\n", 1, "list_limit", id="list-for-scalar"),
    pytest.param("grace: 1s\nstatus: SERVING\n", 2, "status", id="scalar-for-map"),
    pytest.param("repeat: maybe\n", 1, "repeat", id="bad-bool"),
    pytest.param("port: [0]\nlist_limit: many\n", 2, "list_limit", id="bad-number"),
    pytest.param("\n\ngrace: soon\n", 3, "grace", id="bad-duration"),
    pytest.param("status: {svc: HEALTHY}\n", 1, "status", id="bad-status"),
    pytest.param("port: [0, abc]\n", 1, "port", id="bad-port"),
    pytest.param("timeline: {svc: \"SERVING:x\"}\n", 1, "timeline", id="bad-timeline"),
    pytest.param("load_time: {a: 1}\n", 1, "load_time", id="map-for-scalar"),
])
def test_config_errors_exit_2_name_file_line_key(tmp_path, spawn, text, line, key):
    cfg = write(tmp_path, "bad.yaml", text)
    p = spawn(["--config", cfg])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2, p.stderr()
    err = p.stderr()
    assert f"{cfg}:{line}:" in err and key in err, err
    assert "LISTENING" not in p.stdout()


def test_config_not_a_mapping_exit_2(tmp_path, spawn):
    cfg = write(tmp_path, "list.yaml", "- port\n- 0\n")
    p = spawn(["--config", cfg])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2, p.stderr()
    assert f"{cfg}:1:" in p.stderr(), p.stderr()


def test_config_missing_file_exit_2(tmp_path, spawn):
    cfg = str(tmp_path / "nope.yaml")
    p = spawn(["--config", cfg])
    p.expected_exit = {2}
    assert p.wait_exit(STOP_TIMEOUT) == 2, p.stderr()
    assert cfg in p.stderr(), p.stderr()


def print_config(spawn, *args):
    p = spawn(["--print-config", *args])
    assert p.wait_exit(STOP_TIMEOUT) == 0, p.stderr()
    assert "LISTENING" not in p.stdout()
    return p.stdout()


def test_print_config_round_trip(tmp_path, spawn):
    cfg = write(tmp_path, "mock.yaml",
                "port: [0, 0]\n"
                "protocol: [http, grpc]\n"
                "status: {\"\": SERVING, foo: NOT_SERVING}\n"
                "timeline: {\"\": \"NOT_SERVING:1s,SERVING\"}\n"
                "repeat: false\n"
                "load_time: 1s\n"
                "list_limit: 5\n")
    first = print_config(spawn, "--config", cfg, "--list-limit", "7", "--grace", "3s")
    assert "list_limit: 7" in first, first  # the flag wins over the file
    assert "foo" in first and "NOT_SERVING:1s" in first.replace("1000ms", "1s"), first
    again = write(tmp_path, "printed.yaml", first)
    second = print_config(spawn, "--config", again)
    assert second == first


def test_print_config_defaults_is_loadable(tmp_path, spawn):
    first = print_config(spawn)
    for key in ("grace", "drain_watch", "journal_size"):
        assert f"{key}:" in first, first
    again = write(tmp_path, "defaults.yaml", first)
    assert print_config(spawn, "--config", again) == first


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))


@pytest.mark.skipif(SANITIZED, reason="ASan's allocator keeps its own free lists")
def test_heap_returned_once_streams_close(mock):
    """After 2,000 Watch streams close, a quiet second makes the mock give
    the freed heap back (malloc_trim): glibc would keep it otherwise, and
    RSS would stay at the load's peak (issue 7, bench/soak)."""
    m = mock()
    watch = m.channel.unary_stream("/grpc.health.v1.Health/Watch",
                                   request_serializer=None, response_deserializer=None)
    before = rss_anon_kib(m.pid)
    streams = [watch(b"", timeout=60 * SLOW) for _ in range(2000)]
    assert {next(s) for s in streams} == {b"\x08\x01"}  # SERVING, each
    peak = rss_anon_kib(m.pid)
    assert peak - before > 8 * 1024, (before, peak)  # the streams cost memory at all
    # The scenario, not a synchronisation: a quiet spell longer than the
    # mock's 1 s trim period while the streams stay open, so that spell's
    # trim finds nothing to free. Closing them afterwards must still give
    # the heap back (a loaded machine makes such a spell by itself).
    time.sleep(1.5)
    for s in streams:
        s.cancel()
    target = before + (peak - before) // 4
    deadline = time.monotonic() + 10 * SLOW
    while rss_anon_kib(m.pid) > target and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rss_anon_kib(m.pid) <= target, (before, peak, rss_anon_kib(m.pid))
