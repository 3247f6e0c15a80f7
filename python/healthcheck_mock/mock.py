"""One running mock-executor, driven through its control API.

Standard library only: subprocess for the process, http.client for the
control API. Every wait is bounded; the process is stopped by its pid.
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse

START_TIMEOUT = float(os.environ.get("HC_MOCK_START_TIMEOUT", "10"))  # LISTENING lines
STOP_TIMEOUT = float(os.environ.get("HC_MOCK_STOP_TIMEOUT", "5"))     # SIGTERM -> exit
HTTP_TIMEOUT = 5.0

LISTENING_RE = re.compile(r"^LISTENING (grpc|http|admin) (\S+):(\d+)$")
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


class _Lines:
    """Reads a pipe on a thread so the mock never blocks on a full pipe."""

    def __init__(self, pipe):
        self.queue = queue.Queue()
        self._text = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._text.append(line)
            self.queue.put(line.rstrip("\r\n"))
        pipe.close()
        self.queue.put(None)

    def text(self):
        with self._lock:
            return "".join(self._text)


class MockExecutor:
    """A mock-executor process. Build one with MockExecutor.start(*flags)."""

    def __init__(self, argv, token=None):
        self.argv = list(argv)
        self.token = token  # sent as a bearer token to the control API
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self._out = _Lines(self.proc.stdout)
        self._err = _Lines(self.proc.stderr)
        self.listening = {}  # "grpc" | "http" | "admin" -> [(host, port), ...]

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
        deadline = time.monotonic() + timeout
        while not all(k in self.listening for k in kinds):
            left = deadline - time.monotonic()
            if left <= 0:
                raise MockExecutorError(f"no LISTENING {list(kinds)} within {timeout:.0f}s; "
                                        f"stderr: {self.stderr()!r}")
            try:
                line = self._out.queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait(timeout=STOP_TIMEOUT)
                raise MockExecutorError(f"mock-executor exited ({code}) before listening: "
                                        f"{self.stderr().strip()}")
            m = LISTENING_RE.match(line)
            if m:
                self.listening.setdefault(m.group(1), []).append((m.group(2), int(m.group(3))))

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

    def stdout(self):
        return self._out.text()

    def stderr(self):
        return self._err.text()

    # -- control API -------------------------------------------------------------
    def request(self, method, path, body=None):
        """(HTTP status, parsed JSON or None) of one control API request."""
        if "admin" not in self.listening:
            raise MockExecutorError("started without the control API (admin=False)")
        host, port = self.listening["admin"][0]
        conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
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
        return resp.status, parsed

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
    def signal(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """The exit code, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM by pid, a bounded wait, then SIGKILL. Returns the exit code
        (negative: killed by that signal)."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self._out.thread.join(timeout)
        self._err.thread.join(timeout)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _hint(feature):
    return {"timelines": "give --timeline at start instead",
            "violations": "give --violate at start instead"}.get(feature, "a newer build has it")
