"""The gate between regions: is the region just deployed healthy, before touching the next?

Two views, both read-only: this region's own health URL (the stack's ``HealthUrl`` output, never
the shared name) must answer 200 with the marker in the first 5,120 bytes, as Route 53's
``HTTPS_STR_MATCH`` reads it; and, against real AWS, ``GetHealthCheckStatus`` of the region's
health check must show more than 18 % of its checkers healthy (Route 53's rule). The gate
polls a bounded number of times (a fresh function, or a health check whose checkers have not
caught up, needs a moment) and then says no.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.facts import HEALTHY_SHARE

__all__ = ["Gate", "GateResult", "checker_share", "probe"]

_BODY_LIMIT = 5120  # Route 53 searches only the first 5,120 bytes for the string


@dataclass(frozen=True)
class GateResult:
    """What the gate saw.

    Attributes:
        healthy: the region may be left behind.
        seen: one line per observation, for the log.
    """

    healthy: bool
    seen: tuple[str, ...] = field(default_factory=tuple)


def probe(url: str, marker: str, *, timeout: float = 5.0) -> tuple[bool, str]:
    """GET a health URL as Route 53 would judge it: 2xx/3xx and the marker near the start.

    Args:
        url: the region's own health URL.
        marker: the search string.
        timeout: seconds for the whole request.

    Returns:
        ``(healthy, what was seen)``.
    """
    request = urllib.request.Request(  # noqa: S310 (the stack's own https URL, or a test's)
        url, headers={"User-Agent": "deep-health-deploy-gate"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
            body = response.read(_BODY_LIMIT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return False, f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return False, f"{url} unreachable ({type(reason).__name__})"
    if not 200 <= status < 400:
        return False, f"{url} answered {status}"
    if marker not in body:
        return False, f"{url} answered {status} without the marker {marker!r}"
    return True, f"{url} answered {status} with the marker"


def checker_share(route53: Any, health_check_id: str) -> tuple[float, int]:
    """The share of Route 53 checkers whose last observation is healthy, and their count."""
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)[
        "HealthCheckObservations"
    ]
    healthy = sum(
        1
        for observation in observations
        if str(observation.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    return (healthy / len(observations) if observations else 0.0), len(observations)


class Gate:
    """Polls one region until healthy, a bounded number of times.

    Args:
        attempts: how many rounds before saying no.
        interval: seconds between rounds.
        route53: a boto3 Route 53 client to read ``GetHealthCheckStatus``; ``None`` skips that
            view (a rehearsal has no real checkers).
        sleep: waits between rounds (tests pass one that returns at once).
        timeout: seconds per probe.
    """

    def __init__(
        self,
        *,
        attempts: int = 12,
        interval: float = 10.0,
        route53: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 5.0,
    ) -> None:
        self.attempts = attempts
        self.interval = interval
        self.route53 = route53
        self.sleep = sleep
        self.timeout = timeout

    def check(self, url: str, marker: str, health_check_id: str | None) -> GateResult:
        """Is the region healthy, by its own URL and (with a client) by Route 53's checkers?"""
        seen: list[str] = []
        for attempt in range(1, self.attempts + 1):
            ok, line = probe(url, marker, timeout=self.timeout)
            seen.append(f"[{attempt}/{self.attempts}] {line}")
            if ok and self.route53 is not None and health_check_id:
                share, count = checker_share(self.route53, health_check_id)
                ok = count > 0 and share > HEALTHY_SHARE
                seen.append(
                    f"[{attempt}/{self.attempts}] Route 53: {share:.0%} of {count} checkers"
                    f" healthy (needs more than {HEALTHY_SHARE:.0%})"
                )
            if ok:
                return GateResult(True, tuple(seen))
            if attempt < self.attempts:
                self.sleep(self.interval)
        return GateResult(False, tuple(seen))
