"""Throughput: cached ``/health`` requests per second against a bare FastAPI endpoint.

Run ``python -m bench.throughput``. Target: deep-health at >= 70 % of the bare endpoint.

Every server runs at once, each in a process of its own on 127.0.0.1 under the same uvicorn
settings (``deep-health serve``: ``service.cli.main.UVICORN_SETTINGS``, log level warning):

- bare: one FastAPI route returning a constant (:mod:`bench.bare_app`), the baseline;
- deep-health, ``on-request`` mode with ``cache_ttl = 60``: every request answers from the cache;
- deep-health, ``background`` mode (the container default): every request answers the latest
  result of the loop;
- a constant asyncio server: the ceiling of the load client (:mod:`bench._load`), which runs in
  a process of its own with N keep-alive connections, one request in flight on each.

Server and client share the machine's two cores, and the machine is shared, so the targets are
measured in alternating order (bare, on-request, background, then backwards), ``--rounds``
times, and the ratio is the median of each round's ratio to that round's bare figure. Server
CPU per request (from ``/proc``) is the figure least disturbed by other load.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import median, table
from bench._load import LoadResult, Request, run_load
from bench._servers import Server, bare, constant, cpu_seconds, deep_health
from service.cli.terminal import progress

TARGET = 0.70
CHECKS = '[[checks]]\ntype = "support.misbehaving:Passing"\nname = "passing"\n'


def _config(directory: Path, mode: str) -> Path:
    path = directory / f"throughput-{mode}.toml"
    path.write_text(f'[service]\nmode = "{mode}"\ncache_ttl = 60\n' + CHECKS)
    return path


@dataclass
class _Target:
    label: str
    start: Callable[[], AbstractContextManager[Server]]
    server: Server | None = None
    runs: list[LoadResult] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)  # seconds per request, per run

    def measure(self, connections: int, duration: float) -> LoadResult:
        assert self.server is not None
        before = cpu_seconds(self.server.pid)
        result = run_load(
            self.server.port, [Request("/health")], connections=connections, duration=duration
        )
        if result.errors or set(result.statuses) != {"200"}:
            raise RuntimeError(f"{self.label}: {result.statuses}, {result.errors} errors")
        self.runs.append(result)
        self.server_cpu.append((cpu_seconds(self.server.pid) - before) / result.requests)
        return result


def _row(target: _Target, ratios: list[float] | None) -> list[str]:
    runs = target.runs
    return [
        target.label,
        f"{median([r.rps for r in runs]):,.0f}",
        f"{median([r.p50_ms for r in runs]):.2f}",
        f"{median([r.p99_ms for r in runs]):.2f}",
        f"{median(target.server_cpu) * 1e6:.0f}",
        f"{median([r.client_cpu / r.requests for r in runs]) * 1e6:.0f}",
        f"{median(ratios):.2f}" if ratios else "1.00",
    ]


def throughput(directory: Path, rounds: int, duration: float, connections: int) -> str:
    ceiling = _Target("constant asyncio server (the client's ceiling)", constant)
    baseline = _Target("bare FastAPI, constant JSON (baseline)", bare)
    targets = [
        baseline,
        _Target(
            "deep-health `/health`, on-request, cache_ttl 60 (cached)",
            lambda: deep_health(_config(directory, "on-request")),
        ),
        _Target(
            "deep-health `/health`, background (latest result)",
            lambda: deep_health(_config(directory, "background")),
        ),
    ]
    with ExitStack() as stack:
        for target in [ceiling, *targets]:
            target.server = stack.enter_context(target.start())
            target.measure(connections, 1.0)  # warm-up: imports, first allocations
            target.runs.clear()
            target.server_cpu.clear()
        ceiling.measure(connections, duration)
        ratios: dict[str, list[float]] = {t.label: [] for t in targets}
        with progress(rounds, "bench.throughput rounds") as advance:
            for round_ in range(rounds):
                order = targets if round_ % 2 == 0 else targets[::-1]
                figures = {t.label: t.measure(connections, duration).rps for t in order}
                for label, rps in figures.items():
                    ratios[label].append(rps / figures[baseline.label])
                advance(1)
    rows = [_row(t, ratios[t.label] if t is not baseline else None) for t in targets]
    rows.append(_row(ceiling, [ceiling.runs[0].rps / median([r.rps for r in baseline.runs])]))
    verdicts = [
        f"{t.label}: {median(ratios[t.label]):.2f} x bare, target >= {TARGET:.2f}: "
        + ("met" if median(ratios[t.label]) >= TARGET else "MISSED")
        for t in targets[1:]
    ]
    title = (
        f"Throughput: `/health`, {connections} keep-alive connections, {duration:g} s per run, "
        f"median of {rounds} rounds in alternating order (the ceiling: one run)"
    )
    return (
        title
        + "\n"
        + table(
            [
                "endpoint",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "server CPU µs/req",
                "client CPU µs/req",
                "x bare",
            ],
            rows,
        )
        + "\n\n"
        + "\n".join(verdicts)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="measurements per target")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(throughput(Path(tmp), args.rounds, args.duration, args.connections), flush=True)


if __name__ == "__main__":
    main()
