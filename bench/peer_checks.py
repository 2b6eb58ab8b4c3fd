"""deep-health's side of ``bench.peers``' secret-leak workload: the same error the peers raise."""

from __future__ import annotations

from bench.peer_apps import SECRET
from checks import Check, Observations


class RaisesSecret(Check):
    """Raises a connection error whose text holds a password and an ARN."""

    name = "raises-secret"

    async def run(self) -> Observations:
        raise ConnectionError(f"cannot connect: {SECRET}")
