"""Loopback helpers: free ports and readiness polling (bounded, never a fixed sleep); the twin's
and the tests'."""

from __future__ import annotations

import socket
import time

__all__ = ["free_port", "wait_for_port"]


def free_port() -> int:
    """A port of 127.0.0.1 free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, proc: object | None = None) -> None:
    """Return once 127.0.0.1:port accepts connections; raise after ``timeout``."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        poll = getattr(proc, "poll", None)
        if poll is not None and poll() is not None:
            raise RuntimeError(f"process exited with {poll()} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling interval for readiness, not synchronisation by time
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")
