"""mock-executor --profile jina over HTTP against the real thing: Jina's
worker app (a bare FastAPI() with GET / -> JinaHealthModel, as in
jina/serve/runtimes/worker/http_fastapi_app.py) served by uvicorn from
Debian's python3-fastapi / python3-uvicorn (scripts/install-deps). Every
request below must get the same status, body and headers from both."""

import os
import selectors
import subprocess
import sys
import time

import pytest

from conftest import START_TIMEOUT, STOP_TIMEOUT, http_request
from test_mock_lifecycle import free_port

pytest.importorskip("fastapi", reason="python3-fastapi (scripts/install-deps) serves the reference")
pytest.importorskip("uvicorn", reason="python3-uvicorn (scripts/install-deps) serves the reference")

APP = '''
from fastapi import FastAPI
from pydantic import BaseModel


class JinaHealthModel(BaseModel):
    ...


app = FastAPI()


@app.get(path="/", summary="Get the health of Jina Executor service",
         response_model=JinaHealthModel)
async def _executor_health():
    return {}
'''

REQUESTS = [("GET", "/"), ("HEAD", "/"), ("POST", "/"), ("PUT", "/"), ("GET", "/nope"),
            ("GET", "/status"), ("GET", "/dry_run"), ("POST", "/post"), ("GET", "/openapi.json"),
            ("HEAD", "/openapi.json"), ("GET", "/docs"), ("HEAD", "/docs"), ("POST", "/docs"),
            ("GET", "/redoc"), ("GET", "/docs/oauth2-redirect"), ("DELETE", "/redoc")]
HEADERS = ("content-type", "content-length", "server", "allow")


def wait_running(proc, timeout):
    """Reads uvicorn's log until it says it is running (an event, not a guess)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    deadline, seen = time.monotonic() + timeout, b""
    while b"Uvicorn running on" not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and sel.select(left), f"uvicorn did not start: {seen!r}"
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"uvicorn exited: {seen!r}"
        seen += chunk


@pytest.fixture
def fastapi_port(tmp_path):
    (tmp_path / "jina_worker_app.py").write_text(APP)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "jina_worker_app:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "info",
                             "--no-access-log"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_running(proc, START_TIMEOUT * 2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


def answer(port, method, path):
    code, headers, body = http_request(port, method, path)
    picked = {h: headers.get(h) for h in HEADERS}
    if picked["allow"]:  # Starlette joins a set: its order follows Python's string hashing
        picked["allow"] = sorted(m.strip() for m in picked["allow"].split(","))
    return code, picked, body


def test_same_answers_as_fastapi_on_uvicorn(fastapi_port, mock_on):
    m = mock_on(("http", "admin"), "--profile", "jina", "--port", "0", "--protocol", "http")
    mock_port = m.ports("http")[0]
    for method, path in REQUESTS:
        want = answer(fastapi_port, method, path)
        got = answer(mock_port, method, path)
        assert got == want, f"{method} {path}"
