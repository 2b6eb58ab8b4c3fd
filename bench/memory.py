"""Memory: the server's RSS after 1,000 and after 100,000 requests. Target: growth < 5 MB.

Run ``python -m bench.memory`` (``--requests`` to shorten). Each server runs in a process of its
own (``deep-health serve``, as :func:`support.process.serve` runs it) and is driven by the lean
client of :mod:`bench._load`; its ``VmRSS`` is read from ``/proc`` after a warm-up, then after
1,000, 10,000 and ``--requests`` requests counted from the warm-up's end. Growth is from 1,000 to
the end: the warm-up and the first thousand take the one-off allocations (imports, caches,
Prometheus series, the first results of every kind).

The worst case for leaks: a check that passes, warns, fails, raises (with a message) or times
out at random (``support.misbehaving:Flaky``) beside one that passes; one request in ten is an
authorised ``/health/details``, which renders errors and observations.

- on-request mode with ``cache_ttl = 0``: every request runs an evaluation of its own (no
  single-flight without a cache), so evaluations = requests;
- background mode with ``interval`` 0.05 s: a loop evaluates ~15 times a second while requests
  answer the latest result;
- the bare FastAPI endpoint of bench.throughput, for reference: what uvicorn itself does.

The failover tracker keeps its defaults (on, a bounded sample window): after Flaky's first
failure its recovery hysteresis holds the verdict at fail, so most answers are 503 (the
``statuses`` column). A server that runs out of ``--budget`` stops early and its row says so;
about 2.5 minutes in all on the 2-core machine.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from bench._common import table
from bench._load import Request, run_load
from bench._servers import Server, bare, deep_health, rss_mb

TARGET_MB = 5.0
TOKEN = "bench-details-token-0123456789"
CHECKS = (
    '[[checks]]\ntype = "support.misbehaving:Flaky"\nname = "flaky"\nseed = 7\n'
    '[[checks]]\ntype = "support.misbehaving:Passing"\nname = "passing"\n'
)
MIX = [Request("/health")] * 9 + [Request("/health/details", {"Authorization": f"Bearer {TOKEN}"})]
WARMUP = 500
CHECKPOINTS = (1_000, 10_000)


def _config(directory: Path, mode: str) -> Path:
    path = directory / f"memory-{mode}.toml"
    path.write_text(
        f'[service]\nmode = "{mode}"\ncache_ttl = 0\ninterval = 0.05\n'
        f'details_token = "{TOKEN}"\n'
        # Without the failover window the verdict follows each evaluation, so both the
        # healthy and the failing body are rendered (the window would latch on 503).
        "[failover]\nenabled = false\n" + CHECKS
    )
    return path


def _checkpoints(requests: int) -> list[int]:
    return [c for c in CHECKPOINTS if c < requests]


def _evaluations(port: int) -> int:
    details = httpx.get(
        f"http://127.0.0.1:{port}/health/details",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    ).json()
    return int(details["evaluation"]["number"])


def _soak(
    label: str,
    start: Callable[[], AbstractContextManager[Server]],
    requests: int,
    connections: int,
    budget: float,
    mix: list[Request],
    evaluations: bool,
) -> list[str]:
    """One row: RSS at each checkpoint; stops early (and says so) when ``budget`` s run out."""
    with start() as server:
        run_load(server.port, mix, connections=connections, count=WARMUP, duration=60)
        rss = [rss_mb(server.pid)]
        done, began, errors = 0, time.perf_counter(), 0
        statuses: dict[str, int] = {}
        marks = (*_checkpoints(requests), requests)
        reached: list[int] = []
        for checkpoint in marks:
            left = budget - (time.perf_counter() - began)
            result = run_load(
                server.port,
                mix,
                connections=connections,
                count=checkpoint - done,
                duration=max(left, 1.0),
            )
            done += result.requests
            errors += result.errors
            for code, n in result.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
            rss.append(rss_mb(server.pid))
            reached.append(done)
            if done < checkpoint:  # out of time: report what was done
                break
        elapsed = time.perf_counter() - began
        count = _evaluations(server.port) if evaluations else None
    growth = rss[-1] - rss[1]
    cells = [f"{rss[0]:.1f}"]
    for mark, at, mb in itertools.zip_longest(marks, reached, rss[1:]):
        if at is None:
            cells.append("-")
        else:  # a checkpoint the time budget cut short says where it was read
            cells.append(f"{mb:.1f}" + ("" if at >= mark else f" (at {at:,})"))
    return [
        label,
        *cells,
        f"{growth:+.1f}",
        "yes" if growth < TARGET_MB else "**no**",
        f"{done:,}" + ("" if done >= requests else " (time budget)"),
        f"{count:,}" if count is not None else "-",
        f"{done / elapsed:,.0f}",
        " ".join([*(f"{c}:{n}" for c, n in sorted(statuses.items())), f"errors:{errors}"]),
    ]


def memory(directory: Path, requests: int, connections: int, budget: float, bare_row: bool) -> str:
    rows = [
        _soak(
            "deep-health, on-request, cache_ttl 0",
            lambda: deep_health(_config(directory, "on-request")),
            requests,
            connections,
            budget,
            MIX,
            True,
        ),
        _soak(
            "deep-health, background, interval 0.05 s",
            lambda: deep_health(_config(directory, "background")),
            requests,
            connections,
            budget,
            MIX,
            True,
        ),
    ]
    if bare_row:
        rows.append(
            _soak("bare FastAPI (reference)", bare, requests, connections, budget, MIX[:1], False)
        )
    checkpoints = [f"after {c:,} MB" for c in _checkpoints(requests)]
    title = (
        f"Memory: server RSS (VmRSS), {connections} connections, a warm-up of {WARMUP} requests, "
        f"then {requests:,}; one request in ten is /health/details; checks: Flaky + Passing"
    )
    header = [
        "server",
        "after warm-up MB",
        *checkpoints,
        f"after {requests:,} MB",
        f"growth from {CHECKPOINTS[0]:,} MB",
        f"< {TARGET_MB:g} MB",
        "requests",
        "evaluations",
        "req/s",
        "statuses",
    ]
    return title + "\n" + table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000, help="after the warm-up")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--budget", type=float, default=100.0, help="seconds per server at most")
    parser.add_argument("--no-bare", action="store_true", help="skip the reference row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(
            memory(Path(tmp), args.requests, args.connections, args.budget, not args.no_bare),
            flush=True,
        )


if __name__ == "__main__":
    main()
