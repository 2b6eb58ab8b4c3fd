"""A Route 53 health-checking and DNS-failover simulator.

Two drivers share one model (:mod:`service.simulation.route53`):

* :func:`run_virtual` / :func:`summarize` -- virtual time against scripted faults
  (:mod:`service.simulation.faults`) under three strategies
  (:mod:`service.simulation.strategies`): thousands of simulated hours in seconds;
* :func:`watch` -- real time against real URLs, recording the timeline of DNS answers;
* :func:`service.simulation.fleet.run_fleet` -- virtual time with a fleet per region (N
  instances behind a balancer, churn, scale-out, the state in memory or shared), judged by the
  runtime's own tracking step.

``deep-health simulate`` (:mod:`service.cli.simulate`) prints either as a table.
"""

from __future__ import annotations

from service.simulation.realtime import RealtimeConfig, Timeline, watch
from service.simulation.route53 import (
    PRIMARY,
    SECONDARY,
    Answer,
    Route53Config,
    failover_answer,
    latency_answer,
)
from service.simulation.strategies import STRATEGIES
from service.simulation.virtual import (
    RunMetrics,
    RunResult,
    Scenario,
    Summary,
    run_virtual,
    scenario_by_name,
    standard_scenarios,
    summarize,
)

__all__ = [
    "PRIMARY",
    "SECONDARY",
    "STRATEGIES",
    "Answer",
    "RealtimeConfig",
    "Route53Config",
    "RunMetrics",
    "RunResult",
    "Scenario",
    "Summary",
    "Timeline",
    "failover_answer",
    "latency_answer",
    "run_virtual",
    "scenario_by_name",
    "standard_scenarios",
    "summarize",
    "watch",
]
