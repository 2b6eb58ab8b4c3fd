"""A small HTTP load balancer on 127.0.0.1: one region's fleet behind one address.

Like an ALB or API Gateway in front of several instances, it spreads *requests* (not
connections) over its backends: each request goes to the next backend in turn (``round-robin``)
or to a random one (``random``) on a fresh upstream connection, and the response carries
``Connection: close``, so a keep-alive client (the Route 53 model's) does not pin one instance.
A backend that refuses the connection (a restarting instance) is skipped for that request;
when none accepts, the client's connection is closed without an answer (a failed poll).

Backends can be swapped at any time (``balancer.backends = [...]``) while it runs, which is how a
test restarts or adds instances.

Example::

    with Balancer([8001, 8002, 8003]) as lb:
        httpx.get(f"{lb.url}/health")
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from typing import Literal

from deploy.twin.loopserver import LoopServer

__all__ = ["Balancer"]

_HEAD_LIMIT = 65536


class Balancer(LoopServer):
    """Round-robin (or random) HTTP balancer from an ephemeral port to ``backends``.

    Args:
        backends: Ports of the instances on 127.0.0.1.
        mode: ``"round-robin"`` or ``"random"``.
        seed: Seeds the random mode.
    """

    thread_name = "balancer"

    def __init__(
        self,
        backends: Sequence[int] = (),
        *,
        mode: Literal["round-robin", "random"] = "round-robin",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.backends: list[int] = list(backends)
        self.mode = mode
        self.requests: dict[int, int] = {}
        self.unanswered = 0
        self._next = 0
        self._rng = random.Random(seed)  # noqa: S311 -- spreading requests, not security

    # -- one request ----------------------------------------------------------------------

    def _order(self) -> list[int]:
        backends = list(self.backends)
        if not backends:
            return []
        if self.mode == "random":
            first = self._rng.randrange(len(backends))
        else:
            first = self._next % len(backends)
            self._next += 1
        return backends[first:] + backends[:first]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track_current()
        try:
            # One request per client connection: the answer says Connection: close.
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                return
            if len(head) <= _HEAD_LIMIT:
                await self._forward(head, writer)
        except asyncio.CancelledError:
            return  # the balancer is stopping
        finally:
            writer.close()  # graceful: what was written reaches the client first
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _forward(self, head: bytes, client: asyncio.StreamWriter) -> None:
        request = _closing(head)
        for port in self._order():
            try:
                upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # a restarting instance: the next one takes the request
            self.requests[port] = self.requests.get(port, 0) + 1
            try:
                upstream.write(request)
                await upstream.drain()
                answer = await upstream_reader.readuntil(b"\r\n\r\n")
                client.write(_closing(answer))
                while data := await upstream_reader.read(65536):
                    client.write(data)
                    await client.drain()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:
                upstream.transport.abort()
            return
        self.unanswered += 1


def _closing(head: bytes) -> bytes:
    """An HTTP head with ``Connection: close`` instead of whatever it said."""
    lines = head.split(b"\r\n")
    kept = [line for line in lines[1:] if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join([lines[0], *kept, b"Connection: close", b"", b""])
