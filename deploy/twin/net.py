"""Loopback helpers: free ports and readiness polling (bounded, never a fixed sleep); the twin's
and the tests'."""

from __future__ import annotations

import socket
import time

__all__ = ["free_port", "free_port_pair", "wait_for_port"]


def free_port() -> int:
    """A port of 127.0.0.1 free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A port of 127.0.0.1 free now whose next port is free too (``deep-health local`` serves
    its secondary region on the next port). A port from the kernel's ephemeral range is often
    followed by one a client connection holds, so the pair is checked, not assumed."""
    for _ in range(100):
        first = free_port()
        if first < 65535 and _bindable(first + 1):
            return first
    raise RuntimeError("no two consecutive free ports on 127.0.0.1 in 100 tries")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, *, timeout: float = 30.0, proc: object | None = None) -> None:
    """Return once 127.0.0.1:port accepts connections; raise after ``timeout``."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        poll = getattr(proc, "poll", None)
        if poll is not None and poll() is not None:
            raise RuntimeError(
                f"process exited with {poll()} before listening on {port}{_said(proc)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling interval for readiness, not synchronisation by time
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _said(proc: object) -> str:
    """What an exited process wrote on its stderr pipe, if it has one (why it exited)."""
    stream = getattr(proc, "stderr", None)
    read = getattr(stream, "read", None)
    if read is None:
        return ""
    try:
        text = read()
    except (OSError, ValueError):
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"; its stderr:\n{text}" if text else ""
