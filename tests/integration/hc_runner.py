"""Helpers for the health-conformance integration tests (issue 5).

The runner is driven as a subprocess with bounded runs; its NDJSON report
(--format json) is parsed into {case id: record}.
"""

import json
import os
import subprocess

from conftest import BUILD, SLOW

RUN_TIMEOUT = 60.0 * SLOW  # a whole suite run
# `client --watch-cmd` with a Python client: --slack covers the interpreter's
# start on a loaded machine, --timeout each change the client must follow.
WATCH_TIMING = ["--slack", f"{int(3 * SLOW)}s", "--timeout", f"{int(4 * SLOW)}s"]


def runner_path():
    return os.path.join(BUILD, "conformance", "health-conformance")


def run(*args, timeout=RUN_TIMEOUT):
    """Runs health-conformance; returns the CompletedProcess (text)."""
    return subprocess.run([runner_path(), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def run_json(*args, timeout=RUN_TIMEOUT):
    """Runs with --format json; returns (exit code, {id: record}, summary, proc)."""
    proc = run(*args, "--format", "json", timeout=timeout)
    cases, summary = {}, None
    for line in proc.stdout.splitlines():
        rec = json.loads(line)  # every line must be valid JSON
        if "id" in rec:
            cases[rec["id"]] = rec
        elif "summary" in rec:
            summary = rec
    return proc.returncode, cases, summary, proc


def start_http_mock(spawn, *extra):
    """mock-executor with an HTTP listener and the control API on 127.0.0.1."""
    m = spawn(["--host", "127.0.0.1", "--port", "0", "--protocol", "http",
               "--admin-port", "0", "--admin-host", "127.0.0.1", *extra])
    m.wait_listening(("http", "admin"))
    host, port = m.listening["http"]
    m.http_target = f"http://{host}:{port}"
    return m
