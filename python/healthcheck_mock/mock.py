"""One running mock-executor, driven through its control API.

Standard library only: process.py for the process, http.client for the
control API. Every wait is bounded; the process is stopped by its pid.
"""

import http.client
import json
import os
import shutil
import urllib.parse

from .process import NotListening, Process

START_TIMEOUT = float(os.environ.get("HC_MOCK_START_TIMEOUT", "10"))  # LISTENING lines
STOP_TIMEOUT = float(os.environ.get("HC_MOCK_STOP_TIMEOUT", "5"))     # SIGTERM -> exit
HTTP_TIMEOUT = 5.0

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class MockExecutorError(Exception):
    """The mock did not start, or the control API refused a request."""


class Unsupported(MockExecutorError):
    """This mock-executor build has no such control route (an older version)."""


def find_binary():
    """$HC_MOCK_EXECUTOR, else $HC_BUILD/mock_executor/mock-executor, else the
    repository's build/, else mock-executor on PATH (an installed package)."""
    explicit = os.environ.get("HC_MOCK_EXECUTOR")
    if explicit:
        return explicit
    build = os.environ.get("HC_BUILD") or os.path.join(_REPO, "build")
    candidate = os.path.join(build, "mock_executor", "mock-executor")
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("mock-executor")
    if found:
        return found
    raise MockExecutorError(f"mock-executor not found: set HC_MOCK_EXECUTOR, build it into "
                            f"{build}, or install it on PATH")


class MockExecutor(Process):
    """A mock-executor process. Build one with MockExecutor.start(*flags)."""

    def __init__(self, argv, token=None):
        super().__init__(argv)
        self.token = token  # sent as a bearer token to the control API

    @property
    def listening(self):
        """"grpc" | "http" | "admin" -> [(host, port), ...], in LISTENING order."""
        found = {}
        for kind, host, port in self.listeners:
            found.setdefault(kind, []).append((host, port))
        return found

    @classmethod
    def start(cls, *flags, grpc=True, http=False, admin=True, binary=None, token=None,
              timeout=START_TIMEOUT):
        """Starts the mock on free 127.0.0.1 ports and waits for its LISTENING lines.

        grpc/http choose the health listeners (one free port each); admin adds
        the control API. flags are passed through (--status, --timeline, ...).
        """
        protocols = [p for p, on in (("grpc", grpc), ("http", http)) if on]
        if not protocols:
            raise ValueError("at least one of grpc and http")
        argv = [binary or find_binary(), "--host", "127.0.0.1",
                "--port", *["0"] * len(protocols), "--protocol", *protocols]
        if admin:
            argv += ["--admin-host", "127.0.0.1", "--admin-port", "0"]
        if token:
            argv += ["--admin-token", token]
        mock = cls([*argv, *flags], token)
        try:
            mock.wait_listening(protocols + (["admin"] if admin else []), timeout)
        except BaseException:
            mock.stop()
            raise
        return mock

    def wait_listening(self, kinds, timeout=START_TIMEOUT):
        try:
            self.read_listening(lambda: all(k in self.listening for k in kinds), timeout)
        except NotListening as e:
            if not e.exited:
                raise MockExecutorError(f"no LISTENING {list(kinds)} within {timeout:.0f}s; "
                                        f"stderr: {self.stderr()!r}") from None
            code = self.proc.wait(timeout=STOP_TIMEOUT)
            raise MockExecutorError(f"mock-executor exited ({code}) before listening: "
                                    f"{self.stderr().strip()}") from None

    # -- addresses ---------------------------------------------------------------
    def _addr(self, kind):
        if kind not in self.listening:
            raise MockExecutorError(f"this mock has no {kind} listener")
        host, port = self.listening[kind][0]
        return f"{host}:{port}"

    @property
    def grpc_target(self):
        """host:port for grpc.insecure_channel()."""
        return self._addr("grpc")

    @property
    def http_url(self):
        return "http://" + self._addr("http")

    @property
    def admin_url(self):
        """The control API, for `health-conformance --control`."""
        return "http://" + self._addr("admin")

    # -- control API -------------------------------------------------------------
    def request(self, method, path, body=None):
        """(HTTP status, parsed JSON or None) of one control API request."""
        if "admin" not in self.listening:
            raise MockExecutorError("started without the control API (admin=False)")
        host, port = self.listening["admin"][0]
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        status, parsed, _ = exchange(host, port, method, path, data, headers, HTTP_TIMEOUT)
        return status, parsed

    def _call(self, method, path, body=None, ok=(200,), feature=None):
        code, parsed = self.request(method, path, body)
        # No route (an older build) or the feature switched off: 404 or 405.
        if feature and code in (404, 405):
            raise Unsupported(f"{method} {path}: this mock-executor has no {feature} "
                              f"control (HTTP {code}); {_hint(feature)}")
        if code not in ok:
            error = parsed.get("error") if isinstance(parsed, dict) else parsed
            raise MockExecutorError(f"{method} {path}: HTTP {code}: {error}")
        return parsed

    def statuses(self):
        return self._call("GET", "/v1/statuses")["statuses"]

    def set_status(self, service, status):
        """Sets service ("" is the overall health) to SERVING, NOT_SERVING, ..."""
        return self._call("PUT", "/v1/statuses", {"service": service, "status": status})

    def remove(self, service):
        """Unregisters service: Check answers NOT_FOUND, Watch SERVICE_UNKNOWN."""
        self._call("DELETE", "/v1/statuses/" + urllib.parse.quote(service, safe=""), ok=(204,))

    def shutdown(self):
        self._call("POST", "/v1/shutdown")

    def resume(self):
        self._call("POST", "/v1/resume")

    def timeline(self, spec, service="", repeat=False):
        """Replaces service's timeline, e.g. timeline("NOT_SERVING:1s,SERVING")."""
        return self._call("PUT", "/v1/timelines",
                          {"service": service, "timeline": spec, "repeat": repeat},
                          feature="timelines")

    def violate(self, knob, enabled=True):
        """Switches a deliberately broken behaviour (mock-executor --list-violations)."""
        return self._call("PUT", "/v1/violations", {"violation": knob, "enabled": enabled},
                          feature="violations")

    def journal(self):
        """What clients sent, oldest first: a list of records (dicts)."""
        body = self._call("GET", "/v1/journal", feature="journal")
        return body.get("records", body) if isinstance(body, dict) else body

    def clear_journal(self):
        self._call("DELETE", "/v1/journal", ok=(200, 204), feature="journal")

    # -- stop --------------------------------------------------------------------
    # signal(sig=SIGTERM) and wait(timeout) come from Process.
    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM by pid, a bounded wait, then SIGKILL. Returns the exit code
        (negative: killed by that signal)."""
        self.terminate(timeout)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def exchange(host, port, method, path, data, headers, timeout):
    """One control API request on a fresh connection: (HTTP status, parsed
    JSON or None, raw body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return resp.status, parsed, payload


def _hint(feature):
    return {"timelines": "give --timeline at start instead",
            "violations": "give --violate at start instead"}.get(feature, "a newer build has it")
