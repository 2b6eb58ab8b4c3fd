"""``verify`` against the twin's Route 53: does it agree with what the twin's DNS does?

The pair's stacks are created in the twin's emulator as ``python -m deploy --rehearse`` creates
them (:func:`deploy.rehearse.rehearse`: the real template through a real template engine, so
the records and health checks are the ones the stack makes). :func:`deploy.verify.read_live`
reads them back; the checkers' observations are the twin's Route 53 model's (each checker's
view of its region, as ``GetHealthCheckStatus`` would report it), and
:func:`deploy.verify.assess` judges - ``verify``'s own code throughout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from deploy.pairs import Pair, PairsFile
from deploy.twin.aws import client
from deploy.verify import Live, PairVerdict, assess, read_live

__all__ = ["Route53Stacks", "observations"]

_OK = "Success: HTTP Status Code 200, OK"
_FAILED = "Failure: HTTP Status Code 503, Service Unavailable"


def observations(healthy: int, checkers: int) -> tuple[str, ...]:
    """What ``GetHealthCheckStatus`` reports when ``healthy`` of ``checkers`` say healthy."""
    return (_OK,) * healthy + (_FAILED,) * (checkers - healthy)


class Route53Stacks:
    """The pair's stacks rehearsed in the twin's emulator, read back by ``verify``'s code.

    Args:
        pairs: the pairs file.
        pair: the pair.
        emulator: the moto server's URL.
        release_id: ``ReleaseId``.
    """

    def __init__(self, pairs: PairsFile, pair: Pair, emulator: str, release_id: str) -> None:
        from deploy.rehearse import rehearse

        done = rehearse(
            dataclasses.replace(pairs, pairs=(pair,)),
            endpoint_url=emulator,
            release_id=release_id,
            log=lambda line: None,
        )
        self.pair = pair
        self._emulated = dataclasses.replace(pair, hosted_zone_id=done.zones[pair.hosted_zone_id])
        self._route53 = client("route53", emulator, "us-east-1")

    def verdict(self, healthy: Sequence[int], checkers: int) -> PairVerdict:
        """``verify``'s verdict when ``healthy[0]``/``healthy[1]`` checkers say the primary /
        the secondary is healthy."""
        live = read_live(self._emulated, self._route53)
        seen: dict[str, tuple[str, ...]] = {}
        for record in live.records:
            check = record.get("HealthCheckId")
            role = record.get("Failover")
            if check is None or role not in ("PRIMARY", "SECONDARY"):
                continue
            count = healthy[0] if role == "PRIMARY" else healthy[1]
            for check_id, config in live.checks.items():
                if check_id == check or check_id in config.get("ChildHealthChecks", []):
                    seen[check_id] = observations(count, checkers)
            for child in live.checks.get(str(check), {}).get("ChildHealthChecks", []):
                seen[str(child)] = observations(count, checkers)
            seen[str(check)] = observations(count, checkers)
        return assess(self.pair, Live(live.records, live.checks, seen))
