"""``peer``: the other region's deep-health ``/health``.

Non-critical with scope ``peer`` by default: it informs (the body, metrics, logs) and never
fails the local region by itself. Reports the peer's status (``pass``/``warn``/``fail``) as an
observation; fails with ``peer_unhealthy`` when the peer answers 503 (or lacks the healthy
marker), ``timeout``/``connection`` when it cannot be reached.

Config::

    [[checks]]
    type = "peer"
    name = "peer-us-west-2"
    url = "https://health.us-west-2.api.example.com/health"
    region = "us-west-2"            # optional: for the dependency audit
    marker = "DEEP-HEALTH-OK"       # optional: the healthy body's marker
"""

from __future__ import annotations

import json

from checks.base import Observations
from checks.exceptions import CheckFailed
from checks.http import HttpCheck
from checks.result import FAILING_CHECKS, Observation, Scope

__all__ = ["PeerCheck"]


class PeerCheck(HttpCheck):
    """Polls the peer region's deep-health endpoint; informs, never fails this region."""

    name = "peer"
    critical = False
    scope: Scope = "peer"
    timeout = 0.8

    def __init__(
        self, *, url: str, region: str | None = None, marker: str = "DEEP-HEALTH-OK"
    ) -> None:
        # Only a 200 with the marker is healthy: run() decides that itself, not expect_status.
        super().__init__(url=url, region=region)
        self.marker = marker

    async def run(self) -> Observations:
        status, body, latency_ms = await self.fetch()
        peer_status, failing = _summary(body)
        if status != 200 or self.marker not in body:
            raise CheckFailed(
                f"peer answered {status} ({peer_status})",
                reason="peer_unhealthy",
                # Which of the peer's checks fail: the policy compares them with ours to tell a
                # shared failure (failing over cannot help) from a regional one.
                observations={FAILING_CHECKS: Observation(",".join(failing))},
            )
        return {
            "latency": Observation(latency_ms, "ms"),
            "peerStatus": Observation(peer_status),
        }


def _summary(body: str) -> tuple[str, list[str]]:
    """The peer's status and the names of its failing checks, from its public health+json."""
    try:
        document = json.loads(body)
        checks = document.get("checks", {})
        failing = sorted(
            key.partition(":")[0]
            for key, entries in checks.items()
            if any(entry.get("status") == "fail" for entry in entries)
        )
        return str(document.get("status", "unknown")), failing
    except (ValueError, AttributeError, TypeError):
        return "unknown", []
