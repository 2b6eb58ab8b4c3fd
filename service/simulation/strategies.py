"""What one region's health endpoint answers, under three strategies.

* ``shallow``: a plain liveness ping (what a plain Route 53 HTTP check of the app sees): only a
  dead process shows; dependency faults never do.
* ``deep``: deep checks taking one sample of each dependency (regional and shared) per
  evaluation, verdict from that evaluation alone, no deadline (a slow dependency makes the
  checker time out), no notion of scope.
* ``deep-health``: ``samples`` samples of the regional dependency per evaluation under the
  runner's deadline, judged by the service's own rules:
  :func:`service.verdict.rules.combine_samples`
  (more than half failed → the check fails), :func:`service.verdict.policy.decide`,
  :func:`service.verdict.rules.window_samples` and the :class:`~service.verdict.tracker.Tracker`
  (gray-failure
  window and hysteresis). The shared dependency's check is ``scope = "global"``: it can only
  warn. Nothing here re-implements a rule.

Each strategy instance serves one region and may keep state between evaluations.
"""

from __future__ import annotations

import random
from typing import Final, Protocol

from checks.result import CheckResult, Scope, Status
from service.simulation.faults import RegionFaults
from service.simulation.route53 import Route53Config
from service.verdict.policy import PolicySettings, decide
from service.verdict.rules import SampleOutcome, combine_samples, window_samples
from service.verdict.tracker import Tracker, TrackerSettings

__all__ = ["STRATEGIES", "Deep", "DeepHealth", "Shallow", "Strategy", "make_strategy"]

# The runner's default overall deadline: a slow sample fails here, well before Route 53's 2 s.
DEADLINE: Final = 1.5
CHECK: Final = "dependency"
SHARED_CHECK: Final = "shared-dependency"
# The service's default policy settings: no latency budget, no non-critical limit.
_POLICY: Final = PolicySettings()


class Strategy(Protocol):
    """One region's health endpoint."""

    def evaluate(self, t: float, faults: RegionFaults, rng: random.Random) -> bool:
        """Run one evaluation at virtual time ``t``; True when a checker would see healthy."""
        ...


class Shallow:
    """Liveness only."""

    def evaluate(self, t: float, faults: RegionFaults, rng: random.Random) -> bool:
        """Healthy while the process answers."""
        return faults.process_up(t)


class Deep:
    """One sample, instantaneous verdict, no memory."""

    def __init__(self, config: Route53Config) -> None:
        """Remember the checker timeout.

        Args:
            config: The polling configuration (its ``timeout`` applies).
        """
        self._timeout = config.timeout

    def evaluate(self, t: float, faults: RegionFaults, rng: random.Random) -> bool:
        """Healthy when the process is up, the sample succeeds and answers before the timeout."""
        if not faults.process_up(t):
            return False
        regional, shared = faults.sample_ok(t, rng), faults.shared_ok(t, rng)
        return regional and shared and faults.latency(t) <= self._timeout


class DeepHealth:
    """Several samples under a deadline, then the tracker."""

    def __init__(self, config: Route53Config, settings: TrackerSettings | None = None) -> None:
        """Create the region's tracker.

        Args:
            config: The polling configuration (its ``samples`` applies).
            settings: Tracker tuning; the defaults when omitted.
        """
        self._samples = config.samples
        self.tracker = Tracker(settings)
        self._warm = False  # the first evaluation opens the clients: no evidence (the runner's)

    def evaluate(self, t: float, faults: RegionFaults, rng: random.Random) -> bool:
        """Healthy unless the policy fails, the window gray-fails, or recovery is pending."""
        if not faults.process_up(t):
            # A dead process evaluates nothing, so its tracker records no failure: it comes back
            # with its pre-outage (healthy) state, as a fresh process would. The hysteresis
            # lives in the process and cannot slow recovery from the process's own death.
            return False
        in_time = faults.latency(t) <= DEADLINE and faults.evaluation_ok(t, rng)
        regional = _check(
            CHECK, "regional", [in_time and faults.sample_ok(t, rng) for _ in range(self._samples)]
        )
        shared = _check(SHARED_CHECK, "global", [faults.shared_ok(t, rng)])
        results = (regional, shared)
        instant = decide(results, 0.0, _POLICY)
        discounted = () if self._warm else (CHECK,)
        self._warm = True
        samples = window_samples(results, discounted=discounted)
        verdict = self.tracker.observe(instant.status, samples, t)
        return verdict.status != "fail"


def _check(name: str, scope: Scope, ok_samples: list[bool]) -> CheckResult:
    """A critical check's result from its samples' outcomes, by the runner's rule."""
    outcomes = [SampleOutcome(Status.PASS if ok else Status.FAIL) for ok in ok_samples]
    combined = combine_samples(outcomes, duration=0.0, latency_budget=None)
    return CheckResult(
        name=name, status=combined.status, duration=0.0, scope=scope, samples=combined.samples
    )


STRATEGIES: Final = ("shallow", "deep", "deep-health")


def make_strategy(
    name: str, config: Route53Config, settings: TrackerSettings | None = None
) -> Strategy:
    """Build one region's strategy by name.

    Args:
        name: One of :data:`STRATEGIES`.
        config: The polling configuration.
        settings: Tracker tuning for ``deep-health``.

    Returns:
        A fresh strategy instance.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "shallow":
        return Shallow()
    if name == "deep":
        return Deep(config)
    if name == "deep-health":
        return DeepHealth(config, settings)
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
