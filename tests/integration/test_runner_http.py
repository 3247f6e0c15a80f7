"""health-conformance HTTP cases (issue 5): each passes against the mock,
and each fails against the matching broken setting (a mock knob, an
--http-code mapping), and against a small stdlib server broken the same
way, so no verdict leans on the mock's own HTTP stack."""

import http.client
import http.server
import threading
import time

import pytest

from conftest import RPC_TIMEOUT
from hc_runner import run_json, start_http_mock

HTTP_CASES = ["http/root-ok", "http/root-json-body", "http/root-content-type-json",
              "http/keep-alive", "http/latency-budget", "http/unhealthy-not-success",
              "http/unknown-path-not-health", "http/head"]


def get(target, path="/"):
    host, port = target[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=RPC_TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def test_http_suite_passes_against_the_mock(spawn):
    m = start_http_mock(spawn)
    rc, cases, summary, proc = run_json("--target", m.http_target, "--control", m.admin_url,
                                        "--strict")
    assert rc == 0, proc.stdout + proc.stderr
    assert sorted(cases) == sorted(HTTP_CASES)  # only HTTP cases, each once
    for cid in HTTP_CASES:
        assert cases[cid]["result"] == "pass", cases[cid]
    assert summary["summary"]["passed"] == len(HTTP_CASES)
    assert get(m.http_target)[0] == 200  # H06 left '' SERVING


def test_protocol_flag_with_plain_target(spawn):
    m = start_http_mock(spawn)
    hostport = m.http_target[len("http://"):]
    rc, cases, _, proc = run_json("--target", hostport, "--protocol", "http",
                                  "--run", "http/root-*")
    assert rc == 0, proc.stderr
    assert sorted(cases) == ["http/root-content-type-json", "http/root-json-body", "http/root-ok"]


def test_without_control_the_ctl_case_skips(spawn):
    m = start_http_mock(spawn)
    rc, cases, _, _ = run_json("--target", m.http_target)
    assert rc == 0
    assert cases["http/unhealthy-not-success"]["result"] == "skip"
    assert "control hook" in cases["http/unhealthy-not-success"]["message"]


@pytest.mark.parametrize("knob,case", [
    ("http-root-not-200", "http/root-ok"),
    ("http-not-json", "http/root-json-body"),
    ("http-wrong-content-type", "http/root-content-type-json"),
    ("http-no-keep-alive", "http/keep-alive"),
    ("http-slow", "http/latency-budget"),
    ("http-ok-when-unhealthy", "http/unhealthy-not-success"),
    ("http-unknown-path-ok", "http/unknown-path-not-health"),
    ("http-head-broken", "http/head"),
])
def test_http_case_fails_against_its_knob(spawn, knob, case):
    """--strict turns the SHOULD/MAY warnings (H01's 204, H03, H04, H07, H08)
    into failures; the MUST cases fail either way."""
    m = start_http_mock(spawn, "--violate", knob)
    rc, cases, _, proc = run_json("--target", m.http_target, "--control", m.admin_url,
                                  "--strict", "--run", case)
    assert cases[case]["result"] == "fail", cases[case]
    assert cases[case]["expected"] and cases[case]["seen"]
    assert rc == 1, proc.stdout


def test_http_slow_breaks_only_the_latency_case(spawn):
    """http-slow holds the listener's thread 600 ms per status answer; only
    the latency case may notice (the others wait within their timeouts)."""
    m = start_http_mock(spawn, "--violate", "http-slow")
    rc, cases, _, proc = run_json("--target", m.http_target, "--control", m.admin_url)
    assert rc == 1, proc.stdout
    assert {cid for cid, c in cases.items() if c["result"] != "pass"} == \
        {"http/latency-budget"}, cases


def test_root_ok_warns_on_another_2xx(spawn):
    """kubelet takes 204, `jina ping` needs exactly 200: WARN, FAIL with --strict."""
    m = start_http_mock(spawn, "--http-code", "SERVING=204")
    rc, cases, _, _ = run_json("--target", m.http_target, "--run", "http/root-ok")
    assert (rc, cases["http/root-ok"]["result"]) == (0, "warn")
    rc, cases, _, _ = run_json("--target", m.http_target, "--run", "http/root-ok", "--strict")
    assert (rc, cases["http/root-ok"]["result"]) == (1, "fail")


def test_unhealthy_as_redirect_fails(spawn):
    """302 while NOT_SERVING is success to kubelet (200 <= code < 400)."""
    m = start_http_mock(spawn, "--http-code", "NOT_SERVING=302")
    rc, cases, _, _ = run_json("--target", m.http_target, "--control", m.admin_url,
                               "--run", "http/unhealthy-not-success")
    assert cases["http/unhealthy-not-success"]["result"] == "fail"
    assert "302" in cases["http/unhealthy-not-success"]["seen"]
    assert rc == 1


# --- the same breaks from an independent server (stdlib http.server) --------

class BrokenHandler(http.server.BaseHTTPRequestHandler):
    mode = ""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.mode == "slow":
            time.sleep(0.6)
        if self.path != "/" and self.mode != "catch-all":
            self.send_error(404)
            return
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.mode == "close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if self.mode == "close":
            self.close_connection = True

    def do_HEAD(self):
        self.send_response(500 if self.mode == "head-500" else 405)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def broken_server():
    servers = []

    def start(mode):
        handler = type("H", (BrokenHandler,), {"mode": mode, "protocol_version": "HTTP/1.1"})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        servers.append((srv, t))
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv, t in servers:
        srv.shutdown()
        srv.server_close()
        t.join(RPC_TIMEOUT)


@pytest.mark.parametrize("mode,case,args", [
    ("close", "http/keep-alive", []),
    ("catch-all", "http/unknown-path-not-health", []),
    ("slow", "http/latency-budget", ["--latency-budget", "300ms"]),
    ("head-500", "http/head", []),
])
def test_http_case_fails_against_a_broken_server(broken_server, mode, case, args):
    target = broken_server(mode)
    rc, cases, _, proc = run_json("--target", target, "--run", case, "--strict", *args)
    assert cases[case]["result"] == "fail", cases[case]
    assert rc == 1, proc.stdout


def test_head_405_passes_as_jina_does(broken_server):
    """Jina's FastAPI app answers HEAD 405: a real Executor must pass."""
    target = broken_server("")
    rc, cases, _, _ = run_json("--target", target, "--strict")
    assert cases["http/head"]["result"] == "pass"
    assert rc == 0
