"""The simulator's noise models: correlated failures, blips, cold starts (issue 23).

Each model is checked for what it injects, then run through the fleet model (the runtime's own
tracking step) for an hour: noise alone never fails a region over.
"""

from __future__ import annotations

import random

import pytest

from service.simulation.faults import Blips, CorrelatedFailure, RegionFaults
from service.simulation.fleet import FleetConfig, run_fleet
from service.simulation.virtual import Scenario


def test_a_correlated_failure_fails_whole_evaluations_at_its_rate() -> None:
    faults = RegionFaults((CorrelatedFailure(rate=0.25),))
    rng = random.Random(1)
    failed = sum(not faults.evaluation_ok(float(t), rng) for t in range(4000))
    assert 900 < failed < 1100
    assert all(faults.sample_ok(float(t), rng) for t in range(100))  # samples alone: fine


def test_without_a_correlated_fault_no_draw_changes_the_random_stream() -> None:
    rng, untouched = random.Random(7), random.Random(7)
    assert RegionFaults(()).evaluation_ok(1.0, rng)
    assert rng.random() == untouched.random()


def test_blips_are_one_per_period_of_one_to_five_seconds_the_same_for_every_sample() -> None:
    blips = Blips(every=600.0, shortest=1.0, longest=5.0, seed=3)
    rng = random.Random(0)
    for period in range(50):
        start, end = blips.blip(period)
        assert period * 600.0 <= start < (period + 1) * 600.0
        assert 1.0 <= end - start <= 5.0
        assert not blips.sample_ok(start, rng)
        assert not blips.sample_ok((start + end) / 2, rng)
        assert blips.sample_ok(end, rng)
    down = sum(blips.down(t / 10) for t in range(0, 600 * 10 * 20))  # 20 periods, 0.1 s steps
    assert 20 * 10 <= down <= 20 * 50  # 1-5 s per period
    assert Blips(seed=4).blip(0) != blips.blip(0)


def test_a_new_instance_fails_its_first_cold_seconds() -> None:
    with pytest.raises(ValueError, match="cold"):
        FleetConfig(cold=-1.0)
    # Both regions start cold (all their calls failing for 3 s), three instances each, one
    # replaced every minute: never a failover, though every instance starts failing.
    quiet = Scenario(name="cold", duration=3600.0, failover_expected=False)
    fleet = FleetConfig(instances=3, churn=60.0, cold=3.0)
    result = run_fleet(quiet, fleet, seed=2)
    assert result.metrics.false_failovers == 0
    assert result.answers == ()


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param((Blips(seed=1),), id="blips"),
        pytest.param((CorrelatedFailure(rate=0.01),), id="correlated"),
    ],
)
def test_noise_alone_never_fails_a_region_over(noise: tuple[Blips | CorrelatedFailure]) -> None:
    scenario = Scenario(
        name="noise", duration=3 * 3600.0, primary=noise, secondary=noise, failover_expected=False
    )
    assert run_fleet(scenario, FleetConfig(), seed=5).answers == ()


def test_blips_every_ten_seconds_are_a_sustained_failure() -> None:
    """The control: the same blips, dense enough to fill the window, do fail the region over."""
    dense = (Blips(every=10.0, shortest=3.0, longest=5.0, seed=1),)
    scenario = Scenario(name="dense", duration=900.0, primary=dense, failover_expected=True)
    assert run_fleet(scenario, FleetConfig(), seed=5).metrics.failover_after is not None
