"""fastapi-host: a Jina Executor's HTTP health endpoint as Jina builds it, a
bare FastAPI() app on uvicorn whose GET / has the empty response model
JinaHealthModel and returns {} (jina/serve/runtimes/worker/http_fastapi_app.py,
H-HTTP-1, docs/protocol.md), for `make interop`
(docs/interop.md). Debian python3-fastapi and python3-uvicorn.

    /usr/bin/python3 fastapi_host.py

Prints "LISTENING http 127.0.0.1:PORT" (a free port: the socket is bound
here and handed to uvicorn). There is no control: Jina has no unhealthy
state over HTTP (an answer is health), so every hook call exits 64.
"""
import socket
import sys

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class JinaHealthModel(BaseModel):
    """The empty model of jina/serve/runtimes/gateway/health_model.py."""


app = FastAPI()


@app.get("/", summary="Get the health of Jina Executor service", response_model=JinaHealthModel)
def _health():
    return {}


def main():
    if len(sys.argv) != 1:
        print("usage: fastapi_host.py (no arguments)", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # before LISTENING: connections wait in the backlog for uvicorn
    print(f"LISTENING http 127.0.0.1:{sock.getsockname()[1]}", flush=True)
    # Jina's uvicorn log level is JINA_LOG_LEVEL, default error.
    server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
