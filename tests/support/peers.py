"""A peer check that reports the other region failing the checks it is told to (no network)."""

from __future__ import annotations

from checks import Check, CheckFailed, Observation, Observations
from checks.result import FAILING_CHECKS


class FailingPeer(Check):
    """Fails like :class:`checks.peer.PeerCheck` when the peer region fails ``failing``."""

    name = "peer"
    scope = "peer"
    critical = False

    def __init__(self, *, failing: str) -> None:
        self.failing = failing

    async def run(self) -> Observations:
        raise CheckFailed(
            "peer answered 503",
            reason="peer_unhealthy",
            observations={FAILING_CHECKS: Observation(self.failing)},
        )
