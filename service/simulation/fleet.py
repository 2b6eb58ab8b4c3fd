"""A region as a fleet: N instances behind a balancer, in virtual time.

Route 53 reaches a region through a balancer (API Gateway in front of Lambda containers, an ALB
in front of tasks), so each poll lands on one of several instances, each with its own result
cache. This model adds to :mod:`service.simulation.virtual`:

* ``instances`` per region, chosen per poll ``round-robin`` or at ``random`` among those up;
* ``churn``: every ``churn`` seconds the next instance restarts (down ``restart`` seconds, then
  back with empty local state), as deploys and Lambda recycling do;
* ``scale_out``: while the dependency answers slowly, one fresh instance joins every
  ``scale_out`` seconds, up to ``max_instances``;
* ``shared``: the failover state (window and latch) in one store for the whole fleet, as the
  DynamoDB store keeps it; otherwise each instance judges its own memory;
* ``cold``: a new instance (at the start, after a restart, on scale-out) fails every dependency
  call for its first ``cold`` seconds (clients opening against a dependency that resets new
  connections), and its first evaluation is no evidence for the window, as the runner says of
  the run that opens a check's clients (:attr:`service.running.runner.Evaluation.discounted`).

Every instance evaluates with the runtime's own rules:
:func:`service.verdict.rules.combine_samples`,
:func:`service.verdict.policy.decide`, and the tracking step :func:`service.state.tracking.judge`
(window rule and latch). Route 53's side (checkers, 18 % rule, failover answer) is
:mod:`service.simulation.route53`.

Example:
    >>> from service.simulation.virtual import scenario_by_name
    >>> result = run_fleet(scenario_by_name("outage"), FleetConfig(instances=3), seed=1)
    >>> result.answers[0][1]
    'secondary'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, Literal

from checks.result import CheckResult, Scope, Status
from service.simulation.faults import RegionFaults
from service.simulation.route53 import EndpointHealth, Route53Config
from service.simulation.virtual import RunResult, Scenario, run_regions
from service.state.memory import MemoryStore
from service.state.tracking import judge, sample_counts
from service.verdict.policy import PolicySettings, decide
from service.verdict.rules import (
    LatchState,
    SampleOutcome,
    TrackerSettings,
    combine_samples,
    own_failure,
)

__all__ = ["FleetConfig", "run_fleet"]

DEADLINE: Final = 1.5
CHECK: Final = "dependency"
SHARED_CHECK: Final = "shared-dependency"
_POLICY: Final = PolicySettings()
_SLOW: Final = DEADLINE / 2  # answers this slow make an autoscaler add instances


@dataclass(frozen=True, kw_only=True)
class FleetConfig:
    """One region's fleet.

    Attributes:
        instances: Instances at the start (default 1).
        balancing: ``"round-robin"`` (ALB) or ``"random"``.
        shared: The failover state lives in one store for the fleet (default True).
        churn: Seconds between restarts of successive instances; None: no churn.
        restart: Seconds a restarting instance is down (default 5).
        scale_out: Seconds between added instances while answers are slow; None: never.
        max_instances: Fleet size scale-out stops at (default 10).
        cold: Seconds a new instance's dependency calls all fail (default 0).
    """

    instances: int = 1
    balancing: Literal["round-robin", "random"] = "round-robin"
    shared: bool = True
    churn: float | None = None
    restart: float = 5.0
    scale_out: float | None = None
    max_instances: int = 10
    cold: float = 0.0

    def __post_init__(self) -> None:
        """Reject a fleet the model cannot run."""
        if self.instances < 1 or self.max_instances < self.instances:
            raise ValueError("need 1 <= instances <= max_instances")
        if self.restart < 0 or self.cold < 0 or (self.churn is not None and self.churn <= 0):
            raise ValueError("restart and cold must be >= 0 and churn > 0")


class _Instance:
    """One process: its result cache and its own state (used unless the fleet shares one)."""

    __slots__ = ("cached_at", "cached_ok", "down_until", "store", "warm")

    def __init__(self, window: float, *, born: float = 0.0) -> None:
        self.store = MemoryStore(window=window)
        self.cached_at = float("-inf")
        self.cached_ok = True
        self.down_until = born  # up from its birth on
        self.warm = False


def _result(name: str, scope: Scope, ok_samples: list[bool]) -> CheckResult:
    """A critical check's result from its samples' outcomes, by the runner's rule."""
    outcomes = [SampleOutcome(Status.PASS if ok else Status.FAIL) for ok in ok_samples]
    combined = combine_samples(outcomes, duration=0.0, latency_budget=None)
    return CheckResult(
        name=name, status=combined.status, duration=0.0, scope=scope, samples=combined.samples
    )


class _Fleet:
    """One region's endpoint: the balancer and its instances."""

    def __init__(
        self,
        fleet: FleetConfig,
        config: Route53Config,
        settings: TrackerSettings,
        faults: RegionFaults,
    ) -> None:
        self.fleet = fleet
        self.config = config
        self.settings = settings
        self.faults = faults
        self.health = EndpointHealth(config)
        self.instances = [_Instance(settings.window) for _ in range(fleet.instances)]
        self.shared = MemoryStore(window=settings.window)
        self.evaluations = 0
        self._next = 0
        self._next_restart = fleet.churn if fleet.churn is not None else float("inf")
        self._restart_index = 0
        self._slow_since: float | None = None

    def _churn(self, t: float) -> None:
        while t >= self._next_restart:
            instance = self.instances[self._restart_index % len(self.instances)]
            fresh = _Instance(self.settings.window, born=self._next_restart + self.fleet.restart)
            self.instances[self.instances.index(instance)] = fresh
            self._restart_index += 1
            self._next_restart += self.fleet.churn or float("inf")

    def _scale(self, t: float) -> None:
        every = self.fleet.scale_out
        if every is None:
            return
        if self.faults.latency(t) <= _SLOW:
            self._slow_since = None
            return
        if self._slow_since is None:
            self._slow_since = t
        elif t - self._slow_since >= every and len(self.instances) < self.fleet.max_instances:
            self.instances.append(_Instance(self.settings.window, born=t))
            self._slow_since = t

    def _pick(self, t: float, rng: random.Random) -> _Instance | None:
        up = [i for i in self.instances if i.down_until <= t]
        if not up:
            return None
        if self.fleet.balancing == "random":
            return up[rng.randrange(len(up))]
        chosen = up[self._next % len(up)]
        self._next += 1
        return chosen

    def probe(self, t: float, rng: random.Random) -> bool:
        self._churn(t)
        self._scale(t)
        instance = self._pick(t, rng)
        if instance is None or not self.faults.process_up(t):
            return False
        if t - instance.cached_at < self.config.cache_ttl:
            return instance.cached_ok
        ok = self._evaluate(instance, t, rng)
        self.evaluations += 1
        instance.cached_at, instance.cached_ok = t, ok
        return ok

    def _evaluate(self, instance: _Instance, t: float, rng: random.Random) -> bool:
        faults = self.faults
        cold = t < instance.down_until + self.fleet.cold
        in_time = faults.latency(t) <= DEADLINE and faults.evaluation_ok(t, rng) and not cold
        samples = [in_time and faults.sample_ok(t, rng) for _ in range(self.config.samples)]
        results = (
            _result(CHECK, "regional", samples),
            _result(SHARED_CHECK, "global", [faults.shared_ok(t, rng)]),
        )
        instant = decide(results, 0.0, _POLICY)
        store = self.shared if self.fleet.shared else instance.store
        discounted = () if instance.warm else (CHECK,)
        store.record(sample_counts(results, discounted), t)
        instance.warm = True
        latch = store.latch_state() or LatchState()
        judgement = judge(
            instant=instant.status,
            window=store.counts(t),
            latch=latch,
            now=t,
            held=False,
            settings=self.settings,
            own=own_failure(results),
        )
        store.keep_latch_state(judgement.latch)
        return judgement.status is not Status.FAIL


def run_fleet(
    scenario: Scenario,
    fleet: FleetConfig,
    *,
    config: Route53Config | None = None,
    settings: TrackerSettings | None = None,
    seed: int = 0,
) -> RunResult:
    """Run one scenario with a fleet per region.

    Args:
        scenario: Faults and duration.
        fleet: Both regions' fleets.
        config: Route 53's polling; fast polling by default.
        settings: The tracker's tuning; the defaults when omitted.
        seed: Seeds every random choice.

    Returns:
        The answer timeline and its metrics.
    """
    config = config or Route53Config()
    settings = settings or TrackerSettings()
    rng = random.Random(seed)  # noqa: S311 -- simulation, not security
    endpoints = [
        _Fleet(fleet, config, settings, RegionFaults(faults))
        for faults in (scenario.primary, scenario.secondary)
    ]
    return run_regions(endpoints, config, scenario, rng)
