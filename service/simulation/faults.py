"""Scripted fault models for one region, in virtual time.

A region's faults answer four questions at time ``t``: is the service process up (what a
shallow liveness ping sees), does a whole evaluation's dependency access work (a correlated
failure fails every sample of one evaluation together), does one dependency sample succeed (what
a deep check sees), and how long does the dependency take to answer. Each fault is active on
``[start, end)``.

Noise (faults failing over must ignore): :class:`PartialFailure` at a low rate (independent
errors), :class:`CorrelatedFailure` (whole evaluations fail), :class:`Blips` (the dependency
down for 1-5 s at random moments). Cold starts are the fleet's
(:attr:`service.simulation.fleet.FleetConfig.cold`): they belong to an instance, not a region.

Example:
    >>> faults = RegionFaults((PartialFailure(rate=0.15, start=600.0, end=2400.0),))
    >>> faults.process_up(1000.0)
    True
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

__all__ = [
    "Blips",
    "CorrelatedFailure",
    "DependencyOutage",
    "Fault",
    "Flapping",
    "LatencySpike",
    "PartialFailure",
    "ProcessOutage",
    "RegionFaults",
]


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A fault active on ``[start, end)``; the base class is a no-op.

    Attributes:
        start: Virtual second the fault begins.
        end: Virtual second it ends; None for never.
        shared: The failing dependency is global (shared by every region, e.g. a us-east-1
            control plane): failing over cannot fix it, and a check declared ``scope =
            "global"`` only warns about it.
    """

    start: float = 0.0
    end: float | None = None
    shared: bool = False

    def active(self, t: float) -> bool:
        """Tell whether the fault is in effect at ``t``."""
        return self.start <= t and (self.end is None or t < self.end)

    def process_up(self, t: float) -> bool:
        """Whether the service process answers at all (a liveness ping passes)."""
        return True

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Whether one dependency sample succeeds."""
        return True

    def evaluation_ok(self, t: float, rng: random.Random) -> bool:
        """Whether one evaluation's access to the dependency works at all (False: every sample
        of that evaluation fails together)."""
        return True

    def latency(self, t: float) -> float:
        """Seconds the dependency takes to answer one sample."""
        return 0.0


@dataclass(frozen=True, kw_only=True)
class ProcessOutage(Fault):
    """The region's service does not answer: every strategy sees it."""

    def process_up(self, t: float) -> bool:
        """Down while active."""
        return not self.active(t)

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Nothing succeeds in a dead process."""
        return not self.active(t)


@dataclass(frozen=True, kw_only=True)
class DependencyOutage(Fault):
    """A regional dependency (e.g. the DynamoDB table) fails every request."""

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Every sample fails while active."""
        return not self.active(t)


@dataclass(frozen=True, kw_only=True)
class PartialFailure(Fault):
    """Each dependency sample fails independently with probability ``rate`` (a gray failure).

    Attributes:
        rate: Failure probability of one sample, 0-1.
    """

    rate: float = 0.15

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Fail with probability ``rate`` while active."""
        return not (self.active(t) and rng.random() < self.rate)


@dataclass(frozen=True, kw_only=True)
class CorrelatedFailure(Fault):
    """Whole evaluations fail at random: every sample of one evaluation together (one stalled
    connection, one garbage-collection pause in the client), with probability ``rate``.

    Attributes:
        rate: Probability that one evaluation fails entirely, 0-1.
    """

    rate: float = 0.01

    def evaluation_ok(self, t: float, rng: random.Random) -> bool:
        """Fail the evaluation with probability ``rate`` while active."""
        return not (self.active(t) and rng.random() < self.rate)


@dataclass(frozen=True, kw_only=True)
class Blips(Fault):
    """Short total failures at random moments: one blip in every ``every`` seconds, at a
    uniformly random moment of that period, lasting ``shortest`` to ``longest`` seconds.

    The schedule is a pure function of ``seed`` and the period, so every sample agrees on it;
    two blips of neighbouring periods can fall close together, as at random they would.

    Attributes:
        every: Seconds per period (one blip each).
        shortest: Shortest blip, seconds.
        longest: Longest blip, seconds.
        seed: Which schedule.
    """

    every: float = 600.0
    shortest: float = 1.0
    longest: float = 5.0
    seed: int = 0

    def blip(self, period: int) -> tuple[float, float]:
        """``(start, end)`` of the blip of ``period`` (the ``period``-th ``every`` seconds)."""
        return _blip(self.seed, period, self.every, self.shortest, self.longest)

    def down(self, t: float) -> bool:
        """Whether a blip is on at ``t`` (one may run over into the next period)."""
        if not self.active(t):
            return False
        period = math.floor(t / self.every)
        return any(start <= t < end for start, end in (self.blip(period), self.blip(period - 1)))

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Fail during a blip."""
        return not self.down(t)


@functools.lru_cache(maxsize=4096)
def _blip(
    seed: int, period: int, every: float, shortest: float, longest: float
) -> tuple[float, float]:
    draw = random.Random(f"{seed}:{period}")  # noqa: S311 -- simulation, not security
    start = period * every + draw.uniform(0.0, every)
    return start, start + draw.uniform(shortest, longest)


@dataclass(frozen=True, kw_only=True)
class LatencySpike(Fault):
    """The dependency answers, but slowly: past the service's deadline, and past Route 53's 2 s.

    Attributes:
        seconds: Latency of every sample while active.
    """

    seconds: float = 3.0

    def latency(self, t: float) -> float:
        """``seconds`` while active."""
        return self.seconds if self.active(t) else 0.0


@dataclass(frozen=True, kw_only=True)
class Flapping(Fault):
    """A dependency that is down for ``down`` seconds, then up for ``up`` seconds, repeatedly.

    Attributes:
        up: Seconds up per cycle.
        down: Seconds down per cycle (each cycle starts down).
    """

    up: float = 120.0
    down: float = 60.0

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """Fail during the down part of each cycle."""
        if not self.active(t):
            return True
        return (t - self.start) % (self.up + self.down) >= self.down


class RegionFaults:
    """All faults of one region, combined (a sample fails if any fault fails it).

    Regional and shared (global) dependencies are sampled apart, as a regional and a global
    check would be.
    """

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        """Combine ``faults``.

        Args:
            faults: The region's faults; empty for a healthy region.
        """
        self.faults = faults
        self._regional = tuple(f for f in faults if not f.shared)
        self._shared = tuple(f for f in faults if f.shared)

    def process_up(self, t: float) -> bool:
        """The process is up unless some fault takes it down."""
        return all(f.process_up(t) for f in self.faults)

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        """One sample of the regional dependency succeeds unless some fault fails it."""
        # Evaluate every fault, not all(): each random draw happens whatever the outcome of
        # the others, so the random stream does not depend on which fault fails first.
        results = [f.sample_ok(t, rng) for f in self._regional]
        return all(results)

    def evaluation_ok(self, t: float, rng: random.Random) -> bool:
        """One evaluation's access to the regional dependency works unless some fault fails
        it whole (only a :class:`CorrelatedFailure` draws from ``rng``)."""
        results = [f.evaluation_ok(t, rng) for f in self._regional]
        return all(results)

    def shared_ok(self, t: float, rng: random.Random) -> bool:
        """One sample of the shared (global) dependency succeeds unless some fault fails it."""
        results = [f.sample_ok(t, rng) for f in self._shared]
        return all(results)

    def latency(self, t: float) -> float:
        """The slowest fault's latency."""
        return max((f.latency(t) for f in self.faults), default=0.0)
