"""``http``: GET a URL and expect a status and, optionally, a substring of the body.

For a dependency that is not AWS (a payment provider, an identity provider). One
``httpx.AsyncClient`` is created at start-up and reused (kept-alive connections); redirects
are not followed; headers (which may carry credentials) never appear in a repr or a log.

Config::

    [[checks]]
    type = "http"
    name = "payments-api"
    url = "https://payments.example.com/status"
    expect_status = [200]          # optional: default [200]
    contains = "operational"       # optional: the body must contain it
    headers = { Authorization = "Bearer ${PAYMENTS_TOKEN}" }   # optional
    region = "eu-west-1"           # optional: for the dependency audit
    global_service = false         # optional: true when failing over cannot fix it

Reason codes: ``timeout``, ``connection``, ``status``, ``body``.
"""

from __future__ import annotations

import time
from typing import Any

from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckFailed
from checks.result import Observation
from checks.support import endpoint_from_url

__all__ = ["HttpCheck"]

_MAX_BODY = 65536


class HttpCheck(Check):
    """GETs a URL; fails on an unexpected status or a missing body substring."""

    name = "http"
    timeout = 0.8

    def __init__(
        self,
        *,
        url: str,
        expect_status: list[int] | None = None,
        contains: str | None = None,
        headers: dict[str, str] | None = None,
        region: str | None = None,
        global_service: bool = False,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http:// or https://, not {url!r}")
        self.url = url
        self.expect_status = expect_status or [200]
        self.contains = contains
        self._headers = dict(headers or {})
        self.region = region
        self.global_service = global_service
        self._client: Any = None

    async def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            headers={"User-Agent": "deep-health", **self._headers},
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
        )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None

    async def fetch(self) -> tuple[int, str, float]:
        """GET the URL: status, (start of) body text, latency in ms. Raises ``CheckFailed``."""
        import httpx

        started = time.perf_counter()
        try:
            response = await self._client.get(self.url)
        except httpx.TimeoutException as exc:
            raise CheckFailed(f"{type(exc).__name__}: {exc}", reason="timeout") from None
        except httpx.TransportError as exc:
            raise CheckFailed(f"{type(exc).__name__}: {exc}", reason="connection") from None
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return response.status_code, response.text[:_MAX_BODY], latency_ms

    async def run(self) -> Observations:
        status, body, latency_ms = await self.fetch()
        if status not in self.expect_status:
            raise CheckFailed(f"status {status}, expected {self.expect_status}", reason="status")
        if self.contains is not None and self.contains not in body:
            raise CheckFailed(f"body lacks {self.contains!r}", reason="body")
        return {"latency": Observation(latency_ms, "ms"), "status": Observation(status)}

    def endpoints(self) -> list[Endpoint]:
        found = endpoint_from_url(self.url, region=self.region)
        if self.global_service:
            found.global_service = True
        return [found]
