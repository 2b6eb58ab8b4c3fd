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
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Literal

__all__ = ["Balancer"]

_HEAD_LIMIT = 65536


class Balancer:
    """Round-robin (or random) HTTP balancer from an ephemeral port to ``backends``.

    Args:
        backends: Ports of the instances on 127.0.0.1.
        mode: ``"round-robin"`` or ``"random"``.
        seed: Seeds the random mode.
    """

    def __init__(
        self,
        backends: Sequence[int] = (),
        *,
        mode: Literal["round-robin", "random"] = "round-robin",
        seed: int = 0,
    ) -> None:
        self.backends: list[int] = list(backends)
        self.mode = mode
        self.requests: dict[int, int] = {}
        self.unanswered = 0
        self.port = 0
        self._next = 0
        self._rng = random.Random(seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Balancer:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="balancer", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        asyncio.run_coroutine_threadsafe(self._listen(), loop).result(timeout=10)
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> Balancer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

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
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
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
