"""One virtual-time run, recorded over time for a chart (``simulate --plot``).

It drives the same model as :func:`~service.simulation.virtual.run_virtual` -- the same
checkers, endpoints, strategies and random stream, so a seed gives the same answers (a test
holds the two together) -- and records, as they change: the injected fault's strength, the
primary's gray-failure window ratio, its verdict, the share of each region's checkers that
say healthy, and the DNS answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from service.simulation.faults import Fault, Flapping, PartialFailure, RegionFaults
from service.simulation.route53 import PRIMARY, Answer, Route53Config
from service.simulation.strategies import CHECK, DeepHealth, make_strategy
from service.simulation.virtual import Scenario, _Endpoint, poll
from service.verdict.rules import TrackerSettings

__all__ = ["Trace", "TracePoint", "fault_level", "trace_run"]


@dataclass(frozen=True, slots=True)
class TracePoint:
    """The state at one moment of a run.

    Attributes:
        t: Virtual seconds.
        fault: Strength of the primary's injected fault, 0 (none) to 1 (every sample fails).
        ratio: The primary's gray-failure window failure ratio (None: the strategy has none).
        verdict: The primary's latest evaluation says it can serve.
        primary_share: Fraction of the primary's checkers that say healthy.
        secondary_share: The same for the secondary.
        answer: What the failover record answers.
    """

    t: float
    fault: float
    ratio: float | None
    verdict: bool
    primary_share: float
    secondary_share: float
    answer: Answer


@dataclass
class Trace:
    """A recorded run and what a chart needs to label it."""

    scenario: Scenario
    strategy: str
    seed: int
    gray_threshold: float
    healthy_fraction: float
    points: list[TracePoint] = field(default_factory=list)

    def answers(self) -> list[tuple[float, Answer]]:
        """The answer changes, as :class:`~service.simulation.virtual.RunResult` has them."""
        found: list[tuple[float, Answer]] = []
        current: Answer = PRIMARY
        for point in self.points:
            if point.answer != current:
                current = point.answer
                found.append((point.t, current))
        return found


_QUIET_RNG = random.Random(0)  # noqa: S311 -- Flapping's schedule ignores it; never drawn


def fault_level(faults: tuple[Fault, ...], t: float) -> float:
    """How much of the primary is failing at ``t``: a partial fault's rate, else 0 or 1."""
    level = 0.0
    for fault in faults:
        if not fault.active(t):
            continue
        if isinstance(fault, PartialFailure):
            level = max(level, fault.rate)
        elif isinstance(fault, Flapping):
            level = max(level, 0.0 if fault.sample_ok(t, _QUIET_RNG) else 1.0)
        else:
            level = 1.0
    return level


def trace_run(
    scenario: Scenario,
    strategy: str = "deep-health",
    *,
    config: Route53Config | None = None,
    settings: TrackerSettings | None = None,
    seed: int = 0,
    points: int = 3000,
) -> Trace:
    """Run ``scenario`` once and record it.

    Args:
        scenario: Faults and duration.
        strategy: ``"shallow"``, ``"deep"`` or ``"deep-health"``.
        config: Polling configuration.
        settings: Tracker tuning.
        seed: The run's seed (the same as ``run_virtual``'s).
        points: About how many points to keep (every change of the answer or the verdict is
            kept whatever this says).

    Returns:
        The trace.
    """
    config = config or Route53Config()
    settings = settings or TrackerSettings()
    rng = random.Random(seed)  # noqa: S311 -- simulation, not security
    endpoints = [
        _Endpoint(config, make_strategy(strategy, config, settings), RegionFaults(faults))
        for faults in (scenario.primary, scenario.secondary)
    ]
    trace = Trace(scenario, strategy, seed, settings.threshold, config.healthy_fraction)
    primary, secondary = endpoints
    tracker = primary.strategy.tracker if isinstance(primary.strategy, DeepHealth) else None
    step = scenario.duration / max(points, 1)
    last_t, last_verdict = float("-inf"), True
    for t, _, answer, changed in poll(endpoints, config, scenario, rng):
        verdict = primary.cached_ok
        if changed or verdict != last_verdict or not trace.points or t - last_t >= step:
            ratio = None
            if tracker is not None:
                failures, total = tracker.window.ratio(CHECK, t)
                ratio = failures / total if total else 0.0
            trace.points.append(
                TracePoint(
                    t=t,
                    fault=fault_level(scenario.primary, t),
                    ratio=ratio,
                    verdict=verdict,
                    primary_share=primary.health.healthy_count / config.checkers,
                    secondary_share=secondary.health.healthy_count / config.checkers,
                    answer=answer,
                )
            )
            last_t, last_verdict = t, verdict
    return trace
