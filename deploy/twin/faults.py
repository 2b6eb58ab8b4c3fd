"""A fault-injecting TCP proxy on 127.0.0.1: real network faults between a client and a server
(a check and the emulator in the tests; a twin region's function and its AWS dependencies).

It runs on an event loop of its own in a background thread, so it keeps answering (or
deliberately not answering) whatever the test's loop or the runner's loop is doing. Faults are
plain attributes, switchable at any time; they apply per *request*: the first bytes the client
sends after the upstream last answered on that connection (HTTP/1.1 without pipelining, which
is what botocore and httpx speak). A kept-alive connection therefore sees each new fault too.

Faults:
    latency: seconds added before each request is forwarded.
    blackhole: requests are read and dropped; nothing ever comes back (the connection stays
        open), like a host that accepts and then hangs.
    reset: the connection is reset (TCP RST) when a request arrives.
    fail_fraction: this fraction of requests is reset, deterministically spread: with 0.25,
        exactly one in four (requests 4, 8, 12, ... counted since the last ``clear()``).

Example::

    with FaultProxy(emulator.port) as proxy:
        proxy.blackhole = True
        check = DynamoDBRead(table="t", key={"pk": "k"}, endpoint_url=proxy.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct

from deploy.twin.loopserver import LoopServer

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy(LoopServer):
    """A TCP proxy from an ephemeral port on 127.0.0.1 to ``upstream_port``.

    Args:
        upstream_port: where the real server listens.
        upstream_host: its host (``127.0.0.1``).
    """

    thread_name = "fault-proxy"

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        super().__init__()
        self.upstream = (upstream_host, upstream_port)
        self.latency = 0.0
        self.blackhole = False
        self.reset = False
        self.fail_fraction = 0.0
        self.connections = 0
        self.requests = 0
        self.failed = 0
        self.bytes_down = 0
        self._writers: set[asyncio.StreamWriter] = set()

    def clear(self) -> None:
        """Switch every fault off and reset the counters."""
        self.latency = 0.0
        self.blackhole = self.reset = False
        self.fail_fraction = 0.0
        self.connections = self.requests = self.failed = self.bytes_down = 0

    def _closing(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        self._track_current()
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            self._writers.add(upstream_writer)
            # Shared between the two pumps: a new request starts after the upstream answered.
            state = {"answered": True}
            self._spawn(self._downstream(upstream_reader, writer, state))
            await self._upstream(reader, upstream_writer, writer, state)
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()

    def _fails_now(self) -> bool:
        """Whether request number ``self.requests`` falls in ``fail_fraction`` (evenly spread)."""
        n, f = self.requests, self.fail_fraction
        return f > 0 and math.floor(n * f + 1e-9) > math.floor((n - 1) * f + 1e-9)

    async def _upstream(
        self,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        state: dict[str, bool],
    ) -> None:
        while data := await reader.read(_CHUNK):
            if state["answered"]:
                state["answered"] = False
                self.requests += 1
                if self.reset or self._fails_now():
                    self.failed += 1
                    _reset(client)
                    return
                if self.latency:
                    await asyncio.sleep(self.latency)  # the injected fault, not synchronisation
            if self.blackhole:
                continue  # read and drop: never forwarded, never answered
            upstream.write(data)
            await upstream.drain()

    async def _downstream(
        self, upstream: asyncio.StreamReader, client: asyncio.StreamWriter, state: dict[str, bool]
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await upstream.read(_CHUNK):
                state["answered"] = True
                self.bytes_down += len(data)
                client.write(data)
                await client.drain()
        client.transport.abort()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
