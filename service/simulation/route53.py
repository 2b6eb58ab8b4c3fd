"""What Route 53 does with two regional endpoints, as pure state machines.

* Each checker keeps its own view of an endpoint and flips it only after ``failure_threshold``
  consecutive results the other way (both ways: Route 53 has no recovery asymmetry).
* An endpoint is healthy when *more than* 18 % of its checkers say so.
* A failover record answers primary when the primary is healthy, secondary when only the
  secondary is, and primary when both are unhealthy (it fails open to the primary).
* Latency (and every other) routing fails open too: all records unhealthy → all answered.

Clock, I/O and randomness live in the drivers (``virtual``, ``realtime``), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "PRIMARY",
    "SECONDARY",
    "Answer",
    "Checker",
    "EndpointHealth",
    "Route53Config",
    "failover_answer",
    "latency_answer",
]

Answer = Literal["primary", "secondary"]
PRIMARY: Answer = "primary"
SECONDARY: Answer = "secondary"

# Route 53's checker regions (the HealthCheckRegion enum of its API); the model uses them as
# labels, the deploy tooling (deploy.facts) to refuse a health check outside them.
DEFAULT_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)

HEALTHY_SHARE = 0.18
"""An endpoint is healthy while MORE than this share of its checkers say so (Route 53's rule;
the simulator, the console and ``verify`` all read it from here)."""


@dataclass(frozen=True, kw_only=True)
class Route53Config:
    """How the health checkers poll.

    Attributes:
        checkers: Checkers polling each endpoint (default 15, Route 53's typical count).
        regions: Checker regions, assigned round-robin (labels; Route 53 requires >= 3).
        interval: Seconds between one checker's polls: 10 ("fast") or 30 (default 10).
        jitter: Each poll interval varies by up to this fraction either way (default 0.1):
            checkers are uncoordinated, so requests arrive in irregular bursts.
        failure_threshold: Consecutive results that flip a checker's view (default 3).
        healthy_fraction: An endpoint is healthy when more than this fraction of checkers say
            so (default 0.18).
        timeout: Seconds a checker waits for the response before counting a failure (default 2).
        cache_ttl: Seconds the service reuses one evaluation for concurrent probes (default 1).
        samples: Samples a deep-health check takes per evaluation (default 3).
    """

    checkers: int = 15
    regions: tuple[str, ...] = DEFAULT_REGIONS[:3]
    interval: float = 10.0
    jitter: float = 0.1
    failure_threshold: int = 3
    healthy_fraction: float = HEALTHY_SHARE
    timeout: float = 2.0
    cache_ttl: float = 1.0
    samples: int = 3

    def __post_init__(self) -> None:
        """Reject configurations Route 53 would not accept or the model cannot run."""
        if self.checkers < 1 or not self.regions:
            raise ValueError("need at least one checker and one region")
        if self.interval <= 0 or not 0.0 <= self.jitter < 1.0:
            raise ValueError("interval must be > 0 and jitter in [0, 1)")
        if not 1 <= self.failure_threshold <= 10:
            raise ValueError("failure_threshold must be 1-10")
        if self.samples < 1:
            raise ValueError("samples must be >= 1")


@dataclass
class Checker:
    """One health checker's view of one endpoint."""

    region: str
    threshold: int
    healthy: bool = True  # a new Route 53 health check starts healthy
    streak: int = field(default=0, repr=False)

    def observe(self, ok: bool) -> bool:
        """Record one poll result and return True when this checker's view flipped."""
        if ok == self.healthy:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak < self.threshold:
            return False
        self.healthy = ok
        self.streak = 0
        return True


class EndpointHealth:
    """Aggregate the checkers of one endpoint into its health."""

    def __init__(self, config: Route53Config) -> None:
        """Create the endpoint's checkers, all healthy.

        Args:
            config: The polling configuration.
        """
        self.config = config
        self.checkers = [
            Checker(config.regions[i % len(config.regions)], config.failure_threshold)
            for i in range(config.checkers)
        ]
        self.healthy_count = config.checkers

    @property
    def healthy(self) -> bool:
        """More than ``healthy_fraction`` of the checkers say healthy."""
        return self.healthy_count > self.config.healthy_fraction * len(self.checkers)

    def observe(self, index: int, ok: bool) -> bool:
        """Record checker ``index``'s result; return True when the endpoint's health flipped."""
        checker = self.checkers[index]
        before = self.healthy
        if checker.observe(ok):
            self.healthy_count += 1 if checker.healthy else -1
        return self.healthy != before


def failover_answer(primary_healthy: bool, secondary_healthy: bool) -> Answer:
    """Answer of a failover record pair.

    Args:
        primary_healthy: Health of the primary record's health check.
        secondary_healthy: Health of the secondary record's health check.

    Returns:
        ``"secondary"`` only when the primary is unhealthy and the secondary healthy; both
        unhealthy fails open to the primary.
    """
    if not primary_healthy and secondary_healthy:
        return SECONDARY
    return PRIMARY


def latency_answer(healthy: Mapping[str, bool]) -> frozenset[str]:
    """Records a latency (or weighted, geolocation, ...) policy may answer.

    Args:
        healthy: Health per record (region).

    Returns:
        The healthy records, or all of them when none is healthy (fail open).
    """
    up = frozenset(name for name, ok in healthy.items() if ok)
    return up or frozenset(healthy)
