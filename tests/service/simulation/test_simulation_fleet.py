"""The simulator's fleet model: instances behind a balancer, churn, the state shared or not."""

from __future__ import annotations

import pytest

from service.simulation.fleet import FleetConfig, run_fleet
from service.simulation.route53 import Route53Config
from service.simulation.virtual import scenario_by_name
from service.verdict.rules import TrackerSettings

OUTAGE = scenario_by_name("outage", hours=0.75, fault_minutes=10.0)


def test_a_shared_store_keeps_the_recovery_hold_through_churn() -> None:
    """Restarted instances come back empty; only the shared latch still holds the region."""
    churn = FleetConfig(instances=3, churn=60.0)
    shared = run_fleet(OUTAGE, churn, seed=1).metrics
    alone = run_fleet(OUTAGE, FleetConfig(instances=3, churn=60.0, shared=False), seed=1).metrics
    assert shared.failback_after is not None
    assert shared.failback_after > 150  # window drain + quiet (150 s) + Route 53's threshold
    assert shared.flaps == 0
    assert alone.flaps > 0 or (alone.failback_after or 0) < 150


@pytest.mark.parametrize("balancing", ["round-robin", "random"])
def test_every_balancing_fails_over_and_back(balancing: str) -> None:
    fleet = FleetConfig(instances=3, balancing=balancing, scale_out=30.0)  # type: ignore[arg-type]
    metrics = run_fleet(OUTAGE, fleet, seed=2).metrics
    assert metrics.failover_after is not None
    assert metrics.failback_after is not None


def test_scale_out_under_slow_answers_keeps_the_verdict() -> None:
    latency = scenario_by_name("latency", hours=0.75, fault_minutes=10.0)
    metrics = run_fleet(latency, FleetConfig(instances=1, scale_out=20.0), seed=3).metrics
    assert metrics.failover_after is not None  # fresh instances join the shared latch


@pytest.mark.parametrize("bad", [{"instances": 0}, {"churn": 0.0}, {"restart": -1.0}])
def test_a_fleet_the_model_cannot_run_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"instances|restart"):
        FleetConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "rate"), [("partial", 0.15), ("partial", 0.20), ("outage", 0.0)])
def test_dns_comes_back_between_min_hold_and_a_minute_after_it_once_an_incident_ends(
    name: str, rate: float
) -> None:
    """With the defaults and Route 53's default 10 s polls, DNS returns to the primary no sooner
    than ``min_hold`` after a 5-minute incident ends (what keeps it is ``quiet``: the latch's
    ``min_hold`` is long past) and no later than ``min_hold`` + 60 s. With ``quiet`` at 120 s
    a 15 % gray failure came back after 157-179 s."""
    scenario = scenario_by_name(name, rate=rate or 0.15, hours=0.5, fault_minutes=5.0)
    hold = TrackerSettings().min_hold
    for seed in range(5):
        metrics = run_fleet(
            scenario, FleetConfig(instances=3), config=Route53Config(interval=10.0), seed=seed
        ).metrics
        assert metrics.failover_after is not None
        assert metrics.failback_after is not None
        assert hold <= metrics.failback_after <= hold + 60.0, (seed, metrics.failback_after)
