"""A check of a non-AWS dependency: the billing service answers its ping."""

from __future__ import annotations

import time

import httpx

from checks import Check, CheckFailed, Observations


class Billing(Check):
    name = "billing"
    critical = True  # a failure makes the region unhealthy
    scope = "regional"  # "global": failing over cannot fix it, so it only warns
    timeout = 0.5  # seconds; the runner enforces it
    latency_budget = 0.2  # optional: slower than this warns

    def __init__(self, *, url: str) -> None:  # options, validated from the annotations
        self.url = url
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:  # once per process: create clients here
        self.client = httpx.AsyncClient(timeout=self.timeout)

    async def stop(self) -> None:  # at shutdown: close what start() opened
        if self.client is not None:
            await self.client.aclose()

    async def run(self) -> Observations:  # raise to fail; CheckWarning to warn
        assert self.client is not None, "start() runs before run()"
        began = time.perf_counter()
        response = await self.client.get(self.url)
        if response.status_code != 200:
            # A stable reason code for the public body and the metrics.
            raise CheckFailed(f"billing answered {response.status_code}", reason="status")
        return {"latency": round((time.perf_counter() - began) * 1000, 2)}  # in /health/details
