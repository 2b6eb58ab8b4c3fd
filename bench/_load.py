"""A lean HTTP/1.1 load generator, run in a process of its own, and a constant server.

An httpx client spends more CPU per request than uvicorn does, so it would measure itself. This
one is an asyncio ``Protocol`` per keep-alive connection, one request in flight on each (no
pipelining), parsing only the status line and ``content-length``. On the 2-core machine it spent
~70 µs of CPU per request against uvicorn's ~230 µs, and drove a constant asyncio server at
~23,000 requests/s, 6-7x what bare FastAPI on uvicorn answers (bench.throughput prints both).
Closed loop: each answer sends the next request at once.

- ``python -m bench._load client --port P --connections N --duration S [--count C]`` prints one
  JSON :class:`LoadResult`; :func:`run_load` runs it and parses that.
- ``python -m bench._load constant --port P`` answers every request with the same bytes and does
  nothing else: the client's ceiling is measured against it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from array import array
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from bench._common import ROOT, percentile

__all__ = ["LoadResult", "Request", "run_load"]


@dataclass(frozen=True, slots=True)
class Request:
    """One request of the mix the connections cycle through."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one client run did; ``seconds`` spans first send to last answer."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int
    client_cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class _Run:
    """State shared by the connections of one run."""

    def __init__(self, requests: list[bytes], count: int | None, duration: float) -> None:
        self.requests = requests
        self.count = count
        self.until = time.perf_counter() + duration
        self.issued = 0
        self.latencies = array("d")
        self.statuses: dict[str, int] = {}
        self.errors = 0

    def next_request(self) -> bytes | None:
        if (self.count is not None and self.issued >= self.count) or (
            time.perf_counter() >= self.until
        ):
            return None
        request = self.requests[self.issued % len(self.requests)]
        self.issued += 1
        return request


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run, done: asyncio.Future[None]) -> None:
        self.run = run
        self.done = done
        self.buffer = b""
        self.need = -1  # bytes of the whole current response, once its head is in
        self.status = ""
        self.began = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        request = self.run.next_request()
        if request is None:
            self.transport.close()
            return
        self.began = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                at = head.find(b"\r\ncontent-length:")
                if at < 0:  # chunked or close-delimited: not something these servers send
                    self._fail()
                    return
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
                self.need = end + 4 + length
                self.status = head[9:12].decode()
            if len(self.buffer) < self.need:
                return
            run = self.run
            run.latencies.append(time.perf_counter() - self.began)
            run.statuses[self.status] = run.statuses.get(self.status, 0) + 1
            self.buffer = self.buffer[self.need :]
            self.need = -1
            self._send()

    def _fail(self) -> None:
        self.run.errors += 1
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.need >= 0 or exc is not None:  # closed mid-answer
            self.run.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def _client(
    port: int, requests: list[bytes], connections: int, duration: float, count: int | None
) -> LoadResult:
    loop = asyncio.get_running_loop()
    run = _Run(requests, count, duration)
    cpu, began = time.process_time(), time.perf_counter()
    dones: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(partial(_Connection, run, done), "127.0.0.1", port)
        dones.append(done)
    await asyncio.gather(*dones)
    seconds = time.perf_counter() - began
    latencies = list(run.latencies) or [0.0]
    return LoadResult(
        requests=len(run.latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        statuses=run.statuses,
        errors=run.errors,
        client_cpu=time.process_time() - cpu,
    )


class _Constant(asyncio.Protocol):
    """Answers each request head with the same bytes: the cheapest server there is."""

    ANSWER = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n"
        b'{"status":"pass"}'
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        heads = self.buffer.count(b"\r\n\r\n")
        if heads:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(self.ANSWER * heads)


async def _constant(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Constant, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def run_load(
    port: int,
    requests: list[Request],
    *,
    connections: int = 16,
    duration: float = 5.0,
    count: int | None = None,
) -> LoadResult:
    """Drive 127.0.0.1:``port`` from a fresh process until ``duration`` s or ``count`` answers."""
    argv = [sys.executable, "-m", "bench._load", "client", "--port", str(port)]
    argv += ["--connections", str(connections), "--duration", str(duration)]
    argv += ["--requests", json.dumps([asdict(r) for r in requests])]
    if count is not None:
        argv += ["--count", str(count)]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=duration + 60
    )
    fields: dict[str, Any] = json.loads(done.stdout)
    return LoadResult(**fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["client", "constant"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--count", type=int)
    parser.add_argument("--requests", default='[{"path": "/health"}]', help="JSON list")
    args = parser.parse_args()
    if args.role == "constant":
        asyncio.run(_constant(args.port))
        return
    requests = [Request(**r).encode() for r in json.loads(args.requests)]
    result = asyncio.run(_client(args.port, requests, args.connections, args.duration, args.count))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
