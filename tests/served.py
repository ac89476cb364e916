"""The service's HTTP API on a real loopback socket, for fakes that call back (Twilio's webhooks)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from runtime.service import Service
from tests.support import eventually


def loopback_socket() -> socket.socket:
    """A socket bound to 127.0.0.1 on a free port, so the URL is known before the service starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def served_over_http(container: Service, sock: socket.socket) -> Iterator[str]:
    """Serve the container's API on `sock` until the block ends; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(container.http_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout=20)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
