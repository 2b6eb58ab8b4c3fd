"""What Route 53's health checkers send one region's health route, from the project's own figures.

The least rate, burst and concurrency a region needs (``HealthRateLimit``, ``HealthBurstLimit``,
``ReservedConcurrency``), so :mod:`deploy.validate` can refuse limits that would throttle the
checkers into a failover, with the arithmetic in its message. The figures come from
:mod:`deploy.facts` (checkers per checker region and Route 53's status timeout, both from
the Route 53 model in ``service/simulation/route53.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deploy.facts import CHECKERS_PER_REGION, STATUS_TIMEOUT

__all__ = ["Capacity", "capacity_needed"]


@dataclass(frozen=True)
class Capacity:
    """What Route 53's checkers send one region's health route, from its own figures.

    Attributes:
        regions: checker regions.
        checks: health checks polling the route (2 with an IPv6 check).
        interval: seconds between one checker's polls (``HealthCheckInterval``).
        checkers: checkers polling the route (``CHECKERS_PER_REGION`` per region and check).
        rate: requests per second they send on average, rounded up (``HealthRateLimit``).
        burst: one round of every checker at once, as uncoordinated checkers may send it
            (``HealthBurstLimit``).
        concurrency: requests in flight while each may take Route 53's whole status timeout,
            plus one for the other region's peer check (``ReservedConcurrency``).
    """

    regions: int
    checks: int
    interval: int
    checkers: int
    rate: int
    burst: int
    concurrency: int

    @property
    def arithmetic(self) -> str:
        """How the figures come about, for a refusal's message."""
        per = f"{self.regions} checker regions x {CHECKERS_PER_REGION} checkers"
        if self.checks > 1:
            per += f" x {self.checks} health checks"
        return (
            f"{per} = {self.checkers} checkers, each every {self.interval} s ="
            f" {self.checkers / self.interval:g} requests/s (rate >= {self.rate}), up to"
            f" {self.burst} at once (burst >= {self.burst}), each up to {STATUS_TIMEOUT:g} s in"
            f" flight: {self.checkers} x {STATUS_TIMEOUT:g} / {self.interval} + 1 for the peer"
            f" check = concurrency >= {self.concurrency}"
        )


def capacity_needed(regions: int, interval: int, checks: int = 1) -> Capacity:
    """The least rate, burst and concurrency a region's health route needs (Route 53's figures).

    Args:
        regions: the number of checker regions.
        interval: ``HealthCheckInterval`` (10 or 30 seconds).
        checks: health checks polling the route (2 when AAAA records have their own).
    """
    checkers = CHECKERS_PER_REGION * regions * checks
    return Capacity(
        regions=regions,
        checks=checks,
        interval=interval,
        checkers=checkers,
        rate=math.ceil(checkers / interval),
        burst=checkers,
        concurrency=math.ceil(checkers * STATUS_TIMEOUT / interval) + 1,
    )
