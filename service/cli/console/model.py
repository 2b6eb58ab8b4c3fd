"""Route 53's view of what the console saw, from the simulator's own model.

Each region gets the simulator's :class:`~service.simulation.route53.EndpointHealth`: its
checkers, evenly phased over the polling interval, poll at their own times; every poll that
falls due between two refreshes counts the console's latest answer from that region. So the
share of checkers that call a region healthy, and the failover record's answer, follow the
same rules (``FailureThreshold`` both ways, healthy above 18 %, fail open to the primary) as in
``deep-health simulate``. The first answer is taken as steady (as if it had held for
``FailureThreshold`` polls): that is all ``--once`` has, and a console opened mid-incident
starts from what is true now rather than from a fresh health check's all-healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.simulation.route53 import (
    Answer,
    EndpointHealth,
    Route53Config,
    failover_answer,
    latency_answer,
)

__all__ = ["CheckerView", "DnsView", "dns_view", "state_of"]


class CheckerView:
    """One region's checkers, fed the console's answers as time passes."""

    def __init__(self, config: Route53Config) -> None:
        """Start with every checker healthy, as a new Route 53 health check does.

        Args:
            config: Checkers, interval, threshold and the 18 % line.
        """
        self.config = config
        self.health = EndpointHealth(config)
        self._due: list[float] | None = None

    def observe(self, ok: bool, now: float) -> None:
        """Every checker poll due by ``now`` sees ``ok``."""
        count, interval = self.config.checkers, self.config.interval
        if self._due is None:
            self._due = [now + i * interval / count for i in range(count)]
        for index, due in enumerate(self._due):
            while due <= now:
                self.health.observe(index, ok)
                due += interval
            self._due[index] = due

    def settle(self, ok: bool, now: float) -> None:
        """As if ``ok`` had held for ``FailureThreshold`` polls of every checker already.

        The console's first answer (and ``--once``'s only one): opened in the middle of an
        incident, it should not show a region that has been down for an hour as healthy for
        the next 30 s just because its model started with healthy checkers.
        """
        for index in range(len(self.health.checkers)):
            for _ in range(self.config.failure_threshold):
                self.health.observe(index, ok)
        self.observe(ok, now)

    @property
    def turning(self) -> int:
        """Checkers partway through ``FailureThreshold`` results against their current view."""
        return sum(1 for checker in self.health.checkers if checker.streak)

    @property
    def share(self) -> float:
        """Fraction of checkers that call the region healthy."""
        return self.health.healthy_count / len(self.health.checkers)

    @property
    def healthy(self) -> bool:
        """Route 53 calls the region healthy: more than 18 % of its checkers do."""
        return self.health.healthy


@dataclass(frozen=True)
class DnsView:
    """What the record answers, and what that means for the operator."""

    answer: str
    meaning: str


def dns_view(primary_healthy: bool, secondary_healthy: bool, routing: str = "failover") -> DnsView:
    """The record's answer for the two regions' Route 53 health.

    Args:
        primary_healthy: Route 53's view of the primary.
        secondary_healthy: Route 53's view of the secondary.
        routing: ``failover`` (a primary/secondary record pair) or ``latency`` (active-active).
    """
    if routing == "latency":
        up = latency_answer({"primary": primary_healthy, "secondary": secondary_healthy})
        if primary_healthy and secondary_healthy:
            return DnsView("both", "latency routing: each client gets its nearest region")
        if len(up) == 1:
            (only,) = up
            return DnsView(only, f"latency routing: only the {only} is answered")
        return DnsView(
            "both", "BOTH unhealthy: latency routing fails open and answers every region"
        )
    answer: Answer = failover_answer(primary_healthy, secondary_healthy)
    if primary_healthy:
        meaning = "primary healthy: traffic stays on the primary"
    elif secondary_healthy:
        meaning = "primary unhealthy, secondary healthy: failed over"
    else:
        meaning = (
            "BOTH unhealthy: Route 53 fails open to the primary; failover is disabled until"
            " the secondary is healthy"
        )
    return DnsView(answer, meaning)


def state_of(reasons: tuple[str, ...]) -> str:
    """The latch / recovery / switch state from the verdict's reasons (``-`` when none)."""
    found = []
    for reason in reasons:
        if reason.startswith("recovering"):
            found.append(f"latched, {reason} (the body says fail until recovery completes)")
        elif reason == "held" or reason.startswith("hold engaged"):
            found.append("HOLD on: stays failed over until released")
        elif reason.startswith("hold armed"):
            found.append("HOLD armed: serving; a failure that latches stays failed over")
        elif reason.startswith("drained"):
            found.append(f"DRAINED: {reason}")
        elif reason.startswith("gray-failure"):
            found.append(f"window: {reason}")
    return "; ".join(dict.fromkeys(found)) or "-"
