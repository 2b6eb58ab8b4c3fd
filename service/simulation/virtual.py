"""The Route 53 model in virtual time: a deterministic discrete-event loop.

Every checker of every endpoint is an event on one heap; a poll asks the region's endpoint,
which reuses its last evaluation for ``cache_ttl`` seconds (as the service's single-flight cache
does) and otherwise runs its strategy against the region's scripted faults. Only answer changes
are recorded, so a run of thousands of simulated hours costs seconds and little memory.

Example:
    >>> scenario = Scenario(name="outage", duration=1800.0, fault_start=300.0, fault_end=900.0,
    ...                     primary=(DependencyOutage(start=300.0, end=900.0),))
    >>> result = run_virtual(scenario, "deep-health", seed=1)
    >>> result.answers[0][1]
    'secondary'
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from service.simulation.faults import (
    DependencyOutage,
    Fault,
    Flapping,
    LatencySpike,
    PartialFailure,
    ProcessOutage,
    RegionFaults,
)
from service.simulation.route53 import (
    PRIMARY,
    SECONDARY,
    Answer,
    EndpointHealth,
    Route53Config,
    failover_answer,
)
from service.simulation.strategies import Strategy, make_strategy
from service.verdict.rules import TrackerSettings

__all__ = [
    "CountingRegion",
    "Region",
    "RunMetrics",
    "RunResult",
    "Scenario",
    "Summary",
    "aggregate",
    "measure",
    "poll",
    "run_regions",
    "run_virtual",
    "scenario_by_name",
    "standard_scenarios",
    "summarize",
]


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A scripted run: faults per region and what a good outcome is.

    Attributes:
        name: Label for tables.
        duration: Virtual seconds to run.
        fault_start: When the fault under study begins (metrics count from here).
        fault_end: When it ends; None if it lasts the whole run.
        primary: Faults of the primary region.
        secondary: Faults of the secondary region.
        failover_expected: True when failing over helps (moving is right), False when it cannot
            help or the fault is noise (every move is a false failover), None for a gray zone
            (moving during the fault is neither right nor wrong).
    """

    name: str
    duration: float
    fault_start: float = 0.0
    fault_end: float | None = None
    primary: tuple[Fault, ...] = ()
    secondary: tuple[Fault, ...] = ()
    failover_expected: bool | None = True


@dataclass(frozen=True)
class RunMetrics:
    """Outcome of one run.

    Attributes:
        failover_after: Seconds from the fault's start to the first answer of the secondary, or
            None if it never moved.
        failback_after: Seconds from the fault's end until the answer settled back on the
            primary, or None: it never moved, never came back, came back before the fault
            ended (counted as flaps), or the fault never ended.
        changes: Answer changes.
        flaps: Changes beyond the necessary ones (one to fail over, one to fail back).
        false_failovers: Moves to the secondary while no failover-worthy fault was active.
    """

    failover_after: float | None
    failback_after: float | None
    changes: int
    flaps: int
    false_failovers: int


@dataclass(frozen=True)
class RunResult:
    """One run: the answer timeline and its metrics.

    Attributes:
        answers: ``(time, answer)`` for every change; the answer at time 0 is the primary.
        metrics: Derived metrics.
        evaluations: Evaluations each endpoint ran (primary, secondary): polls minus cache hits.
    """

    answers: tuple[tuple[float, Answer], ...]
    metrics: RunMetrics
    evaluations: tuple[int, int] = (0, 0)


class _Endpoint:
    """One region's health endpoint with its result cache."""

    __slots__ = (
        "cache_ttl",
        "cached_at",
        "cached_ok",
        "evaluations",
        "faults",
        "health",
        "strategy",
    )

    def __init__(self, config: Route53Config, strategy: Strategy, faults: RegionFaults) -> None:
        self.health = EndpointHealth(config)
        self.strategy = strategy
        self.faults = faults
        self.cache_ttl = config.cache_ttl
        self.cached_at = float("-inf")
        self.cached_ok = True
        self.evaluations = 0

    def probe(self, t: float, rng: random.Random) -> bool:
        if t - self.cached_at < self.cache_ttl:
            return self.cached_ok
        ok = self.strategy.evaluate(t, self.faults, rng)
        self.evaluations += 1
        self.cached_at, self.cached_ok = t, ok
        return ok


class Region(Protocol):
    """What stands behind one region's endpoint, as the checkers see it."""

    health: EndpointHealth
    """Route 53's view of the endpoint: every checker's, and the 18 % rule."""

    def probe(self, t: float, rng: random.Random) -> bool:
        """One checker's request at virtual time ``t``: True when it is answered healthy."""
        ...


class CountingRegion(Region, Protocol):
    """A region that counts the evaluations its probes ran (polls minus cache hits)."""

    evaluations: int


def poll(
    regions: Sequence[Region], config: Route53Config, scenario: Scenario, rng: random.Random
) -> Iterator[tuple[float, int, Answer, bool]]:
    """Route 53 polling two regions in virtual time, one event per checker request.

    Every checker of every region is an event on one heap, at a random phase (checkers are
    uncoordinated) and then every ``interval`` give or take ``jitter``. Each request probes the
    region, updates that checker's view, and the failover record's answer follows both regions'
    health. The one loop every driver shares: :func:`run_virtual`, the fleet model and the
    chart's trace differ only in what stands behind a region and what they record.

    Args:
        regions: The primary's and the secondary's endpoint, in that order.
        config: How the checkers poll.
        scenario: Its duration ends the run.
        rng: The run's random stream (the regions draw from it too, in event order).

    Yields:
        ``(t, region, answer, changed)`` after each request: when, which region it went to
        (0: primary), what the failover record answers now, and whether that just changed.
    """
    heap = [
        (rng.uniform(0.0, config.interval), e, c)
        for e in range(len(regions))
        for c in range(config.checkers)
    ]
    heapq.heapify(heap)
    low, high = config.interval * (1 - config.jitter), config.interval * (1 + config.jitter)
    primary, secondary = regions
    answer: Answer = PRIMARY
    duration, pop, push, uniform = scenario.duration, heapq.heappop, heapq.heappush, rng.uniform
    while heap:
        t, e, c = pop(heap)
        if t >= duration:
            return
        region = regions[e]
        changed = False
        if region.health.observe(c, region.probe(t, rng)):
            new = failover_answer(primary.health.healthy, secondary.health.healthy)
            changed, answer = new != answer, new
        yield t, e, answer, changed
        push(heap, (t + uniform(low, high), e, c))


def run_regions(
    regions: Sequence[CountingRegion],
    config: Route53Config,
    scenario: Scenario,
    rng: random.Random,
) -> RunResult:
    """Poll both regions through ``scenario`` and keep what a run reports: the answer changes,
    their metrics and each region's evaluations."""
    answers = [
        (t, answer) for t, _, answer, changed in poll(regions, config, scenario, rng) if changed
    ]
    primary, secondary = regions
    return RunResult(
        tuple(answers),
        measure(scenario, answers),
        (primary.evaluations, secondary.evaluations),
    )


def run_virtual(
    scenario: Scenario,
    strategy: str,
    *,
    config: Route53Config | None = None,
    settings: TrackerSettings | None = None,
    seed: int = 0,
) -> RunResult:
    """Run one scenario under one strategy.

    Args:
        scenario: Faults and duration.
        strategy: ``"shallow"``, ``"deep"`` or ``"deep-health"``.
        config: Polling configuration; Route 53 fast polling by default.
        settings: Tracker tuning for ``deep-health``.
        seed: Seeds every random choice: the same seed gives the same run.

    Returns:
        The answer timeline and its metrics.
    """
    config = config or Route53Config()
    rng = random.Random(seed)  # noqa: S311 -- simulation, not security
    endpoints = [
        _Endpoint(config, make_strategy(strategy, config, settings), RegionFaults(faults))
        for faults in (scenario.primary, scenario.secondary)
    ]
    return run_regions(endpoints, config, scenario, rng)


def measure(scenario: Scenario, answers: Sequence[tuple[float, Answer]]) -> RunMetrics:
    """Derive the metrics of one run from its answer changes.

    Args:
        scenario: The scenario that was run.
        answers: ``(time, answer)`` changes in time order.

    Returns:
        The run's metrics.
    """
    start, end = scenario.fault_start, scenario.fault_end
    failover_at = next((t for t, a in answers if a == SECONDARY and t >= start), None)
    final = answers[-1][1] if answers else PRIMARY
    failback_after = None
    # Only a return after the fault ended is a failback; an earlier one is a flap.
    if failover_at is not None and end is not None and final == PRIMARY and answers[-1][0] >= end:
        failback_after = answers[-1][0] - end

    def warranted(t: float) -> bool:
        if scenario.failover_expected is False:
            return False
        return start <= t and (end is None or t < end)

    false_failovers = sum(1 for t, a in answers if a == SECONDARY and not warranted(t))
    necessary = 0
    if failover_at is not None and scenario.failover_expected is not False:
        necessary = 1 + (1 if end is not None and final == PRIMARY else 0)
    return RunMetrics(
        failover_after=None if failover_at is None else failover_at - start,
        failback_after=failback_after,
        changes=len(answers),
        flaps=max(0, len(answers) - necessary),
        false_failovers=false_failovers,
    )


@dataclass(frozen=True)
class Summary:
    """Metrics of one scenario under one strategy over many seeds.

    Attributes:
        scenario: Scenario name.
        strategy: Strategy name.
        runs: Seeds run.
        hours: Simulated hours in total.
        failed_over: Runs in which the answer moved to the secondary during the fault.
        failover_median: Median seconds to fail over among those runs (None if none).
        failover_max: Slowest failover.
        failback_median: Median seconds to fail back after the fault ended.
        failback_max: Slowest failback.
        flaps_mean: Mean flaps per run.
        false_failovers: False failovers over all runs.
    """

    scenario: str
    strategy: str
    runs: int
    hours: float
    failed_over: int
    failover_median: float | None
    failover_max: float | None
    failback_median: float | None
    failback_max: float | None
    flaps_mean: float
    false_failovers: int
    metrics: tuple[RunMetrics, ...] = field(default=(), repr=False)


def summarize(
    scenario: Scenario,
    strategy: str,
    seeds: Iterable[int],
    *,
    config: Route53Config | None = None,
    settings: TrackerSettings | None = None,
) -> Summary:
    """Run ``scenario`` under ``strategy`` once per seed and aggregate.

    Args:
        scenario: The scenario.
        strategy: The strategy name.
        seeds: One run per seed.
        config: Polling configuration.
        settings: Tracker tuning.

    Returns:
        The aggregate.
    """
    runs = tuple(
        run_virtual(scenario, strategy, config=config, settings=settings, seed=s).metrics
        for s in seeds
    )
    return aggregate(scenario, strategy, runs)


def aggregate(scenario: Scenario, strategy: str, runs: Sequence[RunMetrics]) -> Summary:
    """Aggregate the metrics of runs of one scenario under one strategy.

    Args:
        scenario: The scenario the runs ran.
        strategy: The strategy name.
        runs: One entry per seed (possibly computed in other processes).

    Returns:
        The aggregate.
    """
    overs = [m.failover_after for m in runs if m.failover_after is not None]
    backs = [m.failback_after for m in runs if m.failback_after is not None]
    return Summary(
        scenario=scenario.name,
        strategy=strategy,
        runs=len(runs),
        hours=len(runs) * scenario.duration / 3600.0,
        failed_over=len(overs),
        failover_median=statistics.median(overs) if overs else None,
        failover_max=max(overs, default=None),
        failback_median=statistics.median(backs) if backs else None,
        failback_max=max(backs, default=None),
        flaps_mean=statistics.fmean([m.flaps for m in runs]) if runs else 0.0,
        false_failovers=sum(m.false_failovers for m in runs),
        metrics=tuple(runs),
    )


# Every fault scenario: 10 minutes of calm, a 30 minute fault, 20 minutes to recover.
_START, _END, _DURATION = 600.0, 2400.0, 3600.0


def scenario_by_name(
    name: str,
    *,
    rate: float = 0.15,
    hours: float | None = None,
    fault_minutes: float = 30.0,
) -> Scenario:
    """Build a named scenario.

    Args:
        name: ``outage`` (the dependency fails completely), ``process`` (the region's service is
            down), ``partial`` (each sample fails with ``rate``), ``noise`` (``rate`` background
            errors in both regions for the whole run), ``latency`` (the dependency answers after
            3 s), ``flapping`` (dependency down 60 s, up 120 s, repeatedly), ``shared`` (a
            global dependency both regions use fails: failing over cannot help), ``both`` (each
            region's own dependency fails at once: Route 53 fails open to the primary).
        rate: Failure rate for ``partial`` and ``noise``.
        hours: Run length; one hour by default (noise: the whole run is the fault).
        fault_minutes: Fault length for the scenarios with a fault window.

    Returns:
        The scenario.

    Raises:
        ValueError: for an unknown name.
    """
    duration = _DURATION if hours is None else hours * 3600.0
    start = min(_START, duration / 6)
    end = min(start + fault_minutes * 60.0, duration)
    if name == "noise":
        noise = (PartialFailure(rate=rate),)
        return Scenario(
            name=f"{rate:.0%} noise",
            duration=duration,
            primary=noise,
            secondary=noise,
            failover_expected=False,
        )
    faults: dict[str, tuple[str, tuple[Fault, ...], tuple[Fault, ...], bool | None]] = {
        "outage": ("full outage", (DependencyOutage(start=start, end=end),), (), True),
        "process": ("process down", (ProcessOutage(start=start, end=end),), (), True),
        "partial": (
            f"{rate:.0%} partial",
            (PartialFailure(rate=rate, start=start, end=end),),
            (),
            True if rate >= 0.1 else None,
        ),
        "latency": ("latency spike", (LatencySpike(start=start, end=end),), (), True),
        "flapping": ("flapping dep", (Flapping(start=start, end=end),), (), True),
        "shared": (
            "shared dep outage",
            (DependencyOutage(shared=True, start=start, end=end),),
            (DependencyOutage(shared=True, start=start, end=end),),
            False,
        ),
        "both": (
            "both regions",
            (DependencyOutage(start=start, end=end),),
            (DependencyOutage(start=start, end=end),),
            False,
        ),
    }
    if name not in faults:
        raise ValueError(f"unknown scenario {name!r}; choose from noise, {', '.join(faults)}")
    label, primary, secondary, expected = faults[name]
    return Scenario(
        name=label,
        duration=duration,
        fault_start=start,
        fault_end=end,
        primary=primary,
        secondary=secondary,
        failover_expected=expected,
    )


def standard_scenarios(*, noise_hours: float = 6.0) -> tuple[Scenario, ...]:
    """The benchmark's scenarios: outage, 20/15/5 % partial, 1 % noise, latency, flapping.

    Args:
        noise_hours: Length of each noise run (noise is about rare events: run it longer).

    Returns:
        The scenarios in table order.
    """
    return (
        scenario_by_name("outage"),
        scenario_by_name("partial", rate=0.20),
        scenario_by_name("partial", rate=0.15),
        scenario_by_name("partial", rate=0.05),
        scenario_by_name("noise", rate=0.01, hours=noise_hours),
        scenario_by_name("latency"),
        scenario_by_name("flapping"),
    )
