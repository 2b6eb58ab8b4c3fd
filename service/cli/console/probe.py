"""One look at a region: ``GET /health`` as a Route 53 checker sees it, and ``/health/details``.

``httpx`` is imported lazily; nothing here is on the service's request path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["CheckRow", "RegionSnapshot", "health_urls", "snapshot"]

SEARCH_LIMIT = 5120
"""Route 53 searches only this much of the body for the search string."""


@dataclass(frozen=True)
class CheckRow:
    """One check as ``/health/details`` reports it (public fields only without a token)."""

    name: str
    status: str
    ms: float | None = None
    reason: str = ""
    output: str = ""
    critical: bool | None = None
    scope: str = ""


@dataclass(frozen=True)
class RegionSnapshot:
    """What one region answered.

    Attributes:
        label: ``primary`` / ``secondary`` (or the pair's region name).
        url: The ``/health`` URL.
        code: HTTP status of ``/health``; ``None`` when it did not answer.
        error: Why it did not answer (connection refused, timeout, ...).
        ms: Milliseconds ``/health`` took.
        marker_seen: The search string was in the first 5,120 bytes.
        status: The body's ``status`` (pass/warn/fail), if any.
        release: The body's ``releaseId``.
        checks: Per check, with details when the token was accepted.
        reasons: The verdict's reasons (details only).
        details: ``"ok"``, ``"no token"`` or why the details were not read.
        route53_ok: A Route 53 checker would count this answer healthy.
    """

    label: str
    url: str
    code: int | None = None
    error: str = ""
    ms: float = 0.0
    marker_seen: bool = False
    status: str | None = None
    release: str = ""
    checks: tuple[CheckRow, ...] = ()
    reasons: tuple[str, ...] = ()
    details: str = "no token"
    route53_ok: bool = False
    taken: float = field(default_factory=time.time)

    @property
    def healthy(self) -> bool:
        """The region answers and does not fail (pass or warn): ``check``'s exit-0 rule."""
        return self.code is not None and self.status in ("pass", "warn")


def health_urls(url: str) -> tuple[str, str]:
    """``(health, details)`` URLs from a base URL or a ``.../health`` URL."""
    base = url.rstrip("/")
    if base.endswith("/health"):
        return base, base + "/details"
    return base + "/health", base + "/health/details"


def _rows(checks: object) -> tuple[CheckRow, ...]:
    # Whatever answered may not be deep-health (a proxy's page, another service's JSON): rows
    # only from the shape the body has, nothing else.
    if not isinstance(checks, dict):
        return ()
    rows = []
    for key, entries in checks.items():
        name, _, measurement = str(key).partition(":")
        if measurement != "responseTime" or not isinstance(entries, list) or not entries:
            continue
        entry = entries[0]
        if not isinstance(entry, dict):
            continue
        rows.append(
            CheckRow(
                name=name,
                status=str(entry.get("status", "?")),
                ms=entry.get("observedValue") if "observedUnit" in entry else None,
                reason=str(entry.get("reason", "")),
                output=str(entry.get("output", "")),
                critical=entry.get("critical"),
                scope=str(entry.get("scope", "")),
            )
        )
    return tuple(rows)


async def snapshot(
    client: httpx.AsyncClient,
    label: str,
    url: str,
    *,
    token: str | None,
    marker: str | None,
    timeout: float = 2.0,
) -> RegionSnapshot:
    """Read one region's ``/health`` (as Route 53 would) and, with a token, its details.

    Args:
        client: The HTTP client.
        label: The region's label.
        url: Its base or ``/health`` URL.
        token: The details token; ``None`` reads the public body only.
        marker: The search string Route 53 looks for; ``None`` for a plain HTTPS check.
        timeout: Seconds Route 53 waits for the answer (2).
    """
    import httpx

    health, details_url = health_urls(url)
    began = time.perf_counter()
    try:
        response = await client.get(health, timeout=timeout)
    except httpx.HTTPError as exc:
        reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
        return RegionSnapshot(
            label,
            health,
            error=reason,
            ms=(time.perf_counter() - began) * 1e3,
            details="not read: /health did not answer" if token else "no token",
        )
    ms = (time.perf_counter() - began) * 1000
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        body = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        pass
    seen = marker is None or marker.encode() in response.content[:SEARCH_LIMIT]
    fields: dict[str, Any] = {
        "code": response.status_code,
        "ms": ms,
        "marker_seen": seen,
        "status": body["status"] if isinstance(body.get("status"), str) else None,
        "release": str(body.get("releaseId", "")),
        "checks": _rows(body.get("checks", {})),
        "route53_ok": 200 <= response.status_code < 400 and seen and ms < timeout * 1000,
    }
    if token:
        fields.update(await _details(client, details_url, token, timeout))
    return RegionSnapshot(label, health, **fields)


async def _details(
    client: httpx.AsyncClient, url: str, token: str, timeout: float
) -> dict[str, Any]:
    import httpx

    try:
        response = await client.get(
            url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout * 2
        )
    except httpx.HTTPError as exc:
        return {"details": f"details unreadable ({type(exc).__name__})"}
    # The details mirror /health's code: 503 with a full body while the region fails.
    if response.status_code not in (200, 503):
        meaning = {401: "token refused", 404: "no details_token configured"}
        code = response.status_code
        return {"details": f"details: HTTP {code} ({meaning.get(code, 'error')})"}
    try:
        body = response.json()
    except ValueError:  # HTML from a proxy, or not UTF-8
        body = None
    if not isinstance(body, dict):
        return {"details": "details unreadable (not a health+json body)"}
    evaluation = body.get("evaluation")
    reasons = evaluation.get("reasons") if isinstance(evaluation, dict) else None
    return {
        "details": "ok",
        "checks": _rows(body.get("checks", {})),
        "reasons": tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
    }
