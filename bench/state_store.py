"""The shared state store's cost on ``/health``: added latency and DynamoDB requests.

Run ``python -m bench.state_store``. One process serves the same config twice over, once with
``[state] store = "memory"`` and once with ``"dynamodb"`` against the AWS emulator (moto's server
on 127.0.0.1), in alternating rounds (ABAB) so drift on a shared machine hits both alike. Every
request evaluates (``cache_ttl = 0``); the check is a fast in-process one, so the difference is
the store. Prints the median and p90 of ``GET /health`` for each, the median added latency, and
the store's requests per evaluation, then the monthly on-demand cost estimate the README quotes.

The emulator is not DynamoDB: its latency over loopback is a stand-in (a regional DynamoDB call
from the same region is typically single-digit milliseconds); the request count is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence

from bench._common import median, percentile, table
from support.emulator import FAKE_CREDENTIALS, start_emulator

# On-demand prices in us-east-1 per million request units since AWS's November 2024 price cut
# (as quoted by airbyte.com/data-engineering-resources/dynamodb-pricing; AWS's own pricing page
# was not reachable from here): writes $0.625, reads $0.125. Other regions cost a little more.
WRITE_PRICE = 0.625
READ_PRICE = 0.125


def _config(store: str, table_name: str, endpoint: str) -> str:
    state = (
        f'[state]\nstore = "dynamodb"\ntable = "{table_name}"\nendpoint_url = "{endpoint}"\n'
        if store == "dynamodb"
        else ""
    )
    return (
        '[service]\nmode = "on-request"\ncache_ttl = 0\n'
        + state
        + '[[checks]]\ntype = "support.misbehaving:Passing"\nname = "db"\n'
    )


async def _round(
    store: str, table_name: str, endpoint: str, requests: int
) -> tuple[list[float], float]:
    import httpx

    from service.compose import compose
    from service.config import parse_config
    from service.faces.app import create_app

    # Built as a host application would: compose builds the configured store and passes it in.
    service = compose(parse_config(_config(store, table_name, endpoint)), "embedded").service
    await service.astart()
    app = create_app(service)
    times: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.get("/health")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
    await service.fleet.flush()
    shared = service.fleet.store
    per_evaluation = shared.requests / requests if shared is not None else 0.0  # type: ignore[attr-defined]
    await service.aclose()
    return times, per_evaluation


def _cost_lines() -> list[str]:
    evaluations = 15 / 10 * 86400 * 30  # 15 checkers every 10 s, one evaluation each at most
    # Per evaluation: one UpdateItem (<= 1 KB: 1 write unit) and one eventually consistent
    # Query of the window's ~13 small items (< 4 KB: 0.5 read unit).
    writes, reads = evaluations * 1, evaluations * 0.5
    cost = writes / 1e6 * WRITE_PRICE + reads / 1e6 * READ_PRICE
    return [
        f"cost: {evaluations:,.0f} evaluations/month at 15 checkers x 10 s (no cache hits) -> "
        f"{writes / 1e6:.2f} M write units x ${WRITE_PRICE} + {reads / 1e6:.2f} M read units x "
        f"${READ_PRICE} = ${cost:.2f} per region per month (plus latch writes on transitions "
        "only; storage: a few KB)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.state_store", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.update(FAKE_CREDENTIALS)
    emulator = start_emulator()
    try:
        from service.state.dynamodb import create_table

        table_name = f"bench-state-{uuid.uuid4().hex[:8]}"
        create_table(emulator.client("dynamodb"), table_name)
        results: dict[str, list[float]] = {"memory": [], "dynamodb": []}
        per_evaluation: list[float] = []
        for _ in range(args.rounds):
            for store in ("memory", "dynamodb"):
                times, requests = asyncio.run(
                    _round(store, table_name, emulator.endpoint, args.requests)
                )
                results[store].extend(times)
                if store == "dynamodb":
                    per_evaluation.append(requests)
    finally:
        emulator.stop()
    rows = [
        [
            store,
            f"{median(times) * 1000:.2f} ms",
            f"{percentile(times, 0.9) * 1000:.2f} ms",
        ]
        for store, times in results.items()
    ]
    print(table(["store", "GET /health median", "p90"], rows))
    added = median(results["dynamodb"]) - median(results["memory"])
    print(
        f"\nadded median latency of the shared store: {added * 1000:.2f} ms "
        f"(emulator on loopback); DynamoDB requests per evaluation: "
        f"{sum(per_evaluation) / len(per_evaluation):.2f} (target <= 2)"
    )
    for line in _cost_lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
